// Keep-alives (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off by default; when on,
// a probe after TCP_KEEPIDLE of silence from the peer — SEG.SEQ = SND.NXT − 1,
// no data, as Linux sends it — then every TCP_KEEPINTVL; after TCP_KEEPCNT
// unanswered probes the connection is reset with ETIMEDOUT (Linux).
//
// Setup: establishPassive (plain, window 65535), the peer's last segment at 0.2.

@testable import NetStackCore
import NetStackWire
import Testing

/// Turns keep-alive on for `fd` at 0.2: idle 10 s, interval 5 s, 3 probes.
private func keepAlive(_ s: TCPScript, _ fd: Int32) {
    s.setOption(at: 0.2, fd, .keepAliveIdle(.seconds(10)))
    s.setOption(at: 0.2, fd, .keepAliveInterval(.seconds(5)))
    s.setOption(at: 0.2, fd, .keepAliveCount(3))
    s.setOption(at: 0.2, fd, .keepAlive(true))
}

@Suite("TCP scripts: keep-alive")
struct KeepaliveScripts {
    @Test("keep-alive is off by default: an idle connection sends nothing for hours")
    func offByDefault() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.expectNothing(until: 3 * 3600)
        s.expectState(fd, .established)
    }

    @Test("a probe after the idle time; the peer's answer restarts the idle clock")
    func probeAnswered() {
        let s = TCPScript()
        let fd = s.establishPassive()
        keepAlive(s, fd)
        s.expect(at: 10.2, .ack(seq: 0, ack: 1, win: 65535))
        s.inject(at: 10.3, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 20.3, .ack(seq: 0, ack: 1, win: 65535))
        s.inject(at: 20.3, .ack(seq: 1, ack: 1, win: 65535))
        s.expectState(fd, .established)
    }

    @Test("unanswered probes every interval, then RST and ETIMEDOUT after the count")
    func probesUnansweredAbort() {
        let s = TCPScript()
        let fd = s.establishPassive()
        keepAlive(s, fd)
        s.expect(at: 10.2, .ack(seq: 0, ack: 1, win: 65535))
        s.expect(at: 15.2, .ack(seq: 0, ack: 1, win: 65535))
        s.expect(at: 20.2, .ack(seq: 0, ack: 1, win: 65535))
        s.expect(at: 25.2, .rstAck(seq: 1, ack: 1, win: nil))
        s.expectState(fd, .closed)
        s.expectError(fd, .timedOut)
        s.expectNothing(until: 100)
    }

    @Test("data from the peer postpones the probe")
    func dataPostponesProbe() {
        let s = TCPScript()
        let fd = s.establishPassive()
        keepAlive(s, fd)
        s.inject(at: 5.0, .data(seq: 1, ack: 1, len: 10, win: 65535))
        s.expect(at: 5.04, .ack(seq: 1, ack: 11, win: 65535))
        s.expect(at: 15.0, .ack(seq: 0, ack: 11, win: 65535))
    }

    @Test("keep-alive set on the listener is inherited: the accepted connection probes too")
    func inheritedFromListener() {
        let s = TCPScript()
        _ = s.establishPassive(listenOptions: [.keepAliveIdle(.seconds(10)), .keepAliveInterval(.seconds(5)),
                                               .keepAliveCount(3), .keepAlive(true)])
        s.expect(at: 10.2, .ack(seq: 0, ack: 1, win: 65535))
    }

    @Test("keep-alive on an actively opened connection counts from the SYN-ACK")
    func activeOpenProbes() {
        let s = TCPScript()
        _ = s.establishActive(options: [.keepAliveIdle(.seconds(10)), .keepAliveInterval(.seconds(5)),
                                        .keepAliveCount(3), .keepAlive(true)])
        s.expect(at: 10.2, .ack(seq: 0, ack: 1, win: 65535))
    }
}
