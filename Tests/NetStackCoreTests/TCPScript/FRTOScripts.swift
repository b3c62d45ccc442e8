// F-RTO (RFC 5682) at the segment level: after a timeout on a connection
// without timestamps, the first ACK that advances SND.UNA sends new data
// (step 2.b) and the next ACK decides whether the timeout was spurious.
// Without SACK the basic algorithm (§2) runs; with SACK the SACK-enhanced one
// (§3), which reads the SACK blocks of that next ACK.
//
// Setup: MSS 1460, CUBIC, initial window 10 segments, no timestamps. The
// handshake's RTT sample is 100 ms: SRTT 100 ms, RTTVAR 50 ms, RTO 300 ms.
// After the timeout cwnd is one segment; the ACK of the retransmission grows
// it by one (slow start after a timeout, RFC 5681 §3.1), so step 2.b sends two
// new segments. With SACK a tail loss probe (PTO = 2·SRTT, RFC 8985 §7.2)
// goes before the timeout and restarts the RTO.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: F-RTO (RFC 5682)")
struct FRTOScripts {
    private func connection(_ s: TCPScript) -> TCPConnection? { s.host.tcp.connections.values.first }

    /// Ten segments at 1.0 (14 written; plain peer: no SACK, no timestamps) and no ACK:
    /// the RTO (300 ms) resends the first at 1.3.
    private func timeout(_ s: TCPScript) -> Int32 {
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 14 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        return fd
    }

    /// SACK peer: ten segments at 1.0 (14 written) and no ACK. The probe at 1.2 sends
    /// segment 11 (new data may pass cwnd by one segment, RFC 8985 §7.3) and restarts
    /// the RTO, which resends segment 1 at 1.5. RecoveryPoint = SND.MAX = 16061.
    private func sackTimeout(_ s: TCPScript) -> Int32 {
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 14 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        s.expect(at: 1.2, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expect(at: 1.5, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        return fd
    }

    // MARK: Basic algorithm (§2), no SACK

    @Test("basic: a spurious timeout: the first ACK brings new data, not retransmissions; the second ACK undoes the reduction")
    func spuriousTimeoutUndone() throws {
        let s = lossRecoveryScript()
        _ = timeout(s)
        // The originals were only delayed. Step 2.b: ACK 2921 advances SND.UNA: two new segments go.
        s.inject(at: 1.35, .ack(seq: 1, ack: 2921, win: 65535))
        s.expect(at: 1.35, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."))
        // Step 3.b: ACK 5841 acknowledges data sent once, before the timeout: spurious (RFC 4015 response).
        s.inject(at: 1.36, .ack(seq: 1, ack: 5841, win: 65535))
        let c = try #require(connection(s))
        #expect(c.undoneByFRTO == 1)
        #expect(c.congestion.ssthresh > Int.max / 2)
        #expect(c.transmissions.lostBytes == 0)
    }

    @Test("basic: a genuine timeout: a duplicate ACK after the new data resends the next lost segment at once")
    func genuineTimeoutContinues() throws {
        let s = lossRecoveryScript()
        _ = timeout(s)
        s.inject(at: 1.4, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 1.4, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.5, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 1.5, .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        let c = try #require(connection(s))
        #expect(c.undoneByFRTO == 0)
        #expect(c.congestion.ssthresh < Int.max / 2)
    }

    @Test("basic: a duplicate ACK before the retransmission's ACK ends F-RTO (step 2.a): no new data, recovery as usual")
    func duplicateAckBeforeNewAckEndsBasic() throws {
        let s = lossRecoveryScript()
        _ = timeout(s)
        s.inject(at: 1.35, .ack(seq: 1, ack: 1, win: 65535))
        let c = try #require(connection(s))
        #expect(c.frtoStep == 0)
        // The ACK of the retransmission now resends what follows it, not new data.
        s.inject(at: 1.45, .ack(seq: 1, ack: 1461, win: 65535))
        let sent = s.takeSent(until: 1.45)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { s.relativeSeq($0) < 14_601 })
        #expect(c.undoneByFRTO == 0)
    }

    @Test("basic: when the peer's window takes no new data at the retransmission's ACK, F-RTO ends (step 2.b): recovery as usual")
    func closedWindowEndsBasic() throws {
        let s = lossRecoveryScript()
        _ = timeout(s)
        // ACK 1461 offers exactly the 13,140 bytes already sent above it: no room for new data.
        s.inject(at: 1.4, .ack(seq: 1, ack: 1461, win: 13_140))
        let c = try #require(connection(s))
        #expect(c.frtoStep == 0)
        let sent = s.takeSent(until: 1.4)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { s.relativeSeq($0) < 14_601 })
    }

    // MARK: SACK-enhanced algorithm (§3)

    @Test("SACK: duplicate ACKs before the retransmission's ACK only feed the scoreboard; a SACK of data sent once below the recovery point proves the timeout spurious")
    func sackSpuriousTimeoutUndone() throws {
        let s = lossRecoveryScript()
        _ = sackTimeout(s)
        let c = try #require(connection(s))
        let before = try #require(c.frtoUndo)
        // Segments 2 and 3 arrive before segment 1: a duplicate ACK with SACK. Step 2 waits
        // (the basic algorithm would give up here), and nothing is sent.
        s.inject(at: 1.52, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 4381)])]))
        #expect(c.frtoStep == 1)
        // Segment 1 arrives. Step 2.b: ACK 4381 is below the recovery point: two new segments.
        s.inject(at: 1.6, .ack(seq: 1, ack: 4381, win: 65535))
        s.expect(at: 1.6, .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 17_521, ack: 1, len: 1460, win: 65535, flags: "."))
        #expect(c.frtoStep == 2)
        // Step 3.b: a duplicate ACK SACKing segments 5–6 — sent once, before the timeout, below
        // the recovery point, never acknowledged — and nothing past it: the timeout was spurious.
        s.inject(at: 1.7, .ack(seq: 1, ack: 4381, win: 65535, options: [.nop, .nop, .sack([(5841, 8761)])]))
        #expect(c.frtoStep == 0)
        #expect(c.undoneByFRTO == 1)
        #expect(s.host.tcpLossStatistics.spuriousTimeouts == 1)
        #expect(c.congestion.ssthresh == before.ssthresh)
        #expect(c.congestion.cwnd == before.cwnd)
        #expect(c.transmissions.lostBytes == 0)
        // Nothing sent before the timeout goes again: the rest of the flight is in flight after all.
        let sent = s.takeSent(until: 1.75)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { s.relativeSeq($0) >= 16_061 })
    }

    @Test("SACK: after the new data, a duplicate ACK that SACKs only it, or nothing, means the timeout was genuine: the next hole goes at once",
          arguments: [true, false])
    func sackGenuineTimeout(sacksNewData: Bool) throws {
        let s = lossRecoveryScript()
        _ = sackTimeout(s)
        let c = try #require(connection(s))
        // Step 2.b: ACK 1461 (the retransmission) sends two new segments.
        s.inject(at: 1.6, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 1.6, .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 17_521, ack: 1, len: 1460, win: 65535, flags: "."))
        // Step 3.a: the new data arrived (SACKed past the recovery point) while 1461… did not;
        // or a duplicate ACK acknowledges nothing new below it. Conventional recovery resends 1461.
        let options: [ScriptOption] = sacksNewData ? [.nop, .nop, .sack([(16_061, 17_521)])] : []
        s.inject(at: 1.7, .ack(seq: 1, ack: 1461, win: 65535, options: options))
        s.expect(at: 1.7, .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        #expect(c.frtoStep == 0)
        #expect(c.undoneByFRTO == 0)
        #expect(c.congestion.ssthresh < Int.max / 2)
        #expect(c.transmissions.lostBytes > 0)
    }

    @Test("SACK: a SACK of only a segment sent twice (a loss probe) proves nothing: the timeout stays genuine")
    func sackOfRetransmittedSegmentIsNotSpurious() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 10 * 1460)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 9 ? "P." : "."))
        }
        // No new data at 1.2: the probe resends segment 10 and restarts the RTO.
        s.expect(at: 1.2, .data(seq: 13_141, ack: 1, len: 1460, win: 65535, flags: "."))
        // More data, held back by cwnd; the RTO resends segment 1 at 1.5 (RecoveryPoint 14601).
        s.send(at: 1.21, fd, 4 * 1460)
        s.expect(at: 1.5, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.6, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 1.6, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."))
        // Segment 10 is SACKed, but it was sent twice: the ACK may answer the probe.
        s.inject(at: 1.7, .ack(seq: 1, ack: 1461, win: 65535, options: [.nop, .nop, .sack([(13_141, 14_601)])]))
        s.expect(at: 1.7, .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        let c = try #require(connection(s))
        #expect(c.frtoStep == 0)
        #expect(c.undoneByFRTO == 0)
        #expect(c.congestion.ssthresh < Int.max / 2)
    }

    @Test("step 3.b: an ACK of only segments sent twice (here a tail loss probe) does not prove the timeout spurious")
    func ackOfRetransmittedDataIsNotSpurious() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 4 * 1460)
        for k in 0..<4 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 3 ? "P." : "."))
        }
        // No ACK: the probe (PTO = 2·SRTT) resends segment 4 at 1.2 and restarts the RTO (300 ms).
        s.expect(at: 1.2, .data(seq: 4381, ack: 1, len: 1460, win: 65535, flags: "."))
        s.send(at: 1.21, fd, 10 * 1460)
        _ = s.takeSent(until: 1.21)
        // The timeout resends segment 1 and starts F-RTO.
        s.expect(at: 1.5, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        let c = try #require(connection(s))
        #expect(c.frtoStep == 1)
        // Step 2.b: the ACK of segments 1–3 sends new data.
        s.inject(at: 1.55, .ack(seq: 1, ack: 4381, win: 65535))
        #expect(c.frtoStep == 2)
        _ = s.takeSent(until: 1.55)
        // Only segment 4, which the probe resent, is acknowledged: the ACK may be the probe's.
        s.inject(at: 1.56, .ack(seq: 1, ack: 5841, win: 65535))
        #expect(c.undoneByFRTO == 0)
        #expect(c.congestion.ssthresh < Int.max / 2)
        #expect(c.frtoStep == 0)
        // The timeout's recovery goes on: segment 5, sent once before the timeout, goes again.
        let sent = s.takeSent(until: 1.56)
        #expect(sent.contains { s.relativeSeq($0) == 5841 })
    }

    @Test("a second timeout while the first's recovery is under way does not start F-RTO (step 1)")
    func noFRTOInsideTimeoutRecovery() throws {
        let s = lossRecoveryScript()
        _ = timeout(s)
        let c = try #require(connection(s))
        // A duplicate ACK ends this F-RTO; the ACK of the retransmission resets the timeout count
        // but leaves RTO recovery under way (SND.UNA below the recovery point).
        s.inject(at: 1.35, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.4, .ack(seq: 1, ack: 1461, win: 65535))
        _ = s.takeSent(until: 1.4)
        #expect(c.consecutiveTimeouts == 0)
        #expect(c.inTimeoutRecovery)
        // Nothing more arrives: the next timeout is the first of this data, but recovery is under way.
        _ = s.takeSent(until: 3)
        #expect(c.consecutiveTimeouts >= 1)
        #expect(c.frtoStep == 0)
    }
}
