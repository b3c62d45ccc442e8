// Any-destination mode: an interface whose every unicast datagram is this host's
// to terminate, whatever its destination address — what a VPN or proxy app needs
// on the TUN it reads (tun2socks), like Linux's TPROXY with IP_TRANSPARENT sockets.

import NetStackWire

extension Host {
    /// Puts an interface in or out of any-destination mode: from then on, unicast
    /// datagrams arriving on it for any address are delivered to this host's
    /// transport protocols as if the address were its own — TCP to transparent
    /// listeners (``SocketOption/transparent(_:)``), UDP to transparent sockets,
    /// ICMP echo requests answered from the address they were sent to. Datagrams
    /// arriving on other interfaces for addresses that are not the host's are
    /// still forwarded or dropped as before. O(1).
    public func setAcceptsAnyDestination(_ on: Bool, interface: InterfaceID) {
        if on { anyDestinationInterfaces.insert(interface.index) } else { anyDestinationInterfaces.remove(interface.index) }
    }

    /// True when `interface` is in any-destination mode.
    public func acceptsAnyDestination(interface: InterfaceID) -> Bool {
        anyDestinationInterfaces.contains(interface.index)
    }

    /// Whether a datagram for `destination` (not one of ours) arriving on `interface`
    /// is ours to terminate: unicast, on an interface in any-destination mode. Counts it. O(1).
    func acceptsAnyDestination(_ destination: IPv4Address, on interface: InterfaceID?) -> Bool {
        guard let interface, !anyDestinationInterfaces.isEmpty, anyDestinationInterfaces.contains(interface.index),
              !destination.isMulticast, destination != .any else { return false }
        statistics.inAnyDestination += 1
        return true
    }

    /// ``acceptsAnyDestination(_:on:)`` for an IPv6 `destination`: unicast, not link-local. Counts it. O(1).
    func acceptsAnyDestination6(_ destination: IPv6Address, on interface: InterfaceID?) -> Bool {
        guard let interface, !anyDestinationInterfaces.isEmpty, anyDestinationInterfaces.contains(interface.index),
              !destination.isMulticast, !destination.isUnspecified, !destination.isLinkLocal else { return false }
        statistics.inAnyDestination += 1
        return true
    }
}
