// The retransmission timer (RFC 6298): RTO from SRTT and RTTVAR (§2),
// exponential backoff (§5.5), restart on new ACKs (§5.3), Karn's rule (§3,
// RFC 9293 §3.8.1), 3 s after a SYN timeout (§5.7), the loss window after a
// timeout (RFC 5681 §3.1), and giving up: ETIMEDOUT after 15 retransmissions
// of data (Linux's tcp_retries2) and 6 of a SYN (tcp_syn_retries).
//
// Setup (establishPassive): plain peer, handshake RTT 100 ms, so SRTT = 100 ms,
// RTTVAR = 50 ms, RTO = 100 + 4 · 50 = 300 ms (min 200 ms, max 120 s).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: retransmission timeout")
struct RetransmissionScripts {
    @Test("unacknowledged data is resent after RTO = 300 ms, then after 600 ms, 1.2 s, 2.4 s")
    func exponentialBackoff() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        for t in [1.3, 1.9, 3.1, 5.5] {
            s.expect(at: t, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        }
        s.inject(at: 5.6, .ack(seq: 1, ack: 1001, win: 65535))
        s.expectNothing(until: 20)
    }

    @Test("after 15 retransmissions (RTO capped at 120 s) the connection is aborted with ETIMEDOUT, without RST")
    func givesUpAfterFifteen() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        var t = 1.0
        for rto in [0.3, 0.6, 1.2, 2.4, 4.8, 9.6, 19.2, 38.4, 76.8, 120, 120, 120, 120, 120, 120] {
            t += rto
            s.expect(at: t, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        }
        s.expectState(fd, .established)
        // The 16th expiry, 120 s after the last retransmission: t = 994.3.
        s.expectNothing(until: t + 120)
        s.expectState(fd, .closed)
        s.expectError(fd, .timedOut)
        s.expectNothing(until: 2000)
    }

    @Test("an unanswered SYN is resent at 1, 3, 7, 15, 31, 63 s; connect fails with ETIMEDOUT at 127 s")
    func synRetriesThenTimeout() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        let syn = ScriptSegment.syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)])
        s.expect(at: 0.1, syn)
        for t in [1.1, 3.1, 7.1, 15.1, 31.1, 63.1] { s.expect(at: t, syn) }
        s.expectNothing(until: 127.0)
        s.expectState(fd, .synSent)
        s.expectNothing(until: 127.1)
        s.expectState(fd, .closed)
        s.expectError(fd, .timedOut)
        s.expectNothing(until: 300)
    }

    @Test("after a SYN timeout and no RTT sample, data starts with RTO = 3 s (RFC 6298 §5.7)")
    func rtoThreeSecondsAfterSynTimeout() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        let syn = ScriptSegment.syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)])
        s.expect(at: 0.1, syn)
        s.expect(at: 1.1, syn)
        // Which SYN this answers is ambiguous (Karn): no sample.
        s.inject(at: 1.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.2, .ack(seq: 1, ack: 1, win: 65535))
        s.send(at: 2.0, fd, 1000)
        s.expect(at: 2.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expectNothing(until: 4.99)
        s.expect(at: 5.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
    }

    @Test("after a lost SYN the initial window is one segment (RFC 5681 §3.1, RFC 6928 §2)")
    func initialWindowOneAfterSynLoss() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        let syn = ScriptSegment.syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)])
        s.expect(at: 0.1, syn)
        s.expect(at: 1.1, syn)
        s.expect(at: 3.1, syn)
        s.inject(at: 3.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 3.2, .ack(seq: 1, ack: 1, win: 65535))
        s.send(at: 4.0, fd, 14_600)
        s.expect(at: 4.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 4.1)
    }

    @Test("Karn: the ACK of a retransmitted segment gives no sample; the backed-off RTO stays for the next data")
    func karnKeepsBackoff() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.35, .ack(seq: 1, ack: 1001, win: 65535))
        s.send(at: 2.0, fd, 1000)
        s.expect(at: 2.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expectNothing(until: 2.599)
        s.expect(at: 2.6, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
    }

    @Test("a fresh sample updates the RTO: R = 50 ms → SRTT 93.75 ms, RTTVAR 50 ms, RTO 293.75 ms")
    func sampleUpdatesRTO() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        // RTTVAR = 3/4 · 50 + 1/4 · |100 − 50| = 50; SRTT = 7/8 · 100 + 1/8 · 50 = 93.75 (RFC 6298 §2.3).
        s.inject(at: 1.05, .ack(seq: 1, ack: 1001, win: 65535))
        s.send(at: 2.0, fd, 1000)
        s.expect(at: 2.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expectNothing(until: 2.29)
        s.expect(at: 2.29375, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
    }

    @Test("an ACK of new data restarts the timer for what is still outstanding (RFC 6298 §5.3)")
    func timerRestartsOnAck() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 2920)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535))
        // R = 200 ms: RTTVAR = 3/4 · 50 + 1/4 · 100 = 62.5, SRTT = 7/8 · 100 + 1/8 · 200 = 112.5,
        // RTO = 112.5 + 250 = 362.5 ms, counted from this ACK.
        s.inject(at: 1.2, .ack(seq: 1, ack: 1461, win: 65535))
        s.expectNothing(until: 1.56)
        s.expect(at: 1.5625, .data(seq: 1461, ack: 1, len: 1460, win: 65535))
    }

    @Test("after a timeout cwnd is one segment, then slow start resends the rest (RFC 5681 §3.1)")
    func slowStartAfterTimeout() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 4380)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 2921, ack: 1, len: 1460, win: 65535))
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.4)
        s.inject(at: 1.4, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 1.4, .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 2921, ack: 1, len: 1460, win: 65535))
    }

    @Test("a retransmission carries the current ACK and window")
    func retransmissionCarriesCurrentAck() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 50, win: 65535))
        s.expect(at: 1.14, .ack(seq: 1001, ack: 51, win: 65535))
        s.expect(at: 1.3, .data(seq: 1, ack: 51, len: 1000, win: 65535))
    }
}
