import NetStackCore

/// The simulator's pending events, ordered by time and then by the order they
/// were scheduled in, so events at equal times always run in the same order and
/// a seed reproduces a run exactly. A thin face over NetStackCore's
/// ``DeadlineHeap`` (specialised here through its `@inlinable` code).
///
/// Push and pop cost O(log n) comparisons and moves; storage is one array,
/// reused as the queue drains and fills.
struct EventQueue<Payload> {
    struct Entry {
        let time: Instant
        let payload: Payload
    }

    private var heap = DeadlineHeap<Payload>()

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The time of the earliest event, nil when empty.
    var nextTime: Instant? { heap.firstDeadline }

    /// Adds `payload` to run at `time`, after everything already queued for that time.
    mutating func push(_ payload: Payload, at time: Instant) { heap.push(payload, at: time) }

    /// Removes and returns the earliest event.
    mutating func pop() -> Entry? {
        guard let time = heap.firstDeadline, let payload = heap.popFirst() else { return nil }
        return Entry(time: time, payload: payload)
    }
}
