import NetStackWire
public import NetStackCore

/// A client host and a server host joined back to back in memory, for opening,
/// holding and closing many TCP connections between them: the workload of
/// `netstack bench connections` and of the `Connections` package-benchmark.
///
/// Frames go from one host's transmit queue straight into the other's adapter
/// (MTU 1500, no FCS, static ARP), under a virtual clock this pair owns, so
/// nothing waits on real time: a 60-second TIME_WAIT costs a few polls, not a
/// minute. The server listens on ports 5001…, one listener per 25,000
/// connections asked for at `init`, so the client's ephemeral ports (one per
/// connection to each listener) suffice however many stay open at once.
///
/// Costs (release build, 2-core VM): an idle established connection holds
/// about 3.8 KB of heap, both ends together; a full cycle — connect,
/// handshake, accept, close both ends, TIME_WAIT run out — takes about 8 µs of
/// CPU. Not thread-safe: use from one thread.
public final class ConnectionPair {
    /// The host that connects, and so ends in TIME_WAIT (it closes first).
    public let client: Host
    /// The host that listens and accepts.
    public let server: Host
    /// The virtual clock; advanced by ``pump()`` and ``idle(for:)``.
    public private(set) var now = Instant.zero

    private var listeners: [Int32] = []
    private var opened = 0
    /// 2 × MSL (RFC 9293 §3.4.2): how long the client keeps a closed connection in TIME_WAIT.
    private let timeWait: Duration
    private static let clientAddress = IPv4Address(192, 0, 2, 1)
    private static let serverAddress = IPv4Address(192, 0, 2, 2)
    /// Connections opened or closed between two ``pump()``s: the handshakes of one batch arrive at once.
    private static let batch = 1000
    /// Connections per listener: below the client's ephemeral ports towards one server port.
    private static let connectionsPerListener = 25_000

    /// Two hosts with their adapters, addresses and static ARP entries, and
    /// enough listeners on the server for `connections` open at once. The
    /// connection and TIME_WAIT limits are raised far above the defaults.
    public init(connections: Int) {
        func makeHost(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.randomSeed = UInt64(last)
            config.tcp.maxConnections = 1 << 20
            config.tcp.maxTimeWait = 1 << 20
            let host = Host(config)
            var adapter = AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last), mtu: 1500, fcs: false)
            adapter.receiveRing = 4096  // a batch of 1000 handshakes arrives at once
            adapter.transmitQueue = 4096
            host.addInterface(adapter)
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return host
        }
        client = makeHost("client", 1)
        server = makeHost("server", 2)
        timeWait = TCPConfig().msl * 2
        client.addStaticARP(Self.serverAddress, mac: MACAddress(2, 0, 0, 0, 0, 2), interface: InterfaceID(0))
        server.addStaticARP(Self.clientAddress, mac: MACAddress(2, 0, 0, 0, 0, 1), interface: InterfaceID(0))
        let perListener = Self.connectionsPerListener
        for i in 0..<max(1, (connections + perListener - 1) / perListener) {
            let fd = server.socket(.stream)
            try? server.bind(fd, to: Endpoint(.any, UInt16(5001 + i)))
            try? server.listen(fd, backlog: 4096)
            listeners.append(fd)
        }
        pump()
    }

    /// Advances the virtual clock 100 µs, then polls both hosts and carries
    /// frames both ways until nothing moves (at most 1000 rounds).
    public func pump() {
        now = now + .microseconds(100)
        for _ in 0..<1000 {
            client.poll(now: now)
            server.poll(now: now)
            var moved = 0
            while client.takeFrame(from: InterfaceID(0), { server.receive($0, on: InterfaceID(0), now: now) }) != nil { moved += 1 }
            while server.takeFrame(from: InterfaceID(0), { client.receive($0, on: InterfaceID(0), now: now) }) != nil { moved += 1 }
            if moved == 0 { return }
        }
    }

    /// Opens `n` connections in batches of 1000 — connect, handshake, accept —
    /// and returns both ends' descriptors, `clients[i]` joined to `servers[i]`.
    /// Throws what `connect` throws, or ``ConnectionPairError/handshakesIncomplete(completed:wanted:)``.
    public func open(_ n: Int) throws -> (clients: [Int32], servers: [Int32]) {
        var clients: [Int32] = [], servers: [Int32] = []
        clients.reserveCapacity(n)
        servers.reserveCapacity(n)
        while clients.count < n {
            let batch = min(Self.batch, n - clients.count)
            for _ in 0..<batch {
                let port = UInt16(5001 + opened / Self.connectionsPerListener % listeners.count)
                opened += 1
                let fd = client.socket(.stream)
                try client.connect(fd, to: Endpoint(Self.serverAddress, port), now: now)
                clients.append(fd)
            }
            pump()
            for listener in listeners {
                while let (fd, _) = try? server.accept(listener) { servers.append(fd) }
            }
        }
        guard servers.count == n else { throw ConnectionPairError.handshakesIncomplete(completed: servers.count, wanted: n) }
        return (clients, servers)
    }

    /// Closes the client ends, then the server ends, 1000 at a time, carrying
    /// the FINs and ACKs: the client ends go to TIME_WAIT, the server ends
    /// (LAST_ACK, then CLOSED) are gone.
    public func close(clients: [Int32], servers: [Int32]) throws {
        for start in stride(from: 0, to: clients.count, by: Self.batch) {
            for fd in clients[start..<min(start + Self.batch, clients.count)] { try client.close(fd, now: now) }
            pump()
            for fd in servers[start..<min(start + Self.batch, servers.count)] { try server.close(fd, now: now) }
            pump()
        }
    }

    /// Lets `duration` of virtual time pass, jumping from one timer deadline
    /// to the next (at most 10,000 of them) and running each.
    public func idle(for duration: Duration) {
        let end = now + duration
        var rounds = 0
        while rounds < 10_000, let next = [client.nextDeadline(), server.nextDeadline()].compactMap({ $0 }).min(), next <= end {
            now = max(now, next)
            pump()
            rounds += 1
        }
        now = end
        pump()
    }

    /// Sets up and tears down `n` connections, 1000 at a time: ``open(_:)``,
    /// ``close(clients:servers:)``, then idles past TIME_WAIT (2 × MSL) so
    /// every record of the batch is reaped. The pair ends as it began, so the
    /// cost per connection stays the same however many cycles run.
    public func cycle(_ n: Int) throws {
        var done = 0
        while done < n {
            let batch = min(Self.batch, n - done)
            let (clients, servers) = try open(batch)
            try close(clients: clients, servers: servers)
            idle(for: timeWait + .seconds(1))
            done += batch
        }
    }

    /// Client connections in TIME_WAIT now (the count `netstat -s` reports).
    /// Cost: builds the client's whole statistics report.
    public var clientTimeWaitCount: Int {
        client.statisticsCount("connections in TIME_WAIT")
    }
}

/// Why ``ConnectionPair/open(_:)`` failed.
public enum ConnectionPairError: Error, CustomStringConvertible {
    /// Fewer handshakes completed (connections accepted) than connections asked for.
    case handshakesIncomplete(completed: Int, wanted: Int)

    public var description: String {
        switch self {
        case let .handshakesIncomplete(completed, wanted): "only \(completed) of \(wanted) handshakes completed"
        }
    }
}

extension Host {
    /// The count on the `netstat -s` line ending in `what`, or 0.
    fileprivate func statisticsCount(_ what: String) -> Int {
        for line in statisticsReport().split(separator: "\n") where line.hasSuffix(what) {
            if let number = line.split(separator: " ").first.flatMap({ Int($0) }) { return number }
        }
        return 0
    }
}
