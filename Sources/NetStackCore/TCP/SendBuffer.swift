// The TCP send buffer (RFC 9293 §3.3.1, send sequence space): the bytes from
// SND.UNA onwards — sent but unacknowledged, then not yet sent — kept in a
// ring that is allocated on first use, grows toward SO_SNDBUF as data is held
// and is released when empty. Also holds `ByteRing`, the storage both TCP
// buffers share.

/// One fixed allocation of bytes, freed when the last ring using it goes away.
///
/// `@unchecked Sendable`: the bytes are written only through ``ByteRing``,
/// which copies the storage first unless it is uniquely referenced (the same
/// copy-on-write rule as `Array`), so no two owners ever see a write race.
final class ByteStorage: @unchecked Sendable {
    /// First byte of the allocation.
    let base: UnsafeMutableRawPointer
    /// Bytes allocated.
    let capacity: Int

    /// Allocates `capacity` bytes (at least one, so a zero-capacity ring still has a valid pointer). O(1).
    init(capacity: Int) {
        precondition(capacity >= 0, "a byte ring cannot have a negative capacity")
        base = .allocate(byteCount: max(capacity, 1), alignment: 16)
        self.capacity = capacity
    }

    deinit { base.deallocate() }
}

/// A ring of `capacity` bytes addressed by physical index, with wrap-around
/// copies done as at most two `memcpy`s. Owners (``SendBuffer``,
/// ``ReceiveBuffer``) keep their own head and counts; this type only moves bytes.
///
/// Copy-on-write: copying a ring shares the allocation; the first write to a
/// shared ring copies it (O(capacity), once). In steady state nothing allocates.
struct ByteRing: Sendable {
    private var storage: ByteStorage

    /// The storage every empty ring shares: a ring of capacity 0 allocates nothing of its own.
    private static let emptyStorage = ByteStorage(capacity: 0)

    /// A ring of `capacity` bytes. Allocates once (nothing for capacity 0).
    init(capacity: Int) { storage = capacity == 0 ? Self.emptyStorage : ByteStorage(capacity: capacity) }

    /// Bytes the ring holds. O(1).
    var capacity: Int { storage.capacity }

    /// The physical index `offset` bytes after physical index `index`, wrapped.
    /// `offset` must be in `0...capacity`. O(1): one compare, no division.
    func index(_ index: Int, offsetBy offset: Int) -> Int {
        let i = index + offset
        return i >= storage.capacity ? i - storage.capacity : i
    }

    /// Copies `count` bytes from `source` into the ring starting at physical
    /// index `start`, wrapping at the end. `count ≤ capacity`. O(count), memcpy speed.
    mutating func write(at start: Int, from source: UnsafeRawPointer, count: Int) {
        if !isKnownUniquelyReferenced(&storage) { storage = copyOfStorage(capacity: storage.capacity) }
        let first = min(count, storage.capacity - start)
        (storage.base + start).copyMemory(from: source, byteCount: first)
        if count > first { storage.base.copyMemory(from: source + first, byteCount: count - first) }
    }

    /// Copies `count` bytes starting at physical index `start` (wrapping) to
    /// `destination`. `count ≤ capacity`. O(count), memcpy speed.
    func read(at start: Int, count: Int, into destination: UnsafeMutableRawPointer) {
        let first = min(count, storage.capacity - start)
        destination.copyMemory(from: storage.base + start, byteCount: first)
        if count > first { (destination + first).copyMemory(from: storage.base, byteCount: count - first) }
    }

    /// The bytes from physical index `start` up to `count` of them, or fewer
    /// if the end of the allocation comes first. Valid until the next write. O(1).
    func contiguous(at start: Int, maxCount: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + start, count: min(maxCount, storage.capacity - start))
    }

    /// A new ring of `capacity` bytes holding the `count` bytes that start at
    /// physical index `start` here, moved to index 0. Allocates; O(count).
    func relocated(capacity: Int, start: Int, count: Int) -> ByteRing {
        let ring = ByteRing(capacity: capacity)
        read(at: start, count: count, into: ring.storage.base)
        return ring
    }

    /// A private copy of the whole allocation (copy-on-write). O(capacity).
    private func copyOfStorage(capacity: Int) -> ByteStorage {
        let copy = ByteStorage(capacity: capacity)
        copy.base.copyMemory(from: storage.base, byteCount: capacity)
        return copy
    }
}

/// The TCP send buffer: bytes the application wrote that the peer has not
/// acknowledged yet, oldest (SND.UNA) first — those in flight, then those not
/// yet sent (RFC 9293 §3.3.1, send sequence space; §3.9.1 SEND).
///
/// Memory, like Linux's tcp_wmem auto-tuning: `capacity` (SO_SNDBUF) is the
/// most it may hold, but the ring is allocated only when data arrives, starting
/// at ``minimumAllocation`` and doubling (copying the held bytes once) as more
/// is held, up to `capacity`; ``releaseIfEmpty()`` frees it. In steady state —
/// the ring grown to what the connection uses — appending, reading for
/// (re)transmission and dropping acknowledged bytes never allocate, and copies
/// are `memcpy`s (at most two when the ring wraps). Offsets are counted from
/// the oldest held byte, so offset `n` is sequence number SND.UNA + n; the
/// connection maps SYN and FIN, which occupy sequence space but no buffer
/// byte, itself.
struct SendBuffer: Sendable {
    private var ring: ByteRing
    /// Physical index of the oldest held byte (SND.UNA).
    private var head = 0
    /// Bytes held: unacknowledged plus not yet sent.
    private(set) var count = 0

    /// The most the buffer may hold (SO_SNDBUF).
    private(set) var capacity: Int

    /// The first allocation, in bytes (or `capacity`, if smaller): a few segments.
    static let minimumAllocation = 4096

    /// An empty buffer that may hold `capacity` bytes (SO_SNDBUF). Allocates
    /// nothing until data is appended; `capacity ≥ 0`. O(1).
    init(capacity: Int) {
        precondition(capacity >= 0, "SendBuffer: capacity cannot be negative")
        self.capacity = capacity
        ring = ByteRing(capacity: 0)
        allocatedBytes = ring.capacity
    }

    /// Bytes of storage allocated now (0 … `capacity`). O(1).
    private(set) var allocatedBytes = 0  // ring.capacity, kept here to spare a pointer chase per check

    /// Bytes the application may still append: `capacity - count`. O(1).
    var freeSpace: Int { capacity - count }

    /// True when no byte is held. O(1).
    var isEmpty: Bool { count == 0 }

    /// Copies as much of `bytes` as fits after the newest held byte and
    /// returns how many were taken (0 when full or `bytes` is empty).
    /// O(n) for n bytes taken, memcpy speed; allocates only to grow the ring
    /// (doubling, so O(1) amortised per byte) or when its storage is shared with a copy.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        let taken = min(bytes.count, freeSpace)
        guard taken > 0, let source = bytes.baseAddress else { return 0 }
        if count + taken > ring.capacity { grow(toHold: count + taken) }
        ring.write(at: ring.index(head, offsetBy: count), from: source, count: taken)
        count += taken
        return taken
    }

    /// Copies `count` held bytes starting `offset` bytes after the oldest
    /// (sequence number SND.UNA + offset) into the start of `destination`:
    /// a segment's payload, for a first transmission or a retransmission
    /// (RFC 9293 §3.8.1). Precondition: `0 ≤ offset`, `offset + count ≤ self.count`,
    /// `count ≤ destination.count`. O(count), at most two memcpys.
    func copy(from offset: Int, count: Int, into destination: UnsafeMutableRawBufferPointer) {
        precondition(offset >= 0 && count >= 0 && offset <= self.count - count,
                     "SendBuffer.copy: range outside the held bytes")
        precondition(count <= destination.count, "SendBuffer.copy: destination too small")
        guard count > 0, let target = destination.baseAddress else { return }
        ring.read(at: ring.index(head, offsetBy: offset), count: count, into: target)
    }

    /// Lends `body` the longest contiguous run of held bytes starting `offset`
    /// bytes after the oldest, at most `maxCount` long, and returns its result.
    /// The run is shorter than `min(maxCount, count - offset)` only when the
    /// ring wraps inside it; a second call at `offset + run.count` lends the
    /// rest. Lets the caller checksum or copy a payload without a bounce
    /// buffer. The pointer is valid only inside `body`. Precondition:
    /// `0 ≤ offset ≤ count`, `maxCount ≥ 0`. O(1) plus whatever `body` does.
    func withContiguous<R>(from offset: Int, maxCount: Int,
                           _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(offset >= 0 && offset <= count && maxCount >= 0,
                     "SendBuffer.withContiguous: offset outside the held bytes")
        let wanted = min(maxCount, count - offset)
        guard wanted > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(ring.contiguous(at: ring.index(head, offsetBy: offset), maxCount: wanted))
    }

    /// Drops the `count` oldest bytes: the peer acknowledged them, SND.UNA
    /// advances by `count` (RFC 9293 §3.10.7.4, "if SND.UNA < SEG.ACK ≤ SND.NXT
    /// then set SND.UNA ← SEG.ACK"). The caller validates the ACK first and
    /// subtracts the SYN or FIN it covers, which hold no buffer byte.
    /// Precondition: `0 ≤ count ≤ self.count`. O(1): no byte moves.
    mutating func removeFirst(_ count: Int) {
        precondition(count >= 0 && count <= self.count, "SendBuffer.removeFirst: more than is held")
        self.count -= count
        // An empty ring restarts at index 0, so the next run of appends is contiguous.
        head = self.count == 0 ? 0 : ring.index(head, offsetBy: count)
    }

    /// Makes the ring hold at least `needed ≤ capacity` bytes: doubles it (at
    /// least ``minimumAllocation``, at most `capacity`) and moves the held bytes
    /// to its start. Allocates; O(count).
    private mutating func grow(toHold needed: Int) {
        let size = min(capacity, max(needed, 2 * ring.capacity, Self.minimumAllocation))
        ring = ring.relocated(capacity: size, start: head, count: count)
        allocatedBytes = ring.capacity
        head = 0
    }

    /// Frees the storage if no byte is held: an idle or closed connection keeps
    /// none. The next append allocates again. O(1).
    mutating func releaseIfEmpty() {
        guard count == 0, ring.capacity > 0 else { return }
        ring = ByteRing(capacity: 0)
        allocatedBytes = ring.capacity
        head = 0
    }

    /// Changes the capacity (setsockopt SO_SNDBUF), keeping the held bytes.
    /// Refused (false, nothing changes) when `capacity < count`. Shrinks the
    /// storage if it is larger than the new capacity (O(count) copy); not for
    /// the per-segment path. Otherwise O(1).
    mutating func resize(capacity: Int) -> Bool {
        guard capacity >= count else { return false }
        self.capacity = capacity
        if ring.capacity > capacity {
            ring = ring.relocated(capacity: count == 0 ? 0 : capacity, start: head, count: count)
            allocatedBytes = ring.capacity
            head = 0
        }
        return true
    }
}
