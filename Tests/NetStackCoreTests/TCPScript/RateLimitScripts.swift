// Answers to invalid segments, rate-limited as Linux does since the
// CVE-2016-5696 fix: per connection (tcp_invalid_ratelimit, 500 ms between
// answers to challenge-worthy or out-of-window segments) and, for challenge
// ACKs (RFC 5961 §7), per host with a budget drawn at random each second
// (limit/2 + random(limit)), so an off-path attacker cannot count it.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: rate limits on challenge and out-of-window ACKs")
struct RateLimitScripts {
    @Test("challenge ACKs: at most one per connection per 500 ms (tcp_invalid_ratelimit), counted")
    func challengeAckPerConnection() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .rst(seq: 100))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.1, .rst(seq: 100))
        s.inject(at: 1.4, .syn(seq: 5000, win: 65535, options: [.mss(1460)]))
        s.expectNothing(until: 1.5)
        s.inject(at: 1.6, .rst(seq: 100))
        s.expect(at: 1.6, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        #expect(s.host.statistics.tcpChallengeAcksSent == 2)
        #expect(s.host.statistics.tcpChallengeAcksSuppressed == 2)
        #expect(s.host.statisticsReport().contains("    2 challenge ACKs suppressed (rate limit)\n"))
    }

    @Test("out-of-window ACKs without data: at most one duplicate ACK per connection per 500 ms")
    func outOfWindowAckPerConnection() {
        let s = TCPScript()
        let fd = s.establishPassive()
        // Past the right edge of the 65535-byte window (RFC 9293 §3.10.7.4: answer with an ACK).
        s.inject(at: 1.0, .ack(seq: 1 + 70_000, ack: 1, win: 65535))
        s.expect(at: 1.0, .ack(seq: 1, ack: 1, win: 65535))
        s.flood(at: 1.1, [ScriptSegment](repeating: .ack(seq: 1 + 70_000, ack: 1, win: 65535), count: 100))
        #expect(s.takeSent(until: 1.1).isEmpty)
        s.inject(at: 1.2, .ack(seq: 0, ack: 1, win: 65535))  // left of the window
        s.expectNothing(until: 1.5)
        s.inject(at: 1.6, .ack(seq: 0, ack: 1, win: 65535))
        s.expect(at: 1.6, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
        #expect(s.host.statistics.tcpOutOfWindowAcksSuppressed == 101)
    }

    @Test("an old data segment (a retransmission) is always answered: the sender needs that ACK")
    func oldDataAlwaysAnswered() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 11, win: 65535))
        s.inject(at: 1.1, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 11, win: 65535))
        s.inject(at: 1.2, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 1.2, .ack(seq: 1, ack: 11, win: 65535))
        s.recv(at: 1.3, fd, expect: 10)
        #expect(s.host.statistics.tcpOutOfWindowAcksSuppressed == 0)
    }

    @Test("challenge ACKs: the host's budget per second is random in [limit/2, limit/2 + limit), not a constant")
    func challengeAckHostBudgetRandomised() {
        // Limit 10: each second allows 5 ... 14. The per-connection limit is off here,
        // so one connection can spend the whole budget.
        let s = TCPScript { config in
            config.tcp.challengeAckLimit = 10
            config.tcp.invalidRateLimit = .zero
        }
        s.establishPassive()
        var perSecond: [Int] = []
        for second in 1...20 {
            s.flood(at: Double(second) + 0.5, [ScriptSegment](repeating: .rst(seq: 100), count: 40))
            perSecond.append(s.takeSent(until: Double(second) + 0.5).count)
        }
        #expect(perSecond.allSatisfy { (5..<15).contains($0) }, "\(perSecond)")
        #expect(Set(perSecond).count > 1, "the same budget every second can be counted: \(perSecond)")
        #expect(s.host.statistics.tcpChallengeAcksSent == perSecond.reduce(0, +))
        #expect(s.host.statistics.tcpChallengeAcksSuppressed == 20 * 40 - perSecond.reduce(0, +))
    }

    @Test("challenge ACKs: the host budget is shared by all connections (per-connection limit on)")
    func challengeAckHostBudgetShared() {
        let s = TCPScript { config in config.tcp.challengeAckLimit = 2 }  // 1 or 2 per second
        _ = s.listen(at: 0)
        for port in UInt16(40000)..<40006 {
            let t = 0.1 + 0.01 * Double(port - 40000)
            s.inject(at: t, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: port))
            s.expect(at: t, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: port))
            s.inject(at: t + 0.005, .ack(seq: 1, ack: 1, win: 65535, port: port))
        }
        #expect(s.host.tcp.connections.values.filter { $0.state == .established }.count == 6)
        s.flood(at: 1.5, (UInt16(40000)..<40006).map { .rst(seq: 100, port: $0) })
        let sent = s.takeSent(until: 1.5).count
        #expect(sent >= 1 && sent <= 2)
        #expect(s.host.statistics.tcpChallengeAcksSuppressed == 6 - sent)
    }
}

@Suite("TCP scripts: TIME-WAIT records")
struct TimeWaitRecordScripts {
    @Test("a closed socket's TIME-WAIT is a record: it ACKs a retransmitted FIN (restarting 2·MSL), rate-limits bare out-of-window ACKs, ignores RST, and expires")
    func record() {
        let s = TCPScript()
        let fd = s.establishActive(.full)
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 32768, options: TCPScript.tsBlock(.now, peerClock(0.2))))
        s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 502, options: TCPScript.tsBlock(peerClock(1.1), .stack(at: 1.0))))
        s.inject(at: 1.2, .fin(seq: 1, ack: 2, win: 502, options: TCPScript.tsBlock(peerClock(1.2), .stack(at: 1.0))))
        s.expect(at: 1.2, .ack(seq: 2, ack: 2, win: 32768, options: TCPScript.tsBlock(.now, peerClock(1.2))))
        #expect(s.host.tcp.timeWait.count == 1)
        #expect(s.host.tcp.connections.isEmpty, "no TCPConnection is kept for TIME-WAIT")
        s.expectConnections([.timeWait])
        // The peer lost our ACK and resends its FIN at 31.2: ACKed, and 2·MSL starts again.
        s.inject(at: 31.2, .fin(seq: 1, ack: 2, win: 502, options: TCPScript.tsBlock(peerClock(31.2), .stack(at: 1.2))))
        s.expect(at: 31.2, .ack(seq: 2, ack: 2, win: 32768, options: TCPScript.tsBlock(.now, peerClock(1.2))))
        s.inject(at: 32.0, .rst(seq: 2))
        // Bare ACKs outside the window (256 KiB from RCV.NXT): one answer per 500 ms.
        s.inject(at: 33.0, .ack(seq: 300_000, ack: 2, win: 502, options: TCPScript.tsBlock(peerClock(33.0), .stack(at: 1.2))))
        s.expect(at: 33.0, .ack(seq: 2, ack: 2, win: 32768, options: TCPScript.tsBlock(.now, peerClock(1.2))))
        s.inject(at: 33.1, .ack(seq: 300_000, ack: 2, win: 502, options: TCPScript.tsBlock(peerClock(33.1), .stack(at: 1.2))))
        s.expectNothing(until: 91.1)
        s.expectConnections([.timeWait])
        s.expectNothing(until: 91.3)
        s.expectConnections([])
        #expect(s.host.tcp.timeWait.isEmpty && s.host.tcp.byKey.isEmpty)
        #expect(s.host.statistics.tcpOutOfWindowAcksSuppressed == 1)
    }
}
