// The TCP receive buffer (RFC 9293 §3.10.7.4, segment text; RFC 2018, SACK
// blocks): out-of-order data stored in place, RCV.NXT jumping when holes fill.
// Expected values are worked by hand from the RFC examples, or come from a
// plain per-byte reference model.

@testable import NetStackCore
import Testing

extension ReceiveBuffer {
    /// Writes an array's bytes at `offset` past RCV.NXT.
    fileprivate mutating func write(at offset: Int, _ bytes: [UInt8]) -> (accepted: Bool, advanced: Int) {
        bytes.withUnsafeBytes { write(at: offset, $0) }
    }

    /// Reads up to `count` bytes.
    fileprivate mutating func read(upTo count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { read(into: $0) }
        return Array(out.prefix(n))
    }

    /// Peeks at up to `count` bytes.
    fileprivate func peek(upTo count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { peek(into: $0) }
        return Array(out.prefix(n))
    }
}

/// `count` bytes whose value is their stream position mod 251 (a prime, so runs do not repeat at 256).
private func stream(_ range: Range<Int>) -> [UInt8] { range.map { UInt8($0 % 251) } }

/// True when `result` is `(accepted, advanced)`.
private func outcome(_ result: (accepted: Bool, advanced: Int), _ accepted: Bool, _ advanced: Int) -> Bool {
    result.accepted == accepted && result.advanced == advanced
}

@Suite("TCP receive buffer")
struct ReceiveBufferTests {
    @Test("an in-order segment becomes readable at once and closes the window by its length")
    func inOrder() {
        var buffer = ReceiveBuffer(capacity: 100)
        #expect(outcome(buffer.write(at: 0, stream(0..<10)), true, 10))
        #expect(buffer.readable == 10)
        #expect(buffer.freeSpace == 90)  // 100 − 10
        #expect(buffer.outOfOrderRanges.isEmpty)
        #expect(buffer.read(upTo: 100) == stream(0..<10))
        #expect(buffer.freeSpace == 100)
    }

    @Test("early segments wait in place; when the hole fills RCV.NXT jumps over them")
    func holeFills() {
        // Segments A = [0, 10), B = [10, 20), C = [20, 30) arrive C, A, B.
        var buffer = ReceiveBuffer(capacity: 100)
        #expect(outcome(buffer.write(at: 20, stream(20..<30)), true, 0))
        #expect(Array(buffer.outOfOrderRanges) == [20..<30])
        #expect(buffer.outOfOrderBytes == 10)
        #expect(buffer.readable == 0)
        #expect(buffer.freeSpace == 100, "out-of-order bytes live inside the window")
        #expect(outcome(buffer.write(at: 0, stream(0..<10)), true, 10))
        // RCV.NXT is now 10, so C sits at offset 20 − 10 = 10.
        #expect(Array(buffer.outOfOrderRanges) == [10..<20])
        // B fills the hole: its 10 bytes plus C's 10 become readable.
        #expect(outcome(buffer.write(at: 0, stream(10..<20)), true, 20))
        #expect(buffer.outOfOrderRanges.isEmpty)
        #expect(buffer.outOfOrderBytes == 0)
        #expect(buffer.readable == 30)
        #expect(buffer.read(upTo: 100) == stream(0..<30))
    }

    @Test("RFC 2018 §5 case 3: ranges and the most recent block as segments 2, 4, 6, 8 are lost, then 4 and 2 arrive")
    func rfc2018Case3() {
        // Eight 500-byte segments from 5000; the buffer starts at RCV.NXT = 5000.
        // Offsets below are sequence numbers minus RCV.NXT, worked by hand.
        var buffer = ReceiveBuffer(capacity: 8192)
        let segment = { (seq: Int) in stream((seq - 5000)..<(seq - 4500)) }
        #expect(outcome(buffer.write(at: 0, segment(5000)), true, 500))  // ACK 5500
        // "6000: ACK 5500, First Block 6000 6500" → offsets 500..<1000 from 5500.
        #expect(outcome(buffer.write(at: 500, segment(6000)), true, 0))
        #expect(buffer.mostRecentRange == 500..<1000)
        // "7000: ACK 5500, First Block 7000 7500, 2nd Block 6000 6500".
        #expect(outcome(buffer.write(at: 1500, segment(7000)), true, 0))
        #expect(buffer.mostRecentRange == 1500..<2000)
        // "8000: ACK 5500, First Block 8000 8500, 2nd 7000 7500, 3rd 6000 6500".
        #expect(outcome(buffer.write(at: 2500, segment(8000)), true, 0))
        #expect(buffer.mostRecentRange == 2500..<3000)
        #expect(Array(buffer.outOfOrderRanges) == [500..<1000, 1500..<2000, 2500..<3000])
        #expect(buffer.outOfOrderBytes == 1500)
        // "Suppose the 4th segment is received out of order (6500): First Block 6000 7500, 2nd 8000 8500".
        #expect(outcome(buffer.write(at: 1000, segment(6500)), true, 0))
        #expect(buffer.mostRecentRange == 500..<2000)
        #expect(Array(buffer.outOfOrderRanges) == [500..<2000, 2500..<3000])
        // "Suppose the 2nd segment is received (5500): ACK 7500, First Block 8000 8500":
        // 500 bytes of its own + 6000…7500 → RCV.NXT moves 7500 − 5500 = 2000.
        #expect(outcome(buffer.write(at: 0, segment(5500)), true, 2000))
        #expect(Array(buffer.outOfOrderRanges) == [500..<1000])  // 8000 − 7500
        #expect(buffer.mostRecentRange == nil, "the segment that triggered this ACK advanced it")
        #expect(buffer.read(upTo: 8192) == stream(0..<2500))
    }

    @Test("a new disjoint range is refused once maxRanges are held; touching or bridging ones are not")
    func rangeLimit() {
        var buffer = ReceiveBuffer(capacity: 100, maxRanges: 2)
        #expect(outcome(buffer.write(at: 10, stream(10..<12)), true, 0))
        #expect(outcome(buffer.write(at: 20, stream(20..<22)), true, 0))
        #expect(outcome(buffer.write(at: 30, stream(30..<32)), false, 0))
        #expect(Array(buffer.outOfOrderRanges) == [10..<12, 20..<22], "nothing stored")
        #expect(buffer.mostRecentRange == 20..<22, "a refused segment is not the most recent")
        #expect(outcome(buffer.write(at: 12, stream(12..<14)), true, 0))  // touches [10, 12)
        #expect(outcome(buffer.write(at: 18, stream(18..<20)), true, 0))  // touches [20, 22)
        #expect(Array(buffer.outOfOrderRanges) == [10..<14, 18..<22])
        #expect(outcome(buffer.write(at: 13, stream(13..<19)), true, 0))  // bridges both
        #expect(Array(buffer.outOfOrderRanges) == [10..<22])
        #expect(buffer.outOfOrderBytes == 12)
        #expect(outcome(buffer.write(at: 30, stream(30..<32)), true, 0))
        #expect(outcome(buffer.write(at: 0, stream(0..<10)), true, 22), "in-order data is never refused")
        #expect(Array(buffer.outOfOrderRanges) == [8..<10])  // 30 − 22

        var none = ReceiveBuffer(capacity: 10, maxRanges: 0)
        #expect(outcome(none.write(at: 1, [1]), false, 0))
        #expect(outcome(none.write(at: 0, [0, 1]), true, 2))
    }

    @Test("bytes past the window are cut off; a segment starting at or past its end is refused")
    func windowEdge() {
        var buffer = ReceiveBuffer(capacity: 10)
        // 8 bytes at offset 5: only 10 − 5 = 5 fit.
        #expect(outcome(buffer.write(at: 5, stream(5..<13)), true, 0))
        #expect(Array(buffer.outOfOrderRanges) == [5..<10])
        #expect(outcome(buffer.write(at: 10, stream(10..<11)), false, 0))
        #expect(outcome(buffer.write(at: Int.max, [1]), false, 0))
        #expect(outcome(buffer.write(at: 0, stream(0..<5)), true, 10))
        #expect(buffer.freeSpace == 0)
        #expect(outcome(buffer.write(at: 0, stream(10..<11)), false, 0), "zero window")
        #expect(buffer.read(upTo: 3) == stream(0..<3))
        #expect(buffer.freeSpace == 3)
        #expect(outcome(buffer.write(at: 0, stream(10..<20)), true, 3))
        #expect(buffer.read(upTo: 20) == stream(3..<13))
    }

    @Test("data before RCV.NXT is skipped: duplicates and partial overlaps")
    func staleData() {
        var buffer = ReceiveBuffer(capacity: 50)
        #expect(outcome(buffer.write(at: 0, stream(0..<5)), true, 5))
        #expect(outcome(buffer.write(at: -5, stream(0..<5)), true, 0))
        // Positions 2..<8 at offset 2 − 5 = −3: 3 bytes are old, 5, 6, 7 are new.
        #expect(outcome(buffer.write(at: -3, stream(2..<8)), true, 3))
        #expect(outcome(buffer.write(at: Int.min, stream(0..<8)), true, 0))
        #expect(outcome(buffer.write(at: -1, []), true, 0))
        #expect(buffer.read(upTo: 50) == stream(0..<8))
    }

    @Test("zero-length writes store nothing and are accepted only inside the window")
    func zeroLength() {
        var buffer = ReceiveBuffer(capacity: 4)
        #expect(outcome(buffer.write(at: 0, UnsafeRawBufferPointer(start: nil, count: 0)), true, 0))
        #expect(outcome(buffer.write(at: 3, []), true, 0))
        #expect(outcome(buffer.write(at: 4, []), false, 0))
        #expect(buffer.outOfOrderRanges.isEmpty)
        #expect(buffer.mostRecentRange == nil)
        #expect(buffer.read(upTo: 0) == [])
        #expect(buffer.read(upTo: 4) == [])
        buffer.discard(0)
    }

    @Test("a one-byte buffer takes one byte, then offers a zero window until it is read")
    func capacityOne() {
        var buffer = ReceiveBuffer(capacity: 1)
        for position in 0..<10 {
            #expect(outcome(buffer.write(at: 1, [0xFF]), false, 0))
            #expect(outcome(buffer.write(at: 0, stream(position..<position + 3)), true, 1))
            #expect(buffer.freeSpace == 0)
            #expect(outcome(buffer.write(at: 0, [0xFF]), false, 0))
            #expect(buffer.peek(upTo: 5) == stream(position..<position + 1))
            #expect(buffer.read(upTo: 5) == stream(position..<position + 1))
        }
    }

    @Test("withReadable lends the bytes up to the ring's end; discard drops them")
    func withReadableAndDiscard() {
        // Capacity 8: read 6 of 6, so the next write starts at index 6 and wraps after 2 bytes.
        var buffer = ReceiveBuffer(capacity: 8)
        #expect(outcome(buffer.write(at: 0, stream(0..<6)), true, 6))
        buffer.discard(4)
        #expect(outcome(buffer.write(at: 0, stream(6..<12)), true, 6))  // indices 6, 7, 0, 1, 2, 3
        #expect(buffer.withReadable { Array($0) } == stream(4..<8))  // indices 4…7
        buffer.discard(4)
        #expect(buffer.withReadable { Array($0) } == stream(8..<12))
        #expect(buffer.peek(upTo: 2) == stream(8..<10))
        buffer.discard(4)
        #expect(buffer.withReadable { $0.count } == 0)
    }

    @Test("resize keeps readable bytes, and is refused while out-of-order data is held or below readable")
    func resize() {
        var buffer = ReceiveBuffer(capacity: 8)
        #expect(outcome(buffer.write(at: 0, stream(0..<6)), true, 6))
        buffer.discard(5)
        #expect(outcome(buffer.write(at: 0, stream(6..<10)), true, 4))  // wraps; 5 readable
        #expect(outcome(buffer.write(at: 1, stream(11..<12)), true, 0))
        #expect(buffer.resize(capacity: 64) == false, "out-of-order data held")
        #expect(outcome(buffer.write(at: 0, stream(10..<11)), true, 2))
        #expect(buffer.resize(capacity: 6) == false, "7 readable")
        #expect(buffer.resize(capacity: 64) == true)
        #expect(buffer.capacity == 64)
        #expect(buffer.freeSpace == 57)
        #expect(buffer.peek(upTo: 7) == stream(5..<12))
    }

    @Test("random segments — early, late, overlapping, duplicated, past the window — reassemble the stream exactly",
          arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
    func randomAgainstModel(seed: UInt64) {
        var random = SplitMix64(state: seed)
        let capacity = [1, 5, 64, 300, 1000, 97][Int(seed) % 6]
        let maxRanges = [0, 1, 3, 32, 4, 2][Int(seed) % 6]
        var model = ReassemblyModel(capacity: capacity, maxRanges: maxRanges, length: 30_000, random: &random)
        var buffer = ReceiveBuffer(capacity: capacity, maxRanges: maxRanges)
        for step in 0..<6000 {
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 60 || step >= 5000 {
                // Mostly near RCV.NXT; sometimes anywhere around the window. After step 5000, in order only.
                let jitter = roll < 30 || step >= 5000 ? -3...3 : -40...(capacity + 40)
                let start = max(0, model.next + Int.random(in: jitter, using: &random))
                let length = min(Int.random(in: 0...min(80, capacity + 10), using: &random), model.stream.count - start)
                guard length >= 0 else { continue }
                let bytes = Array(model.stream[start..<start + length])
                let got = buffer.write(at: start - model.next, bytes)
                let want = model.write(start: start, length: length)
                #expect(got.accepted == want.accepted && got.advanced == want.advanced, "step \(step)")
            } else if roll < 80 {
                let count = Int.random(in: 0...(model.readable + 3), using: &random)
                let expected = Array(model.stream[model.consumed..<model.consumed + min(count, model.readable)])
                #expect((roll < 70 ? buffer.read(upTo: count) : buffer.peek(upTo: count)) == expected)
                if roll < 70 { model.consumed += expected.count }
            } else if roll < 90 {
                let count = Int.random(in: 0...model.readable, using: &random)
                buffer.discard(count)
                model.consumed += count
            } else if roll < 92 {
                let newCapacity = Int.random(in: 0...(2 * model.capacity + 1), using: &random)
                let allowed = buffer.resize(capacity: newCapacity)
                #expect(allowed == (model.ranges.isEmpty && newCapacity >= model.readable))
                if allowed { model.capacity = newCapacity }
            } else {
                _ = buffer.resize(capacity: capacity)  // back to the start, so the window does not shrink for good
                if model.ranges.isEmpty && capacity >= model.readable { model.capacity = capacity }
            }
            let ranges = model.ranges
            #expect(buffer.readable == model.readable)
            #expect(buffer.freeSpace == model.capacity - model.readable)
            #expect(Array(buffer.outOfOrderRanges) == ranges)
            #expect(buffer.outOfOrderBytes == ranges.reduce(0) { $0 + $1.count })
            #expect(buffer.mostRecentRange == model.mostRecentRange)
            #expect(ranges.count <= maxRanges)
        }
        // Everything readable is the stream, byte for byte, from where the application left off.
        #expect(buffer.read(upTo: model.readable) == Array(model.stream[model.consumed..<model.next]))
        #expect(model.next > capacity, "the run got somewhere")
        #expect(model.refusals > 0)
        if maxRanges > 0 && capacity > 1 { #expect(model.jumps > 0, "holes were filled") }
    }
}

/// The reference: one flag per stream byte saying whether it is held out of order.
private struct ReassemblyModel {
    var stream: [UInt8]
    var capacity: Int
    let maxRanges: Int
    /// RCV.NXT as a stream position, and how much of the stream the application took.
    var next = 0, consumed = 0
    var held: [Bool]
    var lastOutOfOrder: Int?
    /// Writes refused, and writes that made held out-of-order bytes readable: coverage of the run.
    var refusals = 0, jumps = 0

    init(capacity: Int, maxRanges: Int, length: Int, random: inout SplitMix64) {
        stream = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        held = Array(repeating: false, count: length)
        self.capacity = capacity
        self.maxRanges = maxRanges
    }

    var readable: Int { next - consumed }

    /// Held runs past RCV.NXT, as offsets from it.
    var ranges: [Range<Int>] {
        var result: [Range<Int>] = []
        let limit = min(held.count, next + capacity)  // nothing is held past the window
        var p = next
        while p < limit {
            if held[p] {
                let start = p
                while p < limit && held[p] { p += 1 }
                result.append((start - next)..<(p - next))
            } else {
                p += 1
            }
        }
        return result
    }

    var mostRecentRange: Range<Int>? {
        guard let last = lastOutOfOrder, last >= next else { return nil }
        return ranges.first { $0.contains(last - next) }
    }

    /// The rules of `ReceiveBuffer.write`, byte by byte.
    mutating func write(start: Int, length: Int) -> (accepted: Bool, advanced: Int) {
        var first = start
        if start < next {
            if start + length <= next { return (true, 0) }
            first = next
        }
        let window = capacity - readable
        guard first - next < window else {
            refusals += 1
            return (false, 0)
        }
        let end = min(start + length, next + window)
        guard end > first else { return (true, 0) }
        if first > next {
            let touches = (first - 1...min(end, held.count - 1)).contains { held[$0] }
            if !touches && ranges.count >= maxRanges {
                refusals += 1
                return (false, 0)
            }
            lastOutOfOrder = first
        }
        for p in first..<end { held[p] = true }
        let old = next
        while next < held.count && held[next] {
            held[next] = false
            next += 1
        }
        if next - old > end - first { jumps += 1 }
        return (true, next - old)
    }
}
