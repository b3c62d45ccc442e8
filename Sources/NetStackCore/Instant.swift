/// A point in time as the stack sees it: nanoseconds since an arbitrary origin.
///
/// The core never reads a clock. Whoever drives it (the simulator's virtual
/// clock, the runtime's monotonic clock, a test) passes the current `Instant`
/// in, and asks the core for its next deadline.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the origin.
    public var nanoseconds: Int64

    /// Makes an instant `nanoseconds` after the origin.
    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin, time zero.
    public static let zero = Instant(nanoseconds: 0)

    /// An instant `seconds` after the origin.
    @inlinable public static func seconds(_ seconds: Double) -> Instant {
        Instant(nanoseconds: Int64((seconds * 1e9).rounded()))
    }

    /// An instant `milliseconds` after the origin.
    @inlinable public static func milliseconds(_ milliseconds: Int64) -> Instant {
        Instant(nanoseconds: milliseconds * 1_000_000)
    }

    /// Seconds since the origin, as a `Double`.
    @inlinable public var seconds: Double { Double(nanoseconds) / 1e9 }

    @inlinable public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// The instant `d` later.
    @inlinable public static func + (a: Instant, d: Duration) -> Instant {
        Instant(nanoseconds: a.nanoseconds &+ d.nanoseconds)
    }

    /// The instant `d` earlier.
    @inlinable public static func - (a: Instant, d: Duration) -> Instant {
        Instant(nanoseconds: a.nanoseconds &- d.nanoseconds)
    }

    /// The time from `b` to `a`.
    @inlinable public static func - (a: Instant, b: Instant) -> Duration {
        .nanoseconds(a.nanoseconds &- b.nanoseconds)
    }

    /// `12.345678s`, six decimals, as the demo prints timestamps.
    public var description: String {
        let micros = nanoseconds / 1000
        let fraction = String(abs(micros % 1_000_000))
        return "\(micros / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)s"
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating at `Int64`'s range).
    @inlinable public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }
}
