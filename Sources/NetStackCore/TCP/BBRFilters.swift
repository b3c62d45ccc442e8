// The small fixed-size helpers BBR's model is built from: the windowed max
// filter behind BBR.max_bw and BBR.extra_acked (draft-ietf-ccwg-bbr §5.5.5,
// §5.5.9; Kathleen Nichols' algorithm, as in Linux's lib/win_minmax.c), and
// the seeded generator that randomizes ProbeBW's cycle timing (§5.3.3.8).
// Both are a few words inline; every operation is O(1) and allocation-free.

/// A running maximum over a sliding window of "time" (any monotonic counter:
/// ProbeBW cycles, packet-timed rounds).
///
/// Keeps the best, second-best and third-best samples of the window, each
/// newer than the one before, so that when the best expires the next one is
/// already known (Nichols' three-sample scheme). A sample taken at `time` is
/// in the window while `now − time < window`. O(1) per update, three slots.
struct WindowedMaxFilter: Sendable, Equatable {
    /// One remembered sample.
    struct Sample: Sendable, Equatable {
        /// The value (bytes per second, bytes, …).
        var value: Int
        /// When it was taken, in the filter's units of time.
        var time: Int64
    }

    /// Best, second-best and third-best in the window, oldest first.
    private(set) var samples: (Sample, Sample, Sample)

    /// A filter holding `value` at `time` in every slot. O(1).
    init(value: Int = 0, time: Int64 = 0) {
        let sample = Sample(value: value, time: time)
        samples = (sample, sample, sample)
    }

    /// The maximum over the window. O(1).
    var best: Int { samples.0.value }

    /// Forgets everything: every slot becomes `value` at `time`. O(1).
    mutating func reset(value: Int, time: Int64) {
        self = WindowedMaxFilter(value: value, time: time)
    }

    /// Takes `value` at `time` into a window `window` long (at least 1) and
    /// returns the new maximum. O(1).
    @discardableResult
    mutating func update(_ value: Int, time: Int64, window: Int64) -> Int {
        let window = max(window, 1)
        let sample = Sample(value: value, time: time)
        // A new best, or nothing left in the window: start over from this sample.
        if value >= samples.0.value || time &- samples.2.time >= window {
            reset(value: value, time: time)
            return best
        }
        if value >= samples.1.value {
            samples.1 = sample
            samples.2 = sample
        } else if value >= samples.2.value {
            samples.2 = sample
        }
        return expire(sample, window: window)
    }

    /// Ages the slots (Nichols' subwindow rule): the best expires into the
    /// second best; a second or third best as old as the one above it is
    /// refreshed after a quarter or half window, so the filter always holds
    /// candidates from later in the window. O(1).
    private mutating func expire(_ sample: Sample, window: Int64) -> Int {
        let age = sample.time &- samples.0.time
        if age >= window {
            samples.0 = samples.1
            samples.1 = samples.2
            samples.2 = sample
            if sample.time &- samples.0.time >= window {
                samples.0 = samples.1
                samples.1 = samples.2
                samples.2 = sample
            }
        } else if samples.1.time == samples.0.time && age > window / 4 {
            samples.1 = sample
            samples.2 = sample
        } else if samples.2.time == samples.1.time && age > window / 2 {
            samples.2 = sample
        }
        return best
    }

    static func == (a: WindowedMaxFilter, b: WindowedMaxFilter) -> Bool {
        a.samples.0 == b.samples.0 && a.samples.1 == b.samples.1 && a.samples.2 == b.samples.2
    }
}

extension BBR {
    /// SplitMix64 (Steele, Lea and Flood 2014): a 64-bit seeded generator,
    /// one add and three multiply-xor-shifts per number, so a simulated run
    /// draws the same ProbeBW timings every time. O(1).
    struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
        /// The generator's whole state.
        private(set) var state: UInt64

        /// A generator started from `seed`. O(1).
        init(seed: UInt64) { state = seed }

        /// The next 64 random bits. O(1).
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        /// A uniform Double in [0, 1), from the top 53 bits. O(1).
        mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
    }
}
