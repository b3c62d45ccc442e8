// BBR's Startup, Drain and ProbeRTT states (draft-ietf-ccwg-bbr-06 §5.3.1,
// §5.3.2, §5.3.4). ProbeBW's four phases are in BBR+ProbeBW.swift. Each
// method is one of the draft's pseudocode functions; all are O(1).

extension BBR {
    // MARK: Startup (§5.3.1)

    /// EnterStartup (§5.3.1.1): pacing gain 2.77, cwnd gain 2. O(1).
    mutating func enterStartup() {
        state = .startup
        pacingGain = Self.startupPacingGain
        cwndGain = Self.defaultCwndGain
    }

    /// ResetFullBW (§5.3.1.2): start a new full-pipe search. O(1).
    mutating func resetFullBandwidth() {
        fullBandwidth = 0
        fullBandwidthCount = 0
        receiveWindowRoundsSkipped = 0
        fullBandwidthNow = false
    }

    /// CheckFullBWReached (§5.3.1.2): any non-application-limited rate
    /// ≥ 1.25 × full_bw restarts the count from the new baseline; three round
    /// starts without one mean the pipe is full. The growth test runs on every
    /// ACK, as in Linux's BBRv3 (bbr_check_full_bw_reached), not only on the ACK
    /// that starts a round: that one sample may be a retransmission's or come
    /// from a flight cut short by reordering (a jittery link's round-start
    /// samples fell to 3 % of the rate the ACKs around them measured), and three
    /// such rounds ended Startup at a fifth of the path's rate. In Startup, up
    /// to three rounds of a plateau in which the peer's receive window held data
    /// back are not counted either: their plateau is the receiver's autotuning
    /// (or a hole it waits to fill), not the path. The draft's three rounds allow
    /// for the window opening once; a lossy path's holes kept a Linux receiver's
    /// window shut for longer. Samples without a rate (interval 0) are not
    /// evidence. O(1).
    mutating func checkFullBandwidthReached(_ rs: RateSample) {
        guard !fullBandwidthNow, !rs.isAppLimited, rs.intervalNanoseconds > 0 else { return }
        if Double(rs.deliveryRate) >= Double(fullBandwidth) * Self.fullBandwidthGrowth {
            resetFullBandwidth()
            fullBandwidth = rs.deliveryRate
            return
        }
        guard roundStart else { return }
        if receiveWindowLimitedLastRound && state == .startup && receiveWindowRoundsSkipped < Self.receiveWindowRoundsExcused {
            receiveWindowRoundsSkipped += 1
            return
        }
        fullBandwidthCount += 1
        fullBandwidthNow = fullBandwidthCount >= Self.fullBandwidthRounds
        if fullBandwidthNow { fullBandwidthReached = true }
    }

    /// CheckStartupDone (§5.3.1.1): the loss-based exit, then Drain once the
    /// pipe is full. O(1).
    mutating func checkStartupDone(_ rs: RateSample) {
        checkStartupHighLoss(rs)
        if state == .startup && fullBandwidthReached { enterDrain() }
    }

    /// CheckStartupHighLoss (§5.3.1.3), at the end of each loss round. With
    /// SACK: in recovery for a full round, more than 2% of the round's data
    /// lost, and at least 6 loss events (ACKs marking new losses stand in
    /// for the draft's discontiguous lost ranges). Without SACK: any loss in
    /// recovery. Then the pipe counts as full and inflight_longterm =
    /// max(BDP, inflight_latest). O(1).
    private mutating func checkStartupHighLoss(_ rs: RateSample) {
        guard state == .startup, !fullBandwidthReached, lossRoundStart, inRecovery else { return }
        let tooHigh: Bool
        if hasSelectiveAcks {
            let fullRound = rs.priorDelivered >= recoveryStartDelivered
            let rate = Double(lostInRound) > Self.lossThresh * Double(lostInRound + deliveredInRound)
            tooHigh = fullRound && rate && lossEventsInRound >= Self.startupFullLossCount && congestiveLossEvidence
        } else {
            tooHigh = lostInRound > 0
        }
        guard tooHigh else { return }
        undoState = .startup
        fullBandwidthReached = true
        inflightLongTerm = max(bdp, inflightLatest)
    }

    // MARK: Drain (§5.3.2)

    /// EnterDrain (§5.3.2): pacing gain 0.5, cwnd gain 2. O(1).
    mutating func enterDrain() {
        state = .drain
        pacingGain = Self.drainPacingGain
        cwndGain = Self.defaultCwndGain
        drainStartRound = roundCount
    }

    /// CheckDrainDone (§5.3.2): ProbeBW once inflight ≤ Inflight(1.0), or
    /// after 3 rounds of Drain in any case. O(1).
    mutating func checkDrainDone(now: Int64) {
        guard state == .drain else { return }
        if inFlight <= inflight(bandwidth: bandwidth, gain: 1) || roundCount > drainStartRound &+ 3 {
            enterProbeBW(now: now)
        }
    }

    // MARK: ProbeRTT (§5.3.4)

    /// CheckProbeRTT (§5.3.4.3): enter ProbeRTT when probe_rtt_min_delay is
    /// more than 5 s old (unless just back from idle), and run it. O(1).
    mutating func checkProbeRTT(_ rs: RateSample, now: Int64) {
        if state != .probeRTT && probeRTTExpired && !idleRestart {
            enterProbeRTT()
            saveCwnd()
            probeRTTDoneStamp = nil
            ackPhase = .probeStopping
            startRound()
        }
        if state == .probeRTT { handleProbeRTT(now: now) }
        if rs.delivered > 0 { idleRestart = false }
    }

    /// EnterProbeRTT (§5.3.4.3): pacing gain 1, cwnd gain 0.5. O(1).
    private mutating func enterProbeRTT() {
        state = .probeRTT
        pacingGain = 1
        cwndGain = Self.probeRTTCwndGain
    }

    /// HandleProbeRTT (§5.3.4.3): once inflight is down to ProbeRTTCwnd, hold
    /// it for 200 ms and at least one round, then leave. (The draft's
    /// MarkConnectionAppLimited is the transport's: see `wantsAppLimitedMark`.) O(1).
    private mutating func handleProbeRTT(now: Int64) {
        if probeRTTDoneStamp == nil && inFlight <= probeRTTCwnd {
            probeRTTDoneStamp = now &+ Self.probeRTTDurationNanoseconds
            probeRTTRoundDone = false
            startRound()
        } else if probeRTTDoneStamp != nil {
            if roundStart { probeRTTRoundDone = true }
            if probeRTTRoundDone { checkProbeRTTDone(now: now) }
        }
    }

    /// CheckProbeRTTDone (§5.3.4.3): past the done stamp, schedule the next
    /// ProbeRTT 5 s out, restore cwnd and leave. O(1).
    mutating func checkProbeRTTDone(now: Int64) {
        guard let done = probeRTTDoneStamp, now > done else { return }
        probeRTTMinStamp = now
        restoreCwnd()
        exitProbeRTT(now: now)
    }

    /// ExitProbeRTT (§5.3.4.4): forget the short-term model; to ProbeBW
    /// (DOWN's clock restarted, straight on to CRUISE, as inflight is already
    /// below BDP) if the pipe was ever full, else back to Startup. O(1).
    private mutating func exitProbeRTT(now: Int64) {
        resetShortTermModel()
        if fullBandwidthReached {
            startProbeBWDown(now: now)
            startProbeBWCruise()
        } else {
            enterStartup()
        }
    }
}
