// Congestion control behind one interface (RFC 5681, RFC 9438, RFC 9937,
// draft-ietf-ccwg-bbr).
//
// Read: RFC 5681 §3.1 (slow start, congestion avoidance, the loss window) and
// §4.1 (restart after idle); RFC 3465 (appropriate byte counting); RFC 6928
// (the initial window); RFC 9438 (CUBIC); RFC 9937 (PRR, which sets cwnd
// during fast recovery). ``CongestionControl`` is an enum switch over three
// value types, ``NewReno``, ``Cubic`` and ``BBR``, so the per-ACK path has no
// existential and no allocation. ``CongestionWindow`` holds what the two
// loss-based ones share: they choose ssthresh on a loss, and the connection's
// PRR drives cwnd from there to ssthresh (``CongestionControl/setRecoveryWindow(_:)``,
// ``CongestionControl/endRecovery(now:)``).
//
// Units: windows are bytes, like SND.UNA arithmetic. `flightSize` is RFC 5681
// §2's FlightSize (SND.MAX − SND.UNA): for `onAck`, as it was when the ACK
// arrived (before SND.UNA moved), so CUBIC can tell whether cwnd was full; for
// `exitRecovery`, after the full ACK (RFC 6582 §3.2 step 3); elsewhere, now.

/// Which congestion control a socket uses (`TCP_CONGESTION` names, as Linux spells them).
public enum CongestionAlgorithm: String, Sendable, CaseIterable {
    /// Reno: RFC 5681 with RFC 3465 byte counting; PRR (RFC 9937) in fast recovery.
    case newReno = "reno"
    /// CUBIC, RFC 9438 (Linux's default), with the same PRR fast recovery.
    case cubic = "cubic"
    /// BBRv3 (draft-ietf-ccwg-bbr): a model of the path's bandwidth and round-trip
    /// time sets the pacing rate and cwnd; random loss below its threshold is not
    /// read as congestion.
    case bbr = "bbr"
}

/// The window state both loss-based algorithms share, and the Reno mechanics
/// they both use: the initial window, slow start, entering and leaving fast
/// recovery (with PRR's cwnd in between), the loss window, restart after
/// idle. Every method is O(1).
struct CongestionWindow: Sendable {
    /// The largest congestion window held, in bytes: 2³¹ − 1, twice the largest
    /// window a peer can advertise (2³⁰, RFC 7323 §2.2), so growth saturates
    /// here instead of overflowing.
    static let maximum = Int(Int32.max)

    /// Sender MSS (SMSS), clamped to 1...65535 (the MSS option is 16 bits).
    private(set) var mss: Int
    /// Congestion window in bytes, always in mss...maximum.
    var cwnd: Int
    /// Slow-start threshold in bytes; starts "arbitrarily high" (RFC 5681 §3.1).
    var ssthresh = Int.max
    /// In fast recovery, from the first loss detected until the ACK of RFC 6582's
    /// `recover` (RFC 9937 §5); PRR sets cwnd meanwhile.
    var inRecovery = false
    /// An RTO fired and no ACK of new data has arrived since. A further RTO for
    /// the same data holds ssthresh (RFC 5681 §3.1, after eqn 4).
    var timeoutPending = false
    /// In the slow start that follows an RTO, where byte counting uses
    /// L = 1·SMSS (RFC 3465 §2.3).
    var slowStartAfterTimeout = false
    /// The connection paces its data segments (set before each output): slow
    /// start then counts every byte an ACK covers, as Linux's tcp_slow_start does
    /// (and as RFC 9406 §4.3 sets L for a paced HyStart++ sender) — a departure
    /// from RFC 3465 §2.2's L ≤ 2·SMSS, whose purpose, bounding the burst a
    /// stretch ACK releases, pacing serves instead. Without it a stretch ACK, or
    /// one whose late, reordered predecessors acknowledge nothing new, cost the
    /// window what it acknowledged. Unpaced, L stays RFC 3465's 2·SMSS.
    var paced = false

    /// A window for `mss`, starting at the RFC 6928 initial window. O(1).
    init(mss: Int) {
        self.mss = Self.clampMSS(mss)
        cwnd = Self.initialWindow(mss: self.mss)
    }

    /// RFC 6928 §2: IW = min(10·MSS, max(2·MSS, 14600)). O(1).
    static func initialWindow(mss: Int) -> Int {
        let mss = clampMSS(mss)
        return min(10 * mss, max(2 * mss, 14600))
    }

    /// An MSS the arithmetic can trust: 1...65535 whatever a peer's option said.
    static func clampMSS(_ mss: Int) -> Int { min(max(mss, 1), 65535) }

    /// A byte count from the caller clamped to 0...maximum, so sums cannot overflow.
    static func clampBytes(_ bytes: Int) -> Int { min(max(bytes, 0), maximum) }

    /// Sets the MSS after the handshake and restarts at the initial window, or
    /// at one segment if the SYN or SYN-ACK had to be retransmitted (RFC 5681
    /// §3.1). O(1).
    mutating func setMSS(_ newMSS: Int, synRetransmitted: Bool) {
        mss = Self.clampMSS(newMSS)
        cwnd = synRetransmitted ? mss : Self.initialWindow(mss: mss)
    }

    /// True while cwnd < ssthresh: slow start (RFC 5681 §3.1). O(1).
    var inSlowStart: Bool { cwnd < ssthresh }

    /// An ACK of new data arrived: the RTO episode (if any) is over. O(1).
    mutating func newDataAcknowledged() { timeoutPending = false }

    /// Slow start with appropriate byte counting (RFC 5681 §3.1, RFC 3465 §2.2):
    /// cwnd += min(acked, L), L = 1·SMSS after an RTO (RFC 3465 §2.3), else
    /// unbounded when ``paced`` (see there), else 2·SMSS (RFC 3465 §2.2).
    /// Never past ssthresh. O(1).
    mutating func slowStart(acked: Int) {
        let limit = slowStartAfterTimeout ? mss : paced ? Self.maximum : 2 * mss
        let increase = min(acked, limit, ssthresh - cwnd)
        cwnd = min(cwnd + max(increase, 0), Self.maximum)
        if cwnd >= ssthresh { slowStartAfterTimeout = false }
    }

    /// The start of fast recovery: ssthresh = max(`reduced`, 2·SMSS) (RFC 5681
    /// §3.2 step 2). cwnd is left as it is: PRR sets it from here on (RFC 9937
    /// §5, ``setRecoveryWindow(_:)``). O(1).
    mutating func enterRecovery(reducedTo reduced: Int) {
        ssthresh = max(min(reduced, Self.maximum), 2 * mss)
        inRecovery = true
        slowStartAfterTimeout = false
    }

    /// RFC 6582 §3.2 step 3 (full ACK), option 1: cwnd = min(ssthresh,
    /// max(FlightSize, SMSS) + SMSS). O(1).
    mutating func exitRecovery(flightSize: Int) {
        guard inRecovery else { return }
        cwnd = min(ssthresh, max(Self.clampBytes(flightSize), mss) + mss)
        inRecovery = false
        timeoutPending = false
    }

    /// PRR (RFC 9937 §5): during recovery the sender sets cwnd = pipe + sndcnt
    /// on every ACK. Floored at 1·SMSS. No-op outside recovery. O(1).
    mutating func setRecoveryWindow(_ bytes: Int) {
        guard inRecovery else { return }
        cwnd = min(max(bytes, mss), Self.maximum)
    }

    /// RFC 5681 §3.1 eqn 4 and the loss window: ssthresh = max(`reduced`,
    /// 2·SMSS) unless this RTO repeats one for the same data (then ssthresh is
    /// held), cwnd = 1·SMSS, recovery abandoned. `reduced` nil also holds it. O(1).
    mutating func timeout(reducedTo reduced: Int?) {
        if !timeoutPending, let reduced { ssthresh = max(min(reduced, Self.maximum), 2 * mss) }
        cwnd = mss
        inRecovery = false
        timeoutPending = true
        slowStartAfterTimeout = true
    }

    /// RFC 5681 §4.1: after sending nothing for longer than the RTO, cwnd =
    /// min(cwnd, RW) with RW = min(IW, cwnd). Returns whether cwnd shrank. O(1).
    mutating func restartAfterIdle(idle: Duration, rto: Duration) -> Bool {
        guard idle.nanoseconds > rto.nanoseconds else { return false }
        let restart = min(Self.initialWindow(mss: mss), cwnd)
        guard restart < cwnd else { return false }
        cwnd = restart
        return true
    }
}

/// The congestion controller of one connection, selectable per socket
/// (RFC 5681 Reno, RFC 9438 CUBIC, or draft-ietf-ccwg-bbr BBRv3).
///
/// Dispatches by `switch` to a ``NewReno``, a ``Cubic`` or a ``BBR`` held
/// inline: no existential, no allocation; every member is O(1). The caller
/// owns loss detection (RACK-TLP, RFC 8985; DupThresh; RFC 6582's `recover`)
/// and PRR's arithmetic (RFC 9937), and tells this type what happened.
struct CongestionControl: Sendable {
    // The three states side by side, the unused two idle, rather than an enum with
    // payloads: every `case .cubic(var cubic): …; state = .cubic(cubic)` copied the
    // enum's largest payload (BBR's state) out and back, a memmove of a few hundred
    // bytes several times per segment. Stored properties mutate in place.

    /// The algorithm in use. O(1).
    let algorithm: CongestionAlgorithm
    /// NewReno's state (used when `algorithm` is `.newReno`).
    private var reno: NewReno
    /// CUBIC's state (used when `algorithm` is `.cubic`).
    private var curve: Cubic
    /// BBR's state (used when `algorithm` is `.bbr`).
    private var model: BBR

    /// A controller for `algorithm`, window at the RFC 6928 initial window for
    /// `mss`, ssthresh "arbitrarily high" (RFC 5681 §3.1). O(1).
    init(_ algorithm: CongestionAlgorithm, mss: Int, now: Instant) {
        self.init(algorithm, mss: mss, now: now, seed: UInt64(bitPattern: now.nanoseconds))
    }

    /// A controller for `algorithm` whose random choices (BBR's probe timing)
    /// come from `seed`, so a simulation replays exactly. O(1).
    init(_ algorithm: CongestionAlgorithm, mss: Int, now: Instant, seed: UInt64) {
        self.algorithm = algorithm
        reno = NewReno(mss: mss)
        curve = Cubic(mss: mss, now: now)
        model = BBR(mss: mss, now: now, seed: seed)
    }

    /// BBR's pacing rate (bytes/s) and send quantum (bytes); nil for the
    /// loss-based algorithms, which the connection paces from cwnd/SRTT. O(1).
    var modelPacing: (rate: Int, quantum: Int)? {
        algorithm == .bbr ? (model.pacingRate, model.sendQuantum) : nil
    }

    /// The BBR state, when BBR is the algorithm (for netstat; a copy). O(1).
    var bbr: BBR? { algorithm == .bbr ? model : nil }

    /// BBR wants the delivery-rate sampler to mark application-limited periods. False for the others. O(1).
    var wantsAppLimitedMark: Bool { algorithm == .bbr && model.wantsAppLimitedMark }

    /// Congestion window in bytes (RFC 5681 cwnd). O(1), copies nothing.
    var cwnd: Int {
        switch algorithm {
        case .newReno: reno.window.cwnd
        case .cubic: curve.window.cwnd
        case .bbr: model.cwnd
        }
    }
    /// Slow-start threshold in bytes; `Int.max` until the first loss (always for BBR, which has none). O(1).
    var ssthresh: Int {
        switch algorithm {
        case .newReno: reno.window.ssthresh
        case .cubic: curve.window.ssthresh
        case .bbr: Int.max
        }
    }
    /// In fast recovery (RFC 9937 §5; BBR: between entering and leaving loss recovery). O(1).
    var inRecovery: Bool {
        switch algorithm {
        case .newReno: reno.window.inRecovery
        case .cubic: curve.window.inRecovery
        case .bbr: model.inRecovery
        }
    }
    /// In slow start, cwnd < ssthresh (RFC 5681 §3.1); for BBR, in Startup. O(1).
    var inSlowStart: Bool {
        switch algorithm {
        case .newReno: reno.window.inSlowStart
        case .cubic: curve.window.inSlowStart
        case .bbr: model.state == .startup
        }
    }
    /// The connection paces its data: NewReno and CUBIC then count whole ACKs in
    /// slow start, and CUBIC takes half a window in flight as the window in use
    /// (``CongestionWindow/paced``, ``Cubic/onAck(newlyAcked:flightSize:rtt:now:)``).
    /// BBR paces by its own model and ignores it. O(1).
    var paced: Bool {
        get {
            switch algorithm {
            case .newReno: reno.window.paced
            case .cubic: curve.window.paced
            case .bbr: true
            }
        }
        set {
            switch algorithm {
            case .newReno: reno.window.paced = newValue
            case .cubic: curve.window.paced = newValue
            case .bbr: break
            }
        }
    }
    /// The sender MSS the window is counted in. O(1).
    var mss: Int {
        switch algorithm {
        case .newReno: reno.window.mss
        case .cubic: curve.window.mss
        case .bbr: model.mss
        }
    }

    /// Sets the MSS once the handshake has fixed it and restarts at the RFC
    /// 6928 initial window, min(10·MSS, max(2·MSS, 14600)) — or at 1·MSS if
    /// the SYN or SYN-ACK was retransmitted (RFC 5681 §3.1). Call before data
    /// flows. O(1).
    mutating func setMSS(_ mss: Int, synRetransmitted: Bool = false) {
        switch algorithm {
        case .newReno: reno.window.setMSS(mss, synRetransmitted: synRetransmitted)
        case .cubic: curve.window.setMSS(mss, synRetransmitted: synRetransmitted)
        case .bbr: model.setMSS(mss, synRetransmitted: synRetransmitted)
        }
    }

    /// A cumulative ACK advanced SND.UNA by `newlyAcked` bytes outside fast
    /// recovery: slow start (RFC 5681 §3.1, RFC 3465; L unbounded when paced) or congestion
    /// avoidance (Reno: +1 SMSS per cwnd of bytes acknowledged; CUBIC: RFC 9438
    /// §4.2–4.5 at time `now`). `rtt` is the smoothed RTT (``RTTEstimator/srtt``;
    /// nil keeps the last one given); `flightSize` is the flight when the ACK
    /// arrived, before SND.UNA advanced. O(1).
    mutating func onAck(newlyAcked: Int, flightSize: Int, rtt: Duration?, now: Instant) {
        onAck(newlyAcked: newlyAcked, flightSize: flightSize, srttNanoseconds: rtt?.nanoseconds, now: now)
    }

    /// ``onAck(newlyAcked:flightSize:rtt:now:)`` with the smoothed RTT in nanoseconds
    /// (``RTTEstimator/srttNanoseconds``), as the per-ACK path holds it: no `Duration`
    /// arithmetic. O(1).
    mutating func onAck(newlyAcked: Int, flightSize: Int, srttNanoseconds: Int64?, now: Instant) {
        switch algorithm {
        case .newReno: reno.acknowledged(newlyAcked, flightSize: flightSize, srttNanoseconds: srttNanoseconds, now: now)
        case .cubic: curve.acknowledged(newlyAcked, flightSize: flightSize, srttNanoseconds: srttNanoseconds, now: now)
        case .bbr:
            break  // BBR grows from its model, in onRateSample
        }
    }

    /// Fast retransmit: the multiplicative decrease and the start of fast
    /// recovery. Reno sets ssthresh = max(FlightSize/2, 2·SMSS) (RFC 5681 §3.2);
    /// CUBIC updates W_max (fast convergence) and sets ssthresh = max(cwnd·β,
    /// 2·SMSS), β = 0.7 (RFC 9438 §4.6–4.7); PRR then drives cwnd. BBR saves
    /// its cwnd and model for undo and leaves cwnd to its model (`inFlight`:
    /// the pipe after loss marking; nil takes `flightSize`). No-op if already
    /// in recovery. O(1).
    mutating func enterFastRecovery(flightSize: Int, inFlight: Int? = nil, now: Instant) {
        switch algorithm {
        case .newReno: reno.fastRecovery(flightSize: flightSize, now: now)
        case .cubic: curve.fastRecovery(flightSize: flightSize, now: now)
        case .bbr: model.onEnterRecovery(inFlight: inFlight ?? flightSize, now: now)
        }
    }

    /// The full ACK ending recovery: cwnd = min(ssthresh, max(FlightSize, SMSS)
    /// + SMSS) (RFC 6582 §3.2 step 3, option 1); BBR restores the cwnd saved at
    /// entry, bounded by its model. `now` is the ACK's time (no default: a
    /// controller that keeps time must not be told it is 0). No-op outside recovery. O(1).
    mutating func exitRecovery(flightSize: Int, now: Instant) {
        switch algorithm {
        case .newReno: reno.recoveryEnded(flightSize: flightSize)
        case .cubic: curve.recoveryEnded(flightSize: flightSize)
        case .bbr: model.onExitRecovery(now: now)
        }
    }

    /// True when the sender drives cwnd through fast recovery with PRR
    /// (RFC 9937) — ``setRecoveryWindow(_:)`` on every ACK and ``endRecovery(now:)``
    /// at the full ACK. True for NewReno and CUBIC; BBR handles recovery
    /// itself (draft-ietf-ccwg-bbr §5.6.4.4). O(1).
    var usesProportionalRateReduction: Bool {
        switch algorithm {
        case .newReno, .cubic: true
        case .bbr: false
        }
    }

    /// PRR's cwnd for this ACK in recovery (RFC 9937 §5: cwnd = pipe + sndcnt),
    /// floored at 1·SMSS. No-op outside recovery and for BBR. O(1).
    mutating func setRecoveryWindow(_ bytes: Int) {
        switch algorithm {
        case .newReno: reno.window.setRecoveryWindow(bytes)
        case .cubic: curve.window.setRecoveryWindow(bytes)
        case .bbr: break
        }
    }

    /// The end of a PRR recovery (RFC 9937 §5: "cwnd = ssthresh"): the shared
    /// exit with FlightSize taken as ssthresh, so min(ssthresh, FlightSize + SMSS)
    /// is ssthresh; BBR (a tail loss probe's one-shot reduction) restores its
    /// saved cwnd at `now`. No-op outside recovery. O(1).
    mutating func endRecovery(now: Instant) {
        guard inRecovery else { return }
        exitRecovery(flightSize: ssthresh, now: now)
    }

    /// A delivery-rate sample, once per ACK that delivered or marked lost
    /// anything, after loss marking (draft-ietf-ccwg-bbr §4.5). NewReno and
    /// CUBIC ignore it; BBR updates its model, state, pacing rate and cwnd. O(1).
    mutating func onRateSample(_ sample: RateSample, now: Instant) {
        switch algorithm {
        case .newReno, .cubic: break
        case .bbr: model.onRateSample(sample, now: now)
        }
    }

    /// The peer's receive window, not cwnd or pacing, stopped new data that was
    /// ready to go. BBR keeps such rounds out of its full-pipe count; NewReno and
    /// CUBIC ignore it. O(1).
    mutating func noteReceiveWindowLimited() {
        switch algorithm {
        case .newReno, .cubic: break
        case .bbr: model.receiveWindowLimitedInRound = true
        }
    }

    /// BBR heard this round that the peer's window held new data back; false for
    /// NewReno and CUBIC, which do not track it. O(1).
    var receiveWindowLimitedInRound: Bool { algorithm == .bbr && model.receiveWindowLimitedInRound }

    /// A reduction proved spurious (Eifel, D-SACK, F-RTO): NewReno and CUBIC go
    /// back to `saved`, the state before it (RFC 4015 §3.2); BBR keeps what it
    /// learnt since and restores its cwnd and bounds (draft-ietf-ccwg-bbr
    /// §5.5.11.2). O(1).
    mutating func undo(restoring saved: CongestionControl, now: Instant) {
        switch algorithm {
        case .newReno, .cubic: self = saved
        case .bbr: model.onSpuriousRecovery(now: now)
        }
    }

    /// The retransmission timer fired: cwnd = 1·SMSS (the loss window);
    /// ssthresh = max(FlightSize/2, 2·SMSS) for Reno (RFC 5681 §3.1 eqn 4),
    /// max(cwnd·0.7, 2·SMSS) for CUBIC (RFC 9438 §4.8); held on a repeated RTO
    /// for the same data. BBR: cwnd = inflight + SMSS (`inFlight` after the
    /// timeout's loss marking; nil takes `flightSize`). Ends fast recovery. O(1).
    mutating func onRetransmissionTimeout(flightSize: Int, inFlight: Int? = nil, now: Instant) {
        switch algorithm {
        case .newReno: reno.retransmissionTimeout(flightSize: flightSize, now: now)
        case .cubic: curve.retransmissionTimeout(flightSize: flightSize, now: now)
        case .bbr: model.onRetransmissionTimeout(inFlight: inFlight ?? flightSize, now: now)
        }
    }

    /// Sending resumes after `idle` with nothing sent: if idle > `rto`, cwnd =
    /// min(cwnd, IW) (RFC 5681 §4.1). CUBIC also leaves the idle time out of
    /// its curve's clock (RFC 9438 §5.8); BBR paces at its estimated bandwidth
    /// (draft-ietf-ccwg-bbr §5.4.1). Call it whenever sending restarts from an
    /// empty flight, with idle = now − last send. O(1).
    mutating func onIdleRestart(idle: Duration, rto: Duration, now: Instant = .zero) {
        switch algorithm {
        case .newReno: reno.idleRestart(idle: idle, rto: rto)
        case .cubic: curve.idleRestart(idle: idle, rto: rto)
        case .bbr: model.onIdleRestart(now: now)
        }
    }
}
