public import NetStackWire

// What a DHCP lease changes in a host: the address with its connected route,
// the default route through the lease's first router, the resolver's nameservers.

extension Host {
    /// Broadcasts an ARP probe for `address` on `interface` (RFC 5227 §2.1.1: sender address
    /// 0.0.0.0, target `address`) and watches for a station that claims it: an ARP packet with
    /// it as sender, or another probe for it, from another MAC. ``takeAddressConflict(_:)`` tells.
    public func probeAddress(_ address: IPv4Address, on interface: InterfaceID, now: Instant) {
        self.now = now
        if addressProbe?.address != address { addressProbe = AddressProbe(address: address, interface: interface) }
        statistics.arpRequestsSent += 1
        sendARP(.request, on: interface, senderIP: .any, targetMAC: .zero, targetIP: address, to: .broadcast)
    }

    /// True (once) when some station claimed `address` since it was probed; stops watching it.
    public func takeAddressConflict(_ address: IPv4Address) -> Bool {
        guard let probe = addressProbe, probe.address == address else { return false }
        if probe.conflict { addressProbe = nil }
        return probe.conflict
    }

    /// Stops watching for a conflict over the probed address.
    public func endAddressProbe() { addressProbe = nil }

    /// Called by ARP input for every valid packet: notes a conflict with the probed address.
    func noteAddressClaim(_ packet: ARPPacket, on interface: InterfaceID) {
        guard let probe = addressProbe, probe.interface == interface,
              packet.senderMAC != adapters[interface.index].mac else { return }
        if packet.senderIP == probe.address || (packet.senderIP == .any && packet.targetIP == probe.address) {
            addressProbe?.conflict = true
        }
    }
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
            resolver.nameservers = lease.dnsServers.map(IPAddress.v4)
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
        if !lease.dnsServers.isEmpty, resolverConfig.nameservers == lease.dnsServers.map(IPAddress.v4) {
            var resolver = resolverConfig
            resolver.nameservers = []
            resolverConfig = resolver
        }
    }
}

/// An address being checked with ARP probes before use (RFC 5227).
struct AddressProbe {
    var address: IPv4Address
    var interface: InterfaceID
    var conflict = false
}
