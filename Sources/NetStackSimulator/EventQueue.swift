import NetStackCore

/// A binary min-heap of pending simulator events, ordered by time and then by
/// the order they were scheduled in, so events at equal times always run in
/// the same order and a seed reproduces a run exactly.
///
/// Push and pop cost O(log n) comparisons and moves; storage is one array,
/// reused as the queue drains and fills.
struct EventQueue<Payload> {
    struct Entry {
        let time: Instant
        let sequence: UInt64
        let payload: Payload
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    /// The time of the earliest event, nil when empty.
    var nextTime: Instant? { heap.first?.time }

    /// Adds `payload` to run at `time`, after everything already queued for that time.
    mutating func push(_ payload: Payload, at time: Instant) {
        heap.append(Entry(time: time, sequence: nextSequence, payload: payload))
        nextSequence &+= 1
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest event.
    mutating func pop() -> Entry? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let first = heap[0]
        heap[0] = last
        siftDown(0)
        return first
    }

    private static func precedes(_ x: Entry, _ y: Entry) -> Bool {
        x.time < y.time || (x.time == y.time && x.sequence < y.sequence)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            var smallest = left
            if right < heap.count, Self.precedes(heap[right], heap[left]) { smallest = right }
            guard Self.precedes(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
