import NetStackWire
public import NetStackCore

/// Two stacks in one process joined back to back, a client sending a request
/// of `size` bytes over one TCP connection and a server answering with as many,
/// one at a time: the `netstack bench rr` workload (netperf's TCP_RR).
///
/// Both sockets set TCP_NODELAY, as request/response programs do. Each round
/// trip of a message that fits one segment is four socket calls (send, recv on
/// each side) and two TCP segments through both stacks, every checksum computed
/// and verified; each side's data carries the ACK of what it last received, as
/// delayed ACKs allow. Virtual time advances by `tick` per exchange.
public final class TCPRoundTripBenchmark {
    public let client: Host
    public let server: Host
    public let size: Int
    private let clientFD: Int32
    private var serverFD: Int32 = -1
    private var now = Instant.zero
    private let tick: Duration
    private var message: [UInt8]
    private var buffer: [UInt8]
    public private(set) var roundTrips = 0
    public private(set) var framesMoved = 0

    /// Two hosts, a listener on the server, and a connection established.
    public init(size: Int = 1, tick: Duration = .microseconds(10)) throws(NetError) {
        precondition((1...65_536).contains(size), "request size out of range")
        self.size = size
        self.tick = tick
        message = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        buffer = [UInt8](repeating: 0, count: size)
        let hosts = BackToBackHosts(mtu: 1500, tcp: TCPConfig())
        client = hosts.first
        server = hosts.second
        let listener = server.socket(.stream)
        try server.bind(listener, to: Endpoint(.any, 5002))
        try server.listen(listener, backlog: 1)
        clientFD = client.socket(.stream)
        try client.connect(clientFD, to: Endpoint(BackToBackHosts.secondAddress, 5002), now: now)
        for _ in 0..<20 {
            exchange(from: client, to: server)
            exchange(from: server, to: client)
            if let (fd, _) = try? server.accept(listener) {
                serverFD = fd
                break
            }
        }
        guard serverFD >= 0 else { throw .timedOut }
        // As request/response programs do: a message's last, short segment leaves at once.
        try client.setOption(clientFD, .noDelay(true))
        try server.setOption(serverFD, .noDelay(true))
    }

    /// Runs the stacks' timers, then moves `from`'s frames into `to`, which takes them in.
    @inline(__always)
    private func exchange(from: Host, to: Host) {
        now = now + tick
        from.poll(now: now)
        framesMoved += BackToBackHosts.carry(from: from, to: to, now: now)
        to.poll(now: now)
    }

    /// Reads exactly `size` bytes from `fd` on `to`, exchanging frames with `from`
    /// while they are in flight (a message of several segments may wait for an
    /// ACK on the way); false if they did not all arrive within a few exchanges.
    @inline(__always)
    private func receiveMessage(on to: Host, _ fd: Int32, from: Host) -> Bool {
        var got = 0
        for attempt in 0..<8 {
            if attempt > 0 {
                exchange(from: to, to: from)
                exchange(from: from, to: to)
            }
            buffer.withUnsafeMutableBytes { bytes in
                while got < size,
                      let n = try? to.recv(fd, into: UnsafeMutableRawBufferPointer(rebasing: bytes[got...]), now: now),
                      n > 0 {
                    got += n
                }
            }
            if got == size { return true }
        }
        return false
    }

    /// Sends the whole message on `fd`; false if the send buffer refused part of it.
    @inline(__always)
    private func sendMessage(_ host: Host, _ fd: Int32) -> Bool {
        message.withUnsafeBytes { bytes in (try? host.send(fd, bytes, now: now)) == size }
    }

    /// Performs `count` more round trips; returns how many completed (fewer only
    /// if a message did not arrive whole, which a lossless wire never causes).
    @discardableResult
    public func run(_ count: Int) -> Int {
        var done = 0
        while done < count {
            guard sendMessage(client, clientFD) else { break }
            exchange(from: client, to: server)
            guard receiveMessage(on: server, serverFD, from: client), sendMessage(server, serverFD) else { break }
            exchange(from: server, to: client)
            guard receiveMessage(on: client, clientFD, from: server) else { break }
            done += 1
        }
        roundTrips += done
        return done
    }
}
