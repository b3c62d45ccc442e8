// Pacing: data segments leave spread over the round trip at a rate derived
// from the congestion window, instead of in line-rate bursts that overflow a
// bottleneck's queue (issue 10 item 5).
//
// Read: Linux's tcp_update_pacing_rate (net/ipv4/tcp_input.c) for the rate,
// tcp_tso_autosize (tcp_output.c) for the send quantum, tcp_pacing_check and
// tcp_update_skb_after_send for the schedule (tcp_wstamp_ns). A controller
// that computes its own rate (BBR, draft-ietf-ccwg-bbr §5.6.2) hands it to
// `setPacing(rate:quantum:)` instead.
//
// The schedule is one integer, `pacingNextSendNanoseconds`: when the next
// paced byte is due. Each data segment (new or retransmitted) pushes it on by
// its length at the rate. A segment may leave while the schedule is less than
// one quantum ahead of the clock, so each pacing wake sends about a quantum
// back to back and the timer runs about once per quantum (≈ 1 ms), not once
// per segment. Pure ACKs, SYN, FIN-only segments, RST and probes are never paced.

extension TCPConnection {
    /// Linux's tcp_pacing_ss_ratio and tcp_pacing_ca_ratio, in percent: the pacing rate
    /// is this share of cwnd/SRTT, so the window can still grow (doubling per RTT in
    /// slow start) while the sender is paced.
    static let pacingSlowStartPercent = 200
    static let pacingCongestionAvoidancePercent = 120

    /// How far behind its schedule a paced sender that woke late may catch up at once,
    /// at least (nanoseconds): a busy machine wakes the runtime late (and a kernel
    /// without epoll_pwait2 sleeps whole milliseconds), up to ~1 ms after the pacing
    /// deadline; without this credit a sender pacing in 1 ms quanta would lose up to
    /// half its rate to the timer.
    static let pacingLateCreditNanoseconds: Int64 = 2_000_000

    /// No pacing below this SRTT (nanoseconds): RTT samples come from a 1 ms timestamp
    /// clock, so a shorter SRTT is mostly noise (a few samples that crossed a tick
    /// inflate it many times), and the runtime's millisecond timer could not serve the
    /// sub-millisecond gaps anyway — pacing there would only add sleeps. Paths this
    /// short have small windows; pacing matters on the long ones.
    static let pacingMinimumSRTTNanoseconds: Int64 = 2_000_000

    /// The largest send quantum (64 KiB, Linux's GSO limit) and the share of a second of
    /// data at the pacing rate it normally is (1/1000: 1 ms; Linux's sk_pacing_shift 10).
    static let pacingMaximumQuantum = 65_536

    /// Recomputes `pacingRate` and `pacingQuantum` from cwnd and SRTT as Linux's
    /// tcp_update_pacing_rate does: rate = max(cwnd, FlightSize) / SRTT × 2 in slow
    /// start (cwnd < ssthresh / 2), × 1.2 otherwise; BBR's own rate and send quantum
    /// when BBR is the controller. No pacing (rate 0) with `TCPConfig.pacing` off,
    /// outside a synchronized state, or, for NewReno and CUBIC, before the first RTT
    /// sample or while SRTT is below `pacingMinimumSRTTNanoseconds`. Called at the start of every `output`. O(1), integer arithmetic only.
    func updatePacingRate(now: Instant) {
        guard config.pacing, state.isSynchronized else {
            pacingRate = 0
            return
        }
        // BBR paces at its own rate, from the first segment (its model needs it at every RTT).
        if let (rate, quantum) = congestion.modelPacing {
            setPacing(rate: rate, quantum: quantum)
            return
        }
        guard let srtt = rtt.srttNanoseconds, srtt >= Self.pacingMinimumSRTTNanoseconds else {
            pacingRate = 0
            return
        }
        let cwnd = congestion.cwnd
        let percent = cwnd < congestion.ssthresh / 2 ? Self.pacingSlowStartPercent : Self.pacingCongestionAvoidancePercent
        let window = min(max(cwnd, flightSize), CongestionWindow.maximum)
        // window·percent/100 < 2³³ and × 10⁹ < 2⁶³: no overflow.
        let bytesPerSecond = Int64(window * percent / 100) * 1_000_000_000 / srtt
        setPacing(rate: Int(bytesPerSecond), quantum: nil)
    }

    /// Sets the pacing rate (bytes per second; ≤ 0 turns pacing off) and the send
    /// quantum (bytes; nil: ``pacingQuantum(rate:mss:)``), and the nanosecond values the
    /// per-segment gate uses. For controllers that pace themselves (BBR). O(1): three divisions.
    func setPacing(rate: Int, quantum: Int?) {
        guard rate > 0 else {
            pacingRate = 0
            return
        }
        let quantum = max(quantum ?? Self.pacingQuantum(rate: rate, mss: sendMSS), 1)
        guard rate != pacingRate || quantum != pacingQuantum else { return }
        pacingRate = rate
        pacingQuantum = quantum
        pacingQuantumNanoseconds = pacingNanoseconds(forBytes: quantum)
        pacingSegmentNanoseconds = pacingNanoseconds(forBytes: sendMSS)
    }

    /// Linux's tcp_tso_autosize: about 1 ms of data at `rate` bytes per second, at
    /// least two segments of `mss`, at most 64 KiB (unless two segments are more). O(1).
    static func pacingQuantum(rate: Int, mss: Int) -> Int {
        max(min(rate / 1000, pacingMaximumQuantum), 2 * mss)
    }

    /// The time `bytes` take at `pacingRate`, in nanoseconds (rounded down). O(1).
    @inline(__always)
    private func pacingNanoseconds(forBytes bytes: Int) -> Int64 {
        Int64(min(bytes, Int(Int32.max))) * 1_000_000_000 / Int64(max(pacingRate, 1))
    }

    /// True when a paced data segment of at most `sendMSS` bytes may leave at `now`:
    /// pacing is off, the schedule is due, or it would stay within one quantum of
    /// the clock. Otherwise arms `pacingDeadline` at the time the schedule comes due
    /// (so the wake sends a whole quantum) and notes `pacingHeld`. O(1).
    @inline(__always)
    func pacingAllowsSegment(now: Instant) -> Bool {
        guard pacingRate > 0 else { return true }
        let ahead = pacingNextSendNanoseconds &- now.nanoseconds
        if ahead <= 0 || ahead &+ pacingSegmentNanoseconds <= pacingQuantumNanoseconds { return true }
        pacingHeld = true
        pacingDeadline = Instant(nanoseconds: pacingNextSendNanoseconds)
        return false
    }

    /// A paced data segment of `bytes` left at `now`: the schedule moves on by its
    /// time at the rate, from no earlier than `now` (Linux's tcp_wstamp_ns = max(it,
    /// now) + len/rate) — except that a sender held back by pacing that woke late
    /// may catch up by up to one quantum (at least `pacingLateCreditNanoseconds`). O(1).
    @inline(__always)
    func notePacedSend(bytes: Int, now: Instant) {
        guard pacingRate > 0, bytes > 0 else { return }
        let credit = pacingBacklogged ? max(pacingQuantumNanoseconds, Self.pacingLateCreditNanoseconds) : 0
        let base = max(pacingNextSendNanoseconds, now.nanoseconds &- credit)
        pacingNextSendNanoseconds = base &+ pacingNanoseconds(forBytes: bytes)
    }

    /// Ends one `output`'s paced sending: whether it stopped because of pacing, with
    /// data waiting, decides whether the next one may catch up. O(1).
    @inline(__always)
    func endPacedOutput() {
        pacingBacklogged = pacingHeld
        pacingHeld = false
    }

    /// The pacing timer fired: the next `output` sends the next burst. O(1).
    func handlePacingTimer(now: Instant) {
        if let deadline = pacingDeadline, deadline <= now { pacingDeadline = nil }
    }
}
