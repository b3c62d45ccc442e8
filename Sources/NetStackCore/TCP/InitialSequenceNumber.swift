// Initial sequence numbers, RFC 6528 ("Defending against Sequence Number
// Attacks") on top of RFC 9293 §3.4.1: ISN = M + F(localip, localport,
// remoteip, remoteport, secretkey), where M is a timer ticking every 4 µs and
// F a keyed hash an off-path attacker cannot compute (here SipHash-2-4).

import NetStackWire

/// Picks initial send sequence numbers (ISS) for new connections (RFC 6528 §3).
///
/// For one 4-tuple the ISN advances with the clock at 250 000 per second
/// (the 4-microsecond timer of RFC 9293 §3.4.1, wrapping every ~4.77 hours),
/// so a new incarnation of a connection starts above the old one's sequence
/// space; different 4-tuples get unrelated offsets, so seeing one connection's
/// ISN tells an attacker nothing about another's (RFC 6528 §3). Costs one
/// SipHash of 16 bytes (about 20 ns), no allocation.
struct ISNGenerator: Sendable {
    /// The secret key of F (RFC 6528 §3: "a secret key … SHOULD be of at least 128 bits").
    private let secret: (UInt64, UInt64)

    /// A generator keyed with `secret`, which should come from a good random
    /// source at stack start-up and never be shown to peers.
    init(secret: (UInt64, UInt64)) {
        self.secret = secret
    }

    /// The ISN for a connection from `local` to `remote` started at `now`:
    /// M + F (RFC 6528 §3), modulo 2³². O(1).
    func isn(local: Endpoint, remote: Endpoint, now: Instant) -> SequenceNumber {
        let m = UInt32(truncatingIfNeeded: Self.periods(of: 4_000, at: now))
        let words = Self.words(local: local, remote: remote, key: secret)
        let f = UInt32(truncatingIfNeeded: SipHash.hash(key: secret, words: words.0, words.1))
        return SequenceNumber(rawValue: m &+ f)
    }

    /// The 4-tuple packed into two words for hashing: the addresses in the
    /// first, the ports in the second (local first). Shared with ``SYNCookies``. O(1).
    /// Two IPv4 addresses fill the first word; IPv6 ones (256 bits) are first hashed into it
    /// with `key`, so no one who lacks the key can make two tuples share it.
    static func words(local: Endpoint, remote: Endpoint, key: (UInt64, UInt64)) -> (UInt64, UInt64) {
        let ports = UInt64(local.port) << 16 | UInt64(remote.port)
        if case let .v4(l) = local.address, case let .v4(r) = remote.address {
            return (UInt64(l.rawValue) << 32 | UInt64(r.rawValue), ports)
        }
        let l = local.address.ipv6, r = remote.address.ipv6
        return (SipHash.hash(key: key, words: l.high, l.low, r.high, r.low), ports)
    }

    /// Whole periods of `nanoseconds` from the origin to `instant`, rounded
    /// towards −∞ (so the count steps evenly across the origin too). Shared
    /// with ``SYNCookies``. O(1).
    static func periods(of nanoseconds: Int64, at instant: Instant) -> Int64 {
        let quotient = instant.nanoseconds / nanoseconds
        return instant.nanoseconds % nanoseconds < 0 ? quotient - 1 : quotient
    }
}
