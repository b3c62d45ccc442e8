import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackServices

@Suite("HTTP eviction at the connection limit over the simulator")
struct HTTPEvictionTests {
    func serve(_ net: ServiceTestNetwork, _ files: [String: [UInt8]]) throws -> HTTPServer {
        let server = try HTTPServer(host: net.server.host, port: 80, content: RecordingContent(files))
        net.start(server, on: net.server)
        return server
    }

    @Test("HTTP at the limit: the longest-idle silent connection is closed for a waiting client, which is served")
    func longestIdleDroppedForWaitingClient() throws {
        let net = ServiceTestNetwork()
        let server = try serve(net, ["/a": [1]])
        server.maxConnections = 3
        var silent: [RawClient] = []
        for _ in 0..<3 {
            silent.append(try RawClient(net, port: 80, send: []))
            net.run(limit: .seconds(1))
        }
        #expect(server.connectionCount == 3)
        let late = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(300))
        #expect(responses(in: late.received).first?.status == 200)
        // The oldest got a FIN (it had nothing in flight); the younger two are untouched.
        #expect(silent[0].endOfStream && silent[0].error == nil)
        #expect(!silent[1].endOfStream && !silent[2].endOfStream)
        #expect(server.statistics.idleDroppedAtLimit == 1 && server.connectionCount == 3)
        #expect(server.statisticsReport.contains("    1 http 80: idle connections dropped at the connection limit\n"))
    }

    @Test("HTTP at the limit: only as many are evicted as clients wait")
    func evictsOnlyForWaitingClients() throws {
        let net = ServiceTestNetwork()
        let server = try serve(net, ["/a": [1]])
        server.maxConnections = 4
        let silent = try (0..<4).map { _ in try RawClient(net, port: 80, send: []) }
        net.run(limit: .seconds(1))
        let late = try (0..<2).map { _ in try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n") }
        net.run(limit: .milliseconds(300))
        #expect(late.allSatisfy { responses(in: $0.received).first?.status == 200 })
        #expect(silent.filter { $0.endOfStream }.count == 2)
        #expect(server.statistics.idleDroppedAtLimit == 2 && server.connectionCount == 4)
    }

    @Test("HTTP at the limit: a response going at a normal rate is never evicted; the new client waits for its end")
    func normalRateResponseNotEvicted() throws {
        // 10 Mbit/s: 4 MiB take about 3.5 s, longer than the slow-reader grace period, at far above the minimum rate.
        let slow = LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1), fcs: true)
        let net = ServiceTestNetwork(cable: slow)
        let file = testBytes(4 << 20, seed: 7)
        let server = try serve(net, ["/big": file, "/a": [1]])
        server.maxConnections = 1
        server.slowReaderGracePeriod = .seconds(1)
        let download = try Download(net, path: "/big")
        net.run(limit: .milliseconds(500))
        let waiting = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .seconds(2))
        #expect(!download.client.isDone && waiting.received.isEmpty)
        #expect(net.run(limit: .seconds(10)) { download.client.isDone })
        #expect(download.client.state == .finished && download.digest == sha256(file))
        net.run(limit: .milliseconds(300))
        #expect(responses(in: waiting.received).first?.status == 200)
        #expect(server.statistics.slowReadersDroppedAtLimit == 0)
    }

    @Test("HTTP at the limit: a client that stopped reading is aborted as a slow reader once clients wait")
    func slowReaderEvictedForWaitingClient() throws {
        let net = ServiceTestNetwork()
        let server = try serve(net, ["/big": testBytes(8 << 20, seed: 8), "/a": [1]])
        server.maxConnections = 1
        server.slowReaderGracePeriod = .seconds(2)
        server.minimumResponseRate = 1 << 20  // what fits in the two buffers is far less than 2 s at 1 MiB/s
        let reader = try RawClient(net, request: "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        reader.reading = false
        net.run(limit: .milliseconds(500))
        let waiting = try RawClient(net, request: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        net.run(limit: .milliseconds(500))
        // Within the grace period the reader keeps its slot.
        #expect(waiting.received.isEmpty && server.statistics.slowReadersDroppedAtLimit == 0)
        net.run(limit: .seconds(2))
        #expect(responses(in: waiting.received).first?.status == 200)
        reader.reading = true
        net.simulator.kick(net.client)
        net.run(limit: .milliseconds(100))
        #expect(reader.error == .connectionReset)
        #expect(server.statistics.slowReadersDroppedAtLimit == 1 && server.statistics.idleDroppedAtLimit == 0)
        #expect(server.statisticsReport.contains("    1 http 80: slow readers dropped at the connection limit\n"))
    }
}
