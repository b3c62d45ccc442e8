import NetStackCore

/// A small, fast, seeded pseudo-random generator: xoshiro256** (Blackman and
/// Vigna, 2018), its state filled from the seed by SplitMix64.
///
/// The same seed gives the same sequence on every machine and Swift version,
/// which the simulator needs for byte-identical reruns (the standard library's
/// `random(in:using:)` algorithms may change, so use ``unitDouble()`` and
/// ``chance(_:)`` where exact reproducibility matters). A value type of 32
/// bytes; `next()` is a few shifts and adds. Not for cryptography.
public struct SeededRandom: RandomNumberGenerator, Hashable, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole sequence is determined by `seed`.
    public init(seed: UInt64) {
        var mix = seed
        s0 = splitMix64(&mix)
        s1 = splitMix64(&mix)
        s2 = splitMix64(&mix)
        s3 = splitMix64(&mix)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = (s1 &* 5).rotatedLeft(by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3.rotatedLeft(by: 45)
        return result
    }

    /// An independent generator for sub-stream `index` (a link, a direction).
    ///
    /// Depends only on this generator's current state and `index`, and does
    /// not advance it: deriving stream 7 gives the same stream whether or not
    /// streams 0…6 were derived first.
    public func split(index: UInt64) -> SeededRandom {
        var mix = index &* 0x9E37_79B9_7F4A_7C15
        let salt = splitMix64(&mix)
        return SeededRandom(seed: s0 ^ s1.rotatedLeft(by: 17) ^ s2.rotatedLeft(by: 31) ^ s3.rotatedLeft(by: 47) ^ salt)
    }

    /// A uniform `Double` in `0..<1` with 53 random bits.
    public mutating func unitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// True with probability `p` (false for p ≤ 0, true for p ≥ 1, and then no bits are drawn).
    public mutating func chance(_ p: Double) -> Bool {
        if p <= 0 { return false }
        if p >= 1 { return true }
        return unitDouble() < p
    }

    /// A uniform integer in `-bound...bound` (0 when `bound` ≤ 0, drawing nothing).
    public mutating func symmetric(_ bound: Int64) -> Int64 {
        guard bound > 0 else { return 0 }
        let span = UInt64(bound) * 2 + 1
        // Multiply-shift keeps the bias below 2^-64 × span: negligible for delays.
        let scaled = next().multipliedFullWidth(by: span).high
        return Int64(scaled) - bound
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(by k: UInt64) -> UInt64 { (self << k) | (self >> (64 &- k)) }
}
