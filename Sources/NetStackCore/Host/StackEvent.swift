public import NetStackWire

/// An IP address and port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The address, of either IP version.
    public var address: IPAddress
    public var port: UInt16
    /// An endpoint of either IP version.
    @inlinable public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }
    /// An IPv4 endpoint.
    @inlinable public init(_ address: IPv4Address, _ port: UInt16) { self.init(.v4(address), port) }
    /// An IPv6 endpoint.
    @inlinable public init(_ address: IPv6Address, _ port: UInt16) { self.init(.v6(address), port) }
    /// The IPv4 address, when the endpoint is IPv4 (an IPv4-mapped IPv6 address is not).
    @inlinable public var ipv4: IPv4Address? {
        if case let .v4(address) = address { return address }
        return nil
    }
    /// `192.0.2.1:80`, or `[2001:db8::1]:80` for IPv6 (RFC 5952 §6).
    public var description: String {
        switch address {
        case let .v4(v4): "\(v4):\(port)"
        case let .v6(v6): "[\(v6)]:\(port)"
        }
    }
}

/// Why the IP layer let a packet go.
public enum IPDropReason: Sendable, Equatable {
    /// The header did not validate (version, lengths, checksum, options).
    case malformed(WireError)
    /// Not addressed to this host, and it is not a router.
    case notForThisHost
    /// TTL ran out while forwarding.
    case timeToLiveExceeded
    /// No route toward the destination.
    case noRoute
    /// Too big for the next link and DF set.
    case fragmentationNeeded(mtu: Int)
    /// A fragment that could not be kept.
    case reassembly(ReassemblyDrop)
    /// Fragments that never completed in time.
    case reassemblyTimeout
    /// A protocol the host does not speak.
    case unknownProtocol(IPProtocol)
    /// ARP never answered for the next hop.
    case nextHopUnresolved(IPv4Address)
    /// Arrived from a wire with a source address no host may have, or one of ours.
    case martianSource(IPv4Address)
}

/// Something the stack did, with the concrete values — what `netstack demo`
/// narrates. Events are produced only when an observer is set.
public enum StackEvent: Sendable {
    // Applications and sockets
    case udpSent(from: Endpoint, to: Endpoint, length: Int)
    case udpDelivered(from: Endpoint, to: Endpoint, length: Int)
    case udpReceiveQueueFull(port: UInt16)
    case pingSent(to: IPv4Address, identifier: UInt16, sequence: UInt16, length: Int)
    case pingReply(from: IPv4Address, identifier: UInt16, sequence: UInt16, ttl: UInt8, rtt: Duration)
    case socketError(port: UInt16, error: NetError, from: IPv4Address)
    // The resolver
    /// A query of `type` (A or AAAA) for `name` left for `server` (attempt counts transmissions of this question, from 1).
    case resolverQuerySent(name: String, type: AddressRecordType, id: UInt16, server: IPAddress, attempt: Int)
    /// A server's answer was accepted: `name`'s chain ends at `canonicalName`, whose addresses last `ttl` seconds.
    case resolverAnswerAccepted(name: String, addresses: [IPAddress], ttl: UInt32, canonicalName: String,
                                server: IPAddress)
    /// A datagram on a query's port was thrown away; the query keeps waiting.
    case resolverAnswerRejected(name: String, from: Endpoint, reason: DNSRejection)
    /// A server answered with an error code (SERVFAIL, REFUSED …); the next server is asked.
    case resolverServerError(name: String, server: IPAddress, responseCode: UInt8)
    /// Answered without a query: from the hosts table, the cache, or a dotted-quad literal.
    case resolverLocalAnswer(name: String, addresses: [IPAddress], source: ResolutionSource)
    /// A lookup failed for good.
    case resolverFailed(name: String, error: ResolverError)
    // TCP
    case tcpSegmentSent(TCPHeader, payloadLength: Int, to: Endpoint)
    case tcpSegmentReceived(TCPHeader, payloadLength: Int, from: Endpoint)
    case tcpStateChanged(local: Endpoint, remote: Endpoint, state: TCPState)
    // IP
    case routeLookup(destination: IPv4Address, route: Route, nextHop: IPv4Address)
    case noRoute(destination: IPv4Address)
    case ipSent(IPv4Header, interface: InterfaceID)
    case fragmented(IPv4Header, fragments: Int, mtu: Int)
    case ipReceived(IPv4Header, interface: InterfaceID)
    case ipDropped(IPDropReason, header: IPv4Header?)
    case forwarded(IPv4Header, from: InterfaceID, to: InterfaceID, nextHop: IPv4Address)
    case reassembled(IPv4Header)
    // ICMP
    case icmpSent(ICMPv4Header, to: IPv4Address)
    case icmpReceived(ICMPv4Header, from: IPv4Address)
    case icmpRateLimited(to: IPv4Address)
    // ARP
    case arpCacheHit(IPv4Address, MACAddress)
    case arpCacheMiss(IPv4Address, interface: InterfaceID)
    case arpRequestSent(target: IPv4Address, interface: InterfaceID, attempt: Int)
    case arpReplySent(to: IPv4Address, mac: MACAddress, interface: InterfaceID)
    case arpAnnounced(IPv4Address, interface: InterfaceID)
    case arpLearned(IPv4Address, MACAddress, interface: InterfaceID)
    case arpFailed(IPv4Address, droppedPackets: Int)
    // IPv6 and neighbour discovery (RFC 8200, RFC 4861): what IP and ARP tell above, for IPv6
    /// The IPv6 routing table chose `route` for `destination`; the datagram goes to `nextHop`
    /// (the destination itself when it is on the link).
    case routeLookup6(destination: IPv6Address, route: IPv6Route, nextHop: IPv6Address)
    /// An IPv6 header was put on a datagram this host originates, leaving by `interface`.
    case ip6Sent(IPv6Header, interface: InterfaceID)
    /// An IPv6 datagram from `interface` passed the header checks (before it is delivered or forwarded).
    case ip6Received(IPv6Header, interface: InterfaceID)
    /// A router forwarded an IPv6 datagram; `header` is as it leaves, its hop limit decremented.
    case forwarded6(IPv6Header, from: InterfaceID, to: InterfaceID, nextHop: IPv6Address)
    /// The neighbour cache knew the link address of `address`.
    case neighborCacheHit(IPv6Address, MACAddress)
    /// The neighbour cache did not know `address`: the datagram waits while a solicitation asks.
    case neighborCacheMiss(IPv6Address, interface: InterfaceID)
    /// A neighbour solicitation for `target` left for `destination` (its solicited-node group, or
    /// the neighbour itself when probing); from `::` when it is duplicate address detection.
    case neighborSolicitationSent(target: IPv6Address, destination: IPv6Address, interface: InterfaceID,
                                  duplicateAddressDetection: Bool)
    /// A neighbour advertisement for `target`, an address of ours, left for `destination`.
    case neighborAdvertisementSent(target: IPv6Address, destination: IPv6Address, interface: InterfaceID,
                                   solicited: Bool)
    /// The neighbour cache learnt the link address of `address` (from an advertisement or a
    /// solicitation's source link-layer address option).
    case neighborLearned(IPv6Address, MACAddress, interface: InterfaceID)
    // Ethernet and the adapter
    case frameQueued(interface: InterfaceID, header: EthernetHeader, length: Int, fcs: UInt32?)
    case adapterReceived(interface: InterfaceID, verdict: AdapterVerdict, length: Int)
    case interrupt(interface: InterfaceID, frames: Int)
    case driverDelivered(interface: InterfaceID, header: EthernetHeader, length: Int)
    case frameDropped(interface: InterfaceID, error: WireError)
}

/// IP, ICMP and UDP counters, named after the SNMP MIB fields `netstat -s` prints (RFC 4293, RFC 4113).
public struct IPStatistics: Sendable, Equatable {
    public var inReceives = 0, inHeaderErrors = 0, inAddressErrors = 0, inUnknownProtocols = 0, inDelivers = 0
    public var forwarded = 0, outRequests = 0, outNoRoutes = 0, outDiscards = 0
    public var reassemblyRequired = 0, reassemblyOK = 0, reassemblyFails = 0, reassemblyTimeouts = 0
    public var fragmentsOK = 0, fragmentsCreated = 0, fragmentsFailed = 0
    public var icmpInMessages = 0, icmpInErrors = 0, icmpOutMessages = 0, icmpRateLimited = 0
    public var udpInDatagrams = 0, udpNoPorts = 0, udpInErrors = 0, udpReceiveBufferErrors = 0, udpOutDatagrams = 0
    public var arpRequestsSent = 0, arpRepliesSent = 0, arpResolutionFailures = 0, arpMalformed = 0
    /// IPv6 (Linux's Ip6 / Icmp6 counters of /proc/net/snmp6).
    public var ip6InReceives = 0, ip6InHeaderErrors = 0, ip6InAddressErrors = 0, ip6InUnknownProtocols = 0
    public var ip6InDelivers = 0, ip6InTooBigErrors = 0, ip6OutRequests = 0, ip6OutNoRoutes = 0, ip6OutDiscards = 0
    public var ip6Forwarded = 0, ip6InMartians = 0
    public var icmp6InMessages = 0, icmp6InErrors = 0, icmp6OutMessages = 0, icmp6RateLimited = 0
    public var ndpNeighborSolicitsSent = 0, ndpNeighborAdvertsSent = 0, ndpInvalid = 0, ndpDuplicateAddresses = 0
    /// Redirects that passed RFC 4861 §8.1's checks on the wire (Linux's Icmp6InRedirects), and those
    /// of them not followed: not from the destination's current first-hop router, or this host forwards.
    public var icmp6InRedirects = 0, ndpRedirectsIgnored = 0
    public var tcpInSegments = 0, tcpOutSegments = 0, tcpInErrors = 0, tcpResetsSent = 0, tcpNoConnection = 0
    /// TCP super-segments handed to a device with segmentation offload (each counted in
    /// ``tcpOutSegments`` as the segments the device cuts it into).
    public var tcpOutSuperSegments = 0
    /// Datagrams from an interface whose source no host may have or that is ours (Linux's martian sources).
    public var inMartianSources = 0
    /// Incomplete datagrams thrown out of reassembly to make room for newer fragments.
    public var reassemblyEvictions = 0
    /// Datagrams this host sent to itself that found the loopback queue full.
    public var loopbackDropped = 0
    /// ARP cache entries evicted because the cache was full.
    public var arpEvictions = 0
    /// ARP packets whose sender is not on a network of the interface they came by: not learned.
    public var arpOffLinkIgnored = 0
    /// Challenge ACKs sent (RFC 5961 §7; Linux's TCPChallengeACK).
    public var tcpChallengeAcksSent = 0
    /// Challenge ACKs not sent: the connection's tcp_invalid_ratelimit or the host's budget said no.
    public var tcpChallengeAcksSuppressed = 0
    /// Duplicate ACKs to out-of-window or PAWS-failing segments not sent (TCPACKSkippedSeq/PAWS).
    public var tcpOutOfWindowAcksSuppressed = 0
    /// Closing connections destroyed without TIME_WAIT because `maxTimeWait` were held (TCPTimeWaitOverflow).
    public var tcpTimeWaitOverflow = 0
    /// Datagrams for addresses not the host's, taken on an interface in any-destination mode.
    public var inAnyDestination = 0
    /// TCP connection attempts offered to an intercepting listener (``Host/nextFlowRequest(_:)``).
    public var tcpFlowsOffered = 0
    /// Offered TCP flows the application refused (RST or ICMP unreachable).
    public var tcpFlowsRefused = 0
    /// Offered TCP flows dropped: the listener's queue of undecided flows was full, or no decision came in time.
    public var tcpFlowsDropped = 0
    /// Out-of-order segments inside the window dropped because the receive buffer held its
    /// most disjoint ranges already (Linux's TCPOFODrop).
    public var tcpOutOfOrderDropped = 0
    /// TIME_WAIT records ended early by a new SYN for the same 4-tuple (RFC 6191).
    public var tcpTimeWaitReopened = 0
    /// Connections refused because the host held `maxConnections`.
    public var tcpConnectionsRefusedByLimit = 0
    /// SYNs that met the host's half-open limit (`maxHalfOpen`) and got a SYN cookie instead of state.
    public var tcpHalfOpenLimitReached = 0
    /// SYN cookies sent, and final ACKs whose cookie was valid or invalid (TCPSyncookies*).
    public var tcpSynCookiesSent = 0
    public var tcpSynCookiesValid = 0
    public var tcpSynCookiesInvalid = 0
    /// ICMP errors quoting a UDP datagram for which no connected socket with that peer exists: ignored.
    public var udpICMPErrorsIgnored = 0
    public init() {}
}

extension IPDropReason: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .malformed(error): "malformed (\(error))"
        case .notForThisHost: "not addressed to this host"
        case .timeToLiveExceeded: "TTL exceeded"
        case .noRoute: "no route"
        case let .fragmentationNeeded(mtu): "too big for MTU \(mtu) with DF set"
        case let .reassembly(drop): "fragment not kept (\(drop))"
        case .reassemblyTimeout: "reassembly timed out"
        case let .unknownProtocol(proto): "no handler for \(proto)"
        case let .nextHopUnresolved(address): "ARP got no answer for next hop \(address)"
        case let .martianSource(address): "martian source \(address)"
        }
    }
}
