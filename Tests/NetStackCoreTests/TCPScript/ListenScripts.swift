// Listening sockets: the accept queue and its backlog, SYN cookies when the
// half-open queue is full (RFC 4987 §3.6), closing a listener.
//
// Half-open connections are bounded by min(TCPConfig.synBacklog, 2 × backlog);
// past that the listener answers with a cookie SYN-ACK that carries only MSS
// (the cookie has no room for SACK, timestamps or window scale).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("TCP scripts: listen, backlog, SYN cookies")
struct ListenScripts {
    @Test("backlog 1: a second SYN waits while the accept queue is full, and is answered once accept() makes room")
    func backlogFull() {
        let s = TCPScript()
        let listener = s.listen(at: 0, backlog: 1)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40001))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: 40001))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535, port: 40001))
        // The accept queue is full: the SYN is dropped (Linux does the same); its sender retries.
        s.inject(at: 0.3, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40002))
        s.expectNothing(until: 1.0)
        let first = s.accept(at: 1.0, listener)
        #expect((try? s.host.endpoints(first))?.remote?.port == 40001)
        s.inject(at: 1.3, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40002))
        s.expect(at: 1.3, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: 40002))
        s.inject(at: 1.4, .ack(seq: 1, ack: 1, win: 65535, port: 40002))
        let second = s.accept(at: 1.4, listener)
        #expect((try? s.host.endpoints(second))?.remote?.port == 40002)
    }

    @Test("accept() returns connections in the order their handshakes completed")
    func acceptOrder() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40001),
                 .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40002))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: 40001),
                 .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: 40002))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535, port: 40002))
        s.inject(at: 0.3, .ack(seq: 1, ack: 1, win: 65535, port: 40001))
        let first = s.accept(at: 0.4, listener)
        let second = s.accept(at: 0.4, listener)
        #expect((try? s.host.endpoints(first))?.remote?.port == 40002)
        #expect((try? s.host.endpoints(second))?.remote?.port == 40001)
        _ = s.accept(at: 0.4, listener, expecting: .wouldBlock)
    }

    @Test("a flood of 1000 spoofed SYNs does not keep a legitimate client from connecting (SYN cookies)")
    func synFloodCookies() {
        let s = TCPScript()
        let listener = s.listen(at: 0, backlog: 4)  // half-open limit min(128, 2 × 4) = 8
        let flood = (0..<1000).map { i in
            ScriptSegment.syn(seq: 0, win: 65535, options: PeerOptions.full.syn(at: 1.0), port: UInt16(10_000 + i))
        }
        s.flood(at: 1.0, flood)
        let answers = s.takeSent(until: 1.0)
        #expect(answers.count == 1000)
        #expect(answers.allSatisfy { $0.flags == [.syn, .ack] })
        let withState = answers.filter { $0.options.count > 1 }  // full options: a real half-open entry
        let cookies = answers.filter { $0.options.count == 1 }   // MSS only: a cookie
        #expect(withState.count == 8)
        #expect(cookies.count == 992)
        #expect(cookies.allSatisfy { $0.tcp?.window == 65535 })

        // The legitimate client: a cookie SYN-ACK (MSS only), then an ordinary connection.
        s.inject(at: 1.1, .syn(seq: 0, win: 65535, options: PeerOptions.full.syn(at: 1.1)))
        s.expect(at: 1.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        // The SYN-ACK had no timestamps or window scale, so the client uses neither.
        s.inject(at: 1.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 1.2, listener)
        s.expectState(fd, .established)
        s.inject(at: 1.3, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.34, .ack(seq: 1, ack: 101, win: 65535))
        s.send(at: 1.4, fd, 2000)
        // MSS 1460 came back out of the cookie: a full segment and the 540-byte tail.
        s.expect(at: 1.4, .data(seq: 1, ack: 101, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 101, len: 540, win: 65535))
        s.inject(at: 1.5, .ack(seq: 101, ack: 2001, win: 65535))
        s.expectPoll(fd, has: .readable)
    }

    @Test("a flood of 1000 SYNs from spoofed addresses with no route back: the legitimate client still connects")
    func spoofedSourceFlood() {
        let s = TCPScript()
        let listener = s.listen(at: 0, backlog: 4)
        let flood = (0..<1000).map { i in
            var syn = ScriptSegment.syn(seq: 0, win: 65535, options: [.mss(1460)], port: UInt16(10_000 + i))
            syn.source = IPv4Address(203, 0, 113, UInt8(1 + i % 250))  // TEST-NET-3: no route from the host
            return syn
        }
        s.flood(at: 1.0, flood)
        // No answer can leave (no route), and none goes to the real peer.
        #expect(s.takeSent(until: 1.0).isEmpty)
        s.inject(at: 1.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 1.2, .ack(seq: 1, ack: 1, win: 65535))
        let fd = s.accept(at: 1.2, listener)
        s.expectState(fd, .established)
        // The half-open queue was full of spoofed entries: this connection came from a cookie.
        #expect(s.host.tcp.listeners[8080]?.cookiesValidated == 1)
        s.send(at: 1.3, fd, 100)
        s.expect(at: 1.3, .data(seq: 1, ack: 1, len: 100, win: 65535))
    }

    @Test("under SYN cookies, an ACK with a forged cookie earns an RST and no connection")
    func forgedCookie() {
        let s = TCPScript()
        let listener = s.listen(at: 0, backlog: 1)  // half-open limit 2
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40001),
                 .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40002))
        _ = s.takeSent(until: 0.1)
        s.inject(at: 0.2, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.3, .ack(seq: 1, ack: 1 + 12_345, win: 65535))
        s.expect(at: 0.3, .rst(seq: 1 + 12_345))
        _ = s.accept(at: 0.3, listener, expecting: .wouldBlock)
    }

    @Test("closing a listener resets connections still waiting in its accept queue")
    func listenerCloseResetsQueue() {
        let s = TCPScript()
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.inject(at: 0.2, .ack(seq: 1, ack: 1, win: 65535))
        s.close(at: 1.0, listener)
        s.expect(at: 1.0, .rstAck(seq: 1, ack: 1, win: nil))
        s.expectConnections([])
        // Nothing listens any more: a SYN to the port is refused.
        s.inject(at: 1.1, .syn(seq: 0, win: 65535, options: [.mss(1460)], port: 40009))
        s.expect(at: 1.1, .rstAck(seq: 0, ack: 1, absolute: true, port: 40009))
    }

    @Test("a half-open connection gives up after its SYN-ACK retries, silently (tcp_synack_retries = 2 here)")
    func halfOpenGivesUp() {
        let s = TCPScript { $0.tcp.synRetries = 2 }
        let listener = s.listen(at: 0)
        s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460)]))
        s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 1.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expect(at: 3.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)]))
        s.expectNothing(until: 7.2)
        s.expectConnections([])
        _ = s.accept(at: 7.2, listener, expecting: .wouldBlock)
    }
}
