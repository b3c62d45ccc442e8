/// A binary min-heap of elements ordered by (deadline, order): the one priority
/// queue behind every table with deadlines — TCP's `TimerQueue`, the ARP
/// cache, reassembly, the simulator's event queue and the impaired wire.
///
/// `order` breaks ties between equal deadlines; ``push(_:at:)`` hands out an
/// increasing order per push, so equal deadlines leave in the order they were
/// pushed and a run repeats exactly. A caller that keeps its own orders (a
/// keyed queue with lazy deletion) passes them to ``push(_:at:order:)``; it then
/// must not mix in the other push.
///
/// Push and pop cost O(log n) comparisons and moves; peeking is O(1); storage is
/// one array that keeps its capacity as the heap drains and fills, so a warm heap
/// allocates nothing. Public and `@inlinable` so other modules (the simulator,
/// the runtime) get a specialised copy for their element type.
public struct DeadlineHeap<Element> {
    @usableFromInline
    struct Entry {
        @usableFromInline var deadline: Instant
        @usableFromInline var order: UInt64
        @usableFromInline var element: Element

        @inlinable init(deadline: Instant, order: UInt64, element: Element) {
            self.deadline = deadline
            self.order = order
            self.element = element
        }

        /// Heap order: by deadline, then by order. A strict total order when orders are unique.
        @inlinable func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && order < other.order)
        }
    }

    @usableFromInline var entries: [Entry] = []
    @usableFromInline var nextOrder: UInt64 = 0

    /// An empty heap with room for `capacity` elements before it allocates.
    @inlinable public init(reservingCapacity capacity: Int = 0) {
        entries.reserveCapacity(capacity)
    }

    /// Elements held. O(1).
    @inlinable public var count: Int { entries.count }

    /// True when the heap holds nothing. O(1).
    @inlinable public var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline, nil when empty. O(1).
    @inlinable public var firstDeadline: Instant? { entries.first?.deadline }

    /// The element with the earliest deadline (ties: lowest order), nil when empty. O(1).
    @inlinable public var first: Element? { entries.first?.element }

    /// The first element with its deadline and order, nil when empty. O(1).
    @inlinable public var firstEntry: (deadline: Instant, order: UInt64, element: Element)? {
        guard let top = entries.first else { return nil }
        return (top.deadline, top.order, top.element)
    }

    /// Adds `element` due at `deadline`, after everything already pushed for that deadline. O(log n).
    @inlinable public mutating func push(_ element: Element, at deadline: Instant) {
        let order = nextOrder
        nextOrder &+= 1
        push(element, at: deadline, order: order)
    }

    /// Adds `element` due at `deadline` with the caller's tie-breaking `order`. O(log n).
    @inlinable public mutating func push(_ element: Element, at deadline: Instant, order: UInt64) {
        entries.append(Entry(deadline: deadline, order: order, element: element))
        siftUp(entries.count - 1)
    }

    /// Removes and returns the first element, nil when empty. O(log n).
    @inlinable @discardableResult
    public mutating func popFirst() -> Element? {
        guard let last = entries.popLast() else { return nil }
        guard !entries.isEmpty else { return last.element }
        let top = entries[0].element
        entries[0] = last
        siftDown(0)
        return top
    }

    /// Removes and returns the first element if its deadline is at or before `now`, else nil. O(log n).
    @inlinable public mutating func popFirst(dueBy now: Instant) -> Element? {
        guard let top = entries.first, top.deadline <= now else { return nil }
        return popFirst()
    }

    /// Gives the first element a new deadline and order that sort no earlier than
    /// its present ones (postponing it), and moves it down to its place. O(log n).
    @inlinable public mutating func postponeFirst(to deadline: Instant, order: UInt64) {
        guard !entries.isEmpty else { return }
        entries[0].deadline = deadline
        entries[0].order = order
        siftDown(0)
    }

    /// Removes every element for which `shouldRemove` is true and rebuilds the
    /// heap in place: O(n), no allocation. For dropping stale entries in bulk.
    @inlinable public mutating func removeAll(where shouldRemove: (Element) throws -> Bool) rethrows {
        try entries.removeAll { try shouldRemove($0.element) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    /// `removeAll(where:)` with each element's order too: for keyed queues that
    /// tell stale entries by their order. O(n), no allocation.
    @inlinable public mutating func removeAllEntries(where shouldRemove: (Element, UInt64) throws -> Bool) rethrows {
        try entries.removeAll { try shouldRemove($0.element, $0.order) }
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    /// Empties the heap, keeping its storage.
    @inlinable public mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    @inlinable mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @inlinable mutating func siftDown(_ start: Int) {
        var parent = start
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            let child = right < count && entries[right].precedes(entries[left]) ? right : left
            guard entries[child].precedes(entries[parent]) else { return }
            entries.swapAt(child, parent)
            parent = child
        }
    }
}

extension DeadlineHeap: Sendable where Element: Sendable {}
extension DeadlineHeap.Entry: Sendable where Element: Sendable {}
