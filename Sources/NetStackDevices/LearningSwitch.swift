public import NetStackCore
public import NetStackWire

/// What a ``LearningSwitch`` has done since it was made.
public struct SwitchCounters: Hashable, Sendable {
    /// Frames sent out of the single port their destination was learned on.
    public var forwarded = 0
    /// Frames sent out of every other port (unknown unicast, broadcast, multicast).
    public var flooded = 0
    /// Frames dropped because their destination lives on the port they came in by.
    public var filtered = 0
    /// Frames dropped because their FCS did not verify.
    public var fcsDrops = 0
    /// Frames dropped because they were too short for an Ethernet header (and FCS).
    public var runts = 0
    /// Addresses learned (new, or again after aging out).
    public var learned = 0
    /// Known addresses seen on a new port.
    public var moved = 0
    /// Addresses forgotten by aging.
    public var aged = 0
    /// Addresses not learned because the table was full.
    public var tableFull = 0

    /// All zero.
    public init() {}
}

/// A store-and-forward learning switch (transparent bridge, IEEE 802.1D §7).
///
/// Learns which port each source address lives on, sends frames for a known
/// address out of that port only, floods unknown unicast, broadcast and
/// multicast to every port but the one the frame came in by, and drops frames
/// whose destination lives on their own port. With `fcs` it first checks the
/// FCS and drops bad frames, as a store-and-forward switch does. Frames go
/// out unchanged and without delay. Costs per frame: a CRC pass (with `fcs`),
/// two hash-table operations, one queue entry per outgoing copy.
public final class LearningSwitch: FrameNode {
    /// The switch's name in traces.
    public let name: String
    /// How many ports it has.
    public let portCount: Int
    /// Frames arriving here end with the 4-byte FCS, which the switch verifies (and keeps).
    public let fcs: Bool
    /// Told about every learning and forwarding decision; nil costs nothing.
    public var observer: ((DeviceEvent) -> Void)?
    /// What the switch has done.
    public private(set) var counters = SwitchCounters()
    /// Frames and bytes per port, indexed by port.
    public private(set) var portCounters: [PortCounters]

    private var table: MACTable
    private var outbox: [(port: PortID, frame: [UInt8])] = []
    /// When aged entries are next swept out (lazily, on a frame's arrival).
    private var nextSweep = Instant.zero

    /// A switch with `portCount` ports whose entries live `agingTime` (802.1D's
    /// default is 300 s) and whose table holds at most `tableCapacity` addresses.
    public init(
        name: String, portCount: Int, fcs: Bool = false,
        agingTime: Duration = .seconds(300), tableCapacity: Int = 8192
    ) {
        precondition(portCount > 0, "a switch needs at least one port")
        self.name = name
        self.portCount = portCount
        self.fcs = fcs
        portCounters = Array(repeating: PortCounters(), count: portCount)
        table = MACTable(agingTime: agingTime, capacity: tableCapacity)
    }

    /// How long an address is remembered without a frame from it.
    public var agingTime: Duration {
        get { table.agingTime }
        set { table.agingTime = newValue }
    }

    /// The live rows of the MAC table at `now`, sorted by port, then address.
    public func macTable(now: Instant) -> [MACTableEntry] { table.rows(now: now) }

    /// The port `mac` was learned on and has not aged out of at `now`, if any.
    public func port(for mac: MACAddress, now: Instant) -> PortID? {
        table.rows(now: now).first { $0.mac == mac }?.port
    }

    /// Checks, learns from and queues `frame` for the ports it must leave by.
    public func receive(_ frame: [UInt8], on port: PortID, now: Instant) {
        guard portCounters.indices.contains(port) else { return }
        portCounters[port].framesIn += 1
        portCounters[port].bytesIn += frame.count
        guard frame.count >= 14 + (fcs ? EthernetFCS.length : 0) else {
            counters.runts += 1
            observer?(.switchRunt(switch: name, port: port, length: frame.count))
            return
        }
        if fcs, !frame.withUnsafeBytes({ EthernetFCS.verify($0) }) {
            counters.fcsDrops += 1
            observer?(.switchFCSDrop(switch: name, port: port, length: frame.count))
            return
        }
        if now >= nextSweep { sweep(now: now) }
        let (destination, source) = frame.withUnsafeBytes { ($0.mac(at: 0), $0.mac(at: 6)) }
        if !source.isMulticast { learn(source, port: port, now: now) }

        if destination.isMulticast {
            flood(frame, for: destination, from: port)
            return
        }
        let (known, aged) = table.lookup(destination, now: now)
        if let aged { reportAged(destination, port: aged.port) }
        switch known {
        case nil:
            flood(frame, for: destination, from: port)
        case port?:
            counters.filtered += 1
            observer?(.switchFiltered(switch: name, mac: destination, port: port))
        case let out?:
            counters.forwarded += 1
            send(frame, out: out)
            observer?(.switchForwarded(switch: name, mac: destination, inPort: port, outPort: out))
        }
    }

    /// Hands out the queued frames in the order they were switched.
    public func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void) {
        guard !outbox.isEmpty else { return }
        let frames = outbox
        outbox.removeAll(keepingCapacity: true)
        for (port, frame) in frames { transmit(port, frame) }
    }

    /// Always nil: aging is applied lazily when frames arrive, so an idle switch needs no wake-ups.
    public func nextDeadline() -> Instant? { nil }

    private func learn(_ mac: MACAddress, port: PortID, now: Instant) {
        switch table.learn(mac, port: port, now: now) {
        case .refreshed:
            break
        case .learned:
            counters.learned += 1
            observer?(.switchLearned(switch: name, mac: mac, port: port))
        case let .moved(from):
            counters.moved += 1
            observer?(.switchMoved(switch: name, mac: mac, from: from, to: port))
        case .tableFull:
            // Try once more after dropping aged entries; otherwise leave it unlearned.
            if !table.sweep(now: now).isEmpty, table.learn(mac, port: port, now: now) == .learned {
                counters.learned += 1
                observer?(.switchLearned(switch: name, mac: mac, port: port))
            } else {
                counters.tableFull += 1
            }
        }
    }

    private func sweep(now: Instant) {
        for (mac, port) in table.sweep(now: now) { reportAged(mac, port: port) }
        // Sweeping a few times per aging period bounds the table's stale entries cheaply.
        nextSweep = now + max(.milliseconds(1), agingTime / 4)
    }

    private func reportAged(_ mac: MACAddress, port: PortID) {
        counters.aged += 1
        observer?(.switchAged(switch: name, mac: mac, port: port))
    }

    private func flood(_ frame: [UInt8], for destination: MACAddress, from port: PortID) {
        counters.flooded += 1
        var outPorts: [PortID] = []
        for out in 0..<portCount where out != port {
            send(frame, out: out)
            outPorts.append(out)
        }
        observer?(.switchFlooded(switch: name, mac: destination, inPort: port, outPorts: outPorts))
    }

    private func send(_ frame: [UInt8], out port: PortID) {
        outbox.append((port, frame))
        portCounters[port].framesOut += 1
        portCounters[port].bytesOut += frame.count
    }
}

extension UnsafeRawBufferPointer {
    /// Six octets at `offset` as an address; the caller has checked the bounds.
    fileprivate func mac(at offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(be16(offset)) << 32 | UInt64(be32(offset + 2)))
    }
}
