public import NetStackWire

/// IPv6 settings of a host (RFC 4861, RFC 4862 defaults).
public struct IPv6HostConfig: Sendable {
    /// Duplicate address detection and the per-interface address bound (`dupAddrDetectTransmits`
    /// 0 turns DAD off, as Linux's `nodad`).
    public var addresses = IPv6AddressConfig()
    /// The neighbour cache's timers and bounds.
    public var neighbors = NeighborConfig()
    /// Router solicitations sent when autoconfiguration starts (MAX_RTR_SOLICITATIONS, RFC 4861 §10).
    public var maxRouterSolicitations = 3
    /// Time between them (RTR_SOLICITATION_INTERVAL).
    public var routerSolicitationInterval: Duration = .seconds(4)
    /// Follow redirects from the first-hop router (RFC 4861 §8.3; Linux's accept_redirects,
    /// on by default for a host). A host that forwards never follows them.
    public var acceptRedirects = true

    public init() {}
}

/// An IPv6 address of one of the host's interfaces, with its state (RFC 4862 §2): a flat view
/// for tables and tools. The per-interface lists (``IPv6AddressList``) hold the lifetimes and DAD.
public struct InterfaceAddress6: Sendable, Equatable {
    /// The address.
    public var address: IPv6Address
    /// Its prefix length: the on-link prefix it was configured with.
    public var prefixLength: Int
    /// The interface it belongs to.
    public var interface: InterfaceID
    /// Tentative (DAD running), preferred, deprecated or duplicate.
    public var state: IPv6InterfaceAddress.State
    /// Configured by hand, link-local, or formed by SLAAC.
    public var origin: IPv6InterfaceAddress.Origin

    /// The on-link prefix.
    public var network: IPv6Network { IPv6Network(address: address, prefixLength: prefixLength) }
}

extension IPv6InterfaceAddress {
    /// True when packets to it are this host's (preferred or deprecated; not tentative or duplicate).
    @inlinable public var isAssigned: Bool { state == .preferred || state == .deprecated }
}

/// The IPv6 state of one interface: its addresses and router discovery.
struct IPv6InterfaceState {
    var addresses: IPv6AddressList
    /// SLAAC is on (`--address6 auto`): prefixes from router advertisements form addresses.
    var autoconfigure = false
    /// Router solicitations still to send, and when the next goes (RFC 4861 §6.3.7).
    var routerSolicitationsLeft = 0
    var nextRouterSolicitation: Instant?
    /// When this interface last answered an MLD query (at most one answer a second).
    var lastMLDReport: Instant?
    /// The link MTU a router advertised (RFC 4861 §6.3.4), when it is below the device's; nil otherwise.
    var advertisedMTU: Int?
}
