// The three-way handshake (RFC 9293 §3.5, Figures 6–8) and what the SYNs
// negotiate: MSS (§3.7.1), window scaling and timestamps (RFC 7323 §1.3,
// §2.2), SACK-permitted (RFC 2018 §2).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: three-way handshake")
struct HandshakeScripts {
    @Test("passive open with MSS only: SYN-ACK carries only MSS, the ACK makes it ESTABLISHED")
    func passiveOpenPlain() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        // RFC 7323 §1.3 / RFC 2018 §2: no WS, TS or SACK-permitted unless the SYN had them.
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.app(at: 0.15, "accept before the ACK", expecting: .wouldBlock) { host, _ throws(NetError) in
            try host.accept(listener).descriptor
        }
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 0.2, listener)
        s.expectState(fd, .established)
        s.expectPoll(fd, has: .writable, lacks: .readable)
        s.expectNothing(until: 10)
    }

    @Test("passive open with a Linux SYN: SYN-ACK offers SACK, echoes TSval, window scale 3 for 256 KiB")
    func passiveOpenFull() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(100, 0), .nop, .wscale(7)]))
        // 262144 >> 3 = 32768 ≤ 65535: shift 3 (RFC 7323 §2.3); the SYN-ACK's own window is unscaled.
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535,
                                  options: [.mss(1460), .sackOK, .ts(.now, 100), .nop, .wscale(3)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 502, options: [.nop, .nop, .ts(200, .stack(at: 0.1))]))
        let fd = s.accept(at: 0.2, listener)
        s.expectState(fd, .established)
        // The first data segment advertises 262144 >> 3 = 32768 and echoes TS.Recent = 200.
        s.send(at: 0.3, fd, 100)
        s.expect(at: 0.3, .data(seq: 1, ack: 1, len: 100, win: 32768, options: [.nop, .nop, .ts(.now, 200)]))
    }

    @Test("active open: SYN offers everything, SYN-ACK with MSS only → ACK with an unscaled window")
    func activeOpenPlain() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expectState(fd, .synSent)
        s.expectPoll(fd, has: [], lacks: .writable)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        // The peer sent no WS: neither side scales (RFC 7323 §2.2), so 65535 it is.
        s.expect(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        s.expectPoll(fd, has: .writable)
        s.expectNothing(until: 10)
    }

    @Test("active open with a Linux SYN-ACK: ACK with scaled window and timestamps")
    func activeOpenFull() {
        let s = TCPScript()
        let fd = s.establishActive(.full)
        s.expectState(fd, .established)
        s.send(at: 1.0, fd, 10)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 10, win: 32768, options: [.nop, .nop, .ts(.now, 200)]))
    }

    @Test("active open: our advertised window does not depend on where the peer's ISN lies",
          arguments: [UInt32(0), 0x7FFF_0000, 0x8000_0000, 0x9000_0000, 0xC000_0000, 0xFFFF_FF00])
    func activeOpenAnyPeerISN(isn: UInt32) {
        let s = TCPScript()
        s.peerISN = isn
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: PeerOptions.full.syn(at: 0.2, echo: 0.1)))
        // 256 KiB buffer with shift 3: the window field is 262144 >> 3 = 32768 (RFC 7323 §2.3).
        s.expect(at: 0.2, .ack(seq: 1, ack: 1, win: 32768, options: [.nop, .nop, .ts(.now, 200)]))
        // 1000 bytes unread: (262144 − 1000) >> 3 = 32643, after the 40 ms delayed ACK.
        s.inject(at: 0.3, .data(seq: 1, ack: 1, len: 1000, win: 502, options: [.nop, .nop, .ts(300, .stack(at: 0.2))]))
        s.expect(at: 0.34, .ack(seq: 1, ack: 1001, win: 32643, options: [.nop, .nop, .ts(.now, 300)]))
        // Data past the 256 KiB window is outside it (RFC 9293 §3.10.7.4): only a duplicate ACK.
        s.inject(at: 0.4, .data(seq: 1001 + 262_144, ack: 1, len: 100, win: 502, options: [.nop, .nop, .ts(400, .stack(at: 0.34))]))
        s.expect(at: 0.4, .ack(seq: 1, ack: 1001, win: 32643, options: [.nop, .nop, .ts(.now, 300)]))
        // An RST outside the window is dropped silently (RFC 5961 §3.2).
        s.inject(at: 0.5, .rst(seq: 1001 + 300_000))
        s.expectNothing(until: 0.6)
        s.recv(at: 0.6, fd, expect: 1000)
    }

    @Test("simultaneous open (RFC 9293 Figure 7): SYN crosses SYN, our SYN-ACK, the peer's ACK → ESTABLISHED")
    func simultaneousOpenWithAck() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.15, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        // SYN-SENT + SYN: "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>" (§3.10.7.3).
        // Options are not checked: the RFCs only pin the MSS here.
        s.expect(at: 0.15, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        s.expectState(fd, .synReceived)
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        s.expectNothing(until: 5)
    }

    @Test("simultaneous open (RFC 9293 Figure 8): the peer's SYN-ACK in SYN-RECEIVED → ESTABLISHED")
    func simultaneousOpenSynAcks() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.15, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.15, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        // Figure 8 line 6: <SEQ=300><ACK=101><CTL=SYN,ACK> takes SYN-RECEIVED to ESTABLISHED
        // (Linux lets exactly this SYN-ACK through its RFC 5961 SYN check); nothing more is sent.
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expectState(fd, .established)
        s.expectNothing(until: 5)
    }

    @Test("close() in SYN-RECEIVED (simultaneous open) sends a FIN and enters FIN-WAIT-1 (RFC 9293 §3.10.4)")
    func closeInSynReceived() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.15, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.15, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        // "If no SENDs have been issued and there is no pending data to send, then form a
        // FIN segment and send it, and enter FIN-WAIT-1 state."
        s.shutdown(at: 0.18, fd, .write)
        s.expect(at: 0.18, .fin(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .finWait1)
        s.inject(at: 0.2, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .finWait2)
    }

    @Test("RST in SYN-RECEIVED after an active open: the connection was refused (ECONNREFUSED)")
    func rstInActiveSynReceived() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.inject(at: 0.15, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.15, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        s.inject(at: 0.2, .rst(seq: 1))
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionRefused)
        s.expectNothing(until: 5)
    }

    @Test("SYN-RECEIVED: our SYN-ACK is retransmitted after 1 s, then 2 s (RFC 6298 §2.1, §5.5)")
    func synAckRetransmitted() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 3.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 3.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 3.2, listener)
        s.expectState(fd, .established)
    }

    @Test("SYN-RECEIVED: the peer's retransmitted SYN is answered with the SYN-ACK again at once")
    func retransmittedSynGetsSynAck() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.5, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.5, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.6, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 0.6, listener)
        s.expectState(fd, .established)
    }

    @Test("no MSS option: the send MSS is 536 (RFC 9293 §3.7.1, MUST-15)")
    func defaultMSS536() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 0.2, listener)
        s.setOption(at: 0.2, fd, .noDelay(true))
        s.send(at: 1.0, fd, 1200)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 536, win: 65535, flags: "."),
                 .data(seq: 537, ack: 1, len: 536, win: 65535, flags: "."),
                 .data(seq: 1073, ack: 1, len: 128, win: 65535))
    }

    @Test("the peer's MSS 536 bounds our segments; timestamps take 12 bytes of it (RFC 6691 §2)")
    func peerMSSBoundsSegments() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(536), .sackOK, .ts(100, 0), .nop, .wscale(7)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 100), .nop, .wscale(3)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 502, options: [.nop, .nop, .ts(200, .stack(at: 0.1))]))
        let fd = s.accept(at: 0.2, listener)
        s.setOption(at: 0.2, fd, .noDelay(true))
        s.send(at: 1.0, fd, 1000)
        // RFC 6691: the MSS counts data only; 536 − 12 bytes of timestamps = 524 per segment.
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 524, win: 32768, options: [.nop, .nop, .ts(.now, 200)], flags: "."),
                 .data(seq: 525, ack: 1, len: 476, win: 32768, options: [.nop, .nop, .ts(.now, 200)]))
    }

    @Test("data on the handshake's final ACK is accepted and acknowledged")
    func dataOnFinalAck() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.2, .data(seq: 1, ack: 1, len: 100, win: 65535))
        let fd = s.accept(at: 0.2, listener)
        // One segment of data: a delayed ACK, 40 ms later (TCPConfig.delayedAckTimeout).
        s.expect(at: 0.24, .ack(seq: 1, ack: 101, win: 65535))
        s.recv(at: 0.3, fd, expect: 100)
    }

    @Test("the peer's sequence numbers wrap past 2^32 mid-stream: data is taken in order")
    func peerSequenceWraps() {
        let s = TCPScript()
        s.peerISN = 0xFFFF_FF00  // byte 256 of the stream has sequence number 0
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.01, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.01, .ack(seq: 1, ack: 2001, win: 65535))
        s.inject(at: 1.1, .fin(seq: 2001, ack: 1, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 2002, win: 65535))
        s.recv(at: 1.2, fd, expect: 2000)
        s.recv(at: 1.2, fd, expect: 0)
    }

    @Test("ESTABLISHED: a retransmitted SYN-ACK (our ACK was lost) is answered with an ACK")
    func duplicateSynAckGetsAck() {
        let s = TCPScript()
        let fd = s.establishActive()
        s.inject(at: 1.0, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
    }
}

@Suite("TCP scripts: closing before a simultaneous open completes")
struct EarlyCloseScripts {
    @Test("shutdown in a simultaneous open's SYN-RECEIVED sends FIN; timeouts resend the SYN-ACK, never garbage")
    func simultaneousOpenClosedEarly() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: nil))
        s.inject(at: 0.15, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.15, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        s.shutdown(at: 0.16, fd, .write)
        s.expect(at: 0.16, .fin(seq: 1, ack: 1, win: 65535))
        // Our SYN is still unacknowledged: the retransmission timer resends the SYN-ACK (RTO 1 s, then 2 s).
        s.expect(at: 1.1, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        s.expect(at: 3.1, .seg("S.", seq: 0, ack: 1, win: 65535, options: nil))
        // The peer acknowledges our SYN and FIN.
        s.inject(at: 3.2, .ack(seq: 1, ack: 2, win: 65535))
        s.expectState(fd, .finWait2)
    }
}
