public import NetStackCore
public import NetStackWire

/// The TCP Echo service (RFC 862): every byte a client sends comes back.
///
/// Each connection moves bytes through one 16 KiB buffer: it reads only when
/// the buffer has gone out, so a client that sends without reading fills our
/// send buffer, then its own window, and the echo simply waits — memory stays
/// bounded. When the client closes, what is left is echoed, then we close.
/// At most ``maxConnections`` are served at once: at the limit, a connection
/// with no byte moved for ``idleBeforeEviction`` is aborted to make room for a
/// waiting client (the longest idle first, ``idleDroppedAtLimit``); when none
/// is, the new one is reset at once and counted. One where no byte moves for
/// ``idleTimeout`` — idle, or a client that stopped reading — is aborted and counted.
public final class TCPEchoService: StackApplication, ServiceStatisticsReporting {
    /// The port listened on.
    public let port: UInt16
    /// Most connections served at once; see ``idleBeforeEviction`` and ``connectionsRefused``.
    public var maxConnections: Int {
        get { slots.maxConnections }
        set { slots.maxConnections = newValue }
    }
    /// Longest a connection may go with no byte read or echoed before it is aborted (``idleTimeouts``).
    public var idleTimeout: Duration {
        get { slots.idleTimeout }
        set { slots.idleTimeout = newValue }
    }
    /// At ``maxConnections``, a connection with no byte moved for this long may be aborted for a waiting client.
    public var idleBeforeEviction: Duration {
        get { slots.idleBeforeEviction }
        set { slots.idleBeforeEviction = newValue }
    }
    /// Connections reset at once because ``maxConnections`` were open and none was idle enough to evict.
    public var connectionsRefused: Int { slots.connectionsRefused }
    /// Idle connections aborted to make room for a waiting client at ``maxConnections``.
    public var idleDroppedAtLimit: Int { slots.idleDroppedAtLimit }
    /// Connections aborted after ``idleTimeout`` without progress.
    public var idleTimeouts: Int { slots.idleTimeouts }
    /// Connections accepted.
    public var connectionsAccepted: Int { slots.connectionsAccepted }
    /// Connections finished (closed by the client and echoed out, broken, evicted or timed out).
    public var connectionsClosed: Int { slots.connectionsClosed }
    /// Bytes echoed back (handed to TCP).
    public private(set) var bytesEchoed = 0
    /// Connections open now.
    public var connectionCount: Int { slots.connections.count }

    private var listener: Int32?
    private let slots = ConnectionSlots<EchoConnection>()
    private let pool = BufferPool(bufferSize: 16 * 1024)
    /// A connection used up its turn's budget with work left: it needs another turn at once.
    private var moreWork: Instant?

    /// Listens on `port` of `address` (default 0.0.0.0: every IPv4 address of `host`; `::`: both families).
    public init(host: Host, address: IPAddress = .v4(.any), port: UInt16 = 7, backlog: Int = 128) throws(NetError) {
        listener = try listen(host, address: address, port: port, backlog: backlog)
        self.port = port
    }

    deinit {
        for connection in slots.connections { pool.give(connection.buffer) }
    }

    public var nextWakeup: Instant? { earliestInstant(moreWork, slots.nextDeadline) }

    public var statisticsReport: String {
        "    \(connectionsAccepted) echo \(port): connections accepted\n"
            + "    \(connectionsRefused) echo \(port): connections refused over the limit\n"
            + "    \(idleDroppedAtLimit) echo \(port): idle connections dropped at the connection limit\n"
            + "    \(idleTimeouts) echo \(port): idle timeouts\n"
    }

    public func run(on host: Host, now: Instant) {
        moreWork = nil
        let pool = pool
        if let listener {
            slots.acceptAll(listener, host, now: now, make: { EchoConnection(fd: $0, buffer: pool.take()) },
                            release: { pool.give($0.buffer) })
        }
        slots.serviceAll(host, now: now, release: { pool.give($0.buffer) }) { echo($0, host, now: now) }
    }

    /// Closes the listener and every connection (FIN; RST where unread data remains).
    public func stop(on host: Host, now: Instant) {
        if let listener { try? host.close(listener, now: now) }
        listener = nil
        let pool = pool
        slots.closeAll(host, now: now) { pool.give($0.buffer) }
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
                    return false
                }
                c.start += sent
                bytesEchoed += sent
                if sent > 0 { c.lastProgress = now }
                if c.start < c.end { return true }
                continue
            }
            if c.peerClosed { return false }
            do {
                let count = try host.recv(c.fd, into: c.buffer, now: now)
                c.start = 0
                c.end = count
                c.lastProgress = now
                if count == 0 { c.peerClosed = true }
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

/// The TCP Discard service (RFC 863): reads everything and throws it away.
/// Limits like ``TCPEchoService``'s: at most ``maxConnections`` (evicting the
/// longest idle for a waiting client, else resetting the new one), and one that
/// sends nothing for ``idleTimeout`` is aborted and counted.
public final class TCPDiscardService: StackApplication, ServiceStatisticsReporting {
    /// The port listened on.
    public let port: UInt16
    /// Most connections served at once; see ``idleBeforeEviction`` and ``connectionsRefused``.
    public var maxConnections: Int {
        get { slots.maxConnections }
        set { slots.maxConnections = newValue }
    }
    /// Longest a connection may go without sending a byte before it is aborted (``idleTimeouts``).
    public var idleTimeout: Duration {
        get { slots.idleTimeout }
        set { slots.idleTimeout = newValue }
    }
    /// At ``maxConnections``, a connection silent for this long may be aborted for a waiting client.
    public var idleBeforeEviction: Duration {
        get { slots.idleBeforeEviction }
        set { slots.idleBeforeEviction = newValue }
    }
    /// Connections reset at once because ``maxConnections`` were open and none was idle enough to evict.
    public var connectionsRefused: Int { slots.connectionsRefused }
    /// Idle connections aborted to make room for a waiting client at ``maxConnections``.
    public var idleDroppedAtLimit: Int { slots.idleDroppedAtLimit }
    /// Connections aborted after ``idleTimeout`` without a byte.
    public var idleTimeouts: Int { slots.idleTimeouts }
    /// Connections accepted.
    public var connectionsAccepted: Int { slots.connectionsAccepted }
    /// Connections finished.
    public var connectionsClosed: Int { slots.connectionsClosed }
    /// Bytes read and dropped.
    public private(set) var bytesDiscarded = 0
    /// Connections open now.
    public var connectionCount: Int { slots.connections.count }

    private var listener: Int32?
    private let slots = ConnectionSlots<DiscardConnection>()
    private let scratch: UnsafeMutableRawBufferPointer
    /// A connection used up its turn's budget with data left: it needs another turn at once.
    private var moreWork: Instant?

    /// Listens on `port` of `address` (default 0.0.0.0: every IPv4 address of `host`; `::`: both families).
    public init(host: Host, address: IPAddress = .v4(.any), port: UInt16 = 9, backlog: Int = 128) throws(NetError) {
        listener = try listen(host, address: address, port: port, backlog: backlog)
        self.port = port
        scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { scratch.deallocate() }

    public var nextWakeup: Instant? { earliestInstant(moreWork, slots.nextDeadline) }

    public var statisticsReport: String {
        "    \(connectionsAccepted) discard \(port): connections accepted\n"
            + "    \(connectionsRefused) discard \(port): connections refused over the limit\n"
            + "    \(idleDroppedAtLimit) discard \(port): idle connections dropped at the connection limit\n"
            + "    \(idleTimeouts) discard \(port): idle timeouts\n"
    }

    public func run(on host: Host, now: Instant) {
        moreWork = nil
        if let listener {
            slots.acceptAll(listener, host, now: now, make: { DiscardConnection(fd: $0) }, release: { _ in })
        }
        slots.serviceAll(host, now: now, release: { _ in }) { drain($0, host, now: now) }
    }

    /// Closes the listener and every connection.
    public func stop(on host: Host, now: Instant) {
        if let listener { try? host.close(listener, now: now) }
        listener = nil
        slots.closeAll(host, now: now) { _ in }
    }

    /// Reads until nothing is left (bounded). False at end of stream or on an error.
    private func drain(_ c: DiscardConnection, _ host: Host, now: Instant) -> Bool {
        for _ in 0..<64 {
            do {
                let count = try host.recv(c.fd, into: scratch, now: now)
                if count == 0 { return false }
                bytesDiscarded += count
                c.lastProgress = now
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

    private var socket: UDPSocketID?
    /// Datagrams were left in the queue at the end of a turn: another turn is needed at once.
    private var moreWork: Instant?

    /// Binds `port` of `address` (default 0.0.0.0: every IPv4 address of `host`; `::`: both families).
    public init(host: Host, address: IPAddress = .v4(.any), port: UInt16 = 7) throws(NetError) {
        let socket = host.udpOpen()
        do {
            try host.udpBind(socket, address: address, port: port)
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
private final class EchoConnection: SlotConnection {
    let fd: Int32
    let buffer: UnsafeMutableRawBufferPointer
    var start = 0
    var end = 0
    var peerClosed = false
    var lastProgress = Instant.zero
    var evicted = false

    init(fd: Int32, buffer: UnsafeMutableRawBufferPointer) {
        self.fd = fd
        self.buffer = buffer
    }
}

/// A TCP discard connection.
private final class DiscardConnection: SlotConnection {
    let fd: Int32
    var lastProgress = Instant.zero
    var evicted = false

    init(fd: Int32) { self.fd = fd }
}

/// The earlier of two optional instants.
private func earliestInstant(_ a: Instant?, _ b: Instant?) -> Instant? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
}

/// A listening TCP socket on `address`:`port`, or the error (the descriptor is closed on failure).
private func listen(_ host: Host, address: IPAddress, port: UInt16, backlog: Int) throws(NetError) -> Int32 {
    let fd = host.socket(.stream)
    do {
        try host.bind(fd, to: Endpoint(address, port))
        try host.listen(fd, backlog: backlog)
    } catch {
        try? host.close(fd, now: .zero)
        throw error
    }
    return fd
}
