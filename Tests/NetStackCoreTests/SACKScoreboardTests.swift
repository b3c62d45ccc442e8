// The sender's SACK scoreboard: RFC 2018 blocks recorded above SND.UNA, and
// the RFC 6675 §4 queries (IsLost, SetPipe, NextSeg). Expected values are
// worked by hand in the comments (MSS 1000, DupThresh 3 unless said), and a
// seeded random walk compares everything with a byte-per-octet model.

@testable import NetStackCore
import NetStackWire
import Testing

private typealias Block = (start: SequenceNumber, end: SequenceNumber)

/// A block `start ..< end` from raw numbers.
private func block(_ start: UInt32, _ end: UInt32) -> Block { (SequenceNumber(start), SequenceNumber(end)) }

/// The scoreboard's ranges as raw pairs, for comparing.
private func raw(_ board: SACKScoreboard) -> [[UInt32]] { board.ranges.map { [$0.start.rawValue, $0.end.rawValue] } }

/// A scoreboard after one ACK with SND.UNA 1000, SND.NXT 11000: ten 1000-byte segments in flight.
private func board(_ blocks: [Block], capacity: Int = 32) -> SACKScoreboard {
    var board = SACKScoreboard(capacity: capacity)
    _ = board.update(blocks: blocks, snaUna: 1000, sndNxt: 11_000)
    return board
}

@Suite("SACK scoreboard: recording blocks (RFC 2018, RFC 6675 §5)")
struct SACKScoreboardRecordingTests {
    @Test("an empty scoreboard holds nothing")
    func empty() {
        let board = SACKScoreboard()
        #expect(board.sackedBytes == 0)
        #expect(board.highestSacked == nil)
        #expect(board.ranges.isEmpty)
        #expect(!board.isSacked(1000))
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
        #expect(board.sackedBytes == 4000)
        #expect(board.highestSacked == 6500)
        #expect(board.isSacked(2500) && board.isSacked(6499))
        #expect(!board.isSacked(2499) && !board.isSacked(6500))
    }

    @Test("one block bridging several ranges merges them all")
    func bridging() {
        var board = board([block(2000, 2100), block(3000, 3100), block(4000, 4100), block(8000, 8100)])
        // 1900-4200 covers three ranges (300 bytes) and the gaps: 2300 − 300 = 2000 new.
        #expect(board.update(blocks: [block(1900, 4200)], snaUna: 1000, sndNxt: 11_000) == 2000)
        #expect(raw(board) == [[1900, 4200], [8000, 8100]])
        #expect(board.sackedBytes == 2400)
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
        #expect(board.sackedBytes == 1500)
        board.cumulativeAck(5000)  // the end is exclusive: 4500-5000 goes
        #expect(raw(board) == [[6000, 7000]])
        board.cumulativeAck(7000)
        #expect(board.ranges.isEmpty && board.sackedBytes == 0 && board.highestSacked == nil)
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
        #expect(board.highestSacked == 0x0000_1800)
        #expect(board.isSacked(0xFFFF_FFFF) && board.isSacked(0) && !board.isSacked(0x400))
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
        #expect(board.sackedBytes == 300)
        // A block that merges needs no slot.
        #expect(board.update(blocks: [block(4100, 5000)], snaUna: 1000, sndNxt: 11_000) == 900)
        #expect(raw(board) == [[2000, 2100], [3000, 3100], [4000, 5000]])
    }

    @Test("the default board holds 32 ranges; a 33rd above them is dropped")
    func thirtyTwo() {
        // Ranges of 100 octets every 200 from 1100: 1100-1200, 1300-1400, …, 7300-7400.
        var board = board((0..<32).map { block(1100 + 200 * $0, 1200 + 200 * $0) })
        #expect(board.ranges.count == 32 && board.sackedBytes == 3200)
        #expect(board.update(blocks: [block(8000, 8100)], snaUna: 1000, sndNxt: 11_000) == 0)
        #expect(board.highestSacked == 7400)
        // A 33rd range below them all: 7300-7400 makes room.
        #expect(board.update(blocks: [block(1000, 1050)], snaUna: 1000, sndNxt: 11_000) == 50)
        #expect(board.ranges.count == 32 && board.highestSacked == 7200 && board.sackedBytes == 3150)
    }

    @Test("capacity is clamped to 1…32; reset empties the board")
    func capacityClamp() {
        #expect(SACKScoreboard(capacity: 0).capacity == 1)
        #expect(SACKScoreboard(capacity: 1000).capacity == 32)
        var board = board([block(2000, 3000)])
        board.reset()
        #expect(board.ranges.isEmpty && board.sackedBytes == 0)
    }

    @Test("the blocks of a parsed SACK option are recorded the same way")
    func sackOption() {
        var board = SACKScoreboard()
        let option: TCPSACKBlocks = [TCPSACKBlock(left: 5000, right: 6000), TCPSACKBlock(left: 3000, right: 4000)]
        #expect(board.update(blocks: option, snaUna: 1000, sndNxt: 11_000) == 2000)
        #expect(raw(board) == [[3000, 4000], [5000, 6000]])
    }
}

// Scenarios: SND.UNA 1000, SND.NXT 11000, segments S0…S9 of 1000 bytes (Si starts at 1000 + 1000·i).
@Suite("SACK scoreboard: RFC 6675 §4 IsLost, SetPipe, NextSeg")
struct SACKScoreboardRecoveryTests {
    @Test("IsLost: more than (DupThresh − 1)·SMSS bytes SACKed above, or DupThresh ranges above")
    func isLost() {
        // S1–S3 SACKed: 3000 bytes above S0 > 2·1000.
        #expect(board([block(2000, 5000)]).isLost(1000, mss: 1000))
        #expect(!board([block(2000, 5000)]).isLost(5000, mss: 1000))  // nothing above
        #expect(!board([block(2000, 5000)]).isLost(3000, mss: 1000))  // SACKed itself
        // Exactly 2000 bytes is not "more than"; 2001 is.
        #expect(!board([block(3000, 5000)]).isLost(1000, mss: 1000))
        #expect(board([block(3000, 5001)]).isLost(1000, mss: 1000))
        // Three small discontiguous ranges (300 bytes) above 1000; only two above 2100.
        let three = board([block(2000, 2100), block(3000, 3100), block(4000, 4100)])
        #expect(three.isLost(1000, mss: 1000))
        #expect(!three.isLost(2100, mss: 1000))
        // DupThresh 1: any SACKed byte above; DupThresh 2: > 1 MSS or 2 ranges.
        #expect(board([block(3000, 3001)]).isLost(1000, mss: 1000, dupThresh: 1))
        #expect(!board([block(3000, 4000)]).isLost(1000, mss: 1000, dupThresh: 2))
        #expect(board([block(3000, 4001)]).isLost(1000, mss: 1000, dupThresh: 2))
    }

    @Test("SetPipe: unSACKed octets not lost, plus retransmitted octets")
    func pipe() {
        let a = board([block(2000, 5000)])
        // S0 lost (0); S4–S9 not lost: 6000. After S0 is retransmitted (HighRxt + 1 = 2000): +1000.
        #expect(a.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == 6000)
        #expect(a.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 2000, mss: 1000) == 7000)
        // Retransmissions up to 6000: S0 (1000) and S4 (1000 retransmitted + 1000 in flight) → 8000.
        #expect(a.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 6000, mss: 1000) == 8000)
        // A stale or too-high HighRxt is clamped to [SND.UNA, SND.NXT].
        #expect(a.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 500, mss: 1000) == 6000)
        #expect(a.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 20_000, mss: 1000) == 6000 + 1000 + 6000)
        // Only S2 SACKed: nothing is lost, pipe = 10000 − 1000.
        #expect(board([block(3000, 4000)]).pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == 9000)
        // Three small ranges: [1000,2000) lost; [2100,3000) 900, [3100,4000) 900, [4100,11000) 6900.
        let three = board([block(2000, 2100), block(3000, 3100), block(4000, 4100)])
        #expect(three.pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == 8700)
        // Nothing SACKed: the whole flight; nothing in flight: 0.
        #expect(SACKScoreboard().pipe(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == 10_000)
        #expect(a.pipe(snaUna: 11_000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == 0)
    }

    @Test("NextSeg rule 1: the first lost unSACKed octet above HighRxt")
    func rule1() {
        let a = board([block(2000, 5000)])
        let next = a.nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000)
        #expect(next?.start == 1000 && next?.rule == 1)
        #expect(a.segmentLength(at: 1000, sndNxt: 11_000, mss: 1000) == 1000)
        // Once S0 is retransmitted nothing unSACKed lies below the highest SACKed octet.
        #expect(a.nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 2000, mss: 1000) == nil)
        // HighRxt inside a hole: the retransmission continues from there.
        let b = board([block(4000, 7000)])
        let mid = b.nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 2000, mss: 1000)
        #expect(mid?.start == 2000 && mid?.rule == 1)
    }

    @Test("NextSeg rule 3: unSACKed below the highest SACK but not yet lost")
    func rule3() {
        let b = board([block(3000, 4000)])
        let next = b.nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000)
        #expect(next?.start == 1000 && next?.rule == 3)
        // Three small ranges: above HighRxt 2000 the first unSACKed octet is 2100, two ranges above it.
        let three = board([block(2000, 2100), block(3000, 3100), block(4000, 4100)])
        let after = three.nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 2000, mss: 1000)
        #expect(after?.start == 2100 && after?.rule == 3)
        #expect(three.segmentLength(at: 2100, sndNxt: 11_000, mss: 1000) == 900)
        #expect(SACKScoreboard().nextSegment(snaUna: 1000, sndNxt: 11_000, highRxt: 1000, mss: 1000) == nil)
    }

    @Test("NextSeg rule 4: the rescue segment ends with the highest unSACKed octet")
    func rescue() {
        // S1–S3 SACKed: highest unSACKed octet 10999 → S9.
        #expect(board([block(2000, 5000)]).rescueSegment(snaUna: 1000, sndNxt: 11_000, mss: 1000)! == (10_000, 1000))
        // SACKed up to SND.NXT: the hole below 8000 → 7000-8000, or the whole hole with a large MSS.
        let top = board([block(8000, 11_000)])
        #expect(top.rescueSegment(snaUna: 1000, sndNxt: 11_000, mss: 1000)! == (7000, 1000))
        #expect(top.rescueSegment(snaUna: 1000, sndNxt: 11_000, mss: 10_000)! == (1000, 7000))
        // A short top hole; everything SACKed → nil.
        #expect(board([block(2000, 10_500)]).rescueSegment(snaUna: 1000, sndNxt: 11_000, mss: 1000)! == (10_500, 500))
        #expect(board([block(1000, 11_000)]).rescueSegment(snaUna: 1000, sndNxt: 11_000, mss: 1000) == nil)
    }

    @Test("segment length stops at SACKed data and SND.NXT")
    func segmentLength() {
        let b = board([block(3000, 4000)])
        #expect(b.segmentLength(at: 1000, sndNxt: 11_000, mss: 5000) == 2000)
        #expect(b.segmentLength(at: 3000, sndNxt: 11_000, mss: 1000) == 0)
        #expect(b.segmentLength(at: 10_500, sndNxt: 11_000, mss: 1000) == 500)
        #expect(b.segmentLength(at: 11_000, sndNxt: 11_000, mss: 1000) == 0)
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small seeded generator, so every run takes the same walk.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The reference: one Bool per octet, positions counted from `origin`, every
/// RFC 6675 definition applied octet by octet.
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

    func isLost(_ p: Int, mss: Int, dupThresh: Int) -> Bool {
        if sacked[p] { return false }
        let above = runs.filter { $0.0 > p }
        let bytes = (p + 1..<nxt).filter { sacked[$0] }.count
        return above.count >= dupThresh || bytes > (dupThresh - 1) * mss
    }

    func pipe(highRxt: Int, mss: Int, dupThresh: Int) -> Int {
        (una..<nxt).filter { !sacked[$0] }.reduce(0) { total, p in
            total + (isLost(p, mss: mss, dupThresh: dupThresh) ? 0 : 1) + (p < highRxt ? 1 : 0)
        }
    }

    func nextSegment(highRxt: Int, mss: Int, dupThresh: Int) -> (Int, Int)? {
        guard let top = runs.last?.1, max(una, highRxt) < top else { return nil }
        guard let s = (max(una, highRxt)..<top).first(where: { !sacked[$0] }) else { return nil }
        return (s, isLost(s, mss: mss, dupThresh: dupThresh) ? 1 : 3)
    }

    func rescue(mss: Int) -> (Int, Int)? {
        guard let highest = (una..<nxt).last(where: { !sacked[$0] }) else { return nil }
        var start = highest
        while start > una && !sacked[start - 1] && highest - (start - 1) < mss { start -= 1 }
        return (start, highest + 1 - start)
    }

    func segmentLength(at p: Int, mss: Int) -> Int {
        var length = 0
        while p + length < nxt && length < mss && !sacked[p + length] { length += 1 }
        return length
    }
}

@Suite("SACK scoreboard: random walk against an octet-by-octet model")
struct SACKScoreboardModelTests {
    @Test("blocks, ACKs and every query agree with the model", arguments: [32, 8, 3])
    func randomWalk(capacity: Int) {
        var random = SplitMix64(state: 2018 + UInt64(capacity))
        let origin = SequenceNumber(rawValue: 0xFFFF_FE00)  // wraps 512 octets in
        func seq(_ p: Int) -> SequenceNumber { origin + p }
        var model = OctetModel(capacity: capacity)
        var board = SACKScoreboard(capacity: capacity)
        func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
        var most = 0, full = 0, rules: Set<Int> = [], rescues = 0

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
            #expect(board.sackedBytes == model.runs.reduce(0) { $0 + $1.1 - $1.0 })
            #expect(board.highestSacked == model.runs.last.map { seq($0.1) })

            let mss = int(1...6), dupThresh = int(1...4), highRxt = int(model.una - 2...model.nxt + 2)
            let una = seq(model.una), nxt = seq(model.nxt)
            for p in model.una..<model.nxt {
                #expect(board.isSacked(seq(p)) == model.sacked[p])
                #expect(board.isLost(seq(p), mss: mss, dupThresh: dupThresh)
                    == model.isLost(p, mss: mss, dupThresh: dupThresh), "step \(step) octet \(p)")
                #expect(board.segmentLength(at: seq(p), sndNxt: nxt, mss: mss) == model.segmentLength(at: p, mss: mss))
            }
            #expect(board.pipe(snaUna: una, sndNxt: nxt, highRxt: seq(highRxt), mss: mss, dupThresh: dupThresh)
                == model.pipe(highRxt: highRxt, mss: mss, dupThresh: dupThresh), "step \(step)")
            let next = board.nextSegment(snaUna: una, sndNxt: nxt, highRxt: seq(highRxt), mss: mss, dupThresh: dupThresh)
            let expectedNext = model.nextSegment(highRxt: highRxt, mss: mss, dupThresh: dupThresh)
            #expect(next.map { [$0.start.rawValue, UInt32($0.rule)] }
                == expectedNext.map { [seq($0.0).rawValue, UInt32($0.1)] }, "step \(step)")
            most = max(most, model.runs.count)
            if model.runs.count == capacity { full += 1 }
            if let next { rules.insert(next.rule) }
            let rescue = board.rescueSegment(snaUna: una, sndNxt: nxt, mss: mss)
            if rescue != nil && !model.runs.isEmpty { rescues += 1 }
            #expect(rescue.map { [$0.start.rawValue, UInt32($0.length)] }
                == model.rescue(mss: mss).map { [seq($0.0).rawValue, UInt32($0.1)] }, "step \(step)")
        }
        // The walk went where it should: across 2³², to many ranges (a full small board), through both rules.
        #expect(model.una > 512 && rules == [1, 3] && rescues > 100)
        #expect(capacity == 32 ? most >= 8 : full > 50)
    }
}
