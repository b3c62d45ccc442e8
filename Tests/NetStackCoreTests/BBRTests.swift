// BBRv3 (draft-ietf-ccwg-bbr-06) driven by a fluid model of one bottleneck
// path: each round the sender puts a flight of min(cwnd, pacing rate × RTT)
// bytes on the path; a flight larger than the BDP queues (the RTT grows by
// queue / bandwidth), a flight larger than BDP + buffer loses the excess,
// spread evenly, and random loss drops each segment with probability p.
// Every segment delivered yields one ACK and one `RateSample`. Expected
// values come from the draft's constants (gains, thresholds, timers) and the
// path's own bandwidth, RTT and buffer — never from the controller's output.

@testable import NetStackCore
import Testing

/// One ACK as the controller saw it.
private struct Observation {
    var time: Instant
    var round: Int
    var before: BBR.State
    var after: BBR.State
    var sample: RateSample
    var flight: Int
    var cwnd: Int
    var pacingRate: Int
    /// BBR.bw after the ACK.
    var bandwidth: Int
    var inflightHi: Int?
    var undoState: BBR.State?
    var fullBandwidthCount: Int
}

/// A bottleneck of `bandwidth` bytes/s, propagation RTT `rtt` and a
/// `buffer`-byte queue, with segments of `mss` bytes.
private struct FluidPath {
    var bandwidth: Int
    let rtt: Duration
    var buffer: Int
    var randomLoss = 0.0
    let mss = 1000
    /// Bytes the application offers per round; nil for a bulk sender.
    var appLimit: Int?
    /// Loss fraction forced on the next flight only (every k-th segment), for probing tests.
    var injectedLoss = 0.0

    var now = Instant.seconds(1)
    var delivered = 0
    var lost = 0
    var rounds = 0
    var inRecovery = false
    var random = SplitMix64(state: 42)
    var observations: [Observation] = []
    /// The flight of each round.
    var flights: [Int] = []
    /// Stops in the middle of a flight, right after the ACK that makes this true.
    var stopAfterACK: ((BBR) -> Bool)?

    init(bandwidth: Int, rtt: Duration, buffer: Int) {
        self.bandwidth = bandwidth
        self.rtt = rtt
        self.buffer = buffer
    }

    /// Bandwidth × RTT in bytes.
    var bdp: Int { Int(Double(bandwidth) * Double(rtt.nanoseconds) / 1e9) }

    /// Sends one flight and feeds its ACKs to `bbr`.
    mutating func round(_ bbr: inout BBR) {
        rounds += 1
        let rttSeconds = Double(rtt.nanoseconds) / 1e9
        let paced = Int(Double(bbr.pacingRate) * rttSeconds)
        var flight = min(bbr.cwnd, paced)
        // ProbeRTT asks the transport to mark what it sends application-limited (§5.3.4.3).
        var appLimited = bbr.wantsAppLimitedMark
        if let appLimit, appLimit < flight {
            flight = appLimit
            appLimited = true
        }
        let segments = max(flight / mss, 1)
        flight = segments * mss
        flights.append(flight)
        bbr.onSend(inFlight: flight, now: now)

        // Tail drop beyond BDP + buffer, spread evenly over the flight.
        let capacity = bdp + buffer
        let dropFraction = flight > capacity ? Double(flight - capacity) / Double(flight) : 0
        let kept = flight - Int((Double(flight) * dropFraction).rounded())
        let queue = max(kept - bdp, 0)
        let roundTrip = rttSeconds + Double(queue) / Double(bandwidth)
        let injectEvery = injectedLoss > 0 ? Int((1 / injectedLoss).rounded()) : 0
        injectedLoss = 0

        // Which segments are lost.
        var lostSegments = [Bool](repeating: false, count: segments)
        for i in 0..<segments {
            let tailDrop = Int(Double(i + 1) * dropFraction) > Int(Double(i) * dropFraction)
            let random = randomLoss > 0 && Double(random.next() >> 11) * 0x1p-53 < randomLoss
            let injected = injectEvery > 0 && i % injectEvery == injectEvery - 1
            lostSegments[i] = tailDrop || random || injected
        }
        let deliveredInFlight = lostSegments.filter { !$0 }.count * mss
        let rate = Int(Double(deliveredInFlight) / roundTrip)

        let start = now
        let priorDelivered = delivered
        var pendingLost = 0
        var lostInFlight = 0
        var ackedInFlight = 0
        var anyLoss = false
        for i in 0..<segments {
            if lostSegments[i] {
                pendingLost += mss
                lostInFlight += mss
                lost += mss
                continue
            }
            delivered += mss
            ackedInFlight += mss
            let ackTime = start + .nanoseconds(Int64(roundTrip * 1e9 * Double(i + 1) / Double(segments)))
            var rs = RateSample()
            rs.deliveryRate = rate
            rs.isAppLimited = appLimited
            rs.intervalNanoseconds = Int64(roundTrip * 1e9)
            rs.delivered = ackedInFlight
            rs.priorDelivered = priorDelivered
            rs.rttNanoseconds = Int64(roundTrip * 1e9)
            rs.txInFlight = flight
            rs.lost = lostInFlight
            rs.newlyAcked = mss
            rs.newlyLost = pendingLost
            rs.priorInFlight = flight
            rs.inFlight = flight
            rs.totalDelivered = delivered
            rs.totalLost = lost
            if pendingLost > 0 {
                anyLoss = true
                if !inRecovery {
                    bbr.onEnterRecovery(inFlight: flight, now: ackTime)
                    inRecovery = true
                }
            }
            pendingLost = 0
            let before = bbr.state
            bbr.onRateSample(rs, now: ackTime)
            observations.append(Observation(
                time: ackTime, round: rounds, before: before, after: bbr.state, sample: rs,
                flight: flight, cwnd: bbr.cwnd, pacingRate: bbr.pacingRate, bandwidth: bbr.bandwidth,
                inflightHi: bbr.inflightHi, undoState: bbr.undoState, fullBandwidthCount: bbr.fullBandwidthCount))
            if let stop = stopAfterACK, stop(bbr) { break }
        }
        now = start + .nanoseconds(Int64(roundTrip * 1e9))
        // Recovery ends once a round passes with every loss repaired.
        if inRecovery && !anyLoss {
            bbr.onExitRecovery(now: now)
            inRecovery = false
        }
    }

    /// Runs rounds until `done` or `limit` rounds.
    mutating func run(_ bbr: inout BBR, rounds limit: Int, until done: (BBR) -> Bool = { _ in false }) {
        for _ in 0..<limit {
            round(&bbr)
            if done(bbr) { return }
        }
    }

    /// Runs for `seconds` of path time.
    mutating func run(_ bbr: inout BBR, seconds: Double) {
        let end = now + .nanoseconds(Int64(seconds * 1e9))
        while now < end { round(&bbr) }
    }

    /// Steady-state goodput in bytes per second: runs `warmUp` seconds, then
    /// measures what is delivered over the next `measure` seconds.
    mutating func goodput(_ bbr: inout BBR, warmUp: Double, measure: Double) -> Double {
        run(&bbr, seconds: warmUp)
        let delivered = self.delivered, start = now
        run(&bbr, seconds: measure)
        return Double(self.delivered - delivered) / (now - start).nanoseconds.seconds
    }
}

/// 10 Mbit/s (1.25 MB/s), 100 ms: BDP 125 000 bytes = 125 segments.
private func tenMegabitPath(buffer: Int = 1_000_000) -> FluidPath {
    FluidPath(bandwidth: 1_250_000, rtt: .milliseconds(100), buffer: buffer)
}

/// Pacing gains by state, from the table of draft §5.6.1.
private func draftPacingGain(_ state: BBR.State) -> Double {
    switch state {
    case .startup: 2.77
    case .drain: 0.5
    case .probeBWDown: 0.9
    case .probeBWCruise, .probeBWRefill, .probeRTT: 1.0
    case .probeBWUp: 1.25
    }
}

private func newBBR(seed: UInt64 = 1) -> BBR {
    var bbr = BBR(mss: 1000, now: .seconds(1), seed: seed)
    bbr.setMSS(1000)
    return bbr
}

@Suite("BBRv3 (draft-ietf-ccwg-bbr-06)")
struct BBRTests {
    // MARK: Startup

    @Test("before any sample: the RFC 6928 window, pacing at 2.77 × InitialCwnd / 1 ms (§5.6.2)")
    func initialState() {
        let bbr = BBR(mss: 1460, now: .zero, seed: 7)
        #expect(bbr.state == .startup)
        #expect(bbr.state.name == "startup")
        #expect(bbr.cwnd == 14600)
        // 2.77 × 14 600 bytes / 0.001 s = 40 442 000 bytes/s.
        #expect(abs(bbr.pacingRate - 40_442_000) <= 1)
        // Send quantum: 1 ms at that rate = 40 442 bytes, within 2·SMSS…64 KB.
        #expect(abs(bbr.sendQuantum - 40_442) <= 1)
        #expect(bbr.maxBandwidth == 0)
        #expect(bbr.minRTT == nil)
        #expect(bbr.inflightHi == nil && bbr.inflightLo == nil && bbr.bwLo == nil)
    }

    @Test("Startup doubles the flight each round with pacing gain 2.77 and cwnd gain 2 (§5.3.1.1)")
    func startupDoubles() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        // Grow while the flight stays within the BDP (no queue yet).
        for _ in 0..<20 {
            path.round(&bbr)
            if path.flights.last! * 2 > path.bdp { break }
        }
        #expect(path.flights.count >= 3)
        for (previous, next) in zip(path.flights, path.flights.dropFirst()) {
            #expect(next == 2 * previous)
        }
        #expect(path.flights.first == 10_000)
        #expect(bbr.state == .startup)
        #expect(bbr.pacingGain == 2.77)
        #expect(bbr.cwndGain == 2)
        // Pacing = 2.77 × max_bw × 99% while that only raises it (§5.6.2).
        let expected = 2.77 * Double(bbr.maxBandwidth) * 0.99
        #expect(Double(bbr.pacingRate) >= expected - 1)
    }

    @Test("Startup exits to Drain after 3 rounds without 25% growth, max_bw at the path rate (§5.3.1.2)")
    func startupPlateau() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, rounds: 40) { $0.state != .startup }
        #expect(bbr.state == .drain)
        #expect(bbr.inflightHi == nil)
        // The round whose rate first reached the plateau sets full_bw; three more end Startup.
        let plateau = path.observations.first { $0.sample.deliveryRate >= path.bandwidth * 99 / 100 }!.round
        let drain = path.observations.first { $0.after == .drain }!.round
        #expect(drain - plateau == 3)
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 50)
        #expect(bbr.minRTT == .milliseconds(100))
    }

    @Test("Drain paces at 0.5 and ends on the first ACK with inflight ≤ BDP (§5.3.2)")
    func drain() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, rounds: 40) { $0.state.isProbeBW }
        let inDrain = path.observations.filter { $0.before == .drain }
        #expect(!inDrain.isEmpty)
        for o in inDrain {
            // Inflight(1.0) is the path's BDP here (above MinPipeCwnd and the offload budget).
            let leaves = o.after != .drain
            #expect(leaves == (o.sample.inFlight <= path.bdp))
            if !leaves { #expect(o.pacingRate == Int(0.5 * Double(bbr.maxBandwidth) * 0.99)) }
        }
        // Entering ProbeBW_DOWN with inflight already ≤ BDP goes on to CRUISE on the same ACK.
        #expect(bbr.state == .probeBWDown || bbr.state == .probeBWCruise)
    }

    @Test("Drain ends after 3 rounds even with inflight above the BDP (§5.3.2, draft A.4)")
    func drainByTime() {
        var path = tenMegabitPath()
        path.stopAfterACK = { $0.state == .drain }
        var bbr = newBBR()
        path.run(&bbr, rounds: 40) { $0.state == .drain }
        #expect(bbr.state == .drain)
        let start = bbr.roundCount
        // Each ACK below ends a round, with three BDPs still in flight.
        var delivered = path.delivered
        var rounds: [(Int64, BBR.State)] = []
        for i in 1...5 {
            var rs = RateSample()
            rs.deliveryRate = path.bandwidth
            rs.intervalNanoseconds = 100_000_000
            rs.delivered = 1000
            rs.priorDelivered = delivered
            rs.rttNanoseconds = 100_000_000
            rs.txInFlight = 3 * path.bdp
            rs.newlyAcked = 1000
            rs.priorInFlight = 3 * path.bdp
            rs.inFlight = 3 * path.bdp
            delivered += 1000
            rs.totalDelivered = delivered
            bbr.onRateSample(rs, now: path.now + .milliseconds(Int64(100 * i)))
            rounds.append((bbr.roundCount - start, bbr.state))
        }
        // round_count > drain_start_round + 3 first holds on the fourth round.
        for (round, state) in rounds {
            #expect((state == .drain) == (round <= 3), "\(round) \(state)")
        }
    }

    @Test("application-limited Startup without loss never exits, and ProbeRTT returns to it (draft A.7, A.20)")
    func appLimitedStartup() {
        var path = tenMegabitPath()
        path.appLimit = 30_000
        var bbr = newBBR()
        path.run(&bbr, seconds: 7)
        let states = path.observations.map(\.after)
        #expect(!states.contains(.drain))
        #expect(states.contains(.probeRTT))
        #expect(states.last == .startup)
        let exit = path.observations.first { $0.before == .probeRTT && $0.after != .probeRTT }!
        #expect(exit.after == .startup)
    }

    @Test("an idle restart with min_rtt's 5 s expired skips ProbeRTT (§5.3.4.2, draft A.11)")
    func idleSkipsProbeRTT() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        #expect(bbr.state.isProbeBW)
        path.now = path.now + .seconds(6)
        bbr.onIdleRestart(now: path.now)
        let seen = path.observations.count
        path.run(&bbr, rounds: 10)
        #expect(!path.observations[seen...].contains { $0.after == .probeRTT })
    }

    @Test("after the bandwidth drops 10×, max_bw follows within two ProbeBW cycles (draft A.16)")
    func bandwidthDrop() {
        var path = FluidPath(bandwidth: 12_500_000, rtt: .milliseconds(40), buffer: 500_000)
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 50)
        path.bandwidth /= 10
        path.buffer = path.bdp
        // Two cycles of at most 3 s each (plus a ProbeRTT).
        path.run(&bbr, seconds: 7)
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 20, "\(bbr.maxBandwidth)")
    }

    // MARK: ProbeBW

    @Test("ProbeBW cycles DOWN → CRUISE → REFILL → UP with gains 0.9/1/1/1.25, probing every 2–3 s (§5.3.3)")
    func probeBWCycle() {
        var path = tenMegabitPath()
        var bbr = newBBR(seed: 99)
        path.run(&bbr, seconds: 30)
        // Every ACK after the pipe filled: pacing = draft gain × bw × 99%.
        let steady = path.observations.drop { $0.after == .startup || $0.after == .drain }
        for o in steady where o.after != .drain {
            let expected = draftPacingGain(o.after) * Double(o.bandwidth) * 0.99
            #expect(abs(Double(o.pacingRate) - expected) <= 1, "\(o.after)")
        }
        // Transitions among ProbeBW phases follow the cycle.
        var transitions: [(BBR.State, BBR.State, Instant, Int)] = []
        for o in steady where o.before != o.after { transitions.append((o.before, o.after, o.time, o.round)) }
        let allowed: Set<String> = [
            "probe_bw_down>probe_bw_cruise", "probe_bw_down>probe_bw_refill", "probe_bw_cruise>probe_bw_refill",
            "probe_bw_refill>probe_bw_up", "probe_bw_up>probe_bw_down",
            "probe_bw_down>probe_rtt", "probe_bw_cruise>probe_rtt", "probe_bw_refill>probe_rtt",
            "probe_bw_up>probe_rtt", "probe_rtt>probe_bw_cruise",
            // Leaving Drain or ProbeRTT runs StartProbeBW_DOWN, and CRUISE follows on the
            // same ACK when inflight is already below the BDP (§5.3.2, §5.3.4.4).
            "drain>probe_bw_down", "drain>probe_bw_cruise",
        ]
        for t in transitions { #expect(allowed.contains("\(t.0.name)>\(t.1.name)")) }
        // REFILL lasts exactly one round.
        for (i, t) in transitions.enumerated() where t.1 == .probeBWRefill {
            guard i + 1 < transitions.count, transitions[i + 1].1 == .probeBWUp else { continue }
            #expect(transitions[i + 1].3 - t.3 == 1)
        }
        // DOWN → REFILL waits 2–3 s: 63 rounds of 100 ms would be 6.3 s, so the wall clock rules.
        var downStart: Instant?
        var waits: [Double] = []
        for t in transitions {
            // A cycle's clock starts in StartProbeBW_DOWN, also run on the way out of Drain and ProbeRTT.
            if t.1 == .probeBWDown || (t.1 == .probeBWCruise && t.0 != .probeBWDown) { downStart = t.2 }
            if t.1 == .probeBWRefill, let start = downStart {
                waits.append((t.2 - start).nanoseconds.seconds)
                downStart = nil
            }
            if t.1 == .probeRTT { downStart = nil }
        }
        #expect(waits.count >= 5)
        for wait in waits { #expect(wait >= 2 && wait <= 3.1, "\(wait)") }
        // Randomized: not every wait the same.
        #expect(Set(waits.map { Int($0 * 10) }).count > 1)
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 50)
    }

    @Test("the queue stays under 1.5 × BDP throughout, and under 0.25 × BDP in ProbeBW (§3.2, §5.3.3.5)")
    func queueBound() {
        // A deep buffer (4 × BDP), so only the controller limits the queue.
        var path = tenMegabitPath(buffer: 500_000)
        var bbr = newBBR(seed: 23)
        path.run(&bbr, seconds: 30)
        var maxQueue = 0
        var maxProbeBWQueue = 0
        for o in path.observations {
            let queue = max(o.flight - path.bdp, 0)
            maxQueue = max(maxQueue, queue)
            if o.before.isProbeBW && o.after.isProbeBW { maxProbeBWQueue = max(maxProbeBWQueue, queue) }
        }
        #expect(Double(maxQueue) <= 1.5 * Double(path.bdp), "\(maxQueue)")
        // UP sends at 1.25 × bw, with two more segments of quantization budget.
        #expect(Double(maxProbeBWQueue) <= 0.25 * Double(path.bdp) + 2000, "\(maxProbeBWQueue)")
    }

    @Test("on a small BDP the Reno-coexistence bound probes after BDP-in-segments rounds (§5.3.3.8)")
    func renoRounds() {
        // 10 ms × 1.25 MB/s = 12 500 bytes: 12 segments, so at most 12 rounds of DOWN/CRUISE.
        var path = FluidPath(bandwidth: 1_250_000, rtt: .milliseconds(10), buffer: 100_000)
        var bbr = newBBR(seed: 5)
        path.run(&bbr, seconds: 4)
        var downRound: Int?
        var counts: [Int] = []
        for o in path.observations where o.before != o.after {
            if o.after == .probeBWDown { downRound = o.round }
            if o.after == .probeBWRefill, let start = downRound {
                counts.append(o.round - start)
                downRound = nil
            }
        }
        #expect(counts.count >= 5)
        for rounds in counts { #expect(rounds >= 11 && rounds <= 12, "\(rounds)") }
    }

    @Test("loss above 2% in ProbeBW_UP: inflight_hi = max(inflight at loss, 0.7·BDP) and DOWN (§5.5.10.2)")
    func probeUpLoss() {
        var path = tenMegabitPath()
        var bbr = newBBR(seed: 3)
        bbr.toleratesRandomLoss = false  // the draft's rule: this shallow probe queue is no evidence
        path.run(&bbr, rounds: 400) { $0.state == .probeBWUp }
        #expect(bbr.state == .probeBWUp)
        #expect(bbr.inflightHi == nil)
        // One round of REFILL/UP feedback still to come; then force 5% loss on the next flight.
        path.run(&bbr, rounds: 1)
        #expect(bbr.state == .probeBWUp)
        path.injectedLoss = 0.05
        path.round(&bbr)
        let flight = path.flights.last!
        #expect(bbr.state == .probeBWDown)
        #expect(bbr.inflightHi == max(flight, Int(0.7 * Double(path.bdp))))
        // The next UP is precautionary: it stops as soon as inflight reaches inflight_hi.
        path.run(&bbr, rounds: 200) { $0.state == .probeBWUp }
        path.run(&bbr, rounds: 5) { $0.state != .probeBWUp }
        #expect(bbr.state == .probeBWDown)
        #expect(path.flights.last! >= bbr.inflightHi!)
    }

    @Test("at 1% random loss on a long fat path goodput stays above 80% of the path rate (§5.3.3.8.3)")
    func randomLossLongFatPath() {
        // 100 Mbit/s × 100 ms: 1 250 segments a round, so 1% loss (≈12) stays under the 2%
        // LossThresh (25) and only the short-term model reacts, by ≈1% a lossy round (§5.5.10.3).
        var path = FluidPath(bandwidth: 12_500_000, rtt: .milliseconds(100), buffer: 1_250_000)
        path.randomLoss = 0.01
        var bbr = newBBR(seed: 11)
        let goodput = path.goodput(&bbr, warmUp: 10, measure: 30)
        #expect(goodput > 0.8 * Double(path.bandwidth), "\(goodput / Double(path.bandwidth))")
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 20)
    }

    @Test("at 1% random loss BBR keeps its max_bw and far outruns Reno's Mathis bound")
    func randomLossModerateBDP() {
        // 100 Mbit/s × 40 ms: BDP 500 segments. Reno's Mathis bound, 1.22·MSS/(RTT·√p),
        // is 1.22 × 1000 / (0.04 × 0.1) = 305 000 bytes/s here, 2.4% of the path.
        var path = FluidPath(bandwidth: 12_500_000, rtt: .milliseconds(40), buffer: 500_000)
        path.randomLoss = 0.01
        var bbr = newBBR(seed: 11)
        let goodput = path.goodput(&bbr, warmUp: 10, measure: 30)
        let mathis = 1.22 * 1000 / (0.04 * 0.1)
        #expect(goodput > 10 * mathis, "\(goodput / Double(path.bandwidth))")
        #expect(goodput > 0.5 * Double(path.bandwidth), "\(goodput / Double(path.bandwidth))")
        #expect(abs(bbr.maxBandwidth - path.bandwidth) <= path.bandwidth / 20)
    }

    @Test("NetStack's random-loss tolerance: at 5% random loss with no queue BBR keeps most of the path; the draft's rule spirals down")
    func randomLossTolerance() {
        func goodput(tolerant: Bool) -> Double {
            var path = FluidPath(bandwidth: 12_500_000, rtt: .milliseconds(20), buffer: 250_000)
            path.randomLoss = 0.05
            var bbr = newBBR(seed: 11)
            bbr.toleratesRandomLoss = tolerant
            return path.goodput(&bbr, warmUp: 5, measure: 20) / Double(path.bandwidth)
        }
        let tolerant = goodput(tolerant: true), draft = goodput(tolerant: false)
        // 5% of what is sent is lost whatever the controller does: 95% is the most there is.
        #expect(tolerant > 0.75, "\(tolerant)")
        #expect(draft < tolerant / 2, "draft \(draft), tolerant \(tolerant)")
    }

    @Test("a loss round counts as congestion only with loss above the path's usual rate and a standing queue")
    func congestiveLossEvidenceRule() {
        var bbr = newBBR()  // MSS 1000: the byte counts below are segments × 1000
        bbr.lostInRound = 5_000
        bbr.deliveredInRound = 95_000
        #expect(bbr.congestiveLossEvidence, "5% loss, no background loss and no RTT seen yet: congestion, as in the draft")
        bbr.backgroundLossRate = 0.05
        #expect(!bbr.congestiveLossEvidence, "5% where the path loses 5% anyway: random loss")
        bbr.backgroundLossRate = 0.02
        #expect(!bbr.congestiveLossEvidence, "5 of 100 where the path loses 2%: within chance (2 expected, σ 1.4)")
        bbr.lostInRound = 10_000
        bbr.deliveredInRound = 90_000
        #expect(bbr.congestiveLossEvidence, "10 of 100 where the path loses 2%: a burst")
        bbr.backgroundLossRate = 0.05
        bbr.lostInRound = 2_000
        bbr.deliveredInRound = 8_000
        #expect(!bbr.congestiveLossEvidence, "2 of 10 where the path loses 5%: one unlucky small round")
        bbr.lostInRound = 4_000
        bbr.deliveredInRound = 6_000
        #expect(bbr.congestiveLossEvidence, "4 of 10 where the path loses 5%: beyond chance")
        bbr.backgroundLossRate = 0
        bbr.lostInRound = 2_000
        bbr.deliveredInRound = 98_000
        #expect(!bbr.congestiveLossEvidence, "2% is not above BBRLossThresh")
        bbr.lostInRound = 5_000
        bbr.deliveredInRound = 95_000
        func round(mean: Int64, baseline: Int64) -> Bool {
            bbr.baselineRoundRTT = baseline
            bbr.lossRoundRTTSum = 3 * mean
            bbr.lossRoundRTTCount = 3
            return bbr.congestiveLossEvidence
        }
        #expect(!round(mean: 25_000_000, baseline: 20_000_000), "5 ms is baseline/4 exactly: no standing queue")
        #expect(round(mean: 25_000_001, baseline: 20_000_000))
        #expect(!round(mean: 2_900_000, baseline: 2_000_000), "below the 1 ms floor on a short path")
        #expect(round(mean: 3_100_000, baseline: 2_000_000))
        // Rounds that usually stray 3 ms around 26 ms: a rise must exceed 26 + 3 × 3 ms.
        bbr.smoothedRoundRTT = 26_000_000
        bbr.roundRTTDeviation = 3_000_000
        #expect(!round(mean: 30_000_000, baseline: 20_000_000), "within the rounds' usual spread: jitter, not a queue")
        #expect(round(mean: 36_000_000, baseline: 20_000_000))
        bbr.toleratesRandomLoss = false
        bbr.lostInRound = 0
        #expect(round(mean: 2_000_000, baseline: 2_000_000), "the draft's rule: every loss is congestion")
    }

    @Test("the background loss rate averages only rounds that do not look congestive")
    func backgroundLossFromNonCongestiveRounds() {
        var bbr = newBBR()
        let rs = RateSample()
        /// Ends a loss round with 5 of 100 segments lost and the given mean RTT over a
        /// 20 ms baseline, on a path whose rounds usually stray 1 ms around 20 ms.
        func endRound(mean: Int64) {
            bbr.baselineRoundRTT = 20_000_000
            bbr.baselineRoundRTTStamp = 1_000_000_000
            bbr.smoothedRoundRTT = 20_000_000
            bbr.roundRTTDeviation = 1_000_000
            bbr.lostInRound = 5_000
            bbr.deliveredInRound = 95_000
            bbr.lossRoundRTTSum = 3 * mean
            bbr.lossRoundRTTCount = 3
            bbr.lossRoundStart = true
            bbr.advanceLatestDeliverySignals(rs, now: 1_000_000_000)
        }
        endRound(mean: 30_000_000)  // a standing queue and a burst: congestion
        #expect(bbr.backgroundLossRate == 0)
        endRound(mean: 20_000_000)  // the same loss with no queue: the path's own
        #expect(bbr.backgroundLossRate == 0.05 / 8)
        // With the tolerance off the rounds are classified all the same.
        bbr.toleratesRandomLoss = false
        endRound(mean: 30_000_000)
        #expect(bbr.backgroundLossRate == 0.05 / 8)
    }

    @Test("the rounds' usual RTT spread is learnt from rounds without a queue, so a standing queue stays evidence")
    func roundSpreadIgnoresQueuedRounds() {
        var bbr = newBBR()
        let rs = RateSample()
        func endRound(mean: Int64) {
            bbr.lossRoundRTTSum = 4 * mean
            bbr.lossRoundRTTCount = 4
            bbr.lossRoundStart = true
            bbr.advanceLatestDeliverySignals(rs, now: 2_000_000_000)
        }
        // A jittery path: round means alternate 22 and 30 ms, the lowest 22.
        for i in 0..<40 { endRound(mean: i % 2 == 0 ? 22_000_000 : 30_000_000) }
        #expect(bbr.baselineRoundRTT == 22_000_000)
        let smoothed = bbr.smoothedRoundRTT
        #expect(smoothed > 24_000_000 && smoothed < 28_000_000, "\(smoothed)")
        bbr.lossRoundRTTSum = 30_000_000
        bbr.lossRoundRTTCount = 1
        #expect(!bbr.roundShowsQueue, "30 ms is one of the path's usual rounds")
        // A queue holds the rounds at 60 ms: however long it stands, it stays evidence.
        for _ in 0..<40 { endRound(mean: 60_000_000) }
        #expect(bbr.smoothedRoundRTT == smoothed)
        bbr.lossRoundRTTSum = 60_000_000
        bbr.lossRoundRTTCount = 1
        #expect(bbr.roundShowsQueue)
    }

    @Test("the baseline is the lowest round mean RTT, not min_rtt: samples that skip the path's delay do not make every round look queued")
    func baselineIgnoresEarlySamples() {
        var path = FluidPath(bandwidth: 1_250_000, rtt: .milliseconds(20), buffer: 100_000)
        var bbr = newBBR(seed: 3)
        path.run(&bbr, seconds: 2)
        let baseline = bbr.baselineRoundRTT
        #expect(baseline >= 20_000_000 && baseline < 25_000_000, "\(baseline)")
        // One sample of 1 µs (a packet that skipped the delay) lowers min_rtt, not the baseline.
        var rs = RateSample()
        rs.rttNanoseconds = 1_000
        rs.newlyAcked = 1000
        rs.delivered = 1000
        bbr.onRateSample(rs, now: path.now)
        #expect(bbr.minRTTNanoseconds == 1_000)
        #expect(bbr.baselineRoundRTT >= 20_000_000)
    }

    @Test("a round with a standing queue and loss still cuts the short-term model (the tolerance is not deafness)")
    func queuedLossCutsShortTerm() {
        // Deep buffer (2 × BDP) filled by the probes of a bulk flow that a second flow
        // joins: modelled by halving the bandwidth, so BBR's flight queues and overflows.
        var path = tenMegabitPath(buffer: 250_000)
        var bbr = newBBR(seed: 7)
        path.run(&bbr, seconds: 10)
        path.bandwidth /= 4
        path.buffer = 50_000
        path.run(&bbr, seconds: 10)
        #expect(path.lost > 0)
        #expect(bbr.bwLo != nil || bbr.inflightHi != nil, "the queue-evidenced losses bounded the model")
        #expect(bbr.bandwidth <= path.bandwidth * 11 / 10, "\(bbr.bandwidth) vs \(path.bandwidth)")
    }

    // MARK: ProbeRTT

    @Test("ProbeRTT after 5 s without a lower RTT: cwnd ≤ BDP/2 for max(200 ms, a round) (§5.3.4)")
    func probeRTT() {
        for rtt in [100, 300] {
            var path = FluidPath(bandwidth: 1_250_000, rtt: .milliseconds(Int64(rtt)), buffer: 1_000_000)
            var bbr = newBBR(seed: 17)
            path.run(&bbr, seconds: 12)
            // The last strictly lower RTT sample before ProbeRTT.
            var lowest = Int64.max
            var lowestAt = Instant.zero
            var entered: Instant?
            for o in path.observations {
                if o.after == .probeRTT && o.before != .probeRTT { entered = o.time; break }
                if o.sample.rttNanoseconds < lowest { lowest = o.sample.rttNanoseconds; lowestAt = o.time }
            }
            let entry = try! #require(entered)
            let waited = (entry - lowestAt).nanoseconds.seconds
            #expect(waited > 5 && waited <= 5 + 2 * Double(rtt) / 1000, "\(waited)")
            // While in ProbeRTT, cwnd ≤ max(0.5 × BDP, 4 segments), BDP from the path (±2%).
            let inProbe = path.observations.filter { $0.after == .probeRTT }
            for o in inProbe { #expect(Double(o.cwnd) <= 0.5 * Double(path.bdp) * 1.02) }
            // Held from the first ACK at that level for at least max(200 ms, one RTT).
            let low = inProbe.first { $0.sample.inFlight <= $0.cwnd }!
            let exit = path.observations.first { $0.before == .probeRTT && $0.after != .probeRTT }!
            let held = (exit.time - low.time).nanoseconds.seconds
            #expect(held >= max(0.2, Double(rtt) / 1000), "\(held)")
            #expect(exit.after == .probeBWCruise)
        }
    }

    // MARK: Loss, recovery, RTO

    @Test("more than 2% loss over a round in Startup ends it and sets inflight_hi = max(BDP, inflight_latest) (§5.3.1.3)")
    func startupLossExit() {
        // Buffer 25 segments: the path holds BDP + buffer = 150 000 bytes. The 160-segment
        // flight loses 10 (6%, 10 loss events); the ACK ending that loss round, a full
        // round into recovery, ends Startup before the rate-plateau rule would.
        var path = tenMegabitPath(buffer: 25_000)
        var bbr = newBBR()
        bbr.toleratesRandomLoss = false  // the draft's rule: a 20%-of-BDP queue is no evidence to NetStack
        path.run(&bbr, rounds: 40) { $0.state != .startup }
        #expect(bbr.state == .drain)
        // Hold the undo state as it was at the exit: later losses of the same flight
        // start a new loss round, which resets it (SaveStateUponLoss, §5.5.11.1).
        let exit = path.observations.first { $0.before == .startup && $0.after != .startup }!
        #expect(exit.after == .drain)
        #expect(exit.fullBandwidthCount < 3)
        // §5.3.1.3 sets max(BDP, inflight_latest) = BDP + buffer (the most a round
        // delivered); the same ACK's AdaptLongTermModel (§5.3.3.9) then raises it to
        // that sample's tx_in_flight, as its own loss so far is under 2%.
        #expect(exit.inflightHi == max(path.bdp + path.buffer, exit.sample.txInFlight))
        #expect(exit.sample.lost <= exit.sample.txInFlight / 50)
        #expect(exit.undoState == .startup)
    }

    @Test("a spurious recovery after the loss exit returns to Startup with inflight_hi unset (§5.5.11.2)")
    func startupLossUndo() {
        var path = tenMegabitPath(buffer: 25_000)
        path.stopAfterACK = { $0.state != .startup }
        var bbr = newBBR()
        bbr.toleratesRandomLoss = false
        path.run(&bbr, rounds: 40) { $0.state != .startup }
        #expect(bbr.state == .drain)
        #expect(bbr.undoState == .startup)
        let saved = bbr.priorCwnd
        bbr.onSpuriousRecovery(now: path.now)
        #expect(bbr.state == .startup)
        #expect(bbr.pacingGain == 2.77)
        #expect(bbr.inflightHi == nil)
        #expect(!bbr.fullBandwidthReached)
        #expect(bbr.cwnd >= saved)
        #expect(!bbr.inRecovery)
    }

    @Test("a rate 25% above full_bw on any ACK, not only a round's first, restarts the full-pipe count (Linux BBRv3)")
    func fullPipeGrowthOnEveryAck() {
        var bbr = newBBR()
        var now = Instant.seconds(1)
        // One ACK: starts a round when `roundStart`, else lands inside the current one.
        func ack(rate: Int, roundStart: Bool) {
            now = now + .milliseconds(5)
            var rs = RateSample()
            rs.delivered = 1000
            rs.newlyAcked = 1000
            rs.priorDelivered = roundStart ? bbr.delivered : bbr.delivered - 1
            rs.totalDelivered = bbr.delivered + 1000
            rs.deliveryRate = rate
            rs.intervalNanoseconds = 20_000_000
            bbr.onRateSample(rs, now: now)
        }
        ack(rate: 1_000_000, roundStart: true)  // full_bw = 1 MB/s
        ack(rate: 1_000_000, roundStart: true)
        ack(rate: 1_000_000, roundStart: true)  // two rounds without growth
        #expect(bbr.fullBandwidthCount == 2)
        // A mid-round ACK measures 1.3 MB/s, the round's first ones did not: a new baseline.
        ack(rate: 1_300_000, roundStart: false)
        #expect(bbr.fullBandwidthCount == 0)
        ack(rate: 200_000, roundStart: true)  // an unrepresentative round-start sample
        ack(rate: 1_300_000, roundStart: true)
        #expect(bbr.state == .startup && !bbr.fullBandwidthReached)
        ack(rate: 1_300_000, roundStart: true)  // the third round without growth
        #expect(bbr.fullBandwidthReached)
    }

    @Test("up to three rounds in which the peer's receive window held new data back do not count toward a full pipe")
    func receiveWindowLimitedRoundsDoNotFillThePipe() {
        func control() -> CongestionControl { CongestionControl(.bbr, mss: 1000, now: .seconds(1)) }
        var now = Instant.seconds(1)
        var delivered = 0
        func roundStart(_ control: inout CongestionControl, windowLimited: Bool) {
            if windowLimited { control.noteReceiveWindowLimited() }
            now = now + .milliseconds(20)
            var rs = RateSample()
            rs.delivered = 1000
            rs.newlyAcked = 1000
            rs.priorDelivered = delivered
            delivered += 1000
            rs.totalDelivered = delivered
            rs.deliveryRate = 1_000_000
            rs.intervalNanoseconds = 20_000_000
            control.onRateSample(rs, now: now)
        }
        // Free rounds: the baseline and three more at the same rate end Startup.
        var free = control()
        for _ in 0..<3 { roundStart(&free, windowLimited: false) }
        #expect(free.inSlowStart)
        roundStart(&free, windowLimited: false)
        #expect(!free.inSlowStart)
        // Held back by the peer's window: three such rounds are excused, so Startup lasts three more.
        var held = control()
        roundStart(&held, windowLimited: false)
        for _ in 0..<5 { roundStart(&held, windowLimited: true) }
        #expect(held.inSlowStart)
        // A window that never opens cannot hold Startup (and its queue) for ever.
        roundStart(&held, windowLimited: true)
        #expect(!held.inSlowStart)
    }

    @Test("random loss below 2% does not end Startup early")
    func startupTolerates1Percent() {
        var path = tenMegabitPath()
        path.randomLoss = 0.01
        var bbr = newBBR()
        path.run(&bbr, rounds: 40) { $0.state != .startup }
        #expect(bbr.state == .drain)
        #expect(bbr.inflightHi == nil)
        #expect(bbr.maxBandwidth >= path.bandwidth * 95 / 100)
    }

    @Test("recovery leaves cwnd to the model (no packet conservation, as BBRv3); exit restores the last good cwnd (§5.6.4.4)")
    func recovery() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        let good = bbr.cwnd
        // Entering with 10 000 bytes left in flight after loss marking: BBR v1 would cut cwnd to them.
        bbr.onEnterRecovery(inFlight: 10_000, now: path.now)
        #expect(bbr.cwnd == good)
        #expect(bbr.inRecovery)
        // An ACK in recovery that delivers 1000 bytes and reports 1000 lost: cwnd keeps the model's
        // rule (≤ max_inflight), not inflight + ACKed.
        var rs = RateSample()
        rs.deliveryRate = path.bandwidth
        rs.intervalNanoseconds = 100_000_000
        rs.delivered = 1000
        rs.priorDelivered = path.delivered - 50_000
        rs.rttNanoseconds = 100_000_000
        rs.txInFlight = 60_000
        rs.newlyAcked = 1000
        rs.newlyLost = 1000
        rs.lost = 1000
        rs.priorInFlight = 11_000
        rs.inFlight = 10_000
        rs.totalDelivered = path.delivered + 1000
        bbr.onRateSample(rs, now: path.now + .milliseconds(10))
        #expect(bbr.cwnd > 11_000)
        #expect(bbr.cwnd <= bbr.maxInflight)
        // RTO inside recovery: cwnd = inflight + 1 segment.
        bbr.onRetransmissionTimeout(inFlight: 0, now: path.now)
        #expect(bbr.cwnd == 1000)
        bbr.onExitRecovery(now: path.now)
        #expect(!bbr.inRecovery)
        #expect(bbr.cwnd == good)
    }

    @Test("after an RTO cwnd = inflight + SMSS, then grows by the bytes ACKed; exit restores it (§5.6.4.4)")
    func retransmissionTimeout() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        let good = bbr.cwnd
        bbr.onRetransmissionTimeout(inFlight: 5000, now: path.now)
        #expect(bbr.cwnd == 6000)
        // The next ACK of one segment: cwnd + 1000, floored at MinPipeCwnd = 4 segments.
        var rs = RateSample()
        rs.deliveryRate = path.bandwidth
        rs.intervalNanoseconds = 100_000_000
        rs.delivered = 1000
        rs.priorDelivered = path.delivered
        rs.rttNanoseconds = 100_000_000
        rs.txInFlight = 5000
        rs.newlyAcked = 1000
        rs.priorInFlight = 5000
        rs.inFlight = 4000
        rs.totalDelivered = path.delivered + 1000
        bbr.onRateSample(rs, now: path.now + .milliseconds(100))
        #expect(bbr.cwnd == 7000)
        bbr.onExitRecovery(now: path.now + .milliseconds(100))
        #expect(bbr.cwnd <= good)
        #expect(bbr.cwnd >= 7000)
    }

    // MARK: Samples

    @Test("application-limited samples below max_bw leave it; one above raises it (§5.5.4)")
    func appLimited() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        let before = bbr.maxBandwidth
        #expect(abs(before - path.bandwidth) <= path.bandwidth / 50)
        path.appLimit = path.bdp / 4
        path.run(&bbr, seconds: 20)
        #expect(path.observations.last!.sample.deliveryRate < before / 2)
        #expect(bbr.maxBandwidth == before)
        var rs = path.observations.last!.sample
        rs.isAppLimited = true
        rs.deliveryRate = before + 100_000
        rs.priorDelivered = path.delivered
        rs.totalDelivered = path.delivered + 1000
        bbr.onRateSample(rs, now: path.now)
        #expect(bbr.maxBandwidth == before + 100_000)
    }

    @Test("an ACK with no delivery sample does not end a round")
    func noSampleNoRound() {
        var bbr = newBBR()
        var rs = RateSample()
        rs.newlyLost = 1000
        rs.totalLost = 1000
        bbr.onRateSample(rs, now: .seconds(1.1))
        #expect(bbr.roundCount == 0)
        rs = RateSample()
        rs.delivered = 1000
        rs.newlyAcked = 1000
        rs.totalDelivered = 1000
        rs.deliveryRate = 10_000
        rs.intervalNanoseconds = 100_000_000
        bbr.onRateSample(rs, now: .seconds(1.2))
        #expect(bbr.roundCount == 1)
    }

    @Test("forged samples (negative, huge) cannot overflow or stall: cwnd within SMSS…2³¹−1, pacing ≥ 1 SMSS/s")
    func forgedSamples() {
        var bbr = newBBR()
        var random = SplitMix64(state: 9)
        let extremes = [Int.min, -1, 0, 1, Int(Int32.max), Int.max]
        for i in 0..<2000 {
            var rs = RateSample()
            rs.deliveryRate = extremes[Int(random.next() % 6)]
            rs.isAppLimited = random.next() & 1 == 0
            rs.intervalNanoseconds = Int64(truncatingIfNeeded: random.next())
            rs.delivered = extremes[Int(random.next() % 6)]
            rs.priorDelivered = extremes[Int(random.next() % 6)]
            rs.rttNanoseconds = Int64(truncatingIfNeeded: random.next())
            rs.txInFlight = extremes[Int(random.next() % 6)]
            rs.lost = extremes[Int(random.next() % 6)]
            rs.newlyAcked = extremes[Int(random.next() % 6)]
            rs.newlyLost = extremes[Int(random.next() % 6)]
            rs.priorInFlight = extremes[Int(random.next() % 6)]
            rs.inFlight = extremes[Int(random.next() % 6)]
            rs.totalDelivered = extremes[Int(random.next() % 6)]
            bbr.onRateSample(rs, now: .seconds(1 + Double(i)))
            if i % 7 == 0 { bbr.onRetransmissionTimeout(inFlight: extremes[i % 6], now: .seconds(1 + Double(i))) }
            if i % 11 == 0 { bbr.onExitRecovery(now: .seconds(1 + Double(i))) }
            #expect(bbr.cwnd >= 1000 && bbr.cwnd <= Int(Int32.max))
            #expect(bbr.pacingRate >= 1000)
            #expect(bbr.sendQuantum >= 2000 && bbr.sendQuantum <= 65536)
        }
    }

    // MARK: Idle

    @Test("restarting from idle in ProbeBW paces at exactly bw; cwnd kept (§5.4.1)")
    func idleRestart() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        path.run(&bbr, rounds: 100) { $0.state == .probeBWUp }
        let cwnd = bbr.cwnd
        bbr.onIdleRestart(now: path.now + .seconds(1))
        #expect(bbr.pacingRate == Int(Double(bbr.maxBandwidth) * 0.99))
        #expect(bbr.cwnd == cwnd)
        #expect(bbr.idleRestart)
    }

    // MARK: Pieces

    @Test("send quantum is 1 ms of pacing within 2·SMSS…64 KB (§5.6.3)")
    func sendQuantum() {
        var path = tenMegabitPath()
        var bbr = newBBR()
        path.run(&bbr, seconds: 3)
        // ≈1.24 MB/s × 1 ms ≈ 1 240 bytes, below 2·SMSS.
        #expect(bbr.sendQuantum == 2000)
        var fast = FluidPath(bandwidth: 125_000_000, rtt: .milliseconds(10), buffer: 10_000_000)
        var bbr2 = newBBR()
        fast.run(&bbr2, seconds: 1)
        #expect(bbr2.sendQuantum == 65536)
    }

    @Test("the windowed max filter keeps the best sample for its window, then the next best")
    func windowedMax() {
        var filter = WindowedMaxFilter()
        #expect(filter.update(100, time: 0, window: 10) == 100)
        #expect(filter.update(50, time: 3, window: 10) == 100)
        #expect(filter.update(70, time: 6, window: 10) == 100)
        #expect(filter.update(60, time: 9, window: 10) == 100)
        // At time 10 the sample from time 0 has left the window; the best left is 70 (time 6).
        #expect(filter.update(10, time: 10, window: 10) == 70)
        // At 17 the 60 from time 9 is still in the window.
        #expect(filter.update(10, time: 17, window: 10) == 60)
        // Everything older than the window: start over.
        #expect(filter.update(5, time: 40, window: 10) == 5)
        // A window of 2 keeps the current and previous slot only.
        var cycles = WindowedMaxFilter()
        cycles.update(900, time: 0, window: 2)
        cycles.update(500, time: 1, window: 2)
        #expect(cycles.best == 900)
        #expect(cycles.update(400, time: 2, window: 2) == 500)
    }

    @Test("BBR is a plain value: no references, so copying and updating it never allocates")
    func plainValue() {
        #expect(_isPOD(BBR.self))
        #expect(_isPOD(RateSample.self))
        #expect(MemoryLayout<BBR>.size < 1024)
    }
}

extension Int64 {
    /// Nanoseconds as seconds.
    fileprivate var seconds: Double { Double(self) / 1e9 }
}
