// The sender's SACK scoreboard: RFC 2018 blocks recorded above SND.UNA
// (RFC 6675 §3), trimmed by the cumulative ACK, and the gaps a new block
// leaves uncovered. Expected values are worked by hand in the comments, and a
// seeded random walk compares everything with a byte-per-octet model.

@testable import NetStackCore
import NetStackWire
import Testing

private typealias Block = (start: SequenceNumber, end: SequenceNumber)

/// A block `start ..< end` from raw numbers.
private func block(_ start: UInt32, _ end: UInt32) -> Block { (SequenceNumber(start), SequenceNumber(end)) }

/// The scoreboard's ranges as raw pairs, for comparing.
private func raw(_ board: SACKScoreboard) -> [[UInt32]] { board.ranges.map { [$0.start.rawValue, $0.end.rawValue] } }

/// The parts of [start, end) no range covers, as raw pairs.
private func uncovered(_ board: SACKScoreboard, _ start: SequenceNumber, _ end: SequenceNumber) -> [[UInt32]] {
    var gaps: [[UInt32]] = []
    board.forEachUncovered(from: start, to: end) { gaps.append([$0.rawValue, $1.rawValue]) }
    return gaps
}

/// A scoreboard after one ACK with SND.UNA 1000, SND.NXT 11000: ten 1000-byte segments in flight.
private func board(_ blocks: [Block], capacity: Int = 32) -> SACKScoreboard {
    var board = SACKScoreboard(capacity: capacity)
    _ = board.update(blocks: blocks, snaUna: 1000, sndNxt: 11_000)
    return board
}

@Suite("SACK scoreboard: recording blocks (RFC 2018, RFC 6675 §5)")
struct SACKScoreboardRecordingTests {
    @Test("an empty scoreboard holds nothing and leaves every block uncovered")
    func empty() {
        let board = SACKScoreboard()
        #expect(board.ranges.isEmpty)
        #expect(uncovered(board, 1000, 2000) == [[1000, 2000]])
    }

    @Test("an ascending walk finds the range holding each sequence number with one moving cursor")
    func rangeLookupWithCursor() {
        let held = board([block(3000, 4000), block(6000, 8000), block(9000, 10_000)])
        var cursor = 0
        #expect(held.end(ofRangeHolding: 1500, cursor: &cursor) == nil)       // below the first range
        #expect(cursor == 0)
        #expect(held.end(ofRangeHolding: 3000, cursor: &cursor) == 4000)      // a range's first byte
        #expect(held.end(ofRangeHolding: 3999, cursor: &cursor) == 4000)      // its last
        #expect(held.end(ofRangeHolding: 4000, cursor: &cursor) == nil)       // the hole after it
        #expect(cursor == 1)
        #expect(held.end(ofRangeHolding: 7000, cursor: &cursor) == 8000)
        #expect(held.end(ofRangeHolding: 10_500, cursor: &cursor) == nil)     // past every range
        #expect(cursor == 3)
        // Across wrap-around: ranges are ordered by distance from SND.UNA, not by raw value.
        var wrapped = SACKScoreboard()
        _ = wrapped.update(blocks: [block(UInt32.max - 999, UInt32.max), block(500, 1500)],
                           snaUna: SequenceNumber(UInt32.max - 2999), sndNxt: 3000)
        var wrapCursor = 0
        #expect(wrapped.end(ofRangeHolding: SequenceNumber(UInt32.max - 500), cursor: &wrapCursor) == SequenceNumber(UInt32.max))
        #expect(wrapped.end(ofRangeHolding: 100, cursor: &wrapCursor) == nil)
        #expect(wrapped.end(ofRangeHolding: 1000, cursor: &wrapCursor) == 1500)
    }

    @Test("blocks are kept sorted; overlapping and adjacent blocks merge; newly SACKed bytes are counted once")
    func merging() {
        var board = SACKScoreboard()
        // 5000-6000: 1000 new. 3000-4000: 1000 new, sorted below it.
        #expect(board.update(blocks: [block(5000, 6000), block(3000, 4000)], snaUna: 1000, sndNxt: 11_000) == 2000)
        #expect(raw(board) == [[3000, 4000], [5000, 6000]])
        // 4000-5000 touches both: 1000 new, one range 3000-6000.
        #expect(board.update(blocks: [block(4000, 5000)], snaUna: 1000, sndNxt: 11_000) == 1000)
        #expect(raw(board) == [[3000, 6000]])
        // A repeat is nothing new; 2500-6500 overlaps: 500 + 500 new.
        #expect(board.update(blocks: [block(3000, 6000)], snaUna: 1000, sndNxt: 11_000) == 0)
        #expect(board.update(blocks: [block(2500, 6500)], snaUna: 1000, sndNxt: 11_000) == 1000)
        #expect(raw(board) == [[2500, 6500]])
    }

    @Test("one block bridging several ranges merges them all")
    func bridging() {
        var board = board([block(2000, 2100), block(3000, 3100), block(4000, 4100), block(8000, 8100)])
        // 1900-4200 covers three ranges (300 bytes) and the gaps: 2300 − 300 = 2000 new.
        #expect(board.update(blocks: [block(1900, 4200)], snaUna: 1000, sndNxt: 11_000) == 2000)
        #expect(raw(board) == [[1900, 4200], [8000, 8100]])
    }

    @Test("invalid blocks are ignored: reversed, empty, below SND.UNA (D-SACK), beyond SND.NXT")
    func invalidIgnored() {
        var board = SACKScoreboard()
        let blocks = [block(4000, 3000), block(4000, 4000), block(500, 900), block(900, 1500),
                      block(10_500, 11_001), block(12_000, 13_000)]
        #expect(board.update(blocks: blocks, snaUna: 1000, sndNxt: 11_000) == 0)
        #expect(board.ranges.isEmpty)
        // The edges themselves are valid: SND.UNA … SND.NXT.
        #expect(board.update(blocks: [block(1000, 1001), block(10_999, 11_000)], snaUna: 1000, sndNxt: 11_000) == 2)
    }

    @Test("a block longer than 2³⁰ bytes is ignored even inside the window")
    func tooLong() {
        var board = SACKScoreboard()
        let nxt = SequenceNumber(rawValue: 0x5000_0000)
        #expect(board.update(blocks: [block(10, 10 + (1 << 30) + 1)], snaUna: 0, sndNxt: nxt) == 0)
        #expect(board.update(blocks: [block(10, 10 + (1 << 30))], snaUna: 0, sndNxt: nxt) == 1 << 30)
    }

    @Test("nothing is recorded when SND.NXT is not above SND.UNA")
    func noFlight() {
        var board = SACKScoreboard()
        #expect(board.update(blocks: [block(1000, 2000)], snaUna: 1000, sndNxt: 1000) == 0)
        #expect(board.update(blocks: [block(1000, 2000)], snaUna: 3000, sndNxt: 1000) == 0)
        #expect(board.ranges.isEmpty)
    }

    @Test("a cumulative ACK drops the ranges below it and trims the one it splits")
    func cumulativeAck() {
        var board = board([block(2000, 3000), block(4000, 5000), block(6000, 7000)])
        board.cumulativeAck(4500)
        #expect(raw(board) == [[4500, 5000], [6000, 7000]])
        board.cumulativeAck(4000)  // an older ACK changes nothing
        #expect(raw(board) == [[4500, 5000], [6000, 7000]])
        board.cumulativeAck(5000)  // the end is exclusive: 4500-5000 goes
        #expect(raw(board) == [[6000, 7000]])
        board.cumulativeAck(7000)
        #expect(board.ranges.isEmpty)
    }

    @Test("update applies the new SND.UNA first")
    func updateAcksFirst() {
        var board = board([block(2000, 3000)])
        #expect(board.update(blocks: [block(5000, 6000)], snaUna: 2500, sndNxt: 11_000) == 1000)
        #expect(raw(board) == [[2500, 3000], [5000, 6000]])
    }

    @Test("ranges straddling 2³² stay ordered")
    func wrapAround() {
        var board = SACKScoreboard()
        let una = SequenceNumber(rawValue: 0xFFFF_F000), nxt = una + 0x3000
        #expect(board.update(blocks: [block(0x0000_1000, 0x0000_1800), block(0xFFFF_F800, 0x0000_0400)],
                             snaUna: una, sndNxt: nxt) == 0x800 + 0xC00)
        #expect(raw(board) == [[0xFFFF_F800, 0x0000_0400], [0x0000_1000, 0x0000_1800]])
        #expect(uncovered(board, 0xFFFF_F000, 0x0000_2000)
            == [[0xFFFF_F000, 0xFFFF_F800], [0x0000_0400, 0x0000_1000], [0x0000_1800, 0x0000_2000]])
        board.cumulativeAck(0x0000_0100)
        #expect(raw(board) == [[0x0000_0100, 0x0000_0400], [0x0000_1000, 0x0000_1800]])
    }

    @Test("when full, the highest range is dropped: the new block if it is highest, else the old highest")
    func capacity() {
        var board = board([block(2000, 2100), block(4000, 4100), block(6000, 6100)], capacity: 3)
        // A fourth disjoint block above all: ignored.
        #expect(board.update(blocks: [block(8000, 8100)], snaUna: 1000, sndNxt: 11_000) == 0)
        #expect(raw(board) == [[2000, 2100], [4000, 4100], [6000, 6100]])
        // A fourth disjoint block lower down: kept, 6000-6100 dropped.
        #expect(board.update(blocks: [block(3000, 3100)], snaUna: 1000, sndNxt: 11_000) == 100)
        #expect(raw(board) == [[2000, 2100], [3000, 3100], [4000, 4100]])
        // A block that merges needs no slot.
        #expect(board.update(blocks: [block(4100, 5000)], snaUna: 1000, sndNxt: 11_000) == 900)
        #expect(raw(board) == [[2000, 2100], [3000, 3100], [4000, 5000]])
    }

    @Test("the default board holds 32 ranges; a 33rd above them is dropped")
    func thirtyTwo() {
        // Ranges of 100 octets every 200 from 1100: 1100-1200, 1300-1400, …, 7300-7400.
        var board = board((0..<32).map { block(1100 + 200 * $0, 1200 + 200 * $0) })
        #expect(board.ranges.count == 32)
        #expect(board.update(blocks: [block(8000, 8100)], snaUna: 1000, sndNxt: 11_000) == 0)
        #expect(raw(board).last == [7300, 7400])
        // A 33rd range below them all: 7300-7400 makes room.
        #expect(board.update(blocks: [block(1000, 1050)], snaUna: 1000, sndNxt: 11_000) == 50)
        #expect(board.ranges.count == 32 && raw(board).last == [7100, 7200])
    }

    @Test("capacity is clamped to 1…32")
    func capacityClamp() {
        #expect(SACKScoreboard(capacity: 0).capacity == 1)
        #expect(SACKScoreboard(capacity: 1000).capacity == 32)
    }

    @Test("the uncovered parts of a block are the gaps between the ranges it meets, lowest first")
    func uncoveredParts() {
        let board = board([block(2000, 3000), block(4000, 5000), block(6000, 7000)])
        // 1500-6500 meets three ranges: gaps 1500-2000, 3000-4000, 5000-6000.
        #expect(uncovered(board, 1500, 6500) == [[1500, 2000], [3000, 4000], [5000, 6000]])
        // Inside one range: nothing; between two: the whole block; touching ends count as covered.
        #expect(uncovered(board, 2200, 2800).isEmpty)
        #expect(uncovered(board, 3000, 4000) == [[3000, 4000]])
        #expect(uncovered(board, 2000, 3000).isEmpty)
        // Ending inside a range, and beyond the highest one.
        #expect(uncovered(board, 3500, 4500) == [[3500, 4000]])
        #expect(uncovered(board, 6500, 9000) == [[7000, 9000]])
        // An empty or reversed block has no parts.
        #expect(uncovered(board, 3500, 3500).isEmpty)
        #expect(uncovered(board, 3600, 3500).isEmpty)
    }
}

/// The reference: one Bool per octet, positions counted from `origin`.
private struct OctetModel {
    var sacked = [Bool](repeating: false, count: 40_000)
    var una = 0, nxt = 0
    let capacity: Int

    /// Maximal SACKed runs in [una, nxt) as half-open position pairs.
    var runs: [(Int, Int)] {
        var result: [(Int, Int)] = []
        var p = una
        while p < nxt {
            if sacked[p] {
                let start = p
                while p < nxt && sacked[p] { p += 1 }
                result.append((start, p))
            } else { p += 1 }
        }
        return result
    }

    mutating func ack(_ newUna: Int) {
        for p in una..<newUna { sacked[p] = false }
        una = newUna
    }

    /// Records one block; drops the highest run while over capacity. Returns octets that went from unSACKed to SACKed.
    mutating func record(_ start: Int, _ end: Int) -> Int {
        guard start >= una, end > start, end <= nxt else { return 0 }
        let before = sacked
        for p in start..<end { sacked[p] = true }
        if runs.count > capacity, let last = runs.last { for p in last.0..<last.1 { sacked[p] = false } }
        return (una..<nxt).filter { !before[$0] && sacked[$0] }.count
    }

    /// Maximal unSACKed runs in [start, end) as half-open position pairs.
    func gaps(_ start: Int, _ end: Int) -> [(Int, Int)] {
        var result: [(Int, Int)] = []
        var p = start
        while p < end {
            if !sacked[p] {
                let gap = p
                while p < end && !sacked[p] { p += 1 }
                result.append((gap, p))
            } else { p += 1 }
        }
        return result
    }
}

@Suite("SACK scoreboard: random walk against an octet-by-octet model")
struct SACKScoreboardModelTests {
    @Test("blocks, ACKs and the uncovered parts agree with the model", arguments: [32, 8, 3])
    func randomWalk(capacity: Int) {
        var random = SplitMix64(state: 2018 + UInt64(capacity))
        var queries = SplitMix64(state: 6675 + UInt64(capacity))  // apart, so the checks do not steer the walk
        let origin = SequenceNumber(rawValue: 0xFFFF_FE00)  // wraps 512 octets in
        func seq(_ p: Int) -> SequenceNumber { origin + p }
        var model = OctetModel(capacity: capacity)
        var board = SACKScoreboard(capacity: capacity)
        func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        var most = 0, full = 0, split = 0

        for step in 0..<2000 {
            // Send more (flight ≤ 64 octets, so at most 32 ranges), sometimes acknowledge some.
            model.nxt = min(model.nxt + int(0...6), model.una + 64)
            let newUna = int(0...7) == 0 ? min(model.una + int(0...10), model.nxt) : model.una
            var blocks: [Block] = []
            var expected = 0
            model.ack(newUna)
            for _ in 0..<int(0...4) {  // up to 4 blocks, as one SACK option carries
                let start = int(model.una - 3...model.nxt + 2)
                let end = start + (int(0...9) == 0 ? int(4...20) : int(-1...2))  // mostly short: many ranges
                blocks.append((seq(start), seq(end)))
                expected += model.record(start, end)
            }
            let newly = board.update(blocks: blocks, snaUna: seq(model.una), sndNxt: seq(model.nxt))
            #expect(newly == expected, "step \(step)")
            #expect(raw(board) == model.runs.map { [seq($0.0).rawValue, seq($0.1).rawValue] }, "step \(step)")

            let start = Int.random(in: model.una...model.nxt, using: &queries)
            let end = Int.random(in: start...model.nxt, using: &queries)
            let gaps = model.gaps(start, end)
            #expect(uncovered(board, seq(start), seq(end)) == gaps.map { [seq($0.0).rawValue, seq($0.1).rawValue] },
                    "step \(step)")
            most = max(most, model.runs.count)
            if model.runs.count == capacity { full += 1 }
            if gaps.count > 1 { split += 1 }
        }
        // The walk went where it should: across 2³², to many ranges (a full small board), blocks split by ranges.
        #expect(model.una > 512 && split > 100, "una \(model.una), split \(split)")
        #expect(capacity == 32 ? most >= 8 : full > 50, "most \(most), full \(full), split \(split)")
    }
}
