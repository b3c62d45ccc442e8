/// A token bucket limiting how fast ICMP errors go out (RFC 1812 §4.3.2.8,
/// RFC 1122 §3.2.2): a flood of bad packets must not turn into a flood of errors.
public struct ICMPRateLimiter: Sendable {
    /// Errors that may go out in a burst.
    public var burst: Int
    /// Time for one token to come back.
    public var interval: Duration
    private var tokens: Int
    private var lastRefill: Instant?

    /// Defaults like Linux's `icmp_ratelimit`/`icmp_msgs_per_sec`: a burst of 50, then 1000 per second.
    public init(burst: Int = 50, interval: Duration = .milliseconds(1)) {
        self.burst = burst
        self.interval = interval
        tokens = burst
    }

    /// Takes a token if one is left; false means "suppress this error".
    public mutating func allow(now: Instant) -> Bool {
        let step = max(interval.nanoseconds, 1)
        if let last = lastRefill {
            let earned = (now.nanoseconds - last.nanoseconds) / step
            if earned > 0 {
                tokens = min(burst, tokens + Int(clamping: earned))
                lastRefill = Instant(nanoseconds: last.nanoseconds + earned * step)
            }
        } else {
            lastRefill = now
        }
        guard tokens > 0 else { return false }
        if tokens == burst { lastRefill = now }
        tokens -= 1
        return true
    }
}
