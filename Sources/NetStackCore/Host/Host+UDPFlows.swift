// The application's side of UDP flow interception (see UDP/UDPFlows.swift).

import NetStackWire

extension Host {
    /// Turns UDP flow interception on (with these bounds) or off (nil): datagrams
    /// for addresses that are not the host's, arriving on interfaces in
    /// any-destination mode, are then kept per 5-tuple flow instead of being
    /// answered with ICMP port unreachable. Turning it off closes every flow.
    public func setUDPFlowInterception(_ config: UDPFlowConfig?) {
        udpFlows = config.map { UDPFlowTable(config: $0) }
    }

    /// The oldest flow not yet given to the application, or nil. O(1) amortised.
    public func nextUDPFlow() -> UDPFlow? { udpFlows?.nextNew() }

    /// The flows that received datagrams since the last call, each once: drain
    /// each with ``udpFlowReceive(_:)``. O(flows listed).
    public func takeReadyUDPFlows() -> [UDPFlow] { udpFlows?.takeReady() ?? [] }

    /// The oldest datagram queued for `flow` (its payload), or nil. O(queue length).
    public func udpFlowReceive(_ flow: UDPFlow) -> [UInt8]? { udpFlows?.receive(flow) }

    /// Sends a datagram to `flow`'s client from its original destination — or,
    /// with `UDPFlowConfig.fullCone`, from `source` when given. Keeps the flow
    /// alive. Throws `.notConnected` for a closed or expired flow,
    /// `.permissionDenied` for another source without full cone.
    public func udpFlowSend(_ flow: UDPFlow, _ payload: UnsafeRawBufferPointer, from source: Endpoint? = nil,
                            now: Instant) throws(NetError) {
        self.now = now
        // Mutated in place (optional chaining), not copied: the table may hold thousands of flows.
        guard udpFlows?.touch(flow, now: now) == true, let fullCone = udpFlows?.config.fullCone else { throw .notConnected }
        let from = source ?? flow.destination
        guard from == flow.destination || fullCone else { throw .permissionDenied }
        guard payload.count <= 65_507 else { throw .messageTooLong }
        let header = UDPHeader(sourcePort: from.port, destinationPort: flow.client.port, payloadLength: payload.count)
        emit(.udpSent(from: from, to: flow.client, length: payload.count))
        try output(protocol: .udp, source: from.address, destination: flow.client.address,
                   payloadLength: header.length) { buffer in
            UnsafeMutableRawBufferPointer(rebasing: buffer[UDPHeader.headerLength...]).copyMemory(from: payload)
            header.emit(into: buffer, source: from.address, destination: flow.client.address)
        }
        statistics.udpOutDatagrams += 1
    }

    /// Tells `flow`'s client that its destination refused: ICMP port unreachable
    /// (RFC 792) from the destination's address, quoting a datagram of the flow
    /// (its IP header and UDP ports, rebuilt: the flow keeps no packets) — what a
    /// relay sends when its upstream socket reported ECONNREFUSED, so a client's
    /// connected socket fails at once instead of waiting out its timeout.
    /// Rate-limited as every ICMP error. The flow stays open. O(1).
    public func refuseUDPFlow(_ flow: UDPFlow, now: Instant) {
        self.now = now
        let client = flow.client.address, destination = flow.destination.address
        let ipLength = client.isIPv4 ? IPv4Header.minimumLength : IPv6Header.length
        var quote = [UInt8](repeating: 0, count: ipLength + UDPHeader.headerLength)
        quote.withUnsafeMutableBytes { buffer in
            let ipPart = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<ipLength])
            if case let .v4(from) = client, case let .v4(to) = destination {
                IPv4Header(source: from, destination: to, protocol: .udp, payloadLength: UDPHeader.headerLength)
                    .emit(into: ipPart)
            } else {
                IPv6Header(source: client.ipv6, destination: destination.ipv6, nextHeader: .udp,
                           payloadLength: UDPHeader.headerLength).emit(into: ipPart)
            }
            UDPHeader(sourcePort: flow.client.port, destinationPort: flow.destination.port, payloadLength: 0)
                .emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[ipLength...]),
                      source: client, destination: destination)
        }
        quote.withUnsafeBytes { quote in
            if case let .v4(from) = destination {
                sendICMPError(.destinationUnreachable(code: 3, nextHopMTU: 0), about: quote, arrivedOn: nil, from: from)
            } else {
                sendICMPv6Error(.destinationUnreachable(code: ICMPv6UnreachableCode.port.rawValue), about: quote,
                                arrivedOn: nil, from: destination.ipv6)
            }
        }
    }

    /// Closes a flow: its queue is dropped; a later datagram of the same 5-tuple opens a new one.
    public func closeUDPFlow(_ flow: UDPFlow) { udpFlows?.close(flow) }

    /// The flows closed by their idle timeout since the last call. O(expired).
    public func takeExpiredUDPFlows() -> [UDPFlow] { udpFlows?.takeExpired() ?? [] }

    /// Every open flow with its queued datagrams and last activity, oldest first (netstat). O(n log n).
    public func udpFlowTable() -> [(flow: UDPFlow, queued: Int, lastActivity: Instant)] { udpFlows?.all ?? [] }

    /// Counters of UDP flow interception (zero when it is off).
    public var udpFlowStatistics: UDPFlowStatistics { udpFlows?.statistics ?? UDPFlowStatistics() }
}
