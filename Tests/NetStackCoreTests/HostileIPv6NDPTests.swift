// Hostile neighbour discovery (RFC 4861, RFC 4862): floods of solicitations, advertisements
// and router advertisements, messages from off the link (hop limit below 255, RFC 4861 §6.1 and
// §7.1), and spoofed advertisements for our own addresses. The tables stay within their bounds
// and the legitimate neighbour keeps working.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Hostile IPv6: neighbour discovery")
struct HostileIPv6NDPTests {
    typealias LAN = HostileLAN

    static let solicitedNodeMAC = LAN.b6.solicitedNodeMulticast.multicastMAC
    static let allNodesMAC = IPv6Address.allNodes.multicastMAC

    /// A router advertisement from `router` with its link address `mac`, lifetime `lifetime`, and `prefixes`.
    static func routerAdvertisement(from router: IPv6Address, mac: MACAddress, lifetime: UInt16 = 1800,
                                    prefixes: [NDPPrefixInformation] = [], hopLimit: UInt8 = 255) -> [UInt8] {
        Hostile6.ndp(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: lifetime)),
                     options: NDPOptions(sourceLinkLayerAddress: mac, prefixes: prefixes),
                     from: router, to: .allNodes, hopLimit: hopLimit)
    }

    static func prefix(_ n: Int) -> NDPPrefixInformation {
        NDPPrefixInformation(prefix: IPv6Address(0x2001, 0xdb8, UInt16(n), 0, 0, 0, 0, 0), prefixLength: 64,
                             validLifetime: 86_400, preferredLifetime: 14_400)
    }

    static func defaultRoutes(_ host: Host) -> [IPv6Route] {
        host.routes6.routes.filter { $0.destination.prefixLength == 0 }
    }

    @Test("10,000 neighbour solicitations from spoofed sources: the cache stays at its maximum, the real neighbour stays")
    func solicitationFlood() throws {
        let lan = LAN()
        try lan.expectStillWorks()  // B knows A now, and has used the entry
        let max = lan.b.config.ipv6.neighbors.maxEntries
        let evictionsBefore = lan.b.neighborCache6.evictions
        for index in 0..<10_000 {
            let source = IPv6Address(0x2001, 0xdb8, 0, 0, 0, 7, UInt16(index >> 16), UInt16(index & 0xFFFF))
            lan.attack(Hostile6.ndp(.neighborSolicitation(target: LAN.b6),
                                    options: NDPOptions(sourceLinkLayerAddress: Hostile6.mac(index)),
                                    from: source, to: LAN.b6.solicitedNodeMulticast),
                       to: Self.solicitedNodeMAC)
            if index % 500 == 499 {
                #expect(lan.b.neighborCache6.count <= max)
                _ = lan.b.sent()
            }
        }
        #expect(lan.b.neighborCache6.count == max)
        // Counted: the cache's own eviction counter (not yet a line of netstat's Icmp6 section).
        #expect(lan.b.neighborCache6.evictions - evictionsBefore >= 10_000 - max)
        #expect(lan.b.neighborCache6.entry(NeighborKey(LAN.a6, on: eth0))?.linkAddress == Lab.macA,
                "a used entry is evicted after the never-used ones")
        expectBounded(lan.b)
        try lan.expectStillWorks(sequence: 2)
    }

    @Test("NS, NA and RA with a hop limit other than 255 are dropped as invalid and change nothing (RFC 4861 on-link rule)")
    func hopLimitNot255() throws {
        let lan = LAN()
        try lan.expectStillWorks()
        let before = lan.b.statistics
        let neighborsBefore = lan.b.neighborEntries6.count
        lan.attack(Hostile6.ndp(.neighborSolicitation(target: LAN.b6),
                                options: NDPOptions(sourceLinkLayerAddress: LAN.attackerMAC),
                                from: LAN.attacker6, to: LAN.b6.solicitedNodeMulticast, hopLimit: 254),
                   to: Self.solicitedNodeMAC)
        // An override for A's address, pointing it at the attacker.
        lan.attack(Hostile6.ndp(.neighborAdvertisement(target: LAN.a6, router: false, solicited: false, override: true),
                                options: NDPOptions(targetLinkLayerAddress: LAN.attackerMAC),
                                from: LAN.attackerLinkLocal, to: .allNodes, hopLimit: 64),
                   to: Self.allNodesMAC)
        lan.attack(Self.routerAdvertisement(from: LAN.attackerLinkLocal, mac: LAN.attackerMAC, prefixes: [Self.prefix(0x99)],
                                            hopLimit: 1),
                   to: Self.allNodesMAC)
        #expect(lan.b.statistics.ndpInvalid == before.ndpInvalid + 3)
        #expect(lan.b.statistics.ndpNeighborAdvertsSent == before.ndpNeighborAdvertsSent)
        #expect(lan.takeSentByB().isEmpty)
        #expect(lan.b.neighborEntries6.count == neighborsBefore)
        #expect(lan.b.neighborCache6.entry(NeighborKey(LAN.a6, on: eth0))?.linkAddress == Lab.macA)
        #expect(Self.defaultRoutes(lan.b).isEmpty)
        #expect(lan.b.routes6.peek(IPv6Address("2001:db8:99::1")!) == nil)
        expectBounded(lan.b)
        try lan.expectStillWorks(sequence: 2)
    }

    @Test("an RA or NS in a packet with a fragment header, atomic or in two fragments, is ignored and counted (RFC 6980 §5)")
    func fragmentedNDP() throws {
        let lan = LAN()
        lan.b.enableAddressAutoconfiguration(on: eth0, now: lan.wires.now)
        let router = IPv6Address("fe80::bad:6")!, solicitor = IPv6Address("2001:db8::7a")!
        let advertisement = Self.routerAdvertisement(from: router, mac: LAN.attackerMAC, prefixes: [Self.prefix(0x96)])
        let solicitation = Hostile6.ndp(.neighborSolicitation(target: LAN.b6),
                                        options: NDPOptions(sourceLinkLayerAddress: Hostile6.mac(0x7a)),
                                        from: solicitor, to: LAN.b6.solicitedNodeMulticast)
        /// `packet`'s NDP message behind a fragment header with hop limit 255: one atomic fragment, or two cut at byte 16.
        func fragments(of packet: [UInt8], to destination: IPv6Address, id: UInt32, cut: Int?) -> [[UInt8]] {
            let message = Array(packet[IPv6Header.length...])
            let source = packet.withUnsafeBytes { try! IPv6Header.parse($0).source }
            let pieces = cut.map { [(0, Array(message[..<$0]), true), ($0, Array(message[$0...]), false)] } ?? [(0, message, false)]
            return pieces.map { offset, data, more in
                var fragment = V6Frag.fragment(from: source, to: destination, id: id, offset: offset, more: more, data: data)
                fragment[7] = 255
                return fragment
            }
        }
        let before = lan.b.statistics
        for (index, cut) in [nil, 16].enumerated() {
            for fragment in fragments(of: advertisement, to: .allNodes, id: UInt32(10 + index), cut: cut) {
                lan.attack(fragment, to: Self.allNodesMAC)
            }
            for fragment in fragments(of: solicitation, to: LAN.b6.solicitedNodeMulticast, id: UInt32(20 + index), cut: cut) {
                lan.attack(fragment, to: Self.solicitedNodeMAC)
            }
        }
        #expect(lan.b.statistics.ndpInvalid == before.ndpInvalid + 4)
        #expect(Hostile6.icmpv6(type: 136, in: lan.takeSentByB()).isEmpty, "no advertisement answers a fragmented solicitation")
        #expect(Self.defaultRoutes(lan.b).isEmpty)
        #expect(lan.b.routes6.peek(IPv6Address("2001:db8:96::1")!) == nil)
        #expect(!lan.b.addresses6.contains { $0.origin == .autoconfigured })
        #expect(lan.b.neighborCache6.entry(NeighborKey(router, on: eth0)) == nil)
        #expect(lan.b.neighborCache6.entry(NeighborKey(solicitor, on: eth0)) == nil)
        // The same advertisement unfragmented is taken: what the fragment header alone changed.
        lan.attack(advertisement, to: Self.allNodesMAC)
        #expect(Self.defaultRoutes(lan.b).map(\.gateway) == [router])
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a router advertisement from a source that is not link-local is dropped as invalid")
    func routerAdvertisementNotLinkLocal() throws {
        let lan = LAN()
        lan.b.enableAddressAutoconfiguration(on: eth0, now: lan.wires.now)
        let before = lan.b.statistics
        lan.attack(Self.routerAdvertisement(from: LAN.attacker6, mac: LAN.attackerMAC, prefixes: [Self.prefix(0x99)]),
                   to: Self.allNodesMAC)
        #expect(lan.b.statistics.ndpInvalid == before.ndpInvalid + 1)
        #expect(Self.defaultRoutes(lan.b).isEmpty)
        #expect(lan.b.routes6.peek(IPv6Address("2001:db8:99::1")!) == nil)
        #expect(!lan.b.addresses6.contains { $0.origin == .autoconfigured })
        #expect(lan.b.neighborCache6.entry(NeighborKey(LAN.attacker6, on: eth0)) == nil)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("1,000 router advertisements, each from another router with another prefix: routes and SLAAC addresses stay bounded")
    func routerAdvertisementFlood() throws {
        let lan = LAN()
        lan.b.enableAddressAutoconfiguration(on: eth0, now: lan.wires.now)
        for index in 1...1000 {
            let router = IPv6Address(0xfe80, 0, 0, 0, 0, 0, 1, UInt16(index))
            lan.attack(Self.routerAdvertisement(from: router, mac: Hostile6.mac(index), prefixes: [Self.prefix(index)]),
                       to: Self.allNodesMAC)
            if index % 100 == 0 { _ = lan.b.sent() }
        }
        let learned = lan.b.routes6.routes.filter { $0.origin == .routerAdvertisement }
        #expect(learned.count == lan.b.routes6.maxLearnedRoutes)
        let addresses = lan.b.addresses6.filter { $0.interface == eth0 }
        #expect(addresses.count == lan.b.config.ipv6.addresses.maxAddresses)
        #expect(addresses.contains { $0.address == LAN.b6 && $0.state == .preferred })
        // Counted: every prefix past the bounds (1,000 prefixes and 1,000 default routes offered).
        #expect(lan.b.routes6.learnedRoutesRefused == 2000 - lan.b.routes6.maxLearnedRoutes)
        let refused = try #require(lan.b.interfaces6[eth0.index]?.addresses.addressesRefused)
        #expect(refused == 1000 - (addresses.count - 2))  // B's own two (global and link-local) were there first
        expectBounded(lan.b)
        // The SLAAC addresses pass DAD (nobody else has them), and nothing grows meanwhile.
        lan.wires.run(until: lan.wires.now + .seconds(3))
        #expect(lan.b.addresses6.filter { $0.origin == .autoconfigured }.allSatisfy { $0.state == .preferred })
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a router advertisement with router lifetime 0 removes the default route through that router")
    func routerLifetimeZero() throws {
        let lan = LAN()
        let router = IPv6Address("fe80::1")!
        lan.attack(Self.routerAdvertisement(from: router, mac: LAN.attackerMAC, lifetime: 1800), to: Self.allNodesMAC)
        #expect(Self.defaultRoutes(lan.b).map(\.gateway) == [router])
        lan.attack(Self.routerAdvertisement(from: router, mac: LAN.attackerMAC, lifetime: 0), to: Self.allNodesMAC)
        #expect(Self.defaultRoutes(lan.b).isEmpty)
        // Off-link destinations are unreachable again rather than sent to the withdrawn router.
        let socket = try lan.b.openPing(identifier: 5)
        #expect(throws: NetError.networkUnreachable) {
            try lan.b.ping(socket, to: IPv6Address("2001:db8:ffff::1")!, sequence: 1, now: lan.wires.now)
        }
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a spoofed NA for our address makes it a duplicate while DAD runs, and is ignored once DAD passed")
    func spoofedAdvertisementForOurAddress() throws {
        let lan = LAN()
        let tentative = IPv6Address("2001:db8::77")!, settled = IPv6Address("2001:db8::78")!
        lan.b.assign(settled, prefixLength: 64, to: eth0, now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .seconds(3))
        lan.b.assign(tentative, prefixLength: 64, to: eth0, now: lan.wires.now)
        #expect(lan.b.addresses6.first { $0.address == tentative }?.state == .tentative)
        let before = lan.b.statistics
        for target in [tentative, settled] {
            lan.attack(Hostile6.ndp(.neighborAdvertisement(target: target, router: false, solicited: false, override: true),
                                    options: NDPOptions(targetLinkLayerAddress: LAN.attackerMAC),
                                    from: LAN.attackerLinkLocal, to: .allNodes),
                       to: Self.allNodesMAC)
        }
        #expect(lan.b.addresses6.first { $0.address == tentative }?.state == .duplicate)
        #expect(lan.b.addresses6.first { $0.address == settled }?.state == .preferred)
        #expect(lan.b.statistics.ndpDuplicateAddresses == before.ndpDuplicateAddresses + 1)
        #expect(lan.b.neighborCache6.entry(NeighborKey(settled, on: eth0)) == nil)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("10,000 advertisements for targets nobody asked about create no neighbour entries")
    func advertisementFlood() throws {
        let lan = LAN()
        try lan.expectStillWorks()
        let count = lan.b.neighborCache6.count
        for index in 0..<10_000 {
            let target = IPv6Address(0x2001, 0xdb8, 0, 0, 0, 5, UInt16(index >> 16), UInt16(index & 0xFFFF))
            let solicited = index % 2 == 1  // solicited ones to B's address, unsolicited ones to all nodes
            lan.attack(Hostile6.ndp(.neighborAdvertisement(target: target, router: index % 3 == 0, solicited: solicited,
                                                           override: true),
                                    options: NDPOptions(targetLinkLayerAddress: Hostile6.mac(index)),
                                    from: target, to: solicited ? LAN.b6 : .allNodes),
                       to: solicited ? Lab.macB : Self.allNodesMAC)
        }
        #expect(lan.b.neighborCache6.count == count)
        #expect(lan.takeSentByB().isEmpty)
        expectBounded(lan.b)
        try lan.expectStillWorks(sequence: 2)
    }
}
