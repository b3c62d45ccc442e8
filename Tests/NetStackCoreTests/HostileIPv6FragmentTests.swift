// Hostile IPv6 fragments (RFC 8200 §4.5, RFC 5722, RFC 7112, RFC 6946) fed to a host: overlaps
// discard the datagram, a first fragment without the upper-layer header is refused, a flood of
// fragments holds no more than the reassembly limit, and atomic fragments are processed.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Hostile IPv6: fragments")
struct HostileIPv6FragmentTests {
    typealias LAN = HostileLAN

    /// An echo request from the attacker to B with `dataLength` bytes of data, as the ICMPv6 message.
    static func echoMessage(dataLength: Int, sequence: UInt16 = 1) -> [UInt8] {
        Hostile6.icmpv6(.echoRequest(identifier: 0x4242, sequence: sequence),
                        data: (0..<dataLength).map { UInt8(truncatingIfNeeded: $0 &* 7) },
                        from: LAN.attacker6, to: LAN.b6)
    }

    @Test("overlapping fragments discard the whole datagram (RFC 5722), and its later fragments with it")
    func overlappingFragments() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let message = Self.echoMessage(dataLength: 1200)  // 1,208 bytes: the reply fits one frame
        let before = lan.b.statistics
        // 0..<608 (M), then 600..<1208 overlapping it by 8 bytes, then the honest 608..<1208.
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 7, offset: 0, more: true,
                                   data: Array(message[0..<608])))
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 7, offset: 600, more: false,
                                   data: Array(message[600...])))
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 7, offset: 608, more: false,
                                   data: Array(message[608...])))
        #expect(Hostile6.icmpv6(type: 129, in: lan.takeSentByB()).isEmpty)
        #expect(lan.b.statistics.reassemblyOK == before.reassemblyOK)
        #expect(lan.b.statistics.reassemblyFails == before.reassemblyFails + 2)
        // The same datagram again under a new identification goes through.
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 8, offset: 0, more: true,
                                   data: Array(message[0..<608])))
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 8, offset: 608, more: false,
                                   data: Array(message[608...])))
        #expect(Hostile6.icmpv6(type: 129, in: lan.takeSentByB()).count == 1)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a first fragment without the upper-layer header earns a parameter problem code 3 (RFC 7112)")
    func tinyFirstFragment() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let before = lan.b.statistics
        // A destination options header, then TCP — but only 8 bytes of the TCP header in the first fragment.
        let options = Hostile6.optionsHeader(next: .tcp)
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 9, offset: 0, more: true,
                                   nextHeader: .ipv6DestinationOptions, data: options + [UInt8](repeating: 0, count: 8)))
        let problems = Hostile6.icmpv6(type: 4, in: lan.takeSentByB()).map(Hostile6.parameterProblem)
        #expect(problems.map(\.code) == [3])
        #expect(problems.map(\.pointer) == [0])
        #expect(lan.b.statistics.reassemblyFails == before.reassemblyFails + 1)
        #expect(lan.b.reassembler6.inProgress == 0)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("100,000 fragments with distinct identifications from 1,000 /64s hold at most the limit; a real datagram still completes")
    func fragmentFlood() throws {
        let lan = LAN()
        let limit = lan.b.reassembler6.config.maxBytesTotal
        let before = lan.b.statistics
        // One template, a middle fragment (offset 1024, M) of 1,024 bytes; source and identification patched per packet.
        var frame = Build.ethernet(to: Lab.macB, from: LAN.attackerMAC, type: .ipv6,
                                   V6Frag.fragment(from: IPv6Address("2001:db8:100::1")!, to: LAN.b6, id: 0, offset: 1024,
                                                   more: true, data: [UInt8](repeating: 0x5A, count: 1024)))
        var highest = 0
        for index in 0..<100_000 {
            let prefix = 0x100 + index % 1000   // 2001:db8:<prefix>::<host>
            frame[14 + 8 + 4] = UInt8(prefix >> 8)
            frame[14 + 8 + 5] = UInt8(prefix & 0xFF)
            frame[14 + 8 + 14] = UInt8(truncatingIfNeeded: index >> 8)
            frame[14 + 8 + 15] = UInt8(truncatingIfNeeded: index)
            let id = UInt32(index)
            for byte in 0..<4 { frame[14 + 40 + 4 + byte] = UInt8(truncatingIfNeeded: id >> (24 - 8 * byte)) }
            lan.b.receive(frame, on: eth0, now: lan.wires.now)
            lan.b.poll(now: lan.wires.now)
            if index % 1000 == 999 {
                highest = max(highest, lan.b.reassembler6.bytesHeld)
                _ = lan.b.sent()
            }
        }
        #expect(highest <= limit)
        #expect(highest > limit / 2, "the flood did fill reassembly")
        #expect(lan.b.statistics.reassemblyRequired == before.reassemblyRequired + 100_000)
        #expect(lan.b.statistics.reassemblyEvictions > 0)
        #expect(lan.b.statistics.reassemblyFails - before.reassemblyFails
                    == lan.b.statistics.reassemblyEvictions - before.reassemblyEvictions)
        expectBounded(lan.b)
        try lan.expectStillWorks()

        // A real fragmented datagram from A (which knows B's link address now): 4,000 bytes of UDP.
        let receiver = lan.b.socket(.datagram)
        try lan.b.bind(receiver, to: Endpoint(IPv6Address.unspecified, 5353))
        let sender = lan.a.socket(.datagram)
        let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try payload.withUnsafeBytes { try lan.a.send(sender, $0, to: Endpoint(LAN.b6, 5353), now: lan.wires.now) }
        lan.wires.run(until: lan.wires.now + .seconds(1))
        var buffer = [UInt8](repeating: 0, count: 8192)
        let (count, _) = try buffer.withUnsafeMutableBytes { try lan.b.recvfrom(receiver, into: $0, now: lan.wires.now) }
        #expect(count == payload.count && Array(buffer[0..<count]) == payload)
        #expect(lan.b.statistics.reassemblyOK == before.reassemblyOK + 1)
        expectBounded(lan.b)
    }

    @Test("an atomic fragment (offset 0, M clear) is processed at once, leaving a datagram with its identification alone")
    func atomicFragment() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let message = Self.echoMessage(dataLength: 1200)
        // A datagram in progress under identification 11…
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 11, offset: 0, more: true,
                                   data: Array(message[0..<608])))
        let before = lan.b.statistics
        // …then an atomic fragment with the same identification, carrying a whole echo request.
        let small = Self.echoMessage(dataLength: 24, sequence: 2)
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 11, offset: 0, more: false, data: small))
        #expect(Hostile6.icmpv6(type: 129, in: lan.takeSentByB()).count == 1)
        #expect(lan.b.statistics.reassemblyRequired == before.reassemblyRequired)
        #expect(lan.b.statistics.reassemblyFails == before.reassemblyFails)
        #expect(lan.b.reassembler6.inProgress == 1)
        // The datagram in progress still completes.
        lan.attack(V6Frag.fragment(from: LAN.attacker6, to: LAN.b6, id: 11, offset: 608, more: false,
                                   data: Array(message[608...])))
        #expect(Hostile6.icmpv6(type: 129, in: lan.takeSentByB()).count == 1)
        #expect(lan.b.statistics.reassemblyOK == before.reassemblyOK + 1)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }
}
