// SipHash-2-4, the keyed pseudorandom function of J.-P. Aumasson and
// D. J. Bernstein, "SipHash: a fast short-input PRF" (INDOCRYPT 2012):
// 2 compression rounds per 8-byte word, 4 finalization rounds, 64-bit output.
// TCP uses it where RFC 6528 asks for a keyed hash of the 4-tuple (initial
// sequence numbers) and for SYN cookies.

/// SipHash-2-4 over a 128-bit key (Aumasson & Bernstein 2012, §2).
///
/// The key is two 64-bit words: `key.0` is the first 8 key bytes read
/// little-endian, `key.1` the last 8 (the paper's k0 and k1), so the paper's
/// key `00 01 … 0f` is `(0x0706050403020100, 0x0f0e0d0c0b0a0908)`.
/// Nothing here allocates; every call costs 2 rounds per 8 input bytes plus
/// 6 rounds, about 20 ns for a 4-tuple.
enum SipHash {
    /// The hash of `bytes` (any length; message words are read little-endian,
    /// as the paper specifies). O(`bytes.count`), no allocation.
    static func hash(key: (UInt64, UInt64), _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state = State(key: key)
        let count = bytes.count
        var offset = 0
        while offset + 8 <= count {
            state.compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset += 8
        }
        // The last block: the remaining 0…7 bytes, and the length mod 256 in the top byte (§2, "Compression").
        var last = UInt64(truncatingIfNeeded: count) << 56
        var shift: UInt64 = 0
        while offset < count {
            last |= UInt64(bytes[offset]) << shift
            shift += 8
            offset += 1
        }
        state.compress(last)
        return state.finalize()
    }

    /// The hash of one word, as if hashing its 8 little-endian bytes. O(1).
    static func hash(key: (UInt64, UInt64), words a: UInt64) -> UInt64 {
        var state = State(key: key)
        state.compress(a)
        state.compress(8 << 56)
        return state.finalize()
    }

    /// The hash of two words, as if hashing their 16 little-endian bytes in order. O(1).
    static func hash(key: (UInt64, UInt64), words a: UInt64, _ b: UInt64) -> UInt64 {
        var state = State(key: key)
        state.compress(a)
        state.compress(b)
        state.compress(16 << 56)
        return state.finalize()
    }

    /// The hash of three words, as if hashing their 24 little-endian bytes in order. O(1).
    static func hash(key: (UInt64, UInt64), words a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var state = State(key: key)
        state.compress(a)
        state.compress(b)
        state.compress(c)
        state.compress(24 << 56)
        return state.finalize()
    }

    /// The hash of four words, as if hashing their 32 little-endian bytes in order. O(1).
    static func hash(key: (UInt64, UInt64), words a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> UInt64 {
        var state = State(key: key)
        state.compress(a)
        state.compress(b)
        state.compress(c)
        state.compress(d)
        state.compress(32 << 56)
        return state.finalize()
    }

    /// The four-word internal state v0…v3 (§2, "Initialization").
    private struct State {
        var v0, v1, v2, v3: UInt64

        /// v0…v3 = k0 ⊕ "somepseu", k1 ⊕ "dorandom", k0 ⊕ "lygenera", k1 ⊕ "tedbytes". O(1).
        init(key: (UInt64, UInt64)) {
            v0 = key.0 ^ 0x736f_6d65_7073_6575
            v1 = key.1 ^ 0x646f_7261_6e64_6f6d
            v2 = key.0 ^ 0x6c79_6765_6e65_7261
            v3 = key.1 ^ 0x7465_6462_7974_6573
        }

        /// One SipRound (§2, Figure 2.1). O(1).
        @inline(__always) mutating func round() {
            v0 &+= v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32)
            v2 &+= v3; v3 = rotate(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotate(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32)
        }

        /// Absorbs one message word with c = 2 rounds. O(1).
        @inline(__always) mutating func compress(_ m: UInt64) {
            v3 ^= m
            round()
            round()
            v0 ^= m
        }

        /// d = 4 finalization rounds after v2 ⊕= 0xff; the output is v0 ⊕ v1 ⊕ v2 ⊕ v3. O(1).
        @inline(__always) mutating func finalize() -> UInt64 {
            v2 ^= 0xff
            round()
            round()
            round()
            round()
            return v0 ^ v1 ^ v2 ^ v3
        }

        /// Left rotation by `count` bits.
        @inline(__always) private func rotate(_ x: UInt64, _ count: UInt64) -> UInt64 {
            (x << count) | (x >> (64 - count))
        }
    }
}
