import NetStackWire

// What a DHCP lease changes in a host: the address with its connected route,
// the default route through the lease's first router, the resolver's nameservers.

extension Host {
    /// Assigns the lease's address to `interface` (with a gratuitous ARP), sets the default
    /// route through its first router and makes its DNS servers the resolver's nameservers.
    public func applyLease(_ lease: DHCPLease, to interface: InterfaceID, now: Instant) {
        if !addresses.contains(where: { $0.address == lease.address && $0.interface == interface }) {
            assign(lease.address, prefixLength: lease.prefixLength, to: interface, now: now)
        }
        if let router = lease.routers.first(where: { lease.network.contains($0) }) {
            setDefaultGateway(router, interface: interface)
        }
        if !lease.dnsServers.isEmpty {
            var resolver = resolverConfig
            resolver.nameservers = lease.dnsServers
            resolverConfig = resolver
        }
    }

    /// Removes what ``applyLease(_:to:now:)`` configured: the address, its connected
    /// route, routes through a gateway on its network, and the lease's nameservers.
    public func removeLease(_ lease: DHCPLease, from interface: InterfaceID) {
        let network = lease.network
        addresses.removeAll { $0.address == lease.address && $0.interface == interface }
        routes.remove { route in
            route.interface == interface
                && (route.destination == network || route.gateway.map(network.contains) ?? false)
        }
        if !lease.dnsServers.isEmpty, resolverConfig.nameservers == lease.dnsServers {
            var resolver = resolverConfig
            resolver.nameservers = []
            resolverConfig = resolver
        }
    }
}
