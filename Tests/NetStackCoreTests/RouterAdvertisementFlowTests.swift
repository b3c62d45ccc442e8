// How the host is meant to feed one router advertisement to the three IPv6 building blocks
// (RFC 4861 §6.3.4, RFC 4862 §5.5.3): the neighbour cache learns the router, the routing table
// its default route and on-link prefix, the address list a SLAAC address that then passes DAD.
// And the reverse: lifetime 0 and an advertisement without the R flag take the router away.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("A router advertisement through the neighbour cache, routing table and address list")
struct RouterAdvertisementFlowTests {
    let v0 = InterfaceID(0)
    let router = IPv6Address("fe80::1")!
    let routerMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
    let prefix = NDPPrefixInformation(prefix: IPv6Address("2001:db8:1::")!, prefixLength: 64, validLifetime: 86_400,
                                      preferredLifetime: 14_400)

    @Test("one RA gives a STALE router entry, a default route through it, the on-link prefix and a preferred address")
    func routerAdvertisementConfiguresTheHost() throws {
        var cache = NeighborCache(random: 0.5)
        var table = IPv6RoutingTable()
        let identifiers = StableInterfaceIdentifier(secretKey: [UInt8](repeating: 7, count: 16))
        var addresses = IPv6AddressList(identifiers: identifiers, netIface: [2, 0, 0, 0, 0, 0x0A])
        let advertisement = NDPRouterAdvertisement(routerLifetime: 1800, reachableTime: 20_000, retransmitTimer: 2_000)

        // What the host does on an RA from `router` with a source link-layer option and one prefix:
        cache.applyRouterAdvertisement(reachableTime: advertisement.reachableTime,
                                       retransTimer: advertisement.retransmitTimer, random: 0.5)
        _ = cache.learn(routerMAC, for: NeighborKey(router, on: v0), isRouter: true, now: .zero)
        table.applyRouterLifetime(advertisement.routerLifetime, from: router, interface: v0, now: .zero)
        table.applyPrefixInformation(prefix, interface: v0, now: .zero)
        let events = addresses.applyPrefixInformation(prefix, now: .zero, random: 0.25)

        #expect(cache.entry(NeighborKey(router, on: v0))?.state == .stale)
        #expect(cache.reachableTime == .seconds(20) && cache.config.retransTimer == .seconds(2))
        let route = try #require(table.peek(IPv6Address("2001:db8:99::1")!))
        #expect(route.gateway == router && route.flags == "UGDAe")
        #expect(table.peek(IPv6Address("2001:db8:1::5")!)?.gateway == nil)
        guard case let .added(address)? = events.first else { Issue.record("no SLAAC address"); return }
        #expect(table.peek(address)?.destination == prefix.network)
        #expect(addresses.due(now: .milliseconds(250)) == [.sendDADSolicitation(address)])
        #expect(addresses.due(now: .milliseconds(1250)) == [.becamePreferred(address)])
        // Sending off-link: the next hop is the router, its entry goes STALE → DELAY.
        let nextHop = route.nextHop(for: IPv6Address("2001:db8:99::1")!)
        #expect(cache.linkAddressForSending(to: NeighborKey(nextHop, on: v0), now: .seconds(2)) == routerMAC)
        #expect(cache.entry(NeighborKey(nextHop, on: v0))?.state == .delay)
    }

    @Test("an advertisement without the R flag, or a router lifetime of 0, takes the default route away")
    func routerWithdrawn() {
        var cache = NeighborCache(random: 0.5)
        var table = IPv6RoutingTable()
        let key = NeighborKey(router, on: v0)
        _ = cache.learn(routerMAC, for: key, isRouter: true, now: .zero)
        table.applyRouterLifetime(1800, from: router, interface: v0, now: .zero)
        let outcome = cache.advertisement(for: key, targetLinkAddress: routerMAC, router: false, solicited: false,
                                          override: true, now: .seconds(1))
        if outcome.stoppedBeingRouter { table.removeDefaultRoutes(via: router, interface: v0) }
        #expect(table.defaultRouters.isEmpty)
        table.applyRouterLifetime(1800, from: router, interface: v0, now: .seconds(2))
        table.applyRouterLifetime(0, from: router, interface: v0, now: .seconds(3))
        #expect(table.defaultRouters.isEmpty)
    }
}
