// RDNSS (RFC 8106): the recursive DNS servers a router advertisement names become the
// resolver's nameservers when none were set otherwise, for their lifetime (§5.3.1; lifetime 0
// withdraws them, §6.2), at most three of them.

import NetStackCore
import NetStackWire
import Testing

/// Host A (2001:db8::1/64, DAD off, no nameserver unless `configure` sets one) hearing router
/// fe80::1's advertisements.
struct AdvertisedDNS {
    static let router = IPv6Address("fe80::1")!
    static let server = IPv6Address("2001:db8::53")!

    let host: Host

    init(configure: (inout HostConfig) -> Void = { _ in }) {
        host = makeHost("A", [Port("eth0", Lab.macA, nil)]) {
            $0.ipv6.addresses.dupAddrDetectTransmits = 0
            configure(&$0)
        }
        host.assign(IPv6Address("2001:db8::1")!, prefixLength: 64, to: eth0, now: .zero)
        host.drain()
    }

    /// A router advertisement (router lifetime 1800 s) with one RDNSS option listing `servers` for `lifetime` seconds.
    static func advertisement(_ servers: [IPv6Address] = [server], lifetime: UInt32) -> [UInt8] {
        let packet = Hostile6.ndp(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: 1800)),
                                  options: NDPOptions(sourceLinkLayerAddress: Lab.macR0,
                                                      recursiveDNSServers: [NDPRecursiveDNSServers(lifetime: lifetime,
                                                                                                   servers: servers)]),
                                  from: router, to: .allNodes)
        return Build.ethernet(to: IPv6Address.allNodes.multicastMAC, from: Lab.macR0, type: .ipv6, packet)
    }

    /// The servers the resolver sent queries to while it looked up a name at `now`, and how the lookup stands.
    func lookUp(now: Instant) throws -> (servers: [IPAddress], state: ResolutionState?) {
        var servers: [IPAddress] = []
        host.observer = { event in
            if case let .resolverQuerySent(_, _, _, server, _) = event { servers.append(server) }
        }
        defer { host.observer = nil }
        let id = try host.resolve("www.example.test", type: .aaaa, now: now)
        return (servers, host.resolution(id))
    }
}

@Suite("RDNSS: DNS servers from router advertisements (RFC 8106)")
struct RecursiveDNSServerTests {
    typealias Lab6 = AdvertisedDNS

    @Test("an RA's RDNSS server becomes the nameserver, and a lookup asks it")
    func advertisedServerAsked() throws {
        let lab = Lab6()
        lab.host.feed(Lab6.advertisement(lifetime: 600), at: .seconds(1))
        #expect(lab.host.resolverConfig.nameservers == [.v6(Lab6.server)])
        let lookup = try lab.lookUp(now: .seconds(2))
        #expect(lookup.servers == [.v6(Lab6.server)])
        #expect(lookup.state == .pending)
    }

    @Test("when its lifetime runs out the server is removed, and a lookup finds no nameserver")
    func lifetimeExpiry() throws {
        let lab = Lab6()
        lab.host.feed(Lab6.advertisement(lifetime: 10), at: .seconds(1))
        _ = lab.host.run(until: .seconds(10))
        #expect(lab.host.resolverConfig.nameservers == [.v6(Lab6.server)])
        _ = lab.host.run(until: .seconds(12))
        #expect(lab.host.resolverConfig.nameservers.isEmpty)
        #expect(lab.host.recursiveDNSServers6.isEmpty)
        #expect(try lab.lookUp(now: .seconds(12)).state == .failed(.noNameserver))
    }

    @Test("a later RA with lifetime 0 withdraws the server at once")
    func lifetimeZeroWithdraws() throws {
        let lab = Lab6()
        lab.host.feed(Lab6.advertisement(lifetime: 600), at: .seconds(1))
        lab.host.feed(Lab6.advertisement(lifetime: 0), at: .seconds(2))
        #expect(lab.host.resolverConfig.nameservers.isEmpty)
    }

    @Test("nameservers set by hand are kept: the advertised server is only listed")
    func configuredNameserversWin() throws {
        let lab = Lab6 { $0.resolver.nameservers = [.v4(IPv4Address(192, 0, 2, 53))] }
        lab.host.feed(Lab6.advertisement(lifetime: 600), at: .seconds(1))
        #expect(lab.host.resolverConfig.nameservers == [.v4(IPv4Address(192, 0, 2, 53))])
        #expect(lab.host.recursiveDNSServers6.map(\.address) == [Lab6.server])
    }

    @Test("nameservers emptied by hand are filled again from the next advertisement")
    func emptiedNameserversRefilled() throws {
        let lab = Lab6 { $0.resolver.nameservers = [.v4(IPv4Address(192, 0, 2, 53))] }
        lab.host.feed(Lab6.advertisement(lifetime: 600), at: .seconds(1))
        var resolver = lab.host.resolverConfig
        resolver.nameservers = []
        lab.host.resolverConfig = resolver
        lab.host.feed(Lab6.advertisement(lifetime: 600), at: .seconds(2))
        #expect(lab.host.resolverConfig.nameservers == [.v6(Lab6.server)])
    }

    @Test("at most three servers are kept; multicast and unspecified addresses are not servers")
    func bounded() throws {
        let lab = Lab6()
        let many = (1...5).map { IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, UInt16(0x50 + $0)) }
        lab.host.feed(Lab6.advertisement([.allNodes, .unspecified] + many, lifetime: 600), at: .seconds(1))
        #expect(lab.host.recursiveDNSServers6.count == 3)
        #expect(lab.host.resolverConfig.nameservers.count == 3)
        #expect(!lab.host.resolverConfig.nameservers.contains(.v6(.allNodes)))
        #expect(!lab.host.resolverConfig.nameservers.contains(.v6(.unspecified)))
    }
}
