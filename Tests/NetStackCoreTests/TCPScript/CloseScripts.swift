// Closing: the FIN handshake in every order (RFC 9293 §3.6, Figures 12–14),
// half-close, FIN retransmission, CLOSE in each state (§3.10.4).
//
// Setup (establishPassive): MSS 1460 peer without options, window 65535 both
// ways, handshake RTT 100 ms → RTO 300 ms.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: closing")
struct CloseScripts {
    @Test("active close (Figure 13 left): FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT, the peer's FIN ACKed at once")
    func activeClose() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expectConnections([.finWait1])
        s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 65535))
        s.expectConnections([.finWait2])
        s.inject(at: 1.2, .fin(seq: 1, ack: 2, win: 65535))
        s.expect(at: 1.2, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.timeWait])
    }

    @Test("passive close: the peer's FIN is ACKed at once, recv() sees end of stream, our FIN, LAST-ACK, gone")
    func passiveClose() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .closeWait)
        s.expectPoll(fd, has: [.readable, .writable])
        s.recv(at: 1.05, fd, expect: 0)
        s.close(at: 1.1, fd)
        s.expect(at: 1.1, .fin(seq: 1, ack: 2, win: 65535))
        s.expectConnections([.lastAck])
        s.inject(at: 1.2, .ack(seq: 2, ack: 2, win: 65535))
        // The side that closes second does not wait in TIME-WAIT.
        s.expectConnections([])
        s.expectNothing(until: 5)
    }

    @Test("simultaneous close (Figure 14): FINs cross → CLOSING → the ACK of our FIN → TIME-WAIT")
    func simultaneousClose() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.05, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.05, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.closing])
        s.inject(at: 1.1, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.timeWait])
        s.expectNothing(until: 5)
    }

    @Test("FIN-WAIT-1: a FIN that also acknowledges our FIN goes straight to TIME-WAIT")
    func finAckTogether() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .fin(seq: 1, ack: 2, win: 65535))
        s.expect(at: 1.1, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.timeWait])
    }

    @Test("half-close: shutdown(write) sends FIN; data from the peer still arrives in FIN-WAIT-2")
    func halfClose() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.shutdown(at: 1.0, fd, .write)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .finWait1)
        s.send(at: 1.05, fd, 10, expecting: .brokenPipe)
        s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .finWait2)
        s.inject(at: 1.2, .data(seq: 1, ack: 2, len: 100, win: 65535))
        s.expect(at: 1.24, .ack(seq: 2, ack: 101, win: 65535))
        s.inject(at: 1.3, .fin(seq: 101, ack: 2, win: 65535))
        s.expect(at: 1.3, .ack(seq: 2, ack: 102, win: 65535))
        s.expectState(fd, .timeWait)
        s.recv(at: 1.35, fd, expect: 100)
        s.recv(at: 1.35, fd, expect: 0)
    }

    @Test("CLOSE-WAIT: we may still send; our FIN follows the data")
    func closeWaitStillSends() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2, win: 65535))
        s.send(at: 1.1, fd, 100)
        s.expect(at: 1.1, .data(seq: 1, ack: 2, len: 100, win: 65535))
        s.inject(at: 1.2, .ack(seq: 2, ack: 101, win: 65535))
        s.close(at: 1.3, fd)
        s.expect(at: 1.3, .fin(seq: 101, ack: 2, win: 65535))
        s.inject(at: 1.4, .ack(seq: 2, ack: 102, win: 65535))
        s.expectConnections([])
    }

    @Test("close() with data still queued: the FIN rides on the last data segment")
    func finAfterQueuedData() {
        let s = TCPScript()
        let fd = s.establishPassive()
        // Initial window 10 × 1460 = 14600 (RFC 6928): 100 bytes wait for the ACK.
        s.send(at: 1.0, fd, 14_700)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: "."))
        }
        s.close(at: 1.0, fd)
        s.expectNothing(until: 1.1)
        s.inject(at: 1.1, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expect(at: 1.1, .data(seq: 14_601, ack: 1, len: 100, win: 65535, flags: "FP."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_702, win: 65535))
        s.expectConnections([.finWait2])
    }

    @Test("an unacknowledged FIN is retransmitted after RTO, then 2·RTO (RFC 6298 §5.5)")
    func finRetransmitted() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.3, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.9, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 2.0, .ack(seq: 1, ack: 2, win: 65535))
        s.expectConnections([.finWait2])
        s.expectNothing(until: 10)
    }

    @Test("LAST-ACK: our FIN is retransmitted until the peer acknowledges it")
    func lastAckRetransmitted() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2, win: 65535))
        s.close(at: 1.1, fd)
        s.expect(at: 1.1, .fin(seq: 1, ack: 2, win: 65535))
        s.expect(at: 1.4, .fin(seq: 1, ack: 2, win: 65535))
        s.inject(at: 1.5, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([])
        s.expectNothing(until: 10)
    }

    @Test("a FIN that arrives before the data ahead of it waits; the data then completes it")
    func outOfOrderFin() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 101, ack: 1, win: 65535))
        // Out of order: an immediate duplicate ACK (RFC 5681 §4.2).
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 102, win: 65535))
        s.expectState(fd, .closeWait)
        s.recv(at: 1.2, fd, expect: 100)
        s.recv(at: 1.2, fd, expect: 0)
    }

    @Test("an orphaned FIN-WAIT-2 connection goes away after 60 s (tcp_fin_timeout), silently")
    func orphanedFinWait2Expires() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 65535))
        s.expectNothing(until: 30)
        s.expectConnections([.finWait2])
        s.expectNothing(until: 61.2)
        s.expectConnections([])
        // The connection is gone: the listener answers the ACK-bearing segment with an RST.
        s.inject(at: 62, .data(seq: 1, ack: 2, len: 10, win: 65535))
        s.expect(at: 62, .rst(seq: 2))
    }

    @Test("close() in SYN-SENT deletes the connection: nothing sent, a late SYN-ACK earns an RST")
    func closeInSynSent() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.close(at: 0.15, fd)
        s.expectConnections([])
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.2, .rst(seq: 1))
        s.expectNothing(until: 5)
    }

    @Test("recv() after the peer's FIN and all data: end of stream, repeatedly")
    func endOfStreamRepeats() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 50, win: 65535, flags: "FP."))
        s.expect(at: 1.0, .ack(seq: 1, ack: 52, win: 65535))
        s.recv(at: 1.1, fd, expect: 50)
        s.recv(at: 1.1, fd, expect: 0)
        s.recv(at: 1.2, fd, expect: 0)
        s.expectState(fd, .closeWait)
    }

    @Test("FIN-WAIT-1: data from the peer is still taken before our FIN is acknowledged")
    func dataInFinWait1() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.shutdown(at: 1.0, fd, .write)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.05, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.09, .ack(seq: 2, ack: 101, win: 65535))
        s.expectState(fd, .finWait1)
        s.recv(at: 1.1, fd, expect: 100)
    }
}
