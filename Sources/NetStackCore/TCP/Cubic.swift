// CUBIC congestion control, RFC 9438. Read §4.1 (definitions), §4.2 (the
// window increase function), §4.3–4.5 (Reno-friendly, concave and convex
// regions), §4.6–4.8 (multiplicative decrease, fast convergence, timeout) and
// §5.8 (application-limited flows). Fast recovery itself is Reno's, in
// `CongestionWindow`, with cwnd set by the connection's PRR (RFC 9937)
// (RFC 9438 §4.2: CUBIC "does not make any changes to" fast recovery).
//
// The RFC counts windows in segments; here they are bytes, which only scales
// C by the MSS: W_cubic(t) = C·MSS·(t − K)³ + W_max, K = ∛((W_max − cwnd_epoch)/(C·MSS)).
// Per-ACK work is a handful of Double multiplications; the cube root is taken
// once per congestion-avoidance stage.

/// CUBIC (RFC 9438): cubic growth in wall-clock time around the window of the
/// last loss, with a Reno-friendly floor. Value type; every method is O(1).
struct Cubic: Sendable {
    /// C = 0.4 segments/s³ (RFC 9438 §5.1: "C SHOULD be set to 0.4").
    static let c = 0.4
    /// β_cubic = 0.7 as the exact ratio 7/10 (RFC 9438 §4.6), so ssthresh is integer arithmetic.
    static let betaNumerator = 7, betaDenominator = 10
    /// β_cubic as a Double, for the fast-convergence factor (1 + β)/2.
    static let beta = 0.7
    /// α_cubic = 3·(1 − β)/(1 + β) ≈ 0.529 (RFC 9438 §4.3): Reno's average window with β = 0.7.
    static let alpha = 3 * (1 - beta) / (1 + beta)

    /// cwnd, ssthresh, recovery state and the shared Reno mechanics.
    var window: CongestionWindow
    /// Fast convergence (RFC 9438 §4.7): SHOULD be on where flows compete, may
    /// be turned off for a lone flow.
    var fastConvergence = true

    /// W_max in bytes: cwnd just before the last reduction (or less, §4.7); 0 before any loss.
    private(set) var wMax: Double = 0
    /// K in seconds (RFC 9438 §4.2 eqn 2) for the current stage; negative when
    /// the stage starts above W_max (the curve is then convex from the start).
    private(set) var k: Double = 0
    /// W_est in bytes (RFC 9438 §4.3): what Reno's window would be.
    private(set) var wEst: Double = 0
    /// cwnd_prior in bytes: cwnd when ssthresh was last set; α becomes 1 once W_est reaches it.
    private(set) var cwndPrior: Double = 0
    /// Whether a congestion-avoidance stage (an epoch) is running.
    private(set) var inEpoch = false
    /// epoch_start, nanoseconds: moved forward over idle and application-limited time (§5.8).
    private var epochStartNanoseconds: Int64 = 0
    /// Sub-byte growth carried between ACKs, so tiny increments add up.
    private var carry: Double = 0
    /// The last smoothed RTT given, in seconds (RFC 9438 §4.1.2: RTT is SRTT).
    private var srttSeconds: Double = 0
    /// When the last ACK of new data arrived, for measuring application-limited gaps.
    private var lastAckNanoseconds: Int64
    /// The next stage is the first after an RTO: K = 0, W_max = cwnd_epoch (§4.8).
    private var firstStageAfterTimeout = false

    /// Starts at the RFC 6928 initial window, in slow start, no W_max yet. O(1).
    init(mss: Int, now: Instant) {
        window = CongestionWindow(mss: mss)
        lastAckNanoseconds = now.nanoseconds
    }

    /// W_cubic(t) in bytes, t seconds into the stage (RFC 9438 §4.2 eqn 1). O(1).
    func wCubic(_ t: Double) -> Double {
        let d = t - k
        return Self.c * Double(window.mss) * d * d * d + wMax
    }

    /// A cumulative ACK of new data outside recovery (RFC 9438 §4.2–4.5).
    ///
    /// No growth while the flow is application-limited (§5.8) — `flightSize`,
    /// the flight when this ACK arrived, left room for another full segment —
    /// and that time is kept out of t. This is the "other measure" §4.6 requires
    /// of implementations that, like this one, take ssthresh from cwnd rather
    /// than FlightSize. One departure, Linux's (tcp_is_cwnd_limited): in paced
    /// slow start a flight of half cwnd counts as using the window (RFC 7661's
    /// validated phase, pipeACK ≥ ½·cwnd). A paced sender spreads each doubled
    /// window over the round trip, so its flight trails cwnd for most of the
    /// round although the window is in use; requiring a full window there grew
    /// cwnd by about 1.5× per round instead of 2×. The cost: cwnd may reach twice
    /// the flight before the first loss, as unpaced slow start's does in the
    /// round that detects it. Otherwise: slow start below ssthresh, else the
    /// cubic update. O(1).
    mutating func onAck(newlyAcked: Int, flightSize: Int, rtt: Duration?, now: Instant) {
        onAck(newlyAcked: newlyAcked, flightSize: flightSize, srttNanoseconds: rtt?.nanoseconds, now: now)
    }

    /// ``onAck(newlyAcked:flightSize:rtt:now:)`` with the smoothed RTT in nanoseconds. O(1).
    mutating func onAck(newlyAcked: Int, flightSize: Int, srttNanoseconds: Int64?, now: Instant) {
        if let srtt = srttNanoseconds { srttSeconds = Double(max(srtt, 0)) / 1e9 }
        let acked = CongestionWindow.clampBytes(newlyAcked)
        let flightBefore = CongestionWindow.clampBytes(flightSize)
        let sinceLastAck = max(now.nanoseconds &- lastAckNanoseconds, 0)
        lastAckNanoseconds = now.nanoseconds
        window.newDataAcknowledged()
        guard acked > 0, !window.inRecovery else { return }
        let windowInUse = window.inSlowStart && window.paced
            ? 2 * flightBefore >= window.cwnd : flightBefore + window.mss > window.cwnd
        guard windowInUse else {
            if inEpoch { epochStartNanoseconds &+= sinceLastAck }
            return
        }
        if window.inSlowStart {
            window.slowStart(acked: acked)
            inEpoch = false
            return
        }
        congestionAvoidance(acked: Double(acked), now: now.nanoseconds)
    }

    /// One ACK in congestion avoidance (RFC 9438 §4.2–4.5). O(1).
    private mutating func congestionAvoidance(acked: Double, now: Int64) {
        let mss = Double(window.mss)
        var cwnd = Double(window.cwnd) + carry
        if !inEpoch { startEpoch(cwnd: cwnd, now: now) }
        let t = Double(now &- epochStartNanoseconds) / 1e9
        // §4.3 eqn 4 in bytes: W_est += α·segments_acked/cwnd segments, α = 1
        // once W_est has reached cwnd_prior.
        let alpha = wEst >= cwndPrior ? 1 : Self.alpha
        wEst += alpha * acked * mss / cwnd
        if wCubic(t) < wEst {
            // Reno-friendly region: follow Reno (never shrink on an ACK).
            cwnd = max(cwnd, wEst)
        } else {
            // Concave (cwnd < W_max) or convex region: grow towards the target
            // one RTT ahead, between cwnd and 1.5·cwnd (§4.2).
            let target = min(max(wCubic(t + srttSeconds), cwnd), 1.5 * cwnd)
            cwnd += (target - cwnd) / cwnd * acked
        }
        cwnd = min(max(cwnd, mss), Double(CongestionWindow.maximum))
        let whole = cwnd.rounded(.down)
        window.cwnd = Int(whole)
        carry = cwnd - whole
    }

    /// A congestion-avoidance stage begins (RFC 9438 §4.2): epoch_start = now,
    /// cwnd_epoch = cwnd, K from eqn 2, W_est = cwnd_epoch. After an RTO, or
    /// with no W_max known, K = 0 and W_max = cwnd_epoch (§4.8). O(1) plus one
    /// cube root.
    private mutating func startEpoch(cwnd: Double, now: Int64) {
        inEpoch = true
        epochStartNanoseconds = now
        wEst = cwnd
        if firstStageAfterTimeout || wMax <= 0 {
            firstStageAfterTimeout = false
            wMax = cwnd
            k = 0
        } else {
            k = Self.cubeRoot((wMax - cwnd) / (Self.c * Double(window.mss)))
        }
    }

    /// A loss detected (RFC 9438 §4.6–4.7): cwnd_prior = cwnd; W_max =
    /// cwnd·(1 + β)/2 if below the previous W_max and fast convergence is on,
    /// else cwnd; ssthresh = max(cwnd·β, 2·SMSS); cwnd is PRR's from here on
    /// (RFC 9937 §5). No-op if already in recovery. O(1).
    mutating func enterFastRecovery() {
        guard !window.inRecovery else { return }
        let cwnd = Double(window.cwnd)
        cwndPrior = cwnd
        wMax = fastConvergence && cwnd < wMax ? cwnd * (1 + Self.beta) / 2 : cwnd
        window.enterRecovery(reducedTo: reducedWindow)
        endEpoch()
    }

    /// The end of recovery (as ``NewReno/exitRecovery(flightSize:)``); the next ACK starts a new stage. O(1).
    mutating func exitRecovery(flightSize: Int) {
        guard window.inRecovery else { return }
        window.exitRecovery(flightSize: flightSize)
        endEpoch()
    }

    /// RTO (RFC 9438 §4.8): ssthresh = max(cwnd·β, 2·SMSS), cwnd = 1·SMSS, and
    /// the first stage afterwards uses K = 0. ssthresh is held when the RTO
    /// repeats, or when it strikes during fast recovery (this loss episode
    /// already reduced ssthresh — as Linux does). O(1).
    mutating func onRetransmissionTimeout() {
        let hold = window.inRecovery || window.timeoutPending
        if !hold { cwndPrior = Double(window.cwnd) }
        window.timeout(reducedTo: hold ? nil : reducedWindow)
        firstStageAfterTimeout = true
        endEpoch()
    }

    /// Restart after idle: RFC 5681 §4.1's cwnd cap; the idle time is kept out
    /// of t (RFC 9438 §5.8) — and if cwnd was cut, a new stage starts later. O(1).
    mutating func onIdleRestart(idle: Duration, rto: Duration) {
        let idleNanoseconds = max(idle.nanoseconds, 0)
        if window.restartAfterIdle(idle: idle, rto: rto) {
            endEpoch()
        } else if inEpoch {
            epochStartNanoseconds &+= idleNanoseconds
        }
        lastAckNanoseconds &+= idleNanoseconds
    }

    /// cwnd·β_cubic in whole bytes, rounded down (cwnd ≤ 2³¹, so ·7 cannot overflow). O(1).
    private var reducedWindow: Int { window.cwnd * Self.betaNumerator / Self.betaDenominator }

    /// Ends the congestion-avoidance stage; the next one starts at its first ACK. O(1).
    private mutating func endEpoch() {
        inEpoch = false
        carry = 0
    }

    /// The real cube root of `x` (negative for negative x), by Newton's method
    /// from a power-of-two first guess; NetStackCore imports no libm. About six
    /// iterations to full Double precision; 0 for non-finite input. O(1).
    static func cubeRoot(_ x: Double) -> Double {
        guard x.isFinite, x != 0 else { return 0 }
        let a = x.magnitude
        // 2^(e/3) is within a factor of 2 of ∛a, where Newton converges fast.
        var y = Double(sign: .plus, exponent: a.exponent / 3, significand: 1)
        for _ in 0..<100 {
            let next = (2 * y + a / (y * y)) / 3
            if next == y { break }
            if (next - y).magnitude <= y * 1e-16 { y = next; break }
            y = next
        }
        return x < 0 ? -y : y
    }
}
