public import NetStackCore
public import NetStackWire

/// What an ``HTTPServer`` has done so far.
public struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections accepted.
    public var connectionsAccepted = 0
    /// Connections the server has let go of (for any reason).
    public var connectionsClosed = 0
    /// Request heads received, well-formed or not.
    public var requests = 0
    /// Responses started, by status code.
    public var responses: [Int: Int] = [:]
    /// Body bytes handed to TCP.
    public var bodyBytesSent = 0
    /// Requests refused as malformed or over a limit (400, 431, 501, 505).
    public var malformedRequests = 0
    /// Connections that ended in an error: reset by the peer, or TCP gave up.
    public var connectionErrors = 0
    /// Connections closed because nothing moved for `idleTimeout`.
    public var idleTimeouts = 0
    /// Responses cut short because the resource could not supply its length.
    public var readFailures = 0
    /// Connections closed at once because their client address already had
    /// ``HTTPServer/maxConnectionsPerAddress`` open.
    public var connectionsRefusedPerAddress = 0
    /// Connections aborted because a response outlived its deadline (a client reading too slowly).
    public var responseTimeouts = 0
    /// Requests answered 404 because a path component starts with '.' (``HTTPServer/servesDotfiles`` off).
    public var dotfilesRefused = 0
    /// Turns in which the per-turn disk read budget ran out with bodies still to read.
    public var diskBudgetExhausted = 0
    /// Connections waiting for a request (never sent one, idle between requests, or
    /// trickling a head) closed to make room at ``HTTPServer/maxConnections`` for a client waiting to be accepted.
    public var idleDroppedAtLimit = 0
    /// Connections reading a response slower than ``HTTPServer/minimumResponseRate``
    /// aborted to make room at ``HTTPServer/maxConnections`` for a client waiting to be accepted.
    public var slowReadersDroppedAtLimit = 0

    /// All zero.
    public init() {}
}

/// An HTTP/1.1 server for GET and HEAD (RFC 9110, RFC 9112), run on the stack's
/// own thread as a `StackApplication`.
///
/// Each connection answers its requests in order (pipelining included), one at
/// a time: the response head and then the body, read from the resource only as
/// far as TCP's send buffer takes it now (`Host.sendSpace(_:)`), through a
/// pooled 64 KiB buffer that goes back to the pool as soon as all of it is in
/// TCP's hands. A connection reads its next request only after the current
/// response is all in the send buffer, so a client that stops reading costs
/// its send buffer and no more (no pooled buffer), and its unread requests
/// wait in TCP's receive window. Connections persist per RFC 9112 §9.3;
/// when one must end after a response, the server sends its FIN first and
/// drains what the client still sends until the client's FIN (so the server
/// side ends in TIME_WAIT and no RST destroys the response), or `lingerTimeout`.
/// A connection where nothing moves for `idleTimeout` is closed.
///
/// At `maxConnections`, while clients wait to be accepted, the server makes
/// room for them (one scan of the connections per turn, one eviction per
/// client accepted): first it closes connections waiting for a request, the
/// longest without progress first; then it aborts slow readers — a response in
/// flight for `slowReaderGracePeriod` whose average rate so far is below
/// `minimumResponseRate` — the slowest first. A connection in the middle of a
/// response at a normal rate is never evicted.
///
/// Cost per turn: one `poll` per connection that has nothing to do; no heap
/// allocation per segment on the body path.
public final class HTTPServer: StackApplication {
    /// The port listened on.
    public let port: UInt16
    /// What is served.
    public let content: any HTTPContent
    /// Longest a connection may go without the server sending anything — waiting
    /// for a (complete) next request, or for a client that stopped reading —
    /// before it is closed. Bytes of an unfinished request head do not extend
    /// it, so a client trickling a head (slowloris) is cut off too.
    public var idleTimeout: Duration = .seconds(30)
    /// Longest the server waits for the client's FIN after sending its own.
    public var lingerTimeout: Duration = .seconds(5)
    /// Longest request head accepted (431 beyond).
    public var maxHeadSize = 16_384
    /// Most connections served at once; beyond it, new ones wait in the listen
    /// queue (and the stack refuses or SYN-cookies what does not fit there) unless
    /// connections waiting for a request or slow readers can be evicted for them.
    public var maxConnections = 1024
    /// Most connections open at once from one client address; a further one is
    /// closed (reset) at once and counted, so one host cannot take every slot.
    public var maxConnectionsPerAddress = 32
    /// Every response must be all in TCP's hands within this much time plus
    /// its length at ``minimumResponseRate``; past that the connection is
    /// aborted and counted — a client reading too slowly cannot hold a slot forever.
    public var responseTimeout: Duration = .seconds(60)
    /// The slowest reading rate (bytes per second) a response's deadline allows for its length;
    /// at the connection limit, a response slower than this on average is a slow reader.
    public var minimumResponseRate = 32 * 1024
    /// How long a response must have been in flight before its rate can make it a
    /// slow reader (its first bytes fill the send buffer at once, later ones go at the client's pace).
    public var slowReaderGracePeriod: Duration = .seconds(5)
    /// Serve paths with a component starting with '.' (`.git`, `.env`): off by default (404).
    public var servesDotfiles = false
    /// Most body bytes read from resources (the disk) in one turn, over all
    /// connections; the rest wait for the next turn, so reads cannot hold the stack's thread long.
    public var diskReadBudgetPerTurn = 1 << 20
    /// Counters.
    public private(set) var statistics = HTTPServerStatistics()
    /// True after `stop`.
    public private(set) var isStopped = false

    /// Connections open (including ones finishing their last response).
    public var connectionCount: Int { connections.count }
    /// Pooled output buffers connections hold now: only those with bytes read
    /// from a resource (or a head) that TCP has not taken yet. O(1).
    public var outputBuffersHeld: Int { pool.outstanding }

    private var listener: Int32?
    private var connections: [ServerConnection] = []
    /// Open connections per client address.
    private var perAddress: [IPAddress: Int] = [:]
    /// Disk bytes still allowed this turn.
    private var diskBudget = 0
    private let pool = BufferPool(bufferSize: 64 * 1024)
    /// Where `recv` puts request bytes before they join a connection's input.
    private let scratch: UnsafeMutableRawBufferPointer
    /// No connection's deadline is earlier than this (it may be earlier than all of them).
    private var nextSweep: Instant?
    /// A connection stopped at its per-turn step budget with work left: it needs another turn now.
    private var moreWork = false
    private var lastTurn = Instant.zero
    /// Request body bytes the server skips to keep a connection; a longer body closes it.
    private let maxDiscardedBody = 1 << 20
    /// Connections the eviction scan of this turn found, best victim first (kept to reuse its storage).
    private var evictionCandidates: [EvictionCandidate] = []
    /// Connections evicted this turn, still in `connections` until the end of `acceptAll`.
    private var evictedCount = 0
    /// Clients wait at the limit and nothing could be evicted: look again then (a
    /// response may have become a slow reader by then, with no traffic to wake us).
    private var evictionRetry: Instant?
    /// Steps (a send, a read from the resource, a request parsed, a recv) one connection takes per turn.
    private let stepsPerTurn = 128
    /// The body goes on only once TCP takes this much (or the rest of the body),
    /// so a client reading a byte at a time does not cost a disk read per byte.
    private let sendLowWater = 2048

    /// Listens on `port` of `address` (default 0.0.0.0: every IPv4 address of `host`; `::`: every
    /// address of both families), with an accept queue of `backlog`.
    public init(host: Host, address: IPAddress = .v4(.any), port: UInt16, content: any HTTPContent,
                backlog: Int = 128) throws(NetError) {
        let fd = host.socket(.stream)
        do {
            try host.bind(fd, to: Endpoint(address, port))
            try host.listen(fd, backlog: backlog)
        } catch {
            try? host.close(fd, now: .zero)
            throw error
        }
        listener = fd
        self.port = port
        self.content = content
        scratch = .allocate(byteCount: 16 * 1024, alignment: 16)
    }

    deinit {
        for connection in connections { connection.releaseOutput(to: pool) }
        scratch.deallocate()
    }

    public var nextWakeup: Instant? {
        if moreWork { return lastTurn }
        guard let retry = evictionRetry else { return nextSweep }
        return nextSweep.map { min($0, retry) } ?? retry
    }

    public func run(on host: Host, now: Instant) {
        lastTurn = now
        moreWork = false
        diskBudget = diskReadBudgetPerTurn
        acceptAll(host, now: now)
        if let sweep = nextSweep, sweep <= now { expire(host, now: now) }
        var i = 0
        while i < connections.count {
            if service(connections[i], host, now: now) {
                i += 1
            } else {
                connections.swapAt(i, connections.count - 1)
                connections.removeLast()
            }
        }
        if connections.isEmpty { nextSweep = nil }
    }

    /// Closes the listener; idle connections close now, busy ones after their current response.
    public func stop(on host: Host, now: Instant) {
        isStopped = true
        if let listener {
            try? host.close(listener, now: now)
            self.listener = nil
        }
        run(on: host, now: now)
    }

    // MARK: Accepting and expiring

    private func acceptAll(_ host: Host, now: Instant) {
        evictionRetry = nil
        guard let listener else { return }
        defer { finishEvictions() }
        var scanned = false
        var nextVictim = 0
        for _ in 0..<1024 {
            if connections.count - evictedCount >= maxConnections {
                // Full: evict for a waiting client only (one scan per turn, one victim per client).
                guard let events = try? host.poll(listener), events.contains(.readable) else { return }
                if !scanned {
                    collectEvictionCandidates(now: now)
                    scanned = true
                }
                while nextVictim < evictionCandidates.count && !evict(evictionCandidates[nextVictim], host, now: now) {
                    nextVictim += 1
                }
                guard nextVictim < evictionCandidates.count else {
                    evictionRetry = now + .seconds(1)
                    return
                }
                nextVictim += 1
            }
            guard let (fd, peer) = try? host.accept(listener) else { return }
            let open = perAddress[peer.address, default: 0]
            guard open < maxConnectionsPerAddress else {
                statistics.connectionsRefusedPerAddress += 1
                try? host.setOption(fd, .linger(.zero))
                try? host.close(fd, now: now)
                continue
            }
            perAddress[peer.address] = open + 1
            statistics.connectionsAccepted += 1
            let connection = ServerConnection(fd: fd, peer: peer.address, maxHeadSize: maxHeadSize)
            connections.append(connection)
            touch(connection, now: now)
        }
    }

    /// Finds the connections that may be evicted, in the order they should go:
    /// waiting for a request (oldest progress first), then slow readers (slowest first).
    /// O(n) plus sorting the candidates.
    private func collectEvictionCandidates(now: Instant) {
        evictionCandidates.removeAll(keepingCapacity: true)
        for c in connections where !c.lingering && !c.evicted {
            if c.response == nil {
                evictionCandidates.append(EvictionCandidate(connection: c, slowReader: false,
                                                            score: Double(c.lastProgress.nanoseconds)))
                continue
            }
            let elapsed = now - c.responseStart
            guard elapsed >= slowReaderGracePeriod else { continue }
            let rate = Double(c.responseBytesSent) / (Double(elapsed.nanoseconds) / 1e9)
            if rate < Double(minimumResponseRate) {
                evictionCandidates.append(EvictionCandidate(connection: c, slowReader: true, score: rate))
            }
        }
        evictionCandidates.sort { a, b in a.slowReader != b.slowReader ? !a.slowReader : a.score < b.score }
    }

    /// Closes a connection to make room: an idle one with a FIN, a slow reader with a reset
    /// (its response cannot be finished). It leaves `connections` in `finishEvictions`.
    /// False, and nothing done, for a waiting connection whose request bytes just arrived.
    private func evict(_ candidate: EvictionCandidate, _ host: Host, now: Instant) -> Bool {
        let c = candidate.connection
        if !candidate.slowReader, let events = try? host.poll(c.fd), events.contains(.readable) {
            return false
        }
        if candidate.slowReader {
            statistics.slowReadersDroppedAtLimit += 1
        } else {
            statistics.idleDroppedAtLimit += 1
        }
        release(c, host, now: now, abort: candidate.slowReader)
        c.evicted = true
        evictedCount += 1
        return true
    }

    /// Removes the connections evicted this turn and forgets the candidates. O(n) when any were evicted.
    private func finishEvictions() {
        evictionCandidates.removeAll(keepingCapacity: true)
        guard evictedCount > 0 else { return }
        connections.removeAll { $0.evicted }
        evictedCount = 0
    }

    /// Moves a connection's deadline to `idleTimeout` from now (progress was made).
    private func touch(_ connection: ServerConnection, now: Instant) {
        guard !connection.lingering else { return }
        connection.lastProgress = now
        let idle = now + idleTimeout
        setDeadline(connection, connection.responseDeadline.map { min($0, idle) } ?? idle)
    }

    private func setDeadline(_ connection: ServerConnection, _ deadline: Instant) {
        connection.deadline = deadline
        if nextSweep.map({ deadline < $0 }) ?? true { nextSweep = deadline }
    }

    /// Closes the connections whose deadline passed; recomputes the next sweep.
    private func expire(_ host: Host, now: Instant) {
        nextSweep = nil
        var i = 0
        while i < connections.count {
            let connection = connections[i]
            if connection.deadline <= now {
                if let limit = connection.responseDeadline, limit <= now {
                    statistics.responseTimeouts += 1
                } else if !connection.lingering {
                    statistics.idleTimeouts += 1
                }
                // Mid-response, the client stopped reading: abort rather than leave it stuck.
                release(connection, host, now: now, abort: connection.response != nil)
                connections.swapAt(i, connections.count - 1)
                connections.removeLast()
                continue
            }
            if nextSweep.map({ connection.deadline < $0 }) ?? true { nextSweep = connection.deadline }
            i += 1
        }
    }

    // MARK: One connection's turn

    /// Moves one connection along as far as it can go now. False when it is finished and released.
    private func service(_ c: ServerConnection, _ host: Host, now: Instant) -> Bool {
        for _ in 0..<stepsPerTurn {
            // 1. Bytes waiting to go: hand TCP as many as its send buffer takes.
            if c.outputStart < c.outputEnd {
                guard let events = try? host.poll(c.fd) else { return release(c, host, now: now) }
                if events.contains(.error) { return fail(c, host, now: now) }
                guard events.contains(.writable) else { return true }
                guard let output = c.output else { return release(c, host, now: now) }
                let sent: Int
                do {
                    sent = try host.send(c.fd, UnsafeRawBufferPointer(rebasing: output[c.outputStart..<c.outputEnd]), now: now)
                } catch .wouldBlock {
                    return true
                } catch {
                    return fail(c, host, now: now)
                }
                c.outputStart += sent
                c.responseBytesSent += sent
                touch(c, now: now)
                if c.outputStart < c.outputEnd { return true }  // send buffer full
                // All in TCP's hands: the buffer goes back until TCP takes more.
                c.releaseOutput(to: pool)
                continue
            }
            // 2. The body goes on: as much as TCP takes now, read from the resource.
            if let response = c.response, response.offset < response.length {
                guard let events = try? host.poll(c.fd) else { return release(c, host, now: now) }
                if events.contains(.error) { return fail(c, host, now: now) }
                let space = host.sendSpace(c.fd)
                guard space >= min(sendLowWater, response.length - response.offset) else { return true }
                guard diskBudget > 0 else {
                    statistics.diskBudgetExhausted += 1
                    moreWork = true
                    return true
                }
                guard fill(c, upTo: space) else { return release(c, host, now: now, abort: true) }
                continue
            }
            // 3. The response is all in TCP's hands.
            if let response = c.response {
                c.response = nil
                c.responseDeadline = nil
                touch(c, now: now)
                c.releaseOutput(to: pool)
                if response.closeAfter || isStopped { startLingering(c, host, now: now) }
                continue
            }
            // 4. After our FIN: drain until the client's FIN.
            if c.lingering { return drain(c, host, now: now) }
            // 5. Skip a request body, then answer the next request if it has all arrived.
            if c.discard > 0 && !c.input.isEmpty {
                let skip = min(c.discard, c.input.count)
                c.input.removeFirst(skip)
                c.discard -= skip
            }
            if c.discard == 0 && !c.input.isEmpty {
                if isStopped { return release(c, host, now: now) }
                switch c.input.withUnsafeBytes({ c.parser.parse($0) }) {
                case let .request(head, length):
                    c.input.removeFirst(length)
                    touch(c, now: now)
                    respond(to: head, on: c, host)
                    continue
                case let .failed(error):
                    statistics.requests += 1
                    statistics.malformedRequests += 1
                    c.input.removeAll()
                    respondWithError(error.status, on: c, host, keepAlive: false, omitBody: false, version: .http11)
                    continue
                case .needMore:
                    break
                }
            }
            // 6. Nothing to answer: read more.
            if c.peerClosed || isStopped { return release(c, host, now: now) }
            switch receive(c, host, now: now) {
            case .data: continue
            case .nothing: return true
            case .endOfStream: continue
            case .failed: return fail(c, host, now: now)
            }
        }
        moreWork = true
        return true
    }

    private enum ReceiveOutcome { case data, nothing, endOfStream, failed }

    /// Reads what arrived into the connection's input (up to the scratch buffer's size).
    private func receive(_ c: ServerConnection, _ host: Host, now: Instant) -> ReceiveOutcome {
        guard let events = try? host.poll(c.fd), !events.isDisjoint(with: [.readable, .error, .hangUp]) else {
            return .nothing
        }
        do {
            let count = try host.recv(c.fd, into: scratch, now: now)
            if count == 0 {
                c.peerClosed = true
                return .endOfStream
            }
            c.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            return .data
        } catch .wouldBlock {
            return .nothing
        } catch {
            return .failed
        }
    }

    /// Reads and drops what the client sends after our FIN; closes at its FIN.
    private func drain(_ c: ServerConnection, _ host: Host, now: Instant) -> Bool {
        for _ in 0..<64 {
            guard let events = try? host.poll(c.fd) else { return release(c, host, now: now) }
            guard !events.isDisjoint(with: [.readable, .error, .hangUp]) else { return true }
            do {
                if try host.recv(c.fd, into: scratch, now: now) == 0 { return release(c, host, now: now) }
            } catch .wouldBlock {
                return true
            } catch {
                return release(c, host, now: now)
            }
        }
        moreWork = true
        return true
    }

    /// Sends our FIN after everything queued, and starts waiting for the client's.
    private func startLingering(_ c: ServerConnection, _ host: Host, now: Instant) {
        try? host.shutdown(c.fd, .write, now: now)
        c.lingering = true
        c.input = []
        setDeadline(c, now + lingerTimeout)
    }

    /// The connection broke (reset, timed out): count it and let it go.
    private func fail(_ c: ServerConnection, _ host: Host, now: Instant) -> Bool {
        statistics.connectionErrors += 1
        return release(c, host, now: now)
    }

    /// Closes the descriptor and returns the connection's buffer; `abort` resets instead of FIN.
    @discardableResult
    private func release(_ c: ServerConnection, _ host: Host, now: Instant, abort: Bool = false) -> Bool {
        if abort { try? host.setOption(c.fd, .linger(.zero)) }
        try? host.close(c.fd, now: now)
        if let open = perAddress[c.peer] { perAddress[c.peer] = open > 1 ? open - 1 : nil }
        c.releaseOutput(to: pool)
        c.response = nil
        statistics.connectionsClosed += 1
        return false
    }

    // MARK: Responses

    /// Starts the response to one parsed request.
    private func respond(to head: HTTPRequestHead, on c: ServerConnection, _ host: Host) {
        statistics.requests += 1
        var keepAlive = head.keepAlive
        if head.contentLength > 0 {
            c.discard = head.contentLength
            if head.contentLength > maxDiscardedBody { keepAlive = false }
        }
        let isHead = head.method == "HEAD"
        guard head.method == "GET" || isHead else {
            let known = ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"].contains(head.method)
            return respondWithError(known ? 405 : 501, on: c, host, keepAlive: keepAlive && known, omitBody: false,
                                    version: head.version)
        }
        let path: String
        do {
            path = try HTTPPath.normalize(head.target)
        } catch .malformed {
            statistics.malformedRequests += 1
            return respondWithError(400, on: c, host, keepAlive: false, omitBody: isHead, version: head.version)
        } catch {
            return respondWithError(404, on: c, host, keepAlive: keepAlive, omitBody: isHead, version: head.version)
        }
        if !servesDotfiles, path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            statistics.dotfilesRefused += 1
            return respondWithError(404, on: c, host, keepAlive: keepAlive, omitBody: isHead, version: head.version)
        }
        guard let resource = content.resource(at: path) else {
            return respondWithError(404, on: c, host, keepAlive: keepAlive, omitBody: isHead, version: head.version)
        }
        start(status: 200, resource: resource, on: c, host, keepAlive: keepAlive, omitBody: isHead, version: head.version)
    }

    private func respondWithError(_ status: Int, on c: ServerConnection, _ host: Host, keepAlive: Bool,
                                  omitBody: Bool, version: HTTPVersion) {
        let text = "\(status) \(Self.reason(status))\n"
        let page = HTTPResource(bytes: Array(text.utf8), contentType: "text/plain; charset=utf-8")
        start(status: status, resource: page, on: c, host, keepAlive: keepAlive, omitBody: omitBody, version: version)
    }

    /// Writes the response head into a pooled buffer, followed by as much body as TCP takes now.
    private func start(status: Int, resource: HTTPResource, on c: ServerConnection, _ host: Host, keepAlive: Bool,
                       omitBody: Bool, version: HTTPVersion) {
        let closeAfter = !keepAlive || isStopped
        // A content type that could break the head (a CR, LF, or absurd length) is not sent as is.
        let type = resource.contentType
        let safeType = type.utf8.count <= 256 && type.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
            ? type : "application/octet-stream"
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nServer: netstack\r\n"
        head += "Content-Type: \(safeType)\r\nContent-Length: \(max(0, resource.length))\r\n"
        if status == 405 { head += "Allow: GET, HEAD\r\n" }
        if closeAfter {
            head += "Connection: close\r\n"
        } else if version == .http10 {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        let output = c.output ?? pool.take()
        c.output = output
        let written = head.withUTF8 { bytes in
            let count = min(bytes.count, output.count)
            output.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[0..<count]))
            return count
        }
        c.outputStart = 0
        c.outputEnd = written
        c.response = ServerResponse(resource: omitBody ? nil : resource, offset: 0,
                                    length: omitBody ? 0 : resource.length, closeAfter: closeAfter)
        statistics.responses[status, default: 0] += 1
        let body = omitBody ? 0 : max(0, resource.length)
        c.responseDeadline = lastTurn + responseTimeout + .seconds(body / max(1, minimumResponseRate))
        c.responseStart = lastTurn
        c.responseBytesSent = 0
        touch(c, now: lastTurn)
        // The body joins the head only as far as TCP takes both now; a failed read shows at the next step.
        if diskBudget > 0 { _ = fill(c, upTo: host.sendSpace(c.fd) - written) }
    }

    /// Reads the next part of the body, at most `limit` bytes, into the free end of the
    /// connection's buffer (taken from the pool if it has none). False when the resource
    /// ended before its stated length (the response cannot be completed).
    private func fill(_ c: ServerConnection, upTo limit: Int) -> Bool {
        guard var response = c.response, let resource = response.resource,
              min(limit, response.length - response.offset) > 0 else { return true }
        let output: UnsafeMutableRawBufferPointer
        if let held = c.output {
            output = held
        } else {
            output = pool.take()
            c.output = output
            c.outputStart = 0
            c.outputEnd = 0
        }
        let room = min(output.count - c.outputEnd, response.length - response.offset, limit)
        guard room > 0 else { return true }
        let count = resource.read(response.offset, UnsafeMutableRawBufferPointer(rebasing: output[c.outputEnd..<(c.outputEnd + room)]))
        diskBudget -= max(0, count)
        guard count > 0 && count <= room else {
            statistics.readFailures += 1
            return false
        }
        c.outputEnd += count
        response.offset += count
        c.response = response
        statistics.bodyBytesSent += count
        return true
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }
}

/// A connection the server may evict at its connection limit, and how good a victim it is.
private struct EvictionCandidate {
    let connection: ServerConnection
    /// A slow reader (aborted), rather than a connection waiting for a request (closed).
    let slowReader: Bool
    /// Lower goes first: the instant of last progress (waiting), or bytes per second (slow readers).
    let score: Double
}

/// The response a connection is sending.
private struct ServerResponse {
    /// Where the body comes from; nil for HEAD.
    var resource: HTTPResource?
    /// Body bytes read from the resource so far.
    var offset: Int
    var length: Int
    /// The connection ends after this response.
    var closeAfter: Bool
}

/// One accepted connection's state.
private final class ServerConnection {
    let fd: Int32
    /// Received bytes not yet consumed: the next request heads (and bodies being skipped).
    var input: [UInt8] = []
    var parser: HTTPRequestParser
    /// Request body bytes still to skip.
    var discard = 0
    var response: ServerResponse?
    /// The pooled buffer holding bytes on their way to TCP, only while some are left to hand over.
    var output: UnsafeMutableRawBufferPointer?
    var outputStart = 0
    var outputEnd = 0
    /// The client sent its FIN.
    var peerClosed = false
    /// We sent our FIN and are draining the client's last bytes.
    var lingering = false
    /// When the connection is closed unless something moves first.
    var deadline = Instant.zero
    /// When the server last made progress on it (accepted it, took a request, sent bytes).
    var lastProgress = Instant.zero
    /// Evicted at the connection limit this turn: released, waiting to leave the list.
    var evicted = false
    /// When the response in flight must be all in TCP's hands (nil between responses).
    var responseDeadline: Instant?
    /// When the response in flight started, and the bytes (head and body) TCP took of it so far.
    var responseStart = Instant.zero
    var responseBytesSent = 0
    /// The client's address (for the per-address limit).
    let peer: IPAddress

    init(fd: Int32, peer: IPAddress, maxHeadSize: Int) {
        self.fd = fd
        self.peer = peer
        parser = HTTPRequestParser(maxHeadSize: maxHeadSize)
    }

    func releaseOutput(to pool: BufferPool) {
        if let output { pool.give(output) }
        output = nil
        outputStart = 0
        outputEnd = 0
    }
}

extension HTTPServer: ServiceStatisticsReporting {
    public var statisticsReport: String {
        "    \(statistics.connectionsAccepted) http \(port): connections accepted\n"
            + "    \(statistics.connectionsRefusedPerAddress) http \(port): connections refused over the per-address limit\n"
            + "    \(statistics.idleTimeouts) http \(port): idle timeouts\n"
            + "    \(statistics.responseTimeouts) http \(port): response deadlines missed (slow readers)\n"
            + "    \(statistics.dotfilesRefused) http \(port): dotfile requests refused\n"
            + "    \(statistics.idleDroppedAtLimit) http \(port): idle connections dropped at the connection limit\n"
            + "    \(statistics.slowReadersDroppedAtLimit) http \(port): slow readers dropped at the connection limit\n"
    }
}
