import Testing
import Glibc
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackServices
import NetStackTestSupport

// MARK: - A network and test programs shared by the service suites

/// Two hosts on one cable: the client 192.0.2.1 and the server 192.0.2.2.
final class ServiceTestNetwork {
    static let clientAddress = IPv4Address(192, 0, 2, 1)
    static let serverAddress = IPv4Address(192, 0, 2, 2)
    /// 1 Gbit/s, 100 µs each way.
    static let cleanCable = LinkConfig(bitsPerSecond: 1_000_000_000, propagationDelay: .microseconds(100), fcs: true)
    /// 5% loss, some reordering and duplication.
    static let lossyCable = LinkConfig(bitsPerSecond: 1_000_000_000, propagationDelay: .microseconds(500),
                                       jitter: .microseconds(100), loss: 0.05, duplicate: 0.01, reorder: 0.03,
                                       reorderDelay: .milliseconds(1), fcs: true)

    let simulator: Simulator
    let client: HostNode
    let server: HostNode
    let cable: Link

    init(seed: UInt64 = 1, cable config: LinkConfig = ServiceTestNetwork.cleanCable) {
        simulator = Simulator(seed: seed)
        func node(_ name: String, _ last: UInt8) -> HostNode {
            var config = HostConfig(name: name)
            config.randomSeed = seed &+ UInt64(last)
            // Fixed 256 KiB buffers, as before auto-tuning: these tests bound what the
            // services hold against the buffers TCP keeps, not TCP's growth (own suites).
            config.tcp.sendBufferMaximum = config.tcp.socketDefaults.sendBufferSize
            config.tcp.receiveBufferMaximum = config.tcp.socketDefaults.receiveBufferSize
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last)))
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return HostNode(host)
        }
        client = node("client", 1)
        server = node("server", 2)
        cable = simulator.connect(client, 0, server, 0, config: config, name: "cable")
    }

    var now: Instant { simulator.now }

    /// Starts `program` on `node` and polls the node at once, so what it sends leaves now.
    func start(_ program: any StackApplication, on node: HostNode) {
        node.run(program)
        simulator.kick(node)
    }

    /// Runs in 10 ms steps until `done` holds or `limit` of virtual time passed; returns `done()`.
    @discardableResult
    func run(limit: Duration, step: Duration = .milliseconds(10), until done: () -> Bool = { false }) -> Bool {
        let end = simulator.now + limit
        while !done() && simulator.now < end {
            simulator.run(for: step)
        }
        return done()
    }

    /// TCP states of the server's connections.
    var serverStates: [TCPState] { server.host.tcpConnectionInfo().map(\.state) }
}

/// A scripted TCP client: connects, sends what it is given, reads everything
/// (unless told not to), closes its side at the server's FIN or when asked.
final class RawClient: StackApplication {
    let fd: Int32
    private var outgoing: [UInt8]
    private var sent = 0
    private(set) var received: [UInt8] = []
    private(set) var receivedCount = 0
    private(set) var endOfStream = false
    private(set) var error: NetError?
    /// Read what arrives (a client that stops reading leaves it in TCP's buffer).
    var reading = true
    /// Keep only a count of received bytes, not the bytes.
    var countOnly = false
    /// Reset the connection once this many bytes have arrived.
    var resetAfter: Int?
    /// Closes the socket (FIN) at the next turn.
    var closeRequested = false
    /// Shuts down the sending side (FIN) once everything queued has been sent, and keeps reading.
    var halfCloseWhenSent = false
    private var halfClosed = false
    private(set) var closed = false
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(_ net: ServiceTestNetwork, port: UInt16, send bytes: [UInt8]) throws {
        let host = net.client.host
        fd = host.socket(.stream)
        outgoing = bytes
        try host.connect(fd, to: Endpoint(ServiceTestNetwork.serverAddress, port), now: net.now)
        net.start(self, on: net.client)
    }

    convenience init(_ net: ServiceTestNetwork, port: UInt16 = 80, request: String) throws {
        try self.init(net, port: port, send: Array(request.utf8))
    }

    /// Queues more bytes to send.
    func send(_ bytes: [UInt8]) { outgoing += bytes }

    func run(on host: Host, now: Instant) {
        guard !closed else { return }
        if let pending = try? host.takeError(fd) { error = pending }
        while sent < outgoing.count {
            let n = outgoing.withUnsafeBytes { try? host.send(fd, UnsafeRawBufferPointer(rebasing: $0[sent...]), now: now) }
            guard let n, n > 0 else { break }
            sent += n
        }
        // Not before the handshake completes: a shutdown in SYN_SENT abandons the connection (RFC 9293 §3.10.4).
        let established = (try? host.state(fd)).map { $0 == .established || $0 == .closeWait } ?? false
        if halfCloseWhenSent && sent == outgoing.count && !halfClosed && established {
            halfClosed = true
            try? host.shutdown(fd, .write, now: now)
        }
        while reading && !endOfStream {
            let result = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(NetError) in try host.recv(fd, into: raw, now: now) }
            }
            if case let .failure(error) = result, error != .wouldBlock { self.error = error }
            guard case let .success(n) = result else { break }
            if n == 0 {
                endOfStream = true
                break
            }
            receivedCount += n
            if !countOnly { received += buffer[0..<n] }
            if let limit = resetAfter, receivedCount >= limit {
                try? host.setOption(fd, .linger(.zero))
                try? host.close(fd, now: now)
                closed = true
                return
            }
        }
        if endOfStream || closeRequested {
            try? host.close(fd, now: now)
            closed = true
        }
    }
}

/// One response read back from raw bytes.
struct ParsedResponse {
    var status: Int
    var fields: [(name: String, value: String)]
    var body: [UInt8]
    func field(_ name: String) -> String? { fields.first { $0.name.lowercased() == name.lowercased() }?.value }
}

/// Splits `bytes` into the responses they hold; `heads` numbers the ones that
/// answer HEAD requests (only a head, whatever its Content-Length says).
func responses(in bytes: [UInt8], heads: Set<Int> = []) -> [ParsedResponse] {
    var result: [ParsedResponse] = []
    var offset = 0
    while offset < bytes.count {
        var parser = HTTPResponseParser()
        var body: [UInt8] = []
        var rest = bytes[offset...]
        if heads.contains(result.count) {
            guard let end = rest.indices.first(where: { $0 >= offset + 3 && bytes[($0 - 3)...$0].elementsEqual("\r\n\r\n".utf8) })
            else { break }
            rest = bytes[offset...end]
        }
        let fed = rest.withUnsafeBytes { raw in
            Result { () throws(HTTPError) in try parser.feed(raw) { body.append(contentsOf: $0) } }
        }
        guard case let .success(consumed) = fed, let head = parser.head,
              parser.isComplete || heads.contains(result.count) else { break }
        result.append(ParsedResponse(status: head.status, fields: head.fields, body: body))
        offset += consumed
    }
    return result
}

/// Content that records the paths asked for and the bytes read, over files in memory.
final class RecordingContent: HTTPContent {
    let inner: InMemoryContent
    private(set) var paths: [String] = []
    private(set) var bytesRead = 0

    init(_ files: [String: [UInt8]]) { inner = InMemoryContent(files) }

    func resource(at path: String) -> HTTPResource? {
        paths.append(path)
        guard var resource = inner.resource(at: path) else { return nil }
        let read = resource.read
        resource.read = { [unowned self] offset, buffer in
            let count = read(offset, buffer)
            bytesRead += count
            return count
        }
        return resource
    }
}

/// Deterministic pseudo-random bytes.
func testBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var word = rng.next()
        for _ in 0..<8 where i < count {
            bytes[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            i += 1
        }
    }
    return bytes
}

func sha256(_ bytes: [UInt8]) -> [UInt8] {
    var hash = SHA256()
    hash.update(bytes)
    return hash.finalize()
}

/// Downloads `path` with an HTTPClient, hashing the body as it arrives.
final class Download {
    /// Where the body callback hashes into (the client holds the callback).
    private final class Sink {
        var hash = SHA256()
    }

    let client: HTTPClient
    private let sink = Sink()

    init(_ net: ServiceTestNetwork, path: String, port: UInt16 = 80) throws {
        let sink = sink
        client = try HTTPClient(host: net.client.host, server: Endpoint(ServiceTestNetwork.serverAddress, port),
                                url: HTTPURL(host: "192.0.2.2", port: port, path: path), now: net.now) { bytes in
            sink.hash.update(bytes)
        }
        net.start(client, on: net.client)
    }

    /// SHA-256 of the body received so far.
    var digest: [UInt8] {
        var copy = sink.hash
        return copy.finalize()
    }
}

// MARK: - The server

@Suite("HTTP server over the simulator")
struct HTTPServerTests {
    static let page = Array("<html>hello</html>\n".utf8)

    func serve(_ net: ServiceTestNetwork, _ files: [String: [UInt8]]) throws -> (HTTPServer, RecordingContent) {
        let content = RecordingContent(files)
        let server = try HTTPServer(host: net.server.host, port: 80, content: content)
        net.start(server, on: net.server)
        return (server, content)
    }

    @Test("a 4 MiB file arrives intact (SHA-256), delivered in pieces, with Content-Length known up front")
    func bigDownload() throws {
        let net = ServiceTestNetwork(seed: 2)
        let file = testBytes(4 << 20, seed: 9)
        let (server, _) = try serve(net, ["/big.bin": file])
        let download = try Download(net, path: "/big.bin")
        #expect(net.run(limit: .seconds(20)) { download.client.isDone })
        #expect(download.client.state == .finished)
        #expect(download.client.status == 200 && download.client.expectedLength == file.count)
        #expect(download.client.bodyBytesReceived == file.count)
        #expect(download.digest == sha256(file))
        #expect(download.client.headers.contains { $0.0 == "Content-Type" && $0.1 == "application/octet-stream" })
        #expect(server.statistics.bodyBytesSent == file.count && server.statistics.responses[200] == 1)
    }

    @Test("over a lossy, reordering link the download still arrives intact", arguments: [3, 4] as [UInt64])
    func lossyDownload(seed: UInt64) throws {
        let net = ServiceTestNetwork(seed: seed, cable: ServiceTestNetwork.lossyCable)
        let file = testBytes(1 << 20, seed: seed)
        _ = try serve(net, ["/f": file])
        let download = try Download(net, path: "/f")
        #expect(net.run(limit: .seconds(120)) { download.client.isDone })
        #expect(download.client.state == .finished)
        #expect(download.digest == sha256(file))
        #expect(net.cable.counters(.aToB).lost + net.cable.counters(.bToA).lost > 0)
    }

    @Test("Connection: close — the server closes first and its side ends in TIME_WAIT")
    func closeLeavesServerInTimeWait() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/index.html": Self.page])
        let download = try Download(net, path: "/")
        #expect(net.run(limit: .seconds(2)) { download.client.isDone })
        #expect(download.client.state == .finished && download.digest == sha256(Self.page))
        net.run(limit: .milliseconds(500))
        #expect(net.serverStates == [.timeWait])
        #expect(!net.client.host.tcpConnectionInfo().contains { $0.state == .timeWait })
        #expect(server.connectionCount == 0 && server.statistics.connectionsClosed == 1)
    }

    @Test("HEAD: the head with the file's Content-Length and no body; the connection stays usable")
    func head() throws {
        let net = ServiceTestNetwork()
        _ = try serve(net, ["/a.txt": Array("abcdef".utf8)])
        let raw = try RawClient(net, request: "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .seconds(1))
        let answers = responses(in: raw.received, heads: [0])
        #expect(answers.count == 2)
        #expect(answers.first?.status == 200 && answers.first?.field("Content-Length") == "6")
        #expect(answers.first?.field("Content-Type") == "text/plain; charset=utf-8")
        #expect(answers.last?.body == Array("abcdef".utf8))
        #expect(!raw.endOfStream, "still open")
    }

    @Test("a missing file is a 404 with a small body, and the connection stays open")
    func notFound() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/a": [1]])
        let raw = try RawClient(net, request: "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .seconds(1))
        let answer = responses(in: raw.received).first
        #expect(answer?.status == 404 && answer?.body == Array("404 Not Found\n".utf8))
        #expect(answer?.field("content-length") == "14")
        #expect(!raw.endOfStream && server.statistics.responses[404] == 1)
    }

    @Test("keep-alive: requests one after another, and pipelined ones, on one connection, answered in order")
    func keepAlive() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/1": [1], "/2": [2, 2], "/3": [3, 3, 3]])
        let raw = try RawClient(net, request: "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(200))
        #expect(responses(in: raw.received).map(\.body) == [[1]])
        raw.send(Array("GET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        net.simulator.kick(net.client)
        net.run(limit: .milliseconds(200))
        #expect(responses(in: raw.received).map(\.body) == [[1], [2, 2], [3, 3, 3], [1]])
        #expect(server.statistics.connectionsAccepted == 1 && server.statistics.requests == 4)
        #expect(net.serverStates == [.established])
    }

    @Test("pipelined requests split at every byte boundary are all answered")
    func pipelinedByteByByte() throws {
        let net = ServiceTestNetwork()
        _ = try serve(net, ["/x": [7]])
        let request = Array("GET /x HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let raw = try RawClient(net, port: 80, send: [])
        for byte in request + request {
            raw.send([byte])
            net.simulator.kick(net.client)
            net.run(limit: .milliseconds(2))
        }
        net.run(limit: .milliseconds(100))
        #expect(responses(in: raw.received).map(\.body) == [[7], [7]])
    }

    @Test("HTTP/1.0 closes after the response unless it asks for keep-alive")
    func http10() throws {
        let net = ServiceTestNetwork()
        _ = try serve(net, ["/a": [1]])
        let plain = try RawClient(net, request: "GET /a HTTP/1.0\r\n\r\n")
        let kept = try RawClient(net, request: "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        net.run(limit: .seconds(1))
        #expect(plain.endOfStream && responses(in: plain.received).first?.field("connection") == "close")
        #expect(!kept.endOfStream && responses(in: kept.received).first?.field("connection") == "keep-alive")
    }

    @Test("paths that would escape the root are refused and never looked up", arguments: [
        "/../secret", "/a/../../secret", "/%2e%2e/secret", "/%2E%2E%2Fsecret", "/..%2fsecret", "/a%00b", "/%2e%2e",
    ])
    func escapes(target: String) throws {
        let net = ServiceTestNetwork()
        let (_, content) = try serve(net, ["/a": [1], "/secret": [2]])
        let raw = try RawClient(net, request: "GET \(target) HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(300))
        #expect(responses(in: raw.received).first?.status == 404)
        #expect(content.paths.isEmpty)
    }

    @Test("garbage gets 400 and the server closes", arguments: [
        "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/1.1\r\n\r\n", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    ])
    func garbage(request: String) throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/": [1]])
        let raw = try RawClient(net, request: request)
        net.run(limit: .milliseconds(500))
        let answer = responses(in: raw.received).first
        #expect(answer?.status == 400 && answer?.field("connection") == "close")
        #expect(raw.endOfStream && server.statistics.malformedRequests == 1)
    }

    @Test("a head over 16 KiB gets 431 and the connection closes")
    func headTooLarge() throws {
        let net = ServiceTestNetwork()
        _ = try serve(net, ["/": [1]])
        let raw = try RawClient(net, request: "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 20_000))
        net.run(limit: .seconds(1))
        #expect(responses(in: raw.received).first?.status == 431 && raw.endOfStream)
    }

    @Test("other methods: 405 with Allow for known ones (body skipped, connection kept), 501 for unknown ones")
    func methods() throws {
        let net = ServiceTestNetwork()
        _ = try serve(net, ["/a": [1]])
        let raw = try RawClient(net, request: "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                + "BREW /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .seconds(1))
        let answers = responses(in: raw.received)
        #expect(answers.map(\.status) == [405, 200, 501])
        #expect(answers.first?.field("allow") == "GET, HEAD")
    }

    @Test("an idle persistent connection is closed after the idle timeout")
    func idleTimeout() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/a": [1]])
        server.idleTimeout = .seconds(3)
        let raw = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .seconds(2))
        #expect(!raw.endOfStream)
        net.run(limit: .seconds(2))
        #expect(raw.endOfStream && server.statistics.idleTimeouts == 1 && server.connectionCount == 0)
        #expect(server.nextWakeup == nil)
    }

    @Test("a head trickled in a byte at a time does not keep the connection alive past the idle timeout")
    func slowloris() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/a": [1]])
        server.idleTimeout = .seconds(3)
        let raw = try RawClient(net, request: "GET /a HTTP/1.1\r\n")
        for _ in 0..<5 {
            net.run(limit: .seconds(1))
            raw.send(Array("X".utf8))
            net.simulator.kick(net.client)
        }
        #expect(raw.endOfStream && raw.received.isEmpty && server.statistics.idleTimeouts == 1)
    }

    @Test("beyond maxConnections a new client waits in the listen queue while the others are mid-response")
    func connectionLimit() throws {
        let net = ServiceTestNetwork()
        let file = testBytes(1 << 20, seed: 2)
        let (server, _) = try serve(net, ["/big": file, "/a": [1]])
        server.maxConnections = 2
        let first = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        first.countOnly = true
        let second = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        second.countOnly = true
        net.run(limit: .microseconds(1500), step: .microseconds(50)) { first.receivedCount > 0 && second.receivedCount > 0 }
        let third = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(2), step: .microseconds(50))
        #expect(first.receivedCount < file.count && second.receivedCount < file.count && third.received.isEmpty)
        #expect(server.connectionCount == 2)
        // Once a download is done its connection waits for a request: it makes room for the third.
        net.run(limit: .seconds(1))
        #expect(responses(in: third.received).first?.status == 200)
        #expect(server.statistics.idleDroppedAtLimit == 1 && server.statistics.slowReadersDroppedAtLimit == 0)
    }

    @Test("a client that stops reading holds the server to its send buffer, then times out")
    func slowReader() throws {
        let net = ServiceTestNetwork()
        let (server, content) = try serve(net, ["/big": testBytes(8 << 20, seed: 1)])
        server.idleTimeout = .seconds(5)
        let raw = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.reading = false
        net.run(limit: .seconds(2))
        // The client's receive buffer, the server's send buffer and one 64 KiB buffer: nothing more is read.
        #expect(content.bytesRead > 256 * 1024 && content.bytesRead <= 2 * 256 * 1024 + 64 * 1024 + 4096)
        let readSoFar = content.bytesRead
        net.run(limit: .seconds(1))
        #expect(content.bytesRead == readSoFar)
        net.run(limit: .seconds(10))
        #expect(server.statistics.idleTimeouts == 1 && server.connectionCount == 0)
    }

    @Test("connections whose send buffer is full hold no pooled buffer; a download holds at most one")
    func pooledBufferReturnedWhileSendBufferFull() throws {
        let net = ServiceTestNetwork()
        let file = testBytes(2 << 20, seed: 9)
        let (server, _) = try serve(net, ["/big": file])
        let readers = try (0..<8).map { _ in try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") }
        for reader in readers { reader.reading = false }
        net.run(limit: .seconds(1))
        #expect(server.connectionCount == 8 && server.statistics.bodyBytesSent > 8 * 256 * 1024)
        #expect(server.outputBuffersHeld == 0)
        let download = try Download(net, path: "/big")
        var most = 0
        #expect(net.run(limit: .seconds(5), step: .microseconds(200)) {
            most = max(most, server.outputBuffersHeld)
            return download.client.isDone
        })
        #expect(download.digest == sha256(file) && most <= 1)
        #expect(server.outputBuffersHeld == 0)
    }

    @Test("a reset in the middle of a response frees the connection")
    func peerReset() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/big": testBytes(2 << 20, seed: 1)])
        let raw = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.countOnly = true
        raw.resetAfter = 100_000
        net.run(limit: .seconds(1))
        #expect(raw.closed)
        #expect(server.connectionCount == 0 && server.statistics.connectionErrors == 1)
        #expect(net.serverStates.isEmpty)
    }

    @Test("ten parallel downloads all arrive intact")
    func parallel() throws {
        let net = ServiceTestNetwork(seed: 5)
        var files: [String: [UInt8]] = [:]
        for i in 0..<10 { files["/f\(i)"] = testBytes(256 * 1024 + i, seed: UInt64(i)) }
        let (server, _) = try serve(net, files)
        let downloads = try (0..<10).map { try Download(net, path: "/f\($0)") }
        #expect(net.run(limit: .seconds(20)) { downloads.allSatisfy(\.client.isDone) })
        for (i, download) in downloads.enumerated() {
            #expect(download.client.state == .finished)
            #expect(download.digest == sha256(files["/f\(i)"] ?? []))
        }
        #expect(server.statistics.connectionsAccepted == 10)
    }

    @Test("stop closes the listener and lets the response in flight finish")
    func stop() throws {
        let net = ServiceTestNetwork()
        let file = testBytes(1 << 20, seed: 3)
        let (server, _) = try serve(net, ["/f": file])
        let download = try Download(net, path: "/f")
        net.run(limit: .milliseconds(3), step: .microseconds(50)) { download.client.bodyBytesReceived > 0 }
        #expect(download.client.bodyBytesReceived > 0 && download.client.bodyBytesReceived < file.count)
        server.stop(on: net.server.host, now: net.now)
        let late = try Download(net, path: "/f")
        #expect(net.run(limit: .seconds(5)) { download.client.isDone && late.client.isDone })
        #expect(download.client.state == .finished && download.digest == sha256(file))
        #expect(late.client.state == .failed(.network(.connectionRefused)))
        net.run(limit: .seconds(1))
        #expect(server.connectionCount == 0)
    }
}

// MARK: - Files on disk

@Suite("Serving a directory")
struct DirectoryContentTests {
    /// A fresh directory under /tmp with `root/` inside it, removed by `cleanup`.
    final class TempTree {
        let base: String
        var root: String { base + "/root" }

        init() throws {
            var template = Array("/tmp/netstack-http-XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw NetError.invalidArgument
            }
            base = String(cString: made)
            mkdir(root, 0o755)
        }

        func write(_ path: String, _ bytes: [UInt8]) {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            Glibc.close(fd)
        }

        func cleanup() {
            for path in ["/root/index.html", "/root/sub/a.txt", "/root/sub/deeper/b.css", "/root/link", "/root/dirlink",
                         "/root/fifo", "/root/big.bin", "/secret.txt"] {
                unlink(base + path)
            }
            for path in ["/root/sub/deeper", "/root/sub", "/root/empty", "/root", ""] { rmdir(base + path) }
        }
    }

    func read(_ resource: HTTPResource, offset: Int = 0, count: Int? = nil) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count ?? resource.length)
        let n = bytes.withUnsafeMutableBytes { resource.read(offset, $0) }
        return Array(bytes[0..<n])
    }

    @Test("files under the root, index.html for directories, and nothing else")
    func lookups() throws {
        let tree = try TempTree()
        defer { tree.cleanup() }
        tree.write(tree.root + "/index.html", Array("<p>home</p>".utf8))
        mkdir(tree.root + "/sub", 0o755)
        mkdir(tree.root + "/sub/deeper", 0o755)
        mkdir(tree.root + "/empty", 0o755)
        tree.write(tree.root + "/sub/a.txt", Array("0123456789".utf8))
        tree.write(tree.root + "/sub/deeper/b.css", Array("p{}".utf8))
        tree.write(tree.base + "/secret.txt", Array("secret".utf8))
        symlink(tree.base + "/secret.txt", tree.root + "/link")
        symlink(tree.base, tree.root + "/dirlink")
        mkfifo(tree.root + "/fifo", 0o644)

        let content = try DirectoryContent(root: tree.root)
        let home = try #require(content.resource(at: "/"))
        #expect(home.length == 11 && home.contentType == "text/html; charset=utf-8" && read(home) == Array("<p>home</p>".utf8))
        let a = try #require(content.resource(at: "/sub/a.txt"))
        #expect(a.contentType == "text/plain; charset=utf-8")
        #expect(read(a, offset: 3, count: 4) == Array("3456".utf8))
        #expect(read(a, offset: 10, count: 4).isEmpty)
        #expect(content.resource(at: "/sub/deeper/b.css")?.contentType == "text/css; charset=utf-8")
        #expect(content.resource(at: "/missing") == nil)
        #expect(content.resource(at: "/sub") == nil, "a directory without index.html")
        #expect(content.resource(at: "/empty") == nil)
        #expect(content.resource(at: "/link") == nil, "symbolic links are not followed")
        #expect(content.resource(at: "/dirlink/secret.txt") == nil, "not even in the middle of a path")
        #expect(content.resource(at: "/fifo") == nil, "only regular files")
        #expect(content.resource(at: "/../secret.txt") == nil)
        #expect(content.resource(at: "/index.html\u{0}.png") == nil)
        #expect(content.resource(at: "/index.html/x") == nil)
        #expect(throws: DirectoryContentError.self) { try DirectoryContent(root: tree.base + "/nope") }
        #expect(throws: DirectoryContentError.self) { try DirectoryContent(root: tree.root + "/index.html") }
    }

    @Test("a file on disk served over the simulator arrives intact")
    func servedFromDisk() throws {
        let tree = try TempTree()
        defer { tree.cleanup() }
        let file = testBytes(300_000, seed: 8)
        tree.write(tree.root + "/big.bin", file)
        let net = ServiceTestNetwork()
        let server = try HTTPServer(host: net.server.host, port: 80, content: DirectoryContent(root: tree.root))
        net.start(server, on: net.server)
        let download = try Download(net, path: "/big.bin")
        let missing = try Download(net, path: "/../secret.txt")
        #expect(net.run(limit: .seconds(5)) { download.client.isDone && missing.client.isDone })
        #expect(download.client.state == .finished && download.digest == sha256(file))
        #expect(missing.client.status == 404)
    }
}
