// Path MTU discovery for IPv6. RFCs to read: RFC 8201 (§4: the PMTU never goes below 1,280,
// a packet too big never raises it, and an estimate is aged back up after at least 5 minutes,
// 10 recommended; §5.2 storing it per destination), RFC 4443 §3.2 (packet too big), RFC 8021
// (a reported MTU below 1,280 no longer asks for atomic fragments), RFC 5927 (believing ICMP
// errors only for packets one could have sent).

public import NetStackWire

/// The path MTUs learned from ICMPv6 packet too big messages, per destination (RFC 8201).
///
/// A destination with no entry, or an entry older than ``agingInterval``, has the link MTU of
/// the interface toward it, which the caller passes in; an entry only ever lowers it. At most
/// ``capacity`` entries: a new one beyond that pushes out the one learned longest ago, so a
/// flood of packet too big messages for made-up destinations costs a bounded table, and at
/// worst makes a real destination start again from the link MTU (and learn it again).
///
/// Lookups are one hash, O(1) on average; recording is O(log n) (a ``DeadlineHeap`` of
/// expiries, with stale entries skipped and compacted). No allocation once the table is warm.
public struct PathMTUCache: Sendable {
    /// Entries held at most (Linux bounds its route exceptions per bucket; 4,096 is ample for one host).
    public static let defaultCapacity = 4096
    /// How long a learned path MTU holds before it goes back to the link MTU (RFC 8201 §4: 10 minutes).
    public static let defaultAgingInterval: Duration = .seconds(600)

    struct Entry {
        var mtu: Int
        var expires: Instant
        /// Tells this entry's heap element from those of earlier entries for the same destination.
        var serial: UInt64
    }

    /// Entries held at most.
    public let capacity: Int
    /// How long a learned path MTU holds.
    public let agingInterval: Duration
    private var entries: [IPv6Address: Entry] = [:]
    /// Every entry by expiry (which is also the order they were learned in), with stale elements.
    private var byExpiry = DeadlineHeap<(destination: IPv6Address, serial: UInt64)>()
    private var nextSerial: UInt64 = 0

    /// An empty cache. Precondition: `capacity` ≥ 1.
    public init(capacity: Int = defaultCapacity, agingInterval: Duration = defaultAgingInterval) {
        precondition(capacity >= 1, "a path MTU cache needs room for one entry")
        self.capacity = capacity
        self.agingInterval = agingInterval
    }

    /// Destinations with a learned path MTU, aged ones not yet expired included. O(1).
    public var count: Int { entries.count }

    /// The path MTU toward `destination`: the learned one while it is younger than
    /// ``agingInterval``, never above `linkMTU` (the MTU of the interface the route uses). O(1) average.
    public func pathMTU(to destination: IPv6Address, linkMTU: Int, now: Instant) -> Int {
        // Empty (no packet too big heard): no hash on the per-packet path.
        guard !entries.isEmpty, let entry = entries[destination], now < entry.expires else { return linkMTU }
        return min(entry.mtu, linkMTU)
    }

    /// Records a packet too big reporting `reportedMTU` for `destination` (the destination of the
    /// packet it quotes — see ``destinationToLower(quoted:reportedMTU:isOwnAddress:)``). A value
    /// below 1,280 counts as 1,280 (RFC 8201 §4, RFC 8021). Returns the new path MTU when it
    /// lowered the current one, nil when it did not (a packet too big never raises the PMTU);
    /// a lowered PMTU ages out ``agingInterval`` after this call. O(log n).
    @discardableResult
    public mutating func packetTooBig(destination: IPv6Address, reportedMTU: UInt32, linkMTU: Int, now: Instant) -> Int? {
        let learned = Int(max(reportedMTU, UInt32(IPv6Header.minimumMTU)))
        guard learned < pathMTU(to: destination, linkMTU: linkMTU, now: now) else { return nil }
        let serial = nextSerial
        nextSerial &+= 1
        let expires = now + agingInterval
        entries[destination] = Entry(mtu: learned, expires: expires, serial: serial)
        byExpiry.push((destination, serial), at: expires)
        while entries.count > capacity, let oldest = byExpiry.popFirst() {
            if isLive(oldest) { entries[oldest.destination] = nil }
        }
        if byExpiry.count > 2 * entries.count + 16 {
            let live = entries
            byExpiry.removeAll { live[$0.destination]?.serial != $0.serial }
        }
        return learned
    }

    /// Forgets entries that have aged out (their destinations are back at the link MTU) and
    /// returns how many. Not needed for correctness — ``pathMTU(to:linkMTU:now:)`` ignores aged
    /// entries — only to give their memory back. O(log n) per entry.
    @discardableResult
    public mutating func expire(now: Instant) -> Int {
        var count = 0
        while let element = byExpiry.popFirst(dueBy: now) {
            guard isLive(element) else { continue }
            entries[element.destination] = nil
            count += 1
        }
        return count
    }

    /// When the next entry ages out, nil when none is held (stale heap elements may make it early). O(1).
    public func nextDeadline() -> Instant? { byExpiry.firstDeadline }

    private func isLive(_ element: (destination: IPv6Address, serial: UInt64)) -> Bool {
        entries[element.destination]?.serial == element.serial
    }

    /// Whether to believe a packet too big, and for which destination (RFC 4443 §3.2, RFC 5927):
    /// `quoted` is the invoking packet as the message quotes it (from its IPv6 header on). The
    /// message is believed when that header parses, its source is one of this host's addresses
    /// (`isOwnAddress`), and the packet was longer than `reportedMTU` — one that fit could not
    /// have been too big. Returns the quoted destination, whose path MTU to lower, or nil to
    /// ignore the message. The transport checks more when it can (TCP: the quoted sequence
    /// number is in flight). O(1), no allocation.
    public static func destinationToLower(quoted: UnsafeRawBufferPointer, reportedMTU: UInt32,
                                          isOwnAddress: (IPv6Address) -> Bool) -> IPv6Address? {
        guard let header = try? IPv6Header.parseQuoted(quoted), isOwnAddress(header.source),
              header.totalLength > Int(reportedMTU) else { return nil }
        return header.destination
    }
}
