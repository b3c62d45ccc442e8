import Testing
import NetStackWire
import NetStackCore
import NetStackSimulator
import NetStackServices

/// A scripted HTTP server: accepts one connection, waits for a complete request
/// head, then plays its script — bytes, pauses, a close or a reset.
final class ScriptedServer: StackApplication {
    enum Step {
        case send(String)
        case sendBytes([UInt8])
        case pause(Duration)
        case close
        case reset
    }

    private let listener: Int32
    private var fd: Int32?
    private var script: [Step]
    private(set) var request: [UInt8] = []
    private var resumeAt: Instant?
    private var buffer = [UInt8](repeating: 0, count: 4096)

    init(_ net: ServiceTestNetwork, port: UInt16 = 80, script: [Step]) throws {
        let host = net.server.host
        listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(.any, port))
        try host.listen(listener, backlog: 4)
        self.script = script
        net.start(self, on: net.server)
    }

    var requestText: String { String(decoding: request, as: UTF8.self) }

    var nextWakeup: Instant? { resumeAt }

    func run(on host: Host, now: Instant) {
        if fd == nil, let (accepted, _) = try? host.accept(listener) { fd = accepted }
        guard let fd else { return }
        while let n = buffer.withUnsafeMutableBytes({ try? host.recv(fd, into: $0, now: now) }), n > 0 {
            request += buffer[0..<n]
        }
        guard request.count >= 4, request.suffix(4).elementsEqual("\r\n\r\n".utf8) else { return }
        if let resumeAt, now < resumeAt { return }
        resumeAt = nil
        while !script.isEmpty {
            switch script.removeFirst() {
            case let .send(text): _ = Array(text.utf8).withUnsafeBytes { try? host.send(fd, $0, now: now) }
            case let .sendBytes(bytes): _ = bytes.withUnsafeBytes { try? host.send(fd, $0, now: now) }
            case let .pause(duration):
                resumeAt = now + duration
                return
            case .close:
                try? host.close(fd, now: now)
                self.fd = nil
                return
            case .reset:
                try? host.setOption(fd, .linger(.zero))
                try? host.close(fd, now: now)
                self.fd = nil
                return
            }
        }
    }
}

/// A client fetching `path` from the scripted server, keeping the body.
final class Fetch {
    private final class Sink { var body: [UInt8] = [] }
    let client: HTTPClient
    private let sink = Sink()
    var body: [UInt8] { sink.body }

    init(_ net: ServiceTestNetwork, url: String = "http://192.0.2.2/", port: UInt16 = 80, timeout: Duration? = nil) throws {
        let sink = sink
        client = try HTTPClient(host: net.client.host, server: Endpoint(ServiceTestNetwork.serverAddress, port),
                                url: HTTPURL.parse(url), now: net.now) { sink.body += $0 }
        if let timeout { client.timeout = timeout }
        net.start(client, on: net.client)
    }
}

@Suite("HTTP client over the simulator")
struct HTTPClientTests {
    @Test("the request: GET with the path and query, Host with a non-default port, User-Agent, Connection: close")
    func request() throws {
        let net = ServiceTestNetwork()
        let server = try ScriptedServer(net, port: 8080, script: [.send("HTTP/1.1 204 No Content\r\n\r\n"), .close])
        let fetch = try Fetch(net, url: "http://192.0.2.2:8080/p/q.txt?x=1#top", port: 8080)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(server.requestText == "GET /p/q.txt?x=1 HTTP/1.1\r\nHost: 192.0.2.2:8080\r\nUser-Agent: netstack\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n")
        #expect(fetch.client.state == .finished && fetch.client.status == 204 && fetch.body.isEmpty)
    }

    @Test("states move connecting → waiting → receiving → finished; Content-Length gives the expected length")
    func progress() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [
            .send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Test: yes\r\n\r\n01234"), .pause(.milliseconds(100)),
            .send("56789"), .close,
        ])
        let fetch = try Fetch(net)
        #expect(fetch.client.state == .connecting)
        net.run(limit: .milliseconds(50))
        #expect(fetch.client.state == .receivingBody)
        #expect(fetch.client.expectedLength == 10 && fetch.client.bodyBytesReceived == 5)
        #expect(fetch.client.headers.contains { $0.0 == "X-Test" && $0.1 == "yes" })
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .finished && fetch.body == Array("0123456789".utf8))
    }

    @Test("a chunked body arriving in pieces, with extensions and a trailer")
    func chunked() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [
            .send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nWiki\r"), .pause(.milliseconds(20)),
            .send("\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0"), .pause(.milliseconds(20)), .send("\r\nX: y\r\n\r\n"),
        ])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .finished && fetch.client.expectedLength == nil)
        #expect(String(decoding: fetch.body, as: UTF8.self) == "Wikipedia in\r\n\r\nchunks.")
    }

    @Test("without a length the body runs until the server closes")
    func untilClose() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send("HTTP/1.0 200 OK\r\n\r\nall"), .pause(.milliseconds(10)), .send(" of it"), .close])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .finished && fetch.body == Array("all of it".utf8))
    }

    @Test("a close before Content-Length is reached fails with a one-line description")
    func shortBody() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), .close])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .failed(.bodyTooShort(expected: 100, received: 10)))
        #expect(HTTPError.bodyTooShort(expected: 100, received: 10).description == "connection closed after 10 of 100 body bytes")
        #expect(fetch.client.bodyBytesReceived == 10)
    }

    @Test("a reset fails with connectionReset")
    func reset() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123"), .pause(.milliseconds(10)), .reset])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .failed(.connectionReset))
    }

    @Test("a silent server: the client gives up after its timeout")
    func timeout() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.pause(.seconds(100))])
        let fetch = try Fetch(net, timeout: .seconds(2))
        net.run(limit: .milliseconds(1900))
        #expect(!fetch.client.isDone)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .failed(.timedOut) && fetch.client.nextWakeup == nil)
    }

    @Test("no listener: connection refused")
    func refused() throws {
        let net = ServiceTestNetwork()
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .failed(.network(.connectionRefused)))
    }

    @Test("malformed responses fail and reset the connection", arguments: [
        ("SSH-2.0-OpenSSH\r\n\r\n", HTTPError.malformedStatusLine),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .malformedContentLength),
    ])
    func malformed(response: String, error: HTTPError) throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send(response)])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .failed(error))
        net.run(limit: .milliseconds(100))
        #expect(net.serverStates == [.closed], "the client's reset tore the server's side down")
    }

    @Test("an error status still finishes: the status is the caller's to judge")
    func errorStatus() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n")])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(1)) { fetch.client.isDone })
        #expect(fetch.client.state == .finished && fetch.client.status == 404 && fetch.client.reason == "Not Found")
    }

    @Test("stop cancels an exchange in progress")
    func stop() throws {
        let net = ServiceTestNetwork()
        _ = try ScriptedServer(net, script: [.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123")])
        let fetch = try Fetch(net)
        net.run(limit: .milliseconds(50))
        fetch.client.stop(on: net.client.host, now: net.now)
        #expect(fetch.client.state == .failed(.cancelled))
        net.simulator.kick(net.client)
        net.run(limit: .milliseconds(50))
        #expect(net.client.host.tcpConnectionInfo().isEmpty)
    }

    @Test("a large chunked body over a lossy link arrives intact")
    func lossyChunked() throws {
        let net = ServiceTestNetwork(seed: 6, cable: ServiceTestNetwork.lossyCable)
        let data = testBytes(200_000, seed: 4)
        var wire = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        var offset = 0, size = 1
        while offset < data.count {
            let take = min(size, data.count - offset)
            wire += Array((String(take, radix: 16) + "\r\n").utf8) + data[offset..<(offset + take)] + Array("\r\n".utf8)
            offset += take
            size = size * 3 + 7
        }
        wire += Array("0\r\n\r\n".utf8)
        _ = try ScriptedServer(net, script: [.sendBytes(wire)])
        let fetch = try Fetch(net)
        #expect(net.run(limit: .seconds(30)) { fetch.client.isDone })
        #expect(fetch.client.state == .finished && fetch.body == data)
    }
}
