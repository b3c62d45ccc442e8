import NetStackCore
import NetStackDevices
import NetStackWire

/// A node that records what arrives and sends what the test queues or schedules.
final class Recorder: FrameNode {
    struct Arrival: Equatable {
        let frame: [UInt8]
        let port: PortID
        let time: Instant
    }

    let name: String
    let portCount: Int
    private(set) var arrivals: [Arrival] = []
    private(set) var polls: [Instant] = []
    /// Frames handed out at the next poll.
    var outbox: [(PortID, [UInt8])] = []
    /// Frames handed out at the first poll at or after their time, in time order.
    var timed: [(time: Instant, port: PortID, frame: [UInt8])] = []
    /// What to do with each arrival (an echo, a counter); runs before the next poll.
    var onReceive: ((Recorder, [UInt8], PortID, Instant) -> Void)?
    /// A deadline the node reports, whether or not it has work then.
    var fixedDeadline: Instant?

    init(name: String, portCount: Int = 1) {
        self.name = name
        self.portCount = portCount
    }

    var frames: [[UInt8]] { arrivals.map(\.frame) }

    func receive(_ frame: [UInt8], on port: PortID, now: Instant) {
        arrivals.append(Arrival(frame: frame, port: port, time: now))
        onReceive?(self, frame, port, now)
    }

    func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void) {
        polls.append(now)
        let ready = outbox
        outbox.removeAll()
        for (port, frame) in ready { transmit(port, frame) }
        while let first = timed.first, first.time <= now {
            timed.removeFirst()
            transmit(first.port, first.frame)
        }
    }

    func nextDeadline() -> Instant? {
        if !outbox.isEmpty { return .zero }
        return [timed.first?.time, fixedDeadline].compactMap { $0 }.min()
    }
}

/// Test MAC addresses: `mac(1)` is 02:00:00:00:00:01 (locally administered unicast).
func mac(_ n: UInt8) -> MACAddress { MACAddress(0x02, 0, 0, 0, 0, n) }

/// An Ethernet frame of `length` bytes (header included, FCS not) with the
/// local-experimental EtherType 0x88B5 and a payload of `fill`, plus the FCS when asked.
func ethernetFrame(to destination: MACAddress, from source: MACAddress, length: Int = 64, fill: UInt8 = 0xA5, fcs: Bool = false) -> [UInt8] {
    var frame = destination.octets + source.octets + [0x88, 0xB5]
    frame += [UInt8](repeating: fill, count: max(0, length - 14))
    if fcs { EthernetFCS.append(to: &frame) }
    return frame
}

/// A well-formed IPv4/UDP frame (checksums filled in) with `payloadLength`
/// bytes of payload, numbered by `id`, plus the FCS when asked.
func udpFrame(id: UInt16, to destination: MACAddress, from source: MACAddress, payloadLength: Int = 100, fcs: Bool = false) -> [UInt8] {
    let srcIP: [UInt8] = [192, 0, 2, 1], dstIP: [UInt8] = [192, 0, 2, 2]
    let udpLength = 8 + payloadLength
    let totalLength = 20 + udpLength
    var ip: [UInt8] = [0x45, 0, UInt8(totalLength >> 8), UInt8(totalLength & 0xFF), UInt8(id >> 8), UInt8(id & 0xFF),
                       0x40, 0, 64, 17, 0, 0] + srcIP + dstIP
    let ipSum = ip.withUnsafeBytes { InternetChecksum.checksum($0) }
    ip[10] = UInt8(ipSum >> 8)
    ip[11] = UInt8(ipSum & 0xFF)
    let payload = (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 &+ Int(id)) }
    var udp: [UInt8] = [0x9C, 0x40, 0x9C, 0x41, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0] + payload
    var sum = InternetChecksum()
    (srcIP + dstIP + [0, 17, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF)]).withUnsafeBytes { sum.add($0) }
    udp.withUnsafeBytes { sum.add($0) }
    let udpSum = sum.checksum == 0 ? 0xFFFF : sum.checksum
    udp[6] = UInt8(udpSum >> 8)
    udp[7] = UInt8(udpSum & 0xFF)
    var frame = destination.octets + source.octets + [0x08, 0x00] + ip + udp
    if fcs { EthernetFCS.append(to: &frame) }
    return frame
}

/// True when the frame's FCS verifies.
func fcsVerifies(_ frame: [UInt8]) -> Bool { frame.withUnsafeBytes { EthernetFCS.verify($0) } }

/// Sends `frames` over one direction of `link` at the given times and returns
/// each copy's arrival, in the order the link reported them.
func transmitAll(_ link: Link, _ frames: [(Instant, [UInt8])], direction: LinkDirection = .aToB) -> [(Instant, [UInt8])] {
    var arrivals: [(Instant, [UInt8])] = []
    for (time, frame) in frames {
        link.transmit(frame, direction: direction, now: time) { arrivals.append(($0, $1)) }
    }
    return arrivals
}

/// A link between two throwaway recorders, for exercising `Link` on its own.
func testLink(_ config: LinkConfig, seed: UInt64 = 1) -> Link {
    Link(name: "l", a: LinkEndpoint(node: Recorder(name: "a"), port: 0), b: LinkEndpoint(node: Recorder(name: "b"), port: 0),
         config: config, random: SeededRandom(seed: seed))
}
