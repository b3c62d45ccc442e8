/// Fixed memory for a ring of frame slots, allocated once and freed with its owner.
final class FrameSlots {
    let base: UnsafeMutableRawPointer
    let lengths: UnsafeMutablePointer<Int>
    /// A word the owner keeps with each frame (offload metadata: a trusted checksum, a GSO segment size).
    let marks: UnsafeMutablePointer<UInt32>
    /// Where each frame starts in its slot (0 unless pushed with headroom).
    let offsets: UnsafeMutablePointer<Int>
    let capacity: Int
    let slotSize: Int

    init(capacity: Int, slotSize: Int) {
        self.capacity = capacity
        self.slotSize = slotSize
        base = .allocate(byteCount: capacity * slotSize, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: capacity * slotSize)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        marks = .allocate(capacity: capacity)
        marks.initialize(repeating: 0, count: capacity)
        offsets = .allocate(capacity: capacity)
        offsets.initialize(repeating: 0, count: capacity)
    }

    deinit {
        base.deallocate()
        lengths.deallocate()
        marks.deallocate()
        offsets.deallocate()
    }

    @inline(__always) func slot(_ index: Int) -> UnsafeMutableRawPointer { base + index * slotSize }
}

/// A bounded FIFO of frames held in fixed slots: the adapter's buffer memory.
///
/// The slots are one allocation made at creation; pushing and popping frames
/// afterwards allocates nothing, and the oldest frame can be read in place
/// (`peek`) while the stack works on it. When the ring is full, `push` refuses
/// the frame: the caller counts the overflow.
///
/// The slots are shared by copies of a ring, so a ring belongs to one owner
/// (its adapter, inside its host); only that owner mutates it.
public struct FrameRing: @unchecked Sendable {
    private let slots: FrameSlots
    private var head = 0
    /// Frames currently held.
    public private(set) var count = 0
    /// Frames pushed since creation (wrapping): tells a coalescer whether the newest slot is still its run.
    private(set) var pushes = 0

    /// A ring of `capacity` slots of `slotSize` bytes each.
    public init(capacity: Int, slotSize: Int) {
        precondition(capacity > 0 && slotSize > 0, "a frame ring needs at least one slot of at least one byte")
        slots = FrameSlots(capacity: capacity, slotSize: slotSize)
    }

    /// Number of slots.
    public var capacity: Int { slots.capacity }
    /// Largest frame a slot holds.
    public var slotSize: Int { slots.slotSize }
    /// True when no frame is held.
    public var isEmpty: Bool { count == 0 }
    /// True when `push` would refuse.
    public var isFull: Bool { count == slots.capacity }

    /// Copies `frame` into the next free slot. Returns false (and stores nothing)
    /// when the ring is full or the frame is larger than a slot.
    /// `mark` is kept with the frame (``peekMark()``).
    @discardableResult
    public mutating func push(_ frame: UnsafeRawBufferPointer, mark: UInt32 = 0) -> Bool {
        push(length: frame.count, mark: mark) { $0.copyMemory(from: frame) }
    }

    /// Reserves the next slot, lets `fill` write exactly `length` bytes into it,
    /// and commits it. Returns false without calling `fill` when full or too long.
    /// `headroom`: the frame starts that many bytes into its slot (to align what follows its headers).
    @discardableResult
    public mutating func push(length: Int, mark: UInt32 = 0, headroom: Int = 0,
                              _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard count < slots.capacity, length >= 0, headroom >= 0, length + headroom <= slots.slotSize else { return false }
        var index = head + count
        if index >= slots.capacity { index -= slots.capacity }
        fill(UnsafeMutableRawBufferPointer(start: slots.slot(index) + headroom, count: length))
        slots.lengths[index] = length
        slots.offsets[index] = headroom
        slots.marks[index] = mark
        count += 1
        pushes &+= 1
        return true
    }

    /// The newest frame's slot index. Requires a frame held.
    private var newest: Int {
        let index = head + count - 1
        return index >= slots.capacity ? index - slots.capacity : index
    }

    /// Sets the newest frame's length (bytes written into its slot in place: receive coalescing
    /// glued a segment onto it). Requires a frame held and `length` within a slot.
    mutating func resizeNewest(to length: Int) {
        precondition(count > 0 && length >= 0 && length + slots.offsets[newest] <= slots.slotSize, "no frame held, or longer than a slot")
        slots.lengths[newest] = length
    }

    /// Replaces the newest frame's mark. Requires a frame held.
    mutating func markNewest(_ mark: UInt32) {
        precondition(count > 0, "no frame held")
        slots.marks[newest] = mark
    }

    /// The oldest frame, in place; valid until it is dropped. Nil when empty.
    public func peek() -> UnsafeRawBufferPointer? {
        guard count > 0 else { return nil }
        return UnsafeRawBufferPointer(start: slots.slot(head) + slots.offsets[head], count: slots.lengths[head])
    }

    /// The mark pushed with the oldest frame; 0 when empty.
    public func peekMark() -> UInt32 { count > 0 ? slots.marks[head] : 0 }

    /// Forgets the oldest frame. Emptied, the ring starts again at its first slot: a burst
    /// then reuses the slots the last one warmed in the cache instead of walking the whole
    /// ring (1,024 transmit slots are 1.5 MiB, more than the L2 cache).
    public mutating func dropOldest() {
        guard count > 0 else { return }
        count -= 1
        if count == 0 {
            head = 0
            return
        }
        head += 1
        if head == slots.capacity { head = 0 }
    }

    /// Removes the oldest frame, lending its bytes to `body` for the duration of the call.
    /// Returns nil when empty.
    public mutating func pop<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let frame = peek() else { return nil }
        defer { dropOldest() }
        return try body(frame)
    }

    /// Removes the oldest frame, lending its bytes and its mark to `body`. Nil when empty.
    public mutating func popMarked<R>(_ body: (UnsafeRawBufferPointer, UInt32) throws -> R) rethrows -> R? {
        guard let frame = peek() else { return nil }
        let mark = slots.marks[head]
        defer { dropOldest() }
        return try body(frame, mark)
    }
}
