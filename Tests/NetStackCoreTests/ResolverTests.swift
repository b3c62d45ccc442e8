// The stub resolver (RFC 1034 §5.3.1, RFC 1035 §7): literals, the hosts
// table, the cache and its TTLs (RFC 2308 for negative answers), queries on
// the wire, retransmission and server rotation, CNAME chains, and every kind
// of answer it must throw away (RFC 5452). Answers come from dnsmasq's
// (dns-query.pcap), from the wire builders, or byte by byte.

import NetStackCore
import NetStackWire
import Testing

private let ns1 = IPv4Address(198, 51, 100, 53)
private let ns2 = IPv4Address(198, 51, 100, 54)

/// Host A (192.0.2.1) with its gateway R known, asking `servers` (ns1 by default).
private func client(_ servers: [IPv4Address] = [ns1], seed: UInt64? = nil,
                    _ configure: (inout ResolverConfig) -> Void = { _ in }) -> Host {
    let host = makeHost("A", [.a]) { config in
        config.resolver.nameservers = servers.map(IPAddress.v4)
        if let seed { config.randomSeed = seed }
        configure(&config.resolver)
    }
    host.setDefaultGateway(Lab.ipR0, interface: eth0)
    host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
    return host
}

/// A query the host sent, taken apart.
private struct SentQuery {
    let source: Endpoint
    let server: Endpoint
    let message: DNSMessage
    let payload: [UInt8]
}

private func parseDNS(_ bytes: [UInt8]) throws -> DNSMessage {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get()
}

/// Every DNS query the host sent since the last call, oldest first.
private func sentQueries(_ host: Host) throws -> [SentQuery] { try sentQueries(hostFrames: host.sent()) }

/// The one query the host sent since the last call.
private func onlyQuery(_ host: Host) throws -> SentQuery {
    let queries = try sentQueries(host)
    try #require(queries.count == 1, "expected one query, got \(queries.count)")
    return queries[0]
}

private func name(_ text: String) throws -> DNSName { try DNSName(text) }

private func a(_ owner: String, _ address: IPv4Address, ttl: UInt32 = 300) throws -> DNSResourceRecord {
    DNSResourceRecord(name: try name(owner), timeToLive: ttl, data: .a(address))
}

private func cname(_ owner: String, _ target: String, ttl: UInt32 = 300) throws -> DNSResourceRecord {
    DNSResourceRecord(name: try name(owner), timeToLive: ttl, data: .cname(try name(target)))
}

private func soa(ttl: UInt32 = 300, minimum: UInt32) throws -> DNSResourceRecord {
    let timers = DNSSOATimers(serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: minimum)
    return DNSResourceRecord(name: try name("example.test"), timeToLive: ttl,
                             data: .soa(mname: try name("ns.example.test"), rname: try name("admin.example.test"),
                                        timers: timers))
}

/// The answer a server would give to `query`, built with the wire types.
private func answer(_ query: SentQuery, _ records: [DNSResourceRecord] = [], code: DNSResponseCode = .noError,
                    authorities: [DNSResourceRecord] = [], change: (inout DNSMessage) -> Void = { _ in }) -> [UInt8] {
    var message = DNSMessage.response(to: query.message, responseCode: code, answers: records, authorities: authorities)
    message.flags.recursionAvailable = true
    change(&message)
    return message.encoded(compressingNames: true)
}

/// Hands the host `payload` as a UDP datagram from `source` (the query's server by default) to the query's port.
private func deliver(_ payload: [UInt8], for query: SentQuery, from source: Endpoint? = nil, to host: Host,
                     at time: Instant = .zero) {
    host.feed(Build.udpFrame(to: Lab.macA, from: Lab.macR0, source ?? query.server, query.source, payload), at: time)
}

/// The dnsmasq answer of dns-query.pcap frame `number`, its ID replaced by `id`.
private func dnsmasqAnswer(_ number: Int, id: UInt16) throws -> [UInt8] {
    var payload = try Frame(try captured("dns-query", number)).udp().payload
    payload[0] = UInt8(id >> 8)
    payload[1] = UInt8(id & 0xFF)
    return payload
}

private func resolved(_ host: Host, _ id: ResolutionID) throws -> Resolution {
    let state = try #require(host.resolution(id))
    guard case let .resolved(resolution) = state else {
        Issue.record("expected an answer, got \(state)")
        throw ResolverError.timedOut
    }
    return resolution
}

@Suite("Resolver: answers without a query")
struct ResolverLocalTests {
    @Test("a dotted-quad literal resolves at once to itself")
    func literal() throws {
        let host = client()
        let id = try host.resolve("198.51.100.7", now: .zero)
        #expect(host.resolution(id) == .resolved(Resolution(name: "198.51.100.7", canonicalName: "198.51.100.7",
                                                            addresses: [.v4(IPv4Address(198, 51, 100, 7))], ttl: 0,
                                                            source: .literal)))
        #expect(host.sent().isEmpty)
    }

    @Test("names that are not domain names fail at once with invalidName")
    func invalidNames() throws {
        let host = client()
        let long = String(repeating: "x", count: 64) + ".test"
        for text in ["", ".", "a..b", ".a", long, "a b.test", "tab\t.test", "ünï.test"] {
            #expect(host.resolution(try host.resolve(text, now: .zero)) == .failed(.invalidName), "\(text)")
        }
        #expect(host.sent().isEmpty)
    }

    @Test("without a nameserver a name outside the hosts table fails with noNameserver")
    func noNameserver() throws {
        let host = client([])
        #expect(host.resolution(try host.resolve("www.example.test", now: .zero)) == .failed(.noNameserver))
        #expect(host.sent().isEmpty)
    }

    @Test("the hosts table answers first, ignoring case and a final dot, ahead of the cache")
    func hostsTableFirst() throws {
        let host = client()
        let first = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, [try a("www.example.test", Lab.ipB)]), for: query, to: host)
        #expect(try resolved(host, first).source == .nameserver(.v4(ns1)))

        host.resolverConfig.hosts = ["WWW.Example.Test": [.v4(IPv4Address(192, 0, 2, 99))]]
        let id = try host.resolve("www.EXAMPLE.test.", now: .s(1))
        let found = try resolved(host, id)
        #expect(found.source == .hostsTable)
        #expect(found.addresses == [.v4(IPv4Address(192, 0, 2, 99))])
        #expect(found.name == "www.EXAMPLE.test.")
        #expect(found.canonicalName == "WWW.Example.Test")
        #expect(host.sent().isEmpty)
        #expect(host.resolverStatistics.hostsTableHits == 1)
    }

    @Test("takeResolution forgets a finished lookup; an unknown ID reads nil")
    func take() throws {
        let host = client()
        let id = try host.resolve("192.0.2.5", now: .zero)
        #expect(host.takeResolution(id) != nil)
        #expect(host.takeResolution(id) == nil)
        #expect(host.resolution(id) == nil)
    }
}

@Suite("Resolver: queries and answers")
struct ResolverExchangeTests {
    @Test("the query matches the one glibc sent dnsmasq (dns-query #1) but for the ID")
    func queryOnTheWire() throws {
        let host = client([Lab.ipB])
        _ = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        let linux = try Frame(try captured("dns-query", 1)).udp().payload
        #expect(Array(query.payload[2...]) == Array(linux[2...]))
        #expect(query.server == Endpoint(Lab.ipB, 53))
        #expect(query.source.ipv4 == Lab.ipA)
        #expect((32768...60999).contains(query.source.port))
        #expect(host.resolution(try host.resolve("www.example.test", now: .zero)) == .pending)
    }

    @Test("each query has its own source port and ID, drawn from the host's seed: same seed, same choice")
    func randomIDsAndPorts() throws {
        func firstTwo(seed: UInt64) throws -> [SentQuery] {
            let host = client(seed: seed)
            _ = try host.resolve("one.example.test", now: .zero)
            _ = try host.resolve("two.example.test", now: .zero)
            return try sentQueries(host)
        }
        let run1 = try firstTwo(seed: 7), run2 = try firstTwo(seed: 7), other = try firstTwo(seed: 8)
        #expect(run1.map(\.message.id) == run2.map(\.message.id))
        #expect(run1.map(\.source.port) == run2.map(\.source.port))
        #expect(run1[0].message.id != run1[1].message.id)
        #expect(run1[0].source.port != run1[1].source.port)
        #expect(run1.map(\.message.id) != other.map(\.message.id))
    }

    @Test("dnsmasq's answer (dns-query #2) resolves the name; its TTL of 0 keeps it out of the cache")
    func dnsmasqAnswerResolves() throws {
        let host = client([Lab.ipB])
        let id = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(try dnsmasqAnswer(2, id: query.message.id), for: query, to: host, at: .s(0.001))
        #expect(try resolved(host, id) == Resolution(name: "www.example.test", canonicalName: "www.example.test",
                                                     addresses: [.v4(Lab.ipB)], ttl: 0, source: .nameserver(.v4(Lab.ipB))))
        _ = try host.resolve("www.example.test", now: .s(0.002))
        #expect(try sentQueries(host).count == 1, "not cached: asked again")
    }

    @Test("dnsmasq's answer that stops at a CNAME (dns-query #4) makes the resolver ask about the target (#2 answers)")
    func dnsmasqCNAMEChain() throws {
        let host = client([Lab.ipB])
        let id = try host.resolve("alias.example.test", now: .zero)
        let first = try onlyQuery(host)
        deliver(try dnsmasqAnswer(4, id: first.message.id), for: first, to: host)
        #expect(host.resolution(id) == .pending)
        let second = try onlyQuery(host)
        #expect(second.message.questions.map(\.name) == [try name("www.example.test")])
        deliver(try dnsmasqAnswer(2, id: second.message.id), for: second, to: host)
        let found = try resolved(host, id)
        #expect(found.canonicalName == "www.example.test")
        #expect(found.addresses == [.v4(Lab.ipB)])
    }

    @Test("a CNAME chain inside one answer is followed; the TTL is the chain's smallest; records off the chain are ignored")
    func cnameChainInOneAnswer() throws {
        let host = client()
        let id = try host.resolve("alias.example.test", now: .zero)
        let query = try onlyQuery(host)
        let records = [try cname("alias.example.test", "mid.example.test", ttl: 100),
                       try a("evil.test", IPv4Address(203, 0, 113, 66)),
                       try cname("mid.example.test", "www.example.test", ttl: 50),
                       try a("www.example.test", Lab.ipB, ttl: 300),
                       try a("www.example.test", IPv4Address(198, 51, 100, 2), ttl: 200),
                       try a("alias.example.test", IPv4Address(203, 0, 113, 67))]
        deliver(answer(query, records), for: query, to: host)
        let found = try resolved(host, id)
        #expect(found.canonicalName == "www.example.test")
        #expect(found.addresses == [.v4(Lab.ipB), .v4(IPv4Address(198, 51, 100, 2))])
        #expect(found.ttl == 50)
        #expect(host.resolverStatistics.ignoredRecords == 2)
        // The forged record for evil.test went nowhere near the cache.
        _ = try host.resolve("evil.test", now: .s(1))
        #expect(try sentQueries(host).count == 1)
    }

    @Test("an answer that stops at a CNAME makes the resolver ask about the target, with a new ID")
    func cnameTargetRequeried() throws {
        let host = client()
        let id = try host.resolve("alias.example.test", now: .zero)
        let first = try onlyQuery(host)
        deliver(answer(first, [try cname("alias.example.test", "www.other.test", ttl: 60)]), for: first, to: host)
        #expect(host.resolution(id) == .pending)
        let second = try onlyQuery(host)
        #expect(second.message.questions == [DNSQuestion(name: try name("www.other.test"), type: .a)])
        #expect(second.message.id != first.message.id)
        #expect(second.source == first.source)
        deliver(answer(second, [try a("www.other.test", Lab.ipB, ttl: 600)]), for: second, to: host)
        let found = try resolved(host, id)
        #expect(found.name == "alias.example.test")
        #expect(found.canonicalName == "www.other.test")
        #expect(found.ttl == 60)
    }

    @Test("a CNAME loop fails with cnameChainTooLong, as does a chain longer than maxCNAMEChain")
    func cnameLoopAndLength() throws {
        let host = client()
        let loop = try host.resolve("a.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, [try cname("a.example.test", "b.example.test"), try cname("b.example.test", "a.example.test")]),
                for: query, to: host)
        #expect(host.resolution(loop) == .failed(.cnameChainTooLong))

        let short = client { $0.maxCNAMEChain = 2 }
        let long = try short.resolve("c1.example.test", now: .zero)
        let first = try onlyQuery(short)
        deliver(answer(first, [try cname("c1.example.test", "c2.example.test"), try cname("c2.example.test", "c3.example.test")]),
                for: first, to: short)
        #expect(short.resolution(long) == .pending, "two CNAMEs are allowed")
        let second = try onlyQuery(short)
        deliver(answer(second, [try cname("c3.example.test", "c4.example.test"), try a("c4.example.test", Lab.ipB)]),
                for: second, to: short)
        #expect(short.resolution(long) == .failed(.cnameChainTooLong))
    }

    @Test("lookups of the same name share one query; each keeps its own spelling")
    func sharedQuery() throws {
        let host = client()
        let first = try host.resolve("www.example.test", now: .zero)
        let second = try host.resolve("WWW.Example.TEST", now: .s(0.1))
        let query = try onlyQuery(host)
        deliver(answer(query, [try a("www.example.test", Lab.ipB)]), for: query, to: host)
        #expect(try resolved(host, first).name == "www.example.test")
        #expect(try resolved(host, second).name == "WWW.Example.TEST")
        #expect(try resolved(host, second).addresses == [.v4(Lab.ipB)])
        #expect(host.resolverStatistics.sharedQueries == 1)
    }

    @Test("a question echoed in other letter case is accepted (RFC 4343)")
    func questionCase() throws {
        let host = client()
        let id = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        let echoed = DNSQuestion(name: try name("WwW.eXample.TEST"), type: .a)
        deliver(answer(query, [try a("WWW.EXAMPLE.TEST", Lab.ipB)]) { $0.questions = [echoed] }, for: query, to: host)
        #expect(try resolved(host, id).addresses == [.v4(Lab.ipB)])
    }

    @Test("cancelling a lookup closes its query's port: a late answer meets port unreachable")
    func cancel() throws {
        let host = client()
        let id = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        host.cancelResolution(id)
        #expect(host.resolution(id) == nil)
        #expect(host.nextDeadline() == nil)
        deliver(answer(query, [try a("www.example.test", Lab.ipB)]), for: query, to: host)
        let reply = try #require(host.sent().first)
        #expect(try Frame(reply).icmp().header.message == .destinationUnreachable(code: 3, nextHopMTU: 0))
    }
}

@Suite("Resolver: answers it must throw away (RFC 5452)")
struct ResolverRejectionTests {
    /// Resolves www.example.test, delivers `bad` (built from the query), and checks that it was
    /// rejected for `reason` while the lookup still waits, then that the genuine answer is taken.
    private func rejects(_ reason: (DNSRejection) -> Bool, from source: Endpoint? = nil,
                         _ bad: (SentQuery) throws -> [UInt8]) throws {
        let host = client()
        var events: [StackEvent] = []
        host.observer = { events.append($0) }
        let id = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(try bad(query), for: query, from: source, to: host, at: .s(0.1))
        #expect(host.resolution(id) == .pending)
        #expect(host.resolverStatistics.rejected == 1)
        let rejections = events.compactMap { event -> DNSRejection? in
            if case let .resolverAnswerRejected(_, _, reason) = event { return reason }
            return nil
        }
        #expect(rejections.count == 1 && rejections.allSatisfy(reason), "\(rejections)")
        #expect(host.sent().isEmpty, "nothing answers a rejected datagram")
        deliver(answer(query, [try a("www.example.test", Lab.ipB)]), for: query, to: host, at: .s(0.2))
        #expect(try resolved(host, id).addresses == [.v4(Lab.ipB)])
    }

    @Test("an answer with another ID")
    func wrongID() throws {
        try rejects({ if case .wrongID = $0 { true } else { false } }) { query in
            answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))]) { $0.id &+= 1 }
        }
    }

    @Test("an answer from an address the query was not sent to")
    func wrongAddress() throws {
        try rejects({ $0 == .wrongServer(Endpoint(IPv4Address(203, 0, 113, 9), 53)) },
                    from: Endpoint(IPv4Address(203, 0, 113, 9), 53)) { query in
            answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))])
        }
    }

    @Test("an answer from the server's address but not port 53")
    func wrongPort() throws {
        try rejects({ $0 == .wrongServer(Endpoint(ns1, 5353)) }, from: Endpoint(ns1, 5353)) { query in
            answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))])
        }
    }

    @Test("a message with QR clear: a query, not a response")
    func notAResponse() throws {
        try rejects({ $0 == .notAResponse }) { query in
            answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))]) { $0.flags.isResponse = false }
        }
    }

    @Test("an answer to another question: another name, type or class")
    func wrongQuestion() throws {
        let changes: [(inout DNSMessage) throws -> Void] = [
            { $0.questions = [DNSQuestion(name: try name("evil.test"), type: .a)] },
            { $0.questions = [DNSQuestion(name: try name("www.example.test"), type: .aaaa)] },
            { $0.questions = [DNSQuestion(name: try name("www.example.test"), type: .a, class: .any)] },
            { $0.questions = [] },
        ]
        for change in changes {
            try rejects({ $0 == .wrongQuestion }) { query in
                var message = try parseDNS(answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))]))
                try change(&message)
                return message.encoded()
            }
        }
    }

    @Test("a compression loop, written byte by byte: the parser refuses it")
    func compressionLoop() throws {
        try rejects({ if case .malformed(.dnsCompressionLoop) = $0 { true } else { false } }) { query in
            // Header: the query's ID, QR RD RA, 1 question, 1 answer; the question as asked; then an
            // answer whose owner is label "a" followed by a pointer back to that same label.
            let id = query.message.id
            var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
            bytes += [3] + Array("www".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]
            let loopAt = bytes.count
            bytes += [1, UInt8(ascii: "a"), 0xC0, UInt8(loopAt)]
            bytes += [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 66]
            return bytes
        }
    }

    @Test("an answer record cut short in its RDATA")
    func truncatedRecord() throws {
        try rejects({ if case .malformed = $0 { true } else { false } }) { query in
            let full = answer(query, [try a("www.example.test", IPv4Address(203, 0, 113, 66))])
            return Array(full.dropLast(2))
        }
    }

    @Test("garbage shorter than a header")
    func garbage() throws {
        try rejects({ if case .malformed(.truncated) = $0 { true } else { false } }) { _ in [0xde, 0xad, 0xbe, 0xef] }
    }

    @Test("2,000 random mutations of a good answer never crash the host; each is rejected or taken as an answer")
    func mutatedAnswers() throws {
        let host = client()
        var state: UInt64 = 0x5EED
        for round in 0..<2000 {
            let now = Instant.milliseconds(Int64(round))
            host.flushResolverCache()
            let id = try host.resolve("alias.example.test", now: now)
            let query = try onlyQuery(host)
            var bytes = answer(query, [try cname("alias.example.test", "www.example.test"), try a("www.example.test", Lab.ipB)])
            for _ in 0...(splitMix64(&state) % 4) {
                let random = splitMix64(&state)
                bytes[Int(random % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random >> 32)
            }
            if round % 3 == 0 { bytes = Array(bytes.prefix(Int(splitMix64(&state) % UInt64(bytes.count)))) }
            let rejectedBefore = host.resolverStatistics.rejected
            deliver(bytes, for: query, to: host, at: now)
            // Still waiting means it was rejected, or it stopped at a CNAME and the target was asked.
            let requeried = !host.sent().isEmpty
            #expect(host.resolution(id) != .pending || host.resolverStatistics.rejected == rejectedBefore + 1 || requeried)
            host.cancelResolution(id)
        }
    }

    @Test("TC set: the server failed this question; the next server is asked at once, one server alone fails")
    func truncatedFlag() throws {
        let host = client([ns1, ns2])
        let id = try host.resolve("www.example.test", now: .zero)
        let first = try onlyQuery(host)
        deliver(answer(first) { $0.flags.truncated = true }, for: first, to: host, at: .s(0.1))
        let second = try onlyQuery(host)
        #expect(second.server == Endpoint(ns2, 53))
        #expect(second.message.id == first.message.id)
        deliver(answer(second, [try a("www.example.test", Lab.ipB)]), for: second, to: host, at: .s(0.2))
        #expect(try resolved(host, id).source == .nameserver(.v4(ns2)))
        #expect(host.resolverStatistics.rejectedTruncated == 1)

        let alone = client()
        let lone = try alone.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(alone)
        deliver(answer(query) { $0.flags.truncated = true }, for: query, to: alone)
        #expect(alone.resolution(lone) == .failed(.truncated))
    }
}

@Suite("Resolver: error codes and negative answers")
struct ResolverNegativeTests {
    @Test("NXDOMAIN fails with nameNotFound, cached for min(SOA TTL, SOA minimum) (RFC 2308 §5)")
    func nxdomainCached() throws {
        let host = client()
        let id = try host.resolve("nowhere.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, code: .nameError, authorities: [try soa(ttl: 300, minimum: 60)]), for: query, to: host)
        #expect(host.resolution(id) == .failed(.nameNotFound))
        #expect(host.resolution(try host.resolve("NOWHERE.example.test", now: .s(59))) == .failed(.nameNotFound))
        #expect(host.sent().isEmpty, "answered from the cache")
        #expect(host.resolution(try host.resolve("nowhere.example.test", now: .s(60))) == .pending)
        #expect(try sentQueries(host).count == 1, "expired: asked again")
    }

    @Test("a negative answer without an SOA is not cached")
    func nxdomainWithoutSOA() throws {
        let host = client()
        let id = try host.resolve("nowhere.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, code: .nameError), for: query, to: host)
        #expect(host.resolution(id) == .failed(.nameNotFound))
        _ = try host.resolve("nowhere.example.test", now: .s(1))
        #expect(try sentQueries(host).count == 1)
    }

    @Test("NOERROR without an A record fails with noAddress (NODATA)")
    func nodata() throws {
        let host = client()
        let id = try host.resolve("mail.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, authorities: [try soa(minimum: 30)]), for: query, to: host)
        #expect(host.resolution(id) == .failed(.noAddress))
        #expect(host.resolverStatistics.negativeAnswers == 1)
    }

    @Test("SERVFAIL from the only server fails with serverFailure(rcode: 2)")
    func servfail() throws {
        let host = client()
        let id = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, code: .serverFailure), for: query, to: host)
        #expect(host.resolution(id) == .failed(.serverFailure(rcode: 2)))
        #expect(host.sent().isEmpty, "a server that failed the question is not asked again")
    }

    @Test("REFUSED from the first server: the second is asked at once and its answer taken")
    func refusedThenAnswer() throws {
        let host = client([ns1, ns2])
        let id = try host.resolve("www.example.test", now: .zero)
        let first = try onlyQuery(host)
        deliver(answer(first, code: .refused), for: first, to: host, at: .s(0.01))
        let second = try onlyQuery(host)
        #expect(second.server == Endpoint(ns2, 53))
        deliver(answer(second, [try a("www.example.test", Lab.ipB)]), for: second, to: host, at: .s(0.02))
        #expect(try resolved(host, id).source == .nameserver(.v4(ns2)))
    }
}

@Suite("Resolver: timers and the cache")
struct ResolverTimerTests {
    @Test("no answer in `timeout`: the question goes to the next server, same ID and port; its answer is taken")
    func retryWithSecondServer() throws {
        let host = client([ns1, ns2])
        let id = try host.resolve("www.example.test", now: .zero)
        let first = try onlyQuery(host)
        #expect(first.server == Endpoint(ns1, 53))
        #expect(host.nextDeadline() == .s(1))
        host.poll(now: .s(0.999))
        #expect(host.sent().isEmpty)
        host.poll(now: .s(1))
        let second = try onlyQuery(host)
        #expect(second.server == Endpoint(ns2, 53))
        #expect(second.message.id == first.message.id && second.source == first.source)
        deliver(answer(second, [try a("www.example.test", Lab.ipB)]), for: second, to: host, at: .s(1.2))
        #expect(try resolved(host, id).source == .nameserver(.v4(ns2)))
        #expect(host.resolverStatistics.retransmissions == 1)
        #expect(host.nextDeadline() == nil)
    }

    @Test("a late answer from the first server still counts once the question went to the second")
    func lateAnswerFromFirstServer() throws {
        let host = client([ns1, ns2])
        let id = try host.resolve("www.example.test", now: .zero)
        let first = try onlyQuery(host)
        host.poll(now: .s(1))
        _ = try onlyQuery(host)
        deliver(answer(first, [try a("www.example.test", Lab.ipB)]), for: first, to: host, at: .s(1.5))
        #expect(try resolved(host, id).source == .nameserver(.v4(ns1)))
    }

    @Test("every attempt times out: attempts × servers transmissions, one per timeout, then timedOut")
    func allAttemptsTimeOut() throws {
        let host = client([ns1, ns2]) {
            $0.attempts = 2
            $0.timeout = .milliseconds(500)
        }
        var events: [StackEvent] = []
        host.observer = { events.append($0) }
        let id = try host.resolve("www.example.test", now: .zero)
        #expect(try onlyQuery(host).server == Endpoint(ns1, 53))
        let sent = host.run(until: .s(10)).map { (time: $0.time, server: try? Frame($0.frame).ip().destination) }
        #expect(sent.map(\.time) == [.s(0.5), .s(1), .s(1.5)])
        #expect(sent.map(\.server) == [ns2, ns1, ns2])
        #expect(host.resolution(id) == .failed(.timedOut))
        #expect(host.nextDeadline() == nil)
        let attempts = events.compactMap { event -> Int? in
            if case let .resolverQuerySent(_, _, _, _, attempt) = event { return attempt }
            return nil
        }
        #expect(attempts == [1, 2, 3, 4])
        #expect(events.contains { if case .resolverFailed(_, .timedOut) = $0 { true } else { false } })
    }

    @Test("ICMP port unreachable for the query: the next server is asked at once from a fresh port with a fresh ID; all refused → unreachable at the deadline")
    func portUnreachable() throws {
        let host = client([ns1, ns2]) { $0.attempts = 1 }
        let id = try host.resolve("www.example.test", now: .zero)
        let frame = try #require(host.sent().first)
        let query = try sentQueries(hostFrames: [frame])[0]
        func refuse(_ datagram: [UInt8], from server: IPv4Address, at time: Instant) {
            let icmp = Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), Array(datagram.prefix(28)))
            host.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(server, Lab.ipA, .icmp), icmp), at: time)
        }
        refuse(try Frame(frame).datagram(), from: ns1, at: .s(0.01))
        let frames = host.sent()
        try #require(frames.count == 1, "asked the second server before the timeout")
        let second = try sentQueries(hostFrames: frames)[0]
        #expect(second.server == Endpoint(ns2, 53))
        #expect(second.message.id != query.message.id, "a fresh ID")
        #expect(second.source.port != query.source.port, "a fresh port")
        #expect(host.resolverStatistics.retriesAfterICMPError == 1)
        refuse(try Frame(frames[0]).datagram(), from: ns2, at: .s(0.02))
        #expect(host.resolution(id) == .pending, "an ICMP error alone never ends the lookup")
        host.poll(now: .s(1.02))
        #expect(host.resolution(id) == .failed(.unreachable(.connectionRefused)))
        #expect(host.resolverStatistics.networkErrors == 2)
        #expect(host.resolverStatistics.retriesAfterICMPError == 1)
        #expect(host.statisticsReport().contains("    1 queries sent again from a fresh port after an ICMP error\n"))
    }

    @Test("a forged port unreachable quoting the query does not end the lookup: the retry's answer resolves it")
    func forgedUnreachableRetries() throws {
        let host = client([ns1]) { $0.attempts = 1 }
        let id = try host.resolve("www.example.test", now: .zero)
        let frame = try #require(host.sent().first)
        let query = try sentQueries(hostFrames: [frame])[0]
        let icmp = Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), Array(try Frame(frame).datagram().prefix(28)))
        host.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(ns1, Lab.ipA, .icmp), icmp), at: .s(0.001))
        #expect(host.resolution(id) == .pending)
        // The only transmission was spent: the lookup keeps listening on the port it used.
        #expect(host.sent().isEmpty)
        deliver(answer(query, [try a("www.example.test", Lab.ipB)]), for: query, to: host, at: .s(0.01))
        #expect(try resolved(host, id).addresses == [.v4(Lab.ipB)])
    }

    @Test("a spray of forged port unreachables at every port of the range never fails a lookup whose server answers")
    func forgedUnreachableSpray() throws {
        let range: ClosedRange<UInt16> = 40000...40255
        let host = makeHost("A", [.a]) {
            $0.resolver.nameservers = [.v4(ns1)]
            $0.udp.ephemeralPorts = range
        }
        host.setDefaultGateway(Lab.ipR0, interface: eth0)
        host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
        let id = try host.resolve("www.example.test", now: .zero)
        var last = try onlyQuery(host)
        var time = Instant.zero
        // The attacker knows the server and sprays one error per port, again after each retry.
        for _ in 0..<(host.resolverConfig.attempts + 2) {
            for port in range {
                time = time + .microseconds(10)
                let quoted = Build.datagram(Build.ipHeader(Lab.ipA, ns1, .udp),
                                            Build.udp(from: Endpoint(Lab.ipA, port), to: Endpoint(ns1, 53), last.payload))
                let icmp = Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), Array(quoted.prefix(28)))
                host.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(ns1, Lab.ipA, .icmp), icmp), at: time)
                #expect(host.resolution(id) == .pending)
            }
            let queries = try sentQueries(host)
            if let retry = queries.last { last = retry }
        }
        #expect(host.resolverStatistics.retriesAfterICMPError == host.resolverConfig.attempts - 1)
        #expect(host.statistics.udpICMPErrorsIgnored > 0)
        deliver(answer(last, [try a("www.example.test", Lab.ipB)]), for: last, to: host, at: time + .milliseconds(5))
        #expect(try resolved(host, id).addresses == [.v4(Lab.ipB)])
    }

    @Test("with no route to any nameserver the lookup fails at once with unreachable(ENETUNREACH)")
    func noRoute() throws {
        let host = makeHost("A", [.a]) { $0.resolver.nameservers = [.v4(ns1)] }
        let id = try host.resolve("www.example.test", now: .zero)
        #expect(host.resolution(id) == .failed(.unreachable(.networkUnreachable)))
        #expect(host.nextDeadline() == nil)
    }

    @Test("a cached answer is served with the TTL left until it expires; then the name is asked again")
    func cacheTTLExpiry() throws {
        let host = client()
        var events: [StackEvent] = []
        host.observer = { events.append($0) }
        _ = try host.resolve("www.example.test", now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, [try a("www.example.test", Lab.ipB, ttl: 10)]), for: query, to: host)
        let hit = try resolved(host, try host.resolve("Www.Example.Test", now: .s(4)))
        #expect(hit == Resolution(name: "Www.Example.Test", canonicalName: "www.example.test", addresses: [.v4(Lab.ipB)],
                                  ttl: 6, source: .cache))
        #expect(host.sent().isEmpty)
        #expect(events.contains { if case .resolverLocalAnswer(_, _, .cache) = $0 { true } else { false } })
        #expect(host.resolution(try host.resolve("www.example.test", now: .s(10))) == .pending)
        #expect(try sentQueries(host).count == 1)
        #expect(host.resolverStatistics.cacheHits == 1)
    }

    @Test("a full cache makes room by dropping the entry closest to expiry")
    func cacheCapacity() throws {
        let host = client { $0.cacheCapacity = 2 }
        for (text, ttl) in [("one.test", UInt32(100)), ("two.test", 50), ("three.test", 200)] {
            _ = try host.resolve(text, now: .zero)
            let query = try onlyQuery(host)
            deliver(answer(query, [try a(text, Lab.ipB, ttl: ttl)]), for: query, to: host)
        }
        for text in ["one.test", "three.test"] {
            #expect(try resolved(host, try host.resolve(text, now: .s(1))).source == .cache)
        }
        #expect(host.resolution(try host.resolve("two.test", now: .s(1))) == .pending)
    }
}

/// Queries in the given frames, taken apart.
private func sentQueries(hostFrames frames: [[UInt8]]) throws -> [SentQuery] {
    try frames.map { bytes in
        let frame = try Frame(bytes)
        let ip = try frame.ip()
        let (udp, payload) = try frame.udp()
        return SentQuery(source: Endpoint(ip.source, udp.sourcePort), server: Endpoint(ip.destination, udp.destinationPort),
                         message: try parseDNS(payload), payload: payload)
    }
}

/// The DNS payload of frame `number` of dns-aaaa.pcap (dnsmasq over IPv6), its ID replaced by `id`.
func dnsmasqAAAAAnswer(_ number: Int, id: UInt16) throws -> [UInt8] {
    let frame = try captured("dns-aaaa", number)
    try #require(frame[12] == 0x86 && frame[13] == 0xDD && frame[14 + 6] == 17, "an IPv6 UDP frame")
    var payload = Array(frame[(14 + 40 + 8)...])
    payload[0] = UInt8(id >> 8)
    payload[1] = UInt8(id & 0xFF)
    return payload
}

let www6 = IPv6Address(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x80)

private func aaaa(_ owner: String, _ address: IPv6Address, ttl: UInt32 = 300) throws -> DNSResourceRecord {
    DNSResourceRecord(name: try name(owner), timeToLive: ttl, data: .aaaa(address))
}

@Suite("Resolver: AAAA beside A (RFC 3596)")
struct ResolverAAAATests {
    @Test("an AAAA lookup asks an AAAA question and takes dnsmasq's AAAA answer (dns-aaaa.pcap #2)")
    func aaaaFromDnsmasq() throws {
        let host = client()
        let id = try host.resolve("www.example.test", type: .aaaa, now: .zero)
        let query = try onlyQuery(host)
        #expect(query.message.questions == [DNSQuestion(name: try name("www.example.test"), type: .aaaa)])
        deliver(try dnsmasqAAAAAnswer(2, id: query.message.id), for: query, to: host)
        let found = try resolved(host, id)
        #expect(found.addresses == [.v6(www6)])
        #expect(found.source == .nameserver(.v4(ns1)))
    }

    @Test("through a CNAME the AAAA of the chain's end is taken (dns-aaaa.pcap #4)")
    func aaaaThroughCNAME() throws {
        let host = client()
        let id = try host.resolve("alias.example.test", type: .aaaa, now: .zero)
        let query = try onlyQuery(host)
        deliver(try dnsmasqAAAAAnswer(4, id: query.message.id), for: query, to: host)
        let found = try resolved(host, id)
        #expect(found.addresses == [.v6(www6)])
        #expect(found.canonicalName == "www.example.test")
    }

    @Test("A and AAAA lookups of one name are two queries out at once; each takes only its type's records")
    func twoQueriesEachItsType() throws {
        let host = client()
        let idA = try host.resolve("www.example.test", type: .a, now: .zero)
        let idAAAA = try host.resolve("www.example.test", type: .aaaa, now: .zero)
        let queries = try sentQueries(host)
        #expect(queries.map { $0.message.questions.first?.type } == [.a, .aaaa])
        #expect(host.resolution(idA) == .pending && host.resolution(idAAAA) == .pending)
        let mixed = [try a("www.example.test", Lab.ipB), try aaaa("www.example.test", www6)]
        deliver(answer(queries[1], mixed), for: queries[1], to: host)
        #expect(try resolved(host, idAAAA).addresses == [.v6(www6)])
        #expect(host.resolution(idA) == .pending, "the AAAA answer does not answer the A question")
        #expect(host.resolverStatistics.ignoredRecords == 1)
        deliver(answer(queries[0], mixed), for: queries[0], to: host)
        #expect(try resolved(host, idA).addresses == [.v4(Lab.ipB)])
    }

    @Test("the cache keeps A and AAAA apart: a cached AAAA answer does not answer an A lookup")
    func cacheKeyedByType() throws {
        let host = client()
        _ = try host.resolve("www.example.test", type: .aaaa, now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, [try aaaa("www.example.test", www6)]), for: query, to: host)
        let again = try host.resolve("www.example.test", type: .aaaa, now: .s(1))
        #expect(try resolved(host, again).source == .cache)
        let four = try host.resolve("www.example.test", type: .a, now: .s(1))
        #expect(host.resolution(four) == .pending)
        #expect(try onlyQuery(host).message.questions.first?.type == .a)
    }

    @Test("a NODATA answer to AAAA is cached for AAAA only")
    func negativeAAAAOnly() throws {
        let host = client()
        let id = try host.resolve("www.example.test", type: .aaaa, now: .zero)
        let query = try onlyQuery(host)
        deliver(answer(query, authorities: [try soa(minimum: 60)]), for: query, to: host)
        #expect(host.resolution(id) == .failed(.noAddress))
        #expect(host.resolution(try host.resolve("www.example.test", type: .aaaa, now: .s(1))) == .failed(.noAddress))
        #expect(host.resolution(try host.resolve("www.example.test", type: .a, now: .s(1))) == .pending)
    }

    @Test("the hosts table's IPv6 entries answer AAAA; an A lookup of an IPv6-only entry goes to the nameserver")
    func hostsTableIPv6() throws {
        let host = client()
        host.resolverConfig.hosts = ["six.test": [.v6(www6)], "dual.test": [.v4(Lab.ipB), .v6(www6)]]
        #expect(try resolved(host, try host.resolve("six.test", type: .aaaa, now: .zero)).addresses == [.v6(www6)])
        #expect(try resolved(host, try host.resolve("dual.test", type: .aaaa, now: .zero)).addresses == [.v6(www6)])
        #expect(try resolved(host, try host.resolve("dual.test", type: .a, now: .zero)).addresses == [.v4(Lab.ipB)])
        #expect(host.sent().isEmpty)
        _ = try host.resolve("six.test", type: .a, now: .zero)
        #expect(try onlyQuery(host).message.questions.first?.type == .a)
    }

    @Test("an IPv6 literal resolves at once to itself, whatever the type asked")
    func ipv6Literal() throws {
        let host = client()
        for type in [AddressRecordType.a, .aaaa] {
            let found = try resolved(host, try host.resolve("2001:db8:2::80", type: type, now: .zero))
            #expect(found.addresses == [.v6(www6)] && found.source == .literal)
        }
        #expect(host.sent().isEmpty)
    }
}
