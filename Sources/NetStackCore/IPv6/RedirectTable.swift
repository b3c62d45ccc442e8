// The destinations routers redirected (RFC 4861 §8.3): the part of RFC 4861 §5.1's destination
// cache a host needs once it follows redirects. RFCs to read: RFC 4861 §8.1 (validation — done
// by NDPPacket.parse and Host.redirectInput), §8.3 (what the host does), §5.2 (next-hop
// determination, which this overrides). Linux keeps redirects as route exceptions aged by
// net.ipv6.route.gc_timeout; here they are a fixed ring of entries with a fixed lifetime.

public import NetStackWire

/// One redirected destination: packets to ``destination`` go to ``target`` instead of the
/// router the routing table names.
public struct Redirect6: Sendable, Equatable {
    /// The destination the redirect is about (the ICMPv6 Destination Address).
    public var destination: IPv6Address
    /// The better first hop: a router's link-local address, or ``destination`` itself when the
    /// destination turned out to be on the link.
    public var target: IPv6Address
    /// The interface the redirect came by, and the packets leave by.
    public var interface: InterfaceID
    /// The router the routing table chose when the redirect came: the redirect holds only while
    /// the route still leads through it (a new default router starts afresh).
    public var router: IPv6Address
    /// When the entry stops counting.
    public var expires: Instant

    /// A redirect of `destination` to `target`, made while the route led through `router`.
    public init(destination: IPv6Address, target: IPv6Address, interface: InterfaceID, router: IPv6Address,
                expires: Instant) {
        self.destination = destination
        self.target = target
        self.interface = interface
        self.router = router
        self.expires = expires
    }
}

/// The redirect table: at most ``capacity`` redirected destinations, each for ``lifetime``.
///
/// The entries sit in a ring of ``capacity`` slots filled in arrival order: a new destination
/// takes the next slot, pushing out whatever was there (the oldest arrival), so a flood of
/// redirects for made-up destinations costs a fixed table and at worst sends a real
/// destination back through its router (which redirects it again). A redirect for a destination
/// already held updates its entry in place. Lookups are one hash, and none at all while the
/// table is empty (the per-packet path of a host no router redirected); adding is O(1).
public struct RedirectTable: Sendable {
    /// Entries held at most.
    public static let defaultCapacity = 256
    /// How long a redirect holds (Linux ages unused route exceptions after gc_timeout, 60 s by
    /// default, but keeps used ones; 10 minutes is close to the latter and needs no use tracking).
    public static let defaultLifetime: Duration = .seconds(600)

    /// Entries held at most.
    public let capacity: Int
    /// How long each entry holds after the redirect that made it.
    public let lifetime: Duration
    /// Grows to ``capacity`` as destinations come, then is reused as a ring.
    private var slots: [Redirect6?] = []
    private var slotByDestination: [IPv6Address: Int] = [:]
    /// The slot the next new destination takes.
    private var cursor = 0
    /// Live entries pushed out to make room for a newer destination, since the start.
    public private(set) var evictions = 0

    /// An empty table. Precondition: `capacity` ≥ 1.
    public init(capacity: Int = defaultCapacity, lifetime: Duration = defaultLifetime) {
        precondition(capacity >= 1, "a redirect table needs room for one entry")
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// True when no destination is held (expired ones not yet removed count as held). O(1).
    public var isEmpty: Bool { slotByDestination.isEmpty }

    /// Entries held, expired ones not yet removed included. O(1).
    public var count: Int { slotByDestination.count }

    /// The live entries, oldest arrival first (for tools). Allocates; O(capacity).
    public func entries(now: Instant) -> [Redirect6] {
        (slots[cursor...] + slots[..<cursor]).compactMap { $0 }.filter { now < $0.expires }
    }

    /// Where packets to `destination` go instead of `router` on `interface`, or nil when no live
    /// redirect for it was made through that router. O(1) average; no hash when the table is empty.
    public func target(for destination: IPv6Address, via router: IPv6Address, on interface: InterfaceID,
                       now: Instant) -> IPv6Address? {
        guard !slotByDestination.isEmpty, let slot = slotByDestination[destination], let entry = slots[slot],
              now < entry.expires, entry.router == router, entry.interface == interface else { return nil }
        return entry.target
    }

    /// Records that packets to `destination` go to `target` from now on (while the route leads
    /// through `router`), for ``lifetime``. A new destination may push out the oldest. O(1) average.
    public mutating func add(destination: IPv6Address, target: IPv6Address, interface: InterfaceID,
                             router: IPv6Address, now: Instant) {
        let entry = Redirect6(destination: destination, target: target, interface: interface, router: router,
                              expires: now + lifetime)
        if let slot = slotByDestination[destination] {
            slots[slot] = entry
            return
        }
        if slots.count < capacity {
            slots.append(entry)
            slotByDestination[destination] = slots.count - 1
            cursor = slots.count % capacity
            return
        }
        if let old = slots[cursor] {
            slotByDestination[old.destination] = nil
            if now < old.expires { evictions += 1 }
        }
        slots[cursor] = entry
        slotByDestination[destination] = cursor
        cursor = (cursor + 1) % capacity
    }

    /// Forgets the redirect for `destination`, if any. O(1) average.
    public mutating func remove(_ destination: IPv6Address) {
        guard let slot = slotByDestination.removeValue(forKey: destination) else { return }
        slots[slot] = nil
    }

    /// Forgets every entry that expired by `now`. O(capacity).
    public mutating func removeExpired(now: Instant) {
        guard !slotByDestination.isEmpty else { return }
        for slot in slots.indices {
            guard let entry = slots[slot], entry.expires <= now else { continue }
            slots[slot] = nil
            slotByDestination[entry.destination] = nil
        }
    }
}
