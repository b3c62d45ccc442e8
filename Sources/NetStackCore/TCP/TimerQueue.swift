// Timers for TCP (retransmission RFC 6298, delayed ACK RFC 9293 §3.8.6.3,
// persist §3.8.6.1, keep-alive §3.8.4, TIME-WAIT 2MSL §3.6) that never scan
// every connection: one keyed min-heap; the host asks for `nextDeadline` and
// wakes once.

/// A set of timers, at most one per key, ordered by deadline.
///
/// A ``DeadlineHeap`` of keys ordered by (deadline, scheduling order) beside a
/// table of each key's live timer, with lazy deletion:
///
/// - Cancelling, or moving a timer *earlier*, leaves the key's old heap entry
///   behind as stale (it no longer matches the table) and, when moving,
///   pushes a new one. Stale entries are dropped when they reach the top, and
///   the heap is compacted when they outnumber live timers, so the heap never
///   holds more than twice as many entries as there are live timers.
/// - Moving a timer *later* — the common case, a connection restarting its
///   retransmission timer on every ACK (RFC 6298 (5.3)) — only updates the
///   table: the old entry still sorts no later than the true deadline, and is
///   moved down to it if it ever reaches the top. So that costs one hash
///   look-up, no heap work.
///
/// After warm-up nothing allocates (the heap array and the table keep their
/// capacity). Expiry order is deterministic: earliest deadline first; equal
/// deadlines in the order of the `schedule` calls that set them.
struct TimerQueue<Key: Hashable> {
    /// A key's live timer, and the heap entry standing for it, which sorts no
    /// later than (deadline, order).
    fileprivate struct Slot {
        var deadline: Instant
        var order: UInt64
        var entryDeadline: Instant
        var entryOrder: UInt64
    }

    /// Min-heap. Invariant: the top entry, if any, is its key's current entry
    /// and carries that key's true deadline and order.
    private var heap: DeadlineHeap<Key>
    /// Live timers by key.
    private var live: [Key: Slot] = [:]
    /// The next scheduling order to hand out.
    private var nextOrder: UInt64 = 0

    /// An empty queue with room for `capacity` live timers (and the stale
    /// entries that may sit beside them) before anything allocates.
    init(reservingCapacity capacity: Int = 0) {
        heap = DeadlineHeap(reservingCapacity: 2 * capacity + 1)
        live.reserveCapacity(capacity)
    }

    /// Live timers. O(1).
    var count: Int { live.count }

    /// True when no timer is set. O(1).
    var isEmpty: Bool { live.isEmpty }

    /// The earliest deadline of any live timer: when the host should call
    /// ``popExpired(now:into:)`` next. O(1): the calls that change the queue
    /// keep its top exact (amortised O(log n) each).
    var nextDeadline: Instant? { heap.firstDeadline }

    /// The deadline of `key`'s timer, or nil if none is set. O(1) expected (a hash look-up).
    func deadline(of key: Key) -> Instant? { live[key]?.deadline }

    /// Sets `key`'s timer to fire at `deadline`, replacing the timer it had.
    /// O(1) expected when the timer moves later and is not the earliest;
    /// otherwise amortised O(log n).
    mutating func schedule(_ key: Key, at deadline: Instant) {
        let order = nextOrder
        nextOrder += 1
        if let index = live.index(forKey: key), live.values[index].entryDeadline <= deadline {
            // Its entry sorts before (deadline, order) already: leave it where it is.
            live.values[index].deadline = deadline
            live.values[index].order = order
        } else {
            live[key] = Slot(deadline: deadline, order: order, entryDeadline: deadline, entryOrder: order)
            heap.push(key, at: deadline, order: order)
        }
        tidy()
    }

    /// Stops `key`'s timer; nothing happens if it has none. Amortised O(log n).
    mutating func cancel(_ key: Key) {
        guard live.removeValue(forKey: key) != nil else { return }
        tidy()
    }

    /// Removes every timer whose deadline is at or before `now` and calls
    /// `body` with its key, earliest first, equal deadlines in scheduling
    /// order. `body` cannot touch this queue (it is being mutated); to re-arm
    /// a timer from the handler, loop over ``popFirstExpired(now:)`` instead.
    /// O(k log n) for k timers fired.
    mutating func popExpired(now: Instant, into body: (Key) throws -> Void) rethrows {
        while let key = popFirstExpired(now: now) { try body(key) }
    }

    /// Removes and returns the earliest timer's key if its deadline is at or
    /// before `now`, else nil. `while let key = timers.popFirstExpired(now: now) { … }`
    /// lets the handler reschedule. Amortised O(log n).
    mutating func popFirstExpired(now: Instant) -> Key? {
        guard let top = heap.firstEntry, top.deadline <= now else { return nil }
        heap.popFirst()
        live[top.element] = nil
        tidy()
        return top.element
    }

    /// Heap entries, current and stale: for tests of the storage bound.
    var storageCount: Int { heap.count }

    /// Restores the invariants: the top is current and exact (stale tops are
    /// dropped, a postponed top is moved down to its true deadline), and stale
    /// entries do not outnumber live timers. Amortised O(log n).
    private mutating func tidy() {
        if heap.count - live.count > live.count { compact() }
        while let top = heap.firstEntry {
            guard let index = live.index(forKey: top.element), live.values[index].entryOrder == top.order else {
                heap.popFirst()  // stale
                continue
            }
            let slot = live.values[index]
            if slot.order == top.order { break }  // exact
            live.values[index].entryDeadline = slot.deadline
            live.values[index].entryOrder = slot.order
            heap.postponeFirst(to: slot.deadline, order: slot.order)
        }
    }

    /// Drops every stale entry and rebuilds the heap in place. O(n), no
    /// allocation; runs after at least as many stale-making calls as there
    /// are live timers, so it is amortised O(1) per call.
    private mutating func compact() {
        let live = self.live  // a second reference, not a copy: the closure may not touch `self` during the removal
        heap.removeAllEntries { live[$0]?.entryOrder != $1 }
    }
}

extension TimerQueue: Sendable where Key: Sendable {}
extension TimerQueue.Slot: Sendable {}
