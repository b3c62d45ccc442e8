// Flow control (RFC 9293 §3.8.6): the peer's window bounds what we send, zero
// windows are probed with exponential backoff (§3.8.6.1, RFC 1122 §4.2.2.17),
// window updates when the application reads, window scaling (RFC 7323 §2),
// receiver and sender silly window syndrome avoidance (§3.8.6.2).
//
// Zero-window probes take Linux's form: an ACK with SEG.SEQ = SND.UNA − 1 and
// no data, which the receiver must answer with its current window.

@testable import NetStackCore
import NetStackWire
import Testing

/// A connection with a 4096-byte receive buffer whose window the peer fills:
/// 1460 + 1460 (ACKed at once, window 1176), then 1176 (ACKed at 1.06, window 0).
private func fillSmallBuffer(_ s: TCPScript) -> Int32 {
    let fd = s.establishPassive(receiveBuffer: 4096)
    s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535))
    s.inject(at: 1.01, .data(seq: 1461, ack: 1, len: 1460, win: 65535))
    s.expect(at: 1.01, .ack(seq: 1, ack: 2921, win: 1176))
    s.inject(at: 1.02, .data(seq: 2921, ack: 1, len: 1176, win: 65535))
    s.expect(at: 1.06, .ack(seq: 1, ack: 4097, win: 0))
    return fd
}

@Suite("TCP scripts: windows")
struct WindowScripts {
    // MARK: The peer's window

    @Test("the peer's 4000-byte window bounds each flight; the small remainder waits (sender SWS)")
    func peerWindowLimitsSending() {
        let s = TCPScript()
        let fd = s.establishPassive(peerWindow: 4000, synWindow: 4000, listenOptions: [.noDelay(true)])
        s.send(at: 1.0, fd, 10_000)
        // Two full segments fit; 1080 more would fit but is < Fs · max(SND.WND) = 2000 and not the last data.
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        s.expectNothing(until: 1.1)
        s.inject(at: 1.1, .ack(seq: 1, ack: 2921, win: 4000))
        s.expect(at: 1.1, .data(seq: 2921, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 4381, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.2, .ack(seq: 1, ack: 5841, win: 4000))
        s.expect(at: 1.2, .data(seq: 5841, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 7301, ack: 1, len: 1460, win: 65535, flags: "."))
        s.inject(at: 1.3, .ack(seq: 1, ack: 8761, win: 4000))
        // The rest empties the buffer: it may go although small.
        s.expect(at: 1.3, .data(seq: 8761, ack: 1, len: 1240, win: 65535))
        s.inject(at: 1.4, .ack(seq: 1, ack: 10_001, win: 4000))
        s.expectNothing(until: 5)
    }

    @Test("BBR hears when the peer's window, not cwnd, held new data back (its full-pipe test skips such rounds)")
    func receiveWindowLimitReachesBBR() throws {
        let s = TCPScript { $0.tcp.socketDefaults.congestion = .bbr }
        let fd = s.establishPassive(peerWindow: 4000, synWindow: 4000, listenOptions: [.noDelay(true)])
        let connection = try #require(s.host.tcp.connections.values.first)
        #expect(!connection.congestion.receiveWindowLimitedInRound)
        s.send(at: 1.0, fd, 10_000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."))
        // BBR's initial cwnd (10 segments) had room for more: the 4000-byte window stopped it.
        #expect(connection.congestion.receiveWindowLimitedInRound)

        let open = TCPScript { $0.tcp.socketDefaults.congestion = .bbr }
        let openFD = open.establishPassive(listenOptions: [.noDelay(true)])
        let unbounded = try #require(open.host.tcp.connections.values.first)
        open.send(at: 1.0, openFD, 3000)
        open.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                    .data(seq: 1461, ack: 1, len: 1460, win: 65535, flags: "."),
                    .data(seq: 2921, ack: 1, len: 80, win: 65535))
        #expect(!unbounded.congestion.receiveWindowLimitedInRound)
    }

    @Test("window scale 7: a window field of 100 lets 12800 bytes go (RFC 7323 §2.3)")
    func peerWindowScaled() {
        let s = TCPScript()
        let fd = s.establishPassive(.full, peerWindow: 100)
        s.send(at: 1.0, fd, 20_000)
        // 8 × 1448 = 11584 fit in 12800; the other 1216 would be a small window-limited segment.
        for k in 0..<8 {
            s.expect(at: 1.0, .data(seq: 1 + 1448 * k, ack: 1, len: 1448, win: 32768,
                                    options: TCPScript.tsBlock(.now, 200), flags: "."))
        }
        s.expectNothing(until: 1.1)
        s.inject(at: 1.1, .ack(seq: 1, ack: 11_585, win: 100, options: TCPScript.tsBlock(1100, .stack(at: 1.0))))
        for k in 0..<5 {
            s.expect(at: 1.1, .data(seq: 11_585 + 1448 * k, ack: 1, len: 1448, win: 32768,
                                    options: TCPScript.tsBlock(.now, 1100), flags: "."))
        }
        // The last 1176 bytes fit the window too and empty the buffer: they go (no small segment
        // is unacknowledged, so Nagle in Minshall's form lets them).
        s.expect(at: 1.1, .data(seq: 18_825, ack: 1, len: 1176, win: 32768, options: TCPScript.tsBlock(.now, 1100)))
        s.expectNothing(until: 1.2)
    }

    @Test("the window in a SYN-ACK is never scaled (RFC 7323 §2.2): 1000 means 1000 bytes")
    func synAckWindowNotScaled() {
        let s = TCPScript()
        let fd = s.establishActive(.full, synAckWindow: 1000, options: [.noDelay(true)])
        s.send(at: 1.0, fd, 3000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1000, win: 32768, options: TCPScript.tsBlock(.now, 200), flags: "."))
        s.expectNothing(until: 1.1)
    }

    @Test("sender SWS avoidance gives way to the override timer: a small usable window is used within 1 s")
    func swsOverrideTimer() {
        let s = TCPScript()
        let fd = s.establishPassive(listenOptions: [.noDelay(true)])
        s.send(at: 1.0, fd, 19_600)
        for k in 0..<10 {
            s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: "."))
        }
        s.inject(at: 1.1, .ack(seq: 1, ack: 14_601, win: 1000))
        // RFC 1122 §4.2.3.4: the override timeout is 0.1–1.0 s.
        s.expect(by: 2.1, .data(seq: 14_601, ack: 1, len: 1000, win: 65535, flags: "."))
    }

    // MARK: Zero windows

    @Test("zero window: probes after RTO, then 2·RTO, 4·RTO … (RFC 9293 §3.8.6.1); data once it opens")
    func zeroWindowProbes() {
        let s = TCPScript()
        let fd = s.establishPassive(peerWindow: 0)
        s.send(at: 1.0, fd, 1000)
        // RTO = 300 ms after the 100 ms handshake: probes at 1.3, 1.9, 3.1, 5.5, each answered at once.
        for t in [1.3, 1.9, 3.1, 5.5] {
            s.expect(at: t, .ack(seq: 0, ack: 1, win: 65535))
            s.inject(at: t, .ack(seq: 1, ack: 1, win: 0))
        }
        s.inject(at: 6.0, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: 6.0, .data(seq: 1, ack: 1, len: 1000, win: 65535))
    }

    @Test("a zero window answered forever is probed forever: the connection is never timed out (RFC 1122 §4.2.2.17)")
    func zeroWindowNeverGivesUp() {
        let s = TCPScript()
        let fd = s.establishPassive(peerWindow: 0)
        s.send(at: 1.0, fd, 1000)
        var last = 1.0
        var lastInterval = 0.0
        for probe in 0..<25 {
            guard let segment = s.nextSegment(until: last + 121) else { return }
            let time = TCPScript.seconds(segment.time)
            #expect(segment.payload.isEmpty && s.relativeSeq(segment) == 0, "probe \(probe) is \(s.describe(segment))")
            #expect(time - last >= lastInterval - 1e-9, "probe \(probe): intervals must not shrink")
            lastInterval = time - last
            last = time
            s.inject(at: time, .ack(seq: 1, ack: 1, win: 0))
        }
        s.expectState(fd, .established)
        s.inject(at: last + 1, .ack(seq: 1, ack: 1, win: 65535))
        s.expect(at: last + 1, .data(seq: 1, ack: 1, len: 1000, win: 65535))
    }

    @Test("the peer shrinks its window to zero with data in flight: we keep probing and never time out (RFC 1122 §4.2.2.16–17)")
    func windowShrinksToZero() {
        let s = TCPScript()
        let fd = s.establishPassive(listenOptions: [.noDelay(true)])
        s.send(at: 1.0, fd, 2000)
        s.expect(at: 1.0, .data(seq: 1, ack: 1, len: 1460, win: 65535, flags: "."),
                 .data(seq: 1461, ack: 1, len: 540, win: 65535))
        s.inject(at: 1.1, .ack(seq: 1, ack: 1461, win: 0))
        // The ACK's RTT sample (100 ms) gives RTO = 100 + 4 · 37.5 = 250 ms; at 1.35 Linux
        // resends the head of the queue as the probe.
        s.expect(at: 1.35, .data(seq: 1461, ack: 1, len: 540, win: 65535))
        var last = 1.35
        for _ in 0..<20 {
            s.inject(at: last, .ack(seq: 1, ack: 1461, win: 0))
            guard let probe = s.nextSegment(until: last + 121) else { return }
            last = TCPScript.seconds(probe.time)
        }
        s.inject(at: last, .ack(seq: 1, ack: 1461, win: 0))
        s.expectState(fd, .established)
    }

    // MARK: Our window

    @Test("our window closes as unread data fills a 4 KiB buffer, and reopens with an update when the app reads")
    func windowUpdateAfterRead() {
        let s = TCPScript()
        let fd = fillSmallBuffer(s)
        s.expectNothing(until: 2.0)
        s.recv(at: 2.0, fd, expect: 4096)
        s.expect(at: 2.0, .ack(seq: 1, ack: 4097, win: 4096))
    }

    @Test("a zero window refuses new data: the segment is dropped and ACKed with window 0")
    func zeroWindowDropsData() {
        let s = TCPScript()
        let fd = fillSmallBuffer(s)
        s.inject(at: 1.1, .data(seq: 4097, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.1, .ack(seq: 1, ack: 4097, win: 0))
        s.recv(at: 1.2, fd, max: 8192, expect: 4096)
    }

    @Test("receiver SWS avoidance: reading 100 bytes opens nothing; 1500 (≥ min(BUFF/2, MSS) = 1460) opens 1500")
    func receiverSWS() {
        let s = TCPScript()
        let fd = fillSmallBuffer(s)
        s.recv(at: 2.0, fd, max: 100, expect: 100)
        s.expectNothing(until: 2.1)
        s.recv(at: 2.1, fd, max: 1400, expect: 1400)
        s.expect(at: 2.1, .ack(seq: 1, ack: 4097, win: 1500))
    }

    @Test("our scaled window shrinks by the unread bytes: (262144 − 2896) >> 3 = 32406")
    func ourWindowShrinks() {
        let s = TCPScript()
        _ = s.establishPassive(.full)
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1000, .stack(at: 0.1))))
        s.inject(at: 1.01, .data(seq: 1449, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(1010, .stack(at: 0.1))))
        s.expect(at: 1.01, .ack(seq: 1, ack: 2897, win: 32406, options: TCPScript.tsBlock(.now, 1000)))
    }

    // MARK: SO_RCVBUF between connect and the SYN-ACK

    /// Our SYN at 0.1 offers window scale 3 (256 KiB buffer); SO_RCVBUF 32 KiB is set at 0.15.
    private func connectThenShrinkBuffer(_ s: TCPScript) -> Int32 {
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
        s.setOption(at: 0.15, fd, .receiveBuffer(32 * 1024))
        return fd
    }

    @Test("SO_RCVBUF set after connect: our windows stay scaled by the shift the SYN offered (RFC 7323 §2.2): 32768 >> 3 = 4096")
    func receiveBufferAfterConnectKeepsOfferedScale() {
        let s = TCPScript()
        _ = connectThenShrinkBuffer(s)
        s.inject(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: PeerOptions.full.syn(at: 0.2, echo: 0.1)))
        // The peer multiplies our window field by 2^3: 4096 says 32 KiB. A shift recomputed
        // from the smaller buffer (0) would send 32768, which the peer reads as 256 KiB.
        s.expect(at: 0.2, .ack(seq: 1, ack: 1, win: 4096, options: TCPScript.tsBlock(.now, peerClock(0.2))))
        s.inject(at: 0.3, .data(seq: 1, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(300, .stack(at: 0.2))))
        s.inject(at: 0.31, .data(seq: 1449, ack: 1, len: 1448, win: 502, options: TCPScript.tsBlock(310, .stack(at: 0.2))))
        s.expect(at: 0.31, .ack(seq: 1, ack: 2897, win: (32768 - 2896) >> 3, options: TCPScript.tsBlock(.now, 300)))
    }

    @Test("SO_RCVBUF set after connect: a retransmitted SYN offers the same window scale as the first")
    func retransmittedSYNKeepsOfferedScale() {
        let s = TCPScript()
        _ = connectThenShrinkBuffer(s)
        // The SYN is lost: the initial RTO (1 s, RFC 6298 §2.1) resends it; the peer may hold
        // the first copy, so the shift cannot change. The window field follows the buffer.
        s.expect(at: 1.1, .syn(seq: 0, win: 32768, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]))
    }

    @Test("reading when the window already shows its largest value sends no window update")
    func noUpdateWhenWindowAlreadyMaximal() {
        let s = TCPScript()
        let fd = s.establishPassive()
        s.inject(at: 1.0, .data(seq: 1, ack: 1, len: 100, win: 65535))
        s.expect(at: 1.04, .ack(seq: 1, ack: 101, win: 65535))
        // Without window scaling the field says 65535 with or without these 100 bytes.
        s.recv(at: 1.1, fd, expect: 100)
        s.expectNothing(until: 2.0)
    }
}
