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
        b = makeHost("B", [Port("eth0", Lab.macB, Pair.server.ipv4!)], configure: configureB)
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
        // Auto-tuning may raise the capacities from 256 KiB; storage never passes their maxima.
        #expect(largestSend > SendBuffer.minimumAllocation && largestSend <= TCPConfig().sendBufferMaximum)
        #expect(largestReceive > SendBuffer.minimumAllocation && largestReceive <= TCPConfig().receiveBufferMaximum)
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
        _ = s.listen(at: 0)
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

/// Moves `payloads[i]` from `sender` connection `senders[i]` to `receivers[i]`, reading on the
/// receiving side only when `read` says so; returns what each receiver got and the most buffer
/// storage each host held at once.
private func transfer(_ pair: Pair, from sender: Host, _ senders: [Int32], to receiver: Host, _ receivers: [Int32],
                      payloads: [[UInt8]], alreadySent: [Int]? = nil, readWhen read: (Int) -> Bool, start: Instant,
                      onRound: (Int) -> Void = { _ in }) -> (received: [[UInt8]], end: Instant) {
    var sent = alreadySent ?? Array(repeating: 0, count: senders.count)
    var received = Array(repeating: [UInt8](), count: senders.count)
    var chunk = [UInt8](repeating: 0, count: 65_536)
    var t = start
    var round = 0
    while zip(received, payloads).contains(where: { $0.count < $1.count }) && round < 50_000 {
        round += 1
        for i in senders.indices where sent[i] < payloads[i].count {
            sent[i] += payloads[i][sent[i]...].withUnsafeBytes { (try? sender.send(senders[i], $0, now: t)) ?? 0 }
        }
        pair.wires.settle(at: t)
        onRound(round)
        if read(round) {
            for i in receivers.indices {
                while let n = chunk.withUnsafeMutableBytes({ try? receiver.recv(receivers[i], into: $0, now: t) }), n > 0 {
                    received[i] += chunk[0..<n]
                }
            }
        }
        t = t + .microseconds(500)
    }
    return (received, t)
}

@Suite("TCP buffer memory pressure (Linux's tcp_mem)")
struct MemoryPressureTests {
    static func payload(_ n: Int, _ seed: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ seed) } }

    @Test("under pressure a send buffer takes only what its storage holds; every transfer still completes intact")
    func sendBuffersStopGrowingUnderPressure() throws {
        let pair = Pair(configureA: { $0.tcp.bufferMemoryPressure = 64 << 10 })
        let clients = try (0..<4).map { _ in try #require(pair.connect(at: .zero)) }
        pair.wires.run(until: .milliseconds(10))
        let servers = pair.acceptAll()
        try #require(servers.count == 4)
        // The first send grows one buffer past the threshold: pressure starts.
        let first = Self.payload(300_000, 1)
        let taken = first.withUnsafeBytes { (try? pair.a.send(clients[0], $0, now: .milliseconds(10))) ?? 0 }
        #expect(taken == 256 * 1024)
        #expect(pair.a.tcp.memory.allocated >= 64 << 10)
        #expect(pair.a.tcp.memory.pressureEntries == 1)
        // Another connection now gets its first 4 KiB only, and poll agrees with send.
        let second = Self.payload(300_000, 2)
        #expect(pair.a.sendSpace(clients[1]) == SendBuffer.minimumAllocation)
        let small = second.withUnsafeBytes { (try? pair.a.send(clients[1], $0, now: .milliseconds(10))) ?? 0 }
        #expect(small == SendBuffer.minimumAllocation)
        #expect(!(try pair.a.poll(clients[1]).contains(.writable)))

        let payloads = [first, second, Self.payload(200_000, 3), Self.payload(200_000, 4)]
        var peak = 0
        let result = transfer(pair, from: pair.a, clients, to: pair.b, servers, payloads: payloads,
                              alreadySent: [taken, small, 0, 0], readWhen: { _ in true }, start: .milliseconds(10),
                              onRound: { _ in
                                  // The transmission records' rings are counted too; the bound below is the buffers'.
                                  let rings = pair.connections(pair.a).reduce(0) { $0 + $1.transmissions.allocatedBytes }
                                  peak = max(peak, pair.a.tcp.memory.allocated - rings)
                              })
        #expect(result.received == payloads, "every byte arrived, in order")
        // One buffer of 256 KiB, the others at their first allocation (plus small receive rings for ACK-only traffic).
        #expect(peak <= 256 * 1024 + 3 * SendBuffer.minimumAllocation + 4 * SendBuffer.minimumAllocation)
        #expect(pair.a.statisticsReport().contains("    1 times TCP buffer memory came under pressure\n"))
        // Closed and gone, the connections give every byte back.
        for fd in clients { try pair.a.close(fd, now: result.end) }
        for fd in servers { try pair.b.close(fd, now: result.end) }
        pair.wires.run(until: result.end + .seconds(70))
        #expect(pair.a.tcp.connections.isEmpty && pair.b.tcp.connections.isEmpty)
        #expect(pair.a.tcp.memory.allocated == 0)
        #expect(pair.b.tcp.memory.allocated == 0)
    }

    @Test("under pressure new receive windows open only as far as the storage held (4 KiB), and the data still arrives")
    func receiveWindowsStopGrowingUnderPressure() throws {
        func peakHeld(pressure: Int) throws -> (peak: Int, intact: Bool) {
            let pair = Pair(configureB: { $0.tcp.bufferMemoryPressure = pressure })
            // One stalled reader fills its 256 KiB first: past a 64 KiB threshold, B is under pressure.
            let first = try #require(pair.connect(at: .zero))
            pair.wires.run(until: .milliseconds(10))
            let firstServer = try #require(pair.acceptAll().first)
            let filler = Self.payload(256 * 1024, 9)
            let filled = transfer(pair, from: pair.a, [first], to: pair.b, [firstServer], payloads: [filler],
                                  readWhen: { $0 > 400 }, start: .milliseconds(10), onRound: { round in
                                      if round == 400 { #expect(pair.b.tcp.memory.allocated >= 256 * 1024) }
                                  })
            #expect(filled.received == [filler])
            // The first reader keeps its storage (an unread byte holds it); three more stall.
            _ = [UInt8](repeating: 1, count: 1).withUnsafeBytes { try? pair.a.send(first, $0, now: filled.end) }
            let clients = try (0..<3).map { _ in try #require(pair.connect(at: filled.end)) }
            pair.wires.run(until: filled.end + .milliseconds(10))
            let servers = pair.acceptAll()
            try #require(servers.count == 3)
            let payloads = (0..<3).map { Self.payload(300_000, $0) }
            var peak = 0
            // B's application does not read the three for 2,000 rounds (one second), then reads everything.
            let result = transfer(pair, from: pair.a, clients, to: pair.b, servers, payloads: payloads,
                                  readWhen: { $0 > 2000 }, start: filled.end + .milliseconds(10),
                                  onRound: { _ in peak = max(peak, pair.b.tcp.memory.allocated) })
            return (peak, result.received == payloads)
        }
        let free = try peakHeld(pressure: 1 << 30)
        let pressed = try peakHeld(pressure: 64 << 10)
        #expect(free.intact && pressed.intact)
        #expect(free.peak >= 4 * 256 * 1024, "without pressure each stalled reader holds its full SO_RCVBUF: \(free.peak)")
        #expect(pressed.peak <= 256 * 1024 + 3 * 2 * SendBuffer.minimumAllocation,
                "under pressure the three new connections hold their first 4 KiB: \(pressed.peak)")
    }
}

@Suite("TCP: a new SYN for a 4-tuple in TIME_WAIT (RFC 6191)")
struct TimeWaitReopenTests {
    /// A connection from A's port 40000 that B (the server) closes first, so B holds it in TIME_WAIT.
    fileprivate static func serverInTimeWait(timestamps: Bool) throws -> (Pair, Instant) {
        let pair = Pair(configureA: { $0.tcp.timestamps = timestamps }, configureB: { $0.tcp.timestamps = timestamps })
        let client = pair.a.socket(.stream)
        try pair.a.bind(client, to: Endpoint(Lab.ipA, 40000))
        try pair.a.connect(client, to: Pair.server, now: .zero)
        pair.wires.run(until: .milliseconds(10))
        let server = try #require(pair.acceptAll().first)
        _ = [UInt8](repeating: 7, count: 3000).withUnsafeBytes { try? pair.b.send(server, $0, now: .milliseconds(10)) }
        try pair.b.close(server, now: .milliseconds(10))
        pair.wires.run(until: .milliseconds(20))
        var sink = [UInt8](repeating: 0, count: 4000)
        _ = sink.withUnsafeMutableBytes { try? pair.a.recv(client, into: $0, now: .milliseconds(20)) }
        try pair.a.close(client, now: .milliseconds(20))
        pair.wires.run(until: .milliseconds(40))
        try #require(pair.b.tcp.timeWait.count == 1, "B keeps the connection in TIME_WAIT")
        try #require(pair.a.tcp.connections.isEmpty && pair.a.tcp.timeWait.isEmpty, "A's port is free again")
        return (pair, .milliseconds(40))
    }

    @Test("with timestamps, a SYN with a later timestamp ends TIME_WAIT and opens the new connection at once",
          arguments: [true, false])
    func newerSYNReopens(timestamps: Bool) throws {
        let (pair, t) = try Self.serverInTimeWait(timestamps: timestamps)
        let oldRecord = try #require(pair.b.tcp.timeWait.values.first)
        let start = t + .seconds(1)
        let client = pair.a.socket(.stream)
        try pair.a.bind(client, to: Endpoint(Lab.ipA, 40000))
        try pair.a.connect(client, to: Pair.server, now: start)
        pair.wires.run(until: start + .milliseconds(10))
        #expect(try pair.a.state(client) == .established, "the new connection opened without waiting 2 MSL")
        let server = try #require(pair.acceptAll().first)
        #expect(pair.b.statistics.tcpTimeWaitReopened == 1)
        #expect(pair.b.statisticsReport().contains("    1 TIME_WAIT connections reopened by a new SYN (RFC 6191)\n"))
        #expect(pair.b.tcp.timeWait.isEmpty && pair.b.tcp.timeWaitCount == 0)
        let connection = try #require(pair.b.tcp.connections.values.first)
        #expect(connection.iss == oldRecord.sequence + 65_537, "the new ISS lies past the old connection's sequence space")
        _ = [UInt8](repeating: 9, count: 100).withUnsafeBytes { try? pair.a.send(client, $0, now: start + .milliseconds(10)) }
        pair.wires.run(until: start + .milliseconds(20))
        var got = [UInt8](repeating: 0, count: 200)
        #expect(got.withUnsafeMutableBytes { (try? pair.b.recv(server, into: $0, now: start + .milliseconds(20))) ?? 0 } == 100)
    }

    @Test("a SYN that is not newer (an old timestamp, or a sequence number below RCV.NXT) keeps TIME_WAIT")
    func olderSYNKeepsTimeWait() throws {
        for timestamps in [true, false] {
            let (pair, t) = try Self.serverInTimeWait(timestamps: timestamps)
            let id = try #require(pair.b.tcp.timeWait.keys.first)
            let record = try #require(pair.b.tcp.timeWait[id])
            var syn = TCPHeader(sourcePort: 40000, destinationPort: 80, sequenceNumber: record.rcvNxt - 10,
                                acknowledgmentNumber: 0, flags: [.syn], window: 65_535, options: TCPOptions(mss: 1460))
            if timestamps { syn.options.timestamps = TCPTimestamps(value: record.tsRecent &- 5, echo: 0) }
            #expect(!record.isOlder(thanSYN: syn))
            _ = pair.b.timeWaitInput(id, header: syn, payloadLength: 0)
            #expect(pair.b.tcp.timeWait[id] != nil, "timestamps \(timestamps): the record stays")
            #expect(pair.b.statistics.tcpTimeWaitReopened == 0)
            _ = t
        }
    }
}

@Suite("TCP memory pressure with a large MSS")
struct MemoryPressureJumboTests {
    @Test("under pressure a jumbo-MSS connection still offers its 4 KiB: the SWS step follows the clamped window")
    func jumboMSSWindowStaysOpenUnderPressure() {
        var config = TCPConfig()
        config.bufferMemoryPressure = 64 << 10
        let memory = TCPBufferMemory()
        memory.change(by: 1 << 20, threshold: config.bufferMemoryPressure)  // other connections hold 1 MiB
        let connection = TCPConnection(id: 1, local: Endpoint(IPv4Address(192, 0, 2, 2), 80),
                                       remote: Endpoint(IPv4Address(192, 0, 2, 1), 40000), options: TCPSocketOptions(),
                                       config: config, passive: true, now: .zero, memory: memory)
        connection.announcedMSS = 8960  // MTU 9000
        #expect(connection.underMemoryPressure)
        #expect(connection.receiveWindowLimit == SendBuffer.minimumAllocation)
        #expect(connection.advertisableWindow() == SendBuffer.minimumAllocation, "not a zero window")
        memory.change(by: -(1 << 20), threshold: config.bufferMemoryPressure)
    }
}

@Suite("TCP memory: transmission records")
struct TransmissionRecordMemoryTests {
    /// An established connection sharing `memory`, with cwnd and the peer's window
    /// at 1 MiB and a full 256 KiB send buffer: one `output` sends ~180 segments.
    private static func sender(_ memory: TCPBufferMemory, port: UInt16) -> TCPConnection {
        let connection = TCPConnection(id: Int(port), local: Endpoint(IPv4Address(192, 0, 2, 1), port),
                                       remote: Endpoint(IPv4Address(192, 0, 2, 2), 80), options: TCPSocketOptions(),
                                       config: TCPConfig(), passive: false, now: .zero, memory: memory)
        connection.state = .established
        connection.synAcknowledged = true
        connection.sendMSS = 1460
        connection.congestion = CongestionControl(.cubic, mss: 1460, now: .zero)
        while connection.congestion.cwnd < 1 << 20 {
            connection.congestion.onAck(newlyAcked: 2920, flightSize: connection.congestion.cwnd, rtt: nil, now: .zero)
        }
        connection.sndWnd = 1 << 20
        let bytes = [UInt8](repeating: 0x5a, count: connection.sendBuffer.freeSpace)
        _ = bytes.withUnsafeBytes { try? connection.send($0, now: .zero) }
        return connection
    }

    @Test("many connections with large flights charge their record rings to the host's TCP memory; closed and freed, they give it all back")
    func recordRingsCounted() throws {
        let memory = TCPBufferMemory()
        var connections = (0..<16).map { Self.sender(memory, port: 40000 + UInt16($0)) }
        let buffersOnly = memory.allocated
        for connection in connections {
            connection.output(now: .zero, allowChallengeAck: { false }) { _ in }
        }
        // Each flight is more than the first 64 records: every ring grew (to 256 records of 72 bytes).
        for connection in connections {
            try #require(connection.transmissions.count > RetransmissionQueue.initialCapacity)
            #expect(connection.transmissions.allocatedBytes
                    == connection.transmissions.capacity * RetransmissionQueue.recordBytes)
        }
        let rings = connections.reduce(0) { $0 + $1.transmissions.allocatedBytes }
        #expect(rings >= 16 * 256 * RetransmissionQueue.recordBytes)
        #expect(memory.allocated == buffersOnly + rings)
        // Closed (aborted): no record is needed any more, and the rings are given back at once.
        for connection in connections { connection.finish(error: .connectionReset) }
        #expect(memory.allocated == connections.reduce(0) {
            $0 + $1.sendBuffer.allocatedBytes + $1.receiveBuffer.allocatedBytes
        })
        // Freed: nothing is left charged.
        connections.removeAll()
        #expect(memory.allocated == 0)
    }
}
