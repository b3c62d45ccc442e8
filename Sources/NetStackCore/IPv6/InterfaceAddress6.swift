public import NetStackWire

/// An IPv6 address assigned to an interface, with its state (RFC 4862 §2).
public struct InterfaceAddress6: Sendable, Equatable {
    /// Where an address stands in its life.
    public enum State: String, Sendable, Equatable {
        /// Duplicate address detection is still running: only NDP may use it (RFC 4862 §5.4).
        case tentative
        /// Usable for new communication.
        case preferred
        /// Still valid, but not chosen as the source of new communication (RFC 4862 §5.5.4).
        case deprecated
        /// DAD found another node using it: never used (RFC 4862 §5.4.5).
        case duplicate
    }

    /// The address.
    public var address: IPv6Address
    /// Its prefix length: the on-link prefix it was configured with.
    public var prefixLength: Int
    /// The interface it belongs to.
    public var interface: InterfaceID
    /// Its state.
    public var state: State

    /// The on-link prefix.
    public var network: IPv6Network { IPv6Network(address: address, prefixLength: prefixLength) }

    /// True when packets to it are this host's (preferred or deprecated).
    public var isAssigned: Bool { state == .preferred || state == .deprecated }
}

/// An IPv6 route: a destination prefix reached on an interface, directly (no gateway) or
/// through a router.
public struct Route6: Sendable, Equatable {
    /// The destination prefix (`::/0` for the default route).
    public var destination: IPv6Network
    /// The router to hand packets to; nil when the prefix is on-link.
    public var gateway: IPv6Address?
    /// The interface packets leave by.
    public var interface: InterfaceID
    /// Lower wins between routes of the same prefix length (Linux: 256 for connected routes, 1024 for RA ones).
    public var metric: Int

    /// A route to `destination`.
    public init(destination: IPv6Network, gateway: IPv6Address? = nil, interface: InterfaceID, metric: Int = 256) {
        self.destination = destination
        self.gateway = gateway
        self.interface = interface
        self.metric = metric
    }

    /// The next hop for `address`: the gateway, or the address itself on-link.
    @inlinable public func nextHop(for address: IPv6Address) -> IPv6Address { gateway ?? address }
}
