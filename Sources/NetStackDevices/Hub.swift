public import NetStackCore

/// A repeater hub: every frame that arrives on a port goes out of every other
/// port, unchanged — bit errors and all, since a hub checks nothing, not even
/// the FCS. It has no addresses and no table, and adds no delay.
///
/// Collisions are not modelled (each link is full duplex). A class because
/// links refer to it by identity. Costs one queue entry per outgoing copy;
/// the copies share the frame's storage.
public final class Hub: FrameNode {
    /// The hub's name in traces.
    public let name: String
    /// How many ports it has.
    public let portCount: Int
    /// Told about every frame repeated; nil costs nothing.
    public var observer: ((DeviceEvent) -> Void)?
    /// Frames and bytes per port, indexed by port.
    public private(set) var counters: [PortCounters]

    private var outbox: [(port: PortID, frame: [UInt8])] = []

    /// A hub with `portCount` ports (at least 1).
    public init(name: String, portCount: Int) {
        precondition(portCount > 0, "a hub needs at least one port")
        self.name = name
        self.portCount = portCount
        counters = Array(repeating: PortCounters(), count: portCount)
    }

    /// Queues a copy of `frame` for every port but `port`. Frames on a port
    /// that does not exist are ignored.
    public func receive(_ frame: [UInt8], on port: PortID, now: Instant) {
        guard counters.indices.contains(port) else { return }
        counters[port].framesIn += 1
        counters[port].bytesIn += frame.count
        var outPorts: [PortID] = []
        for out in 0..<portCount where out != port {
            outbox.append((out, frame))
            counters[out].framesOut += 1
            counters[out].bytesOut += frame.count
            if observer != nil { outPorts.append(out) }
        }
        observer?(.hubRepeated(hub: name, inPort: port, outPorts: outPorts, length: frame.count))
    }

    /// Hands out the queued copies in arrival order.
    public func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void) {
        guard !outbox.isEmpty else { return }
        let frames = outbox
        outbox.removeAll(keepingCapacity: true)
        for (port, frame) in frames { transmit(port, frame) }
    }

    /// Always nil: a hub only acts when a frame arrives.
    public func nextDeadline() -> Instant? { nil }
}
