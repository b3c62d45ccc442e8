// Timestamps (RFC 7323 §3–5): negotiated only when both SYNs carry them, then
// on every segment; which TSval to echo (§4.3); RTT measurement from TSecr
// (§4.1), which needs no Karn rule; PAWS dropping an old duplicate (§5),
// and TS.Recent invalidated after 24 days idle (§5.5).
//
// Setup (establishPassive(.full)): the peer's clock is script time in ms; its
// SYN carries TSval 100, its ACK TSval 200, so TS.Recent starts at 200. Our
// TSval is our clock "now": milliseconds plus a per-connection offset.

@testable import NetStackCore
import NetStackWire
import Testing

/// The peer's NOP, NOP, Timestamps block at script time `t`, echoing our clock at `echo`.
private func peerTS(_ t: Double, echo: Double) -> [ScriptOption] {
    TCPScript.tsBlock(peerClock(t), .stack(at: echo))
}

@Suite("TCP scripts: timestamps and PAWS")
struct TimestampScripts {
    @Test("every segment carries TSval = our clock and TSecr = TS.Recent")
    func everySegment() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 200)))
        s.inject(at: 1.1, .ack(seq: 1, ack: 101, win: 502, options: peerTS(1.1, echo: 1.0)))
        s.inject(at: 1.2, .data(seq: 1, ack: 101, len: 100, win: 502, options: peerTS(1.2, echo: 1.0)))
        s.expect(at: 1.24, .ack(seq: 101, ack: 101, win: 32755, options: TCPScript.tsBlock(.now, 1200)))
    }

    @Test("no timestamps unless the peer's SYN had them (RFC 7323 §3.2)")
    func notNegotiated() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .nop, .nop, .sackOK, .nop, .wscale(7)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460), .nop, .nop, .sackOK, .nop, .wscale(3)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 502))
        let fd = s.accept(at: 0.2, listener)
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 32768))
    }

    @Test("a delayed ACK for two segments echoes the earlier TSval (RFC 7323 §4.3 case A)")
    func echoEarliest() {
        let s = TCPScript()
        _ = s.establishPassive(.full)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1000, .stack(at: 0.1))))
        s.inject(at: 1.01, .data(seq: 1449, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1010, .stack(at: 0.1))))
        s.expect(at: 1.01, .ack(seq: 1, ack: 2897, win: 32406, options: TCPScript.tsBlock(.now, 1000)))
    }

    @Test("out of order, TS.Recent stays; the segment filling the hole sets it (RFC 7323 §4.3 case B)")
    func echoAcrossHole() {
        let s = TCPScript()
        _ = s.establishPassive(.full)
        s.inject(at: 1.0, .data(seq: 1449, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1010, .stack(at: 0.1))))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 32768,
                               options: TCPScript.tsBlock(.now, 200) + [.nop, .nop, .sack([(1449, 2897)])]))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1020, .stack(at: 0.1))))
        s.expect(at: 1.1, .ack(seq: 1, ack: 2897, win: 32406, options: TCPScript.tsBlock(.now, 1020)))
    }

    @Test("PAWS: a segment whose TSval is older than TS.Recent is dropped and ACKed (RFC 7323 §5.3 R1)")
    func pawsDropsOldSegment() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 502, options: TCPScript.tsBlock(1000, .stack(at: 0.1))))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 32755, options: TCPScript.tsBlock(.now, 1000)))
        // In the window, but stamped 900 < TS.Recent 1000: an old duplicate from a previous wrap.
        s.inject(at: 1.1, .data(seq: 101, ack: 1, len: 100, win: 502, options: TCPScript.tsBlock(900, .stack(at: 0.1))))
        s.expect(at: 1.1, .ack(seq: 1, ack: 101, win: 32755, options: TCPScript.tsBlock(.now, 1000)))
        s.recv(at: 1.2, fd, expect: 100)
        s.recv(at: 1.2, fd, expecting: .wouldBlock)
    }

    @Test("PAWS spares a pure ACK overtaken by a later one: its SACK blocks count, its window does not")
    func pawsSparesOvertakenAcks() throws {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.send(at: 1.0, fd, 4 * 1448)
        #expect(s.takeSent(until: 1.0).count == 4)
        let c = try #require(s.host.tcp.connections.values.first)
        // The peer's ACKs stamped 1090 and 1100 swap places on the way: the later one
        // (SACKing segment 3, window 502 · 128) first, then the earlier (segment 2, window 500 · 128).
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 502, options: peerTS(1.1, echo: 1.0) + [.nop, .nop, .sack([(2897, 4345)])]))
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 500, options: peerTS(1.09, echo: 1.0) + [.nop, .nop, .sack([(1449, 2897)])]))
        #expect(c.transmissions.sackedBytes == 2 * 1448)
        #expect(c.sndWnd == 502 << 7)  // the overtaken ACK's older window is not taken
        // Segments 2 and 3 are SACKed, so RACK resends segment 1 once its reorder window passes.
        let resent = s.takeSent(until: 1.2)
        #expect(resent.count == 1 && resent.first?.payload.count == 1448)
        // An ACK older than SND.UNA, overtaken too, still reports segment 4 (Linux would drop it).
        s.inject(at: 1.2, .ack(seq: 1, ack: 1449, win: 502, options: peerTS(1.2, echo: 1.0) + [.nop, .nop, .sack([(2897, 4345)])]))
        s.inject(at: 1.2, .ack(seq: 1, ack: 1, win: 502, options: peerTS(1.15, echo: 1.0) + [.nop, .nop, .sack([(4345, 5793)])]))
        #expect(c.transmissions.sackedBytes == 3 * 1448)
        #expect(c.sndMax - c.sndUna == 3 * 1448)
        // One whose window would reach past the edge taken is not a plain reordered ACK: dropped and answered.
        s.inject(at: 1.3, .ack(seq: 1, ack: 1449, win: 600, options: peerTS(1.19, echo: 1.0)))
        #expect(c.sndWnd == 502 << 7)
        #expect(s.takeSent(until: 1.3).contains { $0.flags == [.ack] && $0.payload.isEmpty })
    }

    @Test("PAWS does not apply to an RST: one at RCV.NXT with an old TSval still resets")
    func pawsSparesRst() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.inject(at: 1.0, .rst(seq: 1, options: TCPScript.tsBlock(50, 0)))
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionReset)
    }

    @Test("after 24 days idle TS.Recent is invalid: an old TSval is accepted and becomes TS.Recent (RFC 7323 §5.5)")
    func pawsAfterTwentyFourDays() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 502, options: TCPScript.tsBlock(1000, .stack(at: 0.1))))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 32755, options: TCPScript.tsBlock(.now, 1000)))
        let later = 1.0 + 25 * 86_400
        s.inject(at: later, .data(seq: 101, ack: 1, len: 100, win: 502, options: TCPScript.tsBlock(500, .stack(at: 0.1))))
        // Right edge 101 + 32755 · 8 = 262141 (from the ACK at 1.04): (262141 − 201) >> 3 = 32742.
        s.expect(at: later + 0.04, .ack(seq: 1, ack: 201, win: 32742, options: TCPScript.tsBlock(.now, 500)))
        s.recv(at: later + 0.1, fd, expect: 200)
    }

    @Test("RTT from TSecr: an ACK echoing our 1.0 s clock at 1.05 s is a 50 ms sample → RTO 293.75 ms")
    func rttFromEcho() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 200)))
        s.inject(at: 1.05, .ack(seq: 1, ack: 101, win: 502, options: peerTS(1.05, echo: 1.0)))
        s.send(at: 2.0, fd, 100)
        s.expect(at: 2.0, .data(seq: 101, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 1050)))
        s.expectNothing(until: 2.29)
        s.expect(at: 2.29375, .data(seq: 101, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 1050)))
    }

    @Test("with timestamps the ACK of a retransmission is a valid sample: it ends the backoff")
    func retransmissionSampleWithTimestamps() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 200)))
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 200)))
        // TSecr names the retransmission (our clock at 1.3): R = 50 ms, as in rttFromEcho.
        s.inject(at: 1.35, .ack(seq: 1, ack: 101, win: 502, options: peerTS(1.35, echo: 1.3)))
        s.send(at: 2.0, fd, 100)
        s.expect(at: 2.0, .data(seq: 101, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 1350)))
        s.expectNothing(until: 2.29)
        s.expect(at: 2.29375, .data(seq: 101, ack: 1, len: 100, win: 32768, options: TCPScript.tsBlock(.now, 1350)))
    }

    @Test("an abort RST carries timestamps too (RFC 7323 §3.2: SHOULD in an RST)")
    func rstCarriesTimestamps() {
        let s = TCPScript()
        let fd = s.establishPassive(.full)
        s.setOption(at: 0.5, fd, .linger(.zero))
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .rstAck(seq: 1, ack: 1, win: nil, options: TCPScript.tsBlock(.now, 200)))
    }
}
