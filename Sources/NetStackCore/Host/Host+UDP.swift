public import NetStackWire

extension Host {
    /// Handles a UDP datagram addressed to this host (RFC 768, RFC 1122 §4.1.3).
    /// `source`/`destination`: the datagram's addresses, of either family; `ip` its IPv4 header
    /// (nil for IPv6); `packet` the whole IP packet, quoted by a port-unreachable error.
    func udpInput(_ bytes: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress, ip: IPv4Header?,
                  packet: UnsafeRawBufferPointer, from interface: InterfaceID?, broadcast: Bool) {
        let udpHeader: UDPHeader
        do {
            udpHeader = try UDPHeader.parse(bytes, source: source, destination: destination,
                                            verifyingChecksum: !(receivedChecksumTrusted && interface != nil))
        } catch {
            statistics.udpInErrors += 1
            emit(.ipDropped(.malformed(error), header: ip))
            return
        }
        let from = Endpoint(source, udpHeader.sourcePort)
        let to = Endpoint(destination, udpHeader.destinationPort)
        let foreign = !broadcast && !isLocal(destination)
        if foreign, udpFlows != nil {
            let payload = UnsafeRawBufferPointer(rebasing: bytes[UDPHeader.headerLength..<udpHeader.length])
            if udpFlows?.input(client: from, destination: to, payload: payload, now: now) == true {
                statistics.udpInDatagrams += 1
                emit(.udpDelivered(from: from, to: to, length: payload.count))
            } else {
                statistics.udpReceiveBufferErrors += 1
            }
            return
        }
        guard !foreign, let socket = udp.socket(forPort: udpHeader.destinationPort, address: destination) else {
            statistics.udpNoPorts += 1
            if broadcast {
                // No error about a broadcast or multicast datagram (RFC 1122 §3.2.2, RFC 4443 §2.4 (e)).
            } else if ip != nil {
                sendICMPError(.destinationUnreachable(code: UnreachableCode.port.rawValue, nextHopMTU: 0),
                              about: packet, arrivedOn: interface)
            } else {
                sendICMPv6Error(.destinationUnreachable(code: ICMPv6UnreachableCode.port.rawValue), about: packet,
                                arrivedOn: interface)
            }
            return
        }
        let payload = Array(UnsafeRawBufferPointer(rebasing: bytes[UDPHeader.headerLength..<udpHeader.length]))
        guard udp.deliver(UDPDatagram(source: from, destination: to, payload: payload), to: socket) else {
            statistics.udpReceiveBufferErrors += 1
            emit(.udpReceiveQueueFull(port: udpHeader.destinationPort))
            return
        }
        if readinessChanges != nil, let fd = udp.state(socket)?.descriptor { noteReadinessChange(fd) }
        statistics.udpInDatagrams += 1
        emit(.udpDelivered(from: from, to: to, length: payload.count))
    }

    // MARK: The UDP socket API

    /// Creates a UDP socket (unbound).
    public func udpOpen() -> UDPSocketID { udp.open() }

    /// Binds a socket to `port` (0: an ephemeral port) on `address` (`.any`: all of this host's addresses).
    /// Throws `.addressInUse` when the port is taken, `.addressNotAvailable` for an address not ours.
    public func udpBind(_ socket: UDPSocketID, address: IPv4Address = .any, port: UInt16) throws(NetError) {
        try udpBind(socket, address: .v4(address), port: port)
    }

    /// Binds a socket as above to an address of either family (`::`: every address of both
    /// families, as an IPv6 socket without IPV6_V6ONLY on Linux).
    public func udpBind(_ socket: UDPSocketID, address: IPAddress, port: UInt16) throws(NetError) {
        guard address.isUnspecified || isLocal(address) else { throw .addressNotAvailable }
        try udp.bind(socket, address: address, port: port)
    }

    /// The address and port a socket is bound to.
    public func udpLocalEndpoint(_ socket: UDPSocketID) -> Endpoint? { udp.state(socket)?.local }

    /// Connects a socket to `remote` (connect() on a datagram socket; nil
    /// disconnects): from then on ICMP errors about its datagrams to `remote`
    /// reach it, as on Linux, where an unconnected socket never hears of them.
    /// Sending to other destinations stays allowed through ``udpSend(_:_:to:now:)-(_,UnsafeRawBufferPointer,_,_)``.
    public func udpConnect(_ socket: UDPSocketID, to remote: Endpoint?) { udp.connect(socket, to: remote) }

    /// Allows sending to broadcast addresses (SO_BROADCAST).
    public func udpSetBroadcast(_ socket: UDPSocketID, _ on: Bool) {
        udp.update(socket) { $0.allowBroadcast = on }
    }

    /// Sends one datagram (binds an ephemeral port first if needed). Throws the
    /// error ICMP reported earlier for this socket, once, like Linux does.
    public func udpSend(_ socket: UDPSocketID, _ payload: UnsafeRawBufferPointer, to destination: Endpoint,
                        now: Instant) throws(NetError) {
        self.now = now
        guard var state = udp.state(socket) else { throw .badDescriptor }
        if let error = state.pendingError {
            udp.update(socket) { $0.pendingError = nil }
            throw error
        }
        if state.local == nil {
            try udp.bind(socket, address: destination.address.unspecifiedOfSameFamily, port: 0)
            state = udp.state(socket) ?? state
        }
        guard let local = state.local else { throw .badDescriptor }
        guard payload.count <= 65_507 else { throw .messageTooLong }
        if let v4 = destination.ipv4 {
            guard !isBroadcast(v4) || state.allowBroadcast else { throw .permissionDenied }
        }
        guard local.address.accepts(destination.address, v6Only: false) else { throw .invalidArgument }
        let source: IPAddress? = local.address.isUnspecified ? nil : local.address
        let from = source ?? sourceAddress(toward: destination.address)
        let header = UDPHeader(sourcePort: local.port, destinationPort: destination.port, payloadLength: payload.count)
        emit(.udpSent(from: Endpoint(from, local.port), to: destination, length: payload.count))
        try output(protocol: .udp, source: source, destination: destination.address,
                   payloadLength: header.length) { buffer in
            UnsafeMutableRawBufferPointer(rebasing: buffer[UDPHeader.headerLength...]).copyMemory(from: payload)
            header.emit(into: buffer, source: from, destination: destination.address)
        }
        statistics.udpOutDatagrams += 1
    }

    /// Convenience for `udpSend` with an array.
    public func udpSend(_ socket: UDPSocketID, _ payload: [UInt8], to destination: Endpoint, now: Instant) throws(NetError) {
        var failure: NetError?
        payload.withUnsafeBytes { bytes in
            do throws(NetError) { try udpSend(socket, bytes, to: destination, now: now) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Takes the oldest datagram from the socket's receive queue; nil when empty.
    public func udpReceive(_ socket: UDPSocketID) -> UDPDatagram? { udp.receive(socket) }

    /// Takes the error ICMP reported for this socket, if any.
    public func udpTakeError(_ socket: UDPSocketID) -> NetError? {
        let error = udp.state(socket)?.pendingError
        udp.update(socket) { $0.pendingError = nil }
        return error
    }

    /// Datagrams waiting in the socket's receive queue.
    public func udpQueuedDatagrams(_ socket: UDPSocketID) -> Int { udp.state(socket)?.queue.count ?? 0 }

    /// Closes a socket and frees its port.
    public func udpClose(_ socket: UDPSocketID) { udp.close(socket) }

    /// The source address `output` will choose toward `destination`: the address
    /// of the interface its route leaves by (or the destination itself when local).
    func sourceAddress(toward destination: IPv4Address) -> IPv4Address {
        if isLocal(destination) { return destination }
        return outboundRoute(toward: destination, countingUse: false).flatMap { address(of: $0.interface) } ?? .any
    }
}
