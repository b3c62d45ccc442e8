// Placeholder until the simulator lands.
enum NetStackSimulatorPlaceholder {}
