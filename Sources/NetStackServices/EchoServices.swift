public import NetStackCore

/// The TCP Echo service (RFC 862): every byte a client sends comes back.
///
/// Each connection moves bytes through one 16 KiB buffer: it reads only when
/// the buffer has gone out, so a client that sends without reading fills our
/// send buffer, then its own window, and the echo simply waits — memory stays
/// bounded. When the client closes, what is left is echoed, then we close.
/// At most ``maxConnections`` are served at once (a further one is reset at
/// once and counted), and one where no byte moves for ``idleTimeout`` — idle,
/// or a client that stopped reading — is aborted and counted.
public final class TCPEchoService: StackApplication, ServiceStatisticsReporting {
    /// The port listened on.
    public let port: UInt16
    /// Most connections served at once; a further one is reset at once (``connectionsRefused``).
    public var maxConnections = 1024
    /// Longest a connection may go with no byte read or echoed before it is aborted (``idleTimeouts``).
    public var idleTimeout: Duration = .seconds(30)
    /// Connections reset at once because ``maxConnections`` were open.
    public private(set) var connectionsRefused = 0
    /// Connections aborted after ``idleTimeout`` without progress.
    public private(set) var idleTimeouts = 0
    /// Connections accepted.
    public private(set) var connectionsAccepted = 0
    /// Connections finished (closed by the client and echoed out, or broken).
    public private(set) var connectionsClosed = 0
    /// Bytes echoed back (handed to TCP).
    public private(set) var bytesEchoed = 0
    /// Connections open now.
    public var connectionCount: Int { connections.count }

    private var listener: Int32?
    private var connections: [EchoConnection] = []
    private let pool = ServiceBufferPool(bufferSize: 16 * 1024)
    /// A connection used up its turn's budget with work left: it needs another turn at once.
    private var moreWork: Instant?
    /// The earliest connection deadline.
    private var nextDeadline: Instant?

    /// Listens on `port` on every address of `host`.
    public init(host: Host, port: UInt16 = 7, backlog: Int = 128) throws(NetError) {
        listener = try listen(host, port: port, backlog: backlog)
        self.port = port
    }

    deinit {
        for connection in connections { pool.give(connection.buffer) }
    }

    public var nextWakeup: Instant? { earliestInstant(moreWork, nextDeadline) }

    public var statisticsReport: String {
        "    \(connectionsAccepted) echo \(port): connections accepted\n"
            + "    \(connectionsRefused) echo \(port): connections refused over the limit\n"
            + "    \(idleTimeouts) echo \(port): idle timeouts\n"
    }

    public func run(on host: Host, now: Instant) {
        moreWork = nil
        nextDeadline = nil
        if let listener {
            for _ in 0..<1024 {
                guard let (fd, _) = try? host.accept(listener) else { break }
                guard connections.count < maxConnections else {
                    connectionsRefused += 1
                    abort(fd, host, now: now)
                    continue
                }
                connectionsAccepted += 1
                connections.append(EchoConnection(fd: fd, buffer: pool.take(), deadline: now + idleTimeout))
            }
        }
        var i = 0
        while i < connections.count {
            let c = connections[i]
            var alive: Bool
            if c.deadline <= now {
                idleTimeouts += 1
                abort(c.fd, host, now: now)
                alive = false
            } else {
                alive = echo(c, host, now: now)
            }
            if alive {
                nextDeadline = earliestInstant(nextDeadline, c.deadline)
                i += 1
            } else {
                pool.give(connections[i].buffer)
                connectionsClosed += 1
                connections.swapAt(i, connections.count - 1)
                connections.removeLast()
            }
        }
    }

    /// Closes the listener and every connection (FIN; RST where unread data remains).
    public func stop(on host: Host, now: Instant) {
        if let listener { try? host.close(listener, now: now) }
        listener = nil
        for connection in connections {
            try? host.close(connection.fd, now: now)
            pool.give(connection.buffer)
            connectionsClosed += 1
        }
        connections.removeAll()
    }

    /// One connection's turn: send what is buffered, then read more. False when it is done.
    private func echo(_ c: EchoConnection, _ host: Host, now: Instant) -> Bool {
        for _ in 0..<64 {
            if c.start < c.end {
                let sent: Int
                do {
                    sent = try host.send(c.fd, UnsafeRawBufferPointer(rebasing: c.buffer[c.start..<c.end]), now: now)
                } catch .wouldBlock {
                    return true
                } catch {
                    try? host.close(c.fd, now: now)
                    return false
                }
                c.start += sent
                bytesEchoed += sent
                if sent > 0 { c.deadline = now + idleTimeout }
                if c.start < c.end { return true }
                continue
            }
            if c.peerClosed {
                try? host.close(c.fd, now: now)
                return false
            }
            do {
                let count = try host.recv(c.fd, into: c.buffer, now: now)
                c.start = 0
                c.end = count
                c.deadline = now + idleTimeout
                if count == 0 { c.peerClosed = true }
            } catch .wouldBlock {
                return true
            } catch {
                try? host.close(c.fd, now: now)
                return false
            }
        }
        moreWork = now
        return true
    }
}

/// The TCP Discard service (RFC 863): reads everything and throws it away.
/// At most ``maxConnections`` are served at once (a further one is reset at
/// once and counted); one that sends nothing for ``idleTimeout`` is aborted and counted.
public final class TCPDiscardService: StackApplication, ServiceStatisticsReporting {
    /// The port listened on.
    public let port: UInt16
    /// Most connections served at once; a further one is reset at once (``connectionsRefused``).
    public var maxConnections = 1024
    /// Longest a connection may go without sending a byte before it is aborted (``idleTimeouts``).
    public var idleTimeout: Duration = .seconds(30)
    /// Connections reset at once because ``maxConnections`` were open.
    public private(set) var connectionsRefused = 0
    /// Connections aborted after ``idleTimeout`` without a byte.
    public private(set) var idleTimeouts = 0
    /// Connections accepted.
    public private(set) var connectionsAccepted = 0
    /// Connections finished.
    public private(set) var connectionsClosed = 0
    /// Bytes read and dropped.
    public private(set) var bytesDiscarded = 0
    /// Connections open now.
    public var connectionCount: Int { connections.count }

    private var listener: Int32?
    private var connections: [(fd: Int32, deadline: Instant)] = []
    private let scratch: UnsafeMutableRawBufferPointer
    /// A connection used up its turn's budget with data left: it needs another turn at once.
    private var moreWork: Instant?
    /// The earliest connection deadline.
    private var nextDeadline: Instant?

    /// Listens on `port` on every address of `host`.
    public init(host: Host, port: UInt16 = 9, backlog: Int = 128) throws(NetError) {
        listener = try listen(host, port: port, backlog: backlog)
        self.port = port
        scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { scratch.deallocate() }

    public var nextWakeup: Instant? { earliestInstant(moreWork, nextDeadline) }

    public var statisticsReport: String {
        "    \(connectionsAccepted) discard \(port): connections accepted\n"
            + "    \(connectionsRefused) discard \(port): connections refused over the limit\n"
            + "    \(idleTimeouts) discard \(port): idle timeouts\n"
    }

    public func run(on host: Host, now: Instant) {
        moreWork = nil
        nextDeadline = nil
        if let listener {
            for _ in 0..<1024 {
                guard let (fd, _) = try? host.accept(listener) else { break }
                guard connections.count < maxConnections else {
                    connectionsRefused += 1
                    abort(fd, host, now: now)
                    continue
                }
                connectionsAccepted += 1
                connections.append((fd, now + idleTimeout))
            }
        }
        var i = 0
        while i < connections.count {
            if connections[i].deadline <= now {
                idleTimeouts += 1
                abort(connections[i].fd, host, now: now)
                connectionsClosed += 1
                connections.swapAt(i, connections.count - 1)
                connections.removeLast()
                continue
            }
            let before = bytesDiscarded
            if drain(connections[i].fd, host, now: now) {
                if bytesDiscarded > before { connections[i].deadline = now + idleTimeout }
                nextDeadline = earliestInstant(nextDeadline, connections[i].deadline)
                i += 1
            } else {
                try? host.close(connections[i].fd, now: now)
                connectionsClosed += 1
                connections.swapAt(i, connections.count - 1)
                connections.removeLast()
            }
        }
    }

    /// Closes the listener and every connection.
    public func stop(on host: Host, now: Instant) {
        if let listener { try? host.close(listener, now: now) }
        listener = nil
        for connection in connections { try? host.close(connection.fd, now: now) }
        connectionsClosed += connections.count
        connections.removeAll()
    }

    /// Reads until nothing is left (bounded). False at end of stream or on an error.
    private func drain(_ fd: Int32, _ host: Host, now: Instant) -> Bool {
        for _ in 0..<64 {
            do {
                let count = try host.recv(fd, into: scratch, now: now)
                if count == 0 { return false }
                bytesDiscarded += count
            } catch .wouldBlock {
                return true
            } catch {
                return false
            }
        }
        moreWork = now
        return true
    }
}

/// The UDP Echo service (RFC 862): each datagram goes back to its sender.
public final class UDPEchoService: StackApplication {
    /// The port bound.
    public let port: UInt16
    /// Datagrams sent back.
    public private(set) var datagramsEchoed = 0
    /// Payload bytes sent back.
    public private(set) var bytesEchoed = 0
    /// Datagrams that could not be sent back (no route, ICMP error pending …).
    public private(set) var sendErrors = 0

    private var socket: UDPSocket?
    /// Datagrams were left in the queue at the end of a turn: another turn is needed at once.
    private var moreWork: Instant?

    /// Binds `port` on every address of `host`.
    public init(host: Host, port: UInt16 = 7) throws(NetError) {
        let socket = host.udpOpen()
        do {
            try host.udpBind(socket, port: port)
        } catch {
            host.udpClose(socket)
            throw error
        }
        self.socket = socket
        self.port = port
    }

    public var nextWakeup: Instant? { moreWork }

    public func run(on host: Host, now: Instant) {
        moreWork = nil
        guard let socket else { return }
        // At most a bounded batch per turn; what is left gets the next turn.
        for _ in 0..<1024 {
            guard let datagram = host.udpReceive(socket) else { return }
            do {
                try host.udpSend(socket, datagram.payload, to: datagram.source, now: now)
                datagramsEchoed += 1
                bytesEchoed += datagram.payload.count
            } catch {
                sendErrors += 1
            }
        }
        if host.udpQueuedDatagrams(socket) > 0 { moreWork = now }
    }

    /// Releases the port.
    public func stop(on host: Host, now: Instant) {
        if let socket { host.udpClose(socket) }
        socket = nil
    }
}

/// A TCP echo connection: its descriptor and the bytes read but not yet sent back.
private final class EchoConnection {
    let fd: Int32
    let buffer: UnsafeMutableRawBufferPointer
    var start = 0
    var end = 0
    var peerClosed = false
    /// Aborted at this instant unless a byte moves first.
    var deadline: Instant

    init(fd: Int32, buffer: UnsafeMutableRawBufferPointer, deadline: Instant) {
        self.fd = fd
        self.buffer = buffer
        self.deadline = deadline
    }
}

/// Closes `fd` with a reset (SO_LINGER 0): for connections refused or timed out.
private func abort(_ fd: Int32, _ host: Host, now: Instant) {
    try? host.setOption(fd, .linger(.zero))
    try? host.close(fd, now: now)
}

/// The earlier of two optional instants.
private func earliestInstant(_ a: Instant?, _ b: Instant?) -> Instant? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

/// A listening TCP socket on `port`, or the error (the descriptor is closed on failure).
private func listen(_ host: Host, port: UInt16, backlog: Int) throws(NetError) -> Int32 {
    let fd = host.socket(.stream)
    do {
        try host.bind(fd, to: Endpoint(.any, port))
        try host.listen(fd, backlog: backlog)
    } catch {
        try? host.close(fd, now: .zero)
        throw error
    }
    return fd
}
