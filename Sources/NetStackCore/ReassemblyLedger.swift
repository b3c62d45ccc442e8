/// The memory and age bookkeeping of a fragment reassembler, shared by the IPv4
/// ``Reassembler`` and the ``IPv6Reassembler``: which datagrams are open and since
/// when, how many bytes each group of sources (an IPv4 address, an IPv6 /64) holds and
/// how many all hold, and which datagram to evict next when a fragment needs room.
///
/// The reassembler owns the datagrams themselves; the ledger knows them by key. A key
/// opened again after it was closed is a new datagram: a serial number tells its entries
/// from the stale ones the earlier datagram left in the age order, which are skipped and
/// compacted, never searched for. Every operation is amortised O(log n) in open datagrams.
struct ReassemblyLedger<Key: Hashable & Sendable, Group: Hashable & Sendable>: Sendable {
    typealias Entry = (key: Key, serial: UInt64)

    /// What one group holds: bytes charged, datagrams open, and its datagrams in
    /// opening order (with stale entries for closed ones, skipped and compacted).
    private struct Load: Sendable {
        var bytes = 0
        var datagrams = 0
        var ages: [Entry] = []
        var head = 0
    }

    /// Bytes charged in all.
    private(set) var bytesTotal = 0
    /// The serial of each open datagram.
    private var serials: [Key: UInt64] = [:]
    private var loadByGroup: [Group: Load] = [:]
    /// Every open datagram by deadline (opening order), with stale entries for closed ones.
    private var byAge = DeadlineHeap<Entry>()
    private var nextSerial: UInt64 = 0
    /// The datagram ``victim(for:group:keeping:maxGroupBytes:maxTotalBytes:)`` must not
    /// choose, taken off the age order while it looks past it; put back when it is done.
    private var setAside: (deadline: Instant, order: UInt64, element: Entry)?

    /// Bytes charged to `group`. O(1).
    func bytes(of group: Group) -> Int { loadByGroup[group]?.bytes ?? 0 }

    /// The earliest deadline of an open datagram. O(1).
    var nextDeadline: Instant? { byAge.firstDeadline }

    /// Records a new datagram under `key`, charged to `group`, due at `deadline`.
    mutating func open(_ key: Key, group: Group, deadline: Instant) {
        let serial = nextSerial
        nextSerial &+= 1
        serials[key] = serial
        byAge.push((key, serial), at: deadline)
        loadByGroup[group, default: Load()].datagrams += 1
        loadByGroup[group]!.ages.append((key, serial))
    }

    /// Charges `bytes` more to `group`.
    mutating func charge(_ group: Group, _ bytes: Int) {
        bytesTotal += bytes
        loadByGroup[group, default: Load()].bytes += bytes
    }

    /// Gives back `bytes` of `group`'s charge for a datagram that stays open.
    mutating func release(_ group: Group, _ bytes: Int) {
        bytesTotal -= bytes
        loadByGroup[group]?.bytes -= bytes
    }

    /// Closes the datagram under `key` (completed, discarded, evicted or expired) and gives
    /// back its whole charge, `bytes`. Nothing happens for a key not open.
    mutating func close(_ key: Key, group: Group, bytes: Int) {
        guard serials.removeValue(forKey: key) != nil else { return }
        bytesTotal -= bytes
        if var load = loadByGroup.removeValue(forKey: group) {
            load.bytes -= bytes
            load.datagrams -= 1
            if load.datagrams > 0 {
                if load.ages.count - load.head > 2 * load.datagrams + 16 {
                    // Closed datagrams left their entries behind: keep the open ones only.
                    load.ages.removeAll { !isOpen($0) }
                    load.head = 0
                }
                loadByGroup[group] = load
            }
        }
        tidy()
    }

    /// The next datagram to evict so that `cost` more bytes fit for `group`: the group's
    /// oldest while the group would pass `maxGroupBytes`, then the oldest of all while the
    /// total would pass `maxTotalBytes`; never `keeping`. Nil when the bytes fit or no other
    /// datagram is left. The caller closes each victim and asks again until nil.
    mutating func victim(for cost: Int, group: Group, keeping: Key, maxGroupBytes: Int, maxTotalBytes: Int) -> Key? {
        if bytes(of: group) + cost > maxGroupBytes, let oldest = oldest(of: group, except: keeping) { return oldest }
        while bytesTotal + cost > maxTotalBytes, let top = byAge.firstEntry {
            if !isOpen(top.element) {
                byAge.popFirst()
            } else if top.element.key == keeping {
                setAside = top
                byAge.popFirst()
            } else {
                return top.element.key
            }
        }
        if let held = setAside {
            byAge.push(held.element, at: held.deadline, order: held.order)  // back in its place in the order
            setAside = nil
        }
        return nil
    }

    /// Takes the oldest open datagram whose deadline is at or before `now` off the age
    /// order and returns its key (the caller closes it); nil when none is due.
    mutating func due(by now: Instant) -> Key? {
        while let entry = byAge.popFirst(dueBy: now) {
            if isOpen(entry) { return entry.key }
        }
        return nil
    }

    /// The oldest open datagram of `group` other than `except`. Skips (and drops) stale
    /// entries at the front; amortised O(1).
    private mutating func oldest(of group: Group, except: Key) -> Key? {
        guard var load = loadByGroup.removeValue(forKey: group) else { return nil }  // edited without a second reference
        defer { loadByGroup[group] = load }
        while load.head < load.ages.count, !isOpen(load.ages[load.head]) { load.head += 1 }
        if load.head > 32 && load.head * 2 > load.ages.count {
            load.ages.removeFirst(load.head)
            load.head = 0
        }
        for entry in load.ages[load.head...] where entry.key != except && isOpen(entry) { return entry.key }
        return nil
    }

    private func isOpen(_ entry: Entry) -> Bool { serials[entry.key] == entry.serial }

    /// Drops stale entries from the top of the age order (so its top is an open datagram's
    /// deadline) and compacts it when stale entries outnumber open ones. Amortised O(log n).
    private mutating func tidy() {
        while let top = byAge.first, !isOpen(top) { byAge.popFirst() }
        if byAge.count > 2 * serials.count + 16 {
            let serials = self.serials
            byAge.removeAll { serials[$0.key] != $0.serial }
        }
    }
}
