public import NetStackCore

/// One HTTP/1.1 GET on one connection, run on the stack's own thread as a
/// `StackApplication` (what `netstack fetch` drives).
///
/// It connects, sends `GET <path>` with `Host`, `User-Agent: netstack` and
/// `Connection: close`, parses the response as it arrives and hands each run
/// of body bytes to `body` straight from one reusable 64 KiB receive buffer —
/// the body is never accumulated. The body ends by Content-Length, chunked
/// coding, or the server's close (RFC 9112 §6.3). It fails on a reset, on a
/// close before the body is complete, on a malformed response, or when
/// nothing arrives for `timeout`. The caller resolves names and passes the
/// server's address; `url` supplies the path and the `Host` header.
public final class HTTPClient: StackApplication {
    /// Where the exchange is.
    public enum State: Sendable, Equatable {
        /// The TCP handshake is under way.
        case connecting
        /// The request is sent (or being sent); no complete response head yet.
        case waitingForResponse
        /// The head has arrived; body bytes are flowing.
        case receivingBody
        /// The whole response arrived.
        case finished
        /// It ended early; `description` on the error is one line.
        case failed(HTTPError)
    }

    /// The URL requested.
    public let url: HTTPURL
    /// The address connected to.
    public let server: Endpoint
    /// Longest the client waits with nothing arriving (connecting included) before failing with `.timedOut`.
    public var timeout: Duration = .seconds(30)
    /// Where the exchange is now.
    public private(set) var state: State = .connecting
    /// The response status, once the head has arrived.
    public private(set) var status: Int?
    /// The response's reason phrase, once the head has arrived.
    public private(set) var reason: String?
    /// The response header fields, in arrival order.
    public private(set) var headers: [(String, String)] = []
    /// Body bytes delivered so far (after removing chunked framing).
    public private(set) var bodyBytesReceived = 0
    /// The Content-Length, when the response has one: for a progress bar.
    public private(set) var expectedLength: Int?
    /// Whether the client has nothing left to do (finished or failed).
    public var isDone: Bool {
        switch state {
        case .finished, .failed: true
        default: false
        }
    }

    private let body: (UnsafeRawBufferPointer) -> Void
    private var fd: Int32?
    private var parser = HTTPResponseParser()
    private var request: [UInt8]
    private var requestSent = 0
    /// When something last moved; the timeout counts from here.
    private var lastProgress: Instant
    /// While the finished client waits for the server's FIN: when it stops waiting.
    private var closingDeadline: Instant?
    /// How long a finished client waits for the server to close first.
    private let closeGrace: Duration = .seconds(1)
    /// Reused for every recv.
    private let buffer: UnsafeMutableRawBufferPointer

    /// Opens the connection to `server` (the handshake starts with the host's
    /// next poll) for a GET of `url`. Throws when the stack refuses at once
    /// (no route, no free port).
    public convenience init(host: Host, server: Endpoint, url: HTTPURL, now: Instant,
                            body: @escaping (UnsafeRawBufferPointer) -> Void) throws(NetError) {
        let fd = host.socket(.stream)
        do {
            try host.connect(fd, to: server, now: now)
        } catch {
            try? host.close(fd, now: now)
            throw error
        }
        self.init(descriptor: fd, server: server, url: url, now: now, body: body)
    }

    /// Takes over `descriptor`, a TCP socket connected (or connecting) to
    /// `server`, for a GET of `url`: what a caller that connected by name with
    /// `HappyEyeballsConnector` hands over. The client closes it when done.
    public init(descriptor: Int32, server: Endpoint, url: HTTPURL, now: Instant,
                body: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.url = url
        self.server = server
        self.body = body
        let request = "GET \(url.path) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nUser-Agent: netstack\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n"
        self.request = Array(request.utf8)
        lastProgress = now
        fd = descriptor
        buffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { buffer.deallocate() }

    public var nextWakeup: Instant? {
        if let closingDeadline { return fd == nil ? nil : closingDeadline }
        return isDone ? nil : lastProgress + timeout
    }

    public func run(on host: Host, now: Instant) {
        guard let fd else { return }
        if let closingDeadline {
            return now >= closingDeadline ? close(host, now: now) : drain(fd, host, now: now)
        }
        guard !isDone else { return }
        if now >= lastProgress + timeout { return fail(.timedOut, host, now: now, abort: true) }
        if state == .connecting {
            guard let events = try? host.poll(fd) else { return fail(.cancelled, host, now: now) }
            if events.contains(.error) {
                return fail(HTTPError((try? host.takeError(fd)) ?? .connectionRefused), host, now: now)
            }
            guard events.contains(.writable) else { return }
            state = .waitingForResponse
            progress(now)
        }
        if requestSent < request.count {
            let sent = request.withUnsafeBytes { bytes in
                Result { () throws(NetError) in
                    try host.send(fd, UnsafeRawBufferPointer(rebasing: bytes[requestSent...]), now: now)
                }
            }
            switch sent {
            case let .success(count):
                requestSent += count
                progress(now)
            case .failure(.wouldBlock):
                break
            case let .failure(error):
                return fail(HTTPError(error), host, now: now)
            }
        }
        receive(fd, host, now: now)
    }

    /// Abandons the exchange: the connection is reset and the state becomes `.failed(.cancelled)`
    /// (after a complete response, the connection just closes).
    public func stop(on host: Host, now: Instant) {
        guard !isDone else { return close(host, now: now) }
        fail(.cancelled, host, now: now, abort: true)
    }

    /// After the response: reads (and drops) until the server's FIN, then closes.
    private func drain(_ fd: Int32, _ host: Host, now: Instant) {
        for _ in 0..<64 {
            do {
                if try host.recv(fd, into: buffer, now: now) == 0 { return close(host, now: now) }
            } catch .wouldBlock {
                return
            } catch {
                return close(host, now: now)
            }
        }
    }

    private func close(_ host: Host, now: Instant) {
        closingDeadline = nil
        guard let fd else { return }
        try? host.close(fd, now: now)
        self.fd = nil
    }

    /// Reads everything that has arrived (bounded per turn) and parses it.
    private func receive(_ fd: Int32, _ host: Host, now: Instant) {
        for _ in 0..<64 {
            let count: Int
            do {
                count = try host.recv(fd, into: buffer, now: now)
            } catch .wouldBlock {
                return
            } catch {
                return fail(HTTPError(error), host, now: now)
            }
            progress(now)
            do throws(HTTPError) {
                if count == 0 {
                    try parser.finish()
                } else {
                    _ = try parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), body: body)
                }
            } catch {
                adoptHead()
                return fail(error, host, now: now, abort: count > 0)
            }
            adoptHead()
            if parser.isComplete {
                state = .finished
                if count == 0 { return close(host, now: now) }
                // We asked for Connection: close, so the server closes first (and keeps TIME_WAIT);
                // wait a little for its FIN rather than sending ours first.
                closingDeadline = now + closeGrace
                return drain(fd, host, now: now)
            }
            if count == 0 { return }  // unreachable: finish() either completes or throws
        }
    }

    /// Copies what the parser learnt into the public properties.
    private func adoptHead() {
        bodyBytesReceived = parser.bodyBytes
        guard status == nil, let head = parser.head else { return }
        status = head.status
        reason = head.reason
        headers = head.fields.map { ($0.name, $0.value) }
        if case let .length(length) = parser.framing { expectedLength = length }
        if state == .waitingForResponse || state == .connecting { state = .receivingBody }
    }

    private func progress(_ now: Instant) { lastProgress = now }

    private func fail(_ error: HTTPError, _ host: Host, now: Instant, abort: Bool = false) {
        state = .failed(error)
        guard let fd else { return }
        if abort { try? host.setOption(fd, .linger(.zero)) }
        try? host.close(fd, now: now)
        self.fd = nil
    }
}
