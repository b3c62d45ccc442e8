import NetStackWire

// The stub resolver in the socket library (RFC 1034 §5.3.1, RFC 1035 §7):
// an application asks for a name, the resolver answers from the hosts table
// or its cache, or sends an A or AAAA query over UDP and finishes the lookup from
// `poll` when the answer (or a deadline) comes. Nothing blocks: the caller
// gets a ResolutionID at once and reads its state.

extension Host {
    /// The resolver's settings (nameservers, timeout, attempts, hosts table,
    /// cache size). Setting them keeps the cache and lookups in progress.
    public var resolverConfig: ResolverConfig {
        get { resolverState.config }
        set {
            resolverState.configure(newValue)
            config.resolver = newValue
        }
    }

    /// The resolver's counters: lookups, hits, queries, rejected datagrams.
    public var resolverStatistics: ResolverStatistics { resolverState.statistics }

    /// Forgets every cached answer.
    public func flushResolverCache() { resolverState.cache.removeAll() }

    /// Starts looking up `name`'s IPv4 addresses (`type` `.a`) or IPv6 addresses
    /// (`.aaaa`) and returns the lookup's ID.
    ///
    /// Address literals of either family (`192.0.2.1`, `2001:db8::1`) resolve to
    /// themselves whatever the type. Hosts-table entries with addresses of the
    /// family asked, and cached answers for the name and type (positive or
    /// negative), finish at once, as do invalid names (empty labels, over 63 or
    /// 255 octets, anything but printable ASCII) and a missing nameserver;
    /// otherwise a query of that type leaves now, and ``poll(now:)`` finishes the
    /// lookup. Lookups of the same name and type share one query; an A and an
    /// AAAA lookup of one name are two queries, which may be out at the same time
    /// (what Happy Eyeballs asks for, RFC 8305 §3). Read the outcome with
    /// ``resolution(_:)`` or ``takeResolution(_:)``.
    ///
    /// - Throws: `ENOBUFS` when 4,096 lookups are already remembered (take
    ///   finished ones); `EADDRINUSE` when no UDP port is free for the query.
    public func resolve(_ name: String, type: AddressRecordType = .a, now: Instant) throws(NetError) -> ResolutionID {
        self.now = now
        guard resolverState.lookups.count < StubResolver.maximumLookups else { throw .noBufferSpace }
        resolverState.statistics.lookups += 1
        if let address = IPAddress(name) {
            resolverState.statistics.literals += 1
            return answerLocally(name, canonicalName: name, [address], ttl: 0, source: .literal)
        }
        // Host names are printable ASCII (RFC 1123 §2.1 asks for even less): no spaces, controls or UTF-8.
        guard name.utf8.allSatisfy({ (0x21...0x7E).contains($0) }), let key = try? DNSName(name), !key.isRoot else {
            return failAtOnce(name, .invalidName)
        }
        if let entry = resolverState.hostsTable[key], case let addresses = entry.addresses.filter(type.matches),
           !addresses.isEmpty {
            resolverState.statistics.hostsTableHits += 1
            return answerLocally(name, canonicalName: entry.name.description, addresses, ttl: 0, source: .hostsTable)
        }
        if let (answer, ttl) = resolverState.cache.lookup(.init(name: key, type: type), now: now) {
            resolverState.statistics.cacheHits += 1
            switch answer {
            case let .addresses(canonicalName, addresses):
                return answerLocally(name, canonicalName: canonicalName, addresses, ttl: ttl, source: .cache)
            case let .negative(error):
                return failAtOnce(name, error)
            }
        }
        guard !resolverState.config.nameservers.isEmpty else { return failAtOnce(name, .noNameserver) }
        if let index = resolverState.queryIndex(for: key, type: type) {
            resolverState.statistics.sharedQueries += 1
            let id = resolverState.newLookup(name: name, state: .pending)
            resolverState.queries[index].waiting.append(id)
            return id
        }
        return try startQuery(for: key, type: type, asked: name)
    }

    /// Opens a query's socket on a random port and sends the first transmission.
    private func startQuery(for key: DNSName, type: AddressRecordType, asked name: String) throws(NetError)
        -> ResolutionID {
        let socket = udpOpen()
        do throws(NetError) { try bindQuerySocket(socket) } catch {
            udpClose(socket)
            throw error
        }
        let id = resolverState.newLookup(name: name, state: .pending)
        var query = ResolverQuery(name: key, type: type, question: key, chain: [key], socket: socket,
                                  id: UInt16(truncatingIfNeeded: resolverState.random()), deadline: now, waiting: [id])
        resolverState.queries.append(query)
        if !transmitNext(&query) {
            finish(queryAt: resolverState.queries.count - 1, query, with: .failed(query.failure))
        } else {
            resolverState.queries[resolverState.queries.count - 1] = query
        }
        return id
    }

    /// The state of lookup `id`; nil for an ID unknown (taken, cancelled, or never given).
    public func resolution(_ id: ResolutionID) -> ResolutionState? { resolverState.lookups[id]?.state }

    /// The state of lookup `id`, forgetting the lookup once it has finished
    /// (a pending one stays). nil for an unknown ID.
    public func takeResolution(_ id: ResolutionID) -> ResolutionState? {
        guard let lookup = resolverState.lookups[id] else { return nil }
        if lookup.state != .pending { resolverState.lookups[id] = nil }
        return lookup.state
    }

    /// Forgets lookup `id`; its query is abandoned (socket closed) when no other lookup shares it.
    public func cancelResolution(_ id: ResolutionID) {
        guard resolverState.lookups.removeValue(forKey: id) != nil,
              let index = resolverState.queries.firstIndex(where: { $0.waiting.contains(id) }) else { return }
        resolverState.queries[index].waiting.removeAll { $0 == id }
        if resolverState.queries[index].waiting.isEmpty {
            udpClose(resolverState.queries[index].socket)
            resolverState.queries.remove(at: index)
        }
    }

    // MARK: Driven by poll

    /// Services every question out: answers that arrived, ICMP errors, deadlines. Called by ``poll(now:)``.
    func runResolver() {
        guard !resolverState.queries.isEmpty else { return }
        var index = 0
        // Each turn either keeps the question (and moves on) or removes it.
        while index < resolverState.queries.count {
            if serviceQuery(at: index) { index += 1 }
        }
    }

    /// When the resolver needs a poll: the earliest retransmission deadline.
    func resolverDeadline() -> Instant? { resolverState.nextDeadline }

    /// Services one question; returns false when it finished (and was removed).
    private func serviceQuery(at index: Int) -> Bool {
        var query = resolverState.queries[index]
        // Bounded by the socket's receive queue.
        while let datagram = udpReceive(query.socket) {
            let verdict = query.examine(datagram.payload, from: datagram.source,
                                        maxCNAMEChain: resolverState.config.maxCNAMEChain)
            let server = datagram.source.address
            switch verdict {
            case let .reject(reason):
                resolverState.statistics.count(reason)
                emit(.resolverAnswerRejected(name: query.question.description, from: datagram.source, reason: reason))
                continue
            case .truncated:
                // No TCP fallback (RFC 7766 would retry over TCP): the server failed this question.
                resolverState.statistics.count(.truncated)
                emit(.resolverAnswerRejected(name: query.question.description, from: datagram.source, reason: .truncated))
                query.sawTruncation = true
                query.failedServers.insert(server)
            case let .serverError(code):
                emit(.resolverServerError(name: query.question.description, server: server, responseCode: code))
                query.lastResponseCode = code
                query.failedServers.insert(server)
            case let .addresses(addresses, canonicalName, ttl, _, ignored):
                resolverState.statistics.ignoredRecords += ignored
                resolverState.statistics.answersAccepted += 1
                let seconds = ResolverCache.effectiveTTL(ttl)
                resolverState.cache.store(.init(name: query.name, type: query.type),
                                          .addresses(canonicalName: canonicalName.description, addresses),
                                          ttl: seconds, now: now)
                emit(.resolverAnswerAccepted(name: query.name.description, addresses: addresses, ttl: seconds,
                                             canonicalName: canonicalName.description, server: server))
                let found = Resolution(name: "", canonicalName: canonicalName.description, addresses: addresses,
                                       ttl: seconds, source: .nameserver(server))
                finish(queryAt: index, query, with: .resolved(found))
                return false
            case let .negative(error, cacheTTL, ignored):
                resolverState.statistics.ignoredRecords += ignored
                resolverState.statistics.answersAccepted += 1
                resolverState.statistics.negativeAnswers += 1
                if let cacheTTL {
                    resolverState.cache.store(.init(name: query.name, type: query.type), .negative(error),
                                              ttl: cacheTTL, now: now)
                }
                finish(queryAt: index, query, with: .failed(error))
                return false
            case let .failure(error):
                finish(queryAt: index, query, with: .failed(error))
                return false
            case let .followCNAME(chain, chainTTL, ignored):
                // A new question for the chain's end: new ID, fresh attempts, same socket.
                resolverState.statistics.ignoredRecords += ignored
                query.chain = chain
                query.chainTTL = chainTTL
                query.question = chain[chain.count - 1]
                query.id = UInt16(truncatingIfNeeded: resolverState.random())
                query.transmissions = 0
                query.serversAsked = []
                query.failedServers = []
                query.lastResponseCode = nil
                query.sawTruncation = false
                query.sawTimeout = false
                query.lastNetworkError = nil
            }
            // The question moves on now: to the next server, or to the CNAME's target.
            guard transmitNext(&query) else {
                finish(queryAt: index, query, with: .failed(query.failure))
                return false
            }
        }
        if let error = udpTakeError(query.socket) {
            // ICMP unreachable about the transmission out now. Anyone who can guess the
            // server and spray every port can forge one, so it never ends the lookup:
            // ask again at once from a fresh port with a fresh ID while transmissions
            // remain, and otherwise keep listening until the deadline.
            resolverState.statistics.networkErrors += 1
            query.lastNetworkError = error
            if hasTransmissionLeft(query), renewSocket(&query) {
                resolverState.statistics.retriesAfterICMPError += 1
                guard transmitNext(&query) else {
                    finish(queryAt: index, query, with: .failed(query.failure))
                    return false
                }
            } else {
                query.erroredSinceSend = true
            }
        }
        if now >= query.deadline {
            // The last transmission was reported unreachable: no timeout, whatever comes next.
            if !query.erroredSinceSend { query.sawTimeout = true }
            guard transmitNext(&query) else {
                finish(queryAt: index, query, with: .failed(query.failure))
                return false
            }
        }
        resolverState.queries[index] = query
        return true
    }

    /// Sends the question to the next server in turn, skipping servers that
    /// failed it and sends that fail at once; false when no transmission is
    /// left (`attempts` rounds over the servers). Sets the deadline.
    private func transmitNext(_ query: inout ResolverQuery) -> Bool {
        let servers = resolverState.config.nameservers
        let total = max(1, resolverState.config.attempts) * servers.count
        let payload = DNSMessage.query(id: query.id, name: query.question, type: query.type.dnsType).encoded()
        // An error ICMP reported about an earlier transmission must not fail this one.
        _ = udpTakeError(query.socket)
        while query.transmissions < total {
            let server = servers[query.transmissions % servers.count]
            query.transmissions += 1
            if query.failedServers.contains(server) { continue }
            do throws(NetError) {
                // Connected to the server asked, so ICMP errors about this transmission reach the socket.
                udpConnect(query.socket, to: Endpoint(server, 53))
                try udpSend(query.socket, payload, to: Endpoint(server, 53), now: now)
            } catch {
                resolverState.statistics.networkErrors += 1
                query.lastNetworkError = error
                continue
            }
            if query.serversAsked.isEmpty {
                resolverState.statistics.queriesSent += 1
            } else {
                resolverState.statistics.retransmissions += 1
            }
            query.serversAsked.insert(server)
            query.erroredSinceSend = false
            query.deadline = now + resolverState.config.timeout
            emit(.resolverQuerySent(name: query.question.description, type: query.type, id: query.id, server: server,
                                    attempt: query.transmissions))
            return true
        }
        return false
    }

    /// Whether `transmitNext` has a server left to ask. O(servers × attempts).
    private func hasTransmissionLeft(_ query: ResolverQuery) -> Bool {
        let servers = resolverState.config.nameservers
        let total = max(1, resolverState.config.attempts) * servers.count
        return (query.transmissions..<max(query.transmissions, total)).contains {
            !query.failedServers.contains(servers[$0 % servers.count])
        }
    }

    /// Moves the question to a new socket on a fresh random port with a fresh ID
    /// (RFC 5452 §9.2), closing the old one: what a forger learnt is worth nothing.
    /// False, changing nothing, when no port is free.
    private func renewSocket(_ query: inout ResolverQuery) -> Bool {
        let socket = udpOpen()
        do throws(NetError) { try bindQuerySocket(socket) } catch {
            udpClose(socket)
            return false
        }
        udpClose(query.socket)
        query.socket = socket
        query.id = UInt16(truncatingIfNeeded: resolverState.random())
        return true
    }

    /// Ends a question: closes its socket, removes it, and finishes every lookup waiting for it.
    private func finish(queryAt index: Int, _ query: ResolverQuery, with state: ResolutionState) {
        udpClose(query.socket)
        resolverState.queries.remove(at: index)
        if case let .failed(error) = state {
            resolverState.statistics.failures += query.waiting.count
            emit(.resolverFailed(name: query.name.description, error: error))
        }
        for id in query.waiting {
            guard var lookup = resolverState.lookups[id] else { continue }
            if case var .resolved(found) = state {
                found.name = lookup.name
                lookup.state = .resolved(found)
            } else {
                lookup.state = state
            }
            resolverState.lookups[id] = lookup
        }
    }

    private func answerLocally(_ name: String, canonicalName: String, _ addresses: [IPAddress], ttl: UInt32,
                               source: ResolutionSource) -> ResolutionID {
        emit(.resolverLocalAnswer(name: name, addresses: addresses, source: source))
        let found = Resolution(name: name, canonicalName: canonicalName, addresses: addresses, ttl: ttl, source: source)
        return resolverState.newLookup(name: name, state: .resolved(found))
    }

    private func failAtOnce(_ name: String, _ error: ResolverError) -> ResolutionID {
        resolverState.statistics.failures += 1
        emit(.resolverFailed(name: name, error: error))
        return resolverState.newLookup(name: name, state: .failed(error))
    }

    /// Binds a query's socket to a random port of the ephemeral range (RFC 5452
    /// §9.2: an unpredictable port as well as ID), trying a few before taking
    /// whatever port the UDP layer hands out next. Bound to `::`, which takes
    /// both families, so one socket can ask IPv4 and IPv6 nameservers in turn.
    private func bindQuerySocket(_ socket: UDPSocketID) throws(NetError) {
        let range = udp.config.ephemeralPorts
        let span = UInt64(range.count)
        for _ in 0..<8 {
            let port = range.lowerBound + UInt16(truncatingIfNeeded: resolverState.random() % span)
            do throws(NetError) {
                try udpBind(socket, address: .v6(.unspecified), port: port)
                return
            } catch .addressInUse {
                continue
            }
        }
        try udpBind(socket, address: .v6(.unspecified), port: 0)
    }
}

extension ResolverQuery {
    /// Why the question failed once no transmission is left: a server's error
    /// code first, then truncation, a timeout, or (when every transmission met
    /// a network error at once) that error.
    var failure: ResolverError {
        if let lastResponseCode { return .serverFailure(rcode: lastResponseCode) }
        if sawTruncation { return .truncated }
        if !sawTimeout, let lastNetworkError { return .unreachable(lastNetworkError) }
        return .timedOut
    }
}
