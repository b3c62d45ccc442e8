// The IPv6 neighbour cache: address resolution and neighbour unreachability detection.
// RFCs to read: RFC 4861 §7.2 (address resolution), §7.2.3–§7.2.5 (what a solicitation or an
// advertisement does to the cache), §7.3 and appendix C (the NUD states and their transitions),
// §10 (the protocol constants), §6.3.2 (randomised ReachableTime). The shape and bounds follow the
// ARP cache (ARPCache.swift): bounded entries with the same eviction order, bounded pending
// packets, one keyed timer heap.

public import NetStackWire

/// The IPv6 neighbour cache (RFC 4861 §7.3) with the queue of packets waiting for resolution.
///
/// Lookups hash (address, interface); the pending queues are bounded in bytes per address and
/// in total; the entries are bounded by ``NeighborConfig/maxEntries``. Time is passed in:
/// `due(now:)` reports solicitations, probes, failures and garbage collection. Each entry's
/// one deadline (retransmit, REACHABLE running out, DELAY's end, STALE's collection) sits in
/// a keyed heap, so the next one costs O(1) and `due` O(log n) per entry that is due.
///
/// Sending: `resolve(_:now:forwarded:datagram:)` gives the MAC address, or queues the datagram
/// and says whether to send a multicast solicitation (or call its two halves,
/// `linkAddressForSending(to:now:)` and `enqueue(_:forwarded:for:now:)`). The mutating calls are
/// internal: the host drives the cache; `netstack neigh` reads ``allEntries``.
public struct NeighborCache: Sendable {
    /// Timing and limits; an RA's Reachable Time and Retrans Timer change them (`applyRouterAdvertisement`).
    public private(set) var config: NeighborConfig
    /// ReachableTime: BaseReachableTime times a random factor in 0.5…1.5 (§6.3.2).
    public private(set) var reachableTime: Duration
    /// The entries by key.
    private(set) var entries: [NeighborKey: NeighborEntry] = [:]
    /// Each entry's next deadline.
    private var timers = TimerQueue<NeighborKey>()
    /// Eviction order of entries that are not permanent, earliest evicted first.
    private var evictionOrder = TimerQueue<NeighborKey>()
    private var pending: [NeighborKey: [PendingPacket]] = [:]
    private var pendingBytesByKey: [NeighborKey: Int] = [:]
    /// Bytes of datagrams waiting, all addresses together.
    public private(set) var pendingBytes = 0
    /// Entries evicted because the cache was full, since the start.
    public private(set) var evictions = 0
    /// Packets dropped because the queue they waited in was full or its entry evicted.
    public private(set) var pendingDropped = 0
    /// The last answer `linkAddressForSending` gave without changing its entry, and until when
    /// it holds: a run of packets to one neighbour costs one hash lookup, not one each (as
    /// the ARP cache's `recent`). Forgotten whenever any entry or ReachableTime changes.
    private var recent: (key: NeighborKey, linkAddress: MACAddress, until: Instant)?

    /// An empty cache. `random` in 0..<1 (the caller's random source) picks ReachableTime.
    public init(config: NeighborConfig = NeighborConfig(), random: Double) {
        self.config = config
        reachableTime = Self.randomised(config.baseReachableTime, random)
    }

    /// `base` × (0.5 + random), random clamped to 0…1.
    private static func randomised(_ base: Duration, _ random: Double) -> Duration {
        base * (0.5 + min(max(random, 0), 1))
    }

    /// Entries held. O(1).
    public var count: Int { entries.count }

    /// The entry for `key`, if any. O(1) expected.
    public func entry(_ key: NeighborKey) -> NeighborEntry? { entries[key] }

    /// True when `key` has an entry in any state but INCOMPLETE: RFC 4861 §6.3.6's
    /// "reachable or probably reachable", for choosing a default router. O(1) expected.
    public func isProbablyReachable(_ key: NeighborKey) -> Bool {
        guard let entry = entries[key] else { return false }
        return entry.state != .incomplete
    }

    /// All entries sorted by address then interface, for `netstack neigh`. O(n log n).
    public var allEntries: [NeighborEntry] { entries.values.sorted { $0.key < $1.key } }

    /// The earliest time `due` has work. O(1).
    public func nextDeadline() -> Instant? { timers.nextDeadline }

    // MARK: Parameters from router advertisements (RFC 4861 §6.3.4)

    /// Applies an RA's Reachable Time and Retrans Timer (milliseconds, 0 = unspecified).
    /// A new BaseReachableTime recomputes ReachableTime with `random` in 0..<1. O(1).
    public mutating func applyRouterAdvertisement(reachableTime milliseconds: UInt32, retransTimer: UInt32,
                                                  random: Double) {
        if milliseconds != 0, Duration.milliseconds(milliseconds) != config.baseReachableTime {
            recent = nil
            config.baseReachableTime = .milliseconds(milliseconds)
            reachableTime = Self.randomised(config.baseReachableTime, random)
        }
        if retransTimer != 0 { config.retransTimer = .milliseconds(retransTimer) }
    }

    /// Picks ReachableTime afresh (RFC 4861 §6.3.2 asks for this at least every few hours). O(1).
    public mutating func rerandomiseReachableTime(random: Double) {
        recent = nil
        reachableTime = Self.randomised(config.baseReachableTime, random)
    }

    // MARK: Storage

    /// Sets `entry`, its deadline and its eviction rank. Amortised O(log n).
    private mutating func store(_ entry: NeighborEntry) {
        recent = nil
        let key = entry.key
        entries[key] = entry
        let lifetime = config.staleLifetime
        let retransmit = entry.since + config.retransTimer
        switch entry.state {
        case .incomplete: timers.schedule(key, at: retransmit)
        case .probe: timers.schedule(key, at: retransmit)
        case .reachable: timers.schedule(key, at: entry.since + reachableTime)
        case .delay: timers.schedule(key, at: entry.since + config.delayFirstProbeTime)
        case .stale: timers.schedule(key, at: entry.since + lifetime)
        case .permanent: timers.cancel(key)
        }
        switch entry.state {
        case .permanent: evictionOrder.cancel(key)
        case .incomplete:
            if evictionOrder.deadline(of: key) == nil { evictionOrder.schedule(key, at: entry.since + lifetime * 3) }
        default: evictionOrder.schedule(key, at: entry.used ? entry.since + lifetime : entry.since)
        }
    }

    /// Removes `key`'s entry and deadlines; returns the packets that waited for it.
    private mutating func drop(_ key: NeighborKey) -> [PendingPacket] {
        recent = nil
        entries[key] = nil
        timers.cancel(key)
        evictionOrder.cancel(key)
        pendingBytes -= pendingBytesByKey.removeValue(forKey: key) ?? 0
        return pending.removeValue(forKey: key) ?? []
    }

    /// Makes room for one new entry when full: evicts the first in eviction order (never
    /// permanent), dropping the packets it held. O(log n).
    private mutating func makeRoom() {
        guard entries.count >= config.maxEntries else { return }
        // A new key is not in the eviction order yet, so it cannot be the victim.
        guard let victim = evictionOrder.popFirstExpired(now: Instant(nanoseconds: .max)) else { return }
        evictions += 1
        pendingDropped += drop(victim).count
    }

    /// Hands back and forgets the packets that waited for `key`.
    private mutating func takePending(_ key: NeighborKey) -> [PendingPacket] {
        pendingBytes -= pendingBytesByKey.removeValue(forKey: key) ?? 0
        return pending.removeValue(forKey: key) ?? []
    }

    // MARK: Sending

    /// The MAC address to send to `key` with, or nil when it must be resolved first
    /// (then `enqueue(_:forwarded:for:now:)`). A STALE entry moves to DELAY (§7.3.3);
    /// a REACHABLE one past ReachableTime counts as STALE. For the per-packet path:
    /// one hash lookup, no allocation.
    mutating func linkAddressForSending(to key: NeighborKey, now: Instant) -> MACAddress? {
        if let recent, recent.key == key, now < recent.until { return recent.linkAddress }
        guard let index = entries.index(forKey: key) else { return nil }
        let entry = entries.values[index]
        switch entry.state {
        case .incomplete:
            return nil
        case .reachable where now < entry.since + reachableTime, .delay, .probe, .permanent:
            if !entry.used {
                entries.values[index].used = true
                if entry.state != .permanent { store(entries.values[index]) }
            }
            // Until REACHABLE runs out, or for good: only `store`, `drop` (which forget this) or
            // time change what the next call answers.
            if let linkAddress = entry.linkAddress {
                recent = (key, linkAddress, entry.state == .reachable ? entry.since + reachableTime : Instant(nanoseconds: .max))
            }
            return entry.linkAddress
        case .reachable, .stale:
            var delayed = entry
            delayed.state = .delay
            delayed.since = now
            delayed.used = true
            store(delayed)
            return entry.linkAddress
        }
    }

    /// Queues `datagram` for `key`, which has no usable entry. Returns whether a first
    /// multicast solicitation must go out now (a new INCOMPLETE entry, attempt 1) and the
    /// packets dropped to keep the bounds: the oldest of this address's queue, or the new
    /// datagram itself when the total is full and this queue holds nothing older.
    /// Amortised O(log n); the datagram is kept as given.
    mutating func enqueue(_ datagram: [UInt8], forwarded: Bool, for key: NeighborKey,
                          now: Instant) -> (solicitNow: Bool, dropped: [PendingPacket]) {
        var dropped: [PendingPacket] = []
        var solicitNow = false
        if let entry = entries[key] {
            guard entry.state == .incomplete else {
                // A usable entry exists: nothing to wait for. The caller should have sent it.
                return (false, [PendingPacket(datagram: datagram, forwarded: forwarded)])
            }
        } else {
            makeRoom()
            store(NeighborEntry(key: key, linkAddress: nil, state: .incomplete, solicitationsSent: 1, since: now))
            solicitNow = true
        }
        let size = datagram.count
        var queue = pending.removeValue(forKey: key) ?? []
        var queued = pendingBytesByKey[key] ?? 0
        while !queue.isEmpty, queued + size > config.pendingBytesPerAddress || pendingBytes + size > config.pendingBytesTotal {
            let old = queue.removeFirst()
            queued -= old.datagram.count
            pendingBytes -= old.datagram.count
            dropped.append(old)
        }
        if queued + size <= config.pendingBytesPerAddress, pendingBytes + size <= config.pendingBytesTotal {
            queue.append(PendingPacket(datagram: datagram, forwarded: forwarded))
            queued += size
            pendingBytes += size
        } else {
            dropped.append(PendingPacket(datagram: datagram, forwarded: forwarded))
        }
        pending[key] = queue.isEmpty ? nil : queue
        pendingBytesByKey[key] = queued == 0 ? nil : queued
        pendingDropped += dropped.count
        return (solicitNow, dropped)
    }

    /// ``linkAddressForSending(to:now:)``, then, when that gives nil, ``enqueue(_:forwarded:for:now:)``
    /// of the bytes `datagram()` returns. `datagram` is called only then, so the resolved path
    /// (the common one) copies nothing and allocates nothing.
    mutating func resolve(_ key: NeighborKey, now: Instant, forwarded: Bool,
                          datagram: () -> [UInt8]) -> NeighborResolution {
        if let linkAddress = linkAddressForSending(to: key, now: now) { return .send(to: linkAddress) }
        let (solicitNow, dropped) = enqueue(datagram(), forwarded: forwarded, for: key, now: now)
        return .queued(solicitNow: solicitNow, dropped: dropped)
    }

    // MARK: Learning

    /// Records a Source Link-Layer Address option from a neighbour solicitation (§7.2.3),
    /// router solicitation (§6.2.6), router advertisement (§6.3.4; `isRouter: true`), or a
    /// redirect's Target Link-Layer Address (§8.3; `isRouter: true` when the target is a
    /// router, not the destination itself). A new entry is STALE; an existing one with a
    /// different address becomes STALE with it; an INCOMPLETE one becomes STALE and hands
    /// back its waiting packets. `isRouter` nil leaves the flag (false for a new entry).
    /// Permanent entries are left alone. A new entry may evict another. Amortised O(log n).
    mutating func learn(_ linkAddress: MACAddress, for key: NeighborKey, isRouter: Bool? = nil,
                        now: Instant) -> [PendingPacket] {
        guard var entry = entries[key] else {
            makeRoom()
            store(NeighborEntry(key: key, linkAddress: linkAddress, state: .stale, isRouter: isRouter ?? false, since: now))
            return []
        }
        if entry.state == .permanent { return [] }
        if let isRouter { entry.isRouter = isRouter }
        let wasIncomplete = entry.state == .incomplete
        if wasIncomplete || entry.linkAddress != linkAddress {
            entry.linkAddress = linkAddress
            entry.state = .stale
            entry.solicitationsSent = 0
            entry.since = now
            store(entry)
        } else {
            recent = nil
            entries[key] = entry
        }
        return wasIncomplete ? takePending(key) : []
    }

    /// Applies a neighbour advertisement for `key` (RFC 4861 §7.2.5): `targetLinkAddress` is its
    /// Target Link-Layer Address option, if any. Without an entry it is ignored (no entry is
    /// made). Permanent entries are left alone. O(1) expected, amortised O(log n) for the timer.
    mutating func advertisement(for key: NeighborKey, targetLinkAddress: MACAddress?, router: Bool,
                                solicited: Bool, override: Bool, now: Instant) -> NeighborAdvertisementOutcome {
        var outcome = NeighborAdvertisementOutcome()
        guard var entry = entries[key], entry.state != .permanent else { return outcome }
        if entry.state == .incomplete {
            // No address to record: the advertisement is useless to an INCOMPLETE entry.
            guard let targetLinkAddress else { return outcome }
            entry.linkAddress = targetLinkAddress
            entry.state = solicited ? .reachable : .stale
            entry.solicitationsSent = 0
            entry.since = now
            entry.isRouter = router
            store(entry)
            outcome.waiting = takePending(key)
            return outcome
        }
        let differs = targetLinkAddress != nil && targetLinkAddress != entry.linkAddress
        if !override && differs {
            // Someone else claims the address without overriding: only doubt the one we have.
            if entry.state == .reachable {
                entry.state = .stale
                entry.since = now
                store(entry)
            }
            return outcome
        }
        if differs { entry.linkAddress = targetLinkAddress }
        if solicited {
            entry.state = .reachable
            entry.since = now
            entry.solicitationsSent = 0
        } else if differs {
            entry.state = .stale
            entry.since = now
            entry.solicitationsSent = 0
        }
        outcome.stoppedBeingRouter = entry.isRouter && !router
        entry.isRouter = router
        store(entry)
        return outcome
    }

    /// Upper-layer proof of reachability (§7.3.1: new data acknowledged by TCP, say): an
    /// entry with a link address becomes REACHABLE. Moving a timer later costs one hash
    /// lookup, so calling this per acknowledgement is cheap.
    mutating func confirmReachability(_ key: NeighborKey, now: Instant) {
        guard var entry = entries[key], entry.linkAddress != nil,
              entry.state != .permanent, entry.state != .incomplete else { return }
        entry.state = .reachable
        entry.since = now
        entry.solicitationsSent = 0
        store(entry)
    }

    /// Adds a permanent entry (like `ip -6 neigh add … nud permanent`), replacing what was there.
    public mutating func addPermanent(_ key: NeighborKey, linkAddress: MACAddress, isRouter: Bool = false) {
        _ = drop(key)
        store(NeighborEntry(key: key, linkAddress: linkAddress, state: .permanent, isRouter: isRouter, since: .zero))
    }

    /// Removes an entry; the packets that waited for it are dropped.
    public mutating func remove(_ key: NeighborKey) {
        pendingDropped += drop(key).count
    }

    // MARK: Timers

    /// Work that is due, earliest deadline first: solicitations to repeat, probes to send,
    /// failures (with their waiting packets) and collected STALE entries. REACHABLE entries
    /// past ReachableTime turn STALE and DELAY ones turn PROBE on the way. O(log n) per entry due.
    mutating func due(now: Instant) -> [NeighborAction] {
        var actions: [NeighborAction] = []
        while let key = timers.popFirstExpired(now: now) {
            guard var entry = entries[key] else { continue }
            switch entry.state {
            case .incomplete:
                if entry.solicitationsSent >= config.maxMulticastSolicit {
                    actions.append(.unreachable(key, waiting: drop(key)))
                } else {
                    entry.solicitationsSent += 1
                    entry.since = now
                    store(entry)
                    actions.append(.multicastSolicitation(key, attempt: entry.solicitationsSent))
                }
            case .reachable:
                entry.state = .stale
                entry.since = now
                store(entry)
            case .delay, .probe:
                guard let linkAddress = entry.linkAddress else { continue }
                if entry.state == .probe && entry.solicitationsSent >= config.maxUnicastSolicit {
                    actions.append(.unreachable(key, waiting: drop(key)))
                } else {
                    entry.state = .probe
                    entry.solicitationsSent += 1
                    entry.since = now
                    store(entry)
                    actions.append(.unicastProbe(key, linkAddress: linkAddress, attempt: entry.solicitationsSent))
                }
            case .stale:
                if entries.count > config.garbageCollectionThreshold {
                    _ = drop(key)
                    actions.append(.expired(key))
                } else {
                    timers.schedule(key, at: now + config.staleLifetime)
                }
            case .permanent:
                break
            }
        }
        return actions
    }
}
