// Hostile IPv6 sources and destinations (RFC 4291 §2.5.2, §2.5.3, §2.5.6, §2.7; RFC 8200 §3;
// RFC 4443 §3.3): martian sources dropped and counted at a host, link-local scope never
// forwarded by a router, hop limit 1 answered with a rate-limited time exceeded.

@testable import NetStackCore
import NetStackWire
import Testing

/// A — R — (eth1, no cable): A 2001:db8::1 on R's eth0 2001:db8::fe; R's eth1 2001:db8:2::fe.
/// R forwards; what it sends on eth1 stays in its queue for the test to read.
struct HostileRouterLAN {
    static let a6 = HostileLAN.a6
    static let r0 = IPv6Address("2001:db8::fe")!
    static let r1 = IPv6Address("2001:db8:2::fe")!
    /// A destination behind R's eth1.
    static let far = IPv6Address("2001:db8:2::9")!

    let a: Host, r: Host, wires: Wires

    init() {
        a = makeHost("A", [Port("eth0", Lab.macA, nil)])
        r = makeHost("R", [Port("eth0", Lab.macR0, nil), Port("eth1", Lab.macR1, nil)]) { $0.forwarding = true }
        a.assign(Self.a6, prefixLength: 64, to: eth0, now: .zero)
        r.assign(Self.r0, prefixLength: 64, to: eth0, now: .zero)
        r.assign(Self.r1, prefixLength: 64, to: eth1, now: .zero)
        a.addRoute6(IPv6Route(destination: IPv6Network("2001:db8:2::/64")!, gateway: Self.r0, interface: eth0))
        wires = Wires()
        wires.connect(a, eth0, r, eth0)
        wires.run(until: .seconds(3))
        _ = r.sent(on: eth1)
    }

    /// Feeds `packet` to R's eth0 from the attacker's link address.
    func attack(_ packet: [UInt8]) {
        r.receive(Build.ethernet(to: Lab.macR0, from: HostileLAN.attackerMAC, type: .ipv6, packet), on: eth0, now: wires.now)
        r.poll(now: wires.now)
    }

    /// R still forwards and answers: A's ping to R is answered, and A's ping to `far` is forwarded
    /// (R asks for `far` on eth1, where nobody answers).
    func expectStillWorks(sourceLocation: SourceLocation = #_sourceLocation) throws {
        _ = r.sent(on: eth0)
        _ = r.sent(on: eth1)
        let socket = try a.openPing(identifier: 0x7a7a)
        try a.ping(socket, to: Self.r0, sequence: 1, now: wires.now)
        wires.run(until: wires.now + .seconds(1))
        #expect(a.takePingResults(socket).contains {
            if case let .reply6(from, _, _, _, _) = $0 { return from == Self.r0 }
            return false
        }, "A's ping to R", sourceLocation: sourceLocation)
        let forwarded = r.statistics.ip6Forwarded
        try a.ping(socket, to: Self.far, sequence: 2, now: wires.now)
        wires.run(until: wires.now + .milliseconds(100))
        #expect(r.statistics.ip6Forwarded == forwarded + 1, "A's ping through R", sourceLocation: sourceLocation)
        let solicitations = Hostile6.icmpv6(type: 135, in: Hostile6.ipv6Packets(r.sent(on: eth1)))
        #expect(solicitations.contains { Array($0[8..<24]) == Self.far.octets }, sourceLocation: sourceLocation)
    }
}

@Suite("Hostile IPv6: sources and destinations")
struct HostileIPv6AddressTests {
    typealias LAN = HostileLAN

    /// Feeds `count` echo requests from `source` to `destination` and returns what B sent back.
    static func flood(_ lan: LAN, from source: IPv6Address, to destination: IPv6Address,
                      count: Int) -> [(header: IPv6Header, packet: [UInt8])] {
        for sequence in 0..<count {
            lan.attack(Hostile6.echoRequest(from: source, to: destination, sequence: UInt16(sequence)))
        }
        return lan.takeSentByB()
    }

    @Test("1,000 echo requests with a multicast source are dropped as martians, none answered")
    func multicastSource() throws {
        let lan = LAN()
        let before = lan.b.statistics
        #expect(Self.flood(lan, from: .allNodes, to: LAN.b6, count: 500).isEmpty)
        #expect(Self.flood(lan, from: IPv6Address("ff05::2")!, to: LAN.b6, count: 500).isEmpty)
        #expect(lan.b.statistics.ip6InMartians == before.ip6InMartians + 1000)
        #expect(lan.b.statistics.ip6InDelivers == before.ip6InDelivers)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("1,000 echo requests with our own address as source (global or link-local) are dropped as martians")
    func ownAddressAsSource() throws {
        let lan = LAN()
        let linkLocal = try #require(lan.b.addresses6.first { $0.address.isLinkLocal }?.address)
        let before = lan.b.statistics
        #expect(Self.flood(lan, from: LAN.b6, to: LAN.b6, count: 500).isEmpty)
        #expect(Self.flood(lan, from: linkLocal, to: LAN.b6, count: 500).isEmpty)
        #expect(lan.b.statistics.ip6InMartians == before.ip6InMartians + 1000)
        #expect(lan.b.loopback.isEmpty, "nothing looped back to B itself")
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("::1 from a wire, as source or destination, is dropped as a martian")
    func loopbackFromWire() throws {
        let lan = LAN()
        let before = lan.b.statistics
        #expect(Self.flood(lan, from: .loopback, to: LAN.b6, count: 500).isEmpty)
        #expect(Self.flood(lan, from: LAN.attacker6, to: .loopback, count: 500).isEmpty)
        #expect(lan.b.statistics.ip6InMartians == before.ip6InMartians + 1000)
        #expect(lan.b.statistics.ip6InDelivers == before.ip6InDelivers)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("echo requests from :: (only NDP may use it, RFC 4862 §5.4) are dropped and counted, none answered")
    func unspecifiedSource() throws {
        let lan = LAN()
        let before = lan.b.statistics
        #expect(Self.flood(lan, from: .unspecified, to: LAN.b6, count: 500).isEmpty)
        #expect(lan.b.statistics.ip6InAddressErrors == before.ip6InAddressErrors + 500)
        expectBounded(lan.b)
        try lan.expectStillWorks()
    }

    @Test("a router does not forward to a link-local destination, nor from a link-local source")
    func linkLocalNotForwarded() throws {
        let lan = HostileRouterLAN()
        let before = lan.r.statistics
        for _ in 0..<100 {
            lan.attack(Hostile6.echoRequest(from: HostileLAN.attacker6, to: IPv6Address("fe80::9")!))
            lan.attack(Hostile6.echoRequest(from: HostileLAN.attackerLinkLocal, to: HostileRouterLAN.far))
        }
        #expect(lan.r.statistics.ip6Forwarded == before.ip6Forwarded)
        #expect(lan.r.statistics.ip6InAddressErrors == before.ip6InAddressErrors + 200)
        #expect(lan.r.sent(on: eth1).isEmpty)
        #expect(Hostile6.ipv6Packets(lan.r.sent(on: eth0)).isEmpty)
        expectBounded(lan.r)
        try lan.expectStillWorks()
    }

    @Test("10,000 packets to forward with hop limit 1: none forwarded, each counted, time exceeded at most the limiter's burst")
    func hopLimitOneForwarded() throws {
        let lan = HostileRouterLAN()
        // The attacker makes itself known to R, so that R's answers go out at once.
        lan.attack(Hostile6.ndp(.neighborSolicitation(target: HostileRouterLAN.r0),
                                options: NDPOptions(sourceLinkLayerAddress: HostileLAN.attackerMAC),
                                from: HostileLAN.attacker6, to: HostileRouterLAN.r0.solicitedNodeMulticast))
        _ = lan.r.sent(on: eth0)
        let before = lan.r.statistics
        var exceeded: [[UInt8]] = []
        for sequence in 0..<10_000 {
            lan.attack(Hostile6.echoRequest(from: HostileLAN.attacker6, to: HostileRouterLAN.far,
                                            sequence: UInt16(sequence), hopLimit: 1))
            if sequence % 500 == 499 { exceeded += Hostile6.icmpv6(type: 3, in: Hostile6.ipv6Packets(lan.r.sent(on: eth0))) }
        }
        #expect(exceeded.count > 0 && exceeded.count <= lan.r.config.icmpErrors.burst)
        #expect(exceeded.allSatisfy { $0[1] == 0 })  // code 0: hop limit exceeded in transit
        #expect(lan.r.statistics.icmp6RateLimited == before.icmp6RateLimited + 10_000 - exceeded.count)
        #expect(lan.r.statistics.ip6InHeaderErrors == before.ip6InHeaderErrors + 10_000)
        #expect(lan.r.statistics.ip6Forwarded == before.ip6Forwarded)
        #expect(lan.r.sent(on: eth1).isEmpty)
        expectBounded(lan.r)
        try lan.expectStillWorks()
    }
}
