public import NetStackWire

// ICMPv6 (RFC 4443): echo, errors sent and received, and the way to neighbour discovery.

extension Host {
    /// Handles an ICMPv6 message addressed to this host: NDP goes to Host+NDP.swift, echo requests
    /// are answered, echo replies go to ping sockets, errors to the sockets they concern.
    func icmpv6Input(_ message: UnsafeRawBufferPointer, header: IPv6Header, packet: UnsafeRawBufferPointer,
                     from interface: InterfaceID?) {
        if message.count >= 1, NDPPacket.isNDP(type: message[0]) {
            ndpInput(message, header: header, on: interface)
            return
        }
        if message.count >= 28, message[0] == 130, let interface {
            // An MLD query (RFC 3810 §5.1: 28 bytes at least); its checksum is checked first.
            guard (try? ICMPv6Header.parse(message, source: header.source, destination: header.destination)) != nil else {
                statistics.icmp6InErrors += 1
                return
            }
            statistics.icmp6InMessages += 1
            mldQueryInput(header: header, on: interface)
            return
        }
        let icmp: ICMPv6Header
        do { icmp = try ICMPv6Header.parse(message, source: header.source, destination: header.destination) } catch {
            statistics.icmp6InErrors += 1
            emit(.ipDropped(.malformed(error), header: nil))
            return
        }
        statistics.icmp6InMessages += 1
        // Only NDP may use a tentative address or come from :: (RFC 4862 §5.4).
        guard !header.source.isUnspecified,
              isLocal6(header.destination) || header.destination.isMulticast
                || interface.map({ anyDestinationInterfaces.contains($0.index) }) == true else {
            statistics.ip6InAddressErrors += 1
            return
        }
        let data = UnsafeRawBufferPointer(rebasing: message[ICMPv6Header.length...])
        switch icmp.message {
        case let .echoRequest(identifier, sequence):
            // RFC 4443 §4.2: to a multicast group, the reply comes from a unicast address of ours.
            let source = header.destination.isMulticast
                ? interface.flatMap { sourceAddress6(toward: header.source, on: $0) } : header.destination
            sendICMPv6(ICMPv6Header(.echoReply(identifier: identifier, sequence: sequence)), data: data,
                       source: source, to: header.source)
        case let .echoReply(identifier, sequence):
            _ = pings.recordReply6(identifier: identifier, sequence: sequence, from: header.source,
                                   hopLimit: header.hopLimit, bytes: data.count, now: now)
        case let .packetTooBig(mtu):
            // RFC 8201 §4: never below 1,280; only lowers. The quote must be a packet of ours, and bigger.
            guard let destination = PathMTUCache.destinationToLower(quoted: data, reportedMTU: mtu,
                                                                    isOwnAddress: { isLocal6($0) }) else {
                statistics.icmp6InErrors += 1  // not a packet of ours, or one that fit: forged or stale
                return
            }
            if pathMTUs6.packetTooBig(destination: destination, reportedMTU: mtu,
                                      linkMTU: linkMTU6(toward: destination), now: now) != nil {
                pathMTU6Decreases &+= 1  // TCP toward it follows, whether or not the quote names its segment
            }
            deliverICMPv6Error(icmp.message, quote: data, from: header.source)
        case .destinationUnreachable, .timeExceeded, .parameterProblem:
            deliverICMPv6Error(icmp.message, quote: data, from: header.source)
        case .other:
            break
        }
    }

    /// Gives an ICMPv6 error (or a local failure shaped like one, `local`) to the socket whose
    /// packet it quotes, as ``deliverICMPError(_:quote:from:local:)`` does for IPv4.
    func deliverICMPv6Error(_ message: ICMPv6Message, quote: UnsafeRawBufferPointer, from sender: IPv6Address,
                            local: Bool = false) {
        guard let quoted = try? ICMPv6Quote.parse(quote), isLocal6(quoted.header.source) else { return }
        let error: NetError = switch message {
        case .destinationUnreachable(code: ICMPv6UnreachableCode.port.rawValue): .connectionRefused
        case .destinationUnreachable(code: ICMPv6UnreachableCode.administrativelyProhibited.rawValue): .permissionDenied
        case .destinationUnreachable(code: ICMPv6UnreachableCode.noRoute.rawValue): .networkUnreachable
        case .packetTooBig: .messageTooLong
        case .parameterProblem: .protocolUnreachable
        default: .hostUnreachable
        }
        let source = IPAddress.v6(quoted.header.source), destination = IPAddress.v6(quoted.header.destination)
        switch quoted.upperLayerProtocol {
        case .udp?:
            guard let ports = quoted.ports,
                  let socket = local ? udp.socket(forPort: ports.source, address: source)
                      : udp.socket(forErrorFrom: Endpoint(source, ports.source), to: Endpoint(destination, ports.destination))
            else {
                statistics.udpICMPErrorsIgnored += 1
                return
            }
            if case .packetTooBig = message { return }  // the next datagram goes at the new size
            udp.update(socket) { $0.pendingError = error }
            if readinessChanges != nil, let fd = udp.state(socket)?.descriptor { noteReadinessChange(fd) }
        case .tcp?:
            guard let ports = quoted.ports, let sequence = quoted.tcpSequenceNumber else { return }
            let key = ConnectionKey(local: Endpoint(source, ports.source), remote: Endpoint(destination, ports.destination))
            guard let id = tcp.byKey[key], let connection = tcp.connections[id] else { return }
            if case let .packetTooBig(mtu) = message {
                connection.pathMTUDecreased(to: max(IPv6Header.minimumMTU, Int(mtu)), ipHeaderLength: IPv6Header.length,
                                            quotedSequence: sequence)
            } else {
                connection.softICMPError(error, quotedSequence: sequence)
            }
            afterActivity(connection)
        case .icmpv6?:
            guard let identifier = quoted.echoIdentifier, let sequence = quoted.echoSequence else { return }
            pings.recordError6(identifier: identifier, sequence: sequence, from: sender, message: message)
        default:
            break
        }
    }

    /// Sends an ICMPv6 message with `data` after its header.
    func sendICMPv6(_ icmp: ICMPv6Header, data: UnsafeRawBufferPointer, source: IPv6Address?, to destination: IPv6Address,
                    hopLimit: UInt8? = nil) {
        do {
            let from = source ?? sourceAddress6(toward: destination)
            try output6(nextHeader: .icmpv6, source: from, destination: destination, hopLimit: hopLimit, trafficClass: 0,
                        segmentSize: 0, payloadLength: ICMPv6Header.length + data.count) { buffer in
                UnsafeMutableRawBufferPointer(rebasing: buffer[ICMPv6Header.length...]).copyMemory(from: data)
                icmp.emit(into: buffer, source: from ?? .unspecified, destination: destination)
            }
            statistics.icmp6OutMessages += 1
        } catch {
            statistics.ip6OutDiscards += 1
        }
    }

    /// Sends an ICMPv6 error about `original` (an IPv6 packet) to its source, unless RFC 4443
    /// §2.4 (e) forbids it: never about an ICMPv6 error (or a redirect), nor a packet from `::`
    /// or a multicast source, nor — except a packet too big or an unrecognised-option parameter
    /// problem — a packet to a multicast address. Rate-limited; the quote is cut so the whole
    /// error fits 1,280 bytes. `from` overrides the source (by default one of the arrival interface's).
    func sendICMPv6Error(_ message: ICMPv6Message, about original: UnsafeRawBufferPointer, arrivedOn interface: InterfaceID?,
                         from override: IPv6Address? = nil) {
        guard let header = try? IPv6Header.parseQuoted(original) else { return }
        guard !header.source.isUnspecified, !header.source.isMulticast else { return }
        if header.destination.isMulticast {
            switch message {
            case .packetTooBig: break
            case .parameterProblem(code: ICMPv6ParameterProblemCode.unrecognizedOption.rawValue, _): break
            default: return
            }
        }
        if let chain = try? IPv6ExtensionHeaders.walk(original), chain.upperLayerProtocol == .icmpv6 {
            let start = chain.upperLayerOffset
            if original.count > start, original[start] < 128 || original[start] == 137 { return }
        }
        guard icmpLimiter.allow(now: now) else {
            statistics.icmp6RateLimited += 1
            return
        }
        let room = ICMPv6Header.maximumErrorMessageLength - ICMPv6Header.length
        let quote = UnsafeRawBufferPointer(rebasing: original[0..<min(original.count, room)])
        let from = override
            ?? (isLocal6(header.destination) ? header.destination : nil)
            ?? interface.flatMap { sourceAddress6(toward: header.source, on: $0) }
        sendICMPv6(ICMPv6Header(message), data: quote, source: from, to: header.source)
    }

    // MARK: Ping

    /// Sends one ICMPv6 echo request (RFC 4443 §4.1) with `payloadLength` bytes of data, recording
    /// its send time for the RTT; the reply comes back as ``PingResult/reply6(from:sequence:hopLimit:bytes:rtt:)``.
    public func ping(_ socket: PingSocket, to destination: IPv6Address, sequence: UInt16, payloadLength: Int = 56,
                     hopLimit: UInt8? = nil, now: Instant) throws(NetError) {
        self.now = now
        let request = ICMPv6Header(.echoRequest(identifier: socket.identifier, sequence: sequence))
        pings.recordSend(socket, sequence: sequence, now: now)
        guard let from = sourceAddress6(toward: destination) else {
            throw canReach(.v6(destination)) ? .addressNotAvailable : .networkUnreachable
        }
        try output6(nextHeader: .icmpv6, source: from, destination: destination, hopLimit: hopLimit, trafficClass: 0,
                    segmentSize: 0, payloadLength: ICMPv6Header.length + payloadLength) { buffer in
            for i in ICMPv6Header.length..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i - ICMPv6Header.length) }
            request.emit(into: buffer, source: from, destination: destination)
        }
        statistics.icmp6OutMessages += 1
    }
}
