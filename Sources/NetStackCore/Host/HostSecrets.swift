// Where a host's secret keys come from (RFC 6528 §3, RFC 6056 §3.3.4, RFC 5452 §9.2):
// one 128-bit master key per host, from the OS's random source (getrandom on
// Linux, through Swift's SystemRandomNumberGenerator) unless the host was given
// an explicit seed, and from it one 128-bit SipHash key per purpose.
//
// With a seed the keys are a deterministic expansion of it, so the simulator
// and tests reproduce a run exactly; without one they are real secrets, and
// nothing an embedder forgets to set makes ISNs or SYN cookies predictable.

/// A host's secret keys, one per purpose, derived from one master key.
///
/// The master key is 128 bits from the OS's random source, or, when a seed is
/// given, two SplitMix64 outputs of it. Each purpose's key is
/// SipHash-2-4(master; purpose, 0) ‖ SipHash-2-4(master; purpose, 1): a keyed
/// PRF of a distinct label, so knowing one purpose's key (or outputs made with
/// it) tells nothing about another's. `key(_:)` costs two SipHashes (~40 ns)
/// and allocates nothing; call it once per purpose, when the host is built.
struct HostSecrets: Sendable {
    /// What a key is for. Each purpose gets its own key; add new ones at the end
    /// (the raw value is the label hashed, so existing keys do not change).
    enum Purpose: UInt64 {
        /// RFC 6528 initial sequence numbers (and timestamp offsets).
        case initialSequenceNumbers = 1
        /// RFC 4987 SYN cookies.
        case synCookies = 2
        /// The stub resolver's query IDs and source ports (RFC 5452 §9.2).
        case resolver = 3
        /// RFC 6056 ephemeral port selection for TCP.
        case ephemeralPorts = 4
        /// RFC 7739 IP identification.
        case ipIdentification = 5
        /// Randomised challenge-ACK budgets (RFC 5961 §7, CVE-2016-5696).
        case challengeAcks = 6
        /// Ephemeral ports of UDP sockets (RFC 6056 §3.3.1), apart from TCP's.
        case udpPorts = 7
        /// RFC 7739 IPv6 fragment identification.
        case ipv6FragmentIdentification = 8
        /// Random delays of IPv6 (DAD, router solicitations, ReachableTime).
        case ipv6Timers = 9
        /// RFC 7217 stable interface identifiers.
        case stableInterfaceIdentifiers = 10
    }

    private let master: (UInt64, UInt64)

    /// Keys from `seed` (deterministic: the simulator, tests) or, when nil,
    /// from 128 bits the OS's random source gives now.
    init(seed: UInt64?) {
        if var state = seed {
            master = (splitMix64(&state), splitMix64(&state))
        } else {
            var random = SystemRandomNumberGenerator()
            master = (random.next(), random.next())
        }
    }

    /// The 128-bit SipHash key for `purpose`. O(1), no allocation.
    func key(_ purpose: Purpose) -> (UInt64, UInt64) {
        (SipHash.hash(key: master, words: purpose.rawValue, 0), SipHash.hash(key: master, words: purpose.rawValue, 1))
    }
}
