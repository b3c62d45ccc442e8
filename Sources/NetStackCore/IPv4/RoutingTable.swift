public import NetStackWire

/// One row of the routing table.
public struct Route: Sendable, Equatable {
    /// Where the route leads: `0.0.0.0/0` is the default route.
    public var destination: IPv4Network
    /// The router to hand packets to; nil when the destination is on the link itself.
    public var gateway: IPv4Address?
    /// The interface packets leave by.
    public var interface: InterfaceID
    /// Preference among equally specific routes: lower wins.
    public var metric: Int
    /// How many packets have used this route (`route`'s Use column).
    public internal(set) var use = 0

    public init(destination: IPv4Network, gateway: IPv4Address? = nil, interface: InterfaceID, metric: Int = 0) {
        self.destination = destination
        self.gateway = gateway
        self.interface = interface
        self.metric = metric
    }

    /// `route`'s Flags column: U (up), G (via a gateway), H (a host route).
    public var flags: String {
        "U" + (gateway != nil ? "G" : "") + (destination.prefixLength == 32 ? "H" : "")
    }

    /// The address to resolve with ARP for `destination`: the gateway, or the destination itself.
    public func nextHop(for destination: IPv4Address) -> IPv4Address { gateway ?? destination }
}

/// The IPv4 routing table: longest-prefix match, then lowest metric.
///
/// A lookup scans the routes from the most specific prefix down (the table
/// is kept sorted), so it stops at the first match. Hosts have a handful of
/// routes; a router with thousands would want a trie here.
public struct RoutingTable: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route; a route to the same network through the same interface and gateway is replaced.
    public mutating func add(_ route: Route) {
        routes.removeAll {
            $0.destination == route.destination && $0.gateway == route.gateway && $0.interface == route.interface
        }
        routes.append(route)
        routes.sort {
            ($0.destination.prefixLength, -$0.metric) > ($1.destination.prefixLength, -$1.metric)
        }
    }

    /// Adds the default route through `gateway`.
    public mutating func setDefaultGateway(_ gateway: IPv4Address, interface: InterfaceID, metric: Int = 0) {
        add(Route(destination: IPv4Network(address: .any, prefixLength: 0), gateway: gateway,
                  interface: interface, metric: metric))
    }

    /// Removes every route matching `predicate`.
    public mutating func remove(where predicate: (Route) -> Bool) { routes.removeAll(where: predicate) }

    /// The best route to `destination`, or nil when none matches. Counts a use.
    @inline(__always)  // inlined, the caller's copy is the one read from the table
    public mutating func lookup(_ destination: IPv4Address) -> Route? {
        guard let index = routes.firstIndex(where: { $0.destination.contains(destination) }) else { return nil }
        // Read, then count: copying the row right after storing its count stalled the load.
        var route = routes[index]
        route.use += 1
        routes[index].use = route.use
        return route
    }

    /// The best route without counting a use.
    public func peek(_ destination: IPv4Address) -> Route? {
        routes.first { $0.destination.contains(destination) }
    }
}
