// Selective acknowledgment (RFC 2018, RFC 6675). As receiver we report
// out-of-order data in SACK blocks, the block holding the newest segment
// first and the rest in the order they were last reported (RFC 2018 §4);
// as sender we use the peer's blocks to resend only the holes (RFC 6675
// §5–6), and one duplicate ACK that SACKs three segments above a hole is
// enough to call it lost (RFC 6675 §5 step 2).
//
// Setup: a peer offering MSS 1460 and SACK-permitted but no timestamps (four
// blocks fit), window 65535 both ways.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: SACK")
struct SACKScripts {
    // MARK: Receiving

    @Test("out-of-order data: an immediate duplicate ACK with a SACK block")
    func sackBlockForOutOfOrder() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1001, 2001)])]))
    }

    @Test("out-of-order segments past the most holes the receive buffer tracks (32) are dropped and counted")
    func outOfOrderPastTheRangeLimitIsCounted() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        // Forty one-byte segments with a gap before each: forty disjoint ranges wanted, thirty-two kept.
        s.flood(at: 1.0, (0..<40).map { .data(seq: 1001 + 2 * $0, ack: 1, len: 1, win: 65535) })
        _ = s.takeSent(until: 1.0)
        #expect(s.host.statistics.tcpOutOfOrderDropped == 8)
        #expect(s.host.statisticsReport().contains("    8 out-of-order segments dropped (too many holes)\n"))
        // Filling the first hole still works: RCV.NXT moves past the first kept range.
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1002, win: 65535,
                               options: [.nop, .nop, .sack([(1063, 1064), (1061, 1062), (1059, 1060), (1057, 1058)])]))
    }

    @Test("D-SACK: a retransmission of data already received is reported in the ACK's first SACK block (RFC 2883 §4.1)")
    func dsackForOldDuplicate() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2001, win: 65535))
        // The first segment again (its ACK was lost, the peer retransmitted): a duplicate ACK with a D-SACK.
        s.inject(at: 1.5, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.5, .ack(seq: 1, ack: 2001, win: 65535, options: [.nop, .nop, .sack([(1, 1001)])]))
        // Reported once: the next ACK has no SACK option.
        s.inject(at: 1.6, .data(seq: 2001, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.6, .data(seq: 3001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.6, .ack(seq: 1, ack: 4001, win: 65535))
    }

    @Test("D-SACK: a segment partly before RCV.NXT reports only its duplicate part")
    func dsackForPartialDuplicate() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 2001, win: 65535))
        // 1501..2501: 500 bytes received twice, 500 new, in order: the (delayed) ACK carries the D-SACK.
        s.inject(at: 1.5, .data(seq: 1501, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.54, .ack(seq: 1, ack: 2501, win: 65535, options: [.nop, .nop, .sack([(1501, 2001)])]))
    }

    @Test("D-SACK: a duplicate above a hole comes first, then the block that holds it (RFC 2883 §4.2)")
    func dsackAboveAHole() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 2001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2001, 3001)])]))
        s.inject(at: 1.1, .data(seq: 2001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2001, 3001), (2001, 3001)])]))
        s.inject(at: 1.2, .data(seq: 4001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.2, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(4001, 5001), (2001, 3001)])]))
    }

    @Test("several blocks: the newest first, then the others in the order last reported (RFC 2018 §4)")
    func sackBlockOrder() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 3001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(3001, 4001)])]))
        s.inject(at: 1.1, .data(seq: 5001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(5001, 6001), (3001, 4001)])]))
        s.inject(at: 1.2, .data(seq: 7001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.2, .ack(seq: 1, ack: 1, win: 65535,
                               options: [.nop, .nop, .sack([(7001, 8001), (5001, 6001), (3001, 4001)])]))
        s.inject(at: 1.3, .data(seq: 9001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.3, .ack(seq: 1, ack: 1, win: 65535,
                               options: [.nop, .nop, .sack([(9001, 10_001), (7001, 8001), (5001, 6001), (3001, 4001)])]))
    }

    @Test("a segment that extends a block reports the grown block first")
    func sackBlockGrows() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1001, 2001)])]))
        s.inject(at: 1.1, .data(seq: 2001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1001, 3001)])]))
    }

    @Test("filling the hole: a cumulative ACK at once, no SACK left")
    func holeFilled() {
        let s = TCPScript()
        let fd = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1001, 2001)])]))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 2001, win: 65535))
        s.recv(at: 1.2, fd, expect: 2000)
    }

    @Test("filling the first of two holes: the ACK moves and the remaining block is still reported")
    func partialFill() {
        let s = TCPScript()
        _ = s.establishPassive(.sack)
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1001, 2001)])]))
        s.inject(at: 1.1, .data(seq: 3001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(3001, 4001), (1001, 2001)])]))
        s.inject(at: 1.2, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.2, .ack(seq: 1, ack: 2001, win: 65535, options: [.nop, .nop, .sack([(3001, 4001)])]))
    }

    @Test("with timestamps at most three blocks fit (RFC 2018 §3)")
    func threeBlocksWithTimestamps() {
        let s = TCPScript()
        _ = s.establishPassive(.full)
        // Arriving right to left, so newest-first and last-reported order agree.
        var expected: [(Int, Int)] = []
        for (i, start) in [9001, 7001, 5001, 3001].enumerated() {
            let t = 1.0 + 0.1 * Double(i)
            s.inject(at: t, .data(seq: start, ack: 1, len: 1000, win: 502,
                                  options: TCPScript.tsBlock(peerClock(t), .stack(at: 0.1))))
            expected.insert((start, start + 1000), at: 0)
            let blocks = Array(expected.prefix(3))
            s.expect(at: t, .ack(seq: 1, ack: 1, win: 32768,
                                 options: TCPScript.tsBlock(.now, 200) + [.nop, .nop, .sack(blocks)]))
        }
    }

    @Test("no SACK blocks unless SACK-permitted was negotiated")
    func noSackWithoutPermission() {
        let s = TCPScript()
        _ = s.establishPassive(.plain)
        s.inject(at: 1.0, .data(seq: 1001, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
    }

    // MARK: Sending

    @Test("one duplicate ACK SACKing everything above the first segment resends just that segment")
    func resendOnlyTheHole() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 14_600)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 9 ? "P." : "."))
        }
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 14_601)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.2)
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expectNothing(until: 5)
    }

    @Test("two holes: both are resent, nothing the peer SACKed")
    func resendTwoHoles() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 14_600)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 9 ? "P." : "."))
        }
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535,
                               options: [.nop, .nop, .sack([(7301, 14_601), (1461, 5841)])]))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 5841, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.2)
        s.inject(at: 1.2, .ack(seq: 1, ack: 14_601, win: 65535))
        s.expectNothing(until: 5)
    }

    @Test("three duplicate ACKs with growing SACK blocks: recovery starts on the third")
    func threeSackDuplicates() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 14_600)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: k == 9 ? "P." : "."))
        }
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 2921)])]))
        s.inject(at: 1.11, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 4381)])]))
        s.expectNothing(until: 1.12)
        s.inject(at: 1.12, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(1461, 5841)])]))
        s.expect(at: 1.12, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
    }

    @Test("RACK: one later segment SACKed marks the holes lost min RTT / 4 after its RTT, long before the RTO; SACKed data is not resent")
    func rackRepairsWithoutThreeDuplicates() {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 4380)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 2921, ack: 1, len: 1460, win: 65535))
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(2921, 4381)])]))
        // RFC 8985 §6.2: RACK.rtt = 100 ms (the SACKed segment), reo_wnd = min_RTT / 4 = 25 ms
        // (one segment SACKed, no reordering seen): both holes are lost at 1.0 + 0.1 + 0.025.
        s.expectNothing(until: 1.124)
        // PRR (RFC 9937 §5): no data delivered since, so only the fast retransmit goes.
        s.expect(at: 1.125, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 1461, win: 65535, options: [.nop, .nop, .sack([(2921, 4381)])]))
        s.expect(at: 1.2, .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.25)
        s.inject(at: 1.3, .ack(seq: 1, ack: 4381, win: 65535))
        s.expectNothing(until: 5)
    }

    @Test("40 SACK holes, more than the scoreboard's 32 ranges, then a timeout: the go-back-N skips every SACKed segment and the transfer completes")
    func timeoutAfterMoreHolesThanRanges() throws {
        let s = lossRecoveryScript()
        let segments = 150
        // A SACK peer with window scaling (7), so the window holds 80 segments in flight.
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .nop, .wscale(7), .nop, .nop, .sackOK]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: nil, options: nil))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 2000))
        let fd = s.accept(at: 0.2, listener)
        let c = try #require(s.host.tcp.connections.values.first)
        s.send(at: 1.0, fd, segments * 1460)
        // Slow start: three rounds of one ACK per segment take cwnd from 10 to 80 segments.
        var t = 1.0, acked = 0
        for _ in 0..<3 {
            let sent = s.takeSent(until: t)
            let top = sent.map { (s.relativeSeq($0) + $0.payload.count - 1) / 1460 }.max() ?? acked
            t += 0.1
            s.flood(at: t, (acked + 1...top).map { .ack(seq: 1, ack: 1 + 1460 * $0, win: 2000) })
            acked = top
        }
        let burst = s.takeSent(until: t)
        #expect(burst.count == segments - acked, "the last \(segments - acked) segments in one window")
        // Of those, every other one arrives: 40 holes. Four SACK blocks an ACK, highest first.
        let sacked = Set(stride(from: acked + 1, to: segments, by: 2))
        let blocks = sacked.sorted().map { (1 + 1460 * $0, 1 + 1460 * ($0 + 1)) }
        t += 0.01
        s.flood(at: t, stride(from: 0, to: blocks.count, by: 4).map { first in
            let four = Array(blocks[first..<min(first + 4, blocks.count)].reversed())
            return .ack(seq: 1, ack: 1 + 1460 * acked, win: 2000, options: [.nop, .nop, .sack(four)])
        })
        #expect(c.transmissions.sackedBytes == sacked.count * 1460)
        // Recovery's resends are lost as well; nothing more comes back until the timeout.
        _ = s.takeSent(until: t + 0.05)
        #expect(c.inRecovery && c.consecutiveTimeouts == 0)
        var timedOut = false
        // From the timeout on the peer receives everything and ACKs cumulatively, without SACK blocks.
        var received = sacked
        var resentSACKed: [Int] = []
        t += 0.05
        for _ in 0..<100 where c.sndUna - c.iss < 1 + segments * 1460 {
            t += 0.05
            let sent = s.takeSent(until: t)
            timedOut = timedOut || c.inTimeoutRecovery
            for segment in sent where !segment.payload.isEmpty {
                let index = (s.relativeSeq(segment) - 1) / 1460
                if sacked.contains(index) { resentSACKed.append(index) }
                received.insert(index)
            }
            var next = acked
            while next < segments && (next < acked || received.contains(next)) { next += 1 }
            acked = next
            s.inject(at: t, .ack(seq: 1, ack: 1 + 1460 * acked, win: 2000))
        }
        #expect(timedOut, "the retransmission timer fired")
        #expect(resentSACKed.isEmpty, "SACKed segments resent: \(resentSACKed)")
        #expect(acked == segments, "the transfer stalled at segment \(acked)")
        #expect(c.sndUna == c.sndMax)
        s.expectError(fd, nil)
    }
}
