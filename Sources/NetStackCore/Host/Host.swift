public import NetStackWire

/// How a host's stack is set up.
public struct HostConfig: Sendable {
    /// The host's name, used in tables and narration.
    public var name: String
    /// Forward packets not addressed to this host: a router (RFC 1812).
    public var forwarding = false
    /// TTL of datagrams this host originates (Linux: 64).
    public var defaultTTL: UInt8 = 64
    public var arp = ARPConfig()
    public var reassembly = ReassemblyConfig()
    public var udp = UDPConfig()
    /// Limits the ICMP errors this host sends.
    public var icmpErrors = ICMPRateLimiter()
    /// Nil (the default): IP identifications per RFC 6864/7739 (see `IPIdentification`),
    /// keyed from the host's secret. A value: every datagram takes the next value of one
    /// counter starting there — for tests that compare with captured frames.
    public var initialIdentification: UInt16?
    /// Ignore echo requests sent to a broadcast address (Linux's icmp_echo_ignore_broadcasts).
    public var echoIgnoreBroadcasts = true
    /// TCP settings.
    public var tcp = TCPConfig()
    /// IPv6: DAD, neighbour discovery and router solicitation settings.
    public var ipv6 = IPv6HostConfig()
    /// Seeds the host's secrets (initial sequence numbers, SYN cookies, timestamp
    /// offsets, resolver IDs and ports, ephemeral ports) for a reproducible run:
    /// the simulator and tests pass one. nil (the default): the host draws a
    /// 128-bit master key from the OS's random source (getrandom) when it is built.
    public var randomSeed: UInt64?
    /// The stub resolver: nameservers, hosts table, timeouts, cache size.
    public var resolver = ResolverConfig()
    /// Datagrams this host sent to itself that may wait for the next poll; more are
    /// dropped and counted (Linux's netdev_max_backlog: 1000).
    public var loopbackQueueLimit = 1000
    /// Bytes those datagrams may hold together (at least 64 KiB).
    public var loopbackQueueBytes = 1 << 20

    public init(name: String) { self.name = name }
}

/// An address assigned to an interface.
public struct InterfaceAddress: Sendable, Equatable {
    public var address: IPv4Address
    public var network: IPv4Network
    public var interface: InterfaceID
}

/// One host's protocol stack: its LAN adapters, ARP, IPv4 (routing, forwarding,
/// fragmentation, reassembly), ICMP and UDP — sans-I/O.
///
/// The host owns no thread, clock or file descriptor. Its driver hands it
/// frames that arrive (`receive`), runs it (`poll`), takes the frames it wants
/// to send (`takeFrame`), and asks when to run it next (`nextDeadline`).
/// Every call takes the current time. Same inputs, same outputs.
///
/// A class because a host has identity: sockets, the simulator and the
/// runtime all refer to the same one. It is not thread-safe; one driver owns it.
///
/// **Bounded work.** One `poll` does work bounded by the frames in the receive
/// rings at entry + the loopback datagrams queued at entry + the timers due at
/// entry (ARP, reassembly, TCP, resolver), each of those a bounded amount; what
/// that work queues for this host itself (loopback datagrams) waits for the next
/// poll. No input from a wire can keep the loopback queue filling: datagrams
/// from a martian source (one of this host's addresses, a broadcast, multicast,
/// 0.0.0.0, 127/8, 240/4) are dropped at input. So at a fixed time a bounded
/// number of polls reaches quiescence: `nextDeadline()` is then nil or later than now.
public final class Host {
    // `@exclusivity(unchecked)` below: the properties that are mutated in place on the
    // per-packet path, where Swift would otherwise call into the runtime on every access
    // to check exclusivity dynamically (a third of `netstack bench tcp`'s CPU time without
    // this, seen with perf). One driver thread owns a host; the compile-time checks still apply.
    public let name: String
    @exclusivity(unchecked) public internal(set) var config: HostConfig
    /// The LAN adapters, indexed by ``InterfaceID``.
    @exclusivity(unchecked) public internal(set) var adapters: [LANAdapter] = []
    /// Assigned addresses.
    @exclusivity(unchecked) public internal(set) var addresses: [InterfaceAddress] = []
    /// The routing table (`route`).
    @exclusivity(unchecked) public internal(set) var routes = RoutingTable()
    /// IPv6 state by interface index (nil: IPv6 not enabled there): addresses, DAD, router discovery.
    @exclusivity(unchecked) var interfaces6: [IPv6InterfaceState?] = [] {
        didSet { rebuildLocalAddresses6() }
    }
    /// Every interface's IPv6 addresses in `interfaces6`'s order, flat, with whether each may
    /// be used: `isLocal6` scans this on every packet instead of the per-interface lists.
    @exclusivity(unchecked) var localAddresses6: [(address: IPv6Address, assigned: Bool)] = []
    /// The IPv6 routing table (`route -6`).
    @exclusivity(unchecked) public internal(set) var routes6 = IPv6RoutingTable()
    /// The IPv6 neighbour cache (`ip -6 neigh`, Host+NDP.swift).
    @exclusivity(unchecked) public internal(set) var neighborCache6: NeighborCache
    /// SplitMix64 state for IPv6's random delays (DAD, router solicitation, ReachableTime).
    @exclusivity(unchecked) var random6: UInt64
    /// Destinations a router redirected to a better first hop (RFC 4861 §8.3), bounded.
    @exclusivity(unchecked) public internal(set) var redirects6 = RedirectTable()
    /// Recursive DNS servers router advertisements named (RFC 8106), with their lifetimes.
    @exclusivity(unchecked) var rdnss6 = RecursiveDNSServerList()
    /// The nameservers this host last gave the resolver from ``rdnss6``: while the resolver's
    /// list is still this (or empty), it follows the advertisements; set by hand, it is left alone.
    @exclusivity(unchecked) var rdnssNameservers6: [IPAddress] = []
    /// Path MTUs learnt from ICMPv6 packet too big (RFC 8201), by destination.
    @exclusivity(unchecked) var pathMTUs6 = PathMTUCache()
    /// How many times a packet too big lowered a path MTU: a TCP connection whose count differs
    /// checks its MSS against its path before it sends (Host+TCP.swift `transmit`).
    var pathMTU6Decreases = 0
    /// IPv6 fragments waiting for the rest of their datagram (RFC 8200 §4.5).
    @exclusivity(unchecked) var reassembler6 = IPv6Reassembler()
    /// Picks the identification of each IPv6 datagram this host fragments (RFC 7739).
    @exclusivity(unchecked) var fragmentIdentification6: IPv6FragmentIdentification
    /// The ARP cache (`arp`).
    @exclusivity(unchecked) public internal(set) var arpCache: ARPCache
    /// IP, ICMP, UDP and ARP counters.
    @exclusivity(unchecked) public internal(set) var statistics = IPStatistics()
    /// Called for every ``StackEvent``, when set. Costs nothing when nil.
    @exclusivity(unchecked) public var observer: ((StackEvent) -> Void)?

    @exclusivity(unchecked) var reassembler: Reassembler
    /// The stub resolver's lookups, queries and cache (Resolver/).
    @exclusivity(unchecked) var resolverState: StubResolver
    @exclusivity(unchecked) var udp: UDPSocketTable
    /// UDP flows of any-destination interfaces, when interception is on.
    @exclusivity(unchecked) var udpFlows: UDPFlowTable?
    @exclusivity(unchecked) var pings = PingTable()
    @exclusivity(unchecked) var tcp: TCPTable
    /// The host's secret keys: the one place secret material comes from (HostSecrets.swift).
    let secrets: HostSecrets
    /// The socket table: descriptor → control record.
    @exclusivity(unchecked) var sockets: [Int32: SocketRecord] = [:]
    /// Descriptors whose readiness may have changed since the driver last took them
    /// (``Host/takeReadinessChanges(into:)``), each listed once; nil while not tracked.
    @exclusivity(unchecked) var readinessChanges: [Int32]?
    /// TCP ports held by bound sockets that are not connected yet.
    @exclusivity(unchecked) var boundTCPPorts: [UInt16: Int] = [:]
    /// No descriptor below this is free: socket() starts its search here (O(1) amortised, not O(open sockets)).
    var lowestFreeDescriptor: Int32 = 3
    @exclusivity(unchecked) var icmpLimiter: ICMPRateLimiter
    /// Picks the IP identification of each datagram sent (RFC 6864/7739).
    @exclusivity(unchecked) var identification: IPIdentification
    /// The time of the call being served.
    var now = Instant.zero
    /// True while the frame being handled came with a transport checksum its device vouched
    /// for (segmentation offload): TCP input then skips its checksum pass.
    var receivedChecksumTrusted = false
    /// Datagrams this host sent to itself, delivered on the next poll (bounded).
    @exclusivity(unchecked) var loopback: LoopbackQueue
    /// Where a loopback datagram is copied to be handled, and where reassembled
    /// datagrams are put together. Allocated on first use.
    @exclusivity(unchecked) var loopbackBuffer: [UInt8] = []
    @exclusivity(unchecked) var reassemblyBuffer: [UInt8] = []
    /// An address a DHCP client is checking with ARP probes, and whether someone claimed it.
    var addressProbe: AddressProbe?
    /// Interfaces in any-destination mode, by index (see ``setAcceptsAnyDestination(_:interface:)``).
    var anyDestinationInterfaces: Set<Int> = []
    /// Reused buffers: one for building datagrams that cannot go straight into a
    /// frame, one for forwarding, one for fragmenting. Allocated once.
    @exclusivity(unchecked) var buildBuffer = [UInt8](repeating: 0, count: 65_536)
    @exclusivity(unchecked) var forwardBuffer = [UInt8](repeating: 0, count: 65_536)
    @exclusivity(unchecked) var fragmentBuffer = [UInt8](repeating: 0, count: 65_536)

    public init(_ config: HostConfig) {
        name = config.name
        self.config = config
        arpCache = ARPCache(config: config.arp)
        reassembler = Reassembler(config: config.reassembly)
        icmpLimiter = config.icmpErrors
        // Every secret is derived here, from the seed when one is given, else from the OS.
        let secrets = HostSecrets(seed: config.randomSeed)
        self.secrets = secrets
        udp = UDPSocketTable(config: config.udp, portKey: secrets.key(.udpPorts))
        tcp = TCPTable(config: config.tcp, isnKey: secrets.key(.initialSequenceNumbers),
                       cookieKey: secrets.key(.synCookies), portKey: secrets.key(.ephemeralPorts),
                       challengeAckKey: secrets.key(.challengeAcks))
        identification = IPIdentification(key: secrets.key(.ipIdentification), sequential: config.initialIdentification)
        fragmentIdentification6 = IPv6FragmentIdentification(key: secrets.key(.ipv6FragmentIdentification))
        var random = secrets.key(.ipv6Timers).0
        random6 = random
        neighborCache6 = NeighborCache(config: config.ipv6.neighbors,
                                       random: Double(splitMix64(&random) >> 11) / Double(1 << 53))
        loopback = LoopbackQueue(maxDatagrams: config.loopbackQueueLimit, capacity: config.loopbackQueueBytes)
        resolverState = StubResolver(config: config.resolver, secret: secrets.key(.resolver))
    }

    @inline(__always) func emit(_ event: @autoclosure () -> StackEvent) {
        if let observer { observer(event()) }
    }

    // MARK: Configuration

    /// Adds a LAN adapter and returns its interface.
    @discardableResult
    public func addInterface(_ config: AdapterConfig) -> InterfaceID {
        adapters.append(LANAdapter(config))
        return InterfaceID(adapters.count - 1)
    }

    /// Assigns `address/prefixLength` to `interface`: adds the connected route
    /// and announces the address with a gratuitous ARP.
    public func assign(_ address: IPv4Address, prefixLength: Int, to interface: InterfaceID, now: Instant) {
        self.now = now
        let network = IPv4Network(address: address, prefixLength: prefixLength)
        addresses.append(InterfaceAddress(address: address, network: network, interface: interface))
        routes.add(Route(destination: network, interface: interface))
        guard adapters[interface.index].medium == .ethernet else { return }
        sendARP(.request, on: interface, senderIP: address, targetMAC: .zero, targetIP: address, to: .broadcast)
        emit(.arpAnnounced(address, interface: interface))
    }

    /// Adds a route.
    public func addRoute(_ route: Route) { routes.add(route) }

    /// Sets the default gateway, reached through `interface`.
    public func setDefaultGateway(_ gateway: IPv4Address, interface: InterfaceID, metric: Int = 0) {
        routes.setDefaultGateway(gateway, interface: interface, metric: metric)
    }

    /// Turns forwarding (router behaviour) on or off.
    public func setForwarding(_ on: Bool) { config.forwarding = on }

    /// Puts an adapter in or out of promiscuous mode.
    public func setPromiscuous(_ on: Bool, interface: InterfaceID) { adapters[interface.index].setPromiscuous(on) }

    /// The interfaces, in order.
    public var interfaces: [InterfaceID] { adapters.indices.map(InterfaceID.init) }

    /// The first address of `interface`.
    public func address(of interface: InterfaceID) -> IPv4Address? {
        addresses.first { $0.interface == interface }?.address
    }

    /// Bytes the reassembly table holds now, overhead included (see ``Reassembler``).
    public var reassemblyBytesHeld: Int { reassembler.bytesHeld }

    /// True when `address` is assigned to one of this host's interfaces.
    public func isLocal(_ address: IPv4Address) -> Bool { addresses.contains { $0.address == address } }

    /// True for 255.255.255.255 and the directed broadcast of a connected network.
    func isBroadcast(_ address: IPv4Address) -> Bool {
        address.isLimitedBroadcast
            || addresses.contains { $0.network.prefixLength < 31 && $0.network.broadcast == address }
    }

    // MARK: The link side

    /// A frame arrives at `interface` from the wire (the signal turned back
    /// into bytes). The adapter checks its FCS, filters by MAC address and
    /// stores it in its receive ring; `poll` takes it from there.
    /// `checksumTrusted`: the device vouched for the TCP checksum (a virtio-net header with
    /// NEEDS_CSUM or DATA_VALID); TCP then does not verify it, sparing a pass over the data.
    /// `coalesced`: the frame holds TCP segments that a driver glued together before the adapter,
    /// each within the MTU on its own; an adapter with ``AdapterConfig/largeReceive`` takes it up
    /// to 65,535 bytes of IP (any other frame longer than the MTU is still a giant). The adapter's
    /// own coalescing (``AdapterConfig/receiveCoalescing``) needs none of this.
    @discardableResult
    public func receive(_ frame: UnsafeRawBufferPointer, on interface: InterfaceID, now: Instant,
                        checksumTrusted: Bool = false, coalesced: Bool = false) -> AdapterVerdict {
        self.now = now
        let verdict = adapters[interface.index].receive(frame, checksumTrusted: checksumTrusted, coalesced: coalesced)
        emit(.adapterReceived(interface: interface, verdict: verdict, length: frame.count))
        return verdict
    }

    /// Convenience for `receive` with an array.
    @discardableResult
    public func receive(_ frame: [UInt8], on interface: InterfaceID, now: Instant) -> AdapterVerdict {
        frame.withUnsafeBytes { receive($0, on: interface, now: now) }
    }

    /// Runs the stack: services adapter interrupts (the driver hands each
    /// received frame to the protocols), local deliveries, and timers that are due.
    public func poll(now: Instant) {
        self.now = now
        for index in adapters.indices where adapters[index].interruptPending {
            let interface = InterfaceID(index)
            adapters[index].closeReceiveRun()
            emit(.interrupt(interface: interface, frames: adapters[index].receiveRing.count))
            // The driver reads each frame where the adapter stored it, then frees the slot: only
            // those there now, all finished; one stored meanwhile (by an observer, say) waits for
            // the next poll, its interrupt still pending, so no open run is ever read.
            var pending = adapters[index].receiveRing.count
            while pending > 0, let frame = adapters[index].peekReceived() {
                receivedChecksumTrusted = adapters[index].receivedChecksumTrusted
                handleFrame(frame, on: interface)
                adapters[index].dropReceived()
                pending -= 1
            }
            receivedChecksumTrusted = false
        }
        // Only the datagrams queued before this poll: what handling them sends to this
        // host waits for the next poll, so a host talking to itself cannot hold poll forever.
        var queued = loopback.count
        if queued > 0 && loopbackBuffer.isEmpty { loopbackBuffer = [UInt8](repeating: 0, count: 65_536) }
        while queued > 0 {
            queued -= 1
            loopbackBuffer.withUnsafeMutableBytes { buffer in
                guard let length = loopback.takeFirst(into: buffer) else { return }
                let datagram = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
                if length > 0, datagram[0] >> 4 == 6 {
                    ipv6Input(datagram, on: nil)
                } else {
                    ipInput(datagram, on: nil, linkBroadcast: false)
                }
            }
        }
        runTimers()
        runResolver()
        runTCPTimers()
        if udpFlows != nil { udpFlows?.expire(now: now) }
    }

    /// Takes the oldest frame waiting to leave by `interface`, as it goes on the
    /// wire (padded, FCS appended when the link carries one); nil when none waits.
    /// Inlined into the caller, so `R` is specialised there: an unspecialised generic
    /// looked `Optional<R>`'s metadata up at run time for every frame.
    @inlinable
    public func takeFrame<R>(from interface: InterfaceID, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        var result: R?
        _ = try withTransmittedFrame(interface.index) { frame, _ in result = try body(frame) }
        return result
    }

    /// Like ``takeFrame(from:_:)``, also giving the frame's segment size: 0 for an ordinary
    /// frame; else (an adapter with ``AdapterConfig/segmentationOffload``) a TCP super-segment
    /// whose checksum is partial, for the device to cut into segments of that many payload bytes.
    @inlinable
    public func takeFrameSegments<R>(from interface: InterfaceID,
                                     _ body: (UnsafeRawBufferPointer, Int) throws -> R) rethrows -> R? {
        var result: R?
        _ = try withTransmittedFrame(interface.index) { frame, segmentSize in result = try body(frame, segmentSize) }
        return result
    }

    /// The non-generic core of ``takeFrame(from:_:)``: hands the oldest frame queued on
    /// adapter `index` and its segment size to `body`; false when none waits. O(1).
    @usableFromInline
    func withTransmittedFrame(_ index: Int, _ body: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows -> Bool {
        try adapters[index].takeTransmittedSegments(body) != nil
    }

    /// When `poll` must run next, or nil if only an arriving frame can give it work.
    public func nextDeadline() -> Instant? {
        if !loopback.isEmpty || adapters.contains(where: \.interruptPending) { return now }
        let ipv6 = interfaces6.isEmpty ? earliest(reassembler6.nextDeadline(), pathMTUs6.nextDeadline()) : nextIPv6Deadline()
        return earliest(earliest(earliest(earliest(earliest(arpCache.nextDeadline(), reassembler.nextDeadline()),
                                                   tcp.timers.nextDeadline), resolverDeadline()), udpFlows?.nextDeadline),
                        ipv6)
    }

    /// The driver's part: hand one received frame to the protocol named by its EtherType.
    func handleFrame(_ frame: UnsafeRawBufferPointer, on interface: InterfaceID) {
        if adapters[interface.index].medium == .ipOnly {
            // A TUN carries both versions: the first nibble says which (RFC 8200 §3).
            if frame.count > 0, frame[0] >> 4 == 6 { return ipv6Input(frame, on: interface) }
            return ipInput(frame, on: interface, linkBroadcast: false)
        }
        let header: EthernetHeader
        do { header = try EthernetHeader.parse(frame) } catch {
            adapters[interface.index].counters.rxDropped += 1
            emit(.frameDropped(interface: interface, error: error))
            return
        }
        emit(.driverDelivered(interface: interface, header: header, length: frame.count))
        let payload = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.length...])
        switch header.etherType {
        case .arp: arpInput(payload, on: interface)
        case .ipv4:
            // A frame a promiscuous adapter took for another station is not ours to route
            // (Linux's PACKET_OTHERHOST): only taps may look at it.
            if header.destination != adapters[interface.index].mac && !header.destination.isMulticast {
                adapters[interface.index].counters.rxDropped += 1
                return
            }
            ipInput(payload, on: interface, linkBroadcast: header.destination.isMulticast)
        case .ipv6:
            if header.destination != adapters[interface.index].mac && !header.destination.isMulticast {
                adapters[interface.index].counters.rxDropped += 1
                return
            }
            ipv6Input(payload, on: interface)
        default: adapters[interface.index].counters.rxDropped += 1
        }
    }

    /// Puts a frame in the interface's transmit queue: MAC header, then `payload`.
    func sendFrame(on interface: InterfaceID, to destination: MACAddress, type: EtherType,
                   payload: UnsafeRawBufferPointer) {
        if adapters[interface.index].medium == .ipOnly {
            // A point-to-point IP link carries datagrams only: no MAC header, and nothing for ARP.
            guard type == .ipv4 || type == .ipv6 else { return }
            adapters[interface.index].send(length: payload.count) { $0.copyMemory(from: payload) }
            return
        }
        let header = EthernetHeader(destination: destination, source: adapters[interface.index].mac, etherType: type)
        let length = EthernetHeader.length + payload.count
        let (_, fcs) = adapters[interface.index].send(length: length) { buffer in
            header.emit(into: buffer)
            UnsafeMutableRawBufferPointer(rebasing: buffer[EthernetHeader.length...]).copyMemory(from: payload)
        }
        emit(.frameQueued(interface: interface, header: header, length: length, fcs: fcs))
    }

    func runTimers() {
        // Most polls find nothing due: check the deadlines first, since the work itself
        // sorts and filters (and so allocates).
        if let deadline = arpCache.nextDeadline(), deadline <= now { runARPTimers() }
        if let deadline = reassembler.nextDeadline(), deadline <= now { runReassemblyTimers() }
        if let deadline = reassembler6.nextDeadline(), deadline <= now { runReassemblyTimers6() }
        if let deadline = pathMTUs6.nextDeadline(), deadline <= now { pathMTUs6.expire(now: now) }
        if !interfaces6.isEmpty, let deadline = nextIPv6Deadline(), deadline <= now { runIPv6Timers() }
    }

    private func runARPTimers() {
        let (retries, failures) = arpCache.due(now: now)
        for (address, interface, attempt) in retries {
            sendARPRequest(for: address, on: interface, attempt: attempt)
        }
        for (address, waiting) in failures {
            statistics.arpResolutionFailures += 1
            emit(.arpFailed(address, droppedPackets: waiting.count))
            for packet in waiting { nextHopUnreachable(packet) }
        }
    }

    private func runReassemblyTimers() {
        let expired = reassembler.expire(now: now)
        if expired.count > 0 {
            statistics.reassemblyFails += expired.count
            statistics.reassemblyTimeouts += expired.count
            emit(.ipDropped(.reassemblyTimeout, header: nil))
            for first in expired.firstFragments {
                first.withUnsafeBytes { sendICMPError(.timeExceeded(code: 1), about: $0, arrivedOn: nil) }
            }
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): spreads one seed into independent 64-bit
/// values. Advances `state`; O(1). Seeds host secrets here and the simulator's generators.
public func splitMix64(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}

/// The earlier of two optional deadlines (nil means none). No allocation, unlike `[a, b].compactMap`.
@inline(__always)
func earliest(_ a: Instant?, _ b: Instant?) -> Instant? {
    guard let a else { return b }
    guard let b else { return a }
    return a < b ? a : b
}
