// Spurious retransmissions (Eifel detection, RFC 3522, with the RFC 4015
// response): after a fast retransmit, the first ACK that covers the hole tells
// by its TSecr which copy the peer received first. The original's older TSval
// means the segment had only been reordered: the window reduction is undone.
//
// Setup (establishPassive(.full)): timestamps on, MSS 1460 → 1448 bytes of data
// per segment; ten segments fill the initial window at 1.0.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: spurious retransmissions")
struct SpuriousRetransmissionScripts {
    /// Sends the initial window at 1.0, then three duplicate ACKs at 1.1–1.12 that
    /// trigger a fast retransmit of the first segment at 1.12.
    private func fastRetransmit(_ s: TCPScript) -> Int32 {
        let fd = s.establishPassive(.full)
        s.send(at: 1.0, fd, 14_480)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1448 * k, ack: 1, len: 1448, win: 32768,
                                    options: TCPScript.tsBlock(.now, 200), flags: k == 9 ? "P." : "."))
        }
        for t in [1.1, 1.11, 1.12] {
            s.inject(at: t, .ack(seq: 1, ack: 1, win: 502, options: TCPScript.tsBlock(peerClock(t), .stack(at: 1.0))))
        }
        s.expect(at: 1.12, .data(seq: 1, ack: 1, len: 1448, win: 32768, options: TCPScript.tsBlock(.now, 1120), flags: "."))
        return fd
    }

    private func info(_ s: TCPScript) -> TCPConnectionInfo? { s.host.tcpConnectionInfo().first }

    @Test("an ACK echoing the original's TSval undoes the reduction")
    func echoOfTheOriginalUndoes() throws {
        let s = TCPScript()
        _ = fastRetransmit(s)
        let reduced = try #require(info(s))
        #expect(reduced.ssthresh < Int.max / 2)
        // The original arrived after all: its ACK echoes TSval of 1.0, older than the retransmission's 1.12.
        s.inject(at: 1.13, .ack(seq: 1, ack: 14_481, win: 502, options: TCPScript.tsBlock(peerClock(1.13), .stack(at: 1.0))))
        let after = try #require(info(s))
        #expect(after.spuriousRetransmissions == 1)
        #expect(after.ssthresh > Int.max / 2)  // back to "arbitrarily high": no loss ever happened
        #expect(after.cwnd >= 10 * 1448)
    }

    @Test("a controller chosen after the fast retransmit stays: the old one's saved state is not restored")
    func controllerChangedMidRecoveryStays() throws {
        let s = TCPScript()
        let fd = fastRetransmit(s)
        let before = try #require(info(s))
        let other: CongestionAlgorithm = before.congestion == .newReno ? .cubic : .newReno
        s.setOption(at: 1.125, fd, .congestion(other))
        // The echo of the original's TSval would undo the reduction, restoring the state saved
        // at the fast retransmit — a state of the controller the application has since replaced.
        s.inject(at: 1.13, .ack(seq: 1, ack: 14_481, win: 502, options: TCPScript.tsBlock(peerClock(1.13), .stack(at: 1.0))))
        let after = try #require(info(s))
        #expect(after.congestion == other)
        #expect(after.spuriousRetransmissions == 0)
    }

    @Test("an ACK echoing the retransmission's TSval confirms the loss: the reduction stays")
    func echoOfTheRetransmissionKeeps() throws {
        let s = TCPScript()
        _ = fastRetransmit(s)
        s.inject(at: 1.15, .ack(seq: 1, ack: 14_481, win: 502, options: TCPScript.tsBlock(peerClock(1.15), .stack(at: 1.12))))
        let after = try #require(info(s))
        #expect(after.spuriousRetransmissions == 0)
        #expect(after.ssthresh < Int.max / 2)
    }
}
