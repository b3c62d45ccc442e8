// RTT estimation and the retransmission timeout (RFC 6298). Expected values
// are the RFC's formulas worked by hand in the comments, or come from a plain
// floating-point model of those formulas.

@testable import NetStackCore
import Testing

private let ms: Int64 = 1_000_000

@Suite("RTTEstimator (RFC 6298)")
struct RTTEstimatorTests {
    @Test("before any sample the RTO is the initial 1 s and SRTT is unknown (§2.1)")
    func initialState() {
        let estimator = RTTEstimator()
        #expect(estimator.srtt == nil)
        #expect(estimator.rttvar == .zero)
        #expect(estimator.rto == .seconds(1))
        #expect(estimator.backoffCount == 0)
    }

    @Test("SRTT, RTTVAR and RTO follow §2.2 then §2.3 on a hand-worked sequence")
    func formulas() {
        var estimator = RTTEstimator()
        // First sample R = 100 ms (§2.2): SRTT = R = 100 ms, RTTVAR = R/2 = 50 ms,
        // RTO = SRTT + max(G, 4·RTTVAR) = 100 + max(1, 200) = 300 ms.
        estimator.addSample(.milliseconds(100))
        #expect(estimator.srttNanoseconds == 100 * ms)
        #expect(estimator.rttvarNanoseconds == 50 * ms)
        #expect(estimator.rto == .milliseconds(300))
        // R' = 200 ms (§2.3, RTTVAR first, with the old SRTT):
        // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 37.5 + 25 = 62.5 ms
        // SRTT   = 7/8·100 + 1/8·200 = 87.5 + 25 = 112.5 ms
        // RTO    = 112.5 + 4·62.5 = 362.5 ms
        estimator.addSample(.milliseconds(200))
        #expect(estimator.rttvarNanoseconds == 62_500_000)
        #expect(estimator.srttNanoseconds == 112_500_000)
        #expect(estimator.rto == .microseconds(362_500))
        // R' = 100 ms:
        // RTTVAR = 3/4·62.5 + 1/4·|112.5 − 100| = 46.875 + 3.125 = 50 ms
        // SRTT   = 7/8·112.5 + 1/8·100 = 98.4375 + 12.5 = 110.9375 ms
        // RTO    = 110.9375 + 200 = 310.9375 ms
        estimator.addSample(.milliseconds(100))
        #expect(estimator.rttvarNanoseconds == 50 * ms)
        #expect(estimator.srttNanoseconds == 110_937_500)
        #expect(estimator.rtoNanoseconds == 310_937_500)
        #expect(estimator.srtt == .nanoseconds(110_937_500))
        #expect(estimator.rttvar == .milliseconds(50))
    }

    @Test("a short RTT is clamped up to the 200 ms minimum RTO")
    func minimumClamp() {
        var estimator = RTTEstimator()
        // R = 10 ms: SRTT 10, RTTVAR 5, RTO = 10 + 20 = 30 ms → clamped to 200 ms.
        estimator.addSample(.milliseconds(10))
        #expect(estimator.srttNanoseconds == 10 * ms)
        #expect(estimator.rto == .milliseconds(200))
    }

    @Test("the clock granularity G bounds the variance term (§2.3: max(G, 4·RTTVAR))")
    func clockGranularity() {
        var estimator = RTTEstimator(minimumRTO: .microseconds(1), clockGranularity: .milliseconds(1))
        // R = 0: SRTT 0, RTTVAR 0, RTO = 0 + max(1 ms, 0) = 1 ms.
        estimator.addSample(.zero)
        #expect(estimator.rto == .milliseconds(1))
        // R = 4 ms: RTTVAR = 0 + 1 = 1 ms, SRTT = 0.5 ms, RTO = 0.5 + max(1, 4) = 4.5 ms.
        estimator.addSample(.milliseconds(4))
        #expect(estimator.rto == .microseconds(4500))
    }

    @Test("backoff doubles the RTO up to the 120 s cap, and a new sample ends it (§5.5)")
    func backoff() {
        var estimator = RTTEstimator()
        // 1 s doubled: 2, 4, 8, 16, 32, 64, then 128 → capped at 120, and it stays there.
        let expected: [Int64] = [2, 4, 8, 16, 32, 64, 120, 120, 120]
        for (index, seconds) in expected.enumerated() {
            estimator.backoff()
            #expect(estimator.backoffCount == index + 1)
            #expect(estimator.rto == .seconds(seconds))
        }
        for _ in 0..<100 { estimator.backoff() }
        #expect(estimator.rto == .seconds(120))
        #expect(estimator.backoffCount == 109)
        // A sample ends the backoff: RTO = 300 ms as in the first step above.
        estimator.addSample(.milliseconds(100))
        #expect(estimator.backoffCount == 0)
        #expect(estimator.rto == .milliseconds(300))
    }

    @Test("backoff starts from the computed RTO, clamped before doubling")
    func backoffFromComputedRTO() {
        var estimator = RTTEstimator()
        estimator.addSample(.milliseconds(10))  // RTO 30 ms → 200 ms (minimum)
        estimator.backoff()
        #expect(estimator.rto == .milliseconds(400))
        estimator.backoff()
        #expect(estimator.rto == .milliseconds(800))
    }

    @Test("absurd samples are clamped, never overflow: negative → 0, huge → the maximum")
    func hostileSamples() {
        var estimator = RTTEstimator()
        estimator.addSample(.seconds(-5))
        #expect(estimator.srttNanoseconds == 0)
        #expect(estimator.rto == .milliseconds(200))
        estimator.addSample(.seconds(Int64.max))
        #expect(estimator.rto == .seconds(120))
        var fresh = RTTEstimator()
        fresh.addSample(.seconds(500))  // SRTT 120 s (clamped) → RTO 120 s
        #expect(fresh.srttNanoseconds == 120_000 * ms)
        #expect(fresh.rto == .seconds(120))
    }

    @Test("inconsistent bounds are repaired rather than trusted")
    func bounds() {
        let estimator = RTTEstimator(initialRTO: .seconds(500), minimumRTO: .seconds(2), maximumRTO: .seconds(1))
        #expect(estimator.minimumRTONanoseconds == 2000 * ms)
        #expect(estimator.maximumRTONanoseconds == 2000 * ms)
        #expect(estimator.rto == .seconds(2))
    }

    @Test("after a SYN timeout the RTO restarts at 3 s unless a sample exists (§5.7)")
    func synTimeout() {
        var estimator = RTTEstimator()
        estimator.backoff()
        estimator.reinitializeAfterSYNTimeout()
        #expect(estimator.backoffCount == 0)
        #expect(estimator.rto == .seconds(3))
        var sampled = RTTEstimator()
        sampled.addSample(.milliseconds(100))
        sampled.reinitializeAfterSYNTimeout()
        #expect(sampled.rto == .milliseconds(300))
    }

    @Test("random samples and backoffs match a floating-point model of the formulas")
    func randomizedAgainstModel() {
        var rng = SplitMix64(state: 0x6298)
        var estimator = RTTEstimator()
        var srtt: Double? = nil  // nanoseconds
        var rttvar = 0.0
        var base = 1e9
        var backoffs = 0
        for _ in 0..<5000 {
            if Int.random(in: 0..<5, using: &rng) == 0 {
                estimator.backoff()
                backoffs += 1
            } else {
                let r = Double(Int64.random(in: 0...3_000 * ms, using: &rng))
                estimator.addSample(.nanoseconds(Int64(r)))
                if let s = srtt {
                    rttvar = 0.75 * rttvar + 0.25 * abs(s - r)
                    srtt = 0.875 * s + 0.125 * r
                } else {
                    srtt = r
                    rttvar = r / 2
                }
                base = min(max(srtt! + max(1e6, 4 * rttvar), 200e6), 120e9)
                backoffs = 0
            }
            var expected = base
            for _ in 0..<min(backoffs, 40) { expected = min(expected * 2, 120e9) }
            // Integer division truncates by < 1 ns a step; the errors decay geometrically.
            let tolerance = 100.0 * Double(1 << min(backoffs, 20))
            #expect(abs(Double(estimator.rtoNanoseconds) - expected) <= tolerance)
            if let s = srtt { #expect(abs(Double(estimator.srttNanoseconds ?? -1) - s) <= 100) }
            #expect(estimator.backoffCount == backoffs)
        }
    }
}
