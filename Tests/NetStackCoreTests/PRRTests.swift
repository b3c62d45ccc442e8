@testable import NetStackCore
import Testing

/// RFC 9937 §5's per-ACK arithmetic, in segments of 1000 bytes.
@Suite("PRR: proportional rate reduction (RFC 9937)")
struct PRRTests {
    let mss = 1000

    @Test("Reno's halving: one segment sent for every two delivered while pipe > ssthresh (RFC 9937 §5)")
    func oneForTwo() {
        // RecoverFS 20 segments, ssthresh 10: sndcnt = ⌈k·10/20⌉ − prr_out after k segments delivered.
        var prrOut = 0
        var pattern: [Int] = []
        for k in 1...8 {
            let sent = ProportionalRateReduction.sendCount(
                prrDelivered: k * mss, prrOut: prrOut, recoverFS: 20 * mss, pipe: 19 * mss,
                ssthresh: 10 * mss, delivered: mss, safeAck: false, mss: mss)
            pattern.append(sent / mss)
            prrOut += sent
        }
        #expect(pattern == [1, 0, 1, 0, 1, 0, 1, 0])
        #expect(prrOut == 4 * mss)  // half of what was delivered
    }

    @Test("the first ACK of recovery always lets the fast retransmit go")
    func fastRetransmitForced() {
        let sent = ProportionalRateReduction.sendCount(
            prrDelivered: 0, prrOut: 0, recoverFS: 20 * mss, pipe: 19 * mss,
            ssthresh: 10 * mss, delivered: 0, safeAck: false, mss: mss)
        #expect(sent == mss)
    }

    @Test("below ssthresh: PRR-CRB sends what was delivered; a safe ACK (PRR-SSRB) one segment more; never past ssthresh")
    func reductionBound() {
        // pipe 4 < ssthresh 10; prr_delivered = prr_out: sndcnt = max(0, DeliveredData).
        let conservative = ProportionalRateReduction.sendCount(
            prrDelivered: 6 * mss, prrOut: 6 * mss, recoverFS: 20 * mss, pipe: 4 * mss,
            ssthresh: 10 * mss, delivered: mss, safeAck: false, mss: mss)
        #expect(conservative == mss)
        let slowStart = ProportionalRateReduction.sendCount(
            prrDelivered: 6 * mss, prrOut: 6 * mss, recoverFS: 20 * mss, pipe: 4 * mss,
            ssthresh: 10 * mss, delivered: mss, safeAck: true, mss: mss)
        #expect(slowStart == 2 * mss)
        // Catching up after ACK loss: prr_delivered − prr_out = 5 segments, but only ssthresh − pipe = 1 fits.
        let capped = ProportionalRateReduction.sendCount(
            prrDelivered: 11 * mss, prrOut: 6 * mss, recoverFS: 20 * mss, pipe: 9 * mss,
            ssthresh: 10 * mss, delivered: mss, safeAck: true, mss: mss)
        #expect(capped == mss)
    }
}
