// BBR's steady state, ProbeBW (draft-ietf-ccwg-bbr-06 §5.3.3): a cycle of
// DOWN (pace at 0.9 × bw until the queue is gone), CRUISE (pace at bw),
// REFILL (one round at bw to fill the pipe) and UP (pace at 1.25 × bw until
// the rate plateaus or loss passes 2%), with the wait before each probe drawn
// at random between 2 and 3 s and bounded by a Reno-like round count. The
// long-term model (inflight_longterm, the max_bw filter's clock) is adapted
// here too (§5.3.3.9 AdaptLongTermModel, §5.5.10.2). All O(1).

extension BBR {
    // MARK: Entering the phases (§5.3.3.9)

    /// EnterProbeBW (§5.3.3.9). O(1).
    mutating func enterProbeBW(now: Int64) {
        cwndGain = Self.defaultCwndGain
        startProbeBWDown(now: now)
    }

    /// StartProbeBW_DOWN: pacing gain 0.9; the cycle's wall clock starts and
    /// the wait until the next probe is drawn. O(1).
    mutating func startProbeBWDown(now: Int64) {
        resetCongestionSignals()
        probeUpAckedPerIncrement = .max
        pickProbeWait()
        cycleStamp = now
        ackPhase = .probeStopping
        startRound()
        state = .probeBWDown
        pacingGain = Self.probeDownPacingGain
        cwndGain = Self.defaultCwndGain
    }

    /// StartProbeBW_CRUISE: pacing gain 1. O(1).
    mutating func startProbeBWCruise() {
        state = .probeBWCruise
        pacingGain = 1
        cwndGain = Self.defaultCwndGain
    }

    /// StartProbeBW_REFILL: forget the short-term model and send at bw for a round. O(1).
    mutating func startProbeBWRefill() {
        resetShortTermModel()
        bandwidthProbeUpRounds = 0
        bandwidthProbeUpAcked = 0
        previousProbePrecautionary = false
        ackPhase = .refilling
        startRound()
        state = .probeBWRefill
        pacingGain = 1
        cwndGain = Self.defaultCwndGain
    }

    /// StartProbeBW_UP: pacing gain 1.25, cwnd gain 2.25, a fresh full-pipe
    /// search from this sample's rate. O(1).
    private mutating func startProbeBWUp(_ rs: RateSample) {
        ackPhase = .probeStarting
        startRound()
        resetFullBandwidth()
        fullBandwidth = rs.deliveryRate
        state = .probeBWUp
        pacingGain = Self.probeUpPacingGain
        cwndGain = Self.probeUpCwndGain
        raiseInflightLongTermSlope()
    }

    // MARK: The cycle (§5.3.3.9)

    /// UpdateProbeBWCyclePhase: once the pipe has been full, adapt the
    /// long-term model and move through DOWN → CRUISE → REFILL → UP → DOWN. O(1).
    mutating func updateProbeBWCyclePhase(_ rs: RateSample, now: Int64) {
        guard fullBandwidthReached else { return }
        if adaptLongTermModel(rs, now: now) { return }
        switch state {
        case .probeBWDown:
            if isTimeToProbeBandwidth(now: now) { return }
            if isTimeToCruise { startProbeBWCruise() }
        case .probeBWCruise:
            _ = isTimeToProbeBandwidth(now: now)
        case .probeBWRefill:
            // One round of REFILL, then UP; its samples now come from probing.
            if roundStart {
                isBandwidthProbeSample = true
                startProbeBWUp(rs)
            }
        case .probeBWUp:
            if isTimeToGoDown(rs) {
                previousProbeTooHigh = false
                startProbeBWDown(now: now)
            }
        case .startup, .drain, .probeRTT:
            break
        }
    }

    /// IsTimeToProbeBW (§5.3.3.8): REFILL once the random 2–3 s wait has
    /// passed or the Reno-coexistence round count is reached. O(1).
    private mutating func isTimeToProbeBandwidth(now: Int64) -> Bool {
        guard now > cycleStamp &+ bandwidthProbeWait || isRenoCoexistenceProbeTime else { return false }
        startProbeBWRefill()
        return true
    }

    /// PickProbeWait (§5.3.3.8): rounds_since_probe_up starts at 0 or 1 (so
    /// the round bound is 63 or 62) and the wall-clock wait is 2 + U[0, 1) s. O(1).
    private mutating func pickProbeWait() {
        roundsSinceProbeUp = Int(random.next() & 1)
        bandwidthProbeWait = 2_000_000_000 + Int64(random.nextUnit() * 1e9)
    }

    /// IsRenoCoexistenceProbeTime (§5.3.3.8): as many rounds as Reno would
    /// take to grow by the target inflight, in segments, at most 63. O(1).
    private var isRenoCoexistenceProbeTime: Bool {
        let renoRounds = targetInflight / mss
        return roundsSinceProbeUp >= min(renoRounds, Self.renoRoundsBound)
    }

    /// TargetInflight (§5.3.3.8): min(BDP, cwnd). O(1).
    var targetInflight: Int { min(bdp, cwnd) }

    /// IsTimeToCruise (§5.3.3.9): inflight has come down to the headroom
    /// below inflight_longterm and to the BDP at max_bw. O(1).
    private var isTimeToCruise: Bool {
        inFlight <= inflightWithHeadroom && inFlight <= inflight(bandwidth: maxBandwidth, gain: 1)
    }

    /// IsTimeToGoDown (§5.3.3.9): precautionary stop at the old
    /// inflight_longterm; a full-pipe search restarted while cwnd-limited by
    /// inflight_longterm; otherwise DOWN once the rate has plateaued. O(1).
    private mutating func isTimeToGoDown(_ rs: RateSample) -> Bool {
        if previousProbeTooHigh && inFlight >= inflightLongTerm {
            previousProbePrecautionary = true
            return true
        }
        if isCwndLimited && cwnd >= inflightLongTerm {
            resetFullBandwidth()
            fullBandwidth = rs.deliveryRate
        } else if fullBandwidthNow {
            return true
        }
        return false
    }

    /// InflightWithHeadroom (§5.3.3.9): inflight_longterm less 15% (at least
    /// one SMSS), at least MinPipeCwnd; infinite while inflight_longterm is. O(1).
    var inflightWithHeadroom: Int {
        guard inflightLongTerm != .max else { return .max }
        let headroom = max(mss, Self.scaled(inflightLongTerm, by: Self.headroom))
        return max(inflightLongTerm - headroom, minPipeCwnd)
    }

    // MARK: The long-term model (§5.3.3.9, §5.5.10.2)

    /// AdaptLongTermModel: advance the max_bw filter one round after a probe
    /// ends, go straight back to REFILL after a clean precautionary probe,
    /// react to loss above 2% on probe samples, else raise inflight_longterm.
    /// Returns whether it changed state. O(1).
    private mutating func adaptLongTermModel(_ rs: RateSample, now: Int64) -> Bool {
        if ackPhase == .probeStarting && roundStart {
            ackPhase = .probeFeedback
        }
        if ackPhase == .probeStopping && roundStart {
            isBandwidthProbeSample = false
            ackPhase = .initial
            if state.isProbeBW && !rs.isAppLimited { advanceMaxBandwidthFilter() }
            if state.isProbeBW && previousProbePrecautionary && !previousProbeTooHigh {
                startProbeBWRefill()
                return true
            }
        }
        if isInflightTooHigh(rs) {
            // §5.5.10.2 reacts per lost packet; with per-ACK samples the
            // sample's own tx_in_flight and lost stand in (as Linux does).
            return isBandwidthProbeSample && handleInflightTooHigh(rs, now: now)
        }
        guard inflightLongTerm != .max else { return false }
        if rs.txInFlight > inflightLongTerm { inflightLongTerm = rs.txInFlight }
        if state == .probeBWUp { probeInflightLongTermUpward(rs) }
        return false
    }

    /// IsInflightTooHigh (§5.5.10.2): more than 2% of the sample's flight was
    /// lost — or any loss at all without SACK. With ``toleratesRandomLoss``, the
    /// sample's own loss must also stand out from the path's background loss
    /// (``lossStandsOut(lost:total:)`` over its flight: the round so far is too
    /// few packets to judge early in a round) and the round show a standing queue. O(1).
    func isInflightTooHigh(_ rs: RateSample) -> Bool {
        guard Double(rs.lost) > Double(rs.txInFlight) * Self.lossThresh || (rs.lost > 0 && !hasSelectiveAcks)
        else { return false }
        guard toleratesRandomLoss else { return true }
        return lossStandsOut(lost: rs.lost, total: rs.txInFlight) && roundShowsQueue
    }

    /// HandleInflightTooHigh (§5.5.10.2): inflight_longterm =
    /// max(tx_in_flight, 0.7 × TargetInflight) unless application-limited; a
    /// probe in UP stops (DOWN). Returns whether it changed state. O(1).
    private mutating func handleInflightTooHigh(_ rs: RateSample, now: Int64) -> Bool {
        previousProbeTooHigh = true
        isBandwidthProbeSample = false
        if !rs.isAppLimited {
            inflightLongTerm = max(rs.txInFlight, Self.scaled(targetInflight, by: Self.beta))
        }
        guard state == .probeBWUp else { return false }
        undoState = .probeBWUp
        startProbeBWDown(now: now)
        return true
    }

    /// RaiseInflightLongtermSlope: in UP, inflight_longterm grows by 1, 2, 4, …
    /// segments per round (cwnd / 2^k bytes ACKed per segment). O(1).
    private mutating func raiseInflightLongTermSlope() {
        let growth = 1 << bandwidthProbeUpRounds
        bandwidthProbeUpRounds = min(bandwidthProbeUpRounds + 1, 30)
        probeUpAckedPerIncrement = max(cwnd / growth, mss)
    }

    /// ProbeInflightLongtermUpward: while cwnd-limited at inflight_longterm,
    /// add one SMSS per probe_up_acked_per_inc bytes ACKed. O(1).
    private mutating func probeInflightLongTermUpward(_ rs: RateSample) {
        guard isCwndLimited, cwnd >= inflightLongTerm else { return }
        bandwidthProbeUpAcked = min(bandwidthProbeUpAcked + rs.newlyAcked, CongestionWindow.maximum)
        if bandwidthProbeUpAcked >= probeUpAckedPerIncrement {
            let delta = bandwidthProbeUpAcked / probeUpAckedPerIncrement
            bandwidthProbeUpAcked -= delta * probeUpAckedPerIncrement
            inflightLongTerm = min(inflightLongTerm + delta * mss, CongestionWindow.maximum)
        }
        if roundStart { raiseInflightLongTermSlope() }
    }
}
