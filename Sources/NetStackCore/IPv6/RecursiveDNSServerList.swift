// The recursive DNS servers router advertisements name (RFC 8106). RFCs to read: RFC 8106 §5.1
// (the RDNSS option: lifetime in seconds, 0xFFFFFFFF for ever, 0 withdraws), §5.3.1 (a host's
// DNS Server List: an address already listed has its expiry refreshed, a new one is added, and
// a full list gives up the entry that would expire first), §6.2 (a lifetime 0 removes at once).

public import NetStackWire

/// One recursive DNS server learnt from a router advertisement.
public struct RecursiveDNSServer: Sendable, Equatable {
    /// The server's address.
    public var address: IPv6Address
    /// The interface whose router advertised it (a link-local server is reached there).
    public var interface: InterfaceID
    /// When it stops being used; nil for ever (lifetime 0xFFFFFFFF).
    public var expires: Instant?
}

/// The DNS Server List of RFC 8106 §5.3.1: at most ``capacity`` servers, in the order they
/// were first advertised, each until its lifetime runs out.
///
/// Every call is O(capacity), and the capacity is small (glibc's resolver asks no more than
/// three servers, MAXNS), so a flood of advertisements naming new servers keeps a list of
/// that size: each new one takes the place of the server that would expire first.
struct RecursiveDNSServerList: Sendable {
    /// Servers held at most.
    static let capacity = 3

    /// The servers, first advertised first.
    private(set) var servers: [RecursiveDNSServer] = []

    /// The servers' addresses, in order (what the resolver asks). Allocates.
    var addresses: [IPv6Address] { servers.map(\.address) }

    /// The earliest expiry, nil when nothing expires. O(capacity).
    var nextExpiry: Instant? {
        servers.reduce(nil) { earliest($0, $1.expires) }
    }

    /// Applies one RDNSS option from a router advertisement on `interface` (§5.3.1): each usable
    /// address (not multicast, unspecified or loopback) is refreshed or added with `lifetime`
    /// seconds; lifetime 0 removes them. Returns whether the list changed (addresses or order;
    /// a refreshed expiry alone is no change). O(capacity × addresses).
    mutating func apply(_ option: NDPRecursiveDNSServers, interface: InterfaceID, now: Instant) -> Bool {
        let before = addresses
        let expires: Instant? = option.lifetime == .max ? nil : now + .seconds(Int(option.lifetime))
        for address in option.servers where !address.isMulticast && !address.isUnspecified && !address.isLoopback {
            if let index = servers.firstIndex(where: { $0.address == address && $0.interface == interface }) {
                if option.lifetime == 0 { servers.remove(at: index) } else { servers[index].expires = expires }
                continue
            }
            guard option.lifetime != 0 else { continue }
            if servers.count >= Self.capacity, let soonest = servers.indices.min(by: {
                (servers[$0].expires ?? Instant(nanoseconds: .max)) < (servers[$1].expires ?? Instant(nanoseconds: .max))
            }) {
                servers.remove(at: soonest)
            }
            servers.append(RecursiveDNSServer(address: address, interface: interface, expires: expires))
        }
        return addresses != before
    }

    /// Removes the servers whose lifetime ended by `now`; returns whether any went. O(capacity).
    mutating func removeExpired(now: Instant) -> Bool {
        let before = servers.count
        servers.removeAll { ($0.expires ?? Instant(nanoseconds: .max)) <= now }
        return servers.count != before
    }
}
