#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where random bit errors land in a frame, and flipping them.
enum BitErrors {
    /// The positions (bit 0 is the most significant bit of byte 0) that flip
    /// when each of `bitCount` bits flips independently with probability `rate`.
    ///
    /// Draws the gap to the next error from the geometric distribution, so the
    /// cost is one draw per error plus one, not one per bit. Draws nothing for a rate of 0.
    static func positions(bitCount: Int, rate: Double, random: inout SeededRandom) -> [Int] {
        guard rate > 0, bitCount > 0 else { return [] }
        if rate >= 1 { return Array(0..<bitCount) }
        let logKeep = log1p(-rate)
        var result: [Int] = []
        var position = 0
        while true {
            // 1 - u lies in (0, 1], so its log is finite and ≤ 0.
            let u = 1 - random.unitDouble()
            let gap = (log(u) / logKeep).rounded(.down)
            guard gap < Double(bitCount - position) else { break }
            position += Int(gap)
            result.append(position)
            position += 1
            if position >= bitCount { break }
        }
        return result
    }

    /// Flips the bits at `positions` in `frame`; positions past the end are ignored.
    static func flip(_ positions: [Int], in frame: inout [UInt8]) {
        for bit in positions where bit >= 0 && bit / 8 < frame.count {
            frame[bit / 8] ^= 0x80 >> UInt8(bit % 8)
        }
    }
}
