// Delayed ACKs (RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2, RFC 5681 §4.2): an ACK
// may wait (40 ms here, under the 500 ms limit) but not past a second
// full-sized segment; out-of-order data, a filled hole and a FIN are ACKed at
// once; an ACK rides on data the application sends meanwhile.
//
// Setup: establishPassive (plain, MSS 1460, window 65535).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: delayed ACK")
struct DelayedAckScripts {
    @Test("one segment is ACKed after the 40 ms delay")
    func singleSegmentDelayed() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expectNothing(until: 1.039)
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        s.recv(at: 1.1, fd, expect: 100)
    }

    @Test("the second full-sized segment is ACKed at once")
    func everySecondFullSegment() {
        let s = TCPScript()
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535))
        s.inject(at: 1.01, .data(seq: 1461, ack: 1, len: 1460, win: 65535))
        s.expect(at: 1.01, .ack(seq: 1, ack: 2921, win: 65535))
        // A third one starts a new delay.
        s.inject(at: 1.02, .data(seq: 2921, ack: 1, len: 1460, win: 65535))
        s.expect(at: 1.06, .ack(seq: 1, ack: 4381, win: 65535))
    }

    @Test("the delay restarts for each new first segment")
    func delayRestarts() {
        let s = TCPScript()
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        s.inject(at: 1.1, .data(seq: 101, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.14, .ack(seq: 1, ack: 201, win: 65535))
    }

    @Test("a reply sent within the delay carries the ACK; no separate ACK follows")
    func piggybackOnReply() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.02, fd, 50)
        s.expect(at: 1.02, .data(seq: 1, ack: 101, len: 50, win: 65535))
        s.expectNothing(until: 1.2)
    }

    @Test("out-of-order data is ACKed at once (a duplicate ACK), and so is the segment that fills the hole")
    func outOfOrderImmediate() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1101, win: 65535))
        s.recv(at: 1.2, fd, expect: 1100)
    }

    @Test("a FIN is ACKed at once")
    func finImmediate() {
        let s = TCPScript()
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535, flags: "FP."))
        s.expect(at: 1.0, .ack(seq: 1, ack: 102, win: 65535))
    }

    @Test("a duplicate of data already received is ACKed at once")
    func duplicateDataImmediate() {
        let s = TCPScript()
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        // Old data (SEG.SEQ + SEG.LEN ≤ RCV.NXT) is not acceptable: "send an acknowledgment" (§3.10.7.4).
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 101, win: 65535))
    }

    @Test("a segment overlapping data already received: only the new bytes are taken, ACKed at once")
    func overlapTrimmed() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        // Bytes 51–150: the first 50 are old (RFC 9293 §3.10.7.4 trims them).
        s.inject(at: 1.1, .data(seq: 51, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.14, .ack(seq: 1, ack: 151, win: 65535))
        s.recv(at: 1.2, fd, expect: 150)
    }
}
