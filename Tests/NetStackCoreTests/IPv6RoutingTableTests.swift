// The IPv6 routing table: longest-prefix match, metric tie-break, the Use counter, routes
// learnt from router advertisements with their lifetimes (RFC 4861 §6.3.4), and `route -6 -n`.

@testable import NetStackCore
import NetStackWire
import Testing

private func network(_ text: String) -> IPv6Network { IPv6Network(text)! }
private func address(_ text: String) -> IPv6Address { IPv6Address(text)! }
private let v0 = InterfaceID(0)
private let lo = InterfaceID(1)
private let router = address("fe80::1")

@Suite("IPv6 routing table")
struct IPv6RoutingTableTests {
    /// ::/0 via 2001:db8:1::1, 2001:db8::/32 via ::a, 2001:db8:5::/48 via ::9, 2001:db8:5:1::/64 on link.
    private func nested() -> IPv6RoutingTable {
        var table = IPv6RoutingTable()
        table.setDefaultGateway(address("2001:db8:1::1"), interface: v0)
        table.add(IPv6Route(destination: network("2001:db8:5:1::/64"), interface: v0, metric: 256))
        table.add(IPv6Route(destination: network("2001:db8::/32"), gateway: address("2001:db8:1::a"), interface: v0))
        table.add(IPv6Route(destination: network("2001:db8:5::/48"), gateway: address("2001:db8:1::9"), interface: v0))
        return table
    }

    @Test("the longest matching prefix wins, whatever the order routes were added in")
    func longestPrefixMatch() {
        var table = nested()
        #expect(table.lookup(address("2001:db8:5:1::7"))?.destination == network("2001:db8:5:1::/64"))
        #expect(table.lookup(address("2001:db8:5:2::7"))?.destination == network("2001:db8:5::/48"))
        #expect(table.lookup(address("2001:db8:6::7"))?.destination == network("2001:db8::/32"))
        #expect(table.lookup(address("2001:db9::7"))?.destination.prefixLength == 0)
    }

    @Test("a repeated lookup follows every change of the rows: routes added before it, removed, expired, the table shrunk")
    func repeatedLookupFollowsChanges() {
        var table = nested()  // 5:1::/64, 5::/48, ::/32, ::/0, in that order
        let destination = address("2001:db8:6::7")
        #expect(table.lookup(destination)?.destination == network("2001:db8::/32"))
        #expect(table.lookup(destination)?.use == 2, "the cached row's use is counted as any other")
        // A /48 elsewhere sorts before the /32: the row the last lookup found moves down one.
        table.add(IPv6Route(destination: network("2001:db8:7::/48"), interface: v0, metric: 256))
        #expect(table.lookup(destination)?.destination == network("2001:db8::/32"))
        // Two rows before it go: it moves up two.
        table.remove { $0.destination == network("2001:db8:7::/48") || $0.destination == network("2001:db8:5::/48") }
        #expect(table.lookup(destination)?.destination == network("2001:db8::/32"))
        // A longer prefix for the destination itself, then its expiry.
        var expiring = IPv6Route(destination: network("2001:db8:6::/48"), interface: v0, metric: 256)
        expiring.expires = Instant(nanoseconds: 1_000)
        table.add(expiring)
        #expect(table.lookup(destination)?.destination == network("2001:db8:6::/48"))
        #expect(table.removeExpired(now: Instant(nanoseconds: 2_000)).count == 1)
        #expect(table.lookup(destination)?.destination == network("2001:db8::/32"))
        // The table shrinks below the cached index.
        table.remove { $0.destination.prefixLength > 0 }
        #expect(table.lookup(destination)?.destination.prefixLength == 0)
        table.remove { _ in true }
        #expect(table.lookup(destination) == nil)
    }

    @Test("a repeated lookup through a default route still passes over a router that turned suspect, and a more specific route added later wins")
    func cachedDefaultRouteStillSelectsRouters() {
        var table = IPv6RoutingTable()
        table.setDefaultGateway(address("fe80::1"), interface: v0)
        table.setDefaultGateway(address("fe80::2"), interface: v0)
        let destination = address("2001:db8:9::1")
        #expect(table.lookup(destination, avoiding: { _, _ in false })?.gateway == address("fe80::1"))
        #expect(table.lookup(destination, avoiding: { router, _ in router == address("fe80::1") })?.gateway == address("fe80::2"))
        #expect(table.lookup(destination, avoiding: { _, _ in false })?.gateway == address("fe80::1"))
        table.add(IPv6Route(destination: network("2001:db8:9::/48"), interface: v0, metric: 256))
        #expect(table.lookup(destination, avoiding: { _, _ in false })?.destination == network("2001:db8:9::/48"))
    }

    @Test("among equally long prefixes the lowest metric wins; a later equal metric does not displace the first")
    func metricBreaksTies() {
        var table = IPv6RoutingTable()
        table.add(IPv6Route(destination: network("2001:db8:5::/48"), gateway: address("2001:db8:1::3"), interface: v0,
                            metric: 20))
        table.add(IPv6Route(destination: network("2001:db8:5::/48"), gateway: address("2001:db8:1::1"), interface: v0,
                            metric: 10))
        table.add(IPv6Route(destination: network("2001:db8:5::/48"), gateway: address("2001:db8:1::2"), interface: v0,
                            metric: 10))
        #expect(table.peek(address("2001:db8:5::1"))?.gateway == address("2001:db8:1::1"))
    }

    @Test("the next hop is the gateway, or the destination itself on the link")
    func nextHop() {
        let table = nested()
        #expect(table.peek(address("2001:db8:5:1::7"))?.nextHop(for: address("2001:db8:5:1::7"))
            == address("2001:db8:5:1::7"))
        #expect(table.peek(address("2001:db8:5:2::7"))?.nextHop(for: address("2001:db8:5:2::7"))
            == address("2001:db8:1::9"))
    }

    @Test("no matching route gives nil; lookup counts a use, peek does not, replacing a route keeps its count")
    func noRouteAndUseCounter() {
        var table = IPv6RoutingTable()
        table.add(IPv6Route(destination: network("2001:db8:1::/64"), interface: v0))
        #expect(table.lookup(address("2001:db8:2::1")) == nil)
        _ = table.lookup(address("2001:db8:1::5"))
        _ = table.lookup(address("2001:db8:1::6"))
        _ = table.peek(address("2001:db8:1::6"))
        #expect(table.routes[0].use == 2)
        table.add(IPv6Route(destination: network("2001:db8:1::/64"), interface: v0, metric: 5))
        #expect(table.routes.count == 1 && table.routes[0].use == 2 && table.routes[0].metric == 5)
    }

    @Test("an RA's router lifetime adds a default route that expires; lifetime 0 removes it at once")
    func routerLifetime() {
        var table = IPv6RoutingTable()
        table.applyRouterLifetime(1800, from: router, interface: v0, now: .seconds(10))
        #expect(table.defaultRouters.map(\.router) == [router])
        #expect(table.peek(address("2001:db8::1"))?.flags == "UGDAe")
        #expect(table.nextExpiry == .seconds(1810))
        #expect(table.removeExpired(now: .seconds(1809)).isEmpty)
        table.applyRouterLifetime(60, from: router, interface: v0, now: .seconds(1800))  // refreshed, shorter
        #expect(table.routes.count == 1 && table.nextExpiry == .seconds(1860))
        table.applyRouterLifetime(0, from: router, interface: v0, now: .seconds(1801))
        #expect(table.routes.isEmpty)
        table.applyRouterLifetime(30, from: router, interface: v0, now: .zero)
        #expect(table.removeExpired(now: .seconds(30)).count == 1 && table.routes.isEmpty)
    }

    @Test("default router selection prefers a router the neighbour cache knows over one still INCOMPLETE (RFC 4861 §6.3.6)")
    func defaultRouterSelection() {
        var table = IPv6RoutingTable()
        let second = address("fe80::2")
        table.applyRouterLifetime(1800, from: router, interface: v0, now: .zero)
        table.applyRouterLifetime(1800, from: second, interface: v0, now: .zero)
        table.add(IPv6Route(destination: network("2001:db8:1::/64"), interface: v0, metric: 256))
        var cache = NeighborCache(random: 0.5)
        _ = cache.enqueue([0], forwarded: false, for: NeighborKey(router, on: v0), now: .zero)  // INCOMPLETE
        _ = cache.learn(MACAddress(2, 0, 0, 0, 0, 2), for: NeighborKey(second, on: v0), isRouter: true, now: .zero)
        let suspect = { (gateway: IPv6Address, interface: InterfaceID) in
            !cache.isProbablyReachable(NeighborKey(gateway, on: interface))
        }
        #expect(table.lookup(address("2001:db8:9::1"), avoiding: suspect)?.gateway == second)
        #expect(table.lookup(address("2001:db8:1::5"), avoiding: suspect)?.gateway == nil)  // on-link: untouched
        #expect(table.lookup(address("2001:db8:9::1"), avoiding: { _, _ in true })?.gateway == router)
        #expect(table.lookup(address("2001:db8:9::1"), avoiding: { _, _ in false })?.gateway == router)
        #expect(table.defaultRouters.map(\.router) == [router, second])
    }

    @Test("a router whose IsRouter flag went false loses its default routes only")
    func routerFlagClearedRemovesDefaultRoute() {
        var table = IPv6RoutingTable()
        table.applyRouterLifetime(1800, from: router, interface: v0, now: .zero)
        table.applyRouterLifetime(1800, from: address("fe80::2"), interface: v0, now: .zero)
        table.add(IPv6Route(destination: network("2001:db8:9::/48"), gateway: router, interface: v0))
        #expect(table.removeDefaultRoutes(via: router, interface: v0) == 1)
        #expect(table.defaultRouters.map(\.router) == [address("fe80::2")])
        #expect(table.routes.count == 2)
    }

    @Test("an on-link prefix option adds a prefix route for its valid lifetime; L clear, link-local and 0 as RFC 4861 says")
    func prefixInformation() {
        var table = IPv6RoutingTable()
        let prefix = NDPPrefixInformation(prefix: address("2001:db8:1::"), prefixLength: 64, validLifetime: 86_400,
                                          preferredLifetime: 14_400)
        table.applyPrefixInformation(prefix, interface: v0, now: .zero)
        #expect(table.peek(address("2001:db8:1::99"))?.gateway == nil)
        #expect(table.routes.first?.flags == "UAe" && table.routes.first?.metric == 256)
        var forever = prefix
        forever.validLifetime = .max
        table.applyPrefixInformation(forever, interface: v0, now: .zero)
        #expect(table.routes.count == 1 && table.nextExpiry == nil)
        var offLink = NDPPrefixInformation(prefix: address("2001:db8:2::"), prefixLength: 64, onLink: false,
                                           validLifetime: 100, preferredLifetime: 50)
        table.applyPrefixInformation(offLink, interface: v0, now: .zero)
        offLink = NDPPrefixInformation(prefix: address("fe80::"), prefixLength: 64, validLifetime: 100,
                                       preferredLifetime: 50)
        table.applyPrefixInformation(offLink, interface: v0, now: .zero)
        #expect(table.routes.count == 1)
        var gone = prefix
        gone.validLifetime = 0
        table.applyPrefixInformation(gone, interface: v0, now: .seconds(5))
        #expect(table.routes.isEmpty)
    }

    @Test("a flood of advertised prefixes and routers stops at maxLearnedRoutes; refreshing a known one still works")
    func learnedRoutesBounded() {
        var table = IPv6RoutingTable()
        table.add(IPv6Route(destination: network("2001:db8:ffff::/64"), interface: v0))
        for index in 0..<1_000 {
            let prefix = IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(index) << 16, low: 0)
            table.applyPrefixInformation(NDPPrefixInformation(prefix: prefix, prefixLength: 64, validLifetime: 600,
                                                              preferredLifetime: 300), interface: v0, now: .zero)
            table.applyRouterLifetime(1800, from: IPv6Address(high: 0xfe80_0000_0000_0000, low: UInt64(index) + 1),
                                      interface: v0, now: .zero)
        }
        #expect(table.routes.count == table.maxLearnedRoutes + 1)
        table.applyRouterLifetime(60, from: address("fe80::1"), interface: v0, now: .zero)
        #expect(table.defaultRouters.first { $0.router == address("fe80::1") }?.expires == .seconds(60))
        #expect(table.routes.count == table.maxLearnedRoutes + 1)
    }

    @Test("route -6 -n's columns match Linux's output for the same routes (rows in lookup order)")
    func routeTextMatchesLinux() {
        // From `route -6 -n` (net-tools 2.10, Linux 6.18) in a namespace with these routes
        // (`ip -6 route add …`); the kernel's own local, multicast and fe80 rows left out, and
        // the Ref column (the kernel's reference counts: 3, 2, 1, 1, 1) set to NetStack's 0.
        // Linux lists rows in its trie's order; NetStack in lookup order (longest prefix first),
        // so the rows are compared as a set and the order checked apart.
        let linux = """
            Kernel IPv6 routing table
            Destination                    Next Hop                   Flag Met Ref  Use If
            2001:db8:1::/64                ::                         U    256 0      0 v0
            2001:db8:5::/48                2001:db8:1::9              UG   5   0      0 v0
            2001:db8:7::1/128              ::                         U    1024 0      0 v0
            2001:db8:66::/64               ::                         !n   1024 0      0 lo
            ::/0                           2001:db8:1::1              UG   1024 0      0 v0
            """
        var table = IPv6RoutingTable()
        table.add(IPv6Route(destination: network("2001:db8:1::/64"), interface: v0, metric: 256))
        table.add(IPv6Route(destination: network("2001:db8:5::/48"), gateway: address("2001:db8:1::9"), interface: v0,
                            metric: 5))
        table.add(IPv6Route(destination: network("2001:db8:7::1/128"), interface: v0))
        table.add(IPv6Route(destination: network("2001:db8:66::/64"), interface: lo, isReject: true))
        table.setDefaultGateway(address("2001:db8:1::1"), interface: v0)
        let text = table.routeText { $0 == v0 ? "v0" : "lo" }.split(separator: "\n")
        let expected = linux.split(separator: "\n")
        #expect(text.prefix(2) == expected.prefix(2))
        #expect(text.dropFirst(2).sorted() == expected.dropFirst(2).sorted())
        #expect(text[2].hasPrefix("2001:db8:7::1/128 ") && text.last?.hasPrefix("::/0 ") == true)
    }

    @Test("routes learnt from a router advertisement print as Linux prints them (UAe, UGDAe)")
    func learnedRoutesMatchLinux() {
        // `route -6 -n` in a namespace after one RA (router lifetime 1800 s, prefix
        // 2001:db8:1::/64 with L and A) reached v0 (accept_ra 2); Ref set to NetStack's 0.
        let linux = [
            "2001:db8:1::/64                ::                         UAe  256 0      0 v0",
            "::/0                           fe80::e4b5:4aff:fee8:a4cc  UGDAe 1024 0      0 v0",
        ]
        var table = IPv6RoutingTable()
        table.applyRouterLifetime(1800, from: address("fe80::e4b5:4aff:fee8:a4cc"), interface: v0, now: .zero)
        table.applyPrefixInformation(NDPPrefixInformation(prefix: address("2001:db8:1::"), prefixLength: 64,
                                                          validLifetime: 86_400, preferredLifetime: 14_400),
                                     interface: v0, now: .zero)
        #expect(table.routeText { _ in "v0" }.split(separator: "\n").dropFirst(2).map(String.init) == linux)
    }
}
