// Pacing in the TCP output path (issue 10 item 5), driven directly on one
// TCPConnection with given instants: what leaves when, as Linux's
// tcp_update_pacing_rate and tcp_tso_autosize define the rate and the quantum.

@testable import NetStackCore
import NetStackWire
import Testing

/// An established connection with `segments` full segments of data queued, a
/// 1000-byte MSS and (unless `rttSample` is nil) one RTT sample taken.
private func establishedConnection(segments: Int, rttSample: Duration? = .milliseconds(100),
                                   configure: (inout TCPConfig) -> Void = { _ in }) -> TCPConnection {
    var config = TCPConfig()
    configure(&config)
    let connection = TCPConnection(id: 1, local: Endpoint(IPv4Address(192, 0, 2, 1), 40000),
                                   remote: Endpoint(IPv4Address(192, 0, 2, 2), 80), options: TCPSocketOptions(),
                                   config: config, passive: false, now: .zero)
    connection.state = .established
    connection.synAcknowledged = true
    connection.iss = 1000
    connection.sndUna = 1001
    connection.sndNxt = 1001
    connection.sndMax = 1001
    connection.sndWnd = 1 << 20
    connection.maxSndWnd = 1 << 20
    connection.sendMSS = 1000
    connection.options.noDelay = true
    connection.congestion = CongestionControl(.newReno, mss: 1000, now: .zero)
    if let rttSample { connection.rtt.addSample(rttSample) }
    let data = [UInt8](repeating: 7, count: segments * 1000)
    _ = data.withUnsafeBytes { try? connection.send($0, now: .zero) }
    return connection
}

/// One segment handed out by `output`, and when.
private struct Departure {
    var time: Instant
    var payload: Int
    var flags: TCPFlags
}

/// Runs the connection's timers and output from `start`, jumping to each of its
/// deadlines in turn, until `until`; returns every segment sent, with its time.
private func drive(_ connection: TCPConnection, from start: Instant = .zero, until end: Instant) -> [Departure] {
    var departures: [Departure] = []
    var now = start
    for _ in 0..<1000 {
        connection.handleTimers(now: now)
        connection.output(now: now, allowChallengeAck: { true }) { segment in
            departures.append(Departure(time: now, payload: segment.payloadLength, flags: segment.header.flags))
        }
        guard let next = connection.nextDeadline(), next > now, next <= end else { break }
        now = next
    }
    return departures
}

/// Bytes sent at each distinct instant, in time order.
private func bursts(_ departures: [Departure]) -> [(time: Instant, bytes: Int)] {
    var result: [(time: Instant, bytes: Int)] = []
    for departure in departures where departure.payload > 0 {
        if let last = result.last, last.time == departure.time {
            result[result.count - 1].bytes += departure.payload
        } else {
            result.append((departure.time, departure.payload))
        }
    }
    return result
}

@Suite("TCP pacing")
struct PacingTests {
    // Golden values from Linux's formulas: cwnd = IW = min(10·MSS, max(2·MSS, 14600)) =
    // 10 000 bytes (RFC 6928), SRTT = 100 ms, slow start (ssthresh unset), so the rate is
    // 2 × 10 000 B / 0.1 s = 200 000 B/s; 1 ms of that is 200 B, so the quantum is its
    // floor of two segments, 2 000 B; one 1 000-byte segment takes 5 ms at the rate.

    @Test("slow start paces at 2 × cwnd/SRTT with a quantum of two segments")
    func slowStartRate() {
        let connection = establishedConnection(segments: 10)
        connection.updatePacingRate(now: .zero)
        #expect(connection.pacingRate == 2 * 10_000 * 10)
        #expect(connection.pacingQuantum == 2 * 1000)
    }

    @Test("congestion avoidance paces at 1.2 × cwnd/SRTT")
    func congestionAvoidanceRate() {
        let connection = establishedConnection(segments: 1)
        // ssthresh ≤ 2·cwnd: congestion avoidance for Linux's rule (cwnd < ssthresh/2 is slow start).
        connection.congestion.enterFastRecovery(flightSize: 20_000, now: .zero)  // ssthresh 10 000
        connection.congestion.exitRecovery(flightSize: 20_000, now: .zero)                  // cwnd = ssthresh = 10 000
        connection.updatePacingRate(now: .zero)
        #expect(connection.congestion.cwnd == 10_000)
        #expect(connection.pacingRate == 10_000 * 12)  // 1.2 × 10 000 B / 0.1 s
    }

    @Test("segments leave spaced by the rate, never more than a quantum at one instant")
    func segmentsSpacedByRate() {
        let connection = establishedConnection(segments: 10)
        let departures = drive(connection, until: Instant(nanoseconds: 250_000_000))
        let data = bursts(departures)
        #expect(data.reduce(0) { $0 + $1.bytes } == 10_000, "the whole window goes")
        #expect(data.allSatisfy { $0.bytes <= 2000 }, "\(data)")
        // 10 segments of 5 ms each: the last pair leaves 8 segment times = 40 ms after the first.
        #expect(data.first?.time == .zero)
        #expect(data.last?.time == Instant(nanoseconds: 40_000_000))
        for (earlier, later) in zip(data, data.dropFirst()) {
            #expect(later.time.nanoseconds - earlier.time.nanoseconds == Int64(earlier.bytes) * 5_000)  // 5 ms per 1000 B
        }
    }

    @Test("without an RTT sample nothing is paced: the whole window leaves at once")
    func noPacingBeforeFirstSample() {
        let connection = establishedConnection(segments: 10, rttSample: nil)
        let departures = drive(connection, until: Instant(nanoseconds: 1_000_000))
        #expect(connection.pacingRate == 0)
        #expect(bursts(departures).count == 1)
        #expect(bursts(departures).first?.bytes == 10_000)
    }

    @Test("TCPConfig.pacing = false sends the whole window at once, as before")
    func pacingSwitchedOff() {
        let connection = establishedConnection(segments: 10) { $0.pacing = false }
        let departures = drive(connection, until: Instant(nanoseconds: 1_000_000))
        #expect(connection.pacingRate == 0)
        #expect(connection.pacingDeadline == nil)
        #expect(bursts(departures).map(\.bytes) == [10_000])
    }

    @Test("a pure ACK owed while the pacer holds data goes at once and does not move the schedule")
    func pureAckNotPaced() {
        let connection = establishedConnection(segments: 10)
        _ = drive(connection, until: .zero)  // the first quantum; the pacer now holds the rest
        let schedule = connection.pacingNextSendNanoseconds
        #expect(connection.pacingDeadline == Instant(nanoseconds: 10_000_000))
        var sent: [OutgoingSegment] = []
        connection.ackNow = true
        let now = Instant(nanoseconds: 1_000_000)
        connection.output(now: now, allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.count == 1)
        #expect(sent.first?.payloadLength == 0)
        #expect(sent.first?.header.flags == [.ack])
        #expect(connection.pacingNextSendNanoseconds == schedule)
    }

    @Test("a FIN with no data is not paced")
    func bareFinNotPaced() {
        let connection = establishedConnection(segments: 2)
        _ = drive(connection, until: .zero)  // both segments: one quantum
        connection.closeWrite()
        var sent: [OutgoingSegment] = []
        connection.output(now: .zero, allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.count == 1)
        #expect(sent.first?.header.flags.contains(.fin) == true)
        #expect(sent.first?.payloadLength == 0)
    }

    @Test("a pacing wake that comes late catches up on what fell due, by at most the late credit")
    func lateWakeCatchesUp() {
        let connection = establishedConnection(segments: 10)
        _ = drive(connection, until: .zero)
        // Woken 3 ms late (a millisecond timer): the 3 ms are credited (up to a quantum, here
        // 10 ms, or 2 ms if more), so the schedule runs on from 10 ms, not from 13 ms: the
        // quantum due at 10 ms goes (3 ms is less than a 5 ms segment: no extra one).
        let late = Instant(nanoseconds: 13_000_000)
        let departures = drive(connection, from: late, until: late)
        #expect(bursts(departures).map(\.bytes) == [2000])
        // Without credit it would restart at 13 ms: the next burst due at 23 ms; with it, at 20 ms.
        #expect(connection.pacingDeadline == Instant(nanoseconds: 20_000_000))
    }

    // The runtime sleeps in epoll_wait with a timeout in whole milliseconds, rounded up,
    // and wakes a little after it. Modelled here with 100 µs of wake-up latency: a sender
    // pacing 1 ms quanta (cwnd 200 000 B, SRTT 100 ms: 2 × 200 000 / 0.1 = 4 MB/s, quantum
    // 4 000 B) must keep its rate — 150 000 B in 37.5 ms — and never wake for nothing.
    @Test("with a millisecond timer that wakes late, a paced sender keeps its rate and never spins")
    func millisecondTimerKeepsRate() {
        let connection = establishedConnection(segments: 150)
        while connection.congestion.cwnd < 200_000 {
            connection.congestion.onAck(newlyAcked: 2000, flightSize: connection.congestion.cwnd, rtt: nil, now: .zero)
        }
        connection.congestion.onAck(newlyAcked: 200_000 - connection.congestion.cwnd, flightSize: 200_000, rtt: nil, now: .zero)
        #expect(connection.congestion.cwnd == 200_000)
        var now = Instant.zero, sent = 0, idleWakes = 0, wakes = 0, finished: Instant?
        while wakes < 1000, finished == nil {
            wakes += 1
            connection.handleTimers(now: now)
            var sentNow = 0
            connection.output(now: now, allowChallengeAck: { true }) { sentNow += $0.payloadLength }
            if sentNow == 0 { idleWakes += 1 }
            sent += sentNow
            if sent == 150_000 { finished = now; break }
            guard let deadline = connection.nextDeadline() else { break }
            let wait = max(0, deadline.nanoseconds - now.nanoseconds)
            let timeoutMilliseconds = (wait + 999_999) / 1_000_000
            now = Instant(nanoseconds: now.nanoseconds + timeoutMilliseconds * 1_000_000 + 100_000)
        }
        #expect(connection.pacingRate == 4_000_000)
        #expect(idleWakes == 0)
        let elapsed = finished.map { Double($0.nanoseconds) / 1e6 } ?? .infinity
        // The last byte is due 37.5 ms − one quantum (1 ms) after the first; allow one late wake.
        #expect(elapsed <= 36.5 + 1.2, "\(elapsed) ms")
        #expect(elapsed >= 36.5 - 2.0, "\(elapsed) ms: bursts beyond the late credit")
    }

    @Test("retransmissions are paced too")
    func retransmissionsPaced() {
        let connection = establishedConnection(segments: 4)
        _ = drive(connection, until: .zero)  // segments 1–2; 3–4 held
        connection.markFirstLost()  // as RACK would: the first segment is lost
        connection.retransmitHolePending = true
        var sent: [OutgoingSegment] = []
        connection.output(now: Instant(nanoseconds: 1_000_000), allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.allSatisfy { $0.payloadLength == 0 }, "held by the pacer")
        #expect(connection.retransmitHolePending, "kept for the pacing wake")
        sent.removeAll()
        let wake = connection.pacingDeadline ?? .zero
        connection.handleTimers(now: wake)
        connection.output(now: wake, allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.first?.header.sequenceNumber == connection.sndUna, "the retransmission goes first")
        #expect(sent.reduce(0) { $0 + $1.payloadLength } <= 2000)
    }

    @Test("a tail loss probe held by the pacer waits for its wake and sends new data, not a retransmission")
    func probeWaitsForPacer() {
        let connection = establishedConnection(segments: 6)
        connection.sackEnabled = true
        _ = drive(connection, until: .zero)  // segments 1–2; 3–6 held
        connection.tlpPending = true  // the probe timer fired (RFC 8985 §7.3)
        var sent: [OutgoingSegment] = []
        connection.output(now: Instant(nanoseconds: 1_000_000), allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.allSatisfy { $0.payloadLength == 0 }, "held by the pacer")
        #expect(connection.totalRetransmissions == 0, "no fallback to resending segment 2")
        #expect(connection.tlpPending, "kept for the pacing wake")
        sent.removeAll()
        let wake = connection.pacingDeadline ?? .zero
        connection.handleTimers(now: wake)
        connection.output(now: wake, allowChallengeAck: { true }) { sent.append($0) }
        #expect(sent.first?.header.sequenceNumber == connection.iss + 1 + 2000, "new data: segment 3")
        #expect(connection.totalRetransmissions == 0)
        #expect(connection.tlpDeadline != nil, "new data sent re-arms the probe timer (§7.2)")
    }

    @Test("the quantum is about 1 ms of data, at least two segments and at most 64 KiB")
    func quantumBounds() {
        #expect(TCPConnection.pacingQuantum(rate: 10_000_000, mss: 1460) == 10_000)
        #expect(TCPConnection.pacingQuantum(rate: 100_000, mss: 1460) == 2920)
        #expect(TCPConnection.pacingQuantum(rate: 1_000_000_000, mss: 1460) == 65_536)
    }
}
