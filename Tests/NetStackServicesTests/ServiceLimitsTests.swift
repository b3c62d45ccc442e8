import Testing
import NetStackWire
import NetStackCore
import NetStackSimulator
import NetStackServices

/// Runs another program and records the most bytes a content read in one of its turns.
final class TurnMeter: StackApplication {
    let inner: any StackApplication
    let content: RecordingContent
    private(set) var mostBytesInOneTurn = 0

    init(_ inner: any StackApplication, content: RecordingContent) {
        self.inner = inner
        self.content = content
    }

    func run(on host: Host, now: Instant) {
        let before = content.bytesRead
        inner.run(on: host, now: now)
        mostBytesInOneTurn = max(mostBytesInOneTurn, content.bytesRead - before)
    }

    var nextWakeup: Instant? { inner.nextWakeup }
    func stop(on host: Host, now: Instant) { inner.stop(on: host, now: now) }
}

/// A client that reads only at intervals: enough to keep a response moving
/// (and so the idle timer from firing), far too slowly to finish it.
final class TricklingReader: StackApplication {
    let client: RawClient
    private var next: Instant

    init(_ client: RawClient, start: Instant) {
        self.client = client
        next = start
        client.reading = false
    }

    func run(on host: Host, now: Instant) {
        guard now >= next else { return }
        next = now + .seconds(1)
        client.reading = true
        client.run(on: host, now: now)
        client.reading = false
    }

    var nextWakeup: Instant? { next }
}

@Suite("HTTP server limits over the simulator")
struct HTTPServerLimitsTests {
    func serve(_ net: ServiceTestNetwork, _ files: [String: [UInt8]]) throws -> (HTTPServer, RecordingContent) {
        let content = RecordingContent(files)
        let server = try HTTPServer(host: net.server.host, port: 80, content: content)
        net.start(server, on: net.server)
        return (server, content)
    }

    @Test("paths with a component starting with '.' are 404 and never looked up, unless dotfiles are served")
    func dotfiles() throws {
        let files: [String: [UInt8]] = ["/.env": [1], "/.git/config": [2], "/a/.hidden/x": [3], "/ok": [4]]
        let net = ServiceTestNetwork()
        let (server, content) = try serve(net, files)
        let raw = try RawClient(net, request: ["/.env", "/.git/config", "/a/.hidden/x", "/%2Eenv", "/ok"]
            .map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined())
        net.run(limit: .seconds(1))
        #expect(responses(in: raw.received).map(\.status) == [404, 404, 404, 404, 200])
        #expect(server.statistics.dotfilesRefused == 4)
        #expect(content.paths == ["/ok"])

        let open = ServiceTestNetwork()
        let (permissive, _) = try serve(open, files)
        permissive.servesDotfiles = true
        let allowed = try RawClient(open, request: "GET /.git/config HTTP/1.1\r\nHost: x\r\n\r\n")
        open.run(limit: .seconds(1))
        #expect(responses(in: allowed.received).map(\.body) == [[2]])
    }

    @Test("beyond the per-address limit a new connection is reset at once and counted; the others are served")
    func perAddressLimit() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/a": [1]])
        server.maxConnectionsPerAddress = 2
        let clients = try (0..<3).map { _ in try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n") }
        net.run(limit: .milliseconds(500))
        #expect(clients.map { responses(in: $0.received).first?.status } == [200, 200, nil])
        #expect(clients[2].error == .connectionReset)
        #expect(server.statistics.connectionsRefusedPerAddress == 1 && server.statistics.connectionsAccepted == 2)
        #expect(server.statisticsReport.contains("    1 http 80: connections refused over the per-address limit\n"))
        // When one ends, the address may connect again.
        clients[0].closeRequested = true
        net.simulator.kick(net.client)
        net.run(limit: .milliseconds(300))
        let late = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(300))
        #expect(responses(in: late.received).first?.status == 200)
    }

    @Test("a client that reads just often enough to stay out of the idle timeout is cut off at the response deadline")
    func responseDeadline() throws {
        let net = ServiceTestNetwork()
        let (server, _) = try serve(net, ["/big": testBytes(16 << 20, seed: 4)])
        server.idleTimeout = .seconds(5)
        server.responseTimeout = .seconds(4)
        server.minimumResponseRate = 1 << 30  // the length adds nothing: 4 s for the whole response
        let raw = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.countOnly = true
        let trickle = TricklingReader(raw, start: net.now + .seconds(1))
        net.start(trickle, on: net.client)
        net.run(limit: .seconds(3))
        #expect(server.connectionCount == 1 && raw.receivedCount > 0)
        net.run(limit: .seconds(3))
        #expect(server.connectionCount == 0)
        #expect(server.statistics.responseTimeouts == 1 && server.statistics.idleTimeouts == 0)
        #expect(raw.receivedCount < 16 << 20)
    }

    @Test("the response deadline allows for the length at the minimum rate: a steady download finishes")
    func responseDeadlineAllowsLength() throws {
        let net = ServiceTestNetwork()
        let file = testBytes(4 << 20, seed: 6)
        let (server, _) = try serve(net, ["/f": file])
        server.responseTimeout = .zero
        server.minimumResponseRate = 4 << 20  // 1 s for 4 MiB: plenty at 1 Gbit/s
        let download = try Download(net, path: "/f")
        #expect(net.run(limit: .seconds(5)) { download.client.isDone })
        #expect(download.client.state == .finished && download.digest == sha256(file))
        #expect(server.statistics.responseTimeouts == 0)
    }

    @Test("disk reads per turn stay within the budget, and downloads still arrive intact")
    func diskBudget() throws {
        let net = ServiceTestNetwork()
        var files: [String: [UInt8]] = [:]
        for i in 0..<4 { files["/f\(i)"] = testBytes(2 << 20, seed: UInt64(10 + i)) }
        let content = RecordingContent(files)
        let server = try HTTPServer(host: net.server.host, port: 80, content: content)
        server.diskReadBudgetPerTurn = 128 * 1024
        let meter = TurnMeter(server, content: content)
        net.start(meter, on: net.server)
        let downloads = try (0..<4).map { try Download(net, path: "/f\($0)") }
        #expect(net.run(limit: .seconds(20)) { downloads.allSatisfy(\.client.isDone) })
        for (i, download) in downloads.enumerated() { #expect(download.digest == sha256(files["/f\(i)"] ?? [])) }
        // One read may start with budget left and take a whole 64 KiB buffer.
        #expect(meter.mostBytesInOneTurn <= 128 * 1024 + 64 * 1024)
        #expect(server.statistics.diskBudgetExhausted > 0)
    }
}

@Suite("Echo and discard limits over the simulator")
struct EchoLimitsTests {
    @Test("echo: beyond maxConnections a new connection is reset at once and counted")
    func echoConnectionLimit() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        echo.maxConnections = 2
        net.start(echo, on: net.server)
        let clients = try (0..<3).map { try RawClient(net, port: 7, send: testBytes(1000, seed: UInt64($0))) }
        net.run(limit: .milliseconds(500))
        #expect(clients.map(\.received.count) == [1000, 1000, 0])
        #expect(clients[2].error == .connectionReset)
        #expect(echo.connectionsRefused == 1 && echo.connectionCount == 2)
        #expect(echo.statisticsReport.contains("    1 echo 7: connections refused over the limit\n"))
    }

    @Test("echo: a connection with nothing moving for idleTimeout is aborted and counted; a busy one is not")
    func echoIdleTimeout() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        echo.idleTimeout = .seconds(3)
        net.start(echo, on: net.server)
        let idle = try RawClient(net, port: 7, send: [])
        let busy = try RawClient(net, port: 7, send: [1])
        for second in 0..<5 {
            net.run(limit: .seconds(1))
            busy.send([UInt8(second)])
            net.simulator.kick(net.client)
        }
        #expect(idle.error == .connectionReset)
        #expect(busy.error == nil && busy.received.count >= 5)
        #expect(echo.idleTimeouts == 1 && echo.connectionCount == 1)
        #expect(echo.nextWakeup != nil)
    }

    @Test("echo: a client that stops reading is cut off after idleTimeout")
    func echoStuckReader() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        echo.idleTimeout = .seconds(3)
        net.start(echo, on: net.server)
        let client = try RawClient(net, port: 7, send: testBytes(3 << 20, seed: 9))
        client.reading = false
        net.run(limit: .seconds(5))
        #expect(echo.idleTimeouts == 1 && echo.connectionCount == 0)
    }

    @Test("discard: a limit and an idle timeout like echo's")
    func discardLimits() throws {
        let net = ServiceTestNetwork()
        let discard = try TCPDiscardService(host: net.server.host, port: 9)
        discard.maxConnections = 1
        discard.idleTimeout = .seconds(3)
        net.start(discard, on: net.server)
        let first = try RawClient(net, port: 9, send: [1, 2, 3])
        let second = try RawClient(net, port: 9, send: [4])
        net.run(limit: .milliseconds(500))
        #expect(second.error == .connectionReset && discard.connectionsRefused == 1)
        #expect(discard.bytesDiscarded == 3 && first.error == nil)
        net.run(limit: .seconds(4))
        #expect(first.error == .connectionReset && discard.idleTimeouts == 1 && discard.connectionCount == 0)
        #expect(discard.statisticsReport.contains("    1 discard 9: idle timeouts\n"))
    }

    @Test("echo at the limit: the longest-idle connection is aborted for a waiting client; busy ones are not")
    func echoEvictsIdle() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        echo.maxConnections = 2
        net.start(echo, on: net.server)
        let idle = try RawClient(net, port: 7, send: [])
        let busy = try RawClient(net, port: 7, send: [1])
        for second in 0..<4 {
            net.run(limit: .milliseconds(500))
            busy.send([UInt8(second)])
            net.simulator.kick(net.client)
        }
        let late = try RawClient(net, port: 7, send: testBytes(100, seed: 1))
        net.run(limit: .milliseconds(300))
        #expect(late.received == testBytes(100, seed: 1))
        #expect(idle.error == .connectionReset && busy.error == nil)
        #expect(echo.idleDroppedAtLimit == 1 && echo.connectionsRefused == 0 && echo.connectionCount == 2)
        #expect(echo.statisticsReport.contains("    1 echo 7: idle connections dropped at the connection limit\n"))
    }

    @Test("discard at the limit: a busy connection is kept (the new one is refused); an idle one is evicted")
    func discardEvictsOnlyIdle() throws {
        let net = ServiceTestNetwork()
        let discard = try TCPDiscardService(host: net.server.host, port: 9)
        discard.maxConnections = 1
        net.start(discard, on: net.server)
        let first = try RawClient(net, port: 9, send: [1])
        for _ in 0..<3 {
            net.run(limit: .milliseconds(300))
            first.send([2])
            net.simulator.kick(net.client)
        }
        let refused = try RawClient(net, port: 9, send: [3])
        net.run(limit: .milliseconds(300))
        #expect(refused.error == .connectionReset && first.error == nil)
        #expect(discard.connectionsRefused == 1 && discard.idleDroppedAtLimit == 0)
        net.run(limit: .milliseconds(1500))
        let late = try RawClient(net, port: 9, send: [4, 5])
        net.run(limit: .milliseconds(300))
        #expect(first.error == .connectionReset && late.error == nil)
        #expect(discard.idleDroppedAtLimit == 1 && discard.connectionCount == 1 && discard.bytesDiscarded == 6)
        #expect(discard.statisticsReport.contains("    1 discard 9: idle connections dropped at the connection limit\n"))
    }
}
