// Intercepting listeners: a transparent proxy's view of TCP. Each connection
// attempt is offered to the application with its original destination before
// any answer goes back, so the application can reach that destination first
// and then complete the handshake (SYN-ACK) or refuse it the way the
// destination did (RST, or ICMP unreachable — what lets a client's Happy
// Eyeballs move on at once instead of timing out).

import NetStackWire

/// A TCP connection attempt held for an intercepting listener: who is calling
/// whom. Taken with ``Host/nextFlowRequest(_:)``, answered with
/// ``Host/acceptFlow(_:_:now:)`` or ``Host/refuseFlow(_:_:_:now:)``.
public struct TCPFlowRequest: Sendable, Hashable {
    /// Identifies the attempt among all of the host's (not reused while it is held).
    public let id: Int
    /// The client: the SYN's source.
    public let client: Endpoint
    /// Where the client meant to connect: the SYN's destination.
    public let destination: Endpoint
}

/// How an intercepted connection attempt is turned down.
public enum FlowRefusal: Sendable, Equatable {
    /// A TCP reset: the client sees "connection refused" (the destination refused).
    case reset
    /// ICMP destination unreachable (RFC 792) from the destination's address, with this meaning.
    case networkUnreachable, hostUnreachable, portUnreachable, administrativelyProhibited

    var icmpCode: UInt8? {
        switch self {
        case .reset: nil
        case .networkUnreachable: 0
        case .hostUnreachable: 1
        case .portUnreachable: 3
        case .administrativelyProhibited: 13
        }
    }

    /// The ICMPv6 destination-unreachable code with the same meaning (RFC 4443 §3.1): no route,
    /// address unreachable, port unreachable, administratively prohibited.
    var icmpv6Code: UInt8 {
        let code: ICMPv6UnreachableCode = switch self {
        case .reset, .networkUnreachable: .noRoute
        case .hostUnreachable: .address
        case .portUnreachable: .port
        case .administrativelyProhibited: .administrativelyProhibited
        }
        return code.rawValue
    }
}

/// A held connection attempt: the SYN, kept whole so that accepting it later
/// answers exactly what the client offered (MSS, window scale, SACK, timestamps).
struct PendingFlow {
    let id: Int
    let syn: TCPHeader
    unowned let listener: TCPListenQueue
    /// The IP header and first 8 bytes of the SYN: the quote of an ICMP refusal.
    let quote: [UInt8]
    /// The initial sequence number to answer with, when the SYN replaced a TIME_WAIT record.
    let iss: SequenceNumber?
    /// Handed to the application by `nextFlowRequest`.
    var offered = false
}

extension Host {
    /// The transparent listener for `local`: exact address and port, then any
    /// address on that port, then that address on every port, then every address
    /// and port. O(1) (four lookups).
    func transparentListener(for local: Endpoint) -> TCPListenQueue? {
        let table = tcp.transparentListeners
        guard !table.isEmpty else { return nil }
        let any = local.address.unspecifiedOfSameFamily
        return table[local] ?? table[Endpoint(any, local.port)] ?? dualStack(table, port: local.port, for: local)
            ?? table[Endpoint(local.address, 0)] ?? table[Endpoint(any, 0)] ?? dualStack(table, port: 0, for: local)
    }

    /// A listener bound to `::` takes IPv4 connections too, unless IPV6_V6ONLY (RFC 3493 §5.3).
    private func dualStack(_ table: [Endpoint: TCPListenQueue], port: UInt16, for local: Endpoint) -> TCPListenQueue? {
        guard local.address.isIPv4, let listener = table[Endpoint(IPv6Address.unspecified, port)],
              !listener.options.v6Only else { return nil }
        return listener
    }

    /// A segment for an intercepting listener: a SYN is held and queued to be
    /// offered (dropped and counted when the listener already holds `backlog`
    /// attempts, or the host `maxHalfOpen`); an RST is ignored; anything else is
    /// answered as for no connection.
    /// `ip`: the SYN's IPv4 header, nil for IPv6 (the quote is then an IPv6 header rebuilt from `key`).
    func interceptInput(_ listener: TCPListenQueue, header: TCPHeader, segment: UnsafeRawBufferPointer, ip: IPv4Header?,
                        key: ConnectionKey, iss: SequenceNumber? = nil) {
        let flags = header.flags
        if flags.contains(.rst) { return }
        guard flags.contains(.syn), !flags.contains(.ack) else {
            respondToNoConnection(header, payloadLength: segment.count - header.headerLength, key: key)
            return
        }
        guard listener.pendingFlowCount < listener.backlog, tcp.pendingFlows.count < tcp.config.maxHalfOpen else {
            statistics.tcpFlowsDropped += 1
            listener.overflows += 1
            return  // like a full SYN queue: the client's SYN retry may find room
        }
        let ipLength = ip == nil ? IPv6Header.length : IPv4Header.minimumLength
        var quote = [UInt8](repeating: 0, count: ipLength + 8)
        quote.withUnsafeMutableBytes { buffer in
            let ipPart = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<ipLength])
            if var original = ip {
                original.options = []
                original.totalLength = IPv4Header.minimumLength + segment.count
                original.emit(into: ipPart)
            } else {
                IPv6Header(source: key.remote.address.ipv6, destination: key.local.address.ipv6, nextHeader: .tcp,
                           payloadLength: segment.count).emit(into: ipPart)
            }
            UnsafeMutableRawBufferPointer(rebasing: buffer[ipLength...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: segment[0..<8]))
        }
        let id = tcp.makeID()
        tcp.pendingFlows[key] = PendingFlow(id: id, syn: header, listener: listener, quote: quote, iss: iss)
        tcp.pendingFlowKeys[id] = key
        tcp.timers.schedule(id, at: now + tcp.config.flowDecisionTimeout)
        listener.flowQueue.append(key)
        if let fd = listener.descriptor { noteReadinessChange(fd) }
        listener.pendingFlowCount += 1
        statistics.tcpFlowsOffered += 1
    }

    /// A segment for a held attempt: the client's RST withdraws it — only one whose
    /// sequence number is exactly the SYN's + 1 (RFC 5961's exact match: a blind RST
    /// cannot), a retransmitted SYN (or anything else) waits with it for the application's decision.
    func pendingFlowInput(_ key: ConnectionKey, header: TCPHeader) {
        guard header.flags.contains(.rst), let pending = tcp.pendingFlows[key],
              header.sequenceNumber == pending.syn.sequenceNumber + 1 else { return }
        removePendingFlow(key)
    }

    /// An attempt nobody decided on within `flowDecisionTimeout`: dropped silently
    /// (the client has long been retrying or has given up). O(backlog).
    func expirePendingFlow(_ id: Int) {
        guard let key = tcp.pendingFlowKeys[id] else { return }
        statistics.tcpFlowsDropped += 1
        removePendingFlow(key)
    }

    /// Forgets a held attempt. O(backlog) when it was not offered yet.
    @discardableResult
    func removePendingFlow(_ key: ConnectionKey) -> PendingFlow? {
        guard let pending = tcp.pendingFlows.removeValue(forKey: key) else { return nil }
        tcp.pendingFlowKeys[pending.id] = nil
        tcp.timers.cancel(pending.id)
        pending.listener.pendingFlowCount -= 1
        if !pending.offered, let i = pending.listener.flowQueue.firstIndex(of: key) {
            pending.listener.flowQueue.remove(at: i)
        }
        return pending
    }

    /// Drops every attempt held for `listener` (it is closing), answering each with an RST.
    func dropPendingFlows(of listener: TCPListenQueue) {
        guard listener.pendingFlowCount > 0 else { return }
        for (key, pending) in tcp.pendingFlows where pending.listener === listener {
            removePendingFlow(key)
            sendReset(to: key.remote, from: key.local, sequence: 0, acknowledgment: pending.syn.sequenceNumber + 1)
        }
    }

    // MARK: The application's side

    /// The oldest connection attempt not yet offered on the intercepting listener
    /// `fd`, or nil. The attempt stays held (the client's SYN retransmissions are
    /// absorbed) until ``acceptFlow(_:_:now:)`` or ``refuseFlow(_:_:_:now:)``, or
    /// until `TCPConfig.flowDecisionTimeout`. `poll` reports the listener readable
    /// while attempts wait to be offered. O(1) amortised.
    public func nextFlowRequest(_ fd: Int32) throws(NetError) -> TCPFlowRequest? {
        guard let listener = try record(fd).listener else { throw .invalidArgument }
        while !listener.flowQueue.isEmpty {
            let key = listener.flowQueue.removeFirst()
            guard var pending = tcp.pendingFlows[key], !pending.offered else { continue }
            pending.offered = true
            tcp.pendingFlows[key] = pending
            return TCPFlowRequest(id: pending.id, client: key.remote, destination: key.local)
        }
        return nil
    }

    /// Completes an offered attempt: answers the client's SYN with a SYN-ACK from
    /// the original destination and returns the new connection's descriptor
    /// (`poll` reports it writable once the client's ACK arrives; data may be
    /// written at once). Throws `.connectionReset` when the client withdrew or the
    /// attempt expired, `.noBufferSpace` at the host's connection limit. O(1).
    public func acceptFlow(_ fd: Int32, _ request: TCPFlowRequest, now: Instant) throws(NetError) -> Int32 {
        self.now = now
        guard let listener = try record(fd).listener else { throw .invalidArgument }
        let key = ConnectionKey(local: request.destination, remote: request.client)
        guard let held = tcp.pendingFlows[key], held.id == request.id, held.listener === listener else {
            throw .connectionReset
        }
        guard tcp.activeCount < tcp.config.maxConnections else {
            statistics.tcpConnectionsRefusedByLimit += 1
            throw .noBufferSpace
        }
        removePendingFlow(key)
        let connection = TCPConnection(id: tcp.makeID(), local: key.local, remote: key.remote, options: listener.options,
                                       config: tcp.config, passive: true, now: now, sharedConfig: tcp.configBox,
                                       memory: tcp.memory)
        connection.tsOffset = UInt32(truncatingIfNeeded: tcp.isn.isn(local: key.remote, remote: key.local, now: .zero).rawValue)
        connection.acceptSYN(held.syn, iss: held.iss ?? tcp.isn.isn(local: key.local, remote: key.remote, now: now),
                             mss: mss(toward: key.remote.address), now: now)
        let child = socket(.stream)
        sockets[child]?.options = listener.options
        sockets[child]?.connection = connection
        connection.descriptor = child
        register(connection)
        afterActivity(connection)
        return child
    }

    /// Turns down an offered attempt: an RST (the client sees "connection
    /// refused") or an ICMP destination unreachable from the original destination.
    /// Nothing is sent if the client withdrew meanwhile. O(1).
    public func refuseFlow(_ fd: Int32, _ request: TCPFlowRequest, _ refusal: FlowRefusal, now: Instant) throws(NetError) {
        self.now = now
        guard let listener = try record(fd).listener else { throw .invalidArgument }
        let key = ConnectionKey(local: request.destination, remote: request.client)
        guard let held = tcp.pendingFlows[key], held.id == request.id, held.listener === listener else { return }
        removePendingFlow(key)
        statistics.tcpFlowsRefused += 1
        if let code = refusal.icmpCode {
            held.quote.withUnsafeBytes { quote in
                if case let .v4(from) = key.local.address {
                    sendICMPError(.destinationUnreachable(code: code, nextHopMTU: 0), about: quote, arrivedOn: nil,
                                  from: from)
                } else {
                    sendICMPv6Error(.destinationUnreachable(code: refusal.icmpv6Code), about: quote, arrivedOn: nil,
                                    from: key.local.address.ipv6)
                }
            }
        } else {
            sendReset(to: key.remote, from: key.local, sequence: 0, acknowledgment: held.syn.sequenceNumber + 1)
        }
    }
}
