// TIME_WAIT without the connection (RFC 9293 §3.6, §3.10.7.4): once the
// application has closed its descriptor, a connection entering TIME_WAIT is
// replaced by a small record — what it takes to answer a retransmitted FIN or
// a stray segment with the right ACK for 2 × MSL — as Linux replaces the socket
// with an inet_timewait_sock. The 4-tuple stays taken (byKey, portUsers keep the id).

import NetStackWire

/// One TIME_WAIT connection reduced to its 4-tuple, sequence numbers,
/// timestamps state and deadline: about 100 bytes, against ~2 KiB for a
/// `TCPConnection`. Lives in `TCPTable.timeWait` under the connection's id.
struct TimeWaitRecord {
    let key: ConnectionKey
    /// SEQ of our ACKs: SND.MAX, past our FIN (everything we sent is acknowledged).
    let sequence: SequenceNumber
    /// RCV.NXT, past the peer's FIN.
    let rcvNxt: SequenceNumber
    /// The window field of our ACKs, and the acceptance window in bytes (what was last advertised).
    let windowField: UInt16
    let window: Int
    /// RFC 7323 timestamps: whether they are in use, TS.Recent and our clock's offset.
    let timestamps: Bool
    let tsRecent: UInt32
    let tsRecentAge: Instant
    let tsOffset: UInt32
    /// When the record expires (restarted by a retransmitted FIN).
    var deadline: Instant
    /// Linux's last_oow_ack_time: answers to invalid segments are rate-limited here too.
    var lastInvalidAnswer: Instant?

    /// The record for `connection`, which is in TIME_WAIT with `deadline` set. O(1).
    init(_ connection: TCPConnection, deadline: Instant) {
        key = ConnectionKey(local: connection.local, remote: connection.remote)
        sequence = connection.sndMax
        rcvNxt = connection.rcvNxt
        let promised = max(0, connection.rcvAdvertisedEdge - connection.rcvNxt)
        window = promised
        let shift = Int(connection.rcvScale)
        windowField = UInt16(min(connection.advertisableWindow(), 65_535 << shift) >> shift)
        timestamps = connection.timestampsEnabled
        tsRecent = connection.tsRecent
        tsRecentAge = connection.tsRecentAge
        tsOffset = connection.tsOffset
        self.deadline = deadline
        lastInvalidAnswer = connection.lastInvalidAnswer
    }

    /// The ACK this record sends: <SEQ=SND.MAX><ACK=RCV.NXT><CTL=ACK>, with a timestamp if in use.
    func ack(now: Instant) -> TCPHeader {
        var options = TCPOptions()
        if timestamps {
            let value = UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ tsOffset
            options.timestamps = TCPTimestamps(value: value, echo: tsRecent)
        }
        return TCPHeader(sourcePort: key.local.port, destinationPort: key.remote.port, sequenceNumber: sequence,
                         acknowledgmentNumber: rcvNxt, flags: [.ack], window: windowField, options: options)
    }

    /// As `TCPConnection.invalidAnswerRateLimited`: true when an invalid segment was answered
    /// less than `limit` ago; otherwise records `now`. O(1).
    mutating func rateLimited(now: Instant, limit: Duration) -> Bool {
        if let last = lastInvalidAnswer, now.nanoseconds - last.nanoseconds < limit.nanoseconds { return true }
        lastInvalidAnswer = now
        return false
    }

    /// RFC 6191 §2: a SYN for this 4-tuple belongs to a new incarnation when its
    /// timestamp is later than TS.Recent (if the old connection used timestamps),
    /// or else when its sequence number is past RCV.NXT. O(1).
    func isOlder(thanSYN syn: TCPHeader) -> Bool {
        if timestamps {
            guard let ts = syn.options.timestamps else { return false }
            return Int32(bitPattern: ts.value &- tsRecent) > 0
        }
        return syn.sequenceNumber > rcvNxt
    }

    /// The initial sequence number of a connection that replaces this record:
    /// past everything the old one could have sent or been allowed to send (as Linux does). O(1).
    var successorISS: SequenceNumber { sequence + (65_535 + 2) }

    /// RFC 9293 §3.10.7.4's acceptability test against the window last advertised.
    func acceptable(seq: SequenceNumber, length: Int) -> Bool {
        switch (length, window) {
        case (0, 0): return seq == rcvNxt
        case (0, _): return seq.isWithin(start: rcvNxt, length: window)
        case (_, 0): return false
        default:
            return seq.isWithin(start: rcvNxt, length: window) || (seq + (length - 1)).isWithin(start: rcvNxt, length: window)
        }
    }
}

extension Host {
    /// Replaces a TIME_WAIT connection whose descriptor is closed by a ``TimeWaitRecord``
    /// under the same id: the 4-tuple stays taken, the connection object and its timers go. O(1).
    func convertToTimeWaitRecord(_ connection: TCPConnection) {
        guard let deadline = connection.timeWaitDeadline else { return }
        let id = connection.id
        tcp.timers.cancel(id)
        if tcp.lastConnection === connection { tcp.lastConnection = nil }
        if tcp.connections.removeValue(forKey: id) != nil { tcp.retiredLoss.add(connection) }
        // Still counted in `timeWaitCount`, now as a record.
        connection.reportedState = nil
        tcp.timeWait[id] = TimeWaitRecord(connection, deadline: deadline)
        tcp.timers.schedule(id, at: deadline)
    }

    /// A segment for a TIME_WAIT record, answered as the connection would have
    /// (RFC 9293 §3.10.7.4 in TIME-WAIT): an RST is ignored (RFC 1337); a
    /// retransmitted FIN is acknowledged and restarts 2 × MSL; an unacceptable
    /// segment or one failing PAWS gets a duplicate ACK (rate-limited unless it
    /// carries data or a FIN); a SYN or an ACK of data never sent a challenge ACK
    /// (RFC 5961 §4, §5.2, both rate-limited). O(1).
    ///
    /// A SYN that is clearly newer than the old connection (RFC 6191: a later
    /// timestamp, or without timestamps a sequence number past RCV.NXT, as RFC 1122
    /// §4.2.2.13 allows) ends the record and opens a new connection through the
    /// listener, so a client that reuses its port soon is not held off for 2 × MSL.
    /// Returns the listener and the new connection's ISS when the SYN is to go there.
    func timeWaitInput(_ id: Int, header: TCPHeader, payloadLength: Int) -> (TCPListenQueue, iss: SequenceNumber)? {
        guard var record = tcp.timeWait[id] else { return nil }
        let flags = header.flags
        if flags.contains(.rst) { return nil }
        let syn = flags.contains(.syn), fin = flags.contains(.fin)
        if syn && !flags.contains(.ack), record.isOlder(thanSYN: header),
           let listener = successorListener(for: record.key.local), canTakeNewSYN(listener) {
            removeTimeWaitRecord(id, record)
            statistics.tcpTimeWaitReopened += 1
            return (listener, record.successorISS)
        }
        let length = payloadLength + (syn ? 1 : 0) + (fin ? 1 : 0)
        let limit = tcp.config.invalidRateLimit
        var answer = false
        if record.timestamps, let ts = header.options.timestamps, Int32(bitPattern: ts.value &- record.tsRecent) < 0,
           now.nanoseconds - record.tsRecentAge.nanoseconds < TCPConnection.pawsIdleLimit {
            answer = (payloadLength > 0 || fin) && !syn ? true : !record.rateLimited(now: now, limit: limit)
        } else if !record.acceptable(seq: header.sequenceNumber, length: length) {
            answer = length > 0 && !syn ? true : !record.rateLimited(now: now, limit: limit)
            if !answer { statistics.tcpOutOfWindowAcksSuppressed += 1 }
            if fin { record.deadline = now + tcp.config.msl + tcp.config.msl }
        } else if syn || (flags.contains(.ack) && header.acknowledgmentNumber > record.sequence) {
            answer = !record.rateLimited(now: now, limit: limit) && tcp.takeChallengeAck(now: now)
            if answer { statistics.tcpChallengeAcksSent += 1 } else { statistics.tcpChallengeAcksSuppressed += 1 }
        } else if flags.contains(.ack) && fin {
            answer = true
            record.deadline = now + tcp.config.msl + tcp.config.msl
        }
        tcp.timeWait[id] = record
        if record.deadline != tcp.timers.deadline(of: id) { tcp.timers.schedule(id, at: record.deadline) }
        if answer { sendStateless(record.ack(now: now), from: record.key.local, to: record.key.remote) }
        return nil
    }

    /// The listener a new SYN to `local` goes to: an ordinary one for the host's own
    /// addresses, a transparent one for any other (the record came from an
    /// any-destination interface). O(1).
    private func successorListener(for local: Endpoint) -> TCPListenQueue? {
        guard isLocal(local.address) else { return transparentListener(for: local) }
        guard let listener = tcp.listeners[local.port],
              listener.accepts(local.address) else { return nil }
        return listener
    }

    /// Whether `listener` would hold a new connection for a SYN now (no queue full, no
    /// limit reached, no SYN cookie): only then may a TIME_WAIT record give way to it,
    /// so that its protection is never lost for a SYN that is then dropped. O(1).
    private func canTakeNewSYN(_ listener: TCPListenQueue) -> Bool {
        if listener.intercepts {
            return listener.pendingFlowCount < listener.backlog && tcp.pendingFlows.count < tcp.config.maxHalfOpen
        }
        return listener.acceptQueue.count < listener.backlog && tcp.activeCount < tcp.config.maxConnections
            && tcp.halfOpenCount < tcp.config.maxHalfOpen
            && listener.halfOpen.count < min(tcp.config.synBacklog, max(listener.backlog, 1) * 2)
    }

    /// A TIME_WAIT record's timer fired: it expires at its deadline, or waits on
    /// if a retransmitted FIN restarted it. O(1) amortised.
    func timeWaitTimer(_ id: Int) {
        guard let record = tcp.timeWait[id] else { return }
        if record.deadline > now {
            tcp.timers.schedule(id, at: record.deadline)
            return
        }
        removeTimeWaitRecord(id, record)
    }

    /// Forgets a TIME_WAIT record: its 4-tuple and port are free again. O(users of its port).
    private func removeTimeWaitRecord(_ id: Int, _ record: TimeWaitRecord) {
        tcp.timers.cancel(id)
        tcp.timeWait[id] = nil
        tcp.timeWaitCount -= 1
        if tcp.byKey[record.key] == id { tcp.byKey[record.key] = nil }
        let port = record.key.local.port
        if var users = tcp.portUsers.removeValue(forKey: port) {
            if let i = users.firstIndex(of: id) { users.swapAt(i, users.count - 1); users.removeLast() }
            if !users.isEmpty { tcp.portUsers[port] = users }
        }
    }
}
