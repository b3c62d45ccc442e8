// TCP_USER_TIMEOUT (RFC 5482, RFC 9293 §3.8.3's "user timeout"): when data stays
// unacknowledged this long the connection is aborted with ETIMEDOUT, however
// many retransmissions the retry limit would still allow. Off by default.
//
// Setup: establishPassive (plain, window 65535); the RTO after the handshake is 300 ms.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: user timeout")
struct UserTimeoutScripts {
    @Test("unacknowledged data for longer than the user timeout aborts the connection with ETIMEDOUT, no RST")
    func abortsAfterUserTimeout() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .userTimeout(.seconds(2)))
        s.send(at: 1.0, fd, 1000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        s.expect(at: 1.9, .data(seq: 1, ack: 1, len: 1000, win: 65535))
        // The next retransmission would be at 3.1; the user timeout ends it all at 3.0.
        s.expectNothing(until: 10)
        s.expectState(fd, .closed)
        s.expectError(fd, .timedOut)
    }

    @Test("an ACK that makes progress restarts the user-timeout clock")
    func progressRestartsClock() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .userTimeout(.seconds(2)))
        s.send(at: 1.0, fd, 2000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 540, win: 65535))
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expect(at: 1.9, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."))
        // Progress at 2.5 (1.5 s after the data first waited): the clock restarts instead of firing at 3.0.
        s.inject(at: 2.5, .ack(seq: 1, ack: 1461, win: 65535))
        s.expect(at: 2.5, .data(seq: 1461, ack: 1, len: 540, win: 65535))
        // Karn: no RTT sample from the retransmitted segment, so the RTO stays backed off at 1.2 s.
        s.expect(at: 3.7, .data(seq: 1461, ack: 1, len: 540, win: 65535))
        // 2 s after the progress, at 4.5, the connection gives up.
        s.expectNothing(until: 10)
        s.expectState(fd, .closed)
        s.expectError(fd, .timedOut)
    }
}
