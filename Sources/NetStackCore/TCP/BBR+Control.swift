// BBR's control parameters from its model (draft-ietf-ccwg-bbr-06 §5.6):
// the pacing rate (gain × bw, 1% under), the send quantum (1 ms of pacing,
// 2·SMSS...64 KB), and cwnd (grown by what is ACKed toward max_inflight =
// cwnd_gain × BDP + extra_acked, then capped for ProbeRTT and by the
// long- and short-term inflight bounds). All O(1).

extension BBR {
    /// UpdateControlParameters (§5.2.3). The first RTT sample re-bases the
    /// initial pacing rate on it (§5.6.2: "the initial C.srtt after the first
    /// non-zero RTT sample"). O(1).
    mutating func updateControlParameters(_ rs: RateSample) {
        if !hasSeenRTT && minRTTNanoseconds != .max && minRTTNanoseconds > 0 {
            hasSeenRTT = true
            pacingRate = Self.initialPacingRate(initialCwnd: initialCwnd, rttNanoseconds: minRTTNanoseconds)
        }
        setPacingRate(gain: pacingGain)
        updateSendQuantum()
        setCwnd(rs)
    }

    // MARK: Pacing and send quantum (§5.6.2, §5.6.3)

    /// SetPacingRateWithGain (§5.6.2): gain × bw × (100 − 1)%, applied once
    /// the pipe has been full, or before that only when it raises the rate.
    /// Never below one SMSS per second: a model cut to nothing (bw_shortterm
    /// decays by 0.7 a lossy round with no rate samples) must not stop the
    /// sender outright. O(1).
    mutating func setPacingRate(gain: Double) {
        let rate = gain * Double(bandwidth) * (100 - Self.pacingMarginPercent) / 100
        let bytesPerSecond = Int(min(max(rate, Double(mss)), Double(Self.maximumRate)))
        if fullBandwidthReached || bytesPerSecond > pacingRate { pacingRate = bytesPerSecond }
    }

    /// SetSendQuantum (§5.6.3): 1 ms at the pacing rate, within 2·SMSS...64 KB. O(1).
    mutating func updateSendQuantum() {
        sendQuantum = max(min(pacingRate / 1000, Self.maxSendQuantum), 2 * mss)
    }

    // MARK: The model's volumes (§5.6.4.2)

    /// BBR.bdp = bw × min_rtt, bytes; C.InitialCwnd before any RTT sample. O(1).
    var bdp: Int { bdpMultiple(bandwidth: bandwidth, gain: 1) }

    /// BDPMultiple: gain × `bandwidth` × min_rtt, or InitialCwnd with no RTT yet. O(1).
    func bdpMultiple(bandwidth: Int, gain: Double) -> Int {
        guard minRTTNanoseconds != .max else { return initialCwnd }
        return Self.scaled(Self.volume(rate: bandwidth, nanoseconds: minRTTNanoseconds), by: gain)
    }

    /// QuantizationBudget: at least the offload budget (3 send quanta, TCP's
    /// §5.5.8.1) and MinPipeCwnd; two more segments in ProbeBW_UP. O(1).
    func quantizationBudget(_ cap: Int) -> Int {
        var budget = max(cap, 3 * sendQuantum, minPipeCwnd)
        if state == .probeBWUp { budget += 2 * mss }
        return min(budget, CongestionWindow.maximum)
    }

    /// Inflight(bw, gain): the BDP multiple with the quantization budget. O(1).
    func inflight(bandwidth: Int, gain: Double) -> Int {
        quantizationBudget(bdpMultiple(bandwidth: bandwidth, gain: gain))
    }

    /// BBR.max_inflight (UpdateMaxInflight): cwnd_gain × BDP + extra_acked,
    /// with the quantization budget. O(1).
    var maxInflight: Int {
        let cap = bdpMultiple(bandwidth: bandwidth, gain: cwndGain)
        return quantizationBudget(min(cap + extraAcked, CongestionWindow.maximum))
    }

    /// ProbeRTTCwnd (§5.6.4.5): max(BDP/2, MinPipeCwnd). O(1).
    var probeRTTCwnd: Int {
        max(bdpMultiple(bandwidth: bandwidth, gain: Self.probeRTTCwndGain), minPipeCwnd)
    }

    // MARK: cwnd (§5.6.4)

    /// SetCwnd (§5.6.4.6): once the pipe has been full, cwnd grows by the
    /// bytes ACKed up to max_inflight (and is cut to it at once if above);
    /// before, it grows freely while below max_inflight or while less than
    /// InitialCwnd has been delivered. Floor MinPipeCwnd, then the ProbeRTT
    /// and model caps. Recovery does not change the rule (no packet
    /// conservation, see ``onEnterRecovery(inFlight:now:)``). O(1).
    private mutating func setCwnd(_ rs: RateSample) {
        let target = maxInflight
        if fullBandwidthReached {
            cwnd = min(cwnd + rs.newlyAcked, target)
        } else if cwnd < target || delivered < initialCwnd {
            cwnd += rs.newlyAcked
        }
        cwnd = min(max(cwnd, minPipeCwnd), CongestionWindow.maximum)
        boundCwndForProbeRTT()
        boundCwndForModel()
    }

    /// BoundCwndForProbeRTT (§5.6.4.5): in ProbeRTT, cwnd ≤ ProbeRTTCwnd. O(1).
    mutating func boundCwndForProbeRTT() {
        if state == .probeRTT { cwnd = min(cwnd, probeRTTCwnd) }
    }

    /// BoundCwndForModel (§5.6.4.7): inflight_longterm caps DOWN, REFILL and
    /// UP; its headroom-reduced value caps CRUISE and ProbeRTT;
    /// inflight_shortterm caps every state; never below MinPipeCwnd. O(1).
    mutating func boundCwndForModel() {
        var cap = Int.max
        if state.isProbeBW && state != .probeBWCruise {
            cap = inflightLongTerm
        } else if state == .probeRTT || state == .probeBWCruise {
            cap = inflightWithHeadroom
        }
        cap = min(cap, inflightShortTerm)
        cap = max(cap, minPipeCwnd)
        cwnd = min(cwnd, cap)
    }
}
