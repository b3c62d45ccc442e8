/// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
///
/// The sum is accumulated over 32-bit loads in 64-bit accumulators (vector lanes for long buffers)
/// (no carry handling needed until the end), in the machine's byte order;
/// RFC 1071 §2(B) makes the one's-complement sum byte-order independent, so
/// one byte swap at the end gives the network-order result. About 60 ns per
/// 1500-byte frame on this project's machines (see the benchmark package).
public struct InternetChecksum: Sendable {
    /// The running sum, in the machine's byte order, not yet folded.
    @usableFromInline var sum: UInt64

    /// An empty sum.
    @inlinable public init() { sum = 0 }

    /// Adds `bytes`. Only the last buffer added may have an odd length.
    @inlinable public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        sum = Self.accumulate(bytes, into: sum)
    }

    /// Adds a 16-bit value given in host order (a header field, a pseudo-header length).
    @inlinable public mutating func add(_ value: UInt16) {
        sum &+= UInt64(value.bigEndian)
    }

    /// Adds a 32-bit value given in host order (an IPv4 address).
    @inlinable public mutating func add(_ value: UInt32) {
        sum &+= UInt64(value.bigEndian)
    }

    /// Adds a 64-bit value given in host order (half of an IPv6 address). Its two 32-bit
    /// halves are added separately so the accumulator keeps its headroom.
    @inlinable public mutating func add(_ value: UInt64) {
        add(UInt32(truncatingIfNeeded: value >> 32))
        add(UInt32(truncatingIfNeeded: value))
    }

    /// The folded one's-complement sum (not complemented), host order.
    @inlinable public var foldedSum: UInt16 {
        var s = sum
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF_FFFF) &+ (s >> 32)
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: s))
    }

    /// The checksum to put in a header: the complement of the folded sum.
    @inlinable public var checksum: UInt16 { ~foldedSum }

    /// True when the data summed included a correct checksum field (the sum is all ones).
    @inlinable public var verifies: Bool { foldedSum == 0xFFFF }

    /// The checksum of one buffer.
    @inlinable public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
        var c = InternetChecksum()
        c.add(bytes)
        return c.checksum
    }

    /// RFC 1624 eqn. 3: the new checksum after a 16-bit field changes from `old` to `new`,
    /// without summing the data again. `HC' = ~(~HC + ~m + m')`.
    @inlinable public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        var s = UInt32(~checksum) + UInt32(~old) + UInt32(new)
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return ~UInt16(truncatingIfNeeded: s)
    }

    @inlinable static func accumulate(_ bytes: UnsafeRawBufferPointer, into initial: UInt64) -> UInt64 {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress else { return initial }
        var a0: UInt64 = initial, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0
        var i = 0
        if count >= 128 {
            // 64 bytes a step: sixteen 32-bit lanes widened into 64-bit vector accumulators
            // (SSE2 on any x86-64; about 1.3× the scalar loop below).
            var v0 = SIMD8<UInt64>(repeating: 0), v1 = SIMD8<UInt64>(repeating: 0)
            while i &+ 64 <= count {
                v0 &+= SIMD8<UInt64>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: i, as: SIMD8<UInt32>.self))
                v1 &+= SIMD8<UInt64>(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: i &+ 32, as: SIMD8<UInt32>.self))
                i &+= 64
            }
            let lanes = v0 &+ v1
            // Each lane holds at most count/64 sums of 32-bit values: fold lanes into the scalar accumulators.
            a1 &+= (lanes[0] & 0xFFFF_FFFF) &+ (lanes[0] >> 32) &+ (lanes[1] & 0xFFFF_FFFF) &+ (lanes[1] >> 32)
            a2 &+= (lanes[2] & 0xFFFF_FFFF) &+ (lanes[2] >> 32) &+ (lanes[3] & 0xFFFF_FFFF) &+ (lanes[3] >> 32)
            a3 &+= (lanes[4] & 0xFFFF_FFFF) &+ (lanes[4] >> 32) &+ (lanes[5] & 0xFFFF_FFFF) &+ (lanes[5] >> 32)
            a0 &+= (lanes[6] & 0xFFFF_FFFF) &+ (lanes[6] >> 32) &+ (lanes[7] & 0xFFFF_FFFF) &+ (lanes[7] >> 32)
        }
        while i &+ 16 <= count {
            a0 &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            a1 &+= UInt64(base.loadUnaligned(fromByteOffset: i &+ 4, as: UInt32.self))
            a2 &+= UInt64(base.loadUnaligned(fromByteOffset: i &+ 8, as: UInt32.self))
            a3 &+= UInt64(base.loadUnaligned(fromByteOffset: i &+ 12, as: UInt32.self))
            i &+= 16
        }
        while i &+ 4 <= count {
            a0 &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt32.self))
            i &+= 4
        }
        if i &+ 2 <= count {
            a1 &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt16.self))
            i &+= 2
        }
        if i < count {
            // A trailing odd byte is the high-order byte of a 16-bit word padded with zero;
            // in little-endian lanes that is the low byte of the lane.
            let byte = UInt64(base.load(fromByteOffset: i, as: UInt8.self))
            a2 &+= UInt16(1).littleEndian == 1 ? byte : byte << 8
        }
        // Four sums of at most 2^32 × (count/16) each: no overflow below petabyte buffers.
        let s = (a0 & 0xFFFF_FFFF) &+ (a0 >> 32) &+ (a1 & 0xFFFF_FFFF) &+ (a1 >> 32)
            &+ (a2 & 0xFFFF_FFFF) &+ (a2 >> 32) &+ (a3 & 0xFFFF_FFFF) &+ (a3 >> 32)
        return s
    }
}
