// Hostile ICMPv6 packet too big (RFC 8201 §4, RFC 4443 §3.2, RFC 5927): an MTU below 1,280 is
// taken as 1,280, a message quoting a packet B never sent is ignored, the path MTU is never
// raised, and a flood for many destinations keeps the path MTU cache at its capacity.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Hostile IPv6: packet too big")
struct HostileIPv6PacketTooBigTests {
    typealias LAN = HostileLAN

    /// An on-link destination B might have sent to.
    static let peer = IPv6Address("2001:db8::9")!

    /// A packet too big from the attacker reporting `mtu`, quoting the head of a packet from
    /// `source` to `destination` whose payload length was `payloadLength` (an echo request).
    static func packetTooBig(mtu: UInt32, source: IPv6Address = LAN.b6, destination: IPv6Address = peer,
                             payloadLength: Int = 1400) -> [UInt8] {
        var quote = [UInt8](repeating: 0, count: IPv6Header.length + ICMPv6Header.length)
        quote.withUnsafeMutableBytes { bytes in
            IPv6Header(source: source, destination: destination, nextHeader: .icmpv6, payloadLength: payloadLength)
                .emit(into: bytes)
        }
        quote[40] = 128  // echo request, identifier 0xdead: no socket of B's
        quote[44] = 0xde
        quote[45] = 0xad
        return Hostile6.packet(from: LAN.attacker6, to: LAN.b6, first: .icmpv6,
                               upper: Hostile6.icmpv6(.packetTooBig(mtu: mtu), data: quote, from: LAN.attacker6, to: LAN.b6))
    }

    @Test("a packet too big reporting an MTU below 1,280 lowers the path MTU to 1,280, no further")
    func mtuBelowMinimum() throws {
        let lan = LAN()
        for mtu: UInt32 in [600, 0] { lan.attack(Self.packetTooBig(mtu: mtu)) }
        #expect(lan.b.pathMTU6(toward: Self.peer) == IPv6Header.minimumMTU)
        #expect(lan.b.pathMTUs6.count == 1)
        #expect(lan.b.pathMTU6(toward: LAN.a6) == 1500)
        #expect(lan.takeSentByB().isEmpty)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a packet too big quoting a packet B did not send, or one that fit the MTU, is ignored and counted")
    func quoteNotOurs() throws {
        let lan = LAN()
        let before = lan.b.statistics
        lan.attack(Self.packetTooBig(mtu: 1280, source: IPv6Address("2001:db8::1234")!))  // not B's address
        lan.attack(Self.packetTooBig(mtu: 1280, source: LAN.a6))                           // A's, not B's
        lan.attack(Self.packetTooBig(mtu: 1280, payloadLength: 1000))                      // 1,040 bytes fit 1,280
        #expect(lan.b.pathMTU6(toward: Self.peer) == 1500)
        #expect(lan.b.pathMTUs6.count == 0)
        #expect(lan.b.statistics.icmp6InErrors == before.icmp6InErrors + 3)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a packet too big never raises the path MTU, nor sets it above the link MTU")
    func neverRaised() throws {
        let lan = LAN()
        lan.attack(Self.packetTooBig(mtu: 1400, payloadLength: 1460))
        #expect(lan.b.pathMTU6(toward: Self.peer) == 1400)
        lan.attack(Self.packetTooBig(mtu: 1480, payloadLength: 1460))
        lan.attack(Self.packetTooBig(mtu: 9000, payloadLength: 65_000))
        #expect(lan.b.pathMTU6(toward: Self.peer) == 1400)
        // For a destination without an entry, a larger MTU than the link's changes nothing either.
        lan.attack(Self.packetTooBig(mtu: 9000, destination: IPv6Address("2001:db8::10")!, payloadLength: 65_000))
        #expect(lan.b.pathMTU6(toward: IPv6Address("2001:db8::10")!) == 1500)
        #expect(lan.b.pathMTUs6.count == 1)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("TCP follows a path MTU lowered by a packet too big that quoted something else: its segments shrink to fit, none leaves in fragments")
    func tcpFollowsPathMTU() throws {
        let lan = LAN()
        let listener = lan.a.socket(.stream)
        try lan.a.bind(listener, to: Endpoint(IPv6Address.unspecified, 8080))
        try lan.a.listen(listener, backlog: 4)
        let client = lan.b.socket(.stream)
        try lan.b.connect(client, to: Endpoint(LAN.a6, 8080), now: lan.wires.now)
        var server: Int32?
        for _ in 1...200 where server == nil {
            lan.wires.run(until: lan.wires.now + .milliseconds(5))
            server = try? lan.a.accept(listener).descriptor
        }
        let accepted = try #require(server)
        // 2 MB: most of it is sent after the attack (B's send buffer and window hold less).
        let data = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var sent = 0, received: [UInt8] = [], framesBeforeAttack: Int?
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for _ in 0..<20_000 where received.count < data.count {
            if sent < data.count {
                // EAGAIN (the send buffer is full, nothing to read yet) is 0 bytes here.
                sent += (try? data[sent...].withUnsafeBytes { try lan.b.send(client, $0, now: lan.wires.now) }) ?? 0
            }
            lan.wires.run(until: lan.wires.now + .milliseconds(1))
            let count = (try? buffer.withUnsafeMutableBytes { try lan.a.recv(accepted, into: $0, now: lan.wires.now) }) ?? 0
            received += buffer[0..<count]
            if framesBeforeAttack == nil, received.count > 100_000 {
                // The quote is an echo request of B's to A (as a segment already acknowledged would be, TCP
                // is not told): the path MTU toward A goes down to 1,280 all the same.
                framesBeforeAttack = lan.wires.frames(from: "B").count
                lan.attack(Self.packetTooBig(mtu: 1280, destination: LAN.a6))
            }
        }
        #expect(received == data)
        #expect(lan.b.pathMTU6(toward: LAN.a6) == 1280)
        let after = Hostile6.ipv6Packets(Array(lan.wires.frames(from: "B").dropFirst(try #require(framesBeforeAttack))))
        let segments = after.filter { $0.header.nextHeader == .tcp }
        #expect(!after.contains { $0.header.nextHeader == .ipv6Fragment }, "B sent its TCP segments in fragments")
        #expect(segments.count > 1000 && segments.allSatisfy { $0.packet.count <= 1280 },
                "\(segments.count) segments, the largest \(segments.map(\.packet.count).max() ?? 0) bytes")
        expectBounded(lan.b)
    }

    @Test("packet too big messages for 100,000 destinations keep the path MTU cache at its capacity")
    func floodOfDestinations() throws {
        let lan = LAN()
        let capacity = lan.b.pathMTUs6.capacity
        for index in 0..<100_000 {
            let destination = IPv6Address(0x2001, 0xdb8, 0x9, UInt16(index >> 16), 0, 0, 0, UInt16(index & 0xFFFF))
            lan.attack(Self.packetTooBig(mtu: 1280, destination: destination))
            if index % 10_000 == 9_999 { #expect(lan.b.pathMTUs6.count <= capacity) }
        }
        #expect(lan.b.pathMTUs6.count == capacity)
        // The newest destinations are remembered, the oldest pushed out.
        #expect(lan.b.pathMTU6(toward: IPv6Address(0x2001, 0xdb8, 0x9, 1, 0, 0, 0, 0x869F)) == 1280)
        #expect(lan.b.pathMTU6(toward: IPv6Address(0x2001, 0xdb8, 0x9, 0, 0, 0, 0, 0)) == 1500)
        #expect(lan.b.pathMTU6(toward: LAN.a6) == 1500)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }
}
