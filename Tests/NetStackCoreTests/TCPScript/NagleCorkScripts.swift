// When data goes out: Nagle's algorithm (RFC 896, RFC 9293 §3.7.4, RFC 1122
// §4.2.3.4), in Minshall's form as Linux's, holds a small segment while an
// earlier small segment is unacknowledged; TCP_NODELAY
// turns it off; TCP_CORK holds partial segments until the cork comes out or
// 200 ms pass (the chapter's "wait for MSS, or until the timer fires").
//
// Setup: establishPassive (plain, MSS 1460, window 65535, RTO 300 ms).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: Nagle and cork")
struct NagleCorkScripts {
    @Test("Nagle: small writes wait while a small segment is unacknowledged, then go as one")
    func nagleCoalesces() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.01, fd, 100)
        s.send(at: 1.02, fd, 100)
        s.expectNothing(until: 1.1)
        s.inject(at: 1.1, .ack(seq: 1, ack: 101, win: 65535))
        s.expect(at: 1.1, .data(seq: 101, ack: 1, len: 200, win: 65535))
    }

    @Test("Nagle never holds full-sized segments, only the tail")
    func nagleSendsFullSegments() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.01, fd, 3000)
        s.expect(at: 1.01, .data(seq: 101, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1561, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.1)
        s.inject(at: 1.1, .ack(seq: 1, ack: 3021, win: 65535))
        s.expect(at: 1.1, .data(seq: 3021, ack: 1, len: 80, win: 65535))
    }

    @Test("Nagle in Minshall's form: a write's small tail goes with its full segments; the next small one waits for its ACK")
    func nagleSendsTailAtOnce() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 3000)
        // Classic Nagle would hold the 80 bytes until 2920 were acknowledged (a round trip, or a
        // delayed ACK's 40+ ms); no small segment is outstanding, so they go now (Linux's rule).
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 2921, ack: 1, len: 80, win: 65535))
        s.send(at: 1.01, fd, 100)
        s.expectNothing(until: 1.1)
        // An ACK short of the small segment's end keeps the hold.
        s.inject(at: 1.1, .ack(seq: 1, ack: 2921, win: 65535))
        s.expectNothing(until: 1.2)
        s.inject(at: 1.2, .ack(seq: 1, ack: 3001, win: 65535))
        s.expect(at: 1.2, .data(seq: 3001, ack: 1, len: 100, win: 65535))
    }

    @Test("close() after small writes: the last one leaves with the FIN at once, Nagle or not")
    func nagleDoesNotHoldFIN() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.01, fd, 100)
        s.expectNothing(until: 1.05)  // the first small segment is unacknowledged
        // No more data can follow a close: the held 100 bytes go now, carrying the FIN (Linux's
        // tcp_send_fin pushes with TCP_NAGLE_OFF).
        s.close(at: 1.05, fd)
        s.expect(at: 1.05, .data(seq: 101, ack: 1, len: 100, win: 65535, flags: "FP."))
    }

    @Test("TCP_NODELAY: every small write goes at once")
    func noDelay() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .noDelay(true))
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.01, fd, 100)
        s.expect(at: 1.01, .data(seq: 101, ack: 1, len: 100, win: 65535))
    }

    @Test("turning TCP_NODELAY on sends what Nagle was holding")
    func noDelayFlushes() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.send(at: 1.0, fd, 100)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.send(at: 1.01, fd, 100)
        s.expectNothing(until: 1.05)
        s.setOption(at: 1.05, fd, .noDelay(true))
        s.expect(at: 1.05, .data(seq: 101, ack: 1, len: 100, win: 65535))
    }

    @Test("TCP_CORK: a partial segment waits 200 ms, then goes")
    func corkTimeout() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .cork(true))
        s.send(at: 1.0, fd, 100)
        s.expectNothing(until: 1.199)
        s.expect(at: 1.2, .data(seq: 1, ack: 1, len: 100, win: 65535))
    }

    @Test("TCP_CORK: full segments go at once, the tail waits")
    func corkFullSegments() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .cork(true))
        s.send(at: 1.0, fd, 3000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.199)
        s.expect(at: 1.2, .data(seq: 2921, ack: 1, len: 80, win: 65535))
    }

    @Test("TCP_CORK: shutdown(write) sends the corked tail with the FIN at once")
    func corkReleasedByFIN() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .cork(true))
        s.send(at: 1.0, fd, 100)
        s.expectNothing(until: 1.05)
        s.shutdown(at: 1.05, fd, .write)
        s.expect(at: 1.05, .data(seq: 1, ack: 1, len: 100, win: 65535, flags: "FP."))
    }

    @Test("removing the cork sends the partial segment at once")
    func uncorkFlushes() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.setOption(at: 0.5, fd, .cork(true))
        s.send(at: 1.0, fd, 100)
        s.send(at: 1.05, fd, 100)
        s.expectNothing(until: 1.1)
        s.setOption(at: 1.1, fd, .cork(false))
        s.expect(at: 1.1, .data(seq: 1, ack: 1, len: 200, win: 65535))
    }
}
