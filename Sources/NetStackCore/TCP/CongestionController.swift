/// What every congestion-control algorithm implements: its reaction to the
/// events RFC 5681 names. ``NewReno`` and ``Cubic`` conform; a new algorithm
/// conforms too and gets a case in ``CongestionControl``, which holds the
/// chosen one inline and calls it through a `switch` — statically dispatched,
/// no existential or allocation on the per-ACK path.
protocol CongestionController: Sendable {
    /// cwnd, ssthresh and the recovery flag, shared by all algorithms.
    var window: CongestionWindow { get set }
    /// A cumulative ACK outside recovery (slow start or congestion avoidance); the
    /// smoothed RTT in nanoseconds, nil before the first sample.
    mutating func acknowledged(_ newlyAcked: Int, flightSize: Int, srttNanoseconds: Int64?, now: Instant)
    /// Fast retransmit: the multiplicative decrease and the start of fast recovery.
    mutating func fastRecovery(flightSize: Int, now: Instant)
    /// The full ACK that ends fast recovery.
    mutating func recoveryEnded(flightSize: Int)
    /// The retransmission timer fired.
    mutating func retransmissionTimeout(flightSize: Int, now: Instant)
    /// Sending restarts after `idle` with nothing in flight.
    mutating func idleRestart(idle: Duration, rto: Duration)
}

extension NewReno: CongestionController {
    mutating func acknowledged(_ newlyAcked: Int, flightSize: Int, srttNanoseconds: Int64?, now: Instant) {
        onAck(newlyAcked: newlyAcked)
    }
    mutating func fastRecovery(flightSize: Int, now: Instant) { enterFastRecovery(flightSize: flightSize) }
    mutating func recoveryEnded(flightSize: Int) { exitRecovery(flightSize: flightSize) }
    mutating func retransmissionTimeout(flightSize: Int, now: Instant) { onRetransmissionTimeout(flightSize: flightSize) }
    mutating func idleRestart(idle: Duration, rto: Duration) { _ = window.restartAfterIdle(idle: idle, rto: rto) }
}

extension Cubic: CongestionController {
    mutating func acknowledged(_ newlyAcked: Int, flightSize: Int, srttNanoseconds: Int64?, now: Instant) {
        onAck(newlyAcked: newlyAcked, flightSize: flightSize, srttNanoseconds: srttNanoseconds, now: now)
    }
    mutating func fastRecovery(flightSize: Int, now: Instant) { enterFastRecovery() }
    mutating func recoveryEnded(flightSize: Int) { exitRecovery(flightSize: flightSize) }
    mutating func retransmissionTimeout(flightSize: Int, now: Instant) { onRetransmissionTimeout() }
    mutating func idleRestart(idle: Duration, rto: Duration) { onIdleRestart(idle: idle, rto: rto) }
}
