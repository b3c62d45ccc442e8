// Ephemeral port selection, RFC 6056 ("Recommendations for Transport-Protocol
// Port Randomization"). A connection toward a known peer takes its port by
// Algorithm 4 (§3.3.4, "Double-Hash Port Selection"): a per-destination offset
// F(local address, remote address, remote port; key) plus a counter picked by a
// second hash G from a small table, so consecutive connections to one
// destination take consecutive ports while what they show says nothing about
// the ports used toward other destinations. A port bound without a peer (bind
// to port 0, a UDP socket's first send) starts at a keyed pseudorandom point and
// scans upward (Algorithm 1's random start, §3.3.1, with a scan so that a free
// port is always found when one exists), as Linux does for UDP.

import NetStackWire

/// Picks ephemeral ports (RFC 6056 §3.3.4 and §3.3.1) keyed by a host secret.
///
/// A value with a 256-entry counter table (512 bytes, allocated once). Each
/// choice costs one or two SipHashes plus one `isFree` call per port tried;
/// it allocates nothing.
struct EphemeralPorts {
    /// Entries of the counter table (RFC 6056 §3.3.4's TABLE_LENGTH; the RFC suggests 10).
    static let tableLength = 256

    /// Keeps the hashes F and G and the random start apart (one key, three uses).
    private static let offsetTag: UInt64 = 0x5246_4336_3035_3646  // "RFC6056F"
    private static let indexTag: UInt64 = 0x5246_4336_3035_3647  // "RFC6056G"
    private static let randomTag: UInt64 = 0x5246_4336_3035_3652  // "RFC6056R"

    private let key: (UInt64, UInt64)
    private var table: [UInt16]
    private var counter: UInt64 = 0

    /// A selector keyed with `key` (a host secret: ``HostSecrets/Purpose/ephemeralPorts``).
    init(key: (UInt64, UInt64)) {
        self.key = key
        table = [UInt16](repeating: 0, count: Self.tableLength)
    }

    /// A port of `range` for a connection from `local` to `remote` (Algorithm
    /// 4): the first `isFree` accepts, tried in the order the destination's
    /// offset and counter give; nil when `isFree` refuses every port of the range.
    mutating func port(in range: ClosedRange<UInt16>, local: IPAddress, remote: Endpoint,
                       isFree: (UInt16) -> Bool) -> UInt16? {
        let words = ISNGenerator.words(local: Endpoint(local, 0), remote: remote, key: key)
        let offset = SipHash.hash(key: key, words: words.0, words.1, Self.offsetTag)
        let index = Int(SipHash.hash(key: key, words: words.0, words.1, Self.indexTag) % UInt64(Self.tableLength))
        let count = UInt64(range.count)
        for _ in 0..<count {
            let port = range.lowerBound + UInt16(truncatingIfNeeded: (offset &+ UInt64(table[index])) % count)
            table[index] &+= 1
            if isFree(port) { return port }
        }
        return nil
    }

    /// A port of `range` for a socket with no peer yet: a keyed pseudorandom
    /// start, then upward (wrapping) to the first port `isFree` accepts; nil
    /// when it refuses every port.
    mutating func port(in range: ClosedRange<UInt16>, isFree: (UInt16) -> Bool) -> UInt16? {
        counter += 1
        let count = UInt64(range.count)
        let start = SipHash.hash(key: key, words: Self.randomTag, counter) % count
        for step in 0..<count {
            let port = range.lowerBound + UInt16(truncatingIfNeeded: (start + step) % count)
            if isFree(port) { return port }
        }
        return nil
    }
}
