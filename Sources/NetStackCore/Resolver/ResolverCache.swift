import NetStackWire

/// The stub resolver's answer cache: a name's addresses (or the fact that it
/// has none) until its TTL runs out (RFC 1035 §7.4, RFC 2308 §5).
///
/// Keyed by the name the application asked for and the record type (A and AAAA
/// answers live and expire apart); names compare without regard to ASCII case
/// (``DNSName``). Entries expire lazily: a lookup past an
/// entry's deadline removes it. When full, expired entries are swept and then
/// the entry closest to expiry makes room — O(n) only when full; a lookup is
/// one hash probe. A TTL of 0 means "use once, do not cache" (RFC 1035 §3.2.1).
struct ResolverCache {
    /// What is remembered about a name.
    enum Answer: Equatable {
        /// The end of the CNAME chain and its addresses.
        case addresses(canonicalName: String, [IPAddress])
        /// NXDOMAIN or NODATA, remembered for the SOA's negative TTL (RFC 2308 §5).
        case negative(ResolverError)
    }

    /// A name and the record type asked for it.
    struct Key: Hashable {
        var name: DNSName
        var type: AddressRecordType
    }

    struct Entry {
        var answer: Answer
        var expires: Instant
        /// Order of storing: breaks ties between equal expiries the same way on every run.
        var sequence: UInt64
    }

    /// A TTL longer than a week is cut to a week, as common resolvers do.
    static let maximumTTL: UInt32 = 604_800

    var capacity: Int
    private(set) var entries: [Key: Entry] = [:]
    private var stored: UInt64 = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The answer cached for `name` and the whole seconds of TTL left; nil when
    /// absent or expired (an expired entry is removed). O(1).
    mutating func lookup(_ name: Key, now: Instant) -> (answer: Answer, ttl: UInt32)? {
        guard let entry = entries[name] else { return nil }
        guard now < entry.expires else {
            entries[name] = nil
            return nil
        }
        let left = (entry.expires - now).components.seconds
        return (entry.answer, UInt32(clamping: left))
    }

    /// Remembers `answer` for `name` for `ttl` seconds from `now`. Does nothing
    /// for a TTL of 0 or a cache of no capacity. O(1), O(n) when full.
    mutating func store(_ name: Key, _ answer: Answer, ttl: UInt32, now: Instant) {
        let seconds = Self.effectiveTTL(ttl)
        guard seconds > 0, capacity > 0 else { return }
        if entries[name] == nil && entries.count >= capacity { makeRoom(now: now) }
        stored += 1
        entries[name] = Entry(answer: answer, expires: now + .seconds(Int64(seconds)), sequence: stored)
    }

    /// Forgets everything.
    mutating func removeAll() { entries.removeAll() }

    /// A TTL as the cache uses it: values with the top bit set count as 0
    /// (RFC 2181 §8), and anything over ``maximumTTL`` is cut to it.
    static func effectiveTTL(_ ttl: UInt32) -> UInt32 {
        ttl > 0x7FFF_FFFF ? 0 : min(ttl, maximumTTL)
    }

    private mutating func makeRoom(now: Instant) {
        entries = entries.filter { now < $0.value.expires }
        while entries.count >= capacity, let soonest = entries.min(by: {
            ($0.value.expires, $0.value.sequence) < ($1.value.expires, $1.value.sequence)
        }) {
            entries[soonest.key] = nil
        }
    }
}
