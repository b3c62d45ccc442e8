// What the hostile IPv6 tests share (issue 13, item 7: the hostile suite grows IPv6 cases):
// a two-host IPv6 LAN whose host B is the victim and A the legitimate peer, an attacker
// station on the same wire, packet builders made from the wire types, and the two checks
// every hostile test ends with — the victim's tables stayed within their bounds, and it
// still answers its legitimate peer.

@testable import NetStackCore
import NetStackWire
import Testing

/// A: 2001:db8::1 (legitimate peer), B: 2001:db8::2 (victim), on one Ethernet, DAD done.
/// Frames the attacker sends are fed straight into B; what B answers is taken from its
/// transmit queue (`b.sent()`) before the wires would carry it.
struct HostileLAN {
    static let a6 = IPv6Address("2001:db8::1")!
    static let b6 = IPv6Address("2001:db8::2")!
    /// The attacker's own address and link address (a station on the link).
    static let attacker6 = IPv6Address("2001:db8::66")!
    static let attackerMAC = Lab.macOther
    static let attackerLinkLocal = IPv6Address("fe80::66")!

    let a: Host, b: Host, wires: Wires

    init(configureB: (inout HostConfig) -> Void = { _ in }) {
        a = makeHost("A", [Port("eth0", Lab.macA, nil)])
        b = makeHost("B", [Port("eth0", Lab.macB, nil)], configure: configureB)
        a.assign(Self.a6, prefixLength: 64, to: eth0, now: .zero)
        b.assign(Self.b6, prefixLength: 64, to: eth0, now: .zero)
        wires = Wires()
        wires.connect(a, eth0, b, eth0)
        wires.run(until: .seconds(3))  // DAD: up to 1 s of delay, one probe, 1 s of silence
    }

    /// Feeds `packet` (an IPv6 packet) to B in a frame from the attacker, at the wires' time.
    /// B's answers stay in its transmit queue.
    func attack(_ packet: [UInt8], to mac: MACAddress = Lab.macB) {
        b.receive(Build.ethernet(to: mac, from: Self.attackerMAC, type: .ipv6, packet), on: eth0, now: wires.now)
        b.poll(now: wires.now)
    }

    /// The attacker asks B for its link address (an NS with its source link-layer option), so B
    /// knows the attacker's and answers it at once from then on. B's answer is taken away.
    func introduceAttacker() {
        attack(Hostile6.ndp(.neighborSolicitation(target: Self.b6),
                            options: NDPOptions(sourceLinkLayerAddress: Self.attackerMAC),
                            from: Self.attacker6, to: Self.b6.solicitedNodeMulticast),
               to: Self.b6.solicitedNodeMulticast.multicastMAC)
        _ = b.sent()
    }

    /// The IPv6 packets B queued since the last call (frames of type 0x86DD), taken off its queue.
    func takeSentByB() -> [(header: IPv6Header, packet: [UInt8])] {
        Hostile6.ipv6Packets(b.sent())
    }

    /// B is still of use: A pings it (first resolving it again if the attack evicted its entry)
    /// and gets every answer, and B pings A back.
    func expectStillWorks(sequence: UInt16 = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
        _ = b.sent()  // the attack's leftovers are not carried to A
        let fromA = try a.openPing(identifier: 0x6a00 &+ sequence)
        try a.ping(fromA, to: Self.b6, sequence: sequence, now: wires.now)
        wires.run(until: wires.now + .seconds(2))
        let answered = a.takePingResults(fromA).contains {
            if case let .reply6(from, replied, _, _, _) = $0 { return from == Self.b6 && replied == sequence }
            return false
        }
        #expect(answered, "A's ping to B after the attack", sourceLocation: sourceLocation)
        let fromB = try b.openPing(identifier: 0x6b00 &+ sequence)
        try b.ping(fromB, to: Self.a6, sequence: sequence, now: wires.now)
        wires.run(until: wires.now + .seconds(2))
        let answeredBack = b.takePingResults(fromB).contains {
            if case let .reply6(from, replied, _, _, _) = $0 { return from == Self.a6 && replied == sequence }
            return false
        }
        #expect(answeredBack, "B's ping to A after the attack", sourceLocation: sourceLocation)
    }
}

/// The bounds a misbehaving peer must not push a host past.
func expectBounded(_ host: Host, sourceLocation: SourceLocation = #_sourceLocation) {
    let neighbors = host.config.ipv6.neighbors
    #expect(host.neighborCache6.count <= neighbors.maxEntries, "neighbour cache entries", sourceLocation: sourceLocation)
    #expect(host.neighborCache6.pendingBytes <= neighbors.pendingBytesTotal, "bytes waiting for resolution",
            sourceLocation: sourceLocation)
    #expect(host.reassembler6.bytesHeld <= host.reassembler6.config.maxBytesTotal, "reassembly bytes",
            sourceLocation: sourceLocation)
    let learned = host.routes6.routes.filter { $0.origin == .routerAdvertisement }.count
    #expect(learned <= host.routes6.maxLearnedRoutes, "routes learnt from RAs", sourceLocation: sourceLocation)
    for interface in host.interfaces {
        let count = host.addresses6.filter { $0.interface == interface }.count
        #expect(count <= host.config.ipv6.addresses.maxAddresses, "addresses of \(interface)",
                sourceLocation: sourceLocation)
    }
    #expect(host.pathMTUs6.count <= host.pathMTUs6.capacity, "path MTU entries", sourceLocation: sourceLocation)
}

/// Builders for hostile IPv6 input, from the wire types (each tested on its own in NetStackWireTests).
enum Hostile6 {
    /// An IPv6 packet: the fixed header (next header `first`), then `extensions` (already
    /// chained), then `upper`.
    static func packet(from source: IPv6Address, to destination: IPv6Address, first: IPProtocol,
                       extensions: [UInt8] = [], upper: [UInt8], hopLimit: UInt8 = 64) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: IPv6Header.length)
        header.withUnsafeMutableBytes {
            IPv6Header(source: source, destination: destination, nextHeader: first,
                       payloadLength: extensions.count + upper.count, hopLimit: hopLimit).emit(into: $0)
        }
        return header + extensions + upper
    }

    /// An ICMPv6 message (header, checksum over the pseudo-header of `source` → `destination`, `data`).
    static func icmpv6(_ message: ICMPv6Message, data: [UInt8] = [], from source: IPv6Address,
                       to destination: IPv6Address) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ICMPv6Header.length) + data
        bytes.withUnsafeMutableBytes { ICMPv6Header(message).emit(into: $0, source: source, destination: destination) }
        return bytes
    }

    /// An echo request packet from `source` to `destination`, through `extensions` (the first named `first`).
    static func echoRequest(from source: IPv6Address, to destination: IPv6Address, identifier: UInt16 = 0x4242,
                            sequence: UInt16 = 1, dataLength: Int = 16, first: IPProtocol = .icmpv6,
                            extensions: [UInt8] = [], hopLimit: UInt8 = 64) -> [UInt8] {
        let data = (0..<dataLength).map { UInt8(truncatingIfNeeded: $0) }
        return packet(from: source, to: destination, first: first, extensions: extensions,
                      upper: icmpv6(.echoRequest(identifier: identifier, sequence: sequence), data: data,
                                    from: source, to: destination),
                      hopLimit: hopLimit)
    }

    /// A hop-by-hop or destination options header (RFC 8200 §4.2) naming `next`, holding
    /// `options` (type-length-value bytes) padded with PadN/Pad1 to a multiple of 8.
    static func optionsHeader(next: IPProtocol, options: [UInt8] = []) -> [UInt8] {
        var body = [next.rawValue, 0] + options
        let padding = (8 - body.count % 8) % 8
        if padding == 1 { body.append(0) } else if padding > 1 { body += [1, UInt8(padding - 2)] + [UInt8](repeating: 0, count: padding - 2) }
        body[1] = UInt8(body.count / 8 - 1)
        return body
    }

    /// An NDP message in an IPv6 packet with hop limit `hopLimit` (255 is the only one RFC 4861 accepts).
    static func ndp(_ message: NDPMessage, options: NDPOptions = NDPOptions(), from source: IPv6Address,
                    to destination: IPv6Address, hopLimit: UInt8 = 255) -> [UInt8] {
        let ndp = NDPPacket(message, options: options)
        var bytes = [UInt8](repeating: 0, count: ndp.encodedLength)
        bytes.withUnsafeMutableBytes { ndp.emit(into: $0, source: source, destination: destination) }
        return packet(from: source, to: destination, first: .icmpv6, upper: bytes, hopLimit: hopLimit)
    }

    /// The IPv6 packets among Ethernet `frames`, parsed.
    static func ipv6Packets(_ frames: [[UInt8]]) -> [(header: IPv6Header, packet: [UInt8])] {
        frames.compactMap { frame in
            guard frame.count > EthernetHeader.length, frame[12] == 0x86, frame[13] == 0xDD else { return nil }
            let packet = Array(frame[EthernetHeader.length...])
            return packet.withUnsafeBytes { bytes in (try? IPv6Header.parse(bytes)).map { ($0, packet) } }
        }
    }

    /// The ICMPv6 messages of type `type` among `packets` (no extension headers on what a host sends).
    static func icmpv6(type: UInt8, in packets: [(header: IPv6Header, packet: [UInt8])]) -> [[UInt8]] {
        packets.filter { $0.header.nextHeader == .icmpv6 && $0.packet.count > 40 && $0.packet[40] == type }
            .map { Array($0.packet[40..<$0.header.totalLength]) }
    }

    /// A parameter problem's (code, pointer).
    static func parameterProblem(_ message: [UInt8]) -> (code: UInt8, pointer: UInt32) {
        (message[1], UInt32(message[4]) << 24 | UInt32(message[5]) << 16 | UInt32(message[6]) << 8 | UInt32(message[7]))
    }

    /// A unicast MAC address made from `n` (locally administered).
    static func mac(_ n: Int) -> MACAddress {
        MACAddress(0x02, 0x66, UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16),
                   UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n))
    }
}
