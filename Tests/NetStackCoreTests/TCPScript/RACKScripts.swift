// RACK-TLP (RFC 8985), PRR (RFC 9937) and D-SACK undo (RFC 2883, RFC 3708) at
// the segment level.
//
// Setup: SACK peer without timestamps (`establishPassive(.sack)`), MSS 1460,
// CUBIC, initial window 10 segments. The handshake's RTT sample is 100 ms:
// SRTT 100 ms, RTTVAR 50 ms, RTO 300 ms.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: RACK-TLP, PRR and D-SACK")
struct RACKScripts {
    /// The connection under test, for the counters `netstat --verbose` shows.
    private func connection(_ s: TCPScript) -> TCPConnection? { s.host.tcp.connections.values.first }

    /// Sends `segments` full segments at 1.0 (at most the initial window goes).
    private func sendWindow(_ s: TCPScript, _ fd: Int32, bytes: Int, segments: Int) {
        s.send(at: 1.0, fd, bytes)
        for k in 0..<segments {
            let last = k == segments - 1 && bytes == 1460 * segments
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: last ? "P." : "."))
        }
    }

    @Test("TLP: a lost tail is probed after PTO = 2·SRTT, and the probe's SACK lets RACK repair it before the RTO")
    func tailLossProbe() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        sendWindow(s, fd, bytes: 5840, segments: 4)
        // The first two arrive; the last two are lost.
        s.inject(at: 1.1, .ack(seq: 1, ack: 2921, win: 65535))
        // RFC 8985 §7.2: PTO = 2·SRTT = 200 ms after the ACK; nothing new to send, so the
        // last segment goes again (§7.3). The RTO (250 ms after the ACK) has not fired.
        s.expectNothing(until: 1.299)
        s.expect(at: 1.3, .data(seq: 4381, ack: 1, len: 1460, win: 65535, flags: "."))
        // The probe is SACKed: RACK marks the segment sent before it lost (§6.2) and recovery resends it.
        s.inject(at: 1.4, .ack(seq: 1, ack: 2921, win: 65535, options: [.nop, .nop, .sack([(4381, 5841)])]))
        s.expect(at: 1.4, .data(seq: 2921, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.5, .ack(seq: 1, ack: 5841, win: 65535))
        s.expectNothing(until: 5)
        let c = try #require(connection(s))
        #expect(c.tailLossProbes == 1)
        #expect(c.rackLossesMarked == 1)
        #expect(s.host.tcpLossStatistics.lossProbes == 1)
        #expect(s.host.tcpLossStatistics.sackRecoveries == 1)
    }

    @Test("TLP: no probe is armed while data is SACKed; RACK's reorder timer repairs the hole below it (RFC 8985 §7.2)")
    func noProbeWhileSACKed() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        sendWindow(s, fd, bytes: 5840, segments: 4)
        // Segments 1, 2 and 4 arrive, 3 is lost: SND.UNA advances with segment 4 SACKed.
        s.inject(at: 1.05, .ack(seq: 1, ack: 2921, win: 65535, options: [.nop, .nop, .sack([(4381, 5841)])]))
        let c = try #require(connection(s))
        #expect(c.tlpDeadline == nil)
        #expect(c.rackDeadline != nil)
        // RACK.rtt 50 ms, reo_wnd = min_RTT / 4 = 12.5 ms: segment 3 is lost at 1.0625 and resent.
        s.expectNothing(until: 1.062)
        s.expect(by: 1.063, .data(seq: 2921, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 5841, win: 65535))
        s.expectNothing(until: 3)
        #expect(c.tailLossProbes == 0)
    }

    @Test("RACK: a lost fast retransmission is found when later-sent data is SACKed, without an RTO")
    func lostRetransmission() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        sendWindow(s, fd, bytes: 20 * 1460, segments: 10)
        // Segment 1 is lost; three later ones SACKed: reo_wnd = 0 (DupThresh SACKed, RFC 8985 §6.2 step 4).
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 5841)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        // The rest is SACKed: PRR (pipe 1 segment, ssthresh 7 segments) sends 6 new segments.
        s.inject(at: 1.15, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 14_601)])]))
        for k in 10..<16 {
            s.expect(at: 1.15, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: "."))
        }
        // New data sent at 1.15 (after the retransmission at 1.1) is SACKed at 1.25: RACK.rtt = 100 ms,
        // so the retransmission's deadline 1.1 + 0.1 has passed — it was lost too, and goes again.
        s.inject(at: 1.25, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 17_521)])]))
        s.expect(at: 1.25, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        let c = try #require(connection(s))
        #expect(c.consecutiveTimeouts == 0)
        #expect(c.rackLossesMarked == 2)
    }

    /// Ten segments at 1.0; segment 1 is only delayed. The SACK of three later
    /// segments sends it again at 1.1; the original's ACK ends recovery at 1.13.
    private func spuriousFastRetransmit(_ s: TCPScript) -> Int32 {
        let fd = s.establishPassive(.sack)
        sendWindow(s, fd, bytes: 14_600, segments: 10)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 5841)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.13, .ack(seq: 1, ack: 14_601, win: 65535))
        return fd
    }

    @Test("D-SACK: the duplicate report of the only retransmission undoes the reduction (RFC 3708 §3)")
    func dsackUndoesSpuriousFastRetransmit() throws {
        let s = lossRecoveryScript()
        _ = spuriousFastRetransmit(s)
        let c = try #require(connection(s))
        #expect(c.congestion.ssthresh < Int.max / 2)
        // The retransmission reaches the peer as a duplicate: D-SACK 1:1461 below the cumulative ACK (RFC 2883 §4.1).
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535, options: [.nop, .nop, .sack([(1, 1461)])]))
        s.expectNothing(until: 1.3)
        #expect(c.dsacksReceived == 1)
        #expect(c.undoneByDSACK == 1)
        #expect(s.host.tcpLossStatistics.dsackUndos == 1)
        #expect(c.congestion.ssthresh > Int.max / 2)  // as before the false alarm
        #expect(c.congestion.cwnd >= 10 * 1460)
        #expect(c.rackReorderWindow > .zero)  // RFC 8985 §6.2 step 4: reo_wnd_mult grew
    }

    @Test("D-SACK: blocks for data never retransmitted, unsent, or repeated do not undo, and the connection goes on")
    func forgedDSACKsDoNotUndo() throws {
        let s = lossRecoveryScript()
        let fd = spuriousFastRetransmit(s)
        let c = try #require(connection(s))
        let reduced = c.congestion.ssthresh
        // A D-SACK for a segment never sent twice, one past SND.MAX, one far below SND.UNA.
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535, options: [.nop, .nop, .sack([(2921, 4381)])]))
        s.inject(at: 1.21, .ack(seq: 1, ack: 14_601, win: 65535, options: [.nop, .nop, .sack([(14_601, 16_061)])]))
        s.inject(at: 1.22, .ack(seq: 1, ack: 14_601, win: 65535,
                                options: [.nop, .nop, .sack([(0x4000_0000, 0x4000_05b4)])]))
        #expect(c.undoneByDSACK == 0)
        #expect(c.congestion.ssthresh == reduced)
        s.send(at: 1.3, fd, 1460)
        s.expect(at: 1.3, .data(seq: 14_601, ack: 1, len: 1460, win: 65535))
        s.inject(at: 1.4, .ack(seq: 1, ack: 16_061, win: 65535))
        s.expectNothing(until: 2)
    }
}

@Suite("TCP scripts: delivery-rate samples and bad SACK input")
struct RateSampleScripts {
    private func connection(_ s: TCPScript) -> TCPConnection? { s.host.tcp.connections.values.first }

    @Test("an ACK of a flight sent at once samples delivered / max(send elapsed, ACK elapsed) (draft-ietf-ccwg-bbr §4.5)")
    func rateOfOneFlight() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 14_600)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 9 ? "P." : ".")) }
        s.inject(at: 1.1, .ack(seq: 1, ack: 7301, win: 65535))
        let c = try #require(connection(s))
        let sample = c.ackSample
        // Nothing in flight at 1.0: P.delivered_time = P.first_sent_time = 1.0, P.delivered = 0.
        // Five segments delivered; send elapsed 0, ACK elapsed 100 ms.
        #expect(sample.delivered == 7300)
        #expect(sample.intervalNanoseconds == 100_000_000)
        #expect(sample.deliveryRate == 73_000)
        #expect(sample.rttNanoseconds == 100_000_000)
        #expect(sample.priorDelivered == 0)
        #expect(sample.newlyAcked == 7300)
        #expect(sample.inFlight == 7300)
        #expect(sample.totalDelivered == 7300)
    }

    @Test("SACK blocks past SND.MAX, reversed, or for data never sent change nothing and do not wedge the connection")
    func forgedSACKBlocksIgnored() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 4380)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 2921, ack: 1, len: 1460, win: 65535))
        s.inject(at: 1.05, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(4381, 90_000), (2921, 1461)])]))
        s.inject(at: 1.06, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(0x7000_0000, 0x7000_1000)])]))
        let c = try #require(connection(s))
        #expect(c.transmissions.sackedBytes == 0)
        #expect(c.transmissions.lostBytes == 0)
        s.inject(at: 1.1, .ack(seq: 1, ack: 4381, win: 65535))
        #expect(c.transmissions.isEmpty)
        s.send(at: 1.2, fd, 100)
        s.expect(at: 1.2, .data(seq: 4381, ack: 1, len: 100, win: 65535))
    }
}

/// A peer port whose connection gets an ISN at or above 2³¹ with the scripts' host seed.
let upperHalfISNPort: UInt16 = {
    let isn = ISNGenerator(secret: HostSecrets(seed: testSeed).key(.initialSequenceNumbers))
    let local = Endpoint(TCPScript.localIP, 8080)
    return (40000...41000).first { port in
        isn.isn(local: local, remote: Endpoint(TCPScript.peerIP, port), now: .zero).rawValue > 0x8000_0000 + 1_000_000
    } ?? 40002
}()

@Suite("TCP scripts: RACK state and the ISS")
struct RACKISSScripts {
    @Test("in-order ACKs never count as reordering, whichever half of the sequence space the ISS lies in", arguments: [true, false])
    func noReorderingFromISS(upperHalf: Bool) throws {
        let s = TCPScript()
        s.peerPort = upperHalf ? upperHalfISNPort : lowerHalfISNPort
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 4 * 1460)
        for k in 0..<4 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 3 ? "P." : "."))
        }
        s.inject(at: 1.1, .ack(seq: 1, ack: 2921, win: 65535))
        s.inject(at: 1.2, .ack(seq: 1, ack: 5841, win: 65535))
        let c = try #require(s.host.tcp.connections.values.first)
        let iss = c.iss.rawValue
        #expect(upperHalf ? iss >= 0x8000_0000 : iss < 0x8000_0000, "the port gave the ISN half wanted")
        #expect(!c.rackReorderingSeen)
        #expect(c.rackFack == c.sndUna)
    }
}
