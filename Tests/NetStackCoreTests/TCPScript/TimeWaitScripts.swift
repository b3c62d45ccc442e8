// TIME-WAIT (RFC 9293 §3.6.1, §3.10.7.4): 2·MSL = 60 s here (MSL 30 s, as
// Linux's TCP_TIMEWAIT_LEN), a retransmitted FIN is ACKed and restarts the
// timer, the 4-tuple stays taken (RFC 1122 §4.2.2.13).
//
// Setup: an active open (establishActive, plain peer), then an active close:
// our FIN at 1.0, ACKed at 1.1, the peer's FIN at 1.2 → TIME-WAIT until 61.2.

@testable import NetStackCore
import NetStackWire
import Testing

/// Takes an actively opened connection into TIME-WAIT at 1.2 and returns its descriptor.
private func enterTimeWait(_ s: TCPScript) -> Int32 {
    let fd = s.establishActive()
    s.close(at: 1.0, fd)
    s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
    s.inject(at: 1.1, .ack(seq: 1, ack: 2, win: 65535))
    s.inject(at: 1.2, .fin(seq: 1, ack: 2, win: 65535))
    s.expect(at: 1.2, .ack(seq: 2, ack: 2, win: 65535))
    s.expectConnections([.timeWait])
    return fd
}

@Suite("TCP scripts: TIME-WAIT")
struct TimeWaitScripts {
    @Test("TIME-WAIT lasts 2·MSL = 60 s: an old duplicate is ACKed before, answered with RST after")
    func lastsTwoMSL() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        s.expectNothing(until: 61.1)
        s.expectConnections([.timeWait])
        // SEQ 1 < RCV.NXT 2: not acceptable, so an ACK (and the timer is not restarted).
        s.inject(at: 61.1, .ack(seq: 1, ack: 2, win: 65535))
        s.expect(at: 61.1, .ack(seq: 2, ack: 2, win: 65535))
        s.expectNothing(until: 61.25)
        s.expectConnections([])
        s.inject(at: 61.3, .ack(seq: 1, ack: 2, win: 65535))
        s.expect(at: 61.3, .rst(seq: 2))
    }

    @Test("a retransmitted FIN in TIME-WAIT is ACKed and restarts the 2·MSL timer")
    func finRestartsTimer() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        s.inject(at: 31.2, .fin(seq: 1, ack: 2, win: 65535))
        s.expect(at: 31.2, .ack(seq: 2, ack: 2, win: 65535))
        s.expectNothing(until: 61.3)
        s.expectConnections([.timeWait])
        s.expectNothing(until: 91.25)
        s.expectConnections([])
    }

    @Test("an in-window bare ACK in TIME-WAIT gets no answer")
    func bareAckIgnored() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        s.inject(at: 2.0, .ack(seq: 2, ack: 2, win: 65535))
        s.expectNothing(until: 10)
        s.expectConnections([.timeWait])
    }

    @Test("a SYN in TIME-WAIT earns an ACK, not a reset, and TIME-WAIT goes on (RFC 5961 §4)")
    func synInTimeWait() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        s.inject(at: 2.0, .syn(seq: 100_000, win: 65535, options: [.mss(1460)]))
        s.expect(at: 2.0, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.timeWait])
    }

    @Test("RST at RCV.NXT does not cut TIME-WAIT short (RFC 1337's protection, which the project asks for)")
    func rstDoesNotEndTimeWait() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        s.inject(at: 2.0, .rst(seq: 2))
        s.expectNothing(until: 2.1)
        s.expectConnections([.timeWait])
    }

    @Test("the TIME-WAIT port: bind() fails without SO_REUSEADDR; connect() to the same peer picks another port")
    func portStaysTaken() {
        let s = TCPScript()
        _ = enterTimeWait(s)
        let oldPort = s.flow().localPort
        s.app(at: 2.0, "bind(:\(oldPort))", expecting: .addressInUse) { host, _ throws(NetError) in
            let fd = host.socket(.stream)
            try host.bind(fd, to: Endpoint(.any, oldPort))
        }
        let reused = s.app(at: 2.0, "bind(:\(oldPort)) with SO_REUSEADDR") { host, _ throws(NetError) in
            let fd = host.socket(.stream)
            try host.setOption(fd, .reuseAddress(true))
            try host.bind(fd, to: Endpoint(.any, oldPort))
            return fd
        } ?? Int32(-1)
        // SO_REUSEADDR frees the port, not the 4-tuple (RFC 1122 §4.2.2.13).
        s.app(at: 2.1, "connect(:\(oldPort) → peer)", expecting: .addressInUse) { host, now throws(NetError) in
            try host.connect(reused, to: Endpoint(TCPScript.peerIP, s.peerPort), now: now)
        }
        _ = s.connect(at: 3.0)
        let sent = s.takeSent(until: 3.0)
        #expect(sent.count == 1 && sent.first?.flags == [.syn])
        #expect(sent.first?.tcp?.sourcePort != oldPort)
        s.expectConnections([.timeWait, .synSent])
    }

    @Test("TIME-WAIT reached through CLOSING also lasts 2·MSL")
    func timeWaitAfterClosing() {
        let s = TCPScript()
        let fd = s.establishActive()
        s.close(at: 1.0, fd)
        s.expect(at: 1.0, .fin(seq: 1, ack: 1, win: 65535))
        s.inject(at: 1.05, .fin(seq: 1, ack: 1, win: 65535))
        s.expect(at: 1.05, .ack(seq: 2, ack: 2, win: 65535))
        s.inject(at: 1.1, .ack(seq: 2, ack: 2, win: 65535))
        s.expectConnections([.timeWait])
        s.expectNothing(until: 61.05)
        s.expectConnections([.timeWait])
        s.expectNothing(until: 61.15)
        s.expectConnections([])
    }
}
