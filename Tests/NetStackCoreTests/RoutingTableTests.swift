// The routing table (the chapter's `route`): longest-prefix match, metric
// tie-break, connected routes, default gateway, no route, the Use counter.

import NetStackCore
import NetStackWire
import Testing

private func network(_ text: String) -> IPv4Network { IPv4Network(text)! }
private func address(_ text: String) -> IPv4Address { IPv4Address(text)! }

@Suite("Routing table")
struct RoutingTableTests {
    /// 10/8 via .1, 10.1/16 via .2, 10.1.2/24 on eth1, 10.1.2.3/32 via .3, default via .254.
    private func nested() -> RoutingTable {
        var table = RoutingTable()
        table.setDefaultGateway(address("192.0.2.254"), interface: eth0)
        table.add(Route(destination: network("10.1.2.0/24"), interface: eth1))
        table.add(Route(destination: network("10.0.0.0/8"), gateway: address("192.0.2.1"), interface: eth0))
        table.add(Route(destination: network("10.1.2.3/32"), gateway: address("192.0.2.3"), interface: eth0))
        table.add(Route(destination: network("10.1.0.0/16"), gateway: address("192.0.2.2"), interface: eth0))
        return table
    }

    @Test("the longest matching prefix wins, whatever the order routes were added in")
    func longestPrefixMatch() {
        var table = nested()
        #expect(table.lookup(address("10.1.2.3"))?.destination == network("10.1.2.3/32"))
        #expect(table.lookup(address("10.1.2.4"))?.destination == network("10.1.2.0/24"))
        #expect(table.lookup(address("10.1.3.4"))?.destination == network("10.1.0.0/16"))
        #expect(table.lookup(address("10.200.0.1"))?.destination == network("10.0.0.0/8"))
        #expect(table.lookup(address("11.0.0.1"))?.destination == network("0.0.0.0/0"))
    }

    @Test("the next hop is the gateway, or the destination itself on a connected network")
    func nextHop() {
        var table = nested()
        #expect(table.lookup(address("10.1.3.4"))?.nextHop(for: address("10.1.3.4")) == address("192.0.2.2"))
        #expect(table.lookup(address("10.1.2.9"))?.nextHop(for: address("10.1.2.9")) == address("10.1.2.9"))
        #expect(table.lookup(address("10.1.2.9"))?.interface == eth1)
    }

    @Test("among equally specific routes the lower metric wins, in either insertion order")
    func metricTieBreak() {
        let cheap = Route(destination: network("203.0.113.0/24"), gateway: address("192.0.2.5"), interface: eth0, metric: 5)
        let dear = Route(destination: network("203.0.113.0/24"), gateway: address("192.0.2.10"), interface: eth1, metric: 10)
        for order in [[cheap, dear], [dear, cheap]] {
            var table = RoutingTable()
            for route in order { table.add(route) }
            #expect(table.lookup(address("203.0.113.7"))?.gateway == address("192.0.2.5"))
        }
        // A more specific route wins even with a worse metric.
        var table = RoutingTable()
        table.add(cheap)
        table.add(Route(destination: network("203.0.113.0/25"), gateway: address("192.0.2.9"), interface: eth0, metric: 500))
        #expect(table.lookup(address("203.0.113.7"))?.gateway == address("192.0.2.9"))
        #expect(table.lookup(address("203.0.113.200"))?.gateway == address("192.0.2.5"))
    }

    @Test("with no matching route and no default, lookup finds nothing")
    func noRoute() {
        var table = RoutingTable()
        table.add(Route(destination: network("192.0.2.0/24"), interface: eth0))
        #expect(table.lookup(address("198.51.100.1")) == nil)
        #expect(table.peek(address("198.51.100.1")) == nil)
    }

    @Test("each lookup counts a use of the route it found; peek does not")
    func useCounter() {
        var table = nested()
        for _ in 0..<3 { _ = table.lookup(address("10.1.2.9")) }
        _ = table.peek(address("10.1.2.9"))
        _ = table.lookup(address("11.0.0.1"))
        let uses = Dictionary(uniqueKeysWithValues: table.routes.map { ($0.destination, $0.use) })
        #expect(uses[network("10.1.2.0/24")] == 3)
        #expect(uses[network("0.0.0.0/0")] == 1)
        #expect(uses[network("10.0.0.0/8")] == 0)
    }

    @Test("the route a lookup returns shows its use counted, as the table holds it")
    func returnedRouteShowsTheUse() throws {
        var table = nested()
        _ = table.lookup(address("10.1.2.9"))
        let found = table.lookup(address("10.1.2.9"))
        let route = try #require(found)
        #expect(route.use == 2)
        #expect(table.routes.first { $0.destination == route.destination } == route)
    }

    @Test("adding a route to the same network, gateway and interface replaces it")
    func addReplaces() {
        var table = RoutingTable()
        table.setDefaultGateway(address("192.0.2.254"), interface: eth0, metric: 100)
        table.setDefaultGateway(address("192.0.2.254"), interface: eth0, metric: 7)
        #expect(table.routes.count == 1)
        #expect(table.routes.first?.metric == 7)
        table.setDefaultGateway(address("192.0.2.253"), interface: eth0, metric: 3)
        #expect(table.routes.count == 2)
        #expect(table.lookup(address("8.8.8.8"))?.gateway == address("192.0.2.253"))
    }

    @Test("remove(where:) takes routes out")
    func removeRoutes() {
        var table = nested()
        table.remove { $0.gateway == nil }
        #expect(table.routes.count == 4)
        #expect(table.lookup(address("10.1.2.9"))?.destination == network("10.1.0.0/16"))
    }

    @Test("flags: U up, G via a gateway, H a host route")
    func flags() {
        #expect(Route(destination: network("192.0.2.0/24"), interface: eth0).flags == "U")
        #expect(Route(destination: network("0.0.0.0/0"), gateway: address("192.0.2.1"), interface: eth0).flags == "UG")
        #expect(Route(destination: network("192.0.2.7/32"), interface: eth0).flags == "UH")
        #expect(Route(destination: network("10.0.0.2/32"), gateway: address("192.0.2.1"), interface: eth0).flags == "UGH")
    }
}

@Suite("Routing in the host")
struct HostRoutingTests {
    @Test("assigning an address adds the connected route of its network")
    func connectedRoutes() {
        let host = makeRouter()
        #expect(host.routes.routes == [
            Route(destination: network("192.0.2.0/24"), interface: eth0),
            Route(destination: network("198.51.100.0/24"), interface: eth1),
        ])
    }

    @Test("a datagram off the connected networks goes to the default gateway's MAC address")
    func defaultGateway() throws {
        let host = makeHost("A", [.a])
        host.setDefaultGateway(Lab.ipR0, interface: eth0)
        host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
        let socket = host.udpOpen()
        try host.udpSend(socket, [1], to: Endpoint(address("203.0.113.9"), 53), now: .zero)
        let frame = try Frame(try #require(host.sent().first))
        #expect(frame.ethernet.destination == Lab.macR0)
        #expect(try frame.ip().destination == address("203.0.113.9"))
        #expect(try frame.ip().source == Lab.ipA)
    }

    @Test("a host route beats the default route; the lower-metric default beats the other")
    func specificRouteAndMetricInHost() throws {
        let host = makeHost("A", [.a])
        host.setDefaultGateway(Lab.ipR0, interface: eth0, metric: 100)
        host.setDefaultGateway(address("192.0.2.253"), interface: eth0, metric: 10)
        host.addRoute(Route(destination: network("203.0.113.9/32"), gateway: address("192.0.2.252"), interface: eth0))
        let socket = host.udpOpen()
        try host.udpSend(socket, [1], to: Endpoint(address("203.0.113.9"), 53), now: .zero)
        try host.udpSend(socket, [2], to: Endpoint(address("203.0.113.10"), 53), now: .zero)
        let asked = try host.sent().map { try Frame($0).arp().targetIP }
        #expect(asked == [address("192.0.2.252"), address("192.0.2.253")])
    }

    @Test("no route: udpSend and ping throw ENETUNREACH, nothing is sent, outNoRoutes counts")
    func noRouteInHost() throws {
        let host = makeHost("A", [.a])
        let socket = host.udpOpen()
        #expect(throws: NetError.networkUnreachable) {
            try host.udpSend(socket, [1], to: Endpoint(address("203.0.113.9"), 53), now: .zero)
        }
        let ping = try host.openPing(identifier: 1)
        #expect(throws: NetError.networkUnreachable) {
            try host.ping(ping, to: address("203.0.113.9"), sequence: 1, now: .zero)
        }
        #expect(host.sent().isEmpty)
        #expect(host.statistics.outNoRoutes == 2)
        #expect(host.statistics.outRequests == 0)
    }

    @Test("every datagram sent counts one use of its route")
    func useCountedBySending() throws {
        let host = makeHost("A", [.a])
        host.setDefaultGateway(Lab.ipR0, interface: eth0)
        let socket = host.udpOpen()
        for _ in 0..<3 { try host.udpSend(socket, [1], to: Endpoint(Lab.ipR0, 9), now: .zero) }
        try host.udpSend(socket, [1], to: Endpoint(address("203.0.113.9"), 9), now: .zero)
        let uses = Dictionary(uniqueKeysWithValues: host.routes.routes.map { ($0.destination, $0.use) })
        #expect(uses[network("192.0.2.0/24")] == 3)
        #expect(uses[network("0.0.0.0/0")] == 1)
    }
}
