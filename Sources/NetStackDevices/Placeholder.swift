// Placeholder until the first device lands.
enum NetStackDevicesPlaceholder {}
