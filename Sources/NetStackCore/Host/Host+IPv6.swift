public import NetStackWire

// IPv6 (RFC 8200): addresses, source selection, routing, output, input and forwarding.
// Neighbour discovery is in Host+NDP.swift, ICMPv6 in Host+ICMPv6.swift.

extension Host {
    // MARK: Addresses

    /// Turns IPv6 on for `interface` (once): on Ethernet it forms the link-local address
    /// (fe80::/64 with an RFC 7217 stable identifier, RFC 8064) and starts its DAD. O(addresses).
    public func enableIPv6(on interface: InterfaceID, now: Instant) {
        self.now = now
        while interfaces6.count < adapters.count { interfaces6.append(nil) }
        guard interfaces6[interface.index] == nil else { return }
        let secret = secrets.key(.stableInterfaceIdentifiers)
        let key = withUnsafeBytes(of: (secret.0.bigEndian, secret.1.bigEndian)) { Array($0) }
        let mac = adapters[interface.index].mac.rawValue
        let netIface = (0..<6).map { UInt8(truncatingIfNeeded: mac >> (40 - 8 * $0)) }
        var addressConfig = config.ipv6.addresses
        // A link without link-layer addresses (a TUN) has no neighbour discovery, so no DAD (as Linux's IFF_NOARP).
        if adapters[interface.index].medium != .ethernet { addressConfig.dupAddrDetectTransmits = 0 }
        var state = IPv6InterfaceState(addresses: IPv6AddressList(config: addressConfig,
                                                                  identifiers: StableInterfaceIdentifier(secretKey: key),
                                                                  netIface: netIface))
        if adapters[interface.index].medium == .ethernet {
            state.addresses.addLinkLocal(now: now, random: nextRandom6())
            routes6.add(IPv6Route(destination: IPv6Network(address: IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 0), prefixLength: 64),
                                  interface: interface, metric: IPv6RoutingTable.prefixMetric))
        }
        interfaces6[interface.index] = state
        runAddressTimers6()
    }

    /// Assigns `address/prefixLength` to `interface` (as `ip -6 addr add`): enables IPv6 there,
    /// adds the on-link route, and starts DAD (RFC 4862 §5.4: the address is usable once DAD
    /// passes, after about a second; with ``IPv6HostConfig/addresses`` `dupAddrDetectTransmits`
    /// 0, at once). O(addresses).
    public func assign(_ address: IPv6Address, prefixLength: Int, to interface: InterfaceID, now: Instant) {
        enableIPv6(on: interface, now: now)
        guard interfaces6[interface.index]?.addresses.add(address, prefixLength: prefixLength, origin: .manual,
                                                           now: now, random: nextRandom6()) == true else { return }
        if prefixLength < 128 {
            routes6.add(IPv6Route(destination: IPv6Network(address: address, prefixLength: prefixLength),
                                  interface: interface, metric: IPv6RoutingTable.prefixMetric))
        }
        runAddressTimers6()
    }

    /// Turns on stateless address autoconfiguration on `interface` (RFC 4862, `--address6 auto`):
    /// router solicitations go out, and prefixes with the A flag in router advertisements form
    /// addresses with RFC 7217 identifiers, each passing DAD.
    public func enableAddressAutoconfiguration(on interface: InterfaceID, now: Instant) {
        enableIPv6(on: interface, now: now)
        guard var state = interfaces6[interface.index], !state.autoconfigure else { return }
        state.autoconfigure = true
        state.routerSolicitationsLeft = config.ipv6.maxRouterSolicitations
        // RFC 4861 §6.3.7: the first after a random delay of up to MAX_RTR_SOLICITATION_DELAY (1 s).
        state.nextRouterSolicitation = now + .milliseconds(Int64(nextRandom6() * 1000))
        interfaces6[interface.index] = state
    }

    /// Adds an IPv6 route (replacing one for the same prefix, gateway and interface).
    public func addRoute6(_ route: IPv6Route) { routes6.add(route) }

    /// Sets the IPv6 default router, reached through `interface` (`ip -6 route add default via`).
    public func setDefaultGateway6(_ gateway: IPv6Address, interface: InterfaceID,
                                   metric: Int = IPv6RoutingTable.routerMetric) {
        routes6.remove { $0.destination.prefixLength == 0 && $0.origin == .configured }
        routes6.setDefaultGateway(gateway, interface: interface, metric: metric)
    }

    /// Every IPv6 address of every interface, with its state (for `ip -6 addr`-like views). Allocates.
    public var addresses6: [InterfaceAddress6] {
        interfaces6.indices.flatMap { index in
            (interfaces6[index]?.addresses.addresses ?? []).map {
                InterfaceAddress6(address: $0.address, prefixLength: $0.prefixLength, interface: InterfaceID(index),
                                  state: $0.state, origin: $0.origin)
            }
        }
    }

    /// The first assigned IPv6 address of `interface` that is not link-local (else the link-local one).
    public func address6(of interface: InterfaceID) -> IPv6Address? {
        guard interface.index < interfaces6.count, let list = interfaces6[interface.index]?.addresses.addresses else { return nil }
        return (list.first { $0.isAssigned && !$0.address.isLinkLocal } ?? list.first { $0.isAssigned })?.address
    }

    /// The neighbour cache's entries, sorted (for `netstack neigh`). Allocates.
    public var neighborEntries6: [NeighborEntry] { neighborCache6.allEntries }

    /// Adds a permanent neighbour entry (`ip -6 neigh add … lladdr … nud permanent`): never
    /// probed, never evicted. O(log n).
    public func addStaticNeighbor6(_ address: IPv6Address, mac: MACAddress, interface: InterfaceID) {
        neighborCache6.addPermanent(NeighborKey(address, on: interface), linkAddress: mac)
    }

    /// True when `address` is this host's (assigned, not tentative), or `::1`. O(addresses),
    /// no allocation: a scan of `localAddresses6`.
    func isLocal6(_ address: IPv6Address) -> Bool {
        if address.isLoopback { return true }
        for entry in localAddresses6 where entry.address == address { return entry.assigned }
        return false
    }

    /// Refills `localAddresses6` from `interfaces6` (after any change to it). O(addresses);
    /// allocates only when the host has more addresses than ever before.
    func rebuildLocalAddresses6() {
        localAddresses6.removeAll(keepingCapacity: true)
        for state in interfaces6 {
            for entry in state?.addresses.addresses ?? [] { localAddresses6.append((entry.address, entry.isAssigned)) }
        }
    }

    /// The state of `address` if it is one of `interface`'s.
    func addressState6(_ address: IPv6Address, on interface: InterfaceID) -> IPv6InterfaceAddress.State? {
        guard interface.index < interfaces6.count else { return nil }
        return interfaces6[interface.index]?.addresses.state(of: address)
    }

    /// True when a packet to `address` arriving on `interface` is for this host: one of its
    /// unicast addresses, or a multicast group it is in — all-nodes, and the solicited-node
    /// group of each of its addresses, tentative ones included (DAD listens there, RFC 4862 §5.4.2).
    func accepts6(_ address: IPv6Address, on interface: InterfaceID?) -> Bool {
        guard address.isMulticast else { return isLocal6(address) }
        if address == .allNodes || address == IPv6Address(0xff01, 0, 0, 0, 0, 0, 0, 1) { return true }
        guard address.isSolicitedNodeMulticast else { return false }
        for index in interfaces6.indices where interface == nil || interface?.index == index {
            guard let list = interfaces6[index]?.addresses.addresses else { continue }
            if list.contains(where: { $0.address.solicitedNodeMulticast == address && $0.state != .duplicate }) { return true }
        }
        return false
    }

    /// The source address for `destination` (RFC 6724 §5, the rules that matter on a host):
    /// `destination` itself when it is ours; on the outgoing interface, an address of the same
    /// scope (link-local for a link-local or link-scope multicast destination), preferred over
    /// deprecated, then the longest matching prefix. nil when the interface has none.
    func sourceAddress6(toward destination: IPv6Address) -> IPv6Address? {
        if isLocal6(destination) { return destination }
        guard let route = route6(toward: destination) else { return nil }
        return sourceAddress6(toward: destination, on: route.interface)
    }

    /// The source address for `destination` on `interface`, chosen as ``sourceAddress6(toward:)`` says.
    func sourceAddress6(toward destination: IPv6Address, on interface: InterfaceID) -> IPv6Address? {
        guard interface.index < interfaces6.count, let list = interfaces6[interface.index]?.addresses.addresses else { return nil }
        let linkScope = destination.isLinkLocal || destination.isLinkLocalMulticast
        var best: IPv6Address?
        var bestScore = -1
        for candidate in list where candidate.isAssigned {
            var score = 0
            if candidate.address.isLinkLocal == linkScope { score += 1 << 10 }   // rule 2: appropriate scope
            if candidate.state == .preferred { score += 1 << 9 }                 // rule 3: avoid deprecated
            score += Self.commonPrefixLength(candidate.address, destination)    // rule 8: longest matching prefix
            if score > bestScore { best = candidate.address; bestScore = score }
        }
        return best
    }

    static func commonPrefixLength(_ a: IPv6Address, _ b: IPv6Address) -> Int {
        let high = a.high ^ b.high
        return high != 0 ? high.leadingZeroBitCount : 64 + (a.low ^ b.low).leadingZeroBitCount
    }

    /// A value in 0..<1 from the host's IPv6 random stream.
    func nextRandom6() -> Double { Double(splitMix64(&random6) >> 11) / Double(1 << 53) }

    // MARK: Routing

    /// The route to `destination`: the longest matching prefix, then the lowest metric, with
    /// RFC 4861 §6.3.6's default router selection (a router whose neighbour entry is missing or
    /// INCOMPLETE is passed over for another), and a router's redirect (RFC 4861 §8.3: the route
    /// comes back with the redirect's target as gateway). Link-scope multicast leaves by the first interface
    /// with IPv6 when no route names it. `countingUse` bumps the route's Use column (a packet
    /// takes it, as `output6` and `forward6` say). O(routes), one pass, no allocation.
    func route6(toward destination: IPv6Address, countingUse: Bool = false) -> IPv6Route? {
        if let route = tableRoute6(toward: destination, countingUse: countingUse) {
            if let router = route.gateway, !redirects6.isEmpty,
               let target = redirects6.target(for: destination, via: router, on: route.interface, now: now) {
                var redirected = route
                redirected.gateway = target
                return redirected
            }
            return route
        }
        if destination.isMulticast, let index = interfaces6.firstIndex(where: { $0 != nil }) {
            return IPv6Route(destination: IPv6Network(address: destination, prefixLength: 128), interface: InterfaceID(index))
        }
        return nil
    }

    /// The routing table's route to `destination`, with default router selection, before any
    /// redirect. O(routes), one pass (the closure runs only when the best match is a default route).
    func tableRoute6(toward destination: IPv6Address, countingUse: Bool) -> IPv6Route? {
        routes6.lookup(destination, countingUse: countingUse) { router, interface in
            !neighborCache6.isProbablyReachable(NeighborKey(router, on: interface))
        }
    }

    /// The path MTU toward `destination`: what a Packet Too Big said (RFC 8201), else the
    /// outgoing link's MTU; never below 1,280.
    func pathMTU6(toward destination: IPv6Address) -> Int {
        max(IPv6Header.minimumMTU, pathMTUs6.pathMTU(to: destination, linkMTU: linkMTU6(toward: destination), now: now))
    }

    /// The MTU of the link the route to `destination` leaves by.
    func linkMTU6(toward destination: IPv6Address) -> Int {
        guard let route = route6(toward: destination) else { return adapters.first?.mtu ?? 1500 }
        return linkMTU6(of: route.interface)
    }

    /// `interface`'s IPv6 link MTU: the device's, or less when a router advertised less (RFC 4861 §6.3.4).
    func linkMTU6(of interface: InterfaceID) -> Int {
        let device = adapters[interface.index].mtu
        guard interface.index < interfaces6.count, let advertised = interfaces6[interface.index]?.advertisedMTU else { return device }
        return min(device, advertised)
    }

    // MARK: Output

    /// Sends a datagram this host originates (RFC 8200): picks the route and source, builds the
    /// IPv6 header (`nextHeader` is the upper layer: no extension headers), and hands it to
    /// neighbour discovery and the link. Local destinations go through the loopback queue.
    /// A datagram over the path MTU is fragmented at the source (RFC 8200 §4.5), with an
    /// identification per RFC 7739. `segmentSize` > 0: a TCP super-segment (TSO6) for an adapter
    /// with segmentation offload, which may exceed the MTU and is never fragmented (its checksum
    /// is partial); it goes out only when the next hop's link address is known (else it is
    /// dropped, and TCP's retransmission sends it again).
    func output6(nextHeader: IPProtocol, source: IPv6Address?, destination: IPv6Address, hopLimit: UInt8?,
                 trafficClass: UInt8, segmentSize: Int, transportHeaderLength: Int = 0, payloadLength: Int,
                 writePayload: (UnsafeMutableRawBufferPointer) -> Void) throws(NetError) {
        guard payloadLength <= 65_535 else { throw .messageTooLong }
        let total = IPv6Header.length + payloadLength
        if isLocal6(destination) {
            let header = IPv6Header(source: source ?? destination, destination: destination, nextHeader: nextHeader,
                                    payloadLength: payloadLength, hopLimit: hopLimit ?? config.defaultTTL,
                                    trafficClass: trafficClass)
            statistics.ip6OutRequests += 1
            buildBuffer.withUnsafeMutableBytes { buffer in
                header.emit(into: buffer)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Header.length..<total]))
            }
            let queued = buildBuffer.withUnsafeBytes { loopback.append(UnsafeRawBufferPointer(rebasing: $0[0..<total])) }
            if !queued {
                statistics.loopbackDropped += 1
                statistics.ip6OutDiscards += 1
            }
            return
        }
        guard let route = route6(toward: destination, countingUse: true) else {
            statistics.ip6OutNoRoutes += 1
            throw .networkUnreachable
        }
        let interface = route.interface
        guard let from = source ?? sourceAddress6(toward: destination, on: interface) else { throw .addressNotAvailable }
        // The route in hand gives the link MTU: `pathMTU6(toward:)` would look it up again.
        let mtu = max(IPv6Header.minimumMTU, pathMTUs6.pathMTU(to: destination, linkMTU: adapters[interface.index].mtu,
                                                              now: now))
        let header = IPv6Header(source: from, destination: destination, nextHeader: nextHeader,
                                payloadLength: payloadLength, hopLimit: hopLimit ?? config.defaultTTL,
                                trafficClass: trafficClass)
        statistics.ip6OutRequests += 1
        let nextHop = route.nextHop(for: destination)
        emit(.routeLookup6(destination: destination, route: route, nextHop: nextHop))
        emit(.ip6Sent(header, interface: interface))
        // A super-segment fits any adapter with offload: the device cuts it to the MSS.
        let superSegment = segmentSize > 0 && adapters[interface.index].segmentationOffload
        let mark = UInt32(truncatingIfNeeded: segmentSize)
        if total > mtu && !superSegment {
            guard segmentSize == 0 else {
                // A partial checksum: fragments would carry it to a host that cannot finish it.
                statistics.ip6OutDiscards += 1
                return
            }
            buildBuffer.withUnsafeMutableBytes { buffer in
                header.emit(into: buffer)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Header.length..<total]))
            }
            try fragment6(total: total, header: header, mtu: mtu, on: interface, nextHop: nextHop)
            return
        }
        if adapters[interface.index].medium == .ipOnly {
            adapters[interface.index].send(length: total, mark: mark,
                                           headersLength: IPv6Header.length + transportHeaderLength) { datagram in
                header.emit(into: datagram)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[IPv6Header.length..<total]))
            }
            return
        }
        if let mac = linkAddress6(of: nextHop, on: interface) {
            let ethernet = EthernetHeader(destination: mac, source: adapters[interface.index].mac, etherType: .ipv6)
            let headers = EthernetHeader.length + IPv6Header.length + transportHeaderLength
            let (_, fcs) = adapters[interface.index].send(length: EthernetHeader.length + total, mark: mark, headersLength: headers) { frame in
                ethernet.emit(into: frame)
                let datagram = UnsafeMutableRawBufferPointer(rebasing: frame[EthernetHeader.length...])
                header.emit(into: datagram)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[IPv6Header.length..<total]))
            }
            emit(.frameQueued(interface: interface, header: ethernet, length: EthernetHeader.length + total, fcs: fcs))
            return
        }
        if segmentSize > 0 {
            // Its checksum is partial: neighbour discovery's queue may not hold it.
            statistics.ip6OutDiscards += 1
            return
        }
        buildBuffer.withUnsafeMutableBytes { buffer in
            header.emit(into: buffer)
            writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Header.length..<total]))
        }
        buildBuffer.withUnsafeBytes { buffer in
            queueForNeighbor(UnsafeRawBufferPointer(rebasing: buffer[0..<total]), nextHop: nextHop, on: interface,
                             forwarded: false)
        }
    }

    /// Sends the datagram of `total` bytes in `buildBuffer` as fragments of at most `mtu` bytes.
    private func fragment6(total: Int, header: IPv6Header, mtu: Int, on interface: InterfaceID,
                           nextHop: IPv6Address) throws(NetError) {
        let identification = fragmentIdentification6.next(source: header.source, destination: header.destination)
        var failed = false
        var fragments = 0
        buildBuffer.withUnsafeBytes { whole in
            fragmentBuffer.withUnsafeMutableBytes { scratch in
                do {
                    fragments = try IPv6Fragmentation.fragment(UnsafeRawBufferPointer(rebasing: whole[0..<total]),
                                                               pathMTU: mtu, identification: identification,
                                                               scratch: scratch) { piece in
                        sendToLink6(piece, on: interface, nextHop: nextHop, forwarded: false)
                    }
                } catch {
                    failed = true
                }
            }
        }
        guard !failed else {
            statistics.fragmentsFailed += 1
            throw .messageTooLong
        }
        statistics.fragmentsOK += 1
        statistics.fragmentsCreated += fragments
    }

    /// Hands a whole IPv6 datagram to the link toward `nextHop` (its link address known, or asked for).
    func sendToLink6(_ datagram: UnsafeRawBufferPointer, on interface: InterfaceID, nextHop: IPv6Address, forwarded: Bool) {
        if adapters[interface.index].medium == .ipOnly {
            return sendFrame(on: interface, to: .zero, type: .ipv6, payload: datagram)
        }
        if let mac = linkAddress6(of: nextHop, on: interface) {
            return sendFrame(on: interface, to: mac, type: .ipv6, payload: datagram)
        }
        queueForNeighbor(datagram, nextHop: nextHop, on: interface, forwarded: forwarded)
    }

    // MARK: Input

    /// The IPv6 input routine (RFC 8200 §4): validate the header, drop martian sources, walk the
    /// extension headers with bounds, then deliver to the upper layer, forward (a router), or drop.
    /// `interface` is nil for datagrams this host sent itself. Allocates nothing on the way to TCP and UDP.
    func ipv6Input(_ bytes: UnsafeRawBufferPointer, on interface: InterfaceID?) {
        statistics.ip6InReceives += 1
        let header: IPv6Header
        do { header = try IPv6Header.parse(bytes) } catch {
            statistics.ip6InHeaderErrors += 1
            emit(.ipDropped(.malformed(error), header: nil))
            return
        }
        let packet = UnsafeRawBufferPointer(rebasing: bytes[0..<header.totalLength])
        if interface != nil {
            // RFC 4291 §2.5.2/§2.7, RFC 8200: no packet from a wire has a multicast or loopback source,
            // nor one of ours (DAD probes come from ::, which NDP alone accepts).
            if header.source.isMulticast || header.source.isLoopback || header.destination.isLoopback
                || isLocal6(header.source) {
                statistics.ip6InMartians += 1
                statistics.ip6InAddressErrors += 1
                return
            }
        }
        if let interface { emit(.ip6Received(header, interface: interface)) }
        guard accepts6(header.destination, on: interface) || tentativeNDPTarget(header)
                || acceptsAnyDestination6(header.destination, on: interface) else {
            if config.forwarding, let interface, !header.destination.isMulticast {
                forward6(packet, header: header, from: interface)
            } else {
                statistics.ip6InAddressErrors += 1
            }
            return
        }
        if !header.nextHeader.isIPv6ExtensionHeader {
            // The common case, no extension header: nothing to reassemble or walk, the upper
            // layer starts after the fixed header (what the walk would find, without its passes).
            deliver6(packet, header: header, upperLayer: header.nextHeader, at: IPv6Header.length,
                     nextHeaderField: 6, from: interface)
            return
        }
        if IPv6Reassembler.fragmentHeaderOffset(in: packet) != nil {
            // Before the walk: a first fragment may cut the header chain short (RFC 7112).
            if reassemble6(packet, on: interface) { return }
        }
        walkAndDeliver6(packet, header: header, on: interface)
    }

    /// The rest of input for a whole datagram (or an atomic fragment): the extension headers'
    /// rules, then the upper layer. `reassembled`: the datagram came in fragments (its fragment
    /// header is gone).
    func walkAndDeliver6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, on interface: InterfaceID?,
                         reassembled: Bool = false) {
        let chain: IPv6ExtensionHeaders
        do { chain = try IPv6ExtensionHeaders.walk(packet) } catch {
            statistics.ip6InHeaderErrors += 1
            emit(.ipDropped(.malformed(error), header: nil))
            return
        }
        if let option = chain.unrecognizedOption {
            // RFC 8200 §4.2: the option type's two high bits say what to do with an unknown option.
            statistics.ip6InHeaderErrors += 1
            if option.action == 2 || (option.action == 3 && !header.destination.isMulticast) {
                sendICMPv6Error(.parameterProblem(code: ICMPv6ParameterProblemCode.unrecognizedOption.rawValue,
                                                  pointer: UInt32(option.offset)), about: packet, arrivedOn: interface)
            }
            if option.action != 0 { return }
        }
        if let routing = chain.routing, routing.mustBeRefused {
            // RFC 8200 §4.4 and RFC 5095: no routing header is followed here (type 0 is deprecated,
            // and a host is no waypoint): a parameter problem pointing at its type.
            statistics.ip6InHeaderErrors += 1
            sendICMPv6Error(.parameterProblem(code: ICMPv6ParameterProblemCode.erroneousHeaderField.rawValue,
                                              pointer: UInt32(routing.typePointer)), about: packet, arrivedOn: interface)
            return
        }
        if reassembled || chain.fragment != nil, chain.upperLayerProtocol == .icmpv6,
           chain.upperLayerOffset < header.totalLength, NDPPacket.isNDP(type: packet[chain.upperLayerOffset]) {
            // RFC 6980 §5: NDP is never fragmented, so NDP with a fragment header (even an atomic
            // one) is ignored — fragments are how a forged RA slips past an RA guard (RFC 7113).
            statistics.ndpInvalid += 1
            return
        }
        deliver6(packet, header: header, chain: chain, from: interface)
    }

    /// True for an NDP message to a tentative address of ours: DAD must see it (RFC 4862 §5.4.3).
    func tentativeNDPTarget(_ header: IPv6Header) -> Bool {
        guard header.nextHeader == .icmpv6 else { return false }
        for state in interfaces6 {
            if state?.addresses.state(of: header.destination) == .tentative { return true }
        }
        return false
    }

    /// Hands a whole datagram (not a fragment) to its upper layer.
    func deliver6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, chain: IPv6ExtensionHeaders,
                  from interface: InterfaceID?) {
        deliver6(packet, header: header, upperLayer: chain.upperLayerProtocol, at: chain.upperLayerOffset,
                 nextHeaderField: chain.upperLayerNextHeaderOffset, from: interface)
    }

    /// Hands a whole datagram to `upperLayer`, whose header starts at `offset` and was named by
    /// the Next Header field at `nextHeaderField` (a parameter problem's pointer).
    func deliver6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, upperLayer: IPProtocol, at offset: Int,
                  nextHeaderField: Int, from interface: InterfaceID?) {
        statistics.ip6InDelivers += 1
        let payload = UnsafeRawBufferPointer(rebasing: packet[offset..<header.totalLength])
        let multicast = header.destination.isMulticast
        switch upperLayer {
        case .icmpv6: icmpv6Input(payload, header: header, packet: packet, from: interface)
        case .tcp:
            tcpInput(payload, source: .v6(header.source), destination: .v6(header.destination), ip: nil,
                     from: interface, broadcast: multicast)
        case .udp:
            udpInput(payload, source: .v6(header.source), destination: .v6(header.destination), ip: nil,
                     packet: packet, from: interface, broadcast: multicast)
        case .ipv6NoNextHeader:
            return
        default:
            statistics.ip6InUnknownProtocols += 1
            sendICMPv6Error(.parameterProblem(code: ICMPv6ParameterProblemCode.unrecognizedNextHeader.rawValue,
                                              pointer: UInt32(nextHeaderField)),
                            about: packet, arrivedOn: interface)
        }
    }

    /// A fragment: held until its datagram is whole (then delivered from `reassemblyBuffer`),
    /// dropped, or answered with a parameter problem (RFC 8200 §4.5, RFC 5722, RFC 7112). False
    /// for an atomic fragment (RFC 6946), which the caller processes as a whole datagram.
    func reassemble6(_ packet: UnsafeRawBufferPointer, on interface: InterfaceID?) -> Bool {
        // A device vouches for one frame's checksum: the other fragments were not covered.
        receivedChecksumTrusted = false
        statistics.reassemblyRequired += 1
        let evictedBefore = reassembler6.evictions
        let outcome = reassembler6.add(packet, now: now)
        let evicted = reassembler6.evictions - evictedBefore
        statistics.reassemblyEvictions += evicted
        statistics.reassemblyFails += evicted
        switch outcome {
        case .held:
            return true
        case .atomic:
            statistics.reassemblyRequired -= 1
            return false
        case .dropped:
            statistics.reassemblyFails += 1
            return true
        case let .parameterProblem(code, pointer):
            statistics.reassemblyFails += 1
            sendICMPv6Error(.parameterProblem(code: code.rawValue, pointer: UInt32(pointer)), about: packet,
                            arrivedOn: interface)
            return true
        case .complete:
            statistics.reassemblyOK += 1
            // Up to 65,535 bytes of payload after the header and unfragmentable part: more than IPv4 needs.
            if reassemblyBuffer.count < 65_536 + 128 { reassemblyBuffer = [UInt8](repeating: 0, count: 65_536 + 128) }
            reassemblyBuffer.withUnsafeMutableBytes { buffer in
                let length = reassembler6.assembleCompleted(into: buffer)
                let whole = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
                guard let header = try? IPv6Header.parse(whole) else { return }
                walkAndDeliver6(whole, header: header, on: interface, reassembled: true)
            }
            return true
        }
    }

    /// Datagrams whose fragments stopped coming: dropped; the source hears of each whose first
    /// fragment arrived (ICMPv6 time exceeded, code 1: RFC 8200 §4.5).
    func runReassemblyTimers6() {
        var firsts: [[UInt8]] = []
        let expired = reassembler6.expire(now: now) { firsts.append(Array($0)) }
        statistics.reassemblyFails += expired
        statistics.reassemblyTimeouts += expired
        for first in firsts {
            first.withUnsafeBytes { sendICMPv6Error(.timeExceeded(code: 1), about: $0, arrivedOn: nil) }
        }
    }

    // MARK: Forwarding

    /// Forwards a datagram (RFC 8200 §3, RFC 4443): hop-limit check and decrement (time
    /// exceeded at 1), route lookup (destination unreachable, no route), and a packet too big
    /// when the next link is smaller — IPv6 routers never fragment; but a TCP super-segment a
    /// device with offload handed over is cut to fit (Host+IPv6Offload.swift).
    func forward6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, from interface: InterfaceID) {
        guard !header.source.isUnspecified, !header.destination.isLinkLocal, !header.source.isLinkLocal else {
            statistics.ip6InAddressErrors += 1  // link-local scope never leaves its link (RFC 4291 §2.5.6)
            return
        }
        guard header.hopLimit > 1 else {
            statistics.ip6InHeaderErrors += 1  // as Linux's ip6_forward counts it (InHdrErrors)
            sendICMPv6Error(.timeExceeded(code: 0), about: packet, arrivedOn: interface)
            return
        }
        guard let route = route6(toward: header.destination, countingUse: true) else {
            statistics.ip6OutNoRoutes += 1
            sendICMPv6Error(.destinationUnreachable(code: ICMPv6UnreachableCode.noRoute.rawValue), about: packet,
                            arrivedOn: interface)
            return
        }
        let mtu = linkMTU6(of: route.interface)
        if packet.count > mtu, receivedChecksumTrusted,
           forwardSegmented6(packet, header: header, mtu: mtu, route: route) { return }
        guard packet.count <= mtu else {
            statistics.ip6InTooBigErrors += 1
            sendICMPv6Error(.packetTooBig(mtu: UInt32(mtu)), about: packet, arrivedOn: interface)
            return
        }
        statistics.ip6Forwarded += 1
        let nextHop = route.nextHop(for: header.destination)
        emit(.forwarded6({ var out = header; out.hopLimit -= 1; return out }(), from: interface, to: route.interface,
                         nextHop: nextHop))
        forwardBuffer.withUnsafeMutableBytes { whole in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: whole[0..<packet.count])
            buffer.copyMemory(from: packet)
            _ = IPv6Header.decrementHopLimit(in: buffer)
            // A checksum the device vouched for may be only partial (virtio-net NEEDS_CSUM):
            // trusted for this host, it must be whole before another host sees it.
            if receivedChecksumTrusted { finishTransportChecksum6(in: buffer, header: header) }
            sendToLink6(UnsafeRawBufferPointer(buffer), on: route.interface, nextHop: nextHop, forwarded: true)
        }
    }
}

extension IPProtocol {
    /// True for the headers ``IPv6ExtensionHeaders/walk(_:maximumHeaderCount:)`` walks through:
    /// hop-by-hop, routing, fragment, destination options and authentication.
    fileprivate var isIPv6ExtensionHeader: Bool {
        // The numbers themselves (0, 43, 44, 60, 51): the named constants live in another module,
        // and reading them costs a call each on every packet.
        switch rawValue {
        case 0, 43, 44, 60, 51: true
        default: false
        }
    }
}
