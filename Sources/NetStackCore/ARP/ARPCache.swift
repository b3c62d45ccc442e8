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
/// total. Time is passed in: `due(now:)` reports retries and failures.
public struct ARPCache: Sendable {
    public var config: ARPConfig
    private(set) var entries: [IPv4Address: ARPEntry] = [:]
    private var pending: [IPv4Address: [PendingPacket]] = [:]
    private var pendingCount = 0
    /// The last complete entry looked up: a host talks to one next hop most of
    /// the time, so this saves a hash lookup per packet. Cleared on any change.
    private var recent: (address: IPv4Address, mac: MACAddress, expires: Instant)?

    public init(config: ARPConfig = ARPConfig()) { self.config = config }

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
        guard let entry = entry(address, now: now) else { return nil }
        switch entry.state {
        case let .complete(expires):
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
    mutating func learn(_ address: IPv4Address, mac: MACAddress, interface: InterfaceID, now: Instant) -> [PendingPacket] {
        recent = nil
        if entries[address]?.state == .permanent { return [] }
        entries[address] = ARPEntry(address: address, mac: mac, interface: interface,
                                    state: .complete(expires: now + config.entryLifetime))
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
        entries[address] = ARPEntry(address: address, mac: mac, interface: interface, state: .permanent)
    }

    /// Removes an entry and drops what waited for it.
    public mutating func remove(_ address: IPv4Address) {
        recent = nil
        entries[address] = nil
        pendingCount -= pending.removeValue(forKey: address)?.count ?? 0
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
        entries[address] = ARPEntry(address: address, mac: nil, interface: interface,
                                    state: .incomplete(requestsSent: 1, nextRequest: now + config.retryInterval))
        return (true, evicted)
    }

    /// Work that is due: addresses to ask again, and addresses given up on with
    /// the packets that waited for them. Expired complete entries are removed.
    mutating func due(now: Instant) -> (retry: [(IPv4Address, InterfaceID, attempt: Int)],
                                         failed: [(IPv4Address, [PendingPacket])]) {
        recent = nil
        var retry: [(IPv4Address, InterfaceID, attempt: Int)] = []
        var failed: [(IPv4Address, [PendingPacket])] = []
        for (address, entry) in entries.sorted(by: { $0.key < $1.key }) {
            switch entry.state {
            case let .incomplete(sent, next) where next <= now:
                if sent >= config.maxRequests {
                    entries[address] = nil
                    let waiting = pending.removeValue(forKey: address) ?? []
                    pendingCount -= waiting.count
                    failed.append((address, waiting))
                } else {
                    entries[address]?.state = .incomplete(requestsSent: sent + 1, nextRequest: now + config.retryInterval)
                    retry.append((address, entry.interface, sent + 1))
                }
            case let .complete(expires) where expires <= now:
                entries[address] = nil
            default:
                break
            }
        }
        return (retry, failed)
    }

    /// The earliest time `due` has work: a retry, a give-up, or an expiry.
    public func nextDeadline() -> Instant? {
        var earliest: Instant?
        for entry in entries.values {
            let time: Instant? = switch entry.state {
            case let .incomplete(_, next): next
            case let .complete(expires): expires
            case .permanent: nil
            }
            if let time, earliest.map({ time < $0 }) ?? true { earliest = time }
        }
        return earliest
    }

    /// All entries, sorted by address, for the `arp` view.
    public var allEntries: [ARPEntry] { entries.values.sorted { $0.address < $1.address } }
}
