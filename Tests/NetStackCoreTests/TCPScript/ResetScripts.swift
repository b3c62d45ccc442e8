// Resets: when TCP sends one and what an arriving RST, SYN or odd ACK does in
// each state. RFC 9293 §3.5.2 (reset generation), §3.10.7.1–3.10.7.4 (SEGMENT
// ARRIVES), RFC 5961 §3 (RST), §4 (SYN), §5 (ACK), §7 (challenge ACK
// throttling), RFC 2525 §2.17 (close with unread data).
//
// An RST the stack sends for no connection carries window 0 (RFC 9293 leaves
// it open; Linux sends 0). An RST a connection sends when it aborts is left
// unchecked (`win: nil`): Linux puts its current window there, NetStack 0.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: resets and RFC 5961")
struct ResetScripts {
    // MARK: CLOSED (§3.10.7.1)

    @Test("CLOSED: a SYN earns <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>")
    func synToClosedPort() {
        let s = TCPScript()
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .rstAck(seq: 0, ack: 1, absolute: true))
        s.expectNothing(until: 5)
    }

    @Test("CLOSED: an ACK earns <SEQ=SEG.ACK><CTL=RST>")
    func ackToClosedPort() {
        let s = TCPScript()
        s.inject(at: 0.1, .ack(seq: 1, ack: 5000, win: 65535))
        s.expect(at: 0.1, .rst(seq: 5000, absolute: true))
    }

    @Test("CLOSED: data with FIN and no ACK earns RST,ACK acknowledging data and FIN")
    func finDataToClosedPort() {
        let s = TCPScript()
        s.inject(at: 0.1, .seg("FP", seq: 1, len: 10, win: 65535))
        s.expect(at: 0.1, .rstAck(seq: 0, ack: 12, absolute: true))
    }

    @Test("CLOSED: an RST is dropped without reply")
    func rstToClosedPort() {
        let s = TCPScript()
        s.inject(at: 0.1, .rst(seq: 1), .rstAck(seq: 1, ack: 1))
        s.expectNothing(until: 1)
    }

    @Test("a segment with a bad checksum is dropped: no RST, no ACK (RFC 9293 §3.1)")
    func badChecksumDropped() {
        let s = TCPScript()
        let fd = s.establishPassive()
        var syn = ScriptSegment.syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40001)
        syn.badChecksum = true
        s.inject(at: 0.5, syn)
        s.expectNothing(until: 1.0)
        var data = ScriptSegment.data(seq: 1, ack: 1, len: 100, win: 65535)
        data.badChecksum = true
        s.inject(at: 1.0, data)
        s.expectNothing(until: 2.0)
        s.recv(at: 2.0, fd, expecting: .wouldBlock)
    }

    // MARK: LISTEN (§3.10.7.2)

    @Test("LISTEN: an RST is ignored, an ACK earns <SEQ=SEG.ACK><CTL=RST>, a FIN alone is dropped")
    func listenRules() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .rst(seq: 1))
        s.expectNothing(until: 0.2)
        s.inject(at: 0.2, .ack(seq: 1, ack: 777, win: 65535))
        s.expect(at: 0.2, .rst(seq: 777, absolute: true))
        s.inject(at: 0.3, .seg("F", seq: 1, win: 65535))
        s.expectNothing(until: 1)
        s.expectState(listener, .listen)
    }

    // MARK: SYN-SENT (§3.10.7.3)

    @Test("SYN-SENT: a SYN-ACK acknowledging something we never sent earns <SEQ=SEG.ACK><CTL=RST>")
    func synSentBadAck() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1000, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.2, .rst(seq: 1000))
        s.expectState(fd, .synSent)
        s.inject(at: 0.3, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.3, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
    }

    @Test("SYN-SENT: RST with an acceptable ACK refuses the connection (ECONNREFUSED), nothing sent")
    func synSentRefused() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .rstAck(seq: 0, ack: 1, absolute: true))
        s.expectState(fd, .closed)
        s.expectPoll(fd, has: .error)
        s.expectError(fd, .connectionRefused)
        s.expectNothing(until: 10)
    }

    @Test("SYN-SENT: an RST without ACK, or with an unacceptable ACK, is dropped")
    func synSentBogusRstIgnored() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .rst(seq: 0, absolute: true), .rstAck(seq: 0, ack: 5, absolute: true))
        s.expectState(fd, .synSent)
        // The SYN is still retransmitted on schedule.
        s.expect(at: 1.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
    }

    @Test("SYN-SENT: an acceptable ACK without SYN or RST is dropped")
    func synSentPlainAckDropped() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .ack(seq: 0, ack: 1, win: 65535))
        s.expectNothing(until: 0.5)
        s.expectState(fd, .synSent)
    }

    // MARK: SYN-RECEIVED

    @Test("SYN-RECEIVED (passive): RST at RCV.NXT returns to LISTEN; the stale ACK then earns an RST")
    func synReceivedRst() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.2, .rst(seq: 1))
        s.expectConnections([])
        s.expectNothing(until: 2)  // no SYN-ACK retransmission either
        s.inject(at: 2.0, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 2.0, .rst(seq: 1))
        s.expectState(listener, .listen)
    }

    @Test("SYN-RECEIVED: an RST in the window but not at RCV.NXT earns a challenge ACK (RFC 5961 §3.2: all states but SYN-SENT)")
    func synReceivedInWindowRst() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.15, .rst(seq: 500))
        s.expect(at: 0.15, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 0.2, listener)
        s.expectState(fd, .established)
    }

    @Test("SYN-RECEIVED: an unacceptable ACK earns <SEQ=SEG.ACK><CTL=RST>; the handshake can still complete")
    func synReceivedBadAck() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 50, win: 65535))
        s.expect(at: 0.2, .rst(seq: 50))
        s.expectConnections([.synReceived])
        s.inject(at: 0.3, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 0.3, listener)
        s.expectState(fd, .established)
    }

    @Test("SYN-RECEIVED (passive): an in-window SYN with a new ISN returns the connection to LISTEN (§3.10.7.4 fourth)")
    func synReceivedNewSyn() {
        let s = TCPScript()
        _ = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        // "If the connection was initiated with a passive OPEN, then return this
        // connection to the LISTEN state and return."
        s.inject(at: 0.2, .syn(seq: 100, win: 65535, options: [.mss(1460)]))
        s.expectNothing(until: 0.3)
        s.expectConnections([])
    }

    // MARK: Synchronized states: RST (RFC 5961 §3.2)

    @Test("ESTABLISHED: RST with SEQ = RCV.NXT resets: ECONNRESET, nothing sent")
    func establishedExactRst() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .rst(seq: 1))
        s.expectNothing(until: 5)
        s.expectState(fd, .closed)
        s.expectPoll(fd, has: [.error])
        s.recv(at: 5.0, fd, expecting: .connectionReset)
        s.send(at: 5.0, fd, 10, expecting: .connectionReset)
    }

    @Test("ESTABLISHED: RST,ACK with SEQ = RCV.NXT resets as well")
    func establishedExactRstAck() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .rstAck(seq: 1, ack: 1))
        s.expectNothing(until: 2)
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionReset)
    }

    @Test("ESTABLISHED: RST in the window but not at RCV.NXT earns a challenge ACK and changes nothing")
    func establishedInWindowRst() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .rst(seq: 100))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        s.inject(at: 1.5, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.54, .ack(seq: 1, ack: 11, win: 65535))
        s.recv(at: 2.0, fd, expect: 10)
    }

    @Test("ESTABLISHED: RST outside the window is dropped silently")
    func establishedOutOfWindowRst() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .rst(seq: 1 + 70_000))
        s.inject(at: 1.1, .rst(seq: 0))
        s.expectNothing(until: 2)
        s.expectState(fd, .established)
    }

    // MARK: Synchronized states: SYN (RFC 5961 §4)

    @Test("ESTABLISHED: a SYN, in the window or not, earns a challenge ACK, never a reset")
    func establishedSynChallenge() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .syn(seq: 5000, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        // 500 ms apart: the connection's tcp_invalid_ratelimit lets the second answer go.
        s.inject(at: 1.6, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.6, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        s.expectNothing(until: 5)
    }

    // MARK: Synchronized states: ACK (RFC 9293 fifth, RFC 5961 §5.2)

    @Test("ESTABLISHED: an ACK of data never sent earns an ACK and the segment (with its data) is dropped")
    func ackOfUnsentData() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 5000, len: 100, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.recv(at: 1.1, fd, expecting: .wouldBlock)
        s.expectState(fd, .established)
    }

    @Test("ESTABLISHED: SEG.ACK below SND.UNA − MAX.SND.WND is dropped with an ACK; a milder old ACK is fine")
    func ackOlderThanMaxWindow() {
        let s = TCPScript()
        // The peer never offers more than 1000 bytes: MAX.SND.WND = 1000.
        let fd = s.establishPassive(peerWindow: 1000, synWindow: 1000, listenOptions: [.noDelay(true)])
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.1, .ack(seq: 1, ack: 1001, win: 1000))
        s.send(at: 1.2, fd, 1000)
        s.expect(at: 1.2, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.3, .ack(seq: 1, ack: 2001, win: 1000))
        // Acceptable: SND.UNA − MAX.SND.WND = 1001 ≤ SEG.ACK ≤ SND.NXT = 2001. 500 is not.
        s.inject(at: 1.4, .data(seq: 1, ack: 500, len: 100, win: 1000))
        s.expect(at: 1.4, .ack(seq: 2001, ack: 1, win: 65535))
        s.recv(at: 1.45, fd, expecting: .wouldBlock)
        // 1500 is a duplicate ACK: ignored, and the data on it is taken (delayed ACK, 40 ms).
        s.inject(at: 1.5, .data(seq: 1, ack: 1500, len: 100, win: 1000))
        s.expect(at: 1.54, .ack(seq: 2001, ack: 101, win: 65535))
        s.recv(at: 1.6, fd, expect: 100)
    }

    // MARK: Resets we send when closing (RFC 2525 §2.17, SO_LINGER)

    @Test("close() with unread data sends RST,ACK at SND.NXT/RCV.NXT instead of FIN (RFC 2525 §2.17)")
    func closeWithUnreadData() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        s.close(at: 1.1, fd)
        s.expect(at: 1.1, .rstAck(seq: 1, ack: 101, win: nil))
        s.expectConnections([])
        s.expectNothing(until: 10)
    }

    @Test("SO_LINGER 0: close() aborts with RST; later segments from the peer earn an RST")
    func lingerZero() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .linger(.zero))
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .rstAck(seq: 1, ack: 1, win: nil))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.1, .rst(seq: 1))
    }

    // MARK: RST in the closing states (§3.10.7.4 second)

    @Test("CLOSE-WAIT: RST at RCV.NXT resets the connection (ECONNRESET)")
    func rstInCloseWait() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .closeWait)
        s.inject(at: 1.1, .rst(seq: 2))
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionReset)
        s.expectNothing(until: 5)
    }

    @Test("LAST-ACK: RST at RCV.NXT closes the connection, nothing sent")
    func rstInLastAck() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2, win: 65535))
        s.close(at: 1.1, fd)
        s.expect(at: 1.1, .fin(seq: 1, ack: 2, win: 65535))
        s.inject(at: 1.2, .rst(seq: 2))
        s.expectConnections([])
        s.expectNothing(until: 5)
    }

    @Test("FIN-WAIT-1: RST at RCV.NXT resets the connection, our FIN is not retransmitted")
    func rstInFinWait1() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.shutdown(at: 1.0, fd, .write)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .rst(seq: 1))
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionReset)
        s.expectNothing(until: 5)
    }

    @Test("FIN-WAIT-2: RST at RCV.NXT closes the connection, nothing sent")
    func rstInFinWait2() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.shutdown(at: 1.0, fd, .write)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .finWait2)
        s.inject(at: 1.2, .rst(seq: 1))
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionReset)
        s.expectNothing(until: 5)
    }
}
