// Reno congestion control: RFC 5681 §3, with RFC 3465 appropriate byte
// counting. The shared mechanics (initial window, slow start, entering and
// leaving recovery, loss window, idle restart) live in `CongestionWindow`;
// this type adds Reno's congestion avoidance and its ssthresh rule. In fast
// recovery the connection's PRR (RFC 9937) sets cwnd.

/// Reno congestion control (RFC 5681, RFC 3465). A value
/// type of a few words; every method is O(1) integer arithmetic.
struct NewReno: Sendable {
    /// cwnd, ssthresh, recovery state and the shared mechanics.
    var window: CongestionWindow
    /// RFC 3465 §2.1 `bytes_acked`: bytes acknowledged in congestion avoidance
    /// not yet turned into window growth.
    private(set) var bytesAcked = 0

    /// Starts at the RFC 6928 initial window for `mss`, ssthresh unbounded. O(1).
    init(mss: Int) { window = CongestionWindow(mss: mss) }

    /// A cumulative ACK of `newlyAcked` new bytes outside recovery. Slow start
    /// while cwnd < ssthresh (RFC 5681 §3.1 with RFC 3465 byte counting);
    /// otherwise congestion avoidance as RFC 5681 §3.1 recommends and RFC 3465
    /// §2.1 specifies: once `bytes_acked` ≥ cwnd, subtract cwnd and add one
    /// SMSS — one segment per window of data, i.e. ≈ 1 SMSS per RTT. Grows on
    /// every ACK whatever the flight (RFC 5681 as written). O(1).
    mutating func onAck(newlyAcked: Int) {
        let acked = CongestionWindow.clampBytes(newlyAcked)
        window.newDataAcknowledged()
        guard acked > 0, !window.inRecovery else { return }
        if window.inSlowStart {
            window.slowStart(acked: acked)
            return
        }
        bytesAcked = min(bytesAcked + acked, CongestionWindow.maximum)
        if bytesAcked >= window.cwnd {
            bytesAcked -= window.cwnd
            window.cwnd = min(window.cwnd + window.mss, CongestionWindow.maximum)
        }
    }

    /// A loss detected: ssthresh = max(FlightSize/2, 2·SMSS) (RFC 5681 §3.1
    /// eqn 4, used by §3.2 step 2); cwnd is PRR's from here on (RFC 9937 §5).
    /// No-op if already in recovery (RFC 6582's `recover` keeps it to once per
    /// window). O(1).
    mutating func enterFastRecovery(flightSize: Int) {
        guard !window.inRecovery else { return }
        window.enterRecovery(reducedTo: CongestionWindow.clampBytes(flightSize) / 2)
        bytesAcked = 0
    }

    /// The end of recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)
    /// (RFC 6582 §3.2 step 3 option 1; PRR's end, cwnd = ssthresh, passes
    /// FlightSize = ssthresh); congestion avoidance counts from zero again. O(1).
    mutating func exitRecovery(flightSize: Int) {
        guard window.inRecovery else { return }
        window.exitRecovery(flightSize: flightSize)
        bytesAcked = 0
    }

    /// RTO: ssthresh = max(FlightSize/2, 2·SMSS) (RFC 5681 §3.1 eqn 4; held
    /// if the RTO repeats), cwnd = 1·SMSS. O(1).
    mutating func onRetransmissionTimeout(flightSize: Int) {
        window.timeout(reducedTo: CongestionWindow.clampBytes(flightSize) / 2)
        bytesAcked = 0
    }
}
