import NetStackCore
public import NetStackWire

/// One row of a switch's MAC address table, as `show mac address-table` prints it.
public struct MACTableEntry: Hashable, Sendable {
    /// The learned source address.
    public let mac: MACAddress
    /// The port frames from `mac` came in by.
    public let port: PortID
    /// Time since a frame from `mac` was last seen.
    public let age: Duration

    /// A row for `mac` on `port`, last seen `age` ago.
    public init(mac: MACAddress, port: PortID, age: Duration) {
        self.mac = mac
        self.port = port
        self.age = age
    }
}

/// A learning bridge's filtering database (IEEE 802.1D §7.9): source MAC → port,
/// with aging. Lookups and updates are one hash-table operation; a sweep for
/// aged entries walks the table. Dictionary order never leaks out: whatever is
/// reported is sorted first, so runs are reproducible.
struct MACTable {
    struct Entry {
        var port: PortID
        var lastSeen: Instant
    }

    /// How long an entry lives without a frame from its address.
    var agingTime: Duration
    /// The most entries kept; when full, new addresses are not learned (and are flooded to).
    var capacity: Int
    private(set) var entries: [MACAddress: Entry] = [:]

    init(agingTime: Duration, capacity: Int) {
        self.agingTime = agingTime
        self.capacity = capacity
    }

    /// What learning a source did.
    enum Update: Equatable {
        case refreshed, learned, moved(from: PortID), tableFull
    }

    /// Records that a frame from `mac` came in on `port` at `now`.
    mutating func learn(_ mac: MACAddress, port: PortID, now: Instant) -> Update {
        if var entry = entries[mac], !isExpired(entry, now: now) {
            let old = entry.port
            entry.port = port
            entry.lastSeen = now
            entries[mac] = entry
            return old == port ? .refreshed : .moved(from: old)
        }
        if entries[mac] == nil, entries.count >= capacity { return .tableFull }
        entries[mac] = Entry(port: port, lastSeen: now)
        return .learned
    }

    /// The port `mac` was learned on, unless it aged out; an aged entry is removed and returned in `aged`.
    mutating func lookup(_ mac: MACAddress, now: Instant) -> (port: PortID?, aged: Entry?) {
        guard let entry = entries[mac] else { return (nil, nil) }
        if isExpired(entry, now: now) {
            entries[mac] = nil
            return (nil, entry)
        }
        return (entry.port, nil)
    }

    /// Removes every aged entry and returns them, sorted by address.
    mutating func sweep(now: Instant) -> [(mac: MACAddress, port: PortID)] {
        let aged = entries.filter { isExpired($0.value, now: now) }
            .map { (mac: $0.key, port: $0.value.port) }
            .sorted { $0.mac < $1.mac }
        for item in aged { entries[item.mac] = nil }
        return aged
    }

    /// The live entries at `now`, sorted by port, then address.
    func rows(now: Instant) -> [MACTableEntry] {
        entries.filter { !isExpired($0.value, now: now) }
            .map { MACTableEntry(mac: $0.key, port: $0.value.port, age: now - $0.value.lastSeen) }
            .sorted { ($0.port, $0.mac.rawValue) < ($1.port, $1.mac.rawValue) }
    }

    /// An entry lives for exactly `agingTime` after its last refresh.
    private func isExpired(_ entry: Entry, now: Instant) -> Bool {
        now >= entry.lastSeen + agingTime
    }
}
