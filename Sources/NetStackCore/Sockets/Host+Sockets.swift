import NetStackWire

/// The socket library's BSD-style calls: descriptors name control records in
/// the host's socket table (the chapter's "socket"). The core never blocks:
/// a call that would wait throws `.wouldBlock` (EAGAIN) and `poll` tells when
/// to try again — blocking and async/await wrappers sit on top.
extension Host {
    /// socket(): a new descriptor, the lowest free one from 3 up (0–2 are the standard streams).
    public func socket(_ type: SocketType) -> Int32 {
        var fd = lowestFreeDescriptor
        while sockets[fd] != nil { fd += 1 }
        lowestFreeDescriptor = fd + 1
        let record = SocketRecord(type: type, options: tcp.config.socketDefaults)
        if type == .datagram {
            let udpSocket = udpOpen()
            udp.update(udpSocket) { $0.descriptor = fd }
            record.udp = udpSocket
        }
        sockets[fd] = record
        return fd
    }

    func record(_ fd: Int32) throws(NetError) -> SocketRecord {
        guard let record = sockets[fd] else { throw .badDescriptor }
        return record
    }

    /// bind(): a local address and port (port 0: an ephemeral one). EADDRINUSE when
    /// taken — by a listener, or by a connection unless SO_REUSEADDR and it is only in TIME_WAIT.
    public func bind(_ fd: Int32, to endpoint: Endpoint) throws(NetError) {
        let record = try record(fd)
        if record.transparent && record.type == .stream {
            // IP_TRANSPARENT: any address; port 0 stays 0, "every port", for a listener.
            guard record.bound == nil, record.connection == nil else { throw .invalidArgument }
            guard tcp.transparentListeners[endpoint] == nil else { throw .addressInUse }
            record.bound = endpoint
            return
        }
        guard endpoint.address.isUnspecified || isLocal(endpoint.address) else { throw .addressNotAvailable }
        if let udp = record.udp {
            try udpBind(udp, address: endpoint.address, port: endpoint.port)
            return
        }
        guard record.bound == nil, record.connection == nil else { throw .invalidArgument }
        var port = endpoint.port
        if port == 0 {
            guard let free = ephemeralTCPPort(avoiding: nil) else { throw .addressInUse }
            port = free
        } else if !tcpPortAvailable(port, address: endpoint.address, reuse: record.options.reuseAddress) {
            throw .addressInUse
        }
        record.bound = Endpoint(endpoint.address, port)
        boundTCPPorts[port, default: 0] += 1
    }

    /// Whether a TCP port may be bound: no listener on it, no other bound socket,
    /// and no connection using it (with SO_REUSEADDR, TIME_WAIT ones do not count).
    func tcpPortAvailable(_ port: UInt16, address: IPAddress, reuse: Bool) -> Bool {
        if tcp.listeners[port] != nil || boundTCPPorts[port] != nil { return false }
        return !(tcp.portUsers[port] ?? []).contains { id in
            guard let connection = tcp.connections[id] else { return !reuse && tcp.timeWait[id] != nil }
            return !(reuse && connection.state == .timeWait)
        }
    }

    /// An ephemeral port with no listener or bound socket; with `remote`, also
    /// no connection to that peer on it (so a TIME_WAIT 4-tuple is never reused).
    /// Toward a peer the port comes from RFC 6056 Algorithm 4 keyed by `local`,
    /// the peer's address and port; without one, from a keyed random start.
    func ephemeralTCPPort(local: IPAddress = .v4(.any), avoiding remote: Endpoint?) -> UInt16? {
        let range = udp.config.ephemeralPorts
        let listeners = tcp.listeners, bound = boundTCPPorts, portUsers = tcp.portUsers
        let connections = tcp.connections, timeWait = tcp.timeWait
        func isFree(_ port: UInt16) -> Bool {
            if listeners[port] != nil || bound[port] != nil { return false }
            guard let users = portUsers[port], !users.isEmpty else { return true }
            // The connections on this port only (an index, not a scan of every connection).
            guard let remote else { return false }
            return !users.contains { (connections[$0]?.remote ?? timeWait[$0]?.key.remote) == remote }
        }
        if let remote { return tcp.ephemeralPorts.port(in: range, local: local, remote: remote, isFree: isFree) }
        return tcp.ephemeralPorts.port(in: range, isFree: isFree)
    }

    /// listen(): the socket accepts connections; `backlog` bounds the queue of
    /// connections waiting for accept().
    public func listen(_ fd: Int32, backlog: Int) throws(NetError) {
        let record = try record(fd)
        guard record.type == .stream, record.connection == nil else { throw .invalidArgument }
        if let listener = record.listener {
            listener.backlog = max(1, backlog)
            return
        }
        if record.bound == nil { try bind(fd, to: Endpoint(.any, 0)) }
        guard let bound = record.bound else { throw .invalidArgument }
        let listener = TCPListenQueue(id: tcp.makeID(), local: bound, backlog: backlog, options: record.options,
                                   transparent: record.transparent)
        listener.intercepts = record.intercepts
        listener.descriptor = fd
        if record.transparent {
            guard tcp.transparentListeners[bound] == nil else { throw .addressInUse }
            tcp.transparentListeners[bound] = listener
        } else {
            tcp.listeners[bound.port] = listener
        }
        record.listener = listener
    }

    /// accept(): the oldest connection whose handshake completed, as a new descriptor.
    public func accept(_ fd: Int32) throws(NetError) -> (descriptor: Int32, peer: Endpoint) {
        let record = try record(fd)
        guard let listener = record.listener else { throw .invalidArgument }
        while !listener.acceptQueue.isEmpty {
            let id = listener.acceptQueue.removeFirst()
            guard let connection = tcp.connections[id] else { continue }
            connection.listener = nil
            let child = socket(.stream)
            let childRecord = sockets[child]
            childRecord?.options = connection.options
            childRecord?.connection = connection
            connection.descriptor = child
            return (child, connection.remote)
        }
        throw .wouldBlock
    }

    /// connect(): TCP starts the three-way handshake (the call returns at once;
    /// `poll` reports `.writable` once established, or `.error`); UDP records the peer.
    public func connect(_ fd: Int32, to remote: Endpoint, now: Instant) throws(NetError) {
        self.now = now
        let record = try record(fd)
        if record.type == .datagram {
            record.udpPeer = remote
            if let udp = record.udp { udpConnect(udp, to: remote) }
            return
        }
        if let connection = record.connection {
            throw connection.state == .synSent ? .wouldBlock : .invalidArgument
        }
        guard record.listener == nil else { throw .invalidArgument }
        guard remote.port != 0, !remote.address.isUnspecified else { throw .invalidArgument }
        if let bound = record.bound?.address, !bound.isUnspecified, bound.isIPv4 != remote.address.isIPv4 {
            throw .invalidArgument  // a socket bound to an address of one family cannot reach the other
        }
        guard canReach(remote.address) else { throw .networkUnreachable }
        let localAddress = record.bound.flatMap { $0.address.isUnspecified ? nil : $0.address }
            ?? sourceAddress(toward: remote.address)
        guard !localAddress.isUnspecified else { throw .addressNotAvailable }
        var port = record.bound?.port ?? 0
        if port == 0 {
            guard let free = ephemeralTCPPort(local: localAddress, avoiding: remote) else { throw .addressNotAvailable }
            port = free
        }
        let local = Endpoint(localAddress, port)
        if tcp.byKey[ConnectionKey(local: local, remote: remote)] != nil { throw .addressInUse }
        guard tcp.activeCount < tcp.config.maxConnections else {
            statistics.tcpConnectionsRefusedByLimit += 1
            throw .noBufferSpace  // Linux answers connect() with ENOBUFS when it cannot allocate a socket
        }
        if let bound = record.bound {
            if !record.transparent { boundTCPPorts[bound.port] = nil }  // a transparent bind holds no reservation
            record.bound = nil
        }
        let connection = TCPConnection(id: tcp.makeID(), local: local, remote: remote, options: record.options,
                                       config: tcp.config, passive: false, now: now, sharedConfig: tcp.configBox, memory: tcp.memory)
        connection.tsOffset = UInt32(truncatingIfNeeded: tcp.isn.isn(local: remote, remote: local, now: .zero).rawValue)
        connection.openActive(iss: tcp.isn.isn(local: local, remote: remote, now: now), mss: mss(toward: remote.address),
                              now: now)
        connection.descriptor = fd
        record.connection = connection
        register(connection)
        afterActivity(connection)
    }

    /// send(): copies what fits into the send buffer and lets TCP send what it
    /// may. Returns the bytes taken; throws EAGAIN when the buffer is full.
    public func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, now: Instant) throws(NetError) -> Int {
        self.now = now
        let record = try record(fd)
        if let udp = record.udp {
            guard let peer = record.udpPeer else { throw .notConnected }
            try udpSend(udp, bytes, to: peer, now: now)
            return bytes.count
        }
        guard let connection = record.connection else { throw .notConnected }
        let written = try connection.send(bytes, now: now)
        afterActivity(connection)
        if written == 0 && !bytes.isEmpty { throw .wouldBlock }
        return written
    }

    /// recv(): takes readable bytes. Returns 0 at end of stream; throws EAGAIN when nothing is there yet.
    public func recv(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, now: Instant) throws(NetError) -> Int {
        self.now = now
        let record = try record(fd)
        if let udp = record.udp {
            guard let datagram = udpReceive(udp) else {
                if let error = udpTakeError(udp) { throw error }
                throw .wouldBlock
            }
            let count = min(buffer.count, datagram.payload.count)
            datagram.payload.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            return count
        }
        guard let connection = record.connection else { throw .notConnected }
        if record.readShut { return 0 }
        defer { afterActivity(connection) }
        return try connection.receive(into: buffer, now: now)
    }

    /// shutdown(): `.write` sends a FIN once the data already written has gone (half-close);
    /// `.read` makes further `recv` calls return end of stream.
    public func shutdown(_ fd: Int32, _ how: ShutdownHow, now: Instant) throws(NetError) {
        self.now = now
        let record = try record(fd)
        guard let connection = record.connection else { throw .notConnected }
        if how != .write { record.readShut = true }
        if how != .read { connection.closeWrite() }
        afterActivity(connection)
    }

    /// close(): releases the descriptor. A connection closes gracefully (FIN) —
    /// or is reset when unread data remains or SO_LINGER is zero (RFC 9293
    /// §3.10.4, RFC 2525 §2.17); a listener resets what waits in its queues.
    public func close(_ fd: Int32, now: Instant) throws(NetError) {
        self.now = now
        let record = try record(fd)
        // Waiters on the descriptor learn of the close (their next call fails with EBADF).
        if readinessChanges != nil, !record.listedReady { readinessChanges?.append(fd) }
        sockets[fd] = nil
        lowestFreeDescriptor = min(lowestFreeDescriptor, fd)
        if let udp = record.udp { udpClose(udp) }
        if let bound = record.bound, !record.transparent { boundTCPPorts[bound.port] = nil }
        if let listener = record.listener {
            if listener.transparent {
                tcp.transparentListeners[listener.local] = nil
                dropPendingFlows(of: listener)
            } else {
                tcp.listeners[listener.local.port] = nil
            }
            for id in listener.acceptQueue + Array(listener.halfOpen) {
                guard let connection = tcp.connections[id] else { continue }
                connection.listener = nil
                connection.abort()
                afterActivity(connection)
            }
        }
        if let connection = record.connection {
            connection.descriptor = nil
            connection.orphaned = true
            if record.options.linger == .zero || connection.receiveBuffer.readable > 0 {
                connection.abort()
            } else {
                connection.closeWrite()
                if connection.state == .finWait2 { connection.finWait2Deadline = now + tcp.config.finWait2Timeout }
            }
            afterActivity(connection)
        }
    }

    /// setsockopt().
    public func setOption(_ fd: Int32, _ option: SocketOption) throws(NetError) {
        let record = try record(fd)
        var options = record.connection?.options ?? record.options
        switch option {
        case let .noDelay(on): options.noDelay = on
        case let .cork(on): options.cork = on
        case let .sendBuffer(size):
            guard size > 0 else { throw .invalidArgument }
            if let connection = record.connection {
                guard connection.sendBuffer.resize(capacity: size) else { throw .invalidArgument }
                connection.accountBuffers()
            }
            options.sendBufferSize = size
            options.sendBufferLocked = true  // as Linux's SOCK_SNDBUF_LOCK: no auto-tuning
        case let .receiveBuffer(size):
            guard size > 0 else { throw .invalidArgument }
            if let connection = record.connection {
                guard connection.receiveBuffer.resize(capacity: size) else { throw .invalidArgument }
                connection.accountBuffers()
            }
            options.receiveBufferSize = size
            options.receiveBufferLocked = true  // as Linux's SOCK_RCVBUF_LOCK: no auto-tuning
        case let .keepAlive(on): options.keepAlive = on
        case let .keepAliveIdle(value): options.keepAliveIdle = value
        case let .keepAliveInterval(value): options.keepAliveInterval = value
        case let .keepAliveCount(value): options.keepAliveCount = max(1, value)
        case let .linger(value): options.linger = value
        case let .reuseAddress(on): options.reuseAddress = on
        case let .userTimeout(value): options.userTimeout = value
        case let .congestion(algorithm):
            options.congestion = algorithm
            if let connection = record.connection, connection.congestion.algorithm != algorithm {
                connection.congestion = CongestionControl(algorithm, mss: connection.sendMSS, now: now)
                // A saved state of the old controller would bring it back on an undo.
                connection.undoHole = nil
                connection.dsackUndo = nil
                connection.frtoUndo = nil
            }
        case let .transparent(on):
            guard record.type == .stream, record.bound == nil else { throw .invalidArgument }
            record.transparent = on
            return
        case let .interceptHandshakes(on):
            guard record.type == .stream else { throw .invalidArgument }
            record.intercepts = on
            record.listener?.intercepts = on
            return
        case let .broadcast(on):
            if let udp = record.udp { udpSetBroadcast(udp, on) }
        case let .v6Only(on):
            // As Linux: only before the socket is bound (EINVAL after).
            guard record.bound == nil, record.listener == nil, record.connection == nil else { throw .invalidArgument }
            options.v6Only = on
        }
        record.options = options
        if let connection = record.connection {
            let corkRemoved = connection.options.cork && !options.cork
            connection.options = options
            if corkRemoved { connection.corkExpired = true }
            if options.keepAlive, connection.keepAliveDeadline == nil, connection.state.isSynchronized {
                connection.keepAliveDeadline = now + options.keepAliveIdle
            }
            afterActivity(connection)
        }
        record.listener?.options = options
    }

    /// getsockopt() for everything at once: the socket's options.
    public func options(_ fd: Int32) throws(NetError) -> TCPSocketOptions {
        let record = try record(fd)
        return record.connection?.options ?? record.options
    }

    /// getsockopt(SO_ERROR): the error the connection ended with (it stays: the connection cannot recover).
    public func takeError(_ fd: Int32) throws(NetError) -> NetError? {
        let record = try record(fd)
        if let udp = record.udp { return udpTakeError(udp) }
        guard let connection = record.connection, let error = connection.error else { return nil }
        return error
    }

    /// poll(): what the descriptor is ready for. Finding a TCP send buffer full marks
    /// it, as Linux's tcp_poll sets SOCK_NOSPACE: auto-tuning may then grow it. O(1).
    public func poll(_ fd: Int32) throws(NetError) -> PollEvents {
        let record = try record(fd)
        var events: PollEvents = []
        if let listener = record.listener {
            if !listener.acceptQueue.isEmpty || !listener.flowQueue.isEmpty { events.insert(.readable) }
            return events
        }
        if let udp = record.udp {
            if udpQueuedDatagrams(udp) > 0 { events.insert(.readable) }
            // As Linux's udp_poll: a pending ICMP error is POLLERR (the next recv or send reports it).
            if self.udp.state(udp)?.pendingError != nil { events.insert(.error) }
            events.insert(.writable)
            return events
        }
        guard let connection = record.connection else { return [.writable] }
        if connection.receiveBuffer.readable > 0 || connection.peerFinReceived || record.readShut { events.insert(.readable) }
        if connection.error != nil { events.formUnion([.error, .readable]) }
        if connection.state.sendsData && connection.finSeq == nil {
            if connection.sendSpace > 0 {
                events.insert(.writable)
            } else {
                connection.sendBufferFilled = true  // as Linux's tcp_poll sets SOCK_NOSPACE
            }
        }
        if connection.isFinished || (connection.peerFinReceived && connection.finSeq != nil) { events.insert(.hangUp) }
        return events
    }

    /// Bytes a `send` on this TCP descriptor would take now (SO_SNDBUF minus what is
    /// queued, or less under memory pressure); 0 for anything else. Lets an
    /// application read from its source only what TCP will take. O(1).
    public func sendSpace(_ fd: Int32) -> Int {
        guard let connection = try? record(fd).connection, connection.finSeq == nil else { return 0 }
        switch connection.state {
        case .synSent, .synReceived, .established, .closeWait: break
        default: return 0
        }
        return connection.sendSpace
    }

    /// The TCP state of a descriptor's connection (LISTEN for a listener).
    public func state(_ fd: Int32) throws(NetError) -> TCPState {
        let record = try record(fd)
        if record.listener != nil { return .listen }
        return record.connection?.state ?? .closed
    }

    /// The local and remote addresses of a descriptor (getsockname / getpeername).
    public func endpoints(_ fd: Int32) throws(NetError) -> (local: Endpoint?, remote: Endpoint?) {
        let record = try record(fd)
        if let connection = record.connection { return (connection.local, connection.remote) }
        if let listener = record.listener { return (listener.local, nil) }
        if let udp = record.udp { return (udpLocalEndpoint(udp), record.udpPeer) }
        return (record.bound, nil)
    }
}
