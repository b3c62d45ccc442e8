// The sender's SACK scoreboard: what the peer has told us it holds above
// SND.UNA, as ranges. RFCs to read: RFC 2018 (SACK option), RFC 6675 §3 (the
// scoreboard), RFC 2883 (D-SACK, which this scoreboard ignores). Loss
// detection and the pipe estimate work on the per-segment records instead
// (`RetransmissionQueue`, RFC 8985); the connection uses the ranges to find
// which part of a SACK block is new, and RACK's scan uses them to jump over
// runs of SACKed records.
//
// Ranges are kept sorted, disjoint and non-adjacent in a fixed inline array of
// raw sequence-number pairs, so recording a SACK block never allocates. Loops
// read it through a `Span`: subscripting an `InlineArray` directly copies
// the whole array per access in Swift 6.3 (measured ~3× slower). All
// ranges lie in [SND.UNA, SND.NXT], a window far below 2³¹, so ordering by
// distance from SND.UNA is sound even across wrap-around.

import NetStackWire

/// The SACKed ranges above SND.UNA (RFC 6675 §3, "scoreboard").
///
/// Holds at most `capacity` ranges (at most 32) inline. When a block would
/// need one more range than that, the highest range (the new one or an old
/// one) is dropped: forgetting SACK information is safe (at worst data is
/// resent), while merging across a hole would mark unreceived data as
/// delivered and stall the connection until an RTO. `ranges.count` ≤ 32 keeps
/// every O(ranges) call small (`update` measured ≈ 15 ns per block with 32
/// ranges in a release build); with no ranges (the bulk path outside
/// recovery) O(1). Range ends are exclusive.
struct SACKScoreboard: Sendable {
    /// The most ranges any scoreboard holds: the size of the inline storage.
    static let maximumCapacity = 32

    /// The most ranges this scoreboard holds, 1…32.
    let capacity: Int
    /// The ranges, slots `0..<count` used, ascending.
    private var slots = InlineArray<32, Slot>(repeating: Slot(start: 0, end: 0))
    /// The number of ranges held.
    private var count = 0

    /// An empty scoreboard holding up to `capacity` ranges (clamped to 1…32).
    init(capacity: Int = 32) {
        self.capacity = min(max(capacity, 1), Self.maximumCapacity)
    }

    /// The ranges, lowest first, as `start ..< end` pairs (finding the uncovered parts; tests).
    /// Copies the inline storage once: O(1), no allocation.
    var ranges: some Collection<(start: SequenceNumber, end: SequenceNumber)> {
        Ranges(slots: slots, count: count)
    }

    /// Records the SACK blocks of one ACK (RFC 6675 §5, "update the scoreboard
    /// via the SACK information"), after dropping what `snaUna` now covers.
    /// Ignores invalid blocks: empty or reversed (end ≤ start), starting below
    /// SND.UNA (D-SACK, RFC 2883, or stale), ending beyond SND.NXT, or longer
    /// than 2³⁰ bytes. Returns the bytes the blocks newly SACKed; bytes
    /// dropped for capacity are not subtracted.
    /// O(blocks × ranges), no allocation.
    mutating func update(blocks: some Sequence<(start: SequenceNumber, end: SequenceNumber)>,
                         snaUna: SequenceNumber, sndNxt: SequenceNumber) -> Int {
        cumulativeAck(snaUna)
        let flight = sndNxt - snaUna
        guard flight > 0 else { return 0 }
        var newlySacked = 0
        for block in blocks {
            let low = block.start - snaUna, high = block.end - snaUna
            guard low >= 0, high > low, high <= flight, high - low <= 1 << 30 else { continue }
            newlySacked += insert(low: low, high: high, base: snaUna)
        }
        return newlySacked
    }

    /// Drops everything below `snaUna`, the new cumulative ACK (RFC 6675 §5:
    /// data below SND.UNA leaves the scoreboard); a range it splits is trimmed.
    /// O(1) when nothing changes, else O(ranges).
    mutating func cumulativeAck(_ snaUna: SequenceNumber) {
        guard count > 0, slots.span[0].start(from: snaUna) < 0 else { return }
        var held = slots.mutableSpan
        var dropped = 0
        while dropped < count && held[dropped].end(from: snaUna) <= 0 { dropped += 1 }
        if dropped > 0 {
            for k in dropped..<count { held[k - dropped] = held[k] }
        }
        if dropped < count, held[0].start(from: snaUna) < 0 { held[0].start = snaUna.rawValue }
        count -= dropped
    }

    /// Calls `body` with each part of [start, end) that no range covers,
    /// lowest first. O(ranges), no allocation.
    func forEachUncovered(from start: SequenceNumber, to end: SequenceNumber,
                          _ body: (SequenceNumber, SequenceNumber) -> Void) {
        var cursor = start
        for range in ranges {
            if range.end <= cursor { continue }
            if range.start >= end { break }
            if range.start > cursor { body(cursor, range.start) }
            cursor = .latest(cursor, range.end)
            if cursor >= end { return }
        }
        if cursor < end { body(cursor, end) }
    }

    /// The end of the range that holds `seq`, or nil if none does, for a walk
    /// in ascending sequence order: `cursor` (start it at 0) passes over the
    /// ranges that end at or below `seq` and keeps its place for the next,
    /// higher, query. O(1) amortized over such a walk, O(ranges) at most.
    func end(ofRangeHolding seq: SequenceNumber, cursor: inout Int) -> SequenceNumber? {
        let held = slots.span
        while cursor < count && SequenceNumber(rawValue: held[cursor].end) <= seq { cursor += 1 }
        guard cursor < count, SequenceNumber(rawValue: held[cursor].start) <= seq else { return nil }
        return SequenceNumber(rawValue: held[cursor].end)
    }

    // MARK: Internals

    /// One SACKed range as raw sequence numbers, `end` exclusive.
    private struct Slot: Sendable {
        var start: UInt32
        var end: UInt32

        /// Bytes in the range. O(1).
        var length: Int { SequenceNumber(rawValue: end) - SequenceNumber(rawValue: start) }
        /// How far the start lies ahead of `base` (negative when behind). O(1).
        func start(from base: SequenceNumber) -> Int { SequenceNumber(rawValue: start) - base }
        /// How far the end lies ahead of `base` (negative when behind). O(1).
        func end(from base: SequenceNumber) -> Int { SequenceNumber(rawValue: end) - base }
    }

    /// Adds [low, high) (offsets from `base`), merging the ranges it overlaps
    /// or touches; returns the bytes newly covered. O(ranges).
    private mutating func insert(low: Int, high: Int, base: SequenceNumber) -> Int {
        var held = slots.mutableSpan
        var first = 0
        while first < count && held[first].end(from: base) < low { first += 1 }
        var last = first, mergedLow = low, mergedHigh = high, covered = 0
        while last < count && held[last].start(from: base) <= high {
            mergedLow = min(mergedLow, held[last].start(from: base))
            mergedHigh = max(mergedHigh, held[last].end(from: base))
            covered += held[last].length
            last += 1
        }
        if first == last {
            // A new range at `first`; when full, the highest range goes.
            if count == capacity {
                if first == count { return 0 }
                count -= 1
            }
            for k in stride(from: count, to: first, by: -1) { held[k] = held[k - 1] }
            count += 1
        } else if last - first > 1 {
            // Ranges first..<last become one.
            let removed = last - first - 1
            for k in last..<count { held[k - removed] = held[k] }
            count -= removed
        }
        held[first] = Slot(start: (base + mergedLow).rawValue, end: (base + mergedHigh).rawValue)
        return mergedHigh - mergedLow - covered
    }

    /// The ranges as a collection: a copy of the inline storage.
    private struct Ranges: RandomAccessCollection {
        let slots: InlineArray<32, Slot>
        let count: Int
        /// Always 0.
        var startIndex: Int { 0 }
        /// The number of ranges.
        var endIndex: Int { count }
        /// Range `index`, lowest first. O(1).
        subscript(index: Int) -> (start: SequenceNumber, end: SequenceNumber) {
            let slot = slots.span[index]
            return (SequenceNumber(rawValue: slot.start), SequenceNumber(rawValue: slot.end))
        }
    }
}
