// Hostile extension-header chains (RFC 8200 §4, RFC 5095, RFC 4443 §2.4): each is dropped and
// counted, answered (rate limited) only where the RFCs ask, and leaves B working.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Hostile IPv6: extension-header chains")
struct HostileIPv6ExtensionHeaderTests {
    typealias LAN = HostileLAN

    @Test("nine extension headers (over the cap of 8) are dropped as a header error, no answer")
    func tooManyHeaders() throws {
        let lan = LAN()
        lan.introduceAttacker()
        var chain: [UInt8] = []
        for index in 0..<9 { chain += Hostile6.optionsHeader(next: index == 8 ? .icmpv6 : .ipv6DestinationOptions) }
        let before = lan.b.statistics
        lan.attack(Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6DestinationOptions, extensions: chain))
        #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 1)
        #expect(lan.b.statistics.ip6InDelivers == before.ip6InDelivers)
        #expect(lan.takeSentByB().isEmpty)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a hop-by-hop header anywhere but first is an unrecognised next header: dropped, parameter problem code 1 at the field naming it")
    func hopByHopNotFirst() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let chain = Hostile6.optionsHeader(next: .ipv6HopByHop) + Hostile6.optionsHeader(next: .icmpv6)
        let before = lan.b.statistics
        lan.attack(Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6DestinationOptions, extensions: chain))
        let sent = lan.takeSentByB()
        // RFC 8200 §4.1 and §4: the destination options header at byte 40 names a hop-by-hop header in
        // its first byte, where none may be; the answer points there.
        let problem = try #require(Hostile6.icmpv6(type: 4, in: sent).first)
        #expect(Hostile6.parameterProblem(problem) == (1, 40))
        #expect(lan.b.statistics.ip6InUnknownProtocols == before.ip6InUnknownProtocols + 1)
        #expect(Hostile6.icmpv6(type: 129, in: sent).isEmpty)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("an option running past its header, and a header running past the packet, are header errors")
    func truncatedOptions() throws {
        let lan = LAN()
        lan.introduceAttacker()
        // A PadN claiming 200 bytes inside an 8-byte header.
        let longOption: [UInt8] = [IPProtocol.icmpv6.rawValue, 0, 1, 200, 0, 0, 0, 0]
        // A header claiming (10 + 1) × 8 bytes with 8 in the packet.
        let longHeader: [UInt8] = [IPProtocol.icmpv6.rawValue, 10, 1, 4, 0, 0, 0, 0]
        // An option type with no length byte: the header's last byte is a type that needs one.
        let cutOption: [UInt8] = [IPProtocol.icmpv6.rawValue, 0, 1, 3, 0, 0, 0, 0xC2]
        let before = lan.b.statistics
        for extensions in [longOption, longHeader, cutOption] {
            // Echo requests whose chain is broken; the longHeader one is also cut at the packet end.
            let packet = extensions == longHeader
                ? Hostile6.packet(from: LAN.attacker6, to: LAN.b6, first: .ipv6HopByHop, upper: extensions)
                : Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6HopByHop, extensions: extensions)
            lan.attack(packet)
        }
        #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 3)
        #expect(lan.b.statistics.ip6InDelivers == before.ip6InDelivers)
        #expect(lan.takeSentByB().isEmpty)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("unknown options by action bits: 00 skipped, 01 dropped, 10 dropped + parameter problem even to multicast, 11 unless multicast")
    func unknownOptionActions() throws {
        let lan = LAN()
        lan.introduceAttacker()
        func attack(type: UInt8, to destination: IPv6Address) -> [(header: IPv6Header, packet: [UInt8])] {
            let options = Hostile6.optionsHeader(next: .icmpv6, options: [type, 2, 0xAB, 0xCD])
            lan.attack(Hostile6.echoRequest(from: LAN.attacker6, to: destination, first: .ipv6DestinationOptions,
                                            extensions: options),
                       to: destination.isMulticast ? destination.multicastMAC : Lab.macB)
            return lan.takeSentByB()
        }
        for destination in [LAN.b6, IPv6Address.allNodes] {
            let multicast = destination.isMulticast
            let before = lan.b.statistics
            // 00: skip the option, process the packet: the echo is answered.
            #expect(Hostile6.icmpv6(type: 129, in: attack(type: 0x1E, to: destination)).count == 1)
            #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors)
            // 01: discard silently.
            #expect(attack(type: 0x5E, to: destination).isEmpty)
            // 10: discard, parameter problem code 2 pointing at the option type (40 + 2), multicast or not.
            let problems = Hostile6.icmpv6(type: 4, in: attack(type: 0x9E, to: destination))
            #expect(problems.count == 1)
            if let problem = problems.first {
                #expect(Hostile6.parameterProblem(problem) == (2, 42))
            }
            // 11: the same, except to a multicast destination.
            let problems11 = Hostile6.icmpv6(type: 4, in: attack(type: 0xDE, to: destination))
            #expect(problems11.count == (multicast ? 0 : 1))
            #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 3)
        }
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a type 0 routing header with segments left earns a parameter problem at its type; with none left it is ignored")
    func routingTypeZero() throws {
        let lan = LAN()
        lan.introduceAttacker()
        func routing(segmentsLeft: UInt8) -> [UInt8] {
            // Type 0 (RFC 5095), one address: (2 + 1) × 8 bytes.
            [IPProtocol.icmpv6.rawValue, 2, 0, segmentsLeft, 0, 0, 0, 0] + IPv6Address("2001:db8::99")!.octets
        }
        let before = lan.b.statistics
        lan.attack(Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6Routing,
                                        extensions: routing(segmentsLeft: 1)))
        let sent = lan.takeSentByB()
        #expect(Hostile6.icmpv6(type: 129, in: sent).isEmpty)
        let problem = try #require(Hostile6.icmpv6(type: 4, in: sent).first)
        #expect(Hostile6.parameterProblem(problem) == (0, 42))
        #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 1)
        // Segments left 0: RFC 8200 §4.4 says ignore the header and go on.
        lan.attack(Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6Routing,
                                        extensions: routing(segmentsLeft: 0)))
        #expect(Hostile6.icmpv6(type: 129, in: lan.takeSentByB()).count == 1)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("an unknown next header earns a parameter problem code 1 pointing at the field that named it")
    func unknownNextHeader() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let experimental = IPProtocol(rawValue: 253)  // RFC 3692's experimentation value
        let before = lan.b.statistics
        // Straight after the fixed header: the pointer is its Next Header field, byte 6.
        lan.attack(Hostile6.packet(from: LAN.attacker6, to: LAN.b6, first: experimental, upper: [UInt8](repeating: 0, count: 16)))
        // After a destination options header at 40: the pointer is byte 40.
        lan.attack(Hostile6.packet(from: LAN.attacker6, to: LAN.b6, first: .ipv6DestinationOptions,
                                   extensions: Hostile6.optionsHeader(next: experimental), upper: [UInt8](repeating: 0, count: 16)))
        let problems = Hostile6.icmpv6(type: 4, in: lan.takeSentByB()).map(Hostile6.parameterProblem)
        #expect(problems.map(\.code) == [1, 1])
        #expect(problems.map(\.pointer) == [6, 40])
        #expect(lan.b.statistics.ip6InUnknownProtocols == before.ip6InUnknownProtocols + 2)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a burst of 10,000 packets that each deserve a parameter problem gets at most the limiter's burst of them")
    func parameterProblemsRateLimited() throws {
        let lan = LAN()
        lan.introduceAttacker()
        let experimental = IPProtocol(rawValue: 253)
        let before = lan.b.statistics
        var problems = 0
        for index in 0..<10_000 {
            // Alternate the two kinds of error: unknown next header, and an option asking for one.
            let packet = index % 2 == 0
                ? Hostile6.packet(from: LAN.attacker6, to: LAN.b6, first: experimental, upper: [UInt8(truncatingIfNeeded: index)])
                : Hostile6.echoRequest(from: LAN.attacker6, to: LAN.b6, first: .ipv6DestinationOptions,
                                       extensions: Hostile6.optionsHeader(next: .icmpv6, options: [0x9E, 0]))
            lan.attack(packet)
            if index % 500 == 499 { problems += Hostile6.icmpv6(type: 4, in: lan.takeSentByB()).count }
        }
        let burst = lan.b.config.icmpErrors.burst
        #expect(problems > 0 && problems <= burst)
        #expect(lan.b.statistics.icmp6RateLimited == before.icmp6RateLimited + 10_000 - problems)
        #expect(lan.b.statistics.ip6InUnknownProtocols == before.ip6InUnknownProtocols + 5_000)
        #expect(lan.b.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 5_000)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }
}
