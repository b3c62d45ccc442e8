// Segments glued by receive coalescing (software GRO, as NetStackCore's ReceiveCoalescer glues them) and
// the ACK clock (RFC 5681 §4.2: an ACK for at least every second full-sized segment; out-of-order
// data ACKed at once). A glued run of N full segments arrives as one segment of N × MSS: it
// is ACKed at once, as Linux does after GRO, never left to the delayed-ACK timer as one segment.
//
// Setup: establishPassive (plain, MSS 1460, window 65535) on an adapter with largeReceive.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: coalesced receive")
struct CoalescedReceiveScripts {
    @Test("a glued run of two full segments is ACKed at once")
    func twoSegmentsAckedAtOnce() {
        let s = TCPScript(largeReceive: true)
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 2 * 1460, win: 65535, flags: "."))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2921, win: nil))
        s.recv(at: 1.1, fd, expect: 2920)
    }

    @Test("a glued run of 44 full segments is ACKed at once, and only once")
    func fortyFourSegmentsAckedOnce() {
        let s = TCPScript(largeReceive: true)
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 44 * 1460, win: 65535, flags: "."))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1 + 44 * 1460, win: nil))
        s.expectNothing(until: 1.5)
    }

    @Test("a full segment left waiting and a glued run after it share one immediate ACK")
    func waitingSegmentThenRun() {
        let s = TCPScript(largeReceive: true)
        _ = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.01)
        s.inject(at: 1.01, .data(seq: 1461, ack: 1, len: 3 * 1460, win: 65535, flags: "."))
        s.expect(at: 1.01, .ack(seq: 1, ack: 1 + 4 * 1460, win: nil))
        s.expectNothing(until: 1.5)
    }

    @Test("a glued run past a hole is ACKed at once (a duplicate ACK), and so is the segment that fills it")
    func runPastAHoleAckedAtOnce() {
        let s = TCPScript(largeReceive: true)
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1461, ack: 1, len: 3 * 1460, win: 65535, flags: "."))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: nil))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1 + 4 * 1460, win: nil))
        s.recv(at: 1.2, fd, expect: 4 * 1460)
    }
}
