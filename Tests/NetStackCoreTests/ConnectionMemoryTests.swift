// Memory per TCP connection and the host-wide limits (issue 9, item 4):
// buffers allocated lazily, grown on demand toward SO_SNDBUF/SO_RCVBUF and
// released when empty; bounds on connections, half-open connections and
// TIME_WAIT (Linux's tcp_max_tw_buckets), each counted.

@testable import NetStackCore
import NetStackWire
import Testing

/// Two hosts on one wire: A (192.0.2.1) and B (192.0.2.2), a server listening on B:80.
private struct Pair {
    let a: Host, b: Host, wires = Wires()
    let listener: Int32
    static let server = Endpoint(IPv4Address(192, 0, 2, 2), 80)

    init(configureA: (inout HostConfig) -> Void = { _ in }, configureB: (inout HostConfig) -> Void = { _ in }) {
        a = makeHost("A", [Port("eth0", Lab.macA, Lab.ipA)], configure: configureA)
        b = makeHost("B", [Port("eth0", Lab.macB, Pair.server.address)], configure: configureB)
        wires.connect(a, eth0, b, eth0)
        listener = b.socket(.stream)
        try? b.bind(listener, to: Endpoint(.any, 80))
        try? b.listen(listener, backlog: 1024)
    }

    /// connect() from A; nil when the call fails.
    func connect(at t: Instant) -> Int32? {
        let fd = a.socket(.stream)
        do { try a.connect(fd, to: Pair.server, now: t) } catch { return nil }
        return fd
    }

    func acceptAll() -> [Int32] {
        var accepted: [Int32] = []
        while let (fd, _) = try? b.accept(listener) { accepted.append(fd) }
        return accepted
    }

    func connections(_ host: Host) -> [TCPConnection] { Array(host.tcp.connections.values) }
}

@Suite("TCP connection memory and host-wide limits")
struct ConnectionMemoryTests {
    @Test("an idle established connection holds no buffer storage on either side")
    func idleConnectionHoldsNoBuffers() throws {
        let pair = Pair()
        let client = try #require(pair.connect(at: .zero))
        pair.wires.run(until: .milliseconds(10))
        #expect(pair.acceptAll().count == 1)
        #expect(try pair.a.poll(client).contains(.writable))
        for connection in pair.connections(pair.a) + pair.connections(pair.b) {
            #expect(connection.state == .established)
            #expect(connection.sendBuffer.allocatedBytes == 0)
            #expect(connection.receiveBuffer.allocatedBytes == 0)
            #expect(connection.receiveBuffer.capacity == 256 * 1024, "the window offered is still SO_RCVBUF's")
        }
        // The host's ~300-byte TCPConfig is shared by reference, not copied into each connection.
        #expect(pair.connections(pair.a).allSatisfy { $0.configBox === pair.a.tcp.configBox })
        #expect(pair.connections(pair.b).allSatisfy { $0.configBox === pair.b.tcp.configBox })
    }

    @Test("buffers grow under a transfer, the bytes arrive intact, and the storage is released once idle")
    func buffersGrowAndRelease() throws {
        let pair = Pair()
        let client = try #require(pair.connect(at: .zero))
        pair.wires.run(until: .milliseconds(10))
        let server = try #require(pair.acceptAll().first)
        let total = 2 << 20
        var sent = 0, received: [UInt8] = [], largestSend = 0, largestReceive = 0
        let pattern = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        var t = Instant.milliseconds(10)
        var rounds = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while received.count < total && rounds < 100_000 {
            rounds += 1
            if sent < total {
                sent += pattern[sent..<min(total, sent + 100_000)].withUnsafeBytes {
                    (try? pair.a.send(client, $0, now: t)) ?? 0
                }
            }
            pair.wires.settle(at: t)
            for connection in pair.connections(pair.a) { largestSend = max(largestSend, connection.sendBuffer.allocatedBytes) }
            for connection in pair.connections(pair.b) {
                largestReceive = max(largestReceive, connection.receiveBuffer.allocatedBytes)
            }
            // The reader is slower than the writer every other round, so data waits in B's buffer.
            if rounds % 2 == 0 {
                while let n = chunk.withUnsafeMutableBytes({ try? pair.b.recv(server, into: $0, now: t) }), n > 0 {
                    received += chunk[0..<n]
                }
            }
            t = t + .microseconds(500)
        }
        #expect(received == pattern)
        #expect(largestSend > SendBuffer.minimumAllocation && largestSend <= 256 * 1024)
        #expect(largestReceive > SendBuffer.minimumAllocation && largestReceive <= 256 * 1024)
        pair.wires.run(until: t + .seconds(3))
        for connection in pair.connections(pair.a) + pair.connections(pair.b) {
            #expect(connection.state == .established)
            #expect(connection.sendBuffer.allocatedBytes == 0)
            #expect(connection.receiveBuffer.allocatedBytes == 0)
        }
    }

    @Test("TIME_WAIT is a small record that expires after 2 MSL; beyond maxTimeWait a closing connection is destroyed and counted")
    func timeWaitOverflow() throws {
        let pair = Pair(configureA: { $0.tcp.maxTimeWait = 2 })
        var clients: [Int32] = []
        for _ in 0..<4 { clients.append(try #require(pair.connect(at: .zero))) }
        pair.wires.run(until: .milliseconds(10))
        let servers = pair.acceptAll()
        #expect(servers.count == 4)
        // A writes and closes first, so A's side ends in TIME_WAIT (RFC 9293 §3.6).
        for fd in clients {
            _ = [UInt8](repeating: 1, count: 1000).withUnsafeBytes { try? pair.a.send(fd, $0, now: .milliseconds(10)) }
            try pair.a.close(fd, now: .milliseconds(10))
        }
        pair.wires.run(until: .milliseconds(20))
        var buffer = [UInt8](repeating: 0, count: 2000)
        for fd in servers {
            _ = buffer.withUnsafeMutableBytes { try? pair.b.recv(fd, into: $0, now: .milliseconds(20)) }
            try pair.b.close(fd, now: .milliseconds(20))
        }
        pair.wires.run(until: .milliseconds(40))
        // The descriptors are closed: TIME_WAIT is held by small records, not connections.
        #expect(pair.a.tcpConnectionInfo().map(\.state) == [.timeWait, .timeWait])
        #expect(pair.a.tcp.timeWait.count == 2)
        #expect(pair.connections(pair.a).isEmpty)
        #expect(pair.a.tcp.timeWaitCount == 2)
        #expect(pair.a.statistics.tcpTimeWaitOverflow == 2)
        #expect(pair.a.statisticsReport().contains("    2 TCP time wait bucket table overflow\n"))
        #expect(MemoryLayout<TimeWaitRecord>.stride <= 128)
        #expect(pair.connections(pair.b).isEmpty, "every server side saw its FIN acknowledged")
        // After 2 MSL the records expire and the table is empty again.
        pair.wires.run(until: .seconds(61.0))
        #expect(pair.a.tcpConnectionInfo().isEmpty)
        #expect(pair.a.tcp.timeWait.isEmpty && pair.a.tcp.byKey.isEmpty && pair.a.tcp.portUsers.isEmpty)
        #expect(pair.a.tcp.timeWaitCount == 0)
    }

    @Test("beyond maxConnections a SYN is dropped and counted, and connect() fails with ENOBUFS")
    func connectionLimit() throws {
        let pair = Pair(configureA: { $0.tcp.maxConnections = 5 }, configureB: { $0.tcp.maxConnections = 3 })
        for _ in 0..<5 { _ = try #require(pair.connect(at: .zero)) }
        let sixth = pair.a.socket(.stream)
        #expect(throws: NetError.noBufferSpace) { try pair.a.connect(sixth, to: Pair.server, now: .zero) }
        #expect(pair.a.statistics.tcpConnectionsRefusedByLimit == 1)
        pair.wires.run(until: .milliseconds(10))
        #expect(pair.acceptAll().count == 3)
        #expect(pair.b.tcp.connections.count == 3)
        #expect(pair.b.statistics.tcpConnectionsRefusedByLimit == 2)
    }
}

@Suite("TCP scripts: the host-wide half-open limit")
struct HalfOpenLimitScripts {
    @Test("beyond maxHalfOpen SYNs get a SYN cookie (MSS only, no state), counted; a cookie ACK completes")
    func halfOpenLimit() {
        let s = TCPScript { $0.tcp.maxHalfOpen = 2 }
        s.listen(at: 0)
        for port in UInt16(40000)..<40002 {
            s.inject(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK], port: port))
            s.expect(at: 0.1, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460), .nop, .nop, .sackOK], port: port))
        }
        s.inject(at: 0.2, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK], port: 40002))
        s.expect(at: 0.2, .synAck(seq: 0, ack: 1, win: 65535, options: [.mss(1460)], port: 40002))
        #expect(s.host.tcp.connections.count == 2)
        #expect(s.host.statistics.tcpHalfOpenLimitReached == 1)
        #expect(s.host.statistics.tcpSynCookiesSent == 1)
        s.inject(at: 0.3, .ack(seq: 1, ack: 1, win: 65535, port: 40002))
        #expect(s.host.statistics.tcpSynCookiesValid == 1)
        #expect(s.host.tcp.connections.count == 3)
        s.inject(at: 0.4, .ack(seq: 1, ack: 77, win: 65535, port: 40003))
        s.expect(at: 0.4, .rst(seq: 77, port: 40003))
        #expect(s.host.statistics.tcpSynCookiesInvalid == 1)
    }
}
