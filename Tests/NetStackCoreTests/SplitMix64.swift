/// SplitMix64 (Steele, Lea and Flood, 2014): a small seeded generator, so a
/// test's random inputs are the same on every run. The tests' own copy — not
/// the one BBR uses — so no test depends on the code it checks.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
