// The TCP send buffer (RFC 9293 §3.3.1): a ring of unacknowledged and unsent
// bytes. Expected values are worked by hand in the comments, or come from a
// plain Array holding the same bytes.

@testable import NetStackCore
import Testing

extension SendBuffer {
    /// Appends an array's bytes; returns how many were taken.
    fileprivate mutating func append(_ bytes: [UInt8]) -> Int { bytes.withUnsafeBytes { append($0) } }

    /// The `count` bytes at `offset`, through `copy`.
    fileprivate func bytes(from offset: Int, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: count)
        out.withUnsafeMutableBytes { copy(from: offset, count: count, into: $0) }
        return out
    }

    /// The run `withContiguous` lends, as an array.
    fileprivate func run(from offset: Int, maxCount: Int) -> [UInt8] {
        withContiguous(from: offset, maxCount: maxCount) { Array($0) }
    }
}

@Suite("TCP send buffer")
struct SendBufferTests {
    @Test("append takes only what fits, and nothing once full")
    func appendUntilFull() {
        var buffer = SendBuffer(capacity: 10)
        #expect(buffer.append([1, 2, 3, 4, 5, 6]) == 6)
        // 10 − 6 = 4 bytes of room left: of [7, 8, 9, 10, 11, 12] only 7…10 fit.
        #expect(buffer.append([7, 8, 9, 10, 11, 12]) == 4)
        #expect(buffer.append([13]) == 0)
        #expect(buffer.count == 10)
        #expect(buffer.freeSpace == 0)
        #expect(buffer.bytes(from: 0, count: 10) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    }

    @Test("zero-length appends, copies and runs do nothing; a zero-capacity buffer takes nothing")
    func zeroLength() {
        var buffer = SendBuffer(capacity: 4)
        #expect(buffer.append(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        #expect(buffer.append([]) == 0)
        #expect(buffer.isEmpty)
        #expect(buffer.bytes(from: 0, count: 0) == [])
        #expect(buffer.run(from: 0, maxCount: 100) == [])
        buffer.removeFirst(0)
        #expect(buffer.count == 0)

        var none = SendBuffer(capacity: 0)
        #expect(none.capacity == 0)
        #expect(none.freeSpace == 0)
        #expect(none.append([1, 2]) == 0)
        #expect(none.run(from: 0, maxCount: 5) == [])
        #expect(none.resize(capacity: 2) == true)
        #expect(none.append([1, 2, 3]) == 2)
    }

    @Test("a one-byte buffer holds one byte at a time, wrapping every byte")
    func capacityOne() {
        var buffer = SendBuffer(capacity: 1)
        for value in UInt8(0)..<20 {
            #expect(buffer.append([value, value &+ 1]) == 1)
            #expect(buffer.append([0xFF]) == 0)
            #expect(buffer.bytes(from: 0, count: 1) == [value])
            #expect(buffer.run(from: 0, maxCount: 9) == [value])
            #expect(buffer.run(from: 1, maxCount: 9) == [])
            buffer.removeFirst(1)
            #expect(buffer.isEmpty)
        }
    }

    @Test("acknowledged bytes leave from the front: offset 0 is SND.UNA")
    func acknowledgmentAdvancesUNA() {
        // RFC 9293 §3.3.1: with ISS = 1000 the first data byte is 1001. The
        // application writes 300 bytes (values 0…299 mod 256), all are sent,
        // then an ACK of 1101 acknowledges 1101 − 1001 = 100 of them.
        var buffer = SendBuffer(capacity: 512)
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0) }
        #expect(buffer.append(data) == 300)
        buffer.removeFirst(100)
        #expect(buffer.count == 200)
        #expect(buffer.freeSpace == 312)
        // A retransmission from SND.UNA (1101) starts with byte 100.
        #expect(buffer.bytes(from: 0, count: 3) == [100, 101, 102])
        // Byte 299 (0x2B = 299 − 256) is now at offset 199.
        #expect(buffer.bytes(from: 199, count: 1) == [43])
    }

    @Test("a wrapped ring lends its bytes in two runs, the first ending at the allocation's end")
    func contiguousRunsAcrossTheWrap() {
        // Capacity 8. Append 0…5 (indices 0…5), acknowledge 4 (head at 4),
        // append 6…10: 6, 7 go to indices 6, 7 and 8, 9, 10 wrap to 0, 1, 2.
        var buffer = SendBuffer(capacity: 8)
        #expect(buffer.append([0, 1, 2, 3, 4, 5]) == 6)
        buffer.removeFirst(4)
        #expect(buffer.append([6, 7, 8, 9, 10]) == 5)
        #expect(buffer.count == 7)
        // From offset 0 (index 4) the run stops at index 7: 4 bytes.
        #expect(buffer.run(from: 0, maxCount: 100) == [4, 5, 6, 7])
        #expect(buffer.run(from: 4, maxCount: 100) == [8, 9, 10])
        #expect(buffer.run(from: 1, maxCount: 2) == [5, 6])
        #expect(buffer.run(from: 5, maxCount: 100) == [9, 10])
        #expect(buffer.run(from: 7, maxCount: 100) == [])
        // copy crosses the wrap in one call.
        #expect(buffer.bytes(from: 2, count: 5) == [6, 7, 8, 9, 10])
    }

    @Test("emptying the ring restarts it, so the next appends are contiguous")
    func emptyRingRestarts() {
        var buffer = SendBuffer(capacity: 8)
        #expect(buffer.append([0, 1, 2, 3, 4, 5]) == 6)
        buffer.removeFirst(6)
        #expect(buffer.append([10, 11, 12, 13, 14, 15, 16, 17]) == 8)
        #expect(buffer.run(from: 0, maxCount: 8) == [10, 11, 12, 13, 14, 15, 16, 17])
    }

    @Test("resize keeps the held bytes and refuses a capacity below count")
    func resizeKeepsData() {
        var buffer = SendBuffer(capacity: 8)
        #expect(buffer.append([0, 1, 2, 3, 4, 5]) == 6)
        buffer.removeFirst(4)
        #expect(buffer.append([6, 7, 8, 9, 10]) == 5)  // wrapped, as above: 7 held
        #expect(buffer.resize(capacity: 6) == false)
        #expect(buffer.capacity == 8)
        #expect(buffer.resize(capacity: 7) == true)  // exactly count: allowed, now full
        #expect(buffer.freeSpace == 0)
        #expect(buffer.run(from: 0, maxCount: 100) == [4, 5, 6, 7, 8, 9, 10])
        #expect(buffer.resize(capacity: 16) == true)
        #expect(buffer.append([11, 12]) == 2)
        #expect(buffer.bytes(from: 0, count: 9) == [4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(buffer.freeSpace == 7)
    }

    @Test("a copy of the buffer is a separate value: writes to one do not show in the other")
    func valueSemantics() {
        var original = SendBuffer(capacity: 4)
        #expect(original.append([1, 2]) == 2)
        var copy = original
        #expect(copy.append([3, 4]) == 2)
        original.removeFirst(1)
        #expect(original.append([9, 9, 9]) == 3)
        #expect(copy.bytes(from: 0, count: 4) == [1, 2, 3, 4])
        #expect(original.bytes(from: 0, count: 4) == [2, 9, 9, 9])
    }

    @Test("random appends, copies, runs, acknowledgments and resizes match an Array", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomAgainstArray(seed: UInt64) {
        var random = SplitMix64(state: seed)
        let startCapacity = [1, 2, 7, 64, 1000][Int(seed) % 5]
        var capacity = startCapacity
        var buffer = SendBuffer(capacity: capacity)
        var model: [UInt8] = []
        for _ in 0..<5000 {
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<35:
                let length = Int.random(in: 0...(capacity + 3), using: &random)
                let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                let taken = buffer.append(data)
                #expect(taken == min(length, capacity - model.count))
                model += data.prefix(taken)
            case 35..<55:
                let offset = Int.random(in: 0...model.count, using: &random)
                let count = Int.random(in: 0...(model.count - offset), using: &random)
                #expect(buffer.bytes(from: offset, count: count) == Array(model[offset..<offset + count]))
            case 55..<75:
                // Two runs always cover what was asked: the ring wraps at most once.
                let offset = Int.random(in: 0...model.count, using: &random)
                let maxCount = Int.random(in: 0...(capacity + 1), using: &random)
                let wanted = min(maxCount, model.count - offset)
                let first = buffer.run(from: offset, maxCount: maxCount)
                #expect(first.count <= wanted && (wanted == 0 || !first.isEmpty))
                let second = buffer.run(from: offset + first.count, maxCount: wanted - first.count)
                #expect(first + second == Array(model[offset..<offset + wanted]))
            case 75..<97:
                let count = Int.random(in: 0...model.count, using: &random)
                buffer.removeFirst(count)
                model.removeFirst(count)
            default:
                // Drawn around the starting capacity: a walk from the current one would only grow,
                // as shrinking below the held bytes is refused.
                let newCapacity = Int.random(in: 0...(2 * startCapacity + 1), using: &random)
                let allowed = buffer.resize(capacity: newCapacity)
                #expect(allowed == (newCapacity >= model.count))
                if allowed { capacity = newCapacity }
            }
            #expect(buffer.count == model.count)
            #expect(buffer.capacity == capacity)
            #expect(buffer.freeSpace == capacity - model.count)
        }
        #expect(buffer.bytes(from: 0, count: model.count) == model)
    }
}
