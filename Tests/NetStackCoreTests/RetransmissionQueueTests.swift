@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Retransmission queue: per-segment records")
struct RetransmissionQueueTests {
    /// A queue holding `count` records of 1000 bytes from sequence 1000.
    private func queue(_ count: Int) -> RetransmissionQueue {
        var q = RetransmissionQueue()
        for k in 0..<count {
            let start = SequenceNumber(rawValue: UInt32(1000 + 1000 * k))
            do { let ok = q.append(TransmissionRecord(start: start, end: start + 1000, sentNanoseconds: Int64(k))); #expect(ok) }
        }
        return q
    }

    @Test("records come back oldest first, across growth and a wrapped ring")
    func orderAcrossGrowth() {
        var q = queue(50)
        for _ in 0..<40 { q.removeFirst() }  // the head moves: later appends wrap around the ring
        for k in 50..<300 {
            let start = SequenceNumber(rawValue: UInt32(1000 + 1000 * k))
            q.append(TransmissionRecord(start: start, end: start + 1000, sentNanoseconds: Int64(k)))
        }
        #expect(q.count == 260)
        for index in 0..<q.count { #expect(q[index].sentNanoseconds == Int64(40 + index)) }
        #expect(q.capacity == 512)
    }

    @Test("the queue stops at its bound: an append past it is refused and nothing grows")
    func bounded() {
        var q = queue(RetransmissionQueue.maximumRecords)
        #expect(q.isFull)
        do { let ok = q.append(TransmissionRecord(start: 0, end: 1, sentNanoseconds: 0)); #expect(!ok) }
        #expect(q.count == RetransmissionQueue.maximumRecords)
        #expect(q.capacity == RetransmissionQueue.maximumRecords)
    }

    @Test("SACKed, lost and retransmitted byte counts follow every change (RFC 6675 pipe terms)")
    func counts() {
        var q = queue(5)
        do { let ok = q.markLost(1); #expect(ok) }
        #expect(q.lostBytes == 1000 && q.lostUnsentBytes == 1000)
        q.markRetransmitted(1, now: 10, snapshot: q[1])
        #expect(q.lostBytes == 1000 && q.retransmittedBytes == 1000 && q.lostUnsentBytes == 0)
        do { let ok = q.markLost(1); #expect(ok) }  // the retransmission lost too: it leaves the flight again
        #expect(q.retransmittedBytes == 0 && q.lostUnsentBytes == 1000)
        do { let ok = q.markLost(1); #expect(!ok) }  // already lost and not resent since
        do { let ok = q.markSacked(1); #expect(ok) }
        #expect(q.lostBytes == 0 && q.sackedBytes == 1000)
        do { let ok = q.markSacked(1); #expect(!ok) }
        do { let ok = q.markLost(1); #expect(!ok) }  // delivered data is never lost
        q.removeFirst()
        q.removeFirst()
        #expect(q.sackedBytes == 0 && q.count == 3)
    }

    @Test("a cumulative ACK inside the first record trims it and keeps the counts")
    func trim() {
        var q = queue(2)
        q.markLost(0)
        q.trimFirst(to: SequenceNumber(rawValue: 1400))
        #expect(q[0].start == SequenceNumber(rawValue: 1400) && q[0].length == 600)
        #expect(q.lostBytes == 600)
    }

    @Test("a path MTU drop splits the records into pieces of the new size, keeping flags, times and counts")
    func splitToSmallerSegments() {
        var q = queue(70)  // past the initial capacity, so the split grows the ring
        for _ in 0..<3 { q.removeFirst() }  // a moved head
        q.markLost(0)
        q.markSacked(1)
        q.split(maximumLength: 400)
        #expect(q.count == 67 * 3)
        #expect(q[0].start == SequenceNumber(rawValue: 4000) && q[0].length == 400)
        #expect(q[2].start == SequenceNumber(rawValue: 4800) && q[2].length == 200)
        #expect((0..<3).allSatisfy { q[$0].flags.contains(.lost) && q[$0].sentNanoseconds == 3 })
        #expect((3..<6).allSatisfy { q[$0].flags.contains(.sacked) && q[$0].sentNanoseconds == 4 })
        #expect(q.lostBytes == 1000 && q.lostUnsentBytes == 1000 && q.sackedBytes == 1000)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 5500)) == 4)
        q.split(maximumLength: 400)  // nothing left to split
        #expect(q.count == 67 * 3)
    }

    @Test("binary search finds the record holding a sequence number")
    func search() {
        let q = queue(100)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 1000)) == 0)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 1999)) == 0)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 2000)) == 1)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 55_500)) == 54)
        #expect(q.firstIndex(endingAfter: SequenceNumber(rawValue: 101_000)) == 100)
    }

    @Test("after a timeout every record not SACKed is lost; the storage goes when the queue empties")
    func timeoutAndRelease() {
        var q = queue(4)
        q.markSacked(2)
        q.markAllLost()
        #expect(q.lostBytes == 3000 && q.sackedBytes == 1000)
        for _ in 0..<4 { q.removeFirst() }
        #expect(q.lostBytes == 0 && q.sackedBytes == 0)
        q.releaseIfEmpty()
        #expect(q.capacity == 0)
    }
}
