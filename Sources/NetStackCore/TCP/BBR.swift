// BBR congestion control, version 3: draft-ietf-ccwg-bbr-06 (July 2026).
//
// Read: §2 (state and constants), §5.1–5.2 (the state machine and the
// per-ACK steps), §5.3 (Startup, Drain, ProbeBW, ProbeRTT), §5.4 (restart
// from idle), §5.5 (the path model: rounds, max_bw, min_rtt, extra_acked, the
// loss response and undo), §5.6 (pacing rate, send quantum, cwnd).
//
// This file holds the state and the lifecycle events (ACK, recovery, RTO,
// idle, spurious-recovery undo); BBR+Model.swift the path model;
// BBR+StateMachine.swift and BBR+ProbeBW.swift the state machine;
// BBR+Control.swift derives pacing rate, send quantum and cwnd from the
// model; BBRFilters.swift holds the windowed max filter and the generator. The input is one `RateSample` per ACK, filled by the loss
// detector from its per-segment records.
//
// Units are the draft's: bytes, bytes per second, and time in nanoseconds
// (`Instant`). "Infinity" in the draft is `Int.max` / `Int64.max` here.
// Arithmetic is Int plus a few Double products for gains; nothing allocates
// and every method is O(1).

/// The BBRv3 congestion controller of one connection (draft-ietf-ccwg-bbr-06).
///
/// A value type of about fifty words. Feed it ``onRateSample(_:now:)`` on
/// every ACK that delivers or marks lost some data; read ``cwnd``,
/// ``pacingRate`` and ``sendQuantum`` after. Recovery, RTO, idle restarts
/// and spurious-recovery undo are separate events. Every method is O(1) and
/// allocation-free.
///
/// The state is the draft's variables under Swift names. Most are settable
/// within the module only because the algorithm's steps live in extensions
/// in other files; nothing but those steps should set them.
struct BBR: Sendable {
    /// The states of BBR's state machine (§5.1.1).
    enum State: Sendable, Equatable, CaseIterable {
        /// Exponential search for the bottleneck bandwidth (§5.3.1).
        case startup
        /// Draining the queue Startup built (§5.3.2).
        case drain
        /// ProbeBW deceleration: pacing at 0.9 × bw (§5.3.3.1).
        case probeBWDown
        /// ProbeBW cruising at bw (§5.3.3.2).
        case probeBWCruise
        /// ProbeBW refilling the pipe for one round before probing (§5.3.3.3).
        case probeBWRefill
        /// ProbeBW acceleration: pacing at 1.25 × bw (§5.3.3.4).
        case probeBWUp
        /// Cutting inflight to BDP/2 to measure min_rtt (§5.3.4).
        case probeRTT

        /// The name `netstat` shows, as Linux spells BBR's modes.
        var name: String {
            switch self {
            case .startup: "startup"
            case .drain: "drain"
            case .probeBWDown: "probe_bw_down"
            case .probeBWCruise: "probe_bw_cruise"
            case .probeBWRefill: "probe_bw_refill"
            case .probeBWUp: "probe_bw_up"
            case .probeRTT: "probe_rtt"
            }
        }

        /// One of the four ProbeBW phases (IsInAProbeBWState, §5.3.3.9).
        var isProbeBW: Bool {
            switch self {
            case .probeBWDown, .probeBWCruise, .probeBWRefill, .probeBWUp: true
            case .startup, .drain, .probeRTT: false
            }
        }

        /// Sending faster than the model to probe bandwidth (IsProbingBW, §5.3.3.9).
        var isProbingBandwidth: Bool { self == .startup || self == .probeBWRefill || self == .probeBWUp }
    }

    /// What the ACKs now arriving say about bandwidth probing (BBR.ack_phase, §2.14).
    enum AckPhase: Sendable, Equatable {
        /// Not probing, no probe feedback.
        case initial
        /// Sending at bw to refill the pipe.
        case refilling
        /// Inflight rising to probe bandwidth.
        case probeStarting
        /// Feedback from the probe arriving.
        case probeFeedback
        /// Probe over; its feedback still arriving.
        case probeStopping
    }

    // MARK: Constants (§2)

    /// BBR.StartupPacingGain = 4·ln 2 ≈ 2.77: the least gain that doubles the rate each round (§2.5).
    static let startupPacingGain = 2.77
    /// BBR.DrainPacingGain = 0.5 (§2.5).
    static let drainPacingGain = 0.5
    /// BBR.DefaultCwndGain = 2 (§2.6).
    static let defaultCwndGain = 2.0
    /// ProbeBW_DOWN's pacing gain, 0.90 (§5.3.3.1).
    static let probeDownPacingGain = 0.9
    /// ProbeBW_UP's pacing gain, 1.25 (§5.3.3.5).
    static let probeUpPacingGain = 1.25
    /// ProbeBW_UP's cwnd gain, 2.25 (§5.3.3.5).
    static let probeUpCwndGain = 2.25
    /// BBR.ProbeRTTCwndGain = 0.5 (§2.16.2).
    static let probeRTTCwndGain = 0.5
    /// BBR.PacingMarginPercent = 1: pace 1% below bw (§2.5, §5.6.2).
    static let pacingMarginPercent = 1.0
    /// BBR.LossThresh = 2% per round trip (§2.8).
    static let lossThresh = 0.02
    /// The least queueing delay that counts as a standing queue (NetStack's random-loss
    /// tolerance, see `congestiveLossEvidence`): 1 ms, above timer and ACK-clock noise.
    static let queueEvidenceFloorNanoseconds: Int64 = 1_000_000
    /// RTT samples are clamped to 60 s before they are summed, so a forged one cannot overflow the sum.
    static let maximumRTTSampleNanoseconds: Int64 = 60_000_000_000
    /// BBR.Beta = 0.7 (§2.8).
    static let beta = 0.7
    /// BBR.Headroom = 0.15 (§2.8).
    static let headroom = 0.15
    /// BBR.MinPipeCwnd = 4·SMSS (§2.8).
    static let minPipeCwndSegments = 4
    /// The full-pipe estimator's growth threshold: 25% per round (§5.3.1.2).
    static let fullBandwidthGrowth = 1.25
    /// Rounds without that growth before the pipe counts as full (§5.3.1.2).
    static let fullBandwidthRounds = 3
    /// Rounds of one Startup plateau that the peer's receive window may keep out of
    /// the full-pipe count: a window stuck between one and two BDPs must not hold
    /// Startup (and its queue) for ever.
    static let receiveWindowRoundsExcused = 3
    /// BBRStartupFullLossCnt = 6 loss events in a round for the loss-based Startup exit (§5.3.1.3).
    static let startupFullLossCount = 6
    /// BBR.MaxBwFilterLen = 2 ProbeBW cycles (§2.11).
    static let maxBandwidthFilterLength: Int64 = 2
    /// BBR.ExtraAckedFilterLen = 10 rounds (§2.12).
    static let extraAckedFilterLength: Int64 = 10
    /// BBR.MinRTTFilterLen = 10 s (§2.16.1).
    static let minRTTFilterNanoseconds: Int64 = 10_000_000_000
    /// BBR.ProbeRTTInterval = 5 s (§2.16.2).
    static let probeRTTIntervalNanoseconds: Int64 = 5_000_000_000
    /// BBR.ProbeRTTDuration = 200 ms (§2.16.2).
    static let probeRTTDurationNanoseconds: Int64 = 200_000_000
    /// The Reno-coexistence bound on rounds between probes, 63 (less 0 or 1 at random) (§5.3.3.8).
    static let renoRoundsBound = 63
    /// The upper bound on the send quantum, 64 KB (§5.6.3).
    static let maxSendQuantum = 65536
    /// The RTT assumed before any sample, for the initial pacing rate: 1 ms (§5.6.2).
    static let assumedRTTNanoseconds: Int64 = 1_000_000
    /// The largest rate held, 2⁵⁰ bytes/s, so products with times cannot overflow.
    static let maximumRate = 1 << 50

    // MARK: Outputs and connection state

    /// C.SMSS in bytes, 1...65535.
    private(set) var mss: Int
    /// C.InitialCwnd: the RFC 6928 initial window for `mss`.
    private(set) var initialCwnd: Int
    /// C.cwnd in bytes.
    var cwnd: Int
    /// C.pacing_rate in bytes per second.
    var pacingRate: Int
    /// C.send_quantum in bytes.
    var sendQuantum: Int
    /// BBR.state.
    var state = State.startup
    /// C.has_selective_acks: the peer SACKs, so more than one loss per round can be seen.
    /// Without it any loss in a round counts as too high (§5.5.10.2).
    var hasSelectiveAcks = true
    /// In fast recovery or RTO recovery (InLossRecovery()).
    private(set) var inRecovery = false
    /// C.delivered as of the last rate sample.
    private(set) var delivered = 0
    /// C.inflight as of the last rate sample or send.
    private(set) var inFlight = 0

    // MARK: Gains

    /// BBR.pacing_gain.
    var pacingGain = startupPacingGain
    /// BBR.cwnd_gain.
    var cwndGain = defaultCwndGain

    // MARK: Path model (§2.9, §5.5)

    /// BBR.max_bw_filter over ProbeBW cycles.
    var maxBandwidthFilter = WindowedMaxFilter()
    /// BBR.cycle_count: the max_bw filter's clock.
    var cycleCount: Int64 = 0
    /// BBR.bw = min(max_bw, bw_shortterm), bytes per second.
    var bandwidth = 0
    /// BBR.bw_shortterm; `Int.max` when unset.
    var bandwidthShortTerm = Int.max
    /// BBR.inflight_shortterm; `Int.max` when unset.
    var inflightShortTerm = Int.max
    /// BBR.inflight_longterm; `Int.max` when unset.
    var inflightLongTerm = Int.max
    /// BBR.bw_latest: this round's max delivery rate.
    var bandwidthLatest = 0
    /// BBR.inflight_latest: this round's max RS.delivered.
    var inflightLatest = 0
    /// BBR.min_rtt in nanoseconds; `Int64.max` before any sample.
    var minRTTNanoseconds = Int64.max
    /// BBR.min_rtt_stamp.
    var minRTTStamp: Int64
    /// BBR.probe_rtt_min_delay in nanoseconds.
    var probeRTTMinDelay = Int64.max
    /// BBR.probe_rtt_min_stamp.
    var probeRTTMinStamp: Int64
    /// BBR.probe_rtt_expired.
    var probeRTTExpired = false
    /// BBR.extra_acked_filter over rounds.
    var extraAckedFilter = WindowedMaxFilter()
    /// BBR.extra_acked_interval_start.
    var extraAckedIntervalStart: Int64
    /// BBR.extra_acked_delivered.
    var extraAckedDelivered = 0
    /// Whether an RTT has been seen, so the initial pacing rate has been set from it (§5.6.2).
    var hasSeenRTT = false

    // MARK: Rounds and congestion signals (§5.5.1, §5.5.10)

    /// BBR.round_count.
    var roundCount: Int64 = 0
    /// BBR.round_start: this ACK began a new packet-timed round.
    var roundStart = false
    /// BBR.next_round_delivered.
    var nextRoundDelivered = 0
    /// BBR.loss_round_delivered.
    var lossRoundDelivered = 0
    /// BBR.loss_round_start.
    var lossRoundStart = false
    /// BBR.is_loss_in_round.
    var isLossInRound = false
    /// ACKs that marked new losses this loss round (the draft's "discontiguous lost ranges", §5.3.1.3).
    var lossEventsInRound = 0
    /// Bytes newly marked lost this loss round.
    var lostInRound = 0
    /// Bytes newly delivered this loss round.
    var deliveredInRound = 0
    /// The sum and count of this loss round's RTT samples (ns): its mean is the
    /// evidence of a standing queue that ``congestiveLossEvidence`` looks for.
    var lossRoundRTTSum: Int64 = 0
    var lossRoundRTTCount: Int64 = 0
    /// The lowest mean RTT of a loss round in the last 10 s (ns; `Int64.max`:
    /// none yet) and when it was taken: the path's delay without a queue, as
    /// its rounds see it on average (min_rtt can be far below it on a path
    /// whose delay varies or that reorders by sending some packets early).
    var baselineRoundRTT = Int64.max
    var baselineRoundRTTStamp: Int64 = 0
    /// A 1/8 moving average of loss rounds' mean RTTs (ns; 0: none yet) and a 1/4
    /// moving average of their distance from it: the rounds' usual spread, which a
    /// queue's rise must exceed (``roundShowsQueue``).
    var smoothedRoundRTT: Int64 = 0
    var roundRTTDeviation: Int64 = 0
    /// The loss rate the path shows round after round (a 1/8 moving average of each
    /// loss round's lost / (lost + delivered)): random loss a queue did not cause.
    var backgroundLossRate = 0.0
    /// NetStack's departure from the draft (on by default): a round's losses count as
    /// congestion only if they exceed the path's usual loss and the round showed a
    /// standing queue. See ``congestiveLossEvidence``.
    var toleratesRandomLoss = true
    /// C.delivered when recovery began, to tell a full round of recovery (§5.3.1.3).
    var recoveryStartDelivered = 0
    /// The flight filled cwnd at some point this round.
    var cwndLimitedInRound = false
    /// The flight filled cwnd at some point last round.
    var cwndLimitedLastRound = false
    /// The peer's receive window held back new data at some point this round.
    var receiveWindowLimitedInRound = false
    /// The peer's receive window held back new data at some point last round.
    var receiveWindowLimitedLastRound = false

    // MARK: Startup and ProbeBW (§2.13, §2.14)

    /// BBR.full_bw_reached: the pipe has been full at least once.
    var fullBandwidthReached = false
    /// BBR.full_bw_now: the pipe is full in the current search.
    var fullBandwidthNow = false
    /// BBR.full_bw: the baseline rate of the full-pipe estimator.
    var fullBandwidth = 0
    /// BBR.full_bw_count.
    var fullBandwidthCount = 0
    /// Rounds of the current plateau not counted because the peer's window held data back.
    var receiveWindowRoundsSkipped = 0
    /// BBR.drain_start_round.
    var drainStartRound: Int64 = 0
    /// BBR.ack_phase.
    var ackPhase = AckPhase.initial
    /// BBR.is_bw_probe_sample.
    var isBandwidthProbeSample = false
    /// BBR.bw_probe_up_acked.
    var bandwidthProbeUpAcked = 0
    /// BBR.probe_up_acked_per_inc.
    var probeUpAckedPerIncrement = Int.max
    /// BBR.bw_probe_up_rounds.
    var bandwidthProbeUpRounds = 0
    /// BBR.rounds_since_probe_up.
    var roundsSinceProbeUp = 0
    /// BBR.bw_probe_wait, nanoseconds.
    var bandwidthProbeWait: Int64 = 0
    /// BBR.cycle_stamp.
    var cycleStamp: Int64 = 0
    /// BBR.prev_probe_too_high.
    var previousProbeTooHigh = false
    /// BBR.prev_probe_precautionary.
    var previousProbePrecautionary = false
    /// The ProbeBW timing's random source.
    var random: SplitMix64

    // MARK: ProbeRTT, idle and undo (§2.15, §2.16, §5.4)

    /// BBR.probe_rtt_done_stamp; nil while unset (the draft's 0).
    var probeRTTDoneStamp: Int64?
    /// BBR.probe_rtt_round_done.
    var probeRTTRoundDone = false
    /// BBR.prior_cwnd: the last known good cwnd.
    var priorCwnd = 0
    /// BBR.idle_restart.
    var idleRestart = false
    /// BBR.undo_state; nil is the draft's None.
    var undoState: State?
    /// BBR.undo_bw_shortterm.
    var undoBandwidthShortTerm = Int.max
    /// BBR.undo_inflight_shortterm.
    var undoInflightShortTerm = Int.max
    /// BBR.undo_inflight_longterm.
    var undoInflightLongTerm = Int.max

    /// OnInit (§5.2.1): cwnd = the RFC 6928 initial window, pacing at
    /// 2.77 × InitialCwnd / 1 ms until an RTT is known, in Startup. `seed`
    /// drives ProbeBW's randomized timing. O(1).
    init(mss: Int, now: Instant, seed: UInt64) {
        self.mss = CongestionWindow.clampMSS(mss)
        initialCwnd = CongestionWindow.initialWindow(mss: self.mss)
        cwnd = initialCwnd
        minRTTStamp = now.nanoseconds
        probeRTTMinStamp = now.nanoseconds
        extraAckedIntervalStart = now.nanoseconds
        random = SplitMix64(seed: seed)
        pacingRate = Self.initialPacingRate(initialCwnd: initialCwnd, rttNanoseconds: Self.assumedRTTNanoseconds)
        sendQuantum = 0
        updateSendQuantum()
        enterStartup()
    }

    // MARK: Read-only views

    /// BBR.max_bw, bytes per second (0 before any sample). O(1).
    var maxBandwidth: Int { maxBandwidthFilter.best }
    /// BBR.min_rtt, nil before any RTT sample. O(1).
    var minRTT: Duration? { minRTTNanoseconds == .max ? nil : .nanoseconds(minRTTNanoseconds) }
    /// BBR.inflight_longterm (Linux's inflight_hi), nil while unset. O(1).
    var inflightHi: Int? { inflightLongTerm == .max ? nil : inflightLongTerm }
    /// BBR.inflight_shortterm (Linux's inflight_lo), nil while unset. O(1).
    var inflightLo: Int? { inflightShortTerm == .max ? nil : inflightShortTerm }
    /// BBR.bw_shortterm (Linux's bw_lo), nil while unset. O(1).
    var bwLo: Int? { bandwidthShortTerm == .max ? nil : bandwidthShortTerm }
    /// BBR.extra_acked, bytes. O(1).
    var extraAcked: Int { extraAckedFilter.best }
    /// BBR.MinPipeCwnd = 4·SMSS. O(1).
    var minPipeCwnd: Int { Self.minPipeCwndSegments * mss }
    /// HandleProbeRTT's MarkConnectionAppLimited (§5.3.4.3): while true, the
    /// rate sampler should mark what is sent as application-limited, so
    /// ProbeRTT's low rates are not taken as the path's. O(1).
    var wantsAppLimitedMark: Bool { state == .probeRTT }
    /// C.is_cwnd_limited: the flight filled cwnd at some point in the last round. O(1).
    var isCwndLimited: Bool { cwndLimitedInRound || cwndLimitedLastRound }

    // MARK: Events

    /// UpdateOnACK (§5.2.3) for one ACK's rate sample: the loss steps for
    /// what it marked lost (§5.2.4), the path model and state machine, then
    /// pacing rate, send quantum and cwnd. Call it on every ACK that
    /// delivered or marked lost data, after recovery entry/exit for the same
    /// ACK. Fields are clamped, so a forged sample cannot overflow. O(1).
    mutating func onRateSample(_ sample: RateSample, now: Instant) {
        let rs = Self.sanitized(sample)
        delivered = max(delivered, rs.totalDelivered)
        inFlight = rs.inFlight
        if rs.priorInFlight + mss > cwnd { cwndLimitedInRound = true }
        if rs.newlyLost > 0 {
            lossEventsInRound += 1
            noteLoss()
        }
        updateModelAndState(rs, now: now.nanoseconds)
        updateControlParameters(rs)
    }

    /// OnTransmit's bookkeeping: `inFlight` is C.inflight after the send. A
    /// flight that leaves no room for another full segment marks this round
    /// cwnd-limited (C.is_cwnd_limited), which ProbeBW_UP needs to grow
    /// inflight_longterm. Optional: ACKs carry the same signal. O(1).
    mutating func onSend(inFlight: Int, now: Instant) {
        self.inFlight = CongestionWindow.clampBytes(inFlight)
        if self.inFlight + mss > cwnd { cwndLimitedInRound = true }
    }

    /// OnEnterFastRecovery (§5.6.4.4): remember the last good cwnd and the
    /// model for undo. cwnd itself is left to the model (draft-06 §5.5.10:
    /// the loss rate and inflight bounds answer losses), as in Linux's BBRv3;
    /// BBR v1's packet conservation (cwnd cut to the flight left after loss
    /// marking) is not applied: with 1% random loss and reordering it threw
    /// Startup back by rounds (cuts to a quarter of cwnd were seen).
    /// `inFlight` is C.inflight after loss marking. No-op if already in
    /// recovery. O(1).
    mutating func onEnterRecovery(inFlight: Int, now: Instant) {
        guard !inRecovery else { return }
        self.inFlight = CongestionWindow.clampBytes(inFlight)
        saveCwnd()
        saveStateUponLoss()
        inRecovery = true
        recoveryStartDelivered = delivered
    }

    /// Recovery (fast or RTO) ended with all losses repaired: RestoreCwnd
    /// (§5.6.4.4), cwnd = max(cwnd, prior_cwnd), then bounded by the model
    /// as at the end of an ACK. No-op outside recovery. O(1).
    mutating func onExitRecovery(now: Instant) {
        guard inRecovery else { return }
        inRecovery = false
        restoreCwnd()
        boundCwndForProbeRTT()
        boundCwndForModel()
    }

    /// OnEnterRTO (§5.6.4.4): save cwnd and the model, note a loss in this
    /// round, and cut cwnd to let one segment out: cwnd = inflight + SMSS.
    /// `inFlight` is C.inflight after the timeout's loss marking. O(1).
    mutating func onRetransmissionTimeout(inFlight: Int, now: Instant) {
        self.inFlight = CongestionWindow.clampBytes(inFlight)
        saveCwnd()
        saveStateUponLoss()
        if !inRecovery { recoveryStartDelivered = delivered }
        inRecovery = true
        noteLoss()
        cwnd = min(self.inFlight + mss, CongestionWindow.maximum)
    }

    /// The transport found its last recovery spurious (D-SACK, Eifel, F-RTO):
    /// HandleSpuriousLossDetection (§5.5.11.2) restores cwnd and the model and,
    /// if the loss ended Startup or ProbeBW_UP, goes back to probing. Ends
    /// recovery. O(1).
    mutating func onSpuriousRecovery(now: Instant) {
        inRecovery = false
        restoreCwnd()
        isLossInRound = false
        resetFullBandwidth()
        bandwidthShortTerm = max(bandwidthShortTerm, undoBandwidthShortTerm)
        inflightShortTerm = max(inflightShortTerm, undoInflightShortTerm)
        inflightLongTerm = max(inflightLongTerm, undoInflightLongTerm)
        if undoState == .startup && state != .startup {
            fullBandwidthReached = false
            if state != .probeRTT { enterStartup() }
        } else if undoState == .probeBWUp && state != .probeBWUp {
            if state != .probeRTT { startProbeBWRefill() }
        }
        undoState = nil
        boundBandwidthForModel()
    }

    /// HandleRestartFromIdle (§5.4.1). Call before sending when nothing is in
    /// flight and the application had nothing to send: in ProbeBW pace at
    /// exactly bw; in ProbeRTT, leave it if its time is up. cwnd is kept. O(1).
    mutating func onIdleRestart(now: Instant) {
        idleRestart = true
        inFlight = 0
        extraAckedIntervalStart = now.nanoseconds
        if state.isProbeBW {
            setPacingRate(gain: 1)
        } else if state == .probeRTT {
            checkProbeRTTDone(now: now.nanoseconds)
        }
    }

    /// Sets C.SMSS once the handshake has fixed it. Before any delivery,
    /// cwnd restarts at the RFC 6928 initial window (one segment if the SYN
    /// was retransmitted, RFC 5681 §3.1) and the initial pacing rate follows. O(1).
    mutating func setMSS(_ newMSS: Int, synRetransmitted: Bool = false) {
        mss = CongestionWindow.clampMSS(newMSS)
        initialCwnd = CongestionWindow.initialWindow(mss: mss)
        if delivered == 0 {
            cwnd = synRetransmitted ? mss : initialCwnd
            let rtt = minRTTNanoseconds == .max ? Self.assumedRTTNanoseconds : minRTTNanoseconds
            pacingRate = Self.initialPacingRate(initialCwnd: initialCwnd, rttNanoseconds: rtt)
        }
        updateSendQuantum()
    }
}
