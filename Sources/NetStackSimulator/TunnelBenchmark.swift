import NetStackWire
public import NetStackCore

/// Which way a ``TunnelBenchmark`` transfer goes.
public enum TunnelDirection: String, Sendable, CaseIterable {
    /// Client to destination: the tunnel side's application is a sink.
    case upload
    /// Destination to client: the tunnel side's application is a source.
    case download
}

/// What a ``TunnelBenchmark/transfer(_:over:bytesPerFlow:timeLimit:)`` moved.
public struct TunnelTransferResult: Sendable {
    /// Bytes the receiving ends read, all flows together.
    public var bytes: Int
    /// Bytes asked for, all flows together; more than ``bytes`` when a bound stopped the transfer.
    public var wanted: Int
    /// Wall-clock time the transfer took.
    public var elapsed: Duration
    /// TCP segments both hosts sent meanwhile (data and ACKs).
    public var segments: Int
    /// True when every byte asked for arrived.
    public var complete: Bool { bytes == wanted }
}

/// A client host and a tunnel host joined by an IP-only link (a simulated TUN:
/// no Ethernet header, no ARP), the tunnel host's interface in any-destination
/// mode with an intercepting listener on every address and port: the workload
/// of `netstack bench tunnel`.
///
/// The client connects to arbitrary addresses in 203.0.113.0/24; each attempt
/// is offered to the tunnel side's in-process application, which accepts it
/// (`Host.acceptFlow`) and then *is* the destination — a sink for uploads, a
/// source for downloads. It stands in for the relay's upstream with no kernel
/// socket, so what is measured is the stack's termination of intercepted flows
/// on both hosts. Packets go from one host's transmit queue straight into the
/// other's adapter (MTU 1500), every IP and TCP checksum computed and verified,
/// under a virtual clock this benchmark owns: timers cost polls, not waiting.
///
/// Costs: like ``ConnectionPair`` per connection, plus the tunnel host's
/// interception (a held attempt until the application decides). Not
/// thread-safe: use from one thread.
public final class TunnelBenchmark {
    /// The host that connects, through the tunnel, to addresses it does not own.
    public private(set) var client: Host
    /// The host whose interface takes every destination.
    public let tunnel: Host
    /// The congestion control of both hosts' connections.
    public let congestion: CongestionAlgorithm
    /// The virtual clock; advanced by ``pump()``, ``idle(for:)`` and transfers.
    public private(set) var now = Instant.zero

    /// The tunnel host's intercepting listener.
    private let listener: Int32
    private var opened = 0
    private let timeWait: Duration
    private let chunk: [UInt8]
    private var sink = [UInt8](repeating: 0, count: 256 * 1024)
    private static let link = InterfaceID(0)
    private static let clientAddress = IPv4Address(192, 0, 2, 1)
    private static let tunnelAddress = IPv4Address(192, 0, 2, 2)
    /// Connections opened or closed between two ``pump()``s: the handshakes of one batch cross at once.
    private static let batch = 1000

    /// Two hosts on a simulated TUN, the tunnel host intercepting every TCP
    /// attempt that arrives on it. Connection and TIME_WAIT limits are raised far
    /// above the defaults; socket buffers keep their defaults, as `netstack tunnel` does.
    /// Both hosts' connections use `congestion`.
    public init(congestion: CongestionAlgorithm = TCPSocketOptions().congestion) {
        self.congestion = congestion
        client = Self.makeClient(congestion)
        tunnel = Self.makeHost("tunnel", Self.tunnelAddress, congestion)
        tunnel.setAcceptsAnyDestination(true, interface: Self.link)
        timeWait = TCPConfig().msl * 2
        chunk = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let fd = tunnel.socket(.stream)
        try? tunnel.setOption(fd, .transparent(true))
        try? tunnel.setOption(fd, .interceptHandshakes(true))
        try? tunnel.bind(fd, to: Endpoint(.any, 0))
        try? tunnel.listen(fd, backlog: 4096)  // held attempts: a batch of 1000 fits
        listener = fd
        pump()
    }

    private static func makeHost(_ name: String, _ address: IPv4Address, _ congestion: CongestionAlgorithm) -> Host {
        var config = HostConfig(name: name)
        config.tcp.socketDefaults.congestion = congestion
        config.randomSeed = UInt64(address.rawValue & 0xFF)
        config.tcp.maxConnections = 1 << 20
        config.tcp.maxTimeWait = 1 << 20
        let host = Host(config)
        var adapter = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
        adapter.medium = .ipOnly
        adapter.receiveRing = 4096  // a batch of 1000 SYNs arrives at once
        adapter.transmitQueue = 4096
        host.addInterface(adapter)
        host.assign(address, prefixLength: 24, to: link, now: .zero)
        return host
    }

    private static func makeClient(_ congestion: CongestionAlgorithm) -> Host {
        let host = makeHost("client", clientAddress, congestion)
        host.setDefaultGateway(tunnelAddress, interface: link)
        return host
    }

    /// Replaces the client host with a fresh one holding no connection, and lets
    /// the old one (its connections, buffers and tables) go. Nothing is sent:
    /// the tunnel host's connections stay as they were. What the heap gives
    /// back is the client's share of the memory; what stays is the tunnel's.
    public func replaceClient() {
        client = Self.makeClient(congestion)
    }

    /// The destination of the `index`th flow: 203.0.113.1–250, ports 1000 up,
    /// so no destination takes more than a few hundred of the client's ephemeral ports.
    private static func destination(_ index: Int) -> Endpoint {
        Endpoint(IPv4Address(203, 0, 113, UInt8(1 + index % 250)), UInt16(1000 + index / 250 % 60_000))
    }

    /// A flow's two ends, as the client's socket and the tunnel's request both name them.
    private struct FlowEnds: Hashable {
        let client: Endpoint
        let destination: Endpoint
    }

    /// Moves every queued packet from `from` into `to`; the count moved.
    @inline(__always)
    private func carry(from: Host, to: Host) -> Int {
        var moved = 0
        while from.takeFrame(from: Self.link, { to.receive($0, on: Self.link, now: now) }) != nil { moved += 1 }
        return moved
    }

    /// Advances the virtual clock 100 µs, then polls both hosts and carries
    /// packets both ways until nothing moves (at most 1000 rounds).
    public func pump() {
        now = now + .microseconds(100)
        for _ in 0..<1000 {
            client.poll(now: now)
            tunnel.poll(now: now)
            if carry(from: client, to: tunnel) + carry(from: tunnel, to: client) == 0 { return }
        }
    }

    /// Lets `duration` of virtual time pass, jumping from one timer deadline
    /// to the next (at most 10,000 of them) and running each.
    public func idle(for duration: Duration) {
        let end = now + duration
        var rounds = 0
        while rounds < 10_000, let next = [client.nextDeadline(), tunnel.nextDeadline()].compactMap({ $0 }).min(), next <= end {
            now = max(now, next)
            pump()
            rounds += 1
        }
        now = end
        pump()
    }

    /// Opens `n` flows in batches of 1000: the client connects to
    /// `destination(_:)`, the SYNs cross, the tunnel's application accepts
    /// every attempt offered, the handshakes complete. Returns both ends'
    /// descriptors, `clients[i]` joined to `flows[i]`. Throws what `connect`
    /// throws, or ``TunnelBenchmarkError/flowsIncomplete(established:wanted:)``.
    public func open(_ n: Int) throws -> (clients: [Int32], flows: [Int32]) {
        var clients: [Int32] = [], flows: [Int32] = []
        clients.reserveCapacity(n)
        flows.reserveCapacity(n)
        var byEnds: [FlowEnds: Int32] = [:]
        while clients.count < n {
            let batch = min(Self.batch, n - clients.count)
            byEnds.removeAll(keepingCapacity: true)
            for _ in 0..<batch {
                let fd = client.socket(.stream)
                let destination = Self.destination(opened)
                try client.connect(fd, to: destination, now: now)
                if let local = try client.endpoints(fd).local { byEnds[FlowEnds(client: local, destination: destination)] = fd }
                opened += 1
            }
            pump()
            // The application's turn: accept every attempt offered, in the order offered.
            var accepted: [(client: Int32, flow: Int32)] = []
            while let request = try tunnel.nextFlowRequest(listener) {
                let flow = try tunnel.acceptFlow(listener, request, now: now)
                if let fd = byEnds[FlowEnds(client: request.client, destination: request.destination)] {
                    accepted.append((fd, flow))
                }
            }
            pump()
            for (clientFD, flow) in accepted where try tunnel.state(flow) == .established {
                clients.append(clientFD)
                flows.append(flow)
            }
            guard accepted.count == batch else {
                throw TunnelBenchmarkError.flowsIncomplete(established: clients.count, wanted: n)
            }
        }
        guard flows.count == n else { throw TunnelBenchmarkError.flowsIncomplete(established: flows.count, wanted: n) }
        return (clients, flows)
    }

    /// Closes the client ends, then the tunnel ends, 1000 at a time, carrying
    /// the FINs and ACKs: the client ends go to TIME_WAIT, the tunnel ends
    /// (LAST_ACK, then CLOSED) are gone — a client hanging up on a destination.
    public func close(clients: [Int32], flows: [Int32]) throws {
        for start in stride(from: 0, to: clients.count, by: Self.batch) {
            for fd in clients[start..<min(start + Self.batch, clients.count)] { try client.close(fd, now: now) }
            pump()
            for fd in flows[start..<min(start + Self.batch, flows.count)] { try tunnel.close(fd, now: now) }
            pump()
        }
    }

    /// Opens and closes `n` flows, 1000 at a time (``open(_:)``,
    /// ``close(clients:flows:)``), then idles past TIME_WAIT (2 × MSL) so every
    /// record of the batch is reaped: the pair ends as it began, so the cost per
    /// flow stays the same however many cycles run.
    public func cycle(_ n: Int) throws {
        var done = 0
        while done < n {
            let batch = min(Self.batch, n - done)
            let (clients, flows) = try open(batch)
            try close(clients: clients, flows: flows)
            idle(for: timeWait + .seconds(1))
            done += batch
        }
    }

    /// Moves `bytesPerFlow` bytes over each of the open flows (`clients[i]` to
    /// or from `flows[i]`) in `direction`; the sending application writes while
    /// `poll` says writable, the receiving one reads all there is, 10 µs of
    /// virtual time a round. Stops when every byte arrived, or after
    /// `timeLimit` of wall-clock time or 100,000,000 rounds (safety bounds).
    public func transfer(_ direction: TunnelDirection, over pairs: (clients: [Int32], flows: [Int32]),
                         bytesPerFlow: Int, timeLimit: Duration = .seconds(120)) -> TunnelTransferResult {
        let (source, sourceFDs, destination, destinationFDs) = direction == .upload
            ? (client, pairs.clients, tunnel, pairs.flows)
            : (tunnel, pairs.flows, client, pairs.clients)
        var left = [Int](repeating: bytesPerFlow, count: sourceFDs.count)
        let wanted = bytesPerFlow * sourceFDs.count
        var received = 0, rounds = 0, progressMark = 0
        let segmentsBefore = client.statistics.tcpOutSegments + tunnel.statistics.tcpOutSegments
        let clock = ContinuousClock(), start = clock.now
        while received < wanted && rounds < 100_000_000 {
            now = now + .microseconds(10)
            chunk.withUnsafeBytes { bytes in
                for (i, fd) in sourceFDs.enumerated() where left[i] > 0 {
                    while left[i] > 0, (try? source.poll(fd))?.contains(.writable) == true {
                        let want = min(bytes.count, left[i])
                        guard let n = try? source.send(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<want]), now: now),
                              n > 0 else { break }
                        left[i] -= n
                    }
                }
            }
            source.poll(now: now)
            _ = carry(from: source, to: destination)
            destination.poll(now: now)
            sink.withUnsafeMutableBytes { buffer in
                for fd in destinationFDs {
                    while let n = try? destination.recv(fd, into: buffer, now: now), n > 0 { received += n }
                }
            }
            destination.poll(now: now)
            _ = carry(from: destination, to: source)
            source.poll(now: now)
            rounds += 1
            if rounds % 1024 == 0 {
                if clock.now - start > timeLimit { break }
                // No progress for 1024 rounds: stalled on a timer (an RTO, a probe); jump to it.
                if received == progressMark, let deadline = source.nextDeadline(), deadline > now { now = deadline }
                progressMark = received
            }
        }
        let segments = client.statistics.tcpOutSegments + tunnel.statistics.tcpOutSegments - segmentsBefore
        return TunnelTransferResult(bytes: received, wanted: wanted, elapsed: clock.now - start, segments: segments)
    }
}

/// Why a ``TunnelBenchmark`` could not open its flows.
public enum TunnelBenchmarkError: Error, CustomStringConvertible {
    /// Fewer flows reached ESTABLISHED on the tunnel host than were asked for.
    case flowsIncomplete(established: Int, wanted: Int)

    /// One line saying what fell short.
    public var description: String {
        switch self {
        case let .flowsIncomplete(established, wanted): "only \(established) of \(wanted) flows were established"
        }
    }
}
