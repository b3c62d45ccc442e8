// PRR (RFC 9937) at the segment level: what counts as DeliveredData.
//
// Setup: MSS 1460, CUBIC, initial window 10 segments, no timestamps; the
// handshake's RTT sample is 100 ms (SRTT 100 ms, RTO 300 ms).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: PRR's DeliveredData (RFC 9937)")
struct PRRScripts {
    private func connection(_ s: TCPScript) -> TCPConnection? { s.host.tcp.connections.values.first }

    @Test("DeliveredData counts the SACKed records, even those the 32-range scoreboard had no room for")
    func deliveredDataFromRecords() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        let c = try #require(connection(s))
        // A scoreboard of one range stands for one whose 32 ranges are all taken.
        c.scoreboard = SACKScoreboard(capacity: 1)
        s.send(at: 1.0, fd, 20 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        // Segments 3–5 SACKed: 1 and 2 are lost (reo_wnd 0), PRR-CRB resends both.
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2921, 7301)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        #expect(c.prrDelivered == 3 * 1460)
        // Segment 7 SACKed in a second range, which the full scoreboard drops: it was delivered all the same.
        s.inject(at: 1.15, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(8761, 10_221), (2921, 7301)])]))
        #expect(c.prrDelivered == 4 * 1460)
        // The same block again delivers nothing new.
        _ = s.takeSent(until: 1.16)
        s.inject(at: 1.16, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(8761, 10_221), (2921, 7301)])]))
        #expect(c.prrDelivered == 4 * 1460)
    }

    @Test("a SACK block ending inside a segment delivers nothing until the segment is whole")
    func partialSACKIsNotDelivered() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        let c = try #require(connection(s))
        s.send(at: 1.0, fd, 20 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2921, 7301)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        // Half of segment 6: the peer holds bytes of it, but the segment is still outstanding.
        s.inject(at: 1.101, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2921, 8000)])]))
        #expect(c.prrDelivered == 3 * 1460)
        _ = s.takeSent(until: 1.2)
        // The cumulative ACK of segments 1–6 delivers 1, 2 and all of 6: the SACKed 3–5 were counted already.
        s.inject(at: 1.2, .ack(seq: 1, ack: 8761, win: 65535))
        #expect(c.prrDelivered == 6 * 1460)
    }

    @Test("without SACK, duplicate ACKs credit no more than was sent above the hole (RFC 9937 §5)")
    func duplicateAckCreditCapped() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive()
        let c = try #require(connection(s))
        s.send(at: 1.0, fd, 40 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        // Segment 1 is lost; a duplicating path turns the nine ACKs of 2–10 into 60.
        s.flood(at: 1.1, Array(repeating: .ack(seq: 1, ack: 1, win: 65535), count: 60))
        let sent = s.takeSent(until: 1.1)
        // At most as many segments as the peer could have acknowledged: the flight less the hole.
        #expect(c.duplicateAckCredit <= c.flightSize - 1460)
        #expect(c.prrDelivered <= c.flightSize - 1460)
        // Resent segment 1, the two of limited transmit, and PRR's share (ssthresh 7 of RecoverFS 12
        // segments) of what the peer could hold — not a share of 60 segments.
        let retransmissions = sent.filter { s.relativeSeq($0) == 1 }
        #expect(retransmissions.count == 1)
        #expect(sent.count == 14, "sent \(sent.count) segments on 60 duplicate ACKs of a 10-segment flight")
        // Segment 2 was lost too: the ACK of the retransmission is partial, and segment 2 goes at once
        // (RFC 6582 §3.2 step 5), though the duplicates' credit leaves this ACK no DeliveredData.
        s.inject(at: 1.2, .ack(seq: 1, ack: 1461, win: 65535))
        let afterPartial = s.takeSent(until: 1.2)
        #expect(afterPartial.first.map { s.relativeSeq($0) } == 1461)
        #expect(afterPartial.filter { s.relativeSeq($0) == 1461 }.count == 1)
        let top = c.sndMax
        s.inject(at: 1.3, .ack(seq: 1, ack: top - c.iss, win: 65535))
        #expect(!c.inRecovery)
    }
}
