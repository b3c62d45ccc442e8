import NetStackWire

/// The IPv6 tables as the Linux tools print them (`route -6 -n`, `ip -6 neigh`).
extension Host {
    /// The IPv6 routing table as `route -6 -n` prints it — Destination, Next Hop, Flag, Met, Ref,
    /// Use, If — or nil when the host has no IPv6 route (an IPv4-only stack shows only its IPv4
    /// table). The rows are `IPv6RoutingTable.routeText(interfaceName:)`'s. O(routes).
    public func routeTable6() -> String? {
        guard !routes6.routes.isEmpty else { return nil }
        return routes6.routeText { adapters[$0.index].name }
    }

    /// The IPv6 neighbour cache as `ip -6 neigh` prints it, a line per entry
    /// (`2001:db8::1 dev tap0 lladdr 02:00:00:00:00:01 REACHABLE`); "" when it is empty,
    /// as `ip` prints nothing then. Allocates; O(entries).
    public func neighborTable6() -> String {
        neighborEntries6.map { $0.ipNeighLine(interfaceName: adapters[$0.key.interface.index].name) }.joined(separator: "\n")
    }
}
