public import NetStackWire

extension Host {
    /// Most of the offending datagram an ICMP error quotes: the reply must fit
    /// in 576 bytes (RFC 1812 §4.3.2.3), so 576 − 20 − 8.
    static let icmpQuoteLimit = 548

    /// Handles an ICMP message addressed to this host (RFC 792, RFC 1122 §3.2.2).
    func icmpInput(_ message: UnsafeRawBufferPointer, header: IPv4Header, packet: UnsafeRawBufferPointer,
                   from interface: InterfaceID?, broadcast: Bool) {
        let icmp: ICMPv4Header
        do { icmp = try ICMPv4Header.parse(message) } catch {
            statistics.icmpInErrors += 1
            emit(.ipDropped(.malformed(error), header: header))
            return
        }
        statistics.icmpInMessages += 1
        emit(.icmpReceived(icmp, from: header.source))
        switch icmp.message {
        case let .echoRequest(identifier, sequence):
            if broadcast && config.echoIgnoreBroadcasts { return }
            let source = broadcast ? interface.flatMap { address(of: $0) } : header.destination
            let reply = ICMPv4Header(.echoReply(identifier: identifier, sequence: sequence))
            sendICMP(reply, data: UnsafeRawBufferPointer(rebasing: message[ICMPv4Header.length...]),
                     source: source, to: header.source)
        case let .echoReply(identifier, sequence):
            let bytes = message.count - ICMPv4Header.length
            if let rtt = pings.recordReply(identifier: identifier, sequence: sequence, from: header.source,
                                           ttl: header.timeToLive, bytes: bytes, now: now) {
                emit(.pingReply(from: header.source, identifier: identifier, sequence: sequence,
                                ttl: header.timeToLive, rtt: rtt))
            }
        case .destinationUnreachable, .timeExceeded:
            deliverICMPError(icmp.message, quote: UnsafeRawBufferPointer(rebasing: message[ICMPv4Header.length...]),
                             from: header.source)
        case .other:
            break
        }
    }

    /// Gives an ICMP error (or a local failure shaped like one, `local`) to the
    /// socket whose datagram it quotes: a UDP socket that is connected to the
    /// quoted destination (any socket bound to the quoted port for a local
    /// failure, which no one off-path can forge), a TCP connection by its
    /// 4-tuple, a ping by its identifier.
    func deliverICMPError(_ message: ICMPv4Message, quote: UnsafeRawBufferPointer, from sender: IPv4Address,
                          local: Bool = false) {
        guard let quoted = try? ICMPv4Quote.parse(quote), isLocal(quoted.header.source) else { return }
        let error: NetError = switch message {
        case let .destinationUnreachable(code, _): NetError.fromUnreachable(code: code)
        default: .hostUnreachable
        }
        switch quoted.header.protocol {
        case .udp:
            // Only a connected socket whose peer the quote names hears of it (Linux's
            // __udp4_lib_err without IP_RECVERR): sprayed forgeries cannot fail other sockets.
            guard let ports = quoted.ports,
                  let socket = local ? udp.socket(forPort: ports.source, address: .v4(quoted.header.source))
                      : udp.socket(forErrorFrom: Endpoint(quoted.header.source, ports.source),
                                   to: Endpoint(quoted.header.destination, ports.destination))
            else {
                statistics.udpICMPErrorsIgnored += 1
                return
            }
            udp.update(socket) { $0.pendingError = error }
            if readinessChanges != nil, let fd = udp.state(socket)?.descriptor { noteReadinessChange(fd) }
            emit(.socketError(port: ports.source, error: error, from: sender))
        case .tcp:
            guard let ports = quoted.ports else { return }
            let key = ConnectionKey(local: Endpoint(quoted.header.source, ports.source),
                                    remote: Endpoint(quoted.header.destination, ports.destination))
            let start = quoted.header.headerLength
            guard quote.count >= start + 8, let id = tcp.byKey[key], let connection = tcp.connections[id] else { return }
            connection.icmpError(message, error: error, quotedSequence: SequenceNumber(quote.be32(start + 4)))
            emit(.socketError(port: ports.source, error: error, from: sender))
            afterActivity(connection)
        case .icmp:
            let start = quoted.header.headerLength
            guard quoted.header.fragmentOffset == 0, quote.count >= start + 8, quote[start] == 8 else { return }
            pings.recordError(identifier: quote.be16(start + 4), sequence: quote.be16(start + 6), from: sender,
                              message: message)
        default:
            break
        }
    }

    /// Sends an ICMP message with `data` after its header.
    func sendICMP(_ icmp: ICMPv4Header, data: UnsafeRawBufferPointer, source: IPv4Address?, to destination: IPv4Address,
                  ttl: UInt8? = nil, typeOfService: UInt8 = 0) {
        do {
            try output(protocol: .icmp, source: source, destination: destination, ttl: ttl, typeOfService: typeOfService,
                       payloadLength: ICMPv4Header.length + data.count) { buffer in
                UnsafeMutableRawBufferPointer(rebasing: buffer[ICMPv4Header.length...]).copyMemory(from: data)
                icmp.emit(into: buffer)
            }
            statistics.icmpOutMessages += 1
            emit(.icmpSent(icmp, to: destination))
        } catch {
            statistics.outDiscards += 1
        }
    }

    /// Sends an ICMP error about `original` (an IP datagram) to its source,
    /// unless RFC 1122 §3.2.2 / RFC 1812 §4.3.2.7 forbid it: never about an ICMP
    /// error, a broadcast or multicast, a non-initial fragment, or a source that
    /// is not a single host. Rate-limited.
    /// `from` overrides the source address (by default the arrival interface's).
    func sendICMPError(_ message: ICMPv4Message, about original: UnsafeRawBufferPointer, arrivedOn interface: InterfaceID?,
                       from override: IPv4Address? = nil) {
        guard let header = try? IPv4Header.parseQuoted(original) else { return }
        let source = header.source
        guard header.fragmentOffset == 0, !isBroadcast(header.destination), !header.destination.isMulticast,
              source != .any, !isBroadcast(source), !source.isMulticast, source.rawValue >> 24 != 127 else { return }
        if header.protocol == .icmp {
            let start = header.headerLength
            guard original.count > start else { return }
            let type = original[start]
            if ![0, 8, 13, 14, 15, 16, 17, 18].contains(type) { return }  // an error or unknown type: stay silent
        }
        guard icmpLimiter.allow(now: now) else {
            statistics.icmpRateLimited += 1
            emit(.icmpRateLimited(to: source))
            return
        }
        let quote = UnsafeRawBufferPointer(rebasing: original[0..<min(original.count, Self.icmpQuoteLimit)])
        let from = override ?? interface.flatMap { address(of: $0) }
        // Precedence 6 ("internetwork control", TOS 0xc0) as RFC 1812 §4.3.2.5 asks and Linux sends.
        sendICMP(ICMPv4Header(message), data: quote, source: from, to: source, typeOfService: 0xc0)
    }

    // MARK: Ping

    /// Opens a ping socket that sends echo requests with `identifier` and collects what comes back.
    public func openPing(identifier: UInt16) throws(NetError) -> PingSocket {
        try pings.open(identifier: identifier)
    }

    /// Closes a ping socket.
    public func closePing(_ socket: PingSocket) { pings.close(socket) }

    /// Sends one echo request (RFC 792) with `payloadLength` bytes of data
    /// (a pattern, like iputils ping's), records its send time for the RTT.
    public func ping(_ socket: PingSocket, to destination: IPv4Address, sequence: UInt16, payloadLength: Int = 56,
                     ttl: UInt8? = nil, dontFragment: Bool = false, now: Instant) throws(NetError) {
        self.now = now
        let request = ICMPv4Header(.echoRequest(identifier: socket.identifier, sequence: sequence))
        pings.recordSend(socket, sequence: sequence, now: now)
        emit(.pingSent(to: destination, identifier: socket.identifier, sequence: sequence, length: payloadLength))
        try output(protocol: .icmp, destination: destination, ttl: ttl, dontFragment: dontFragment,
                   payloadLength: ICMPv4Header.length + payloadLength) { buffer in
            for i in ICMPv4Header.length..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i - ICMPv4Header.length) }
            request.emit(into: buffer)
        }
        statistics.icmpOutMessages += 1
    }

    /// Replies and errors received for this socket since the last call.
    public func takePingResults(_ socket: PingSocket) -> [PingResult] { pings.takeResults(socket) }
}
