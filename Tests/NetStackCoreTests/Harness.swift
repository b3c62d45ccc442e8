// A small harness for driving `Host`s in tests: make a host with a few
// adapters, feed it frames at given times, collect what it sends, wire hosts
// back to back, and build or pick apart frames. Golden frames come from the
// Linux captures in Tests/Fixtures/captures (see the README there).

import NetStackCore
import NetStackTestSupport
import NetStackWire
import Testing

// MARK: The capture topology (captures/README.md)

/// Addresses of the network the Linux captures were recorded on:
/// A — R (router, MTU 1000 toward B) — B.
enum Lab {
    static let macA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
    /// R's interface on A's network.
    static let macR0 = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe)
    /// R's interface on B's network.
    static let macR1 = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0b, 0xfe)
    static let macB = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0b, 0x01)
    static let ipA = IPv4Address(192, 0, 2, 1)
    static let ipR0 = IPv4Address(192, 0, 2, 254)
    static let ipR1 = IPv4Address(198, 51, 100, 254)
    static let ipB = IPv4Address(198, 51, 100, 1)
    /// A MAC address no adapter in these tests has.
    static let macOther = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0c, 0x99)
}

let eth0 = InterfaceID(0)
let eth1 = InterfaceID(1)

/// One adapter of a test host and the address assigned to it.
struct Port {
    var name: String
    var mac: MACAddress
    var address: IPv4Address?
    var prefixLength = 24
    var mtu = 1500
    var receiveRing = 256
    var transmitQueue = 1024

    init(_ name: String, _ mac: MACAddress, _ address: IPv4Address?, prefixLength: Int = 24, mtu: Int = 1500,
         receiveRing: Int = 256, transmitQueue: Int = 1024) {
        self.name = name
        self.mac = mac
        self.address = address
        self.prefixLength = prefixLength
        self.mtu = mtu
        self.receiveRing = receiveRing
        self.transmitQueue = transmitQueue
    }

    static let a = Port("eth0", Lab.macA, Lab.ipA)
    static let r0 = Port("eth0", Lab.macR0, Lab.ipR0)
    static let r1 = Port("eth1", Lab.macR1, Lab.ipR1, mtu: 1000)
    static let b = Port("eth0", Lab.macB, Lab.ipB)
}

/// The seed test hosts get, so that their ISNs, ports and IDs are the same on every run.
let testSeed: UInt64 = 0x4e65_7453_7461_636b

/// A host with one IP-only interface `tun0` (what a TUN device carries: bare IPv4
/// packets) holding 192.0.2.`last`/24, seeded with `seed`.
func makeIPOnlyHost(_ name: String, last: UInt8, seed: UInt64) -> Host {
    var config = HostConfig(name: name)
    config.randomSeed = seed
    let host = Host(config)
    var adapter = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
    adapter.medium = .ipOnly
    let interface = host.addInterface(adapter)
    host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: interface, now: .zero)
    return host
}

/// A host with `ports` (addresses assigned at `now`). The gratuitous ARP
/// announcements that `assign` sends are taken off the transmit queues unless
/// `keepAnnouncements`, so tests start with empty queues.
func makeHost(_ name: String, _ ports: [Port], fcs: Bool = false, at now: Instant = .zero,
              keepAnnouncements: Bool = false, configure: (inout HostConfig) -> Void = { _ in }) -> Host {
    var config = HostConfig(name: name)
    config.randomSeed = testSeed  // reproducible secrets; `configure` may set nil for the OS's
    configure(&config)
    let host = Host(config)
    for port in ports {
        var adapter = AdapterConfig(name: port.name, mac: port.mac, mtu: port.mtu, fcs: fcs)
        adapter.receiveRing = port.receiveRing
        adapter.transmitQueue = port.transmitQueue
        let id = host.addInterface(adapter)
        if let address = port.address { host.assign(address, prefixLength: port.prefixLength, to: id, now: now) }
    }
    if !keepAnnouncements { host.drain() }
    return host
}

/// The router R of the captures: eth0 192.0.2.254 (A's side), eth1 198.51.100.254 with MTU 1000 (B's side).
func makeRouter(fcs: Bool = false, configure: (inout HostConfig) -> Void = { _ in }) -> Host {
    makeHost("R", [.r0, .r1], fcs: fcs) {
        $0.forwarding = true
        configure(&$0)
    }
}

extension Host {
    /// Hands `frame` to the adapter of `interface` and runs the stack at `now`.
    @discardableResult
    func feed(_ frame: [UInt8], on interface: InterfaceID = eth0, at now: Instant = .zero) -> AdapterVerdict {
        let verdict = receive(frame, on: interface, now: now)
        poll(now: now)
        return verdict
    }

    /// Takes every frame waiting in the transmit queue of `interface`, oldest first.
    func sent(on interface: InterfaceID = eth0) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = takeFrame(from: interface, { Array($0) }) { frames.append(frame) }
        return frames
    }

    /// Empties every transmit queue.
    func drain() {
        for interface in interfaces { _ = sent(on: interface) }
    }

    /// Runs the stack at each deadline it reports up to `end`, then at `end`, and
    /// returns the frames `interface` sent meanwhile with the time of the poll that sent them.
    func run(until end: Instant, on interface: InterfaceID = eth0) -> [(time: Instant, frame: [UInt8])] {
        var out: [(time: Instant, frame: [UInt8])] = []
        var rounds = 0
        while let deadline = nextDeadline(), deadline <= end, rounds < 1000 {
            poll(now: deadline)
            out += sent(on: interface).map { (deadline, $0) }
            rounds += 1
        }
        poll(now: end)
        out += sent(on: interface).map { (end, $0) }
        return out
    }
}

// MARK: Hosts wired back to back

/// Cables joining host interfaces back to back, with a log of every frame carried.
/// Interfaces on no cable keep their frames in the transmit queue for the test to take.
final class Wires {
    struct Cable {
        let a: Host, aPort: InterfaceID, b: Host, bPort: InterfaceID
    }
    struct Carried {
        let time: Instant
        /// The sending host's name and interface.
        let from: String, interface: InterfaceID
        let frame: [UInt8]
    }

    private(set) var cables: [Cable] = []
    private(set) var log: [Carried] = []
    private var hosts: [Host] = []
    private(set) var now = Instant.zero

    func connect(_ a: Host, _ aPort: InterfaceID, _ b: Host, _ bPort: InterfaceID) {
        cables.append(Cable(a: a, aPort: aPort, b: b, bPort: bPort))
        for host in [a, b] where !hosts.contains(where: { $0 === host }) { hosts.append(host) }
    }

    /// Frames carried that `name` sent.
    func frames(from name: String) -> [[UInt8]] { log.filter { $0.from == name }.map(\.frame) }

    /// Polls every host and moves frames across every cable until nothing moves
    /// (at most `rounds` rounds). Returns the number of frames moved.
    @discardableResult
    func settle(at time: Instant, rounds: Int = 64) -> Int {
        now = max(now, time)
        var total = 0
        for _ in 0..<rounds {
            for host in hosts { host.poll(now: now) }
            var moved = 0
            for cable in cables {
                moved += carry(from: cable.a, cable.aPort, to: cable.b, cable.bPort)
                moved += carry(from: cable.b, cable.bPort, to: cable.a, cable.aPort)
            }
            total += moved
            if moved == 0 { break }
        }
        return total
    }

    /// Settles at every deadline any host reports up to `end`, then at `end`.
    func run(until end: Instant) {
        var rounds = 0
        while let next = hosts.compactMap({ $0.nextDeadline() }).filter({ $0 <= end }).min(), rounds < 1000 {
            settle(at: max(next, now))
            rounds += 1
        }
        settle(at: end)
    }

    private func carry(from source: Host, _ sourcePort: InterfaceID, to target: Host, _ targetPort: InterfaceID) -> Int {
        var moved = 0
        while let frame = source.takeFrame(from: sourcePort, { Array($0) }) {
            log.append(Carried(time: now, from: source.name, interface: sourcePort, frame: frame))
            target.receive(frame, on: targetPort, now: now)
            moved += 1
        }
        return moved
    }
}

// MARK: Golden frames

/// Frame `number` (counting from 1, as tshark does) of `Tests/Fixtures/captures/<name>.pcap`.
func captured(_ name: String, _ number: Int) throws -> [UInt8] {
    let frames = try Fixtures.captureFrames(name)
    try #require((1...frames.count).contains(number), "\(name).pcap has \(frames.count) frames, not \(number)")
    return frames[number - 1]
}

// MARK: Building frames

/// Frames and datagrams for input, built with the wire-format types (tested on their own in NetStackWireTests).
enum Build {
    static func ethernet(to destination: MACAddress, from source: MACAddress, type: EtherType,
                         _ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: EthernetHeader.length)
        frame.withUnsafeMutableBytes {
            EthernetHeader(destination: destination, source: source, etherType: type).emit(into: $0)
        }
        return frame + payload
    }

    /// An unpadded 42-byte ARP frame, as Linux captures show them.
    static func arp(_ operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                    targetMAC: MACAddress = .zero, targetIP: IPv4Address, to destination: MACAddress) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: ARPPacket.length)
        packet.withUnsafeMutableBytes {
            ARPPacket(operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC,
                      targetIP: targetIP).emit(into: $0)
        }
        return ethernet(to: destination, from: senderMAC, type: .arp, packet)
    }

    /// An IPv4 datagram: `header` (its total length set from `payload`) then `payload`.
    static func datagram(_ header: IPv4Header, _ payload: [UInt8]) -> [UInt8] {
        var header = header
        header.totalLength = header.headerLength + payload.count
        var bytes = [UInt8](repeating: 0, count: header.headerLength)
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes + payload
    }

    static func ipHeader(_ source: IPv4Address, _ destination: IPv4Address, _ proto: IPProtocol, ttl: UInt8 = 64,
                         id: UInt16 = 0x1234, dontFragment: Bool = false, moreFragments: Bool = false,
                         offset: Int = 0) -> IPv4Header {
        var header = IPv4Header(source: source, destination: destination, protocol: proto, payloadLength: 0,
                                timeToLive: ttl, identification: id, dontFragment: dontFragment)
        header.moreFragments = moreFragments
        header.fragmentOffset = offset
        return header
    }

    /// An Ethernet frame carrying an IPv4 datagram.
    static func ipFrame(to destinationMAC: MACAddress, from sourceMAC: MACAddress, _ header: IPv4Header,
                        _ payload: [UInt8]) -> [UInt8] {
        ethernet(to: destinationMAC, from: sourceMAC, type: .ipv4, datagram(header, payload))
    }

    enum UDPChecksum { case compute, zero, corrupt }

    /// A UDP datagram (header and payload) with its checksum computed, zero, or wrong.
    static func udp(from source: Endpoint, to destination: Endpoint, _ payload: [UInt8],
                    checksum: UDPChecksum = .compute) -> [UInt8] {
        let header = UDPHeader(sourcePort: source.port, destinationPort: destination.port, payloadLength: payload.count)
        var bytes = [UInt8](repeating: 0, count: UDPHeader.headerLength) + payload
        bytes.withUnsafeMutableBytes { header.emit(into: $0, source: source.address, destination: destination.address) }
        switch checksum {
        case .compute: break
        case .zero: bytes[6] = 0; bytes[7] = 0
        case .corrupt: bytes[7] ^= 0x55
        }
        return bytes
    }

    /// A UDP datagram in an IP datagram in a frame.
    static func udpFrame(to destinationMAC: MACAddress, from sourceMAC: MACAddress, _ source: Endpoint,
                         _ destination: Endpoint, _ payload: [UInt8], checksum: UDPChecksum = .compute,
                         ttl: UInt8 = 64, id: UInt16 = 0x1234) -> [UInt8] {
        ipFrame(to: destinationMAC, from: sourceMAC,
                ipHeader(source.ipv4!, destination.ipv4!, .udp, ttl: ttl, id: id),
                udp(from: source, to: destination, payload, checksum: checksum))
    }

    /// An ICMP message with `data` after its 8-byte header.
    static func icmp(_ message: ICMPv4Message, _ data: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ICMPv4Header.length) + data
        bytes.withUnsafeMutableBytes { ICMPv4Header(message).emit(into: $0) }
        return bytes
    }
}

// MARK: Reading frames

/// A frame a host sent (or a captured one), picked apart layer by layer.
struct Frame {
    let bytes: [UInt8]
    let ethernet: EthernetHeader

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        ethernet = try bytes.withUnsafeBytes { try EthernetHeader.parse($0) }
    }

    /// The bytes after the MAC header (padding included).
    var payload: [UInt8] { Array(bytes[EthernetHeader.length...]) }

    func arp() throws -> ARPPacket {
        try #require(ethernet.etherType == .arp, "not an ARP frame: \(ethernet)")
        return try payload.withUnsafeBytes { try ARPPacket.parse($0) }
    }

    /// The IPv4 header (checksum verified).
    func ip() throws -> IPv4Header {
        try #require(ethernet.etherType == .ipv4, "not an IPv4 frame: \(ethernet)")
        return try payload.withUnsafeBytes { try IPv4Header.parse($0) }
    }

    /// The IPv4 datagram, without link padding.
    func datagram() throws -> [UInt8] { Array(payload[0..<(try ip().totalLength)]) }

    /// The IPv4 payload, without link padding.
    func ipPayload() throws -> [UInt8] {
        let header = try ip()
        return Array(payload[header.headerLength..<header.totalLength])
    }

    /// The ICMP header (checksum verified) and the data after it.
    func icmp() throws -> (header: ICMPv4Header, data: [UInt8]) {
        let header = try ip()
        try #require(header.protocol == .icmp, "not ICMP: \(header)")
        let message = try ipPayload()
        return (try message.withUnsafeBytes { try ICMPv4Header.parse($0) }, Array(message[ICMPv4Header.length...]))
    }

    /// The UDP header (checksum verified) and its payload.
    func udp() throws -> (header: UDPHeader, payload: [UInt8]) {
        let header = try ip()
        try #require(header.protocol == .udp, "not UDP: \(header)")
        let bytes = try ipPayload()
        let udp = try bytes.withUnsafeBytes { try UDPHeader.parse($0, source: header.source, destination: header.destination) }
        return (udp, Array(bytes[UDPHeader.headerLength..<udp.length]))
    }
}

// MARK: Independent checks

/// The RFC 1071 checksum computed byte by byte, independent of `InternetChecksum`:
/// 0 over a header whose checksum field is right.
func naiveChecksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
    var sum: UInt32 = 0
    var index = bytes.startIndex
    while index < bytes.endIndex {
        let high = UInt32(bytes[index]) << 8
        let low = index + 1 < bytes.endIndex ? UInt32(bytes[index + 1]) : 0
        sum += high | low
        sum = (sum & 0xFFFF) + (sum >> 16)
        index += 2
    }
    return ~UInt16(sum)
}

/// Sets the IPv4 header checksum of the datagram starting at `offset` in `frame`, byte by byte.
func fixIPChecksum(_ frame: inout [UInt8], at offset: Int = EthernetHeader.length) {
    let headerLength = Int(frame[offset] & 0x0F) * 4
    frame[offset + 10] = 0
    frame[offset + 11] = 0
    let sum = naiveChecksum(frame[offset..<(offset + headerLength)])
    frame[offset + 10] = UInt8(sum >> 8)
    frame[offset + 11] = UInt8(sum & 0xFF)
}

/// `frame` with its Ethernet addresses replaced (to move a captured frame onto another link).
func readdressed(_ frame: [UInt8], to destination: MACAddress, from source: MACAddress) -> [UInt8] {
    var copy = frame
    copy.replaceSubrange(0..<6, with: destination.octets)
    copy.replaceSubrange(6..<12, with: source.octets)
    return copy
}

/// `frame` padded with zeros to the 60-byte Ethernet minimum, as an adapter sends it.
func padded(_ frame: [UInt8]) -> [UInt8] {
    frame + [UInt8](repeating: 0, count: max(0, EthernetHeader.minimumFrameLength - frame.count))
}

/// The frame with an FCS appended, as it travels on a wire that carries one.
func withFCS(_ frame: [UInt8]) -> [UInt8] {
    var copy = frame
    EthernetFCS.append(to: &copy)
    return copy
}

/// Byte offsets of the IPv4 header fields inside an Ethernet frame.
enum IPOffset {
    static let typeOfService = 15
    static let identification = 18..<20
    static let flags = 20
    static let timeToLive = 22
    static let checksum = 24..<26
}

/// `bytes` with the listed positions zeroed, for comparisons that leave legitimately different fields out.
func masking(_ bytes: [UInt8], _ positions: [Int]) -> [UInt8] {
    var copy = bytes
    for position in positions where position < copy.count { copy[position] = 0 }
    return copy
}

extension Instant {
    static func s(_ seconds: Double) -> Instant { .seconds(seconds) }
}

// MARK: The ip-fragments capture

/// ip-fragments.pcap #1–#4: Linux's 2,528-byte echo request from A to B, as R
/// sent it to B in four fragments (A split it for its 1500-byte MTU at 1480, R
/// split each piece again for its 1000-byte MTU), with the 2,508-byte ICMP
/// message they carry, put together by hand from the fragments' offsets.
func capturedFragments() throws -> (frames: [[UInt8]], message: [UInt8]) {
    let frames = try (1...4).map { try captured("ip-fragments", $0) }
    var message: [UInt8] = []
    for frame in frames {
        let headerLength = Int(frame[14] & 0x0F) * 4
        let totalLength = Int(frame[16]) << 8 | Int(frame[17])
        let offset = (Int(frame[20] & 0x1F) << 8 | Int(frame[21])) * 8
        try #require(offset == message.count, "the capture's fragments are in order and contiguous")
        message += frame[(14 + headerLength)..<(14 + totalLength)]
    }
    return (frames, message)
}

/// The two fragments A sent toward R (its MTU 1500: data 0..<1480 and 1480..<2508),
/// rebuilt from the capture's message with A's TTL of 64 and Linux's identification.
func fragmentsFromA() throws -> [[UInt8]] {
    let message = try capturedFragments().message
    let first = Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 64, id: 0xd262, moreFragments: true, offset: 0)
    let second = Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 64, id: 0xd262, moreFragments: false, offset: 1480)
    return [Build.ipFrame(to: Lab.macR0, from: Lab.macA, first, Array(message[0..<1480])),
            Build.ipFrame(to: Lab.macR0, from: Lab.macA, second, Array(message[1480...]))]
}
