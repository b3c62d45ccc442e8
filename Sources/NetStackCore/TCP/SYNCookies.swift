// SYN cookies (RFC 4987 §3.6): when a listener's half-open queue is full, the
// SYN-ACK's ISN carries everything needed to finish the handshake, so a SYN
// flood costs no memory. The idea is D. J. Bernstein's; the layout is NetStack's.
//
// Layout of the 32-bit cookie (our ISN):
//
//   bits 31…3  the top 29 bits of SipHash-2-4(secret; local and remote address
//              and port, peer ISN, counter, MSS index, a domain tag)
//   bit  2     the counter's low bit, counter = ⌊now / 64 s⌋
//   bits 1…0   the MSS index into `mssTable`
//
// The ACK that completes the handshake acknowledges cookie + 1 and carries
// sequence number peer ISN + 1. `check` takes the counter (now or one period
// earlier) whose low bit matches, rehashes, and compares the 29 hash bits:
// a cookie lives from 64 s to just under 128 s. A random guess passes with
// probability 2⁻²⁹ even when the attacker knows our clock; the MSS index
// and counter bit are inside the hash, so flipping them fails as well.
//
// The trade-off: the cookie has no room for the SYN's other options. A
// connection completed from a cookie runs without window scaling, SACK and
// timestamps (Linux folds them into the TSval when the SYN had timestamps;
// NetStack does not), so its SYN-ACK must offer only the MSS option. Its
// MSS is rounded down to a table entry. Cookies are meant only for the
// flood case; a listener with room keeps the half-open entry as usual.

import NetStackWire

/// Makes and checks SYN cookies (RFC 4987 §3.6) for one listening host.
///
/// Stateless: `make` and `check` each cost one SipHash of 32 bytes (about
/// 25 ns) and allocate nothing.
struct SYNCookies: Sendable {
    /// The MSS values a cookie can encode, smallest first (exactly four: the
    /// index takes two bits): the IPv4 default (RFC 9293 §3.7.1, 576-byte
    /// datagrams), a tunnelled path, Ethernet behind PPPoE or a VPN, and
    /// Ethernet (1500 − 40).
    static let mssTable: [UInt16] = [536, 1300, 1440, 1460]

    /// How long one counter value lasts, in nanoseconds (64 s).
    static let period: Int64 = 64_000_000_000

    /// Keeps cookie hashes apart from other uses of the same secret (the ISN generator's).
    private static let domainTag: UInt64 = 0x5359_4e43_4f4f_4b49  // "SYNCOOKI"

    /// The secret key of the hash; rotating it invalidates outstanding cookies.
    private let secret: (UInt64, UInt64)

    /// Cookies keyed with `secret` (from a good random source, never shown to peers).
    init(secret: (UInt64, UInt64)) {
        self.secret = secret
    }

    /// The cookie to send as our ISN in the SYN-ACK answering a SYN from
    /// `remote` to `local` with sequence number `peerISN` and MSS option `mss`
    /// (536 when the SYN had none, RFC 9293 §3.7.1). The MSS is rounded down
    /// to a `mssTable` entry; anything below 536 becomes 536, the size every
    /// IPv4 host must accept. O(1).
    func make(local: Endpoint, remote: Endpoint, peerISN: SequenceNumber, mss: UInt16,
              now: Instant) -> SequenceNumber {
        var index = Self.mssTable.count - 1
        while index > 0 && Self.mssTable[index] > mss { index -= 1 }
        let counter = ISNGenerator.periods(of: Self.period, at: now)
        return SequenceNumber(rawValue: cookie(local: local, remote: remote, peerISN: peerISN,
                                               counter: counter, index: index))
    }

    /// The MSS encoded in `cookie` when it is one `make` produced for this
    /// 4-tuple and `peerISN` in the current or previous 64-second period;
    /// nil otherwise. `cookie` is the ACK's acknowledgment number − 1 and
    /// `peerISN` its sequence number − 1. O(1).
    func check(local: Endpoint, remote: Endpoint, peerISN: SequenceNumber, cookie: SequenceNumber,
               now: Instant) -> UInt16? {
        let raw = cookie.rawValue
        let current = ISNGenerator.periods(of: Self.period, at: now)
        // The one counter (now or a period ago) whose low bit the cookie carries.
        let counter = UInt64(bitPattern: current) & 1 == UInt64(raw >> 2 & 1) ? current : current - 1
        let index = Int(raw & 3)
        let expected = self.cookie(local: local, remote: remote, peerISN: peerISN, counter: counter, index: index)
        return expected == raw ? Self.mssTable[index] : nil
    }

    /// The cookie for these inputs, laid out as the file header says. O(1).
    private func cookie(local: Endpoint, remote: Endpoint, peerISN: SequenceNumber, counter: Int64,
                        index: Int) -> UInt32 {
        let tuple = ISNGenerator.words(local: local, remote: remote, key: secret)
        let hash = SipHash.hash(key: secret, words: tuple.0, tuple.1 << 32 | UInt64(peerISN.rawValue),
                                UInt64(bitPattern: counter), Self.domainTag ^ UInt64(index))
        let hashBits = UInt32(truncatingIfNeeded: hash >> 32) & ~7
        return hashBits | UInt32(truncatingIfNeeded: counter & 1) << 2 | UInt32(index)
    }
}
