// The TCP receive buffer (RFC 9293 §3.3.1 receive sequence space, §3.8.6
// managing the window, §3.10.7.4 "seventh, process the segment text") with
// out-of-order data stored in place and tracked as ranges for SACK (RFC 2018).

/// The TCP receive buffer: in-order bytes waiting for the application, and
/// segments that arrived early, written straight at their place in one ring.
///
/// Layout, in stream order from the ring's head:
///
///     | readable (RCV.NXT − readable … RCV.NXT) | free space, with out-of-order ranges inside |
///
/// The window the receiver offers is ``freeSpace`` (RFC 9293 §3.8.6); a
/// segment inside it is stored where it belongs, so when the hole before it
/// fills, the bytes are already in place and RCV.NXT simply jumps
/// (``write(at:_:)`` returns how far).
///
/// Memory, like Linux's tcp_rmem auto-tuning: the window offered is always
/// what `capacity` (SO_RCVBUF) allows, but the ring is allocated only when data
/// arrives, starting at ``SendBuffer/minimumAllocation`` and doubling up to
/// `capacity` as the buffer holds more (in-order or out-of-order), so storing
/// anything the window allowed never fails; ``releaseIfEmpty()`` frees it.
/// Growing copies the held bytes once; in steady state nothing allocates.
/// At most `capacity` bytes of ring plus `maxRanges` ranges. A segment that would start a new
/// disjoint out-of-order range when `maxRanges` are already held is refused
/// (dropped, as RFC 9293 §3.10.7.4 allows: out-of-order segments "may be
/// held"), so no sequence of segments a peer sends can make this grow or
/// make a write cost more than O(maxRanges + bytes).
///
/// Ranges are kept as stream positions (bytes since the buffer was made) so
/// RCV.NXT advancing does not rewrite them; accessors report them as offsets
/// from RCV.NXT. An `Int` position cannot wrap in practice (2⁶³ bytes).
struct ReceiveBuffer: Sendable {
    private var ring: ByteRing
    /// Physical index of the oldest readable byte.
    private var head = 0
    /// In-order bytes the application can read.
    private(set) var readable = 0
    /// Stream position of RCV.NXT: bytes that ever became readable.
    private var nextPosition = 0
    /// Out-of-order ranges as stream positions: sorted, disjoint, not touching
    /// each other or RCV.NXT. Room for `maxRanges` reserved at the first one, never exceeded.
    private var ranges: [Range<Int>] = []
    /// Sum of the ranges' lengths.
    private(set) var outOfOrderBytes = 0
    /// Stream position of the first byte of the latest out-of-order write (below
    /// `nextPosition` once it became readable, when no range contains it any more).
    private var mostRecentPosition: Int?
    /// The most disjoint out-of-order ranges held at once.
    let maxRanges: Int

    /// The most the buffer may hold (SO_RCVBUF).
    private(set) var capacity: Int

    /// An empty buffer that may hold `capacity` bytes (SO_RCVBUF) and at most
    /// `maxRanges` out-of-order ranges. Allocates nothing until data arrives; O(1).
    init(capacity: Int, maxRanges: Int = 32) {
        precondition(maxRanges >= 0, "ReceiveBuffer: maxRanges cannot be negative")
        precondition(capacity >= 0, "ReceiveBuffer: capacity cannot be negative")
        ring = ByteRing(capacity: 0)
        allocatedBytes = ring.capacity
        self.capacity = capacity
        self.maxRanges = maxRanges
    }

    /// Bytes of storage allocated now for the ring (0 … `capacity`). O(1).
    private(set) var allocatedBytes = 0  // ring.capacity, kept here to spare a pointer chase per check

    /// True when nothing is held, in order or out of order. O(1).
    var isEmpty: Bool { readable == 0 && ranges.isEmpty }

    /// `capacity - readable`: the most the receive window may offer
    /// (RFC 9293 §3.8.6). Out-of-order bytes live inside it. O(1).
    var freeSpace: Int { capacity - readable }

    /// Stores `bytes` at `offset` bytes past RCV.NXT (offset 0 = RCV.NXT)
    /// — RFC 9293 §3.10.7.4, "seventh, process the segment text".
    ///
    /// Bytes at or past `freeSpace` are cut off (outside the window). Bytes
    /// before RCV.NXT (negative `offset`) were already received and are
    /// skipped. Overlaps with held data are fine; the new copy is kept.
    ///
    /// Returns `accepted: false` (storing nothing) when `offset ≥ freeSpace`,
    /// or when the data would start a new disjoint out-of-order range while
    /// `maxRanges` are held; otherwise true. `advanced` is how many bytes
    /// became readable, i.e. how far RCV.NXT moves: the segment's own bytes
    /// plus any out-of-order ranges it joins up with.
    ///
    /// O(bytes) copying (memcpy) plus O(ranges) to merge. Allocates only to
    /// grow the ring (doubling) or for the first out-of-order range.
    mutating func write(at offset: Int, _ bytes: UnsafeRawBufferPointer) -> (accepted: Bool, advanced: Int) {
        var offset = offset
        var bytes = bytes
        if offset < 0 {
            // Written without negating `offset`, which could overflow on Int.min.
            let stale = offset < -bytes.count ? bytes.count : -offset
            bytes = UnsafeRawBufferPointer(rebasing: bytes[stale...])
            offset = 0
            if bytes.isEmpty { return (true, 0) }
        }
        guard offset < freeSpace else { return (false, 0) }
        let length = min(bytes.count, freeSpace - offset)
        guard length > 0, let source = bytes.baseAddress else { return (true, 0) }
        let start = nextPosition + offset, end = start + length
        if readable + offset + length > ring.capacity { grow(toHold: readable + offset + length) }
        let physical = ring.index(head, offsetBy: readable + offset)

        if offset == 0 {
            ring.write(at: physical, from: source, count: length)
            return (true, advance(to: end))
        }
        // First range at or after `start` that overlaps or touches [start, end), and the one past the last such.
        var first = 0
        while first < ranges.count && ranges[first].upperBound < start { first += 1 }
        var last = first
        while last < ranges.count && ranges[last].lowerBound <= end { last += 1 }
        if first == last {
            guard ranges.count < maxRanges else { return (false, 0) }
            if ranges.capacity < maxRanges { ranges.reserveCapacity(maxRanges) }
            ranges.insert(start..<end, at: first)
            outOfOrderBytes += length
        } else {
            let merged = min(start, ranges[first].lowerBound)..<max(end, ranges[last - 1].upperBound)
            var replaced = 0
            for i in first..<last { replaced += ranges[i].count }
            ranges[first] = merged
            ranges.removeSubrange(first + 1..<last)
            outOfOrderBytes += merged.count - replaced
        }
        ring.write(at: physical, from: source, count: length)
        mostRecentPosition = start
        return (true, 0)
    }

    /// Makes the ring hold at least `needed ≤ capacity` bytes from its head:
    /// doubles it (at least ``SendBuffer/minimumAllocation``, at most `capacity`)
    /// and moves the readable and out-of-order bytes, holes included, to its
    /// start. Allocates; O(bytes held).
    private mutating func grow(toHold needed: Int) {
        let size = min(capacity, max(needed, 2 * ring.capacity, SendBuffer.minimumAllocation))
        let held = readable + (ranges.last.map { $0.upperBound - nextPosition } ?? 0)
        ring = ring.relocated(capacity: size, start: head, count: held)
        allocatedBytes = ring.capacity
        head = 0
    }

    /// Frees the storage (ring and range list) if nothing is held: an idle or
    /// closed connection keeps none. The next write allocates again. O(1).
    mutating func releaseIfEmpty() {
        guard isEmpty else { return }
        if ring.capacity > 0 {
            ring = ByteRing(capacity: 0)
            allocatedBytes = 0
        }
        if ranges.capacity > 0 { ranges = [] }
        head = 0
    }

    /// Moves RCV.NXT to `end`, then on through every out-of-order range that
    /// now touches it; returns how far it moved. O(ranges).
    private mutating func advance(to end: Int) -> Int {
        var newNext = end
        var joined = 0
        while joined < ranges.count && ranges[joined].lowerBound <= newNext {
            newNext = max(newNext, ranges[joined].upperBound)
            outOfOrderBytes -= ranges[joined].count
            joined += 1
        }
        if joined > 0 { ranges.removeFirst(joined) }
        let advanced = newNext - nextPosition
        readable += advanced
        nextPosition = newNext
        return advanced
    }

    /// Removes up to `destination.count` readable bytes, copying them to the
    /// start of `destination`; returns how many (RFC 9293 §3.9.1 RECEIVE).
    /// The window opens by as much. O(n), at most two memcpys.
    mutating func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let n = peek(into: destination)
        consume(n)
        return n
    }

    /// Copies up to `destination.count` readable bytes to the start of
    /// `destination` without removing them; returns how many. O(n).
    func peek(into destination: UnsafeMutableRawBufferPointer) -> Int {
        let n = min(destination.count, readable)
        guard n > 0, let target = destination.baseAddress else { return 0 }
        ring.read(at: head, count: n, into: target)
        return n
    }

    /// Drops `count` readable bytes without copying them (a discard service,
    /// or bytes the application consumed through ``withReadable(_:)``).
    /// Precondition: `0 ≤ count ≤ readable`. O(1).
    mutating func discard(_ count: Int) {
        precondition(count >= 0 && count <= readable, "ReceiveBuffer.discard: more than is readable")
        consume(count)
    }

    /// Lends `body` the longest contiguous run of readable bytes from the
    /// oldest (shorter than `readable` only when the ring wraps), for reading
    /// without a copy; follow with ``discard(_:)``. O(1) plus `body`.
    func withReadable<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        guard readable > 0 else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(ring.contiguous(at: head, maxCount: readable))
    }

    /// Removes `count ≤ readable` bytes from the front. The physical place of
    /// RCV.NXT does not move, so out-of-order data stays where it is. O(1).
    private mutating func consume(_ count: Int) {
        readable -= count
        // Nothing held at all: restart at index 0 so the next data is contiguous.
        head = readable == 0 && ranges.isEmpty ? 0 : ring.index(head, offsetBy: count)
    }

    /// The out-of-order ranges held past RCV.NXT, as offsets from RCV.NXT,
    /// sorted and disjoint: what SACK blocks report (RFC 2018 §3). O(1) to
    /// get; no allocation.
    var outOfOrderRanges: OutOfOrderRanges { OutOfOrderRanges(positions: ranges, base: nextPosition) }

    /// True when the `count` bytes at `offset` past RCV.NXT are all held already in one
    /// out-of-order range (a duplicate of data received). O(ranges).
    func holds(offset: Int, count: Int) -> Bool {
        guard offset > 0, count > 0 else { return false }
        let start = nextPosition + offset, end = start + count
        return ranges.contains { $0.lowerBound <= start && end <= $0.upperBound }
    }

    /// The out-of-order range (offsets from RCV.NXT) holding the most recently
    /// received out-of-order segment, or nil once that segment became readable
    /// or when none arrived: RFC 2018 §4, "the first SACK block ... MUST
    /// specify the contiguous block of data containing the segment which
    /// triggered this ACK". O(ranges).
    var mostRecentRange: Range<Int>? {
        guard let position = mostRecentPosition else { return nil }
        for range in ranges where range.contains(position) {
            return (range.lowerBound - nextPosition)..<(range.upperBound - nextPosition)
        }
        return nil
    }

    /// Raises the capacity to `capacity` (auto-tuning): the window may offer more;
    /// storage still grows only as data is held. Nothing moves, so it works with
    /// out-of-order data held too. A smaller value does nothing. O(1).
    mutating func raiseCapacity(to capacity: Int) {
        if capacity > self.capacity { self.capacity = capacity }
    }

    /// Changes the capacity (setsockopt SO_RCVBUF), keeping the readable
    /// bytes. Refused (false, nothing changes) while out-of-order data is held
    /// or when `capacity < readable`. Allocates and copies: O(readable); not for
    /// the per-segment path. The caller must not shrink a window it already
    /// offered (RFC 9293 §3.8.6). Shrinks the storage only when it is larger
    /// than the new capacity. Otherwise O(1).
    mutating func resize(capacity: Int) -> Bool {
        guard ranges.isEmpty, capacity >= readable else { return false }
        self.capacity = capacity
        if ring.capacity > capacity {
            ring = ring.relocated(capacity: readable == 0 ? 0 : capacity, start: head, count: readable)
            allocatedBytes = ring.capacity
            head = 0
        }
        return true
    }
}

/// The out-of-order ranges of a ``ReceiveBuffer`` as offsets from RCV.NXT,
/// sorted ascending. A view: it shares the buffer's range list (no copy,
/// no allocation); each element is computed on access in O(1). Do not keep
/// it across a write to the buffer: the write would then copy the list.
struct OutOfOrderRanges: RandomAccessCollection, Sendable {
    /// The buffer's ranges, as stream positions.
    fileprivate let positions: [Range<Int>]
    /// The stream position of RCV.NXT, subtracted from each.
    fileprivate let base: Int

    /// Always 0.
    var startIndex: Int { 0 }
    /// The number of ranges.
    var endIndex: Int { positions.count }
    /// The `index`th range, as offsets from RCV.NXT. O(1).
    subscript(index: Int) -> Range<Int> {
        let range = positions[index]
        return (range.lowerBound - base)..<(range.upperBound - base)
    }
}
