// CUBIC congestion control (RFC 9438). Expected values are the RFC's
// equations worked by hand in the comments, with MSS = 1000 so a window of N
// segments reads as N000 bytes: W_cubic(t) = C·(t − K)³ + W_max (eqn 1),
// K = ∛((W_max − cwnd_epoch)/C) (eqn 2), C = 0.4, β = 0.7, α = 3·0.3/1.7.

@testable import NetStackCore
import Testing

private let start = Instant.seconds(10)

extension Cubic {
    /// Slow start to exactly `bytes` with cwnd-limited ACKs of at most 2 segments.
    fileprivate mutating func grow(to bytes: Int) {
        while window.cwnd < bytes {
            let step = min(2 * window.mss, bytes - window.cwnd)
            onAck(newlyAcked: step, flightSize: window.cwnd, rtt: .milliseconds(100), now: start)
        }
    }

    /// One cwnd-limited ACK of `bytes` at `now`: the flight when it arrived was a full window.
    fileprivate mutating func ack(_ bytes: Int, at now: Instant, rtt: Duration = .milliseconds(100)) {
        onAck(newlyAcked: bytes, flightSize: window.cwnd, rtt: rtt, now: now)
    }

    /// A CUBIC in congestion avoidance after one loss at `wMax` bytes, full ACK at ssthresh.
    fileprivate static func afterLoss(at wMax: Int) -> Cubic {
        var cubic = Cubic(mss: 1000, now: .zero)
        cubic.grow(to: wMax)
        cubic.enterFastRecovery()
        cubic.exitRecovery(flightSize: cubic.window.ssthresh)
        return cubic
    }
}

@Suite("CUBIC (RFC 9438)")
struct CubicTests {
    @Test("K and W_cubic(t) match eqns 1 and 2 worked by hand")
    func curve() {
        // Loss at W_max = 36 segments: ssthresh = 0.7·36 = 25.2 segments (25200 bytes),
        // and the full ACK leaves cwnd = min(25200, 25200 + 1000) = 25200.
        var cubic = Cubic.afterLoss(at: 36000)
        #expect(cubic.window.ssthresh == 25200)
        #expect(cubic.window.cwnd == 25200)
        // The first ACK starts the stage: K = ∛((36 − 25.2)/0.4) = ∛27 = 3 s.
        cubic.ack(1000, at: start)
        #expect(cubic.inEpoch)
        #expect(abs(cubic.k - 3) < 1e-12)
        #expect(cubic.wMax == 36000)
        // W(0) = 0.4·(−3)³ + 36 = −10.8 + 36 = 25.2;  W(1) = 0.4·(−2)³ + 36 = 32.8;
        // W(3) = 36 (the plateau);  W(5) = 0.4·2³ + 36 = 39.2 segments.
        for (t, w) in [(0.0, 25200.0), (1, 32800), (3, 36000), (5, 39200)] {
            #expect(abs(cubic.wCubic(t) - w) < 1e-6, "t = \(t)")
        }
    }

    @Test("per-ACK growth: Reno-friendly at t = 0, concave towards W(t + RTT), capped at 1.5·cwnd")
    func growth() {
        var cubic = Cubic.afterLoss(at: 36000)
        // ACK 1, t = 0, 1 segment: W_est = 25200 + α·1000·1000/25200 = 25221.0084
        // (α = 0.529412 since W_est < cwnd_prior = 36000). W_cubic(0) = 25200 < W_est:
        // Reno-friendly region, cwnd = W_est.
        cubic.ack(1000, at: start)
        #expect(abs(cubic.wEst - 25221.0084) < 1e-3)
        #expect(cubic.window.cwnd == 25221)
        // ACK 2, t = 1 s, SRTT 100 ms: W_est ≈ 25242.0 < W_cubic(1) = 32800: concave.
        // target = W(1.1) = 0.4·(−1.9)³ + 36 = 36 − 2.7436 = 33.2564 segments;
        // cwnd += (33256.4 − 25221.0084)/25221.0084 · 1000 = 318.599 → 25539.61.
        cubic.ack(1000, at: start + .seconds(1))
        #expect(abs(cubic.wEst - 25241.9993) < 1e-3)
        #expect(cubic.window.cwnd == 25539)
        // ACK 3, t = 5 s: W(5.1) = 0.4·2.1³ + 36 = 39.7044 segments > 1.5·cwnd =
        // 38309.41, so target = 1.5·cwnd and cwnd += 0.5·1000 = 500 → 26039.61.
        cubic.ack(1000, at: start + .seconds(5))
        #expect(cubic.window.cwnd == 26039)
    }

    @Test("a loss multiplies the window by β = 0.7 and remembers W_max (§4.6)")
    func multiplicativeDecrease() {
        var cc = CongestionControl(.cubic, mss: 1000, now: start)
        #expect(cc.algorithm == .cubic)
        #expect(cc.ssthresh == Int.max)
        while cc.cwnd < 100_000 { cc.onAck(newlyAcked: 2000, flightSize: cc.cwnd, rtt: nil, now: start) }
        // ssthresh = 0.7·100000 = 70000; cwnd is left to PRR (RFC 9937 §5).
        cc.enterFastRecovery(flightSize: 100_000, now: start)
        #expect(cc.ssthresh == 70000)
        #expect(cc.inRecovery)
        cc.setRecoveryWindow(65000)  // PRR's pipe + sndcnt
        #expect(cc.cwnd == 65000)
        cc.endRecovery(now: .zero)  // RFC 9937 §5: cwnd = ssthresh
        #expect(cc.cwnd == 70000)
        #expect(!cc.inRecovery)
    }

    @Test("fast convergence lowers W_max to cwnd·(1 + β)/2 on a loss below the last W_max (§4.7)")
    func fastConvergence() {
        let cubic = Cubic.afterLoss(at: 100_000)
        #expect(cubic.wMax == 100_000)
        #expect(cubic.window.cwnd == 70000)
        // Second loss at 70000 < W_max: W_max = 70000·1.7/2 = 59500; ssthresh = 49000.
        var converging = cubic
        converging.enterFastRecovery()
        #expect(abs(converging.wMax - 59500) < 1e-9)
        #expect(converging.window.ssthresh == 49000)
        // Without fast convergence W_max is simply the cwnd before the loss.
        var plain = cubic
        plain.fastConvergence = false
        plain.enterFastRecovery()
        #expect(plain.wMax == 70000)
        #expect(plain.window.ssthresh == 49000)
    }

    @Test("at a small RTT the Reno-friendly estimate W_est takes over from the cubic curve (§4.3)")
    func renoFriendlyRegion() {
        // Loss at W_max = 100 segments, stage starts at 70: K = ∛(30/0.4) = ∛75 ≈ 4.2172 s.
        // 50 rounds of a full window of 1-segment ACKs. W_est grows by α·(acked/cwnd)
        // ≈ α = 0.5294 segments per round: ≈ 70 + 50·0.5294 ≈ 96.5 segments (a little
        // less, as each round acknowledges the whole segments of cwnd only).
        func run(rtt: Duration) -> Cubic {
            var cubic = Cubic.afterLoss(at: 100_000)
            var now = start
            for _ in 0..<50 {
                for _ in 0..<(cubic.window.cwnd / 1000) { cubic.ack(1000, at: now, rtt: rtt) }
                now = now + rtt
            }
            return cubic
        }
        // RTT 1 ms: 50 rounds are 0.05 s; W_cubic(0.05) = 0.4·(0.05 − 4.2172)³ + 100
        // ≈ 71.0 segments, far below W_est: cwnd follows W_est.
        let short = run(rtt: .milliseconds(1))
        #expect(abs(short.k - 4.2171633) < 1e-6)
        #expect(short.window.cwnd >= 95500 && short.window.cwnd <= 96600)
        #expect(abs(Double(short.window.cwnd) - short.wEst) < 1)
        #expect(short.wCubic(0.05) < 72000)
        // RTT 100 ms: 50 rounds are 5 s; W_cubic(5) = 0.4·0.783³ + 100 ≈ 100.19 segments,
        // above W_est ≈ 96.2: the cubic curve leads and cwnd is near W_max.
        let long = run(rtt: .milliseconds(100))
        #expect(long.window.cwnd >= 99500 && long.window.cwnd <= 101_000)
        #expect(Double(long.window.cwnd) > long.wEst + 3000)
    }

    @Test("once W_est reaches cwnd_prior, α = 1: one segment per RTT like Reno (§4.3)")
    func alphaOne() {
        var cubic = Cubic.afterLoss(at: 20000)  // cwnd 14000, cwnd_prior 20000, W_max 20000
        var now = start
        while cubic.wEst < 20000 {
            for _ in 0..<(cubic.window.cwnd / 1000) { cubic.ack(1000, at: now, rtt: .milliseconds(1)) }
            now = now + .milliseconds(1)
        }
        // A full round of ACKs now adds ≈ α·(cwnd acked/cwnd) = 1 segment (tiny RTT:
        // W_cubic stays below W_est, so cwnd = W_est).
        let before = cubic.window.cwnd
        let acks = before / 1000
        for _ in 0..<acks { cubic.ack(1000, at: now, rtt: .milliseconds(1)) }
        let growth = cubic.window.cwnd - before
        #expect(growth >= 950 && growth <= 1010)
    }

    @Test("ssthresh never falls below 2·SMSS; PRR's window stops at 1·SMSS and recovery ends at 2·SMSS or more")
    func floors() {
        var cc = CongestionControl(.cubic, mss: 1000, now: start)
        cc.onRetransmissionTimeout(flightSize: 10000, now: start)  // ssthresh max(7000, 2000)
        #expect(cc.cwnd == 1000)
        #expect(cc.ssthresh == 7000)
        cc.onAck(newlyAcked: 1000, flightSize: 1000, rtt: nil, now: start)  // slow start, L = 1·SMSS
        #expect(cc.cwnd == 2000)
        // Loss at cwnd 2000: ssthresh = max(1400, 2000) = 2000.
        cc.enterFastRecovery(flightSize: 2000, now: start)
        #expect(cc.ssthresh == 2000)
        cc.setRecoveryWindow(0)  // an empty pipe: the 1·SMSS floor
        #expect(cc.cwnd == 1000)
        cc.exitRecovery(flightSize: 0, now: .zero)  // min(2000, max(0, 1000) + 1000)
        #expect(cc.cwnd == 2000)
        cc.onRetransmissionTimeout(flightSize: 2000, now: start)
        #expect(cc.cwnd == 1000)
        #expect(cc.ssthresh == 2000)
    }

    @Test("after an RTO the first stage uses K = 0 and W_max = cwnd at its start (§4.8)")
    func timeoutStage() {
        var cubic = Cubic(mss: 1000, now: .zero)
        cubic.grow(to: 100_000)
        // ssthresh = max(0.7·100000, 2000) = 70000; cwnd = 1000.
        cubic.onRetransmissionTimeout()
        #expect(cubic.window.ssthresh == 70000)
        #expect(cubic.window.cwnd == 1000)
        // A second RTO for the same data holds ssthresh (RFC 5681 §3.1).
        cubic.onRetransmissionTimeout()
        #expect(cubic.window.ssthresh == 70000)
        // Slow start back: L = 1·SMSS after an RTO, 69 ACKs to 70000.
        for _ in 0..<69 { cubic.ack(2000, at: start) }
        #expect(cubic.window.cwnd == 70000)
        // First CA ACK: K = 0, W_max = cwnd_epoch = 70000, so W(t) = 0.4·t³ + 70 segments.
        cubic.ack(1000, at: start + .seconds(1))
        #expect(cubic.k == 0)
        #expect(cubic.wMax == 70000)
        #expect(abs(cubic.wCubic(2) - 73200) < 1e-6)  // 0.4·8 = 3.2 segments
    }

    @Test("an RTO during fast recovery keeps the ssthresh that recovery already set")
    func timeoutInRecovery() {
        var cc = CongestionControl(.cubic, mss: 1000, now: start)
        while cc.cwnd < 40000 { cc.onAck(newlyAcked: 2000, flightSize: cc.cwnd, rtt: nil, now: start) }
        cc.enterFastRecovery(flightSize: 40000, now: start)  // ssthresh 28000
        cc.setRecoveryWindow(20000)  // PRR's window; a fresh reduction would give 0.7·20000 = 14000
        cc.onRetransmissionTimeout(flightSize: 40000, now: start)
        #expect(cc.ssthresh == 28000)
        #expect(cc.cwnd == 1000)
        #expect(!cc.inRecovery)
    }

    @Test("an application-limited flow does not grow cwnd, and that time is left out of t (§5.8)")
    func applicationLimited() {
        var cubic = Cubic.afterLoss(at: 36000)
        cubic.ack(1000, at: start)  // stage starts, cwnd 25221 (see `growth`)
        // Ten seconds of ACKs for small flights: no growth.
        for second in 1...10 {
            cubic.onAck(newlyAcked: 500, flightSize: 0, rtt: .milliseconds(100), now: start + .seconds(Int64(second)))
        }
        #expect(cubic.window.cwnd == 25221)
        #expect(abs(cubic.wEst - 25221.0084) < 1e-3)
        // A full-window ACK at 11 s sees t = 1 s, exactly as ACK 2 in `growth`: 25539.
        cubic.ack(1000, at: start + .seconds(11))
        #expect(cubic.window.cwnd == 25539)
    }

    @Test("cwnd counts as full when the flight left no room for another whole segment")
    func cwndLimitedBoundary() {
        var cubic = Cubic.afterLoss(at: 36000)  // cwnd 25200 = ssthresh
        // Flight 24200: 24200 + 1000 ≤ 25200, a segment more would have fit: no growth.
        cubic.onAck(newlyAcked: 1000, flightSize: 24200, rtt: .milliseconds(100), now: start)
        #expect(cubic.window.cwnd == 25200)
        #expect(!cubic.inEpoch)
        // Flight 24201: no room left, so the ACK counts and starts the stage (25221, see `growth`).
        cubic.onAck(newlyAcked: 1000, flightSize: 24201, rtt: .milliseconds(100), now: start)
        #expect(cubic.window.cwnd == 25221)
    }

    @Test("in paced slow start a flight of half cwnd counts as using the window (growth doubles per round)")
    func slowStartHalfWindowInUse() {
        var cc = CongestionControl(.cubic, mss: 1000, now: start)
        cc.paced = true
        // cwnd 10000. A paced flight of 4999 bytes is less than half: application-limited, no growth.
        cc.onAck(newlyAcked: 1000, flightSize: 4999, rtt: .milliseconds(20), now: start)
        #expect(cc.cwnd == 10000)
        // A flight of 5000, half of cwnd: the window is in use, slow start counts the whole ACK.
        cc.onAck(newlyAcked: 3000, flightSize: 5000, rtt: .milliseconds(20), now: start)
        #expect(cc.cwnd == 13000)
        // A round of ACKs, each finding the paced flight at 60% of cwnd, doubles it: 13000 → 26000.
        var acked = 0
        while acked < 13000 {
            cc.onAck(newlyAcked: 1000, flightSize: cc.cwnd * 6 / 10, rtt: .milliseconds(20), now: start)
            acked += 1000
        }
        #expect(cc.cwnd == 26000)
        // Unpaced, the same flight leaves room for another segment: application-limited, no growth.
        cc.paced = false
        cc.onAck(newlyAcked: 1000, flightSize: cc.cwnd * 6 / 10, rtt: .milliseconds(20), now: start)
        #expect(cc.cwnd == 26000)
    }

    @Test("idle time is left out of t; idle beyond the RTO restarts at the initial window")
    func idle() {
        var cubic = Cubic.afterLoss(at: 36000)
        cubic.ack(1000, at: start)
        cubic.onIdleRestart(idle: .milliseconds(900), rto: .seconds(1))  // cwnd kept, t shifted
        #expect(cubic.window.cwnd == 25221)
        // 1.9 s after the stage start minus 0.9 s idle: t = 1 s, as ACK 2 in `growth`.
        cubic.ack(1000, at: start + .milliseconds(1900))
        #expect(cubic.window.cwnd == 25539)
        cubic.onIdleRestart(idle: .seconds(3), rto: .seconds(1))
        #expect(cubic.window.cwnd == 10000)  // RW = min(IW, cwnd)
        #expect(!cubic.inEpoch)
    }

    @Test("the cube root is exact on cubes and signs, and the inverse of x³ elsewhere")
    func cubeRoot() {
        #expect(Cubic.cubeRoot(27) == 3)
        #expect(Cubic.cubeRoot(-8) == -2)
        #expect(Cubic.cubeRoot(0) == 0)
        #expect(Cubic.cubeRoot(.nan) == 0)
        #expect(Cubic.cubeRoot(.infinity) == 0)
        #expect(abs(Cubic.cubeRoot(0.064) - 0.4) < 1e-15)
        var rng = SplitMix64(state: 9438)
        for _ in 0..<2000 {
            let y = Double.random(in: -1e6...1e6, using: &rng) * (Bool.random(using: &rng) ? 1 : 1e-9)
            let root = Cubic.cubeRoot(y * y * y)
            #expect(abs(root - y) <= abs(y) * 1e-14)
        }
    }

    @Test("random events keep every window bound and the wrapper matches a bare Cubic")
    func randomizedInvariants() {
        var rng = SplitMix64(state: 0xC0B1C)
        var cc = CongestionControl(.cubic, mss: 1460, now: start)
        var bare = Cubic(mss: 1460, now: start)
        var now = start
        var sinceRTO = false
        for step in 0..<20000 {
            now = now + .microseconds(Int64.random(in: 0...50_000, using: &rng))
            let bytes = Int.random(in: -100...9000, using: &rng)
            let flight = Int.random(in: -100...400_000, using: &rng)
            let rtt: Duration? = Bool.random(using: &rng) ? .microseconds(Int64.random(in: 0...300_000, using: &rng)) : nil
            switch Int.random(in: 0..<25, using: &rng) {
            case 0:
                cc.enterFastRecovery(flightSize: flight, now: now); bare.enterFastRecovery()
                sinceRTO = false
            case 1...2: cc.setRecoveryWindow(flight); bare.window.setRecoveryWindow(flight)
            case 3...4: cc.endRecovery(now: .zero); bare.exitRecovery(flightSize: bare.window.ssthresh)
            case 5: cc.exitRecovery(flightSize: flight, now: .zero); bare.exitRecovery(flightSize: flight)
            case 6:
                cc.onRetransmissionTimeout(flightSize: flight, now: now); bare.onRetransmissionTimeout()
                sinceRTO = true
            case 7:
                cc.onIdleRestart(idle: .milliseconds(1500), rto: .seconds(1))
                bare.onIdleRestart(idle: .milliseconds(1500), rto: .seconds(1))
            default:
                if cc.inRecovery { continue }
                cc.onAck(newlyAcked: bytes, flightSize: flight, rtt: rtt, now: now)
                bare.onAck(newlyAcked: bytes, flightSize: flight, rtt: rtt, now: now)
            }
            #expect(cc.cwnd == bare.window.cwnd, "step \(step)")
            #expect(cc.ssthresh == bare.window.ssthresh, "step \(step)")
            // PRR may take cwnd to 1·SMSS in recovery; outside it only an RTO goes below 2·SMSS.
            #expect(cc.cwnd >= (sinceRTO || cc.inRecovery ? 1460 : 2 * 1460) || cc.ssthresh == Int.max, "step \(step)")
            #expect(cc.cwnd <= CongestionWindow.maximum)
            if cc.ssthresh != Int.max { #expect(cc.ssthresh >= 2 * 1460) }
        }
    }
}
