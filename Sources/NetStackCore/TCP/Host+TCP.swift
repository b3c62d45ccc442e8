import NetStackWire

/// The host's TCP: connections by 4-tuple, listeners by port, the timer queue.
struct TCPTable {
    var config: TCPConfig {
        didSet { configBox = TCPConfigBox(config) }
    }
    /// `config` by reference, handed to every new connection.
    private(set) var configBox: TCPConfigBox
    /// Buffer storage of all connections, shared with each of them (the memory-pressure threshold reads it).
    let memory = TCPBufferMemory()
    var connections: [Int: TCPConnection] = [:]
    var byKey: [ConnectionKey: Int] = [:]
    var listeners: [UInt16: TCPListenQueue] = [:]
    /// Transparent listeners by the endpoint they bound (address or `.any`, port or 0 for every port).
    var transparentListeners: [Endpoint: TCPListenQueue] = [:]
    /// Connection attempts held for intercepting listeners, by 4-tuple.
    var pendingFlows: [ConnectionKey: PendingFlow] = [:]
    /// The same attempts by their id (the key of their expiry timer).
    var pendingFlowKeys: [Int: ConnectionKey] = [:]
    var timers = TimerQueue<Int>()
    /// Loss-recovery counters of connections no longer in `connections`.
    var retiredLoss = TCPLossStatistics()
    /// Descriptors of connections with activity since the application last took them
    /// (``Host/takeTCPActivity(into:)``), each listed once; nil while nobody asked for the list.
    var activity: [Int32]?
    /// True inside ``Host/withOutputCorked(_:)``: `afterActivity` lists a connection with data
    /// to send in `corked` instead of sending it, until the scope ends.
    var corking = false
    /// Connections whose output waits for the corked scope to end, each listed once (`TCPConnection.listedCorked`).
    var corked: [TCPConnection] = []
    var nextID = 1
    var isn: ISNGenerator
    var cookies: SYNCookies
    /// The second (of the host's clock) the challenge-ACK budget belongs to, and what is left of it.
    var challengeAckSecond: Int64 = -1
    var challengeAckBudget = 0
    /// SplitMix64 state for the randomised challenge-ACK budget, seeded from the host's secret.
    var random: UInt64
    /// Connections in SYN-RECEIVED and in TIME_WAIT, by the state last reported
    /// (`TCPConnection.reportedState`), kept as they change: the host-wide limits read them in O(1).
    var halfOpenCount = 0
    var timeWaitCount = 0
    /// TIME_WAIT connections whose socket is gone, by connection id (counted in `timeWaitCount`).
    var timeWait: [Int: TimeWaitRecord] = [:]
    /// Connection ids by local port: bind and the ephemeral-port search look here
    /// instead of scanning every connection.
    var portUsers: [UInt16: [Int]] = [:]
    /// Picks the local port of an active open (RFC 6056 Algorithm 4) or of a bind to port 0.
    var ephemeralPorts: EphemeralPorts
    /// The connection the last segment was for: bulk traffic hits it again and
    /// again, saving the 4-tuple hash lookup (cleared when that connection goes).
    var lastConnection: TCPConnection?
    /// Segments answered with RST because no connection or listener wanted them.
    var resetsSent = 0

    /// A table keyed with four host secrets (``HostSecrets``): ISNs, SYN cookies, ephemeral ports, the challenge-ACK budget.
    init(config: TCPConfig, isnKey: (UInt64, UInt64), cookieKey: (UInt64, UInt64), portKey: (UInt64, UInt64),
         challengeAckKey: (UInt64, UInt64)) {
        self.config = config
        configBox = TCPConfigBox(config)
        isn = ISNGenerator(secret: isnKey)
        cookies = SYNCookies(secret: cookieKey)
        ephemeralPorts = EphemeralPorts(key: portKey)
        random = challengeAckKey.0 ^ (challengeAckKey.1 << 17 | challengeAckKey.1 >> 47)
    }

    /// Connections counted against `config.maxConnections`: all but TIME_WAIT. O(1).
    var activeCount: Int { connections.count + timeWait.count - timeWaitCount }

    /// Takes one challenge ACK from the host-wide budget (RFC 5961 §7). Each new
    /// second draws a budget of limit/2 + random(limit), as Linux's
    /// tcp_send_challenge_ack does since CVE-2016-5696, so the number sent in a
    /// second tells an off-path observer nothing exact. O(1), no allocation.
    mutating func takeChallengeAck(now: Instant) -> Bool {
        let second = now.nanoseconds / 1_000_000_000
        if second != challengeAckSecond {
            challengeAckSecond = second
            let limit = max(1, config.challengeAckLimit)
            challengeAckBudget = (limit + 1) / 2 + Int(splitMix64(&random) % UInt64(limit))
        }
        guard challengeAckBudget > 0 else { return false }
        challengeAckBudget -= 1
        return true
    }

    mutating func makeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }
}

extension Host {
    /// TCP input (RFC 9293 §3.10.7): verify, find the connection by its 4-tuple
    /// (or a listener for a SYN), hand the segment over, then send what it wants sent.
    /// `source` and `destination` are the datagram's addresses, of either family; `ip` points at
    /// its IPv4 header (nil for IPv6), for narration and for the quote an intercepted attempt
    /// keeps: lent, not copied into an optional on every segment (a copy that stalled the
    /// load of the header just parsed).
    func tcpInput(_ segment: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                  ip: UnsafePointer<IPv4Header>?, from interface: InterfaceID?, broadcast: Bool) {
        guard !broadcast else { return }  // TCP is unicast only (RFC 1122 §4.2.3.10)
        let header: TCPHeader
        do {
            // A checksum the device vouched for (offload) is not summed again: for a 64 KiB
            // super-segment that pass would cost more than the rest of TCP input.
            header = try TCPHeader.parse(segment, source: source, destination: destination,
                                         verifyingChecksum: !(receivedChecksumTrusted && interface != nil))
        } catch {
            statistics.tcpInErrors += 1
            emit(.ipDropped(.malformed(error), header: ip?.pointee))
            return
        }
        statistics.tcpInSegments += 1
        let payload = UnsafeRawBufferPointer(rebasing: segment[header.headerLength...])
        let key = ConnectionKey(local: Endpoint(destination, header.destinationPort),
                                remote: Endpoint(source, header.sourcePort))
        emit(.tcpSegmentReceived(header, payloadLength: payload.count, from: key.remote))
        let found: TCPConnection?
        if let last = tcp.lastConnection, last.local == key.local, last.remote == key.remote {
            found = last  // the one-entry cache hit: no hashing, no store
        } else {
            found = tcp.byKey[key].flatMap { tcp.connections[$0] }
            if found != nil { tcp.lastConnection = found }
        }
        if let connection = found {
            let unacknowledged = connection.sndUna
            if let reply = connection.input(header, payload: payload, now: now) {
                sendReset(to: key.remote, from: key.local, sequence: reply.sequence, acknowledgment: reply.acknowledgment)
            }
            if connection.sndUna != unacknowledged, now >= connection.nextReachabilityHint,
               case let .v6(peer) = key.remote.address {
                confirmReachability6(toward: peer, for: connection)
            }
            if connection.invalidAckSuppressed {
                connection.invalidAckSuppressed = false
                statistics.tcpOutOfWindowAcksSuppressed += 1
            }
            if connection.outOfOrderRefused > 0 {
                statistics.tcpOutOfOrderDropped += connection.outOfOrderRefused
                connection.outOfOrderRefused = 0
            }
            afterActivity(connection)
            return
        }
        if let id = tcp.byKey[key], tcp.timeWait[id] != nil {
            if let (listener, iss) = timeWaitInput(id, header: header, payloadLength: payload.count) {
                if listener.intercepts {
                    interceptInput(listener, header: header, segment: segment, ip: ip?.pointee, key: key, iss: iss)
                } else {
                    listenInput(listener, header: header, payload: payload, key: key, iss: iss)
                }
            }
            return
        }
        if !tcp.pendingFlows.isEmpty, tcp.pendingFlows[key] != nil {
            pendingFlowInput(key, header: header)
            return
        }
        let local = isLocal(destination)
        if local, let listener = tcp.listeners[header.destinationPort], listener.accepts(destination) {
            listenInput(listener, header: header, payload: payload, key: key)
            return
        }
        if let interface, anyDestinationInterfaces.contains(interface.index),
           let listener = transparentListener(for: key.local) {
            if listener.intercepts {
                interceptInput(listener, header: header, segment: segment, ip: ip?.pointee, key: key)
            } else {
                listenInput(listener, header: header, payload: payload, key: key)
            }
            return
        }
        respondToNoConnection(header, payloadLength: payload.count, key: key)
    }

    /// A segment for a listener (RFC 9293 §3.10.7.2): a SYN opens a half-open
    /// connection (or, with the half-open queue full, earns a SYN cookie); an ACK
    /// may complete a cookie handshake; anything else earns an RST.
    /// `iss` overrides the initial sequence number (a SYN that replaced a TIME_WAIT record).
    func listenInput(_ listener: TCPListenQueue, header: TCPHeader, payload: UnsafeRawBufferPointer,
                             key: ConnectionKey, iss: SequenceNumber? = nil) {
        let payloadLength = payload.count
        let flags = header.flags
        if flags.contains(.rst) { return }
        if flags.contains(.ack) {
            if !flags.contains(.syn), let mss = tcp.cookies.check(local: key.local, remote: key.remote,
                                                                   peerISN: header.sequenceNumber - 1,
                                                                   cookie: header.acknowledgmentNumber - 1, now: now),
               listener.acceptQueue.count < listener.backlog {
                statistics.tcpSynCookiesValid += 1
                guard tcp.activeCount < tcp.config.maxConnections else {
                    statistics.tcpConnectionsRefusedByLimit += 1
                    return  // dropped, as a full accept queue drops it: the peer retries
                }
                completeCookieHandshake(listener, header: header, payload: payload, key: key, mss: Int(mss))
                return
            }
            if !flags.contains(.syn) && listener.cookiesSent > 0 { statistics.tcpSynCookiesInvalid += 1 }
            respondToNoConnection(header, payloadLength: payloadLength, key: key)
            return
        }
        guard flags.contains(.syn) else { return }
        guard listener.acceptQueue.count < listener.backlog else {
            listener.overflows += 1  // like Linux: drop, the client's SYN retry may find room
            return
        }
        let ourMSS = mss(toward: key.remote.address)
        let hostFull = tcp.halfOpenCount >= tcp.config.maxHalfOpen
        if hostFull { statistics.tcpHalfOpenLimitReached += 1 }
        if hostFull || listener.halfOpen.count >= min(tcp.config.synBacklog, max(listener.backlog, 1) * 2) {
            // SYN cookie: answer without keeping state (the MSS is coded in our ISN).
            let peerMSS = UInt16(clamping: min(Int(header.options.mss ?? 536), ourMSS))
            let cookie = tcp.cookies.make(local: key.local, remote: key.remote, peerISN: header.sequenceNumber,
                                          mss: peerMSS, now: now)
            listener.cookiesSent += 1
            statistics.tcpSynCookiesSent += 1
            let reply = TCPHeader(sourcePort: key.local.port, destinationPort: key.remote.port, sequenceNumber: cookie,
                                  acknowledgmentNumber: header.sequenceNumber + 1, flags: [.syn, .ack],
                                  window: UInt16(min(listener.options.receiveBufferSize, 65_535)),
                                  options: TCPOptions(mss: UInt16(clamping: ourMSS)))
            sendStateless(reply, from: key.local, to: key.remote)
            return
        }
        guard tcp.activeCount < tcp.config.maxConnections else {
            statistics.tcpConnectionsRefusedByLimit += 1
            return  // dropped like a SYN to a full accept queue: the client retries
        }
        let connection = TCPConnection(id: tcp.makeID(), local: key.local, remote: key.remote,
                                       options: listener.options, config: tcp.config, passive: true, now: now,
                                       sharedConfig: tcp.configBox, memory: tcp.memory)
        connection.tsOffset = UInt32(truncatingIfNeeded: tcp.isn.isn(local: key.remote, remote: key.local, now: .zero).rawValue)
        connection.acceptSYN(header, iss: iss ?? tcp.isn.isn(local: key.local, remote: key.remote, now: now), mss: ourMSS,
                             now: now)
        connection.listener = listener
        register(connection)
        listener.halfOpen.insert(connection.id)
        afterActivity(connection)
    }

    /// The final ACK of a SYN-cookie handshake: the connection starts ESTABLISHED,
    /// with the MSS the cookie carried and without the options a cookie cannot hold.
    private func completeCookieHandshake(_ listener: TCPListenQueue, header: TCPHeader, payload: UnsafeRawBufferPointer,
                                         key: ConnectionKey, mss: Int) {
        let connection = TCPConnection(id: tcp.makeID(), local: key.local, remote: key.remote,
                                       options: listener.options, config: tcp.config, passive: true, now: now,
                                       sharedConfig: tcp.configBox, memory: tcp.memory)
        let iss = header.acknowledgmentNumber - 1
        var syn = header
        syn.sequenceNumber = header.sequenceNumber - 1
        syn.options = TCPOptions(mss: UInt16(clamping: mss))
        connection.acceptSYN(syn, iss: iss, mss: self.mss(toward: key.remote.address), now: now)
        connection.synPending = false
        connection.sndNxt = iss + 1
        connection.sndMax = iss + 1
        connection.rcvAdvertisedEdge = connection.rcvNxt + min(listener.options.receiveBufferSize, 65_535)
        connection.listener = listener
        listener.cookiesValidated += 1
        register(connection)
        // The ACK may carry data (and even a FIN): it goes through the normal input path.
        _ = connection.input(header, payload: payload, now: now)
        if connection.state.isSynchronized && !connection.isFinished {
            listener.acceptQueue.append(connection.id)
            if let fd = listener.descriptor { noteReadinessChange(fd) }
        } else {
            // Not a usable connection after all: nothing may linger outside the accept queue's bound.
            connection.listener = nil
            connection.abort()
            transmit(connection)
            forget(connection)
            return
        }
        afterActivity(connection)
    }

    /// RFC 9293 §3.10.7.1: a segment for no connection earns an RST (never for an RST).
    func respondToNoConnection(_ header: TCPHeader, payloadLength: Int, key: ConnectionKey) {
        guard !header.flags.contains(.rst) else { return }
        statistics.tcpNoConnection += 1
        if header.flags.contains(.ack) {
            sendReset(to: key.remote, from: key.local, sequence: header.acknowledgmentNumber, acknowledgment: nil)
        } else {
            let length = payloadLength + (header.flags.contains(.syn) ? 1 : 0) + (header.flags.contains(.fin) ? 1 : 0)
            sendReset(to: key.remote, from: key.local, sequence: 0, acknowledgment: header.sequenceNumber + length)
        }
    }

    func sendReset(to remote: Endpoint, from local: Endpoint, sequence: SequenceNumber, acknowledgment: SequenceNumber?) {
        tcp.resetsSent += 1
        let header = TCPHeader(sourcePort: local.port, destinationPort: remote.port, sequenceNumber: sequence,
                               acknowledgmentNumber: acknowledgment ?? 0,
                               flags: acknowledgment == nil ? [.rst] : [.rst, .ack], window: 0)
        sendStateless(header, from: local, to: remote)
    }

    /// Sends a header-only segment that belongs to no connection.
    func sendStateless(_ header: TCPHeader, from local: Endpoint, to remote: Endpoint) {
        try? output(protocol: .tcp, source: local.address, destination: remote.address,
                    payloadLength: header.headerLength) { buffer in
            header.emit(into: buffer, payloadLength: 0, source: local.address, destination: remote.address)
        }
        statistics.tcpOutSegments += 1
        emit(.tcpSegmentSent(header, payloadLength: 0, to: remote))
    }

    /// The MSS to announce toward an IPv4 `destination`: the outgoing interface's MTU − 40.
    func mss(toward destination: IPv4Address) -> Int {
        let mtu = routes.peek(destination).map { adapters[$0.interface.index].mtu } ?? adapters.first?.mtu ?? 1500
        // The link's MTU minus the IP and TCP headers (RFC 9293 §3.7.1), even below 536
        // on a small-MTU link; never below 88 (Linux's floor: 48 data bytes + options).
        return max(88, mtu - 40)
    }

    func register(_ connection: TCPConnection) {
        tcp.connections[connection.id] = connection
        tcp.byKey[ConnectionKey(local: connection.local, remote: connection.remote)] = connection.id
        tcp.portUsers[connection.local.port, default: []].append(connection.id)
    }

    /// Keeps the host's per-state counts (half-open, TIME_WAIT) in step with the
    /// state last reported for `connection`, and applies tcp_max_tw_buckets: a
    /// connection about to enter TIME_WAIT with the table full is destroyed instead
    /// (its last ACK already sent), as Linux's tcp_time_wait does. O(1).
    private func noteStateChange(_ connection: TCPConnection) {
        if connection.state == .timeWait && tcp.timeWaitCount >= tcp.config.maxTimeWait {
            statistics.tcpTimeWaitOverflow += 1
            connection.finish(error: nil)
        }
        count(connection.reportedState, by: -1)
        connection.reportedState = connection.state
        count(connection.state, by: 1)
        emit(.tcpStateChanged(local: connection.local, remote: connection.remote, state: connection.state))
    }

    private func count(_ state: TCPState?, by delta: Int) {
        if state == .synReceived { tcp.halfOpenCount += delta }
        if state == .timeWait { tcp.timeWaitCount += delta }
    }

    /// After anything happened to a connection: send what it wants to send,
    /// move it between the listener's queues, reschedule its timer, and forget it once finished.
    func afterActivity(_ connection: TCPConnection) {
        if tcp.activity != nil, !connection.listedActive, let fd = connection.descriptor {
            connection.listedActive = true
            tcp.activity?.append(fd)
        }
        if readinessChanges != nil, !connection.listedReady, let fd = connection.descriptor {
            connection.listedReady = true
            readinessChanges?.append(fd)
        }
        if tcp.corking && !connection.ackNow && (connection.state == .established || connection.state == .closeWait) {
            // Corked (``Host/withOutputCorked(_:)``): what it may send leaves when the scope ends,
            // with whatever else this turn gives it. An ACK owed now goes now (RFC 5681's one per
            // two segments, at once for out-of-order data), and so does the output of other
            // states: it (a SYN-ACK, a FIN, a RST) decides what the bookkeeping below does.
            if !connection.listedCorked {
                connection.listedCorked = true
                tcp.corked.append(connection)
            }
        } else {
            transmit(connection)
        }
        if let listener = connection.listener, connection.state != .synReceived,
           listener.halfOpen.remove(connection.id) != nil {
            if connection.state.isSynchronized && listener.acceptQueue.count < listener.backlog {
                listener.acceptQueue.append(connection.id)
                if let fd = listener.descriptor { noteReadinessChange(fd) }
            } else if !connection.isFinished {
                connection.abort()
                transmit(connection)
            }
        }
        // Compared with what was last reported, not with the state on entry: input and
        // user calls change the state before this runs.
        if connection.reportedState != connection.state { noteStateChange(connection) }
        let waitsForAccept = connection.listener?.acceptQueue.contains(connection.id) ?? false
        if connection.isFinished && connection.descriptor == nil && !waitsForAccept {
            forget(connection)
        } else if connection.state == .timeWait && connection.descriptor == nil && connection.listener == nil
                    && connection.receiveBuffer.readable == 0 {
            convertToTimeWaitRecord(connection)
        } else {
            connection.noteIdleBuffers(now: now)
            guard let deadline = connection.nextDeadline() else { return }
            // Only an earlier deadline touches the queue. A later one (the RTO restarting
            // on every ACK) leaves the old wake-up, which finds nothing due and reschedules.
            if connection.scheduledWake.map({ deadline < $0 }) ?? true {
                tcp.timers.schedule(connection.id, at: deadline)
                connection.scheduledWake = deadline
            }
        }
    }

    /// Removes a finished connection from every table.
    func forget(_ connection: TCPConnection) {
        tcp.timers.cancel(connection.id)
        if tcp.lastConnection === connection { tcp.lastConnection = nil }
        if tcp.connections.removeValue(forKey: connection.id) != nil { tcp.retiredLoss.add(connection) }
        let key = ConnectionKey(local: connection.local, remote: connection.remote)
        if tcp.byKey[key] == connection.id { tcp.byKey[key] = nil }
        count(connection.reportedState, by: -1)
        connection.reportedState = nil
        let port = connection.local.port
        if var users = tcp.portUsers.removeValue(forKey: port) {
            if let i = users.firstIndex(of: connection.id) { users.swapAt(i, users.count - 1); users.removeLast() }
            if !users.isEmpty { tcp.portUsers[port] = users }
        }
        connection.listener?.halfOpen.remove(connection.id)
        connection.listener = nil
    }

    /// Lets the connection emit its segments and builds each packet, copying the
    /// payload straight from the send buffer into the outgoing datagram.
    func transmit(_ connection: TCPConnection) {
        if connection.segmentationLimit == nil {
            connection.segmentationLimit = segmentationLimit(toward: connection.remote.address)
        }
        if connection.pathMTU6Serial != pathMTU6Decreases, case let .v6(remote) = connection.remote.address,
           connection.state.isSynchronized, connection.synAcknowledged {
            // A path MTU went down since this connection last looked: segments must fit it, not be fragmented.
            connection.pathMTU6Serial = pathMTU6Decreases
            connection.followPathMTU(pathMTU6(toward: remote), ipHeaderLength: IPv6Header.length)
        }
        connection.output(now: now, allowChallengeAck: { challengeAckAllowed(connection) }) { segment in
            let header = segment.header
            let local = connection.local, remote = connection.remote
            if connection.ipIDSlot == nil, case let .v4(source) = local.address, case let .v4(destination) = remote.address {
                connection.ipIDSlot = identification.slot(source: source, destination: destination, protocol: .tcp)
            }
            do {
                try output(protocol: .tcp, source: local.address, destination: remote.address,
                           identificationSlot: connection.ipIDSlot, segmentSize: segment.segmentSize,
                           transportHeaderLength: header.headerLength,
                           payloadLength: header.headerLength + segment.payloadLength) { buffer in
                    if segment.payloadLength > 0 {
                        connection.sendBuffer.copy(
                            from: segment.payloadOffset, count: segment.payloadLength,
                            into: UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength...]))
                    }
                    // A super-segment's checksum is the device's to finish, cut by cut.
                    header.emit(into: buffer, payloadLength: segment.payloadLength, source: local.address,
                                destination: remote.address, partialChecksum: segment.segmentSize > 0)
                }
                if segment.segmentSize > 0 {
                    let cuts = (segment.payloadLength + segment.segmentSize - 1) / segment.segmentSize
                    statistics.tcpOutSegments += cuts
                    statistics.tcpOutSuperSegments += 1
                } else {
                    statistics.tcpOutSegments += 1
                }
                if segment.header.flags.contains(.rst) { statistics.tcpResetsSent += 1 }
                emit(.tcpSegmentSent(header, payloadLength: segment.payloadLength, to: remote))
            } catch {
                statistics.outDiscards += 1
            }
        }
    }

    /// Most TCP payload bytes one super-segment toward `destination` may carry: what fits
    /// a 65,535-byte IP packet (IPv6 header included, as Linux's GSO limit counts it) with the
    /// largest TCP header, when the route's adapter has segmentation offload (TSO for IPv4,
    /// TSO6 for IPv6); 0 otherwise (and for a destination with no route, or this host).
    func segmentationLimit(toward destination: IPAddress) -> Int {
        switch destination {
        case let .v4(destination):
            guard !isLocal(destination), let route = routes.peek(destination),
                  adapters[route.interface.index].segmentationOffload else { return 0 }
            return 65_535 - IPv4Header.minimumLength - 60
        case let .v6(destination):
            guard !isLocal6(destination), let route = route6(toward: destination),
                  adapters[route.interface.index].segmentationOffload else { return 0 }
            return 65_535 - IPv6Header.length - 60
        }
    }

    /// RFC 5961 §7 with Linux's two limits: first the connection's own
    /// (tcp_invalid_ratelimit), then the host's randomised budget. Counts both outcomes.
    private func challengeAckAllowed(_ connection: TCPConnection) -> Bool {
        if connection.invalidAnswerRateLimited(now: now) || !tcp.takeChallengeAck(now: now) {
            statistics.tcpChallengeAcksSuppressed += 1
            return false
        }
        statistics.tcpChallengeAcksSent += 1
        return true
    }

    /// Runs the TCP timers that are due (called from `poll`).
    func runTCPTimers() {
        // One at a time, so that handling a timer may re-arm it; no list is built (no allocation).
        // Bounded: a timer that re-arms itself in the past must not spin the stack.
        var budget = 4 * tcp.connections.count + 64
        while budget > 0, let id = tcp.timers.popFirstExpired(now: now) {
            budget -= 1
            guard let connection = tcp.connections[id] else {
                if tcp.pendingFlowKeys[id] != nil { expirePendingFlow(id) } else { timeWaitTimer(id) }
                continue
            }
            connection.scheduledWake = nil
            connection.handleTimers(now: now)
            afterActivity(connection)
        }
    }
}
