public import NetStackCore
import Glibc

/// The monotonic clock as the core's `Instant`: nanoseconds since the clock was made.
/// One `clock_gettime` (vDSO, ~20 ns) per reading; never jumps with wall-clock changes.
public struct MonotonicClock: Sendable {
    private let origin: Int64

    /// A clock that reads zero now.
    public init() { origin = Self.raw() }

    /// The current instant.
    public func now() -> Instant { Instant(nanoseconds: Self.raw() - origin) }

    private static func raw() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
