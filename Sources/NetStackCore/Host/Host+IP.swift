import NetStackWire

// The IP layer seen from the transports: one entry point per question, for either family.
// Each dispatches on the destination's family to the IPv4 code (Host+IPv4.swift) or the IPv6
// code (Host+IPv6.swift); an IPv4 destination never costs more than a switch.

extension Host {
    /// Sends a datagram this host originates to `destination`, of either family: see the IPv4
    /// ``output(protocol:source:destination:ttl:typeOfService:dontFragment:identificationSlot:segmentSize:payloadLength:writePayload:)``.
    /// A `source` of the other family than `destination` is refused (`.invalidArgument`).
    /// `typeOfService` is IPv6's traffic class; `ttl` its hop limit.
    func output(protocol proto: IPProtocol, source: IPAddress?, destination: IPAddress,
                ttl: UInt8? = nil, typeOfService: UInt8 = 0, dontFragment: Bool = false,
                identificationSlot: IPIdentification.Slot? = nil, segmentSize: Int = 0, transportHeaderLength: Int = 0,
                payloadLength: Int, writePayload: (UnsafeMutableRawBufferPointer) -> Void) throws(NetError) {
        switch destination {
        case let .v4(to):
            var from: IPv4Address?
            if let source {
                guard case let .v4(address) = source else { throw .invalidArgument }
                from = address
            }
            try output(protocol: proto, source: from, destination: to, ttl: ttl, typeOfService: typeOfService,
                       dontFragment: dontFragment, identificationSlot: identificationSlot, segmentSize: segmentSize,
                       transportHeaderLength: transportHeaderLength, payloadLength: payloadLength, writePayload: writePayload)
        case let .v6(to):
            var from: IPv6Address?
            if let source {
                guard case let .v6(address) = source else { throw .invalidArgument }
                from = address
            }
            try output6(nextHeader: proto, source: from, destination: to, hopLimit: ttl, trafficClass: typeOfService,
                        segmentSize: segmentSize, transportHeaderLength: transportHeaderLength,
                        payloadLength: payloadLength, writePayload: writePayload)
        }
    }

    /// True when `address` is one of this host's addresses (an IPv6 one only once DAD let it be used).
    func isLocal(_ address: IPAddress) -> Bool {
        switch address {
        case let .v4(v4): isLocal(v4)
        case let .v6(v6): isLocal6(v6)
        }
    }

    /// The source address `output` chooses toward `destination` (the unspecified address of
    /// the family when there is none).
    func sourceAddress(toward destination: IPAddress) -> IPAddress {
        switch destination {
        case let .v4(v4): .v4(sourceAddress(toward: v4))
        case let .v6(v6): .v6(sourceAddress6(toward: v6) ?? .unspecified)
        }
    }

    /// True when a datagram to `destination` has somewhere to go: it is local, or a route covers it.
    func canReach(_ destination: IPAddress) -> Bool {
        switch destination {
        case let .v4(v4): isLocal(v4) || outboundRoute(toward: v4, countingUse: false) != nil
        case let .v6(v6): isLocal6(v6) || route6(toward: v6) != nil
        }
    }

    /// The largest TCP payload a segment to `destination` may carry without fragmentation:
    /// the outgoing link's MTU (for IPv6 the path MTU, at least 1,280) minus the IP and TCP
    /// headers (RFC 9293 §3.7.1, RFC 8200 §8.3), never below 88 (Linux's floor).
    func mss(toward destination: IPAddress) -> Int {
        switch destination {
        case let .v4(v4): mss(toward: v4)
        case let .v6(v6): max(88, pathMTU6(toward: v6) - IPv6Header.length - TCPHeader.minimumLength)
        }
    }
}

extension IPAddress {
    /// True when a socket bound to this address takes traffic for `destination`, as Linux binds:
    /// 0.0.0.0 every IPv4 address, `::` every address of both families unless `v6Only`
    /// (RFC 3493 §5.3), any other address itself alone.
    func accepts(_ destination: IPAddress, v6Only: Bool) -> Bool {
        switch self {
        case .v4(.any): destination.isIPv4
        case .v6(.unspecified): !v6Only || !destination.isIPv4
        default: self == destination
        }
    }
}
