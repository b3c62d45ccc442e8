// Reno congestion control (RFC 5681, RFC 3465, RFC 6928), with the window
// hooks PRR (RFC 9937) drives in fast recovery, through `CongestionControl`. Expected windows are worked by hand from the
// RFC formulas in the comments, or come from a plain model of those formulas.

@testable import NetStackCore
import Testing

private let t0 = Instant.seconds(1)

/// A Reno controller with MSS 1000, so windows read as segments × 1000.
private func reno(mss: Int = 1000) -> CongestionControl { CongestionControl(.newReno, mss: mss, now: t0) }

extension CongestionControl {
    /// `count` ACKs of `bytes` each, outside recovery, with a full flight.
    fileprivate mutating func ack(_ count: Int, of bytes: Int) {
        for _ in 0..<count { onAck(newlyAcked: bytes, flightSize: cwnd, rtt: .milliseconds(100), now: t0) }
    }
}

@Suite("NewReno (RFC 5681, RFC 3465, RFC 9937's window hooks)")
struct NewRenoTests {
    @Test("the initial window is min(10·MSS, max(2·MSS, 14600)) (RFC 6928 §2)")
    func initialWindow() {
        // 536:  min(5360, max(1072, 14600))  = 5360  (10 segments)
        // 1460: min(14600, max(2920, 14600)) = 14600 (10 segments)
        // 9000: min(90000, max(18000, 14600)) = 18000 (2 segments)
        // 4000: min(40000, max(8000, 14600)) = 14600 (3.65 segments)
        for (mss, iw) in [(536, 5360), (1460, 14600), (9000, 18000), (4000, 14600)] {
            let cc = CongestionControl(.newReno, mss: mss, now: t0)
            #expect(cc.cwnd == iw)
            var later = CongestionControl(.newReno, mss: 536, now: t0)
            later.setMSS(mss)
            #expect(later.cwnd == iw)
            #expect(later.mss == mss)
        }
    }

    @Test("starts in slow start with ssthresh arbitrarily high, not in recovery (RFC 5681 §3.1)")
    func initialState() {
        let cc = reno()
        #expect(cc.algorithm == .newReno)
        #expect(cc.ssthresh == Int.max)
        #expect(!cc.inRecovery)
        #expect(cc.inSlowStart)
    }

    @Test("a retransmitted SYN leaves an initial window of one segment (RFC 5681 §3.1)")
    func synLoss() {
        var cc = reno()
        cc.setMSS(1460, synRetransmitted: true)
        #expect(cc.cwnd == 1460)
    }

    @Test("slow start doubles cwnd each RTT, per-segment or delayed ACKs alike")
    func slowStartDoubling() {
        var cc = reno(mss: 1460)
        // RTT 1: 10 segments, one ACK each: +1460 × 10 → 29200 (20 segments).
        cc.ack(10, of: 1460)
        #expect(cc.cwnd == 29200)
        // RTT 2: 20 segments, delayed ACKs cover 2 each: 10 × min(2920, L = 2920) → 58400.
        cc.ack(10, of: 2920)
        #expect(cc.cwnd == 58400)
    }

    @Test("unpaced, byte counting caps one ACK's growth at L = 2·SMSS (RFC 3465 §2.2)")
    func abcLimit() {
        var cc = reno()
        // A stretch ACK of 5 segments grows cwnd by 2 segments only: 10000 → 12000.
        cc.ack(1, of: 5000)
        #expect(cc.cwnd == 12000)
        // A half-segment ACK grows it by the 500 bytes acknowledged.
        cc.ack(1, of: 500)
        #expect(cc.cwnd == 12500)
    }

    @Test("paced, slow start counts every byte a stretch ACK covers (L unbounded, as Linux's tcp_slow_start)")
    func pacedSlowStartCountsWholeACK() {
        var cc = reno()
        cc.paced = true
        // One ACK covering 12 segments, e.g. after the ACKs before it were lost or arrive late: 10000 → 22000.
        cc.ack(1, of: 12000)
        #expect(cc.cwnd == 22000)
        // L = 1·SMSS after an RTO whatever the pacing (RFC 3465 §2.3).
        cc.onRetransmissionTimeout(flightSize: 22000, now: t0)  // ssthresh 11000, cwnd 1000
        cc.ack(1, of: 5000)
        #expect(cc.cwnd == 2000)
        cc.ack(1, of: 50000)
        #expect(cc.cwnd == 3000)
    }

    @Test("paced, a whole-ACK increase still stops at ssthresh")
    func pacedSlowStartStopsAtSsthresh() {
        var cc = reno()
        cc.paced = true
        cc.ack(1, of: 30000)  // 10000 → 40000
        cc.enterFastRecovery(flightSize: 40000, now: t0)  // ssthresh 20000
        cc.endRecovery(now: t0)  // cwnd = ssthresh 20000
        // Idle past the RTO: back to the initial window, below ssthresh, in slow start again (RFC 5681 §4.1).
        cc.onIdleRestart(idle: .seconds(5), rto: .seconds(1), now: t0)
        #expect(cc.cwnd == 10000 && cc.inSlowStart)
        cc.ack(1, of: 50000)
        #expect(cc.cwnd == 20000)
    }

    @Test("congestion avoidance adds one SMSS per cwnd of bytes acknowledged (≈ 1 SMSS per RTT)")
    func congestionAvoidance() {
        var cc = reno()
        cc.ack(10, of: 1000)  // slow start: 20000
        cc.enterFastRecovery(flightSize: 20000, now: t0)  // ssthresh 10000
        cc.exitRecovery(flightSize: 10000, now: .zero)  // min(10000, 11000) = 10000 = ssthresh
        #expect(cc.cwnd == 10000)
        #expect(!cc.inSlowStart)
        // bytes_acked reaches cwnd = 10000 on the 10th ACK: cwnd 11000.
        cc.ack(9, of: 1000)
        #expect(cc.cwnd == 10000)
        cc.ack(1, of: 1000)
        #expect(cc.cwnd == 11000)
        // Next RTT: 11 segments for the next segment of growth.
        cc.ack(10, of: 1000)
        #expect(cc.cwnd == 11000)
        cc.ack(1, of: 1000)
        #expect(cc.cwnd == 12000)
        // Delayed ACKs: 6 ACKs of 2000 = 12000 bytes → +1000, still one SMSS per window.
        cc.ack(6, of: 2000)
        #expect(cc.cwnd == 13000)
    }

    @Test("fast recovery halves ssthresh, PRR sets cwnd, and the end of recovery leaves cwnd = ssthresh")
    func fastRecoverySequence() {
        var cc = reno()
        cc.ack(10, of: 1000)  // cwnd 20000
        // RFC 5681 §3.2 step 2: ssthresh = max(FlightSize/2, 2·SMSS) = max(10000, 2000) = 10000.
        // cwnd is not touched: PRR sets it on every ACK from here (RFC 9937 §5).
        cc.enterFastRecovery(flightSize: 20000, now: t0)
        #expect(cc.inRecovery)
        #expect(cc.ssthresh == 10000)
        #expect(cc.cwnd == 20000)
        // PRR: cwnd = pipe + sndcnt, whatever that is, floored at 1·SMSS.
        cc.setRecoveryWindow(7000)
        #expect(cc.cwnd == 7000)
        cc.setRecoveryWindow(300)
        #expect(cc.cwnd == 1000)
        cc.setRecoveryWindow(12000)
        #expect(cc.cwnd == 12000)
        // ACKs in recovery do not grow cwnd; entering again changes nothing (RFC 6582's `recover`).
        cc.ack(3, of: 1000)
        cc.enterFastRecovery(flightSize: 40000, now: t0)
        #expect(cc.ssthresh == 10000)
        #expect(cc.cwnd == 12000)
        // RFC 9937 §5, at the end of recovery: cwnd = ssthresh; then congestion avoidance.
        cc.endRecovery(now: .zero)
        #expect(!cc.inRecovery)
        #expect(cc.cwnd == 10000)
        #expect(!cc.inSlowStart)
        // Outside recovery both hooks are no-ops.
        cc.setRecoveryWindow(3000)
        cc.endRecovery(now: .zero)
        #expect(cc.cwnd == 10000)
    }

    @Test("a full ACK with a small flight leaves cwnd below ssthresh, then slow start (RFC 6582 §3.2 step 3 option 1)")
    func fullAckSmallFlight() {
        var cc = reno()
        cc.ack(10, of: 1000)
        cc.enterFastRecovery(flightSize: 20000, now: t0)
        // cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) = min(10000, 6000 + 1000) = 7000.
        cc.exitRecovery(flightSize: 6000, now: .zero)
        #expect(!cc.inRecovery)
        #expect(cc.cwnd == 7000)
        #expect(cc.inSlowStart)
        cc.ack(1, of: 1000)
        #expect(cc.cwnd == 8000)
    }

    @Test("a full ACK with a large flight leaves cwnd at ssthresh")
    func fullAckLargeFlight() {
        var cc = reno()
        cc.ack(10, of: 1000)
        cc.enterFastRecovery(flightSize: 20000, now: t0)
        // min(10000, 15000 + 1000) = 10000.
        cc.exitRecovery(flightSize: 15000, now: .zero)
        #expect(cc.cwnd == 10000)
    }

    @Test("a tiny flight still leaves ssthresh at 2·SMSS, and recovery ends with cwnd at 2·SMSS")
    func smallFlightFloor() {
        var cc = reno()
        // ssthresh = max(3000/2, 2000) = 2000.
        cc.enterFastRecovery(flightSize: 3000, now: t0)
        #expect(cc.ssthresh == 2000)
        // PRR with nothing in the pipe: the 1·SMSS floor.
        cc.setRecoveryWindow(0)
        #expect(cc.cwnd == 1000)
        // min(2000, max(0, 1000) + 1000) = 2000.
        cc.exitRecovery(flightSize: 0, now: .zero)
        #expect(cc.cwnd == 2000)
    }

    @Test("an RTO cuts cwnd to one segment and ssthresh to half the flight (RFC 5681 §3.1 eqn 4)")
    func retransmissionTimeout() {
        var cc = reno()
        cc.ack(10, of: 1000)  // 20000
        cc.enterFastRecovery(flightSize: 20000, now: t0)
        // ssthresh = max(20000/2, 2000) = 10000; cwnd = LW = 1000; recovery abandoned.
        cc.onRetransmissionTimeout(flightSize: 20000, now: t0)
        #expect(cc.cwnd == 1000)
        #expect(cc.ssthresh == 10000)
        #expect(!cc.inRecovery)
        // The timer fires again for the same data: ssthresh is held (not 8000/2).
        cc.onRetransmissionTimeout(flightSize: 8000, now: t0)
        #expect(cc.ssthresh == 10000)
        #expect(cc.cwnd == 1000)
        // Slow start after an RTO counts at most L = 1·SMSS per ACK (RFC 3465 §2.3).
        cc.ack(1, of: 3000)
        #expect(cc.cwnd == 2000)
        // That ACK ended the episode: a new RTO recomputes, max(1000/2, 2000) = 2000.
        cc.onRetransmissionTimeout(flightSize: 1000, now: t0)
        #expect(cc.ssthresh == 2000)
        #expect(cc.cwnd == 1000)
    }

    @Test("after an idle period longer than the RTO cwnd restarts at the initial window (RFC 5681 §4.1)")
    func idleRestart() {
        var cc = reno()
        cc.ack(10, of: 1000)  // 20000
        cc.onIdleRestart(idle: .milliseconds(500), rto: .seconds(1))
        #expect(cc.cwnd == 20000)
        cc.onIdleRestart(idle: .seconds(1), rto: .seconds(1))  // not longer than the RTO
        #expect(cc.cwnd == 20000)
        cc.onIdleRestart(idle: .seconds(2), rto: .seconds(1))  // RW = min(IW, cwnd) = 10000
        #expect(cc.cwnd == 10000)
        var small = reno()
        small.onRetransmissionTimeout(flightSize: 10000, now: t0)  // cwnd 1000 < IW
        small.onIdleRestart(idle: .seconds(5), rto: .seconds(1))
        #expect(small.cwnd == 1000)
    }

    @Test("hostile inputs never crash and keep cwnd within [1 byte, 2³¹ − 1]")
    func hostileInputs() {
        var cc = CongestionControl(.newReno, mss: 0, now: t0)
        #expect(cc.mss == 1)
        #expect(cc.cwnd == 10)  // min(10·1, max(2·1, 14600))
        cc.setMSS(Int.max)
        #expect(cc.mss == 65535)
        cc.onAck(newlyAcked: -5, flightSize: -1, rtt: .seconds(-1), now: t0)
        cc.setRecoveryWindow(Int.min)
        cc.exitRecovery(flightSize: Int.min, now: .zero)
        for _ in 0..<100_000 { cc.onAck(newlyAcked: Int.max, flightSize: Int.max, rtt: nil, now: t0) }
        #expect(cc.cwnd == CongestionWindow.maximum)
        cc.enterFastRecovery(flightSize: Int.max, now: t0)
        #expect(cc.cwnd <= CongestionWindow.maximum)
        cc.setRecoveryWindow(Int.max)
        #expect(cc.cwnd == CongestionWindow.maximum)
        cc.setRecoveryWindow(Int.min)
        #expect(cc.cwnd == 65535)
        cc.endRecovery(now: .zero)
        #expect(cc.cwnd == cc.ssthresh && cc.cwnd <= CongestionWindow.maximum)
        cc.onRetransmissionTimeout(flightSize: Int.min, now: t0)
        #expect(cc.cwnd == 65535)
        #expect(cc.ssthresh >= 2 * 65535)
    }

    @Test("random events match a plain model of RFC 5681 / 3465 with PRR's window hooks")
    func randomizedAgainstModel() {
        var rng = SplitMix64(state: 5681)
        var cc = reno()
        var model = RenoModel(mss: 1000)
        for step in 0..<20000 {
            let bytes = Int.random(in: 0...6000, using: &rng)
            let flight = Int.random(in: 0...80000, using: &rng)
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: cc.enterFastRecovery(flightSize: flight, now: t0); model.loss(flight)
            case 1...2: cc.setRecoveryWindow(flight); model.prr(flight)
            case 3...4: cc.endRecovery(now: .zero); model.full(model.ssthresh)
            case 5: cc.exitRecovery(flightSize: flight, now: .zero); model.full(flight)
            case 6: cc.onRetransmissionTimeout(flightSize: flight, now: t0); model.timeout(flight)
            case 7: cc.onIdleRestart(idle: .seconds(2), rto: .seconds(1)); model.idle()
            default:
                if cc.inRecovery { continue }  // onAck is for ACKs outside recovery
                cc.onAck(newlyAcked: bytes, flightSize: flight, rtt: nil, now: t0); model.ack(bytes)
            }
            #expect(cc.cwnd == model.cwnd, "step \(step)")
            #expect(cc.ssthresh == model.ssthresh, "step \(step)")
            #expect(cc.inRecovery == model.recovering, "step \(step)")
            if cc.ssthresh != Int.max { #expect(cc.ssthresh >= 2000) }
            #expect(cc.cwnd >= 1000)
        }
    }
}

/// The RFC text as plainly as it reads, in bytes with a fixed SMSS.
private struct RenoModel {
    let mss: Int
    var cwnd: Int
    var ssthresh = Int.max
    var recovering = false
    var counted = 0  // RFC 3465 bytes_acked
    var rtoAgain = false  // an RTO with no new ACK since
    var afterRTO = false  // slow start following an RTO

    init(mss: Int) {
        self.mss = mss
        cwnd = min(10 * mss, max(2 * mss, 14600))
    }

    mutating func ack(_ n: Int) {
        rtoAgain = false
        guard n > 0 else { return }
        if cwnd < ssthresh {
            cwnd += min(n, afterRTO ? mss : 2 * mss, ssthresh - cwnd)
            if cwnd >= ssthresh { afterRTO = false }
        } else {
            counted += n
            if counted >= cwnd { counted -= cwnd; cwnd += mss }
        }
    }

    mutating func loss(_ flight: Int) {
        guard !recovering else { return }
        ssthresh = max(flight / 2, 2 * mss)
        recovering = true
        afterRTO = false
        counted = 0
    }

    /// RFC 9937 §5: cwnd = pipe + sndcnt, at least one segment.
    mutating func prr(_ window: Int) { if recovering { cwnd = max(window, mss) } }

    mutating func full(_ flight: Int) {
        guard recovering else { return }
        cwnd = min(ssthresh, max(flight, mss) + mss)
        recovering = false
        rtoAgain = false
        counted = 0
    }

    mutating func timeout(_ flight: Int) {
        if !rtoAgain { ssthresh = max(flight / 2, 2 * mss) }
        cwnd = mss
        recovering = false
        rtoAgain = true
        afterRTO = true
        counted = 0
    }

    mutating func idle() { cwnd = min(cwnd, min(10 * mss, max(2 * mss, 14600))) }
}
