import Glibc
import Synchronization

/// A bounded queue of packets in preallocated slots, filled from any thread and
/// emptied by the loop thread, with an eventfd that epoll sees readable while
/// packets wait.
///
/// The storage — `capacity` slots of `slotSize` bytes — is allocated once; a push
/// or a pop is one copy under a mutex, with no allocation. A packet that does not
/// fit a slot, or arrives while every slot is full, is dropped and counted. The
/// eventfd is written only when the queue goes from empty to not empty, so a burst
/// costs one system call, not one per packet.
final class PacketRing: @unchecked Sendable {
    // @unchecked: `slots` and `lengths` are only touched with `state` locked.

    /// Packets the ring holds at most.
    let capacity: Int
    /// The largest packet a slot holds.
    let slotSize: Int
    /// Readable while packets wait (level-triggered epoll on it wakes the loop).
    let readiness: WakeupSignal
    private let slots: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    private let state = Mutex(Counters())

    /// What the ring has seen, read under its lock.
    struct Counters: Sendable {
        var head = 0, count = 0
        /// Packets taken in and handed out.
        var pushed = 0, popped = 0
        /// Packets dropped because the ring was full.
        var dropped = 0
        /// Packets dropped because they were empty or larger than a slot.
        var oversized = 0
    }

    /// A ring of `capacity` slots of `slotSize` bytes (allocated here, once).
    init(capacity: Int, slotSize: Int) throws(RuntimeError) {
        precondition(capacity > 0 && slotSize > 0)
        self.capacity = capacity
        self.slotSize = slotSize
        readiness = try WakeupSignal()
        slots = .allocate(byteCount: capacity * slotSize, alignment: 16)
        lengths = .allocate(capacity: capacity)
    }

    deinit {
        slots.deallocate()
        lengths.deallocate()
        close(readiness.fd)
    }

    /// A default capacity for slots of `slotSize` bytes: 256, fewer for big slots (at most about 4 MiB in all).
    static func defaultCapacity(slotSize: Int) -> Int { max(16, min(256, (4 << 20) / max(1, slotSize))) }

    /// Copies `packet` into a free slot; false (and counted) when it is empty, too big, or the ring is full.
    @discardableResult
    func push(_ packet: UnsafeRawBufferPointer) -> Bool {
        let outcome = state.withLock { counters -> (stored: Bool, wasEmpty: Bool) in
            guard packet.count > 0, packet.count <= slotSize else {
                counters.oversized += 1
                return (false, false)
            }
            guard counters.count < capacity else {
                counters.dropped += 1
                return (false, false)
            }
            let slot = (counters.head + counters.count) % capacity
            (slots + slot * slotSize).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
            lengths[slot] = packet.count
            counters.count += 1
            counters.pushed += 1
            return (true, counters.count == 1)
        }
        if outcome.wasEmpty { readiness.signal() }
        return outcome.stored
    }

    /// Moves the oldest packet into `buffer` (truncated to its size): its length, or 0 when none waits.
    /// When the ring is found empty the eventfd is cleared, then the ring looked at once more, so a
    /// packet pushed meanwhile is neither missed nor left waiting without a wake-up.
    func pop(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let length = popOne(into: buffer)
        if length > 0 { return length }
        readiness.drain()
        let late = popOne(into: buffer)
        // It may have been signalled before the drain; keep the level up while more wait.
        if late > 0, !isEmpty { readiness.signal() }
        return late
    }

    private func popOne(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        state.withLock { counters in
            guard counters.count > 0 else { return 0 }
            let slot = counters.head
            let length = min(lengths[slot], buffer.count)
            buffer.baseAddress!.copyMemory(from: slots + slot * slotSize, byteCount: length)
            counters.head = (slot + 1) % capacity
            counters.count -= 1
            counters.popped += 1
            return length
        }
    }

    /// Whether no packet waits.
    var isEmpty: Bool { state.withLock { $0.count == 0 } }

    /// A snapshot of the counters.
    var counters: Counters { state.withLock { $0 } }
}
