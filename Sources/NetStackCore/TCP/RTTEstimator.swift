// Round-trip time estimation and the retransmission timeout (RFC 6298).
//
// Read: RFC 6298 §2 (the estimator), §5 (the timer and its backoff), RFC 9293
// §3.8.1 (Karn's algorithm). All state is integer nanoseconds: `Duration` is a
// 128-bit (seconds, attoseconds) pair and slow to do arithmetic on.

/// The smoothed RTT, its variation and the retransmission timeout of one
/// connection (RFC 6298).
///
/// **Karn's rule is the caller's job** (RFC 6298 §3, RFC 9293 §3.8.1): never
/// feed ``addSample(_:)`` an RTT measured on a segment that was retransmitted,
/// because its ACK cannot say which transmission it answers. (With RFC 7323
/// timestamps the echoed TSval removes the ambiguity, and such samples are fine.)
/// RFC 6298 §5.7 — RTO back to 3 s after a timed-out SYN — is the caller's too;
/// ``reinitializeAfterSYNTimeout()`` does the arithmetic.
///
/// Every member is O(1), branch-light integer arithmetic; nothing allocates.
struct RTTEstimator: Sendable {
    /// RTO before the first sample (RFC 6298 §2.1: 1 second), in nanoseconds.
    let initialRTONanoseconds: Int64
    /// Lower bound on the RTO (RFC 6298 §2.4 says 1 s; Linux uses 200 ms), in nanoseconds.
    let minimumRTONanoseconds: Int64
    /// Upper bound on the RTO, backoff included (RFC 6298 §2.5: at least 60 s), in nanoseconds.
    let maximumRTONanoseconds: Int64
    /// The clock granularity G of RFC 6298 §2.2–2.3, in nanoseconds.
    let clockGranularityNanoseconds: Int64

    /// SRTT in nanoseconds; nil until the first sample (RFC 6298 §2.1).
    private(set) var srttNanoseconds: Int64?
    /// RTTVAR in nanoseconds; 0 until the first sample.
    private(set) var rttvarNanoseconds: Int64 = 0
    /// The RTO of §2.2/§2.3, clamped to [minimum, maximum], before any backoff.
    private(set) var baseRTONanoseconds: Int64
    /// Timer expirations since the last sample: the RTO is doubled this many times (RFC 6298 §5.5).
    private(set) var backoffCount = 0

    /// An estimator with no sample yet: RTO = `initialRTO`. Bounds are made
    /// consistent rather than trusted: minimum ≥ 1 ns, maximum ≥ minimum and at
    /// most 2⁵⁰ ns (13 days, so the ×8 smoothing arithmetic cannot overflow),
    /// initial within them, G ≥ 0. O(1).
    init(
        initialRTO: Duration = .seconds(1),
        minimumRTO: Duration = .milliseconds(200),
        maximumRTO: Duration = .seconds(120),
        clockGranularity: Duration = .milliseconds(1)
    ) {
        let ceiling: Int64 = 1 << 50
        let minimum = min(max(minimumRTO.nanoseconds, 1), ceiling)
        let maximum = min(max(maximumRTO.nanoseconds, minimum), ceiling)
        minimumRTONanoseconds = minimum
        maximumRTONanoseconds = maximum
        initialRTONanoseconds = min(max(initialRTO.nanoseconds, minimum), maximum)
        clockGranularityNanoseconds = min(max(clockGranularity.nanoseconds, 0), ceiling)
        baseRTONanoseconds = initialRTONanoseconds
    }

    /// SRTT, nil before the first sample (RFC 6298 §2). O(1).
    var srtt: Duration? { srttNanoseconds.map { .nanoseconds($0) } }

    /// RTTVAR, zero before the first sample (RFC 6298 §2). O(1).
    var rttvar: Duration { .nanoseconds(rttvarNanoseconds) }

    /// The current RTO with backoff: base × 2^backoffCount, at most the maximum
    /// (RFC 6298 §5.5). O(1).
    var rto: Duration { .nanoseconds(rtoNanoseconds) }

    /// ``rto`` in nanoseconds, for timer arithmetic on `Instant`s. O(1), no overflow:
    /// a doubling that would pass the maximum is the maximum.
    var rtoNanoseconds: Int64 {
        let base = baseRTONanoseconds
        let shift = backoffCount
        if shift == 0 { return base }
        if shift >= 62 || base > maximumRTONanoseconds >> Int64(shift) { return maximumRTONanoseconds }
        return min(base << Int64(shift), maximumRTONanoseconds)
    }

    /// Takes one RTT measurement R (RFC 6298 §2.2 for the first, §2.3 after):
    ///
    ///     first:  SRTT = R, RTTVAR = R/2
    ///     later:  RTTVAR = 3/4·RTTVAR + 1/4·|SRTT − R|   (β = 1/4, old SRTT)
    ///             SRTT   = 7/8·SRTT   + 1/8·R            (α = 1/8)
    ///     then:   RTO = SRTT + max(G, 4·RTTVAR), clamped (§2.4, §2.5)
    ///
    /// A new sample also ends any backoff: the path answered, so the doubled
    /// timer no longer describes it. Samples are clamped to [0, maximum RTO]
    /// (a longer RTT could never be measured without the timer firing first).
    /// The caller applies Karn's rule. O(1).
    mutating func addSample(_ rtt: Duration) {
        addSample(nanoseconds: rtt.nanoseconds)
    }

    /// ``addSample(_:)`` for an RTT in nanoseconds, as the per-ACK path measures it
    /// (`Duration` arithmetic is 128-bit). O(1).
    mutating func addSample(nanoseconds rtt: Int64) {
        let r = min(max(rtt, 0), maximumRTONanoseconds)
        if let srtt = srttNanoseconds {
            let delta = srtt > r ? srtt - r : r - srtt
            rttvarNanoseconds = (3 * rttvarNanoseconds + delta) / 4
            srttNanoseconds = (7 * srtt + r) / 8
        } else {
            srttNanoseconds = r
            rttvarNanoseconds = r / 2
        }
        let srtt = srttNanoseconds ?? r
        let rto = srtt + max(clockGranularityNanoseconds, 4 * rttvarNanoseconds)
        baseRTONanoseconds = min(max(rto, minimumRTONanoseconds), maximumRTONanoseconds)
        backoffCount = 0
    }

    /// The retransmission timer expired: double the RTO, up to the maximum
    /// (RFC 6298 §5.5). ``backoffCount`` keeps counting past the cap so the
    /// caller can give up after N retries (RFC 9293 §3.8.3, R2). O(1).
    mutating func backoff() {
        if backoffCount < Int.max { backoffCount += 1 }
    }

    /// RFC 6298 §5.7: the SYN timed out, so once the handshake completes the
    /// RTO starts again at 3 s if it was below that and no sample has been
    /// taken since (a sample measures the path and overrides this). Clears the
    /// backoff. O(1).
    mutating func reinitializeAfterSYNTimeout() {
        backoffCount = 0
        guard srttNanoseconds == nil else { return }
        let threeSeconds: Int64 = 3_000_000_000
        baseRTONanoseconds = min(max(baseRTONanoseconds, threeSeconds), maximumRTONanoseconds)
    }
}
