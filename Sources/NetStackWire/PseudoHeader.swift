// The transport pseudo-header of either IP version: TCP, UDP and ICMPv6 checksums cover the
// addresses through it (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6).

extension InternetChecksum {
    /// The pseudo-header sum for a transport segment of `length` bytes between `source` and
    /// `destination`: the IPv4 one (RFC 9293 §3.1) when both are IPv4, else the IPv6 one
    /// (RFC 8200 §8.1, an IPv4 address taken in its IPv4-mapped form). A few additions; no allocation.
    @inlinable
    public static func pseudoHeader(source: IPAddress, destination: IPAddress,
                                    protocol proto: IPProtocol, length: Int) -> InternetChecksum {
        switch (source, destination) {
        case let (.v4(s), .v4(d)):
            return pseudoHeader(source: s, destination: d, protocol: proto, length: length)
        default:
            return pseudoHeader(source: source.ipv6, destination: destination.ipv6, nextHeader: proto, length: length)
        }
    }
}

extension IPAddress {
    /// The address as IPv6: itself, or an IPv4 address in its IPv4-mapped form (RFC 4291 §2.5.5.2).
    @inlinable public var ipv6: IPv6Address {
        switch self {
        case let .v4(address): IPv6Address(ipv4Mapped: address)
        case let .v6(address): address
        }
    }

    /// True for an IPv4 address (not an IPv4-mapped IPv6 one).
    @inlinable public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    /// The unspecified address of the same family: 0.0.0.0 or `::`.
    @inlinable public var unspecifiedOfSameFamily: IPAddress {
        isIPv4 ? .v4(.any) : .v6(.unspecified)
    }

    /// True for 0.0.0.0 or `::`.
    @inlinable public var isUnspecified: Bool {
        switch self {
        case let .v4(address): address == .any
        case let .v6(address): address.isUnspecified
        }
    }
}
