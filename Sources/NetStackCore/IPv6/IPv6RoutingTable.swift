// The IPv6 routing table, with the default router list and the on-link prefix list that
// router advertisements feed (RFC 4861 §6.3.4, §5.2 next-hop determination; RFC 4191 is not
// applied: every router has the same preference). The IPv4 table (IPv4/RoutingTable.swift)
// has the same shape: routes kept sorted, `lookup` counts a use, `peek` does not.

public import NetStackWire

/// One row of the IPv6 routing table.
public struct IPv6Route: Sendable, Equatable {
    /// Where a route came from: `route -6`'s A flag marks the ones learnt from router advertisements.
    public enum Origin: Sendable, Equatable {
        /// Added by hand or by the host's own configuration.
        case configured
        /// A default route (router lifetime) or an on-link prefix (valid lifetime) from an RA.
        case routerAdvertisement
    }

    /// Where the route leads: `::/0` is the default route.
    public var destination: IPv6Network
    /// The router to hand packets to (the next hop); nil when the destination is on the link.
    public var gateway: IPv6Address?
    /// The interface packets leave by.
    public var interface: InterfaceID
    /// Preference among equally specific routes: lower wins (Linux: 1024 for RA default
    /// routes and hand-made ones, 256 for prefixes on a link).
    public var metric: Int
    /// Packets to the destination are refused (`ip -6 route add unreachable`; flag `!`).
    public var isReject: Bool
    /// Configured, or learnt from a router advertisement.
    public var origin: Origin
    /// When the route stops being valid; nil for ever (flag `e` when set).
    public var expires: Instant?
    /// How many packets have used this route (`route -6`'s Use column).
    public internal(set) var use = 0

    /// A route; by default configured, up, for ever, with Linux's metric for hand-made routes.
    public init(destination: IPv6Network, gateway: IPv6Address? = nil, interface: InterfaceID, metric: Int = 1024,
                isReject: Bool = false, origin: Origin = .configured, expires: Instant? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.interface = interface
        self.metric = metric
        self.isReject = isReject
        self.origin = origin
        self.expires = expires
    }

    /// `route -6`'s Flag column in net-tools' order: U up (absent on reject routes), `!` reject,
    /// G via a gateway, D default route from an RA, A learnt from an RA, e expires, n no next
    /// hop. Checked against Linux 6.18: RA routes read `UAe` and `UGDAe`, unreachable ones `!n`.
    public var flags: String {
        var flags = isReject ? "!" : "U"
        if gateway != nil { flags += "G" }
        if origin == .routerAdvertisement {
            if destination.prefixLength == 0 { flags += "D" }
            flags += "A"
        }
        if expires != nil { flags += "e" }
        if isReject { flags += "n" }
        return flags
    }

    /// The address to resolve with neighbour discovery for `destination`: the gateway, or
    /// the destination itself when it is on the link (§5.2).
    public func nextHop(for destination: IPv6Address) -> IPv6Address { gateway ?? destination }
}

/// The IPv6 routing table: longest-prefix match, then lowest metric; among equal ones, the
/// first added.
///
/// A lookup scans the routes from the most specific prefix down (the table is kept sorted),
/// so it stops at the first match and allocates nothing. Hosts have a handful of routes; a
/// router with thousands would want a trie. Routes learnt from router advertisements carry
/// an expiry; the host calls ``removeExpired(now:)`` at ``nextExpiry`` (an O(n) scan each).
public struct IPv6RoutingTable: Sendable {
    /// The routes in lookup order: longest prefix first, then lowest metric, then oldest.
    public private(set) var routes: [IPv6Route] = []

    /// The last lookup's first match: the destination and the index of the route that contains
    /// it, reused while the destination repeats (a connection's every segment asks for the same
    /// one). Cleared by every change to the rows (a use count is not one). Default router
    /// selection runs after it, on every lookup, so a cached default route still gives way to
    /// another when its router turns suspect.
    private var lastLookup: (destination: IPv6Address, index: Int)?

    /// Linux's metric for RA default routes.
    public static let routerMetric = 1024
    /// Linux's metric for a prefix on the link.
    public static let prefixMetric = 256

    /// Routes learnt from router advertisements held at most (default routes and prefixes
    /// together): a flood of spoofed RAs or prefix options adds no more. Linux bounds its
    /// table only loosely (route/max_size); 64 is far above what a real link advertises.
    public var maxLearnedRoutes = 64
    /// New routes from router advertisements refused because ``maxLearnedRoutes`` were held.
    public private(set) var learnedRoutesRefused = 0

    /// An empty table.
    public init() {}

    /// Adds a route; one to the same network through the same interface and gateway is replaced
    /// (its Use count kept). O(n log n).
    public mutating func add(_ route: IPv6Route) {
        lastLookup = nil
        var route = route
        if let old = routes.firstIndex(where: { $0.sameKey(as: route) }) {
            route.use = routes[old].use
            routes.remove(at: old)
        }
        // Insert after every route that sorts before or equal: stable among equals.
        let index = routes.firstIndex {
            ($0.destination.prefixLength, -$0.metric) < (route.destination.prefixLength, -route.metric)
        } ?? routes.endIndex
        routes.insert(route, at: index)
    }

    /// Adds the default route through `gateway`.
    public mutating func setDefaultGateway(_ gateway: IPv6Address, interface: InterfaceID,
                                           metric: Int = IPv6RoutingTable.routerMetric) {
        add(IPv6Route(destination: IPv6Network(address: .unspecified, prefixLength: 0), gateway: gateway,
                      interface: interface, metric: metric))
    }

    /// Removes every route matching `predicate`. O(n).
    public mutating func remove(where predicate: (IPv6Route) -> Bool) {
        lastLookup = nil
        routes.removeAll(where: predicate)
    }

    /// The best route to `destination`, or nil when none matches (a reject route is returned:
    /// the caller refuses the packet). Counts a use. O(n) at worst, no allocation.
    public mutating func lookup(_ destination: IPv6Address) -> IPv6Route? {
        guard let index = matchIndex(destination) else { return nil }
        // Read, then count: copying the row right after storing its count stalled the load.
        var route = routes[index]
        route.use += 1
        routes[index].use = route.use
        return route
    }

    /// `lookup` with RFC 4861 §6.3.6's default router selection: when the best route is a
    /// default route through a router `isSuspect` flags (its neighbour entry is missing or
    /// INCOMPLETE: see `NeighborCache.isProbablyReachable`), the next default route through a
    /// router not flagged is taken instead; if every one is flagged, the best route stands.
    /// Counts a use when `countingUse`. O(n) at worst, one pass over the table; `isSuspect` is
    /// called once per default route looked at, and never when a more specific route matches.
    public mutating func lookup(_ destination: IPv6Address, countingUse: Bool = true,
                                avoiding isSuspect: (IPv6Address, InterfaceID) -> Bool) -> IPv6Route? {
        guard var index = matchIndex(destination) else { return nil }
        if routes[index].destination.prefixLength == 0, let router = routes[index].gateway,
           isSuspect(router, routes[index].interface),
           let better = routes[(index + 1)...].firstIndex(where: { candidate in
               guard candidate.destination.prefixLength == 0, let gateway = candidate.gateway else { return false }
               return !isSuspect(gateway, candidate.interface)
           }) {
            index = better
        }
        var route = routes[index]  // read, then count, as above
        if countingUse {
            route.use += 1
            routes[index].use = route.use
        }
        return route
    }

    /// The index of the first route that contains `destination` (the longest prefix, then the
    /// lowest metric): the cached one when `destination` is the last one looked up, else one scan.
    @inline(__always)
    private mutating func matchIndex(_ destination: IPv6Address) -> Int? {
        if let last = lastLookup, last.destination == destination { return last.index }
        guard let index = routes.firstIndex(where: { $0.destination.contains(destination) }) else { return nil }
        lastLookup = (destination, index)
        return index
    }

    /// The best route without counting a use.
    public func peek(_ destination: IPv6Address) -> IPv6Route? {
        routes.first { $0.destination.contains(destination) }
    }

    // MARK: Router advertisements (RFC 4861 §6.3.4)

    /// The default router list: routers whose RA default routes are live, best first.
    public var defaultRouters: [(router: IPv6Address, interface: InterfaceID, expires: Instant?)] {
        routes.compactMap { route in
            guard route.origin == .routerAdvertisement, route.destination.prefixLength == 0,
                  let router = route.gateway else { return nil }
            return (router, route.interface, route.expires)
        }
    }

    /// Applies an RA's Router Lifetime (seconds) from `router` (its link-local source): a
    /// non-zero lifetime adds or refreshes the default route through it until now + lifetime;
    /// zero removes it at once. O(n log n).
    public mutating func applyRouterLifetime(_ seconds: UInt16, from router: IPv6Address, interface: InterfaceID,
                                             now: Instant) {
        let route = IPv6Route(destination: IPv6Network(address: .unspecified, prefixLength: 0), gateway: router,
                              interface: interface, metric: Self.routerMetric, origin: .routerAdvertisement,
                              expires: now + .seconds(Int(seconds)))
        if seconds == 0 {
            remove { $0.origin == .routerAdvertisement && $0.sameKey(as: route) }
        } else {
            addLearned(route)
        }
    }

    /// Applies a Prefix Information option's on-link part (§6.3.4): with the L flag, a
    /// prefix that is not link-local is added to (or refreshed in) the prefix list with its
    /// valid lifetime (0xFFFFFFFF: for ever); a valid lifetime of 0 removes it. Without the L
    /// flag nothing changes (it says nothing about on-link). A prefix configured by hand is
    /// not overridden. O(n log n).
    public mutating func applyPrefixInformation(_ option: NDPPrefixInformation, interface: InterfaceID,
                                                now: Instant) {
        let network = option.network
        guard option.onLink, !network.address.isLinkLocal, !network.address.isMulticast,
              option.prefixLength <= 128 else { return }
        if routes.contains(where: { $0.origin == .configured && $0.destination == network && $0.gateway == nil
                                        && $0.interface == interface }) { return }
        let expires: Instant? = option.validLifetime == .max ? nil : now + .seconds(Int(option.validLifetime))
        let route = IPv6Route(destination: network, interface: interface, metric: Self.prefixMetric,
                              origin: .routerAdvertisement, expires: expires)
        if option.validLifetime == 0 {
            remove { $0.origin == .routerAdvertisement && $0.sameKey(as: route) }
        } else {
            addLearned(route)
        }
    }

    /// Adds or refreshes a route learnt from an RA; a new one is refused when
    /// ``maxLearnedRoutes`` are held already. O(n log n).
    private mutating func addLearned(_ route: IPv6Route) {
        var learned = 0
        for existing in routes where existing.origin == .routerAdvertisement {
            if existing.sameKey(as: route) {
                add(route)
                return
            }
            learned += 1
        }
        if learned < maxLearnedRoutes { add(route) } else { learnedRoutesRefused += 1 }
    }

    /// Removes the default routes through `router` (its IsRouter flag went false, §7.2.5,
    /// or it became unreachable and the host gives up on it). Returns how many went. O(n).
    @discardableResult
    public mutating func removeDefaultRoutes(via router: IPv6Address, interface: InterfaceID) -> Int {
        let before = routes.count
        remove { $0.destination.prefixLength == 0 && $0.gateway == router && $0.interface == interface }
        return before - routes.count
    }

    /// The earliest expiry among the routes, nil when none expires. O(n).
    public var nextExpiry: Instant? { routes.compactMap(\.expires).min() }

    /// Removes and returns the routes whose lifetime has run out by `now`. O(n).
    public mutating func removeExpired(now: Instant) -> [IPv6Route] {
        let expired = routes.filter { ($0.expires ?? .init(nanoseconds: .max)) <= now }
        if !expired.isEmpty {
            lastLookup = nil
            routes.removeAll { ($0.expires ?? .init(nanoseconds: .max)) <= now }
        }
        return expired
    }

    // MARK: route -6 -n

    /// The table as `route -6 -n` prints it (net-tools), checked against Linux 6.18's output:
    /// a title line, then Destination (30 wide), Next Hop (26), Flag (4), Met (3), Ref (1),
    /// Use (6, right-aligned), If. Ref is always 0 (NetStack keeps no route references).
    /// `interfaceName` names an interface. O(n).
    public func routeText(interfaceName: (InterfaceID) -> String) -> String {
        var lines = ["Kernel IPv6 routing table",
                     "Destination".padded(30) + " " + "Next Hop".padded(26) + " Flag Met Ref  Use If"]
        for route in routes {
            lines.append(route.destination.description.padded(30) + " "
                + (route.gateway ?? .unspecified).description.padded(26) + " " + route.flags.padded(4) + " "
                + String(route.metric).padded(3) + " " + "0" + " " + String(route.use).paddedLeft(6) + " "
                + interfaceName(route.interface))
        }
        return lines.joined(separator: "\n")
    }
}

extension IPv6Route {
    /// Same destination, gateway and interface: the identity `add` replaces by.
    func sameKey(as other: IPv6Route) -> Bool {
        destination == other.destination && gateway == other.gateway && interface == other.interface
    }
}

extension String {
    /// The string followed by spaces up to `width` characters (never cut), as printf's `%-*s`.
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// The string preceded by spaces up to `width` characters, as printf's `%*s`.
    fileprivate func paddedLeft(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
