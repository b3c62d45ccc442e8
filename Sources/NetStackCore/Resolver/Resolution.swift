public import NetStackWire

// The stub resolver's public vocabulary: how it is set up, what a lookup
// yields, and why one fails or an answer is thrown away. The chapter puts
// the resolver in the socket library: an application asks it for a name's
// address before it can call connect. RFCs to read: RFC 1034 §5.3 (stub
// resolvers), RFC 1035 §7, RFC 2308 (negative caching), RFC 3596 (AAAA),
// RFC 5452 (resilience against forged answers).

/// How a host's stub resolver is set up (what `/etc/resolv.conf` and `/etc/hosts` say on Linux).
public struct ResolverConfig: Sendable {
    /// The recursive servers to ask, in order (resolv.conf `nameserver`), of
    /// either family: the query's socket is bound to `::`, so it reaches both.
    public var nameservers: [IPAddress] = []
    /// How long one transmission waits for its answer (resolv.conf `timeout:`).
    public var timeout: Duration = .seconds(1)
    /// Rounds over the nameservers: each round asks every server once, in
    /// order, so a question is sent at most `attempts × nameservers.count` times
    /// (resolv.conf `attempts:`).
    public var attempts: Int = 3
    /// The static hosts table, consulted before any cache or server. Names
    /// compare without regard to ASCII case; a final dot is ignored. A name's
    /// addresses may be of both families: an A lookup takes its IPv4 ones, an
    /// AAAA lookup its IPv6 ones; a lookup for a family the entry lacks goes on
    /// to the cache and the nameservers, as glibc's `hosts: files dns` does.
    public var hosts: [String: [IPAddress]] = [:]
    /// Names the answer cache holds at most; the entry closest to expiry leaves first.
    public var cacheCapacity: Int = 256
    /// CNAME records one lookup follows at most before giving up.
    public var maxCNAMEChain: Int = 8

    /// The defaults: no nameserver, 1 s per transmission, 3 rounds, 256 cached names.
    public init() {}
}

/// Which address records a lookup asks for.
public enum AddressRecordType: Sendable, Hashable, CustomStringConvertible {
    /// IPv4 addresses: A records (RFC 1035 §3.4.1).
    case a
    /// IPv6 addresses: AAAA records (RFC 3596 §2.1).
    case aaaa

    /// The DNS type of the question.
    public var dnsType: DNSType { self == .a ? .a : .aaaa }

    /// Whether `address` is of the family this type asks for.
    public func matches(_ address: IPAddress) -> Bool { address.isIPv4 == (self == .a) }

    /// `A` or `AAAA`.
    public var description: String { self == .a ? "A" : "AAAA" }
}

/// Names one lookup started by ``Host/resolve(_:type:now:)``.
public struct ResolutionID: Hashable, Sendable, CustomStringConvertible {
    /// A number unique within its host.
    public let rawValue: Int
    /// `resolution#3`.
    public var description: String { "resolution#\(rawValue)" }
}

/// Where an answer came from.
public enum ResolutionSource: Sendable, Equatable, CustomStringConvertible {
    /// The static hosts table.
    case hostsTable
    /// The answer cache, filled by an earlier answer.
    case cache
    /// A nameserver's answer to a query sent for this lookup.
    case nameserver(IPAddress)
    /// The name was an address literal (dotted quad or IPv6 text): nothing to look up.
    case literal

    /// `hosts table`, `cache`, `nameserver 198.51.100.53` (or `nameserver 2001:db8::53`), `literal`.
    public var description: String {
        switch self {
        case .hostsTable: "hosts table"
        case .cache: "cache"
        case let .nameserver(address): "nameserver \(address)"
        case .literal: "literal"
        }
    }
}

/// A name's addresses, found.
public struct Resolution: Sendable, Equatable {
    /// The name as the application asked for it.
    public var name: String
    /// The end of the CNAME chain: the name the addresses belong to.
    public var canonicalName: String
    /// The addresses, in the order the answer listed them: IPv4 for an A lookup,
    /// IPv6 for an AAAA lookup, the literal itself for a literal.
    public var addresses: [IPAddress]
    /// Seconds the answer stays valid: the smallest TTL along the CNAME chain
    /// (what is left of it for a cached answer; 0 for literals and the hosts table).
    public var ttl: UInt32
    /// Where the answer came from.
    public var source: ResolutionSource

    /// A resolution from its parts.
    public init(name: String, canonicalName: String, addresses: [IPAddress], ttl: UInt32,
                source: ResolutionSource) {
        self.name = name
        self.canonicalName = canonicalName
        self.addresses = addresses
        self.ttl = ttl
        self.source = source
    }
}

/// Why a lookup failed (what `getaddrinfo` reports as EAI_* codes).
public enum ResolverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a valid host name: an empty label, over 63 or 255 octets, or not printable ASCII.
    case invalidName
    /// The name is in neither the hosts table nor the cache, and no nameserver is configured.
    case noNameserver
    /// The name does not exist: NXDOMAIN (RFC 1035 §4.1.1, RFC 8020).
    case nameNotFound
    /// The name exists but has no address of the family asked: NOERROR with no
    /// A (or AAAA) record (RFC 2308 §2.2, "NODATA").
    case noAddress
    /// Every server answered with an error code (SERVFAIL 2, NOTIMP 4, REFUSED 5 …); the last one is given.
    case serverFailure(rcode: UInt8)
    /// The only answers set TC: too large for UDP, and NetStack has no TCP fallback.
    case truncated
    /// No acceptable answer came back from any server within the attempts.
    case timedOut
    /// No server could be reached at all: every transmission met a network error
    /// at once (ICMP port or host unreachable, no route), the last one given.
    case unreachable(NetError)
    /// The CNAME chain was longer than ``ResolverConfig/maxCNAMEChain``, or looped.
    case cnameChainTooLong

    /// Text in the spirit of `gai_strerror`.
    public var description: String {
        switch self {
        case .invalidName: "invalid domain name"
        case .noNameserver: "no nameserver configured"
        case .nameNotFound: "name not found (NXDOMAIN)"
        case .noAddress: "no address of that family for the name (NODATA)"
        case let .serverFailure(rcode): "server failure (\(DNSResponseCode(rawValue: rcode)))"
        case .truncated: "answer truncated (TC) and no TCP fallback"
        case .timedOut: "timed out: no answer from any nameserver"
        case let .unreachable(error): "nameservers unreachable (\(error.symbol))"
        case .cnameChainTooLong: "CNAME chain too long or looping"
        }
    }
}

/// Where a lookup stands.
public enum ResolutionState: Sendable, Equatable {
    /// A query is out; ``Host/poll(now:)`` will finish it when an answer or a deadline comes.
    case pending
    /// Found.
    case resolved(Resolution)
    /// Failed, for good.
    case failed(ResolverError)
}

/// Why the resolver threw away a datagram that arrived on a query's port.
/// Each is counted in ``ResolverStatistics``; the query keeps waiting for a
/// good answer until its deadline (RFC 5452 §9.1).
public enum DNSRejection: Sendable, Equatable, CustomStringConvertible {
    /// Not from port 53 of a server this question was sent to.
    case wrongServer(Endpoint)
    /// Did not parse (truncated, bad lengths, a compression loop …).
    case malformed(WireError)
    /// QR clear, or an opcode other than a standard query's.
    case notAResponse
    /// The ID is not the query's.
    case wrongID(UInt16)
    /// The question section does not repeat the question asked.
    case wrongQuestion
    /// TC set: the answer did not fit in UDP. NetStack does not retry over
    /// TCP; the server counts as failed for this transmission.
    case truncated

    /// One phrase, for narration.
    public var description: String {
        switch self {
        case let .wrongServer(endpoint): "from \(endpoint), not a server asked"
        case let .malformed(error): "malformed (\(error))"
        case .notAResponse: "not a response to a standard query"
        case let .wrongID(id): "ID 0x\(String(id, radix: 16)) is not the query's"
        case .wrongQuestion: "question does not match"
        case .truncated: "truncated (TC): no TCP fallback"
        }
    }
}

/// The resolver's counters.
public struct ResolverStatistics: Sendable, Equatable {
    /// Lookups started (every call to ``Host/resolve(_:type:now:)``).
    public var lookups = 0
    /// Lookups answered from the hosts table, the cache, or as literals.
    public var hostsTableHits = 0, cacheHits = 0, literals = 0
    /// Lookups that joined a query already out for the same name.
    public var sharedQueries = 0
    /// Datagrams sent: first transmissions and retransmissions.
    public var queriesSent = 0, retransmissions = 0
    /// Answers accepted; negative answers (NXDOMAIN, NODATA) among them.
    public var answersAccepted = 0, negativeAnswers = 0
    /// Datagrams rejected, by reason (see ``DNSRejection``).
    public var rejectedWrongServer = 0, rejectedMalformed = 0, rejectedNotResponse = 0
    public var rejectedWrongID = 0, rejectedWrongQuestion = 0, rejectedTruncated = 0
    /// Records in accepted answers ignored because their owner is not on the CNAME chain.
    public var ignoredRecords = 0
    /// Transmissions that ended early on a network error (ICMP unreachable, no route).
    public var networkErrors = 0
    /// Lookups that failed.
    public var failures = 0
    /// Questions sent again at once, from a fresh port with a fresh ID, because an
    /// ICMP error reported the previous transmission unreachable.
    public var retriesAfterICMPError = 0
    /// Every datagram rejected, whatever the reason.
    public var rejected: Int {
        rejectedWrongServer + rejectedMalformed + rejectedNotResponse + rejectedWrongID + rejectedWrongQuestion
            + rejectedTruncated
    }

    public init() {}

    mutating func count(_ rejection: DNSRejection) {
        switch rejection {
        case .wrongServer: rejectedWrongServer += 1
        case .malformed: rejectedMalformed += 1
        case .notAResponse: rejectedNotResponse += 1
        case .wrongID: rejectedWrongID += 1
        case .wrongQuestion: rejectedWrongQuestion += 1
        case .truncated: rejectedTruncated += 1
        }
    }
}
