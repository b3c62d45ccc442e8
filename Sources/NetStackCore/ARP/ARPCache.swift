public import NetStackWire

/// ARP timing and limits.
public struct ARPConfig: Sendable {
    /// How long a learned entry stays valid (RFC 1122 §2.3.2.1 asks for a timeout; Linux uses about a minute).
    public var entryLifetime: Duration = .seconds(60)
    /// Requests sent for one address before giving up.
    public var maxRequests = 3
    /// Time between requests for an unresolved address.
    public var retryInterval: Duration = .seconds(1)
    /// Packets held per unresolved address while waiting; older ones are dropped first.
    /// Enough for the fragments of a 64 KiB datagram (45 at MTU 1500): Linux
    /// counts this queue in bytes for the same reason (`unres_qlen_bytes`).
    public var pendingPerAddress = 48
    /// Packets held for all unresolved addresses together.
    public var pendingTotal = 256
    /// A used entry with less than this left is refreshed by a unicast request.
    public var refreshBefore: Duration = .seconds(5)
    /// Entries held at most (Linux's gc_thresh3: 1024). A new entry beyond it evicts
    /// one: never a permanent entry; first one learned but never used, then the
    /// least recently learned, and an unresolved one (with its waiting packets) last.
    public var maxEntries = 1024

    public init() {}
}

/// One row of the ARP cache.
public struct ARPEntry: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Requests are out; packets wait in the pending queue.
        case incomplete(requestsSent: Int, nextRequest: Instant)
        /// The MAC address is known until `expires`.
        case complete(expires: Instant)
        /// Configured by hand; never expires (flag M).
        case permanent
    }
    public var address: IPv4Address
    public var mac: MACAddress?
    public var interface: InterfaceID
    public var state: State
    /// Set when a refresh request has gone out for this entry.
    var refreshing = false
    /// Set when a packet has been sent with this entry: used entries are evicted after unused ones.
    var used = false
}

/// A packet waiting for its next hop's MAC address.
struct PendingPacket {
    /// The whole IP datagram.
    var datagram: [UInt8]
    /// True when the packet was being forwarded (failure → ICMP host unreachable to its source).
    var forwarded: Bool
}

/// The ARP cache (RFC 826) with the queue of packets waiting for resolution.
///
/// Lookups hash the address; the pending queue is bounded per address and in
/// total; the entries are bounded by ``ARPConfig/maxEntries``. Time is passed
/// in: `due(now:)` reports retries and failures. Deadlines (retries, expiry)
/// sit in a keyed heap, so the next one costs O(1) and `due` O(log n) per
/// entry that is due, never a scan of the table.
public struct ARPCache: Sendable {
    public var config: ARPConfig
    private(set) var entries: [IPv4Address: ARPEntry] = [:]
    /// Each entry's next deadline: a retry or give-up (incomplete), or expiry (complete).
    private var timers = TimerQueue<IPv4Address>()
    /// Eviction order of entries that are not permanent, earliest evicted first:
    /// unused complete entries by expiry, then used ones (expiry + lifetime), then
    /// incomplete ones (their start + 3 lifetimes).
    private var evictionOrder = TimerQueue<IPv4Address>()
    /// Entries evicted because the cache was full, since the start.
    public private(set) var evictions = 0
    /// Packets dropped because the unresolved entry they waited for was evicted.
    public private(set) var droppedByEviction = 0
    private var pending: [IPv4Address: [PendingPacket]] = [:]
    private var pendingCount = 0
    /// The last complete entry looked up: a host talks to one next hop most of
    /// the time, so this saves a hash lookup per packet. Cleared on any change.
    private var recent: (address: IPv4Address, mac: MACAddress, expires: Instant)?

    public init(config: ARPConfig = ARPConfig()) { self.config = config }

    /// Entries held (complete, incomplete and permanent). O(1).
    public var count: Int { entries.count }

    /// Sets `address`'s entry and files its deadline and eviction rank.
    private mutating func store(_ entry: ARPEntry, now: Instant) {
        entries[entry.address] = entry
        let lifetime = config.entryLifetime
        switch entry.state {
        case let .incomplete(_, next):
            timers.schedule(entry.address, at: next)
            if evictionOrder.deadline(of: entry.address) == nil { evictionOrder.schedule(entry.address, at: now + lifetime * 3) }
        case let .complete(expires):
            timers.schedule(entry.address, at: expires)
            evictionOrder.schedule(entry.address, at: entry.used ? expires + lifetime : expires)
        case .permanent:
            timers.cancel(entry.address)
            evictionOrder.cancel(entry.address)
        }
    }

    /// Removes `address`'s entry with its deadlines; returns the packets that waited for it.
    private mutating func drop(_ address: IPv4Address) -> [PendingPacket] {
        entries[address] = nil
        timers.cancel(address)
        evictionOrder.cancel(address)
        let waiting = pending.removeValue(forKey: address) ?? []
        pendingCount -= waiting.count
        return waiting
    }

    /// Makes room for one new entry when the cache is full: evicts the first in
    /// eviction order (never a permanent entry), dropping the packets it held
    /// (counted in ``droppedByEviction``). O(log n).
    private mutating func makeRoom(now: Instant) {
        guard entries.count >= config.maxEntries,
              let victim = evictionOrder.popFirstExpired(now: Instant(nanoseconds: .max)) else { return }
        recent = nil
        evictions += 1
        droppedByEviction += drop(victim).count
    }

    /// The live entry for `address`, if any (expired entries count as absent).
    public func entry(_ address: IPv4Address, now: Instant) -> ARPEntry? {
        guard let entry = entries[address] else { return nil }
        if case let .complete(expires) = entry.state, expires <= now { return nil }
        return entry
    }

    /// The MAC address for `address` if it is resolved and not expired.
    public func lookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
        guard let entry = entry(address, now: now) else { return nil }
        switch entry.state {
        case .complete, .permanent: return entry.mac
        case .incomplete: return nil
        }
    }

    /// `lookup` for the per-packet path: remembers the last entry found, so a
    /// run of packets to one next hop costs one hash lookup, not one each.
    mutating func cachedLookup(_ address: IPv4Address, now: Instant) -> MACAddress? {
        if let recent, recent.address == address, recent.expires > now { return recent.mac }
        guard var entry = entry(address, now: now) else { return nil }
        switch entry.state {
        case let .complete(expires):
            if !entry.used {
                entry.used = true
                store(entry, now: now)
            }
            if let mac = entry.mac, !entry.refreshing { recent = (address, mac, expires - config.refreshBefore) }
            return entry.mac
        case .permanent:
            if let mac = entry.mac { recent = (address, mac, Instant(nanoseconds: .max)) }
            return entry.mac
        case .incomplete:
            return nil
        }
    }

    /// True when a used entry is close to expiry and no refresh is out yet; marks it refreshing.
    mutating func needsRefresh(_ address: IPv4Address, now: Instant) -> Bool {
        if let recent, recent.address == address, recent.expires > now { return false }
        guard var entry = entries[address], !entry.refreshing,
              case let .complete(expires) = entry.state, expires - now < config.refreshBefore else { return false }
        entry.refreshing = true
        entries[address] = entry
        return true
    }

    /// Records `mac` for `address` (a reply, or a request from that host).
    /// Returns the packets that were waiting for it.
    /// A new address may evict another entry when the cache is full (see ``evictions``).
    mutating func learn(_ address: IPv4Address, mac: MACAddress, interface: InterfaceID, now: Instant) -> [PendingPacket] {
        recent = nil
        let old = entries[address]
        if old?.state == .permanent { return [] }
        if old == nil { makeRoom(now: now) }
        var entry = ARPEntry(address: address, mac: mac, interface: interface,
                             state: .complete(expires: now + config.entryLifetime))
        entry.used = old?.used ?? false
        store(entry, now: now)
        let waiting = pending.removeValue(forKey: address) ?? []
        pendingCount -= waiting.count
        return waiting
    }

    /// Updates an entry that already exists (RFC 826's merge step); false when there is none.
    mutating func refreshIfPresent(_ address: IPv4Address, mac: MACAddress, interface: InterfaceID, now: Instant)
        -> (updated: Bool, waiting: [PendingPacket]) {
        guard entries[address] != nil else { return (false, []) }
        return (true, learn(address, mac: mac, interface: interface, now: now))
    }

    /// Adds a permanent entry (like `arp -s`).
    public mutating func addPermanent(_ address: IPv4Address, mac: MACAddress, interface: InterfaceID) {
        recent = nil
        store(ARPEntry(address: address, mac: mac, interface: interface, state: .permanent), now: .zero)
    }

    /// Removes an entry and drops what waited for it.
    public mutating func remove(_ address: IPv4Address) {
        recent = nil
        _ = drop(address)
    }

    /// Queues a packet for an unresolved address. Returns whether a first request
    /// must go out now (no resolution was in progress) and how many older packets
    /// were pushed out of the bounded queue.
    mutating func enqueue(_ packet: PendingPacket, for address: IPv4Address, interface: InterfaceID,
                          now: Instant) -> (startResolution: Bool, evicted: [PendingPacket]) {
        var evicted: [PendingPacket] = []
        var queue = pending[address] ?? []
        queue.append(packet)
        pendingCount += 1
        while queue.count > config.pendingPerAddress { evicted.append(queue.removeFirst()); pendingCount -= 1 }
        pending[address] = queue
        if pendingCount > config.pendingTotal, let victim = pending.keys.filter({ $0 != address }).min() ?? pending.keys.min(),
           var victims = pending[victim], !victims.isEmpty {
            evicted.append(victims.removeFirst())
            pendingCount -= 1
            pending[victim] = victims.isEmpty ? nil : victims
        }
        if let entry = entries[address], case .incomplete = entry.state { return (false, evicted) }
        if entries[address] == nil {
            // The queue for `address` is set aside while room is made, so the victim is never it.
            let mine = pending.removeValue(forKey: address)
            makeRoom(now: now)
            pending[address] = mine
        }
        store(ARPEntry(address: address, mac: nil, interface: interface,
                       state: .incomplete(requestsSent: 1, nextRequest: now + config.retryInterval)), now: now)
        return (true, evicted)
    }

    /// Work that is due: addresses to ask again, and addresses given up on with
    /// the packets that waited for them. Expired complete entries are removed.
    /// Earliest deadline first; O(log n) per entry due.
    mutating func due(now: Instant) -> (retry: [(IPv4Address, InterfaceID, attempt: Int)],
                                         failed: [(IPv4Address, [PendingPacket])]) {
        recent = nil
        var retry: [(IPv4Address, InterfaceID, attempt: Int)] = []
        var failed: [(IPv4Address, [PendingPacket])] = []
        while let address = timers.popFirstExpired(now: now) {
            guard var entry = entries[address] else { continue }
            switch entry.state {
            case let .incomplete(sent, _):
                if sent >= config.maxRequests {
                    failed.append((address, drop(address)))
                } else {
                    entry.state = .incomplete(requestsSent: sent + 1, nextRequest: now + config.retryInterval)
                    store(entry, now: now)
                    retry.append((address, entry.interface, sent + 1))
                }
            case .complete:
                _ = drop(address)
            case .permanent:
                break
            }
        }
        return (retry, failed)
    }

    /// The earliest time `due` has work: a retry, a give-up, or an expiry. O(1).
    public func nextDeadline() -> Instant? { timers.nextDeadline }

    /// All entries, sorted by address, for the `arp` view.
    public var allEntries: [ARPEntry] { entries.values.sorted { $0.address < $1.address } }
}
