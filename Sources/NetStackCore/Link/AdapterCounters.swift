/// Per-adapter counters, named after the columns of `ip -s link`.
public struct AdapterCounters: Sendable, Equatable {
    public var rxBytes = 0, rxPackets = 0
    /// Frames received with errors: FCS mismatches plus runts.
    public var rxErrors = 0
    /// Frames the driver took but the stack discarded (unknown EtherType, malformed header).
    public var rxDropped = 0
    /// Frames lost because the receive ring was full (`ip -s link`'s "missed"/overrun).
    public var rxMissed = 0
    public var rxMulticast = 0
    /// The FCS mismatches among `rxErrors`.
    public var rxCRCErrors = 0
    /// Frames the MAC filter ignored (addressed to another adapter); real adapters do not count these.
    public var rxFiltered = 0
    public var txBytes = 0, txPackets = 0
    /// Frames the transmit queue had no room for.
    public var txDropped = 0
    /// Interrupts raised toward the driver.
    public var interrupts = 0

    public init() {}
}
