/// A bounded FIFO of frames held in reusable slots: the adapter's buffer memory.
///
/// Each slot is a byte array allocated once at its full size and reused, so
/// after warm-up pushing and popping frames allocates nothing. When the ring
/// is full, `push` refuses the frame: the caller counts the overflow.
public struct FrameRing: Sendable {
    private var slots: [[UInt8]]
    private var lengths: [Int]
    private var head = 0
    /// Frames currently held.
    public private(set) var count = 0
    /// Largest frame a slot holds.
    public let slotSize: Int

    /// A ring of `capacity` slots of `slotSize` bytes each.
    public init(capacity: Int, slotSize: Int) {
        precondition(capacity > 0 && slotSize > 0, "a frame ring needs at least one slot of at least one byte")
        slots = Array(repeating: [UInt8](repeating: 0, count: slotSize), count: capacity)
        lengths = Array(repeating: 0, count: capacity)
        self.slotSize = slotSize
    }

    /// Number of slots.
    public var capacity: Int { slots.count }
    /// True when no frame is held.
    public var isEmpty: Bool { count == 0 }
    /// True when `push` would refuse.
    public var isFull: Bool { count == slots.count }

    /// Copies `frame` into the next free slot. Returns false (and stores nothing)
    /// when the ring is full or the frame is larger than a slot.
    @discardableResult
    public mutating func push(_ frame: UnsafeRawBufferPointer) -> Bool {
        push(length: frame.count) { $0.copyMemory(from: frame) }
    }

    /// Reserves the next slot, lets `fill` write exactly `length` bytes into it,
    /// and commits it. Returns false without calling `fill` when full or too long.
    @discardableResult
    public mutating func push(length: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Bool {
        guard count < slots.count, length <= slotSize, length >= 0 else { return false }
        let index = (head + count) % slots.count
        slots[index].withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<length])) }
        lengths[index] = length
        count += 1
        return true
    }

    /// Removes the oldest frame, lending its bytes to `body` for the duration of the call.
    /// Returns nil when empty.
    public mutating func pop<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard count > 0 else { return nil }
        let index = head
        head = (head + 1) % slots.count
        count -= 1
        let length = lengths[index]
        return try slots[index].withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }
}
