import NetStackWire

/// The stub resolver's state (RFC 1034 §5.3.1): lookups by ID, the questions
/// out on the wire, the hosts table, the cache, the counters. Sans-I/O and
/// a value: ``Host`` sends and receives for it (Host+Resolver.swift), and
/// this type decides, given an answer, what it means.
///
/// IDs and source ports come from SipHash over a counter, keyed with the host's
/// resolver secret (``HostSecrets``, 128 bits; RFC 5452 §9.2: both unpredictable
/// to an off-path forger), so a run stays deterministic under the simulator's
/// seed without revealing the seed or the host's other secrets.
struct StubResolver {
    /// One lookup an application started.
    struct Lookup {
        /// The name as the application wrote it.
        var name: String
        var state: ResolutionState
    }

    private(set) var config: ResolverConfig
    /// A hosts-table line: the name as the table spells it, and its addresses.
    struct HostsEntry {
        var name: DNSName
        var addresses: [IPAddress]
    }

    /// The hosts table keyed by name (case-insensitive through ``DNSName``).
    private(set) var hostsTable: [DNSName: HostsEntry] = [:]
    var cache: ResolverCache
    var statistics = ResolverStatistics()
    var lookups: [ResolutionID: Lookup] = [:]
    /// Questions out on the wire, oldest first: few at a time, and an array keeps
    /// the order they are serviced in the same from run to run.
    var queries: [ResolverQuery] = []
    private var nextLookup = 1
    private let secret: (UInt64, UInt64)
    private var counter: UInt64 = 0

    /// Lookups remembered at once, pending or finished and not yet taken.
    static let maximumLookups = 4096

    init(config: ResolverConfig, secret: (UInt64, UInt64)) {
        self.config = config
        cache = ResolverCache(capacity: config.cacheCapacity)
        self.secret = secret
        hostsTable = Self.index(config.hosts)
    }

    mutating func configure(_ config: ResolverConfig) {
        self.config = config
        cache.capacity = config.cacheCapacity
        hostsTable = Self.index(config.hosts)
    }

    private static func index(_ hosts: [String: [IPAddress]]) -> [DNSName: HostsEntry] {
        var table: [DNSName: HostsEntry] = [:]
        // Sorted, so that two spellings of one name resolve the same way on every run.
        for (text, addresses) in hosts.sorted(by: { $0.key < $1.key }) where !addresses.isEmpty {
            guard let name = try? DNSName(text), !name.isRoot, table[name] == nil else { continue }
            table[name] = HostsEntry(name: name, addresses: addresses)
        }
        return table
    }

    /// Sixty-four unpredictable bits. O(1).
    mutating func random() -> UInt64 {
        counter += 1
        return SipHash.hash(key: secret, words: counter)
    }

    mutating func newLookup(name: String, state: ResolutionState) -> ResolutionID {
        defer { nextLookup += 1 }
        let id = ResolutionID(rawValue: nextLookup)
        lookups[id] = Lookup(name: name, state: state)
        return id
    }

    func queryIndex(for name: DNSName, type: AddressRecordType) -> Int? {
        queries.firstIndex { $0.name == name && $0.type == type }
    }

    /// The earliest deadline of the questions out. O(n) in the questions.
    var nextDeadline: Instant? { queries.lazy.map(\.deadline).min() }
}

/// One question out on the wire, shared by every lookup of the same name and type, with
/// its own UDP socket (so its own source port) kept until the lookup ends.
struct ResolverQuery {
    /// The name first asked: what lookups share, and the cache's key.
    let name: DNSName
    /// A or AAAA: what every transmission asks for, along the whole CNAME chain.
    let type: AddressRecordType
    /// The name asked now: the end of the CNAME chain so far.
    var question: DNSName
    /// Owner names accepted so far: `name`, then each CNAME's target.
    var chain: [DNSName]
    /// The smallest TTL of the CNAMEs accepted in earlier answers.
    var chainTTL: UInt32 = .max
    /// The socket of the transmission out now; replaced after an ICMP error.
    var socket: UDPSocketID
    /// The ID of the question asked now.
    var id: UInt16
    /// Transmissions of this question; the next goes to server `transmissions % count`.
    var transmissions = 0
    /// Servers this question was sent to: the only sources whose answers count.
    var serversAsked: Set<IPAddress> = []
    /// Servers that answered this question with an error code or TC: not asked again.
    var failedServers: Set<IPAddress> = []
    var lastResponseCode: UInt8?
    var sawTruncation = false
    var sawTimeout = false
    var lastNetworkError: NetError?
    /// An ICMP error reported the last transmission unreachable and none was left to
    /// send: its deadline then ends the question as unreachable, not timed out.
    var erroredSinceSend = false
    var deadline: Instant
    /// The lookups waiting for this question, in the order they asked.
    var waiting: [ResolutionID]
}

/// What an arriving datagram means for the question it arrived for.
enum AnswerVerdict: Equatable {
    /// Not an answer to this question: ignore it, keep waiting.
    case reject(DNSRejection)
    /// TC set: this server cannot answer over UDP.
    case truncated
    /// An error code other than NXDOMAIN: ask the next server.
    case serverError(responseCode: UInt8)
    /// The addresses of the end of the chain.
    case addresses([IPAddress], canonicalName: DNSName, ttl: UInt32, chain: [DNSName], ignored: Int)
    /// The answer stops at a CNAME whose target it does not resolve: ask about the target.
    case followCNAME(chain: [DNSName], chainTTL: UInt32, ignored: Int)
    /// NXDOMAIN or NODATA, cacheable for `cacheTTL` seconds when known (RFC 2308 §5).
    case negative(ResolverError, cacheTTL: UInt32?, ignored: Int)
    /// The CNAME chain loops or runs too long.
    case failure(ResolverError)
}

extension ResolverQuery {
    /// Judges `payload`, a datagram from `source`, as an answer to this
    /// question (RFC 5452 §9.1: address, port, ID and question must all match).
    /// Records whose owner is not on the CNAME chain are counted in `ignored`
    /// and never used, so an answer cannot slip in addresses for other names.
    /// O(n²) in the answer records (n is small: one UDP message).
    func examine(_ payload: [UInt8], from source: Endpoint, maxCNAMEChain: Int) -> AnswerVerdict {
        guard source.port == 53, serversAsked.contains(source.address) else {
            return .reject(.wrongServer(source))
        }
        let parsed: Result<DNSMessage, WireError> = payload.withUnsafeBytes { bytes in
            do throws(WireError) { return .success(try DNSMessage.parse(bytes)) } catch { return .failure(error) }
        }
        let message: DNSMessage
        switch parsed {
        case let .success(parsedMessage): message = parsedMessage
        case let .failure(error): return .reject(.malformed(error))
        }
        guard message.flags.isResponse, message.flags.opcode == 0 else { return .reject(.notAResponse) }
        guard message.id == id else { return .reject(.wrongID(message.id)) }
        guard message.questions.count == 1, let asked = message.questions.first, asked.name == question,
              asked.type == type.dnsType, asked.class == .in else { return .reject(.wrongQuestion) }
        if message.flags.truncated { return .truncated }
        let code = message.flags.responseCode
        guard code == .noError || code == .nameError else { return .serverError(responseCode: code.rawValue) }

        // Follow the chain through the answer section, from the name asked now.
        var chain = chain, ttl = chainTTL, current = question, used = 0
        for _ in 0...message.answers.count {
            guard let alias = message.answers.first(where: { $0.class == .in && $0.name == current && $0.type == .cname }),
                  case let .cname(target) = alias.data else { break }
            guard !chain.contains(target), chain.count <= maxCNAMEChain else { return .failure(.cnameChainTooLong) }
            chain.append(target)
            ttl = min(ttl, alias.timeToLive)
            current = target
            used += 1
        }
        var addresses: [IPAddress] = []
        for record in message.answers where record.class == .in && record.name == current {
            // Only the type asked counts: an A record in an AAAA answer is ignored, and the reverse.
            switch (type, record.data) {
            case let (.a, .a(address)): addresses.append(.v4(address))
            case let (.aaaa, .aaaa(address)): addresses.append(.v6(address))
            default: continue
            }
            ttl = min(ttl, record.timeToLive)
        }
        let ignored = message.answers.count - used - addresses.count
        let negativeTTL = message.negativeCachingTTL.map { min($0, ttl) }
        if code == .nameError { return .negative(.nameNotFound, cacheTTL: negativeTTL, ignored: ignored) }
        if !addresses.isEmpty {
            return .addresses(addresses, canonicalName: current, ttl: ttl, chain: chain, ignored: ignored)
        }
        // Stopped at a CNAME: with an SOA the server says the target has no A (or AAAA)
        // (NODATA, RFC 2308 §2.2); without one it did not look, so ask about the target.
        if current != question && negativeTTL == nil {
            return .followCNAME(chain: chain, chainTTL: ttl, ignored: ignored)
        }
        return .negative(.noAddress, cacheTTL: negativeTTL, ignored: ignored)
    }
}
