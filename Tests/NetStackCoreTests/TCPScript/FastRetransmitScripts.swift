// Fast retransmit and NewReno fast recovery without SACK: three duplicate
// ACKs resend the first unacknowledged segment (RFC 5681 §3.2), limited
// transmit sends new data on the first two (RFC 3042), a partial ACK resends
// the next hole (RFC 6582 §3.2 step 5), the full ACK ends recovery with
// cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (step 3 option 1).
//
// Setup: plain peer (no SACK), MSS 1460, initial window 10 segments (RFC 6928).

@testable import NetStackCore
import NetStackWire
import Testing

/// A peer port whose connection gets an ISN below 2³¹ with the scripts' host seed
/// (`testSeed`), so that the `recover` bug (threeDuplicateAcks with an ISN above
/// 2³¹) does not hide what the other scripts check. Found from the ISN the host
/// computes, with a margin of four seconds of clock ticks.
let lowerHalfISNPort: UInt16 = {
    let isn = ISNGenerator(secret: HostSecrets(seed: testSeed).key(.initialSequenceNumbers))
    let local = Endpoint(TCPScript.localIP, 8080)
    return (40000...41000).first { port in
        isn.isn(local: local, remote: Endpoint(TCPScript.peerIP, port), now: .zero).rawValue < 0x8000_0000 - 1_000_000
    } ?? 40001
}()

/// A script whose peer uses `lowerHalfISNPort`.
func lossRecoveryScript() -> TCPScript {
    let s = TCPScript()
    s.peerPort = lowerHalfISNPort
    return s
}

/// Sends 10 full segments (the whole initial window) at 1.0.
private func sendInitialWindow(_ s: TCPScript, _ fd: Int32, extra: Int = 0) {
    s.send(at: 1.0, fd, 14_600 + extra)
    for k in 0..<10 {
        let last = extra == 0 && k == 9
        s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: last ? "P." : "."))
    }
}

@Suite("TCP scripts: fast retransmit and NewReno")
struct FastRetransmitScripts {
    @Test("three duplicate ACKs resend the first segment at once")
    func threeDuplicateAcksLowerHalfISN() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        sendInitialWindow(s, fd)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 65535))
        s.expectNothing(until: 1.12)
        s.inject(at: 1.12, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.12, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expectNothing(until: 5)
    }

    @Test("three duplicate ACKs resend the first segment at once (whatever the stack's ISN)",
          arguments: [UInt16(40000), 40001, 40002, 40003, 40004, 40005, 40006, 40007])
    func threeDuplicateAcks(port: UInt16) {
        let s = TCPScript()
        s.peerPort = port
        let fd = s.establishPassive()
        sendInitialWindow(s, fd)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 65535))
        s.expectNothing(until: 1.12)
        s.inject(at: 1.12, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.12, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expectNothing(until: 5)
    }

    @Test("two duplicate ACKs are not enough: the segment waits for the RTO")
    func twoDuplicateAcks() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        sendInitialWindow(s, fd)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535), .ack(seq: 1, ack: 1, win: 65535))
        s.expectNothing(until: 1.299)
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
    }

    @Test("limited transmit: each of the first two duplicate ACKs sends one new segment (RFC 3042, RFC 5681 §3.2)")
    func limitedTransmit() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        sendInitialWindow(s, fd, extra: 2920)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.1, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.11, .data(seq: 16_061, ack: 1, len: 1460, win: 65535))
        s.inject(at: 1.12, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.12, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
    }

    @Test("ACKs whose window changes are not duplicates (RFC 5681 §2 (e))")
    func windowChangeIsNotDuplicate() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        sendInitialWindow(s, fd)
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65000))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 64000))
        s.inject(at: 1.12, .ack(seq: 1, ack: 1, win: 63000))
        s.expectNothing(until: 1.299)
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
    }

    @Test("ACKs that carry data are not duplicates (RFC 5681 §2 (b))")
    func dataIsNotDuplicate() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        sendInitialWindow(s, fd)
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.inject(at: 1.11, .data(seq: 11, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.11, .ack(seq: 14_601, ack: 21, win: 65535))
        s.inject(at: 1.12, .data(seq: 21, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.16, .ack(seq: 14_601, ack: 31, win: 65535))
        s.expectNothing(until: 1.299)
        s.expect(at: 1.3, .data(seq: 1, ack: 31, len: 1460, win: 65535, flags: "."))
    }

    @Test("NewReno: a partial ACK resends the next hole at once; the full ACK ends recovery with cwnd = ssthresh (RFC 9937)")
    func newRenoPartialAck() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(listenOptions: [.congestion(.newReno)])
        sendInitialWindow(s, fd)
        // Segments 1 and 5 are lost; 2, 3, 4 arrive and each earns a duplicate ACK.
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535), .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.11, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        // The resent segment 1 fills the first hole: ACK 5841 < recover (14601) is partial.
        s.inject(at: 1.2, .ack(seq: 1, ack: 5841, win: 65535))
        s.expect(at: 1.2, .data(seq: 5841, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.3, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expectNothing(until: 2.0)
        // ssthresh = FlightSize / 2 = 7300; PRR ends recovery with cwnd = ssthresh (RFC 9937 §5): 5 segments.
        s.send(at: 2.0, fd, 14_600)
        s.expect(at: 2.0, .data(seq: 14_601, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 16_061, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 17_521, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 18_981, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 20_441, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 2.05)
    }

    @Test("a pure window update is not a duplicate ACK, and lets waiting data go")
    func windowUpdateSendsData() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(peerWindow: 2920, synWindow: 2920)
        s.send(at: 1.0, fd, 5840)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 5840))
        s.expect(at: 1.1, .data(seq: 2921, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 4381, ack: 1, len: 1460, win: 65535))
    }
}
