// BBR's network path model (draft-ietf-ccwg-bbr-06 §5.5): packet-timed
// rounds, the max_bw filter over ProbeBW cycles, the loss-round signals and
// the short-term model they cut (bw_shortterm, inflight_shortterm), the ACK
// aggregation estimate, min_rtt, and the state saved for undo. The per-ACK
// order of these steps is UpdateModelAndState (§5.2.3), first below. All O(1).

extension BBR {
    // MARK: Per-ACK steps (§5.2.3)

    /// UpdateModelAndState (§5.2.3), in the draft's order. O(1).
    mutating func updateModelAndState(_ rs: RateSample, now: Int64) {
        updateLatestDeliverySignals(rs)
        updateCongestionSignals(rs)
        updateACKAggregation(rs, now: now)
        checkFullBandwidthReached(rs)
        checkStartupDone(rs)
        checkDrainDone(now: now)
        updateProbeBWCyclePhase(rs, now: now)
        updateMinRTT(rs, now: now)
        checkProbeRTT(rs, now: now)
        advanceLatestDeliverySignals(rs, now: now)
        boundBandwidthForModel()
    }

    /// A sample with every count clamped to 0...2³¹−1 and the rate to
    /// 0...2⁵⁰, so no later sum or product overflows. O(1).
    static func sanitized(_ sample: RateSample) -> RateSample {
        var rs = sample
        rs.deliveryRate = min(max(rs.deliveryRate, 0), maximumRate)
        rs.intervalNanoseconds = max(rs.intervalNanoseconds, 0)
        rs.delivered = CongestionWindow.clampBytes(rs.delivered)
        rs.priorDelivered = max(rs.priorDelivered, 0)
        rs.txInFlight = CongestionWindow.clampBytes(rs.txInFlight)
        rs.lost = CongestionWindow.clampBytes(rs.lost)
        rs.newlyAcked = CongestionWindow.clampBytes(rs.newlyAcked)
        rs.newlyLost = CongestionWindow.clampBytes(rs.newlyLost)
        rs.priorInFlight = CongestionWindow.clampBytes(rs.priorInFlight)
        rs.inFlight = CongestionWindow.clampBytes(rs.inFlight)
        rs.totalDelivered = max(rs.totalDelivered, 0)
        return rs
    }

    /// The sample measured something: it delivered data sent after the rate
    /// clock started, so rs.prior_delivered can time rounds.
    static func hasDeliverySample(_ rs: RateSample) -> Bool { rs.delivered > 0 }

    /// UpdateRound (§5.5.1): a round ends when an ACK delivers a packet sent
    /// after the round began. O(1).
    mutating func updateRound(_ rs: RateSample) {
        guard Self.hasDeliverySample(rs), rs.priorDelivered >= nextRoundDelivered else {
            roundStart = false
            return
        }
        startRound()
        roundCount &+= 1
        roundsSinceProbeUp &+= 1
        roundStart = true
        cwndLimitedLastRound = cwndLimitedInRound
        cwndLimitedInRound = false
        receiveWindowLimitedLastRound = receiveWindowLimitedInRound
        receiveWindowLimitedInRound = false
    }

    /// StartRound (§5.5.1): the round ends with data sent from now on. O(1).
    mutating func startRound() { nextRoundDelivered = delivered }

    /// UpdateMaxBw (§5.5.5): rounds, then the max filter takes the rate
    /// unless it is an application-limited sample below max_bw (§5.5.4). O(1).
    mutating func updateMaxBandwidth(_ rs: RateSample) {
        updateRound(rs)
        if rs.deliveryRate > 0 && (rs.deliveryRate >= maxBandwidth || !rs.isAppLimited) {
            maxBandwidthFilter.update(rs.deliveryRate, time: cycleCount, window: Self.maxBandwidthFilterLength)
        }
    }

    /// AdvanceMaxBwFilter (§5.5.6): one ProbeBW cycle has passed. O(1).
    mutating func advanceMaxBandwidthFilter() { cycleCount &+= 1 }

    /// UpdateLatestDeliverySignals (§5.5.10.3), near the start of an ACK. O(1).
    mutating func updateLatestDeliverySignals(_ rs: RateSample) {
        lossRoundStart = false
        bandwidthLatest = max(bandwidthLatest, rs.deliveryRate)
        inflightLatest = max(inflightLatest, rs.delivered)
        lostInRound = min(lostInRound + rs.newlyLost, CongestionWindow.maximum)
        if rs.rttNanoseconds >= 0 && lossRoundRTTCount < 1 << 20 {
            lossRoundRTTSum &+= min(rs.rttNanoseconds, Self.maximumRTTSampleNanoseconds)
            lossRoundRTTCount += 1
        }
        deliveredInRound = min(deliveredInRound + rs.newlyAcked, CongestionWindow.maximum)
        if Self.hasDeliverySample(rs) && rs.priorDelivered >= lossRoundDelivered {
            lossRoundDelivered = delivered
            lossRoundStart = true
        }
    }

    /// AdvanceLatestDeliverySignals (§5.5.10.3), near the end: a new loss
    /// round starts from this ACK's sample. O(1).
    mutating func advanceLatestDeliverySignals(_ rs: RateSample, now: Int64) {
        guard lossRoundStart else { return }
        // Only rounds that do not look congestive feed the background rate: a queue's
        // bursts averaged in would raise it until bursts no longer stood out.
        if lostInRound + deliveredInRound > 0 && !roundLooksCongestive {
            backgroundLossRate += (roundLossRate - backgroundLossRate) / 8
        }
        if lossRoundRTTCount > 0 {
            let mean = lossRoundRTTSum / lossRoundRTTCount
            let queued = roundShowsQueue
            let expired = now > baselineRoundRTTStamp &+ Self.minRTTFilterNanoseconds
            if mean < baselineRoundRTT || expired {
                baselineRoundRTT = mean
                baselineRoundRTTStamp = now
            }
            // RFC 6298's estimator over round means: how far a round usually strays.
            // Rounds that show a queue are left out, so a standing queue does not become
            // the norm it is measured against — until the baseline expires, as it would.
            if smoothedRoundRTT == 0 || expired {
                smoothedRoundRTT = mean
                roundRTTDeviation = mean / 4
            } else if !queued {
                roundRTTDeviation += (abs(mean - smoothedRoundRTT) - roundRTTDeviation) / 4
                smoothedRoundRTT += (mean - smoothedRoundRTT) / 8
            }
        }
        bandwidthLatest = rs.deliveryRate
        inflightLatest = rs.delivered
        lossEventsInRound = 0
        lostInRound = 0
        deliveredInRound = 0
        lossRoundRTTSum = 0
        lossRoundRTTCount = 0
    }

    /// Whether this loss round's losses may be read as congestion. The draft reads
    /// every loss so (§5.5.10); NetStack, with ``toleratesRandomLoss`` on, only when
    /// the round shows both marks of an overflowing queue: a loss rate above
    /// max(BBRLossThresh, twice ``backgroundLossRate``) — a burst beyond what the
    /// path loses round after round — and a standing queue, its mean RTT more than
    /// max(baseline / 4, 1 ms) above the baseline, the lowest round mean of the
    /// last 10 s. Random loss on a radio or tunnel link is steady and comes with no
    /// queue; cutting the model for it spirals the rate down, each cut lowering
    /// what the next round can deliver. Means, not min_rtt: a path that reorders
    /// by letting some packets skip its delay has a min_rtt near zero, far below
    /// what its rounds see. Without RTT samples the loss test alone decides. O(1).
    var congestiveLossEvidence: Bool {
        !toleratesRandomLoss || roundLooksCongestive
    }

    /// The loss round so far shows both marks of an overflowing queue (see
    /// ``congestiveLossEvidence``), whether or not the controller acts on them. O(1).
    var roundLooksCongestive: Bool {
        // Loss above what the path loses anyway: a burst, as an overflowing queue drops.
        lossStandsOut(lost: lostInRound, total: lostInRound + deliveredInRound) && roundShowsQueue
    }

    /// The loss round's mean RTT so far is more than max(baseline / 4, 1 ms) above
    /// the baseline (see ``congestiveLossEvidence``) and more than three mean
    /// deviations above the rounds' smoothed mean: on a path whose delay jitters,
    /// or a sender the scheduler delays, rounds stray above the lowest one without
    /// any queue, and only a rise beyond that noise is a queue's. True without RTT
    /// samples. O(1).
    var roundShowsQueue: Bool {
        guard lossRoundRTTCount > 0, baselineRoundRTT != .max else { return true }
        let mean = lossRoundRTTSum / lossRoundRTTCount
        let margin = max(baselineRoundRTT / 4, Self.queueEvidenceFloorNanoseconds)
        return mean > baselineRoundRTT &+ margin && mean > smoothedRoundRTT &+ 3 &* roundRTTDeviation
    }

    /// Whether `lost` of `total` bytes is more loss than the path's background rate
    /// explains: a rate above max(BBRLossThresh, twice ``backgroundLossRate``) and,
    /// counted in segments, more than three standard deviations above the binomial
    /// expectation at the background rate. A round of ten segments on a path that
    /// loses 5% loses one or two by chance a third of the time; read as bursts, such
    /// rounds cut the model again and again, each cut shrinking the next round. O(1).
    func lossStandsOut(lost: Int, total: Int) -> Bool {
        guard total > 0 else { return false }
        let p = backgroundLossRate
        guard Double(lost) > max(Self.lossThresh, 2 * p) * Double(total) else { return false }
        let segments = Double(total) / Double(max(mss, 1))
        let expected = p * segments
        let deviation = (segments * p * (1 - p)).squareRoot()
        return Double(lost) / Double(max(mss, 1)) > expected + 3 * deviation
    }

    /// This loss round's lost / (lost + delivered) so far; 0 before anything. O(1).
    var roundLossRate: Double {
        let total = lostInRound + deliveredInRound
        return total > 0 ? Double(lostInRound) / Double(total) : 0
    }

    /// UpdateCongestionSignals (§5.5.10.3): max_bw every ACK; once per loss
    /// round, cut the short-term model if the round saw loss. O(1).
    mutating func updateCongestionSignals(_ rs: RateSample) {
        updateMaxBandwidth(rs)
        guard lossRoundStart else { return }
        if !state.isProbingBandwidth && isLossInRound && congestiveLossEvidence {
            // InitLowerBounds, then LossLowerBounds: bw_shortterm and
            // inflight_shortterm fall to max(latest, 0.7 × themselves).
            if bandwidthShortTerm == .max { bandwidthShortTerm = maxBandwidth }
            if inflightShortTerm == .max { inflightShortTerm = cwnd }
            bandwidthShortTerm = max(bandwidthLatest, Self.scaled(bandwidthShortTerm, by: Self.beta))
            inflightShortTerm = max(inflightLatest, Self.scaled(inflightShortTerm, by: Self.beta))
        }
        isLossInRound = false
    }

    /// NoteLoss (§5.5.10.2): the first loss of a round saves the model for undo
    /// and starts a loss round from here. O(1).
    mutating func noteLoss() {
        if !isLossInRound {
            lossRoundDelivered = delivered
            saveStateUponLoss()
        }
        isLossInRound = true
    }

    /// ResetCongestionSignals (§5.5.10.3). O(1).
    mutating func resetCongestionSignals() {
        isLossInRound = false
        bandwidthLatest = 0
        inflightLatest = 0
    }

    /// ResetShortTermModel (§5.5.10.3): bw_shortterm and inflight_shortterm unset. O(1).
    mutating func resetShortTermModel() {
        bandwidthShortTerm = .max
        inflightShortTerm = .max
    }

    /// BoundBWForModel (§5.5.10.3): bw = min(max_bw, bw_shortterm). O(1).
    mutating func boundBandwidthForModel() { bandwidth = min(maxBandwidth, bandwidthShortTerm) }

    /// UpdateACKAggregation (§5.5.9): how much more was ACKed than bw predicts
    /// since the aggregation interval began, max-filtered over 10 rounds
    /// (1 in Startup) and capped at cwnd. O(1).
    mutating func updateACKAggregation(_ rs: RateSample, now: Int64) {
        let interval = max(now &- extraAckedIntervalStart, 0)
        var expected = Self.volume(rate: bandwidth, nanoseconds: interval)
        if extraAckedDelivered <= expected {
            extraAckedDelivered = 0
            extraAckedIntervalStart = now
            expected = 0
        }
        extraAckedDelivered = min(extraAckedDelivered + rs.newlyAcked, CongestionWindow.maximum)
        let extra = min(max(extraAckedDelivered - expected, 0), cwnd)
        let length = fullBandwidthReached ? Self.extraAckedFilterLength : 1
        extraAckedFilter.update(extra, time: roundCount, window: length)
    }

    /// UpdateMinRTT (§5.3.4.3): probe_rtt_min_delay is the least RTT of the
    /// last 5 s; min_rtt takes it when lower or when its own 10 s are up. O(1).
    mutating func updateMinRTT(_ rs: RateSample, now: Int64) {
        probeRTTExpired = now > probeRTTMinStamp &+ Self.probeRTTIntervalNanoseconds
        if rs.rttNanoseconds >= 0 && (rs.rttNanoseconds < probeRTTMinDelay || probeRTTExpired) {
            probeRTTMinDelay = rs.rttNanoseconds
            probeRTTMinStamp = now
        }
        let minRTTExpired = now > minRTTStamp &+ Self.minRTTFilterNanoseconds
        if probeRTTMinDelay < minRTTNanoseconds || minRTTExpired {
            minRTTNanoseconds = probeRTTMinDelay
            minRTTStamp = probeRTTMinStamp
        }
    }

    // MARK: Undo state (§5.5.11.1, §5.6.4.4)

    /// SaveStateUponLoss (§5.5.11.1). O(1).
    mutating func saveStateUponLoss() {
        saveCwnd()
        undoState = nil
        undoBandwidthShortTerm = bandwidthShortTerm
        undoInflightShortTerm = inflightShortTerm
        undoInflightLongTerm = inflightLongTerm
    }

    /// SaveCwnd (§5.6.4.4): remember cwnd unless recovery or ProbeRTT has cut it. O(1).
    mutating func saveCwnd() {
        if !inRecovery && state != .probeRTT {
            priorCwnd = cwnd
        } else {
            priorCwnd = max(priorCwnd, cwnd)
        }
    }

    /// RestoreCwnd (§5.6.4.4): cwnd = max(cwnd, prior_cwnd). O(1).
    mutating func restoreCwnd() { cwnd = max(cwnd, priorCwnd) }

    // MARK: Arithmetic

    /// `value` × `gain`, rounded down, for a non-negative `value`; `Int.max` stays infinite. O(1).
    static func scaled(_ value: Int, by gain: Double) -> Int {
        guard value != .max else { return .max }
        return Int(min(Double(value) * gain, Double(CongestionWindow.maximum)))
    }

    /// Bytes sent at `rate` bytes/s over `nanoseconds`, capped at 2³¹−1. O(1).
    static func volume(rate: Int, nanoseconds: Int64) -> Int {
        let bytes = Double(rate) * Double(nanoseconds) / 1e9
        return Int(min(max(bytes, 0), Double(CongestionWindow.maximum)))
    }

    /// InitPacingRate (§5.6.2): 2.77 × InitialCwnd / RTT, in bytes per second. O(1).
    static func initialPacingRate(initialCwnd: Int, rttNanoseconds: Int64) -> Int {
        let rate = startupPacingGain * Double(initialCwnd) * 1e9 / Double(max(rttNanoseconds, 1))
        return Int(min(rate, Double(maximumRate)))
    }
}
