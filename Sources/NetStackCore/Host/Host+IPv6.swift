public import NetStackWire

// IPv6 (RFC 8200): addresses, source selection, routing, output, input and forwarding.
// Neighbour discovery is in Host+NDP.swift, ICMPv6 in Host+ICMPv6.swift.

extension Host {
    // MARK: Addresses

    /// Assigns `address/prefixLength` to `interface` (as `ip -6 addr add`): adds the on-link
    /// route, joins the solicited-node group, and — on an Ethernet interface the first time —
    /// gives it its link-local address (RFC 4291 §2.5.6, from the MAC's EUI-64). The address is
    /// usable at once (as Linux's `nodad`). O(addresses).
    public func assign(_ address: IPv6Address, prefixLength: Int, to interface: InterfaceID, now: Instant) {
        self.now = now
        ensureLinkLocal(on: interface)
        guard !addresses6.contains(where: { $0.address == address && $0.interface == interface }) else { return }
        addresses6.append(InterfaceAddress6(address: address, prefixLength: prefixLength, interface: interface,
                                            state: .preferred))
        if prefixLength < 128 {
            addRoute6(Route6(destination: IPv6Network(address: address, prefixLength: prefixLength), interface: interface))
        }
    }

    /// Gives an Ethernet interface its link-local address and route (fe80::/64), once.
    func ensureLinkLocal(on interface: InterfaceID) {
        guard adapters[interface.index].medium == .ethernet,
              !addresses6.contains(where: { $0.interface == interface && $0.address.isLinkLocal }) else { return }
        let linkLocal = IPv6Address.linkLocal(eui64: adapters[interface.index].mac)
        addresses6.append(InterfaceAddress6(address: linkLocal, prefixLength: 64, interface: interface, state: .preferred))
        addRoute6(Route6(destination: IPv6Network(address: linkLocal, prefixLength: 64), interface: interface))
    }

    /// Adds an IPv6 route (replacing one for the same prefix, gateway and interface).
    public func addRoute6(_ route: Route6) {
        routes6.removeAll { $0.destination == route.destination && $0.gateway == route.gateway && $0.interface == route.interface }
        routes6.append(route)
    }

    /// Sets the IPv6 default router, reached through `interface` (`ip -6 route add default via`).
    public func setDefaultGateway6(_ gateway: IPv6Address, interface: InterfaceID, metric: Int = 1024) {
        routes6.removeAll { $0.destination.prefixLength == 0 }
        routes6.append(Route6(destination: IPv6Network(address: .unspecified, prefixLength: 0), gateway: gateway,
                              interface: interface, metric: metric))
    }

    /// The first assigned IPv6 address of `interface` that is not link-local (else the link-local one).
    public func address6(of interface: InterfaceID) -> IPv6Address? {
        let mine = addresses6.filter { $0.interface == interface && $0.isAssigned }
        return (mine.first { !$0.address.isLinkLocal } ?? mine.first)?.address
    }

    /// True when `address` is this host's (assigned, not tentative), or `::1`.
    func isLocal6(_ address: IPv6Address) -> Bool {
        address.isLoopback || addresses6.contains { $0.address == address && $0.isAssigned }
    }

    /// True when a packet to `address` arriving on `interface` is for this host: one of its
    /// unicast addresses, or a multicast group it is in — all-nodes, and the solicited-node
    /// group of each of its addresses, tentative ones included (DAD listens there, RFC 4862 §5.4.2).
    func accepts6(_ address: IPv6Address, on interface: InterfaceID?) -> Bool {
        guard address.isMulticast else { return isLocal6(address) }
        if address == .allNodes || address == IPv6Address(0xff01, 0, 0, 0, 0, 0, 0, 1) { return true }
        guard address.isSolicitedNodeMulticast else { return false }
        return addresses6.contains { ($0.interface == interface || interface == nil) && $0.address.solicitedNodeMulticast == address }
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
        let linkScope = destination.isLinkLocal || destination.isLinkLocalMulticast
        var best: InterfaceAddress6?
        var bestScore = -1
        for candidate in addresses6 where candidate.interface == interface && candidate.isAssigned {
            var score = 0
            if candidate.address.isLinkLocal == linkScope { score += 1 << 10 }   // rule 2: appropriate scope
            if candidate.state == .preferred { score += 1 << 9 }                 // rule 3: avoid deprecated
            score += Self.commonPrefixLength(candidate.address, destination)    // rule 8: longest matching prefix
            if score > bestScore { best = candidate; bestScore = score }
        }
        return best?.address
    }

    static func commonPrefixLength(_ a: IPv6Address, _ b: IPv6Address) -> Int {
        let high = a.high ^ b.high
        return high != 0 ? high.leadingZeroBitCount : 64 + (a.low ^ b.low).leadingZeroBitCount
    }

    // MARK: Routing

    /// The route to `destination`: the longest matching prefix, then the lowest metric. Link-local
    /// and link-scope multicast destinations leave by the first Ethernet interface with IPv6
    /// when no route names them (a host with one link, which is the usual case). O(routes).
    func route6(toward destination: IPv6Address) -> Route6? {
        var best: Route6?
        for route in routes6 where route.destination.contains(destination) {
            guard let current = best else { best = route; continue }
            if route.destination.prefixLength > current.destination.prefixLength
                || (route.destination.prefixLength == current.destination.prefixLength && route.metric < current.metric) {
                best = route
            }
        }
        if best == nil, destination.isMulticast, let first = addresses6.first {
            return Route6(destination: IPv6Network(address: destination, prefixLength: 128), interface: first.interface)
        }
        return best
    }

    /// The path MTU toward `destination`: what a Packet Too Big said (RFC 8201), else the
    /// outgoing link's MTU; never below 1,280.
    func pathMTU6(toward destination: IPv6Address) -> Int {
        max(IPv6Header.minimumMTU, pathMTUs6.pathMTU(to: destination, linkMTU: linkMTU6(toward: destination), now: now))
    }

    /// The MTU of the link the route to `destination` leaves by.
    func linkMTU6(toward destination: IPv6Address) -> Int {
        route6(toward: destination).map { adapters[$0.interface.index].mtu } ?? adapters.first?.mtu ?? 1500
    }

    // MARK: Output

    /// Sends a datagram this host originates (RFC 8200): picks the route and source, builds the
    /// IPv6 header (`nextHeader` is the upper layer: no extension headers), and hands it to
    /// neighbour discovery and the link. Local destinations go through the loopback queue.
    /// `segmentSize` must be 0 (no IPv6 super-segments yet). A datagram over the path MTU is
    /// fragmented at the source (RFC 8200 §4.5), with an identification per RFC 7739.
    func output6(nextHeader: IPProtocol, source: IPv6Address?, destination: IPv6Address, hopLimit: UInt8?,
                 trafficClass: UInt8, segmentSize: Int, payloadLength: Int,
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
        guard let route = route6(toward: destination) else {
            statistics.ip6OutNoRoutes += 1
            throw .networkUnreachable
        }
        let interface = route.interface
        guard let from = source ?? sourceAddress6(toward: destination, on: interface) else { throw .addressNotAvailable }
        let mtu = pathMTU6(toward: destination)
        let header = IPv6Header(source: from, destination: destination, nextHeader: nextHeader,
                                payloadLength: payloadLength, hopLimit: hopLimit ?? config.defaultTTL,
                                trafficClass: trafficClass)
        statistics.ip6OutRequests += 1
        let nextHop = route.nextHop(for: destination)
        if total > mtu {
            buildBuffer.withUnsafeMutableBytes { buffer in
                header.emit(into: buffer)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Header.length..<total]))
            }
            try fragment6(total: total, header: header, mtu: mtu, on: interface, nextHop: nextHop)
            return
        }
        if adapters[interface.index].medium == .ipOnly {
            adapters[interface.index].send(length: total) { datagram in
                header.emit(into: datagram)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[IPv6Header.length..<total]))
            }
            return
        }
        if let mac = linkAddress6(of: nextHop, on: interface) {
            let ethernet = EthernetHeader(destination: mac, source: adapters[interface.index].mac, etherType: .ipv6)
            let (_, fcs) = adapters[interface.index].send(length: EthernetHeader.length + total) { frame in
                ethernet.emit(into: frame)
                let datagram = UnsafeMutableRawBufferPointer(rebasing: frame[EthernetHeader.length...])
                header.emit(into: datagram)
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[IPv6Header.length..<total]))
            }
            emit(.frameQueued(interface: interface, header: ethernet, length: EthernetHeader.length + total, fcs: fcs))
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
        guard accepts6(header.destination, on: interface) || tentativeNDPTarget(header) else {
            if config.forwarding, let interface, !header.destination.isMulticast {
                forward6(packet, header: header, from: interface)
            } else {
                statistics.ip6InAddressErrors += 1
            }
            return
        }
        if IPv6Reassembler.fragmentHeaderOffset(in: packet) != nil {
            // Before the walk: a first fragment may cut the header chain short (RFC 7112).
            if reassemble6(packet, on: interface) { return }
        }
        walkAndDeliver6(packet, header: header, on: interface)
    }

    /// The rest of input for a whole datagram (or an atomic fragment): the extension headers'
    /// rules, then the upper layer.
    func walkAndDeliver6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, on interface: InterfaceID?) {
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
        deliver6(packet, header: header, chain: chain, from: interface)
    }

    /// True for an NDP message to a tentative address of ours: DAD must see it (RFC 4862 §5.4.3).
    func tentativeNDPTarget(_ header: IPv6Header) -> Bool {
        header.nextHeader == .icmpv6
            && addresses6.contains { $0.address == header.destination && $0.state == .tentative }
    }

    /// Hands a whole datagram (not a fragment) to its upper layer.
    func deliver6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, chain: IPv6ExtensionHeaders,
                  from interface: InterfaceID?) {
        statistics.ip6InDelivers += 1
        let payload = UnsafeRawBufferPointer(rebasing: packet[chain.upperLayerOffset..<header.totalLength])
        let multicast = header.destination.isMulticast
        switch chain.upperLayerProtocol {
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
                                              pointer: UInt32(chain.upperLayerNextHeaderOffset)),
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
                walkAndDeliver6(whole, header: header, on: interface)
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
    /// when the next link is smaller — IPv6 routers never fragment.
    func forward6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, from interface: InterfaceID) {
        guard !header.source.isUnspecified, !header.destination.isLinkLocal, !header.source.isLinkLocal else {
            statistics.ip6InAddressErrors += 1  // link-local scope never leaves its link (RFC 4291 §2.5.6)
            return
        }
        guard header.hopLimit > 1 else {
            sendICMPv6Error(.timeExceeded(code: 0), about: packet, arrivedOn: interface)
            return
        }
        guard let route = route6(toward: header.destination) else {
            statistics.ip6OutNoRoutes += 1
            sendICMPv6Error(.destinationUnreachable(code: ICMPv6UnreachableCode.noRoute.rawValue), about: packet,
                            arrivedOn: interface)
            return
        }
        let mtu = adapters[route.interface.index].mtu
        guard packet.count <= mtu else {
            statistics.ip6InTooBigErrors += 1
            sendICMPv6Error(.packetTooBig(mtu: UInt32(mtu)), about: packet, arrivedOn: interface)
            return
        }
        statistics.ip6Forwarded += 1
        forwardBuffer.withUnsafeMutableBytes { whole in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: whole[0..<packet.count])
            buffer.copyMemory(from: packet)
            _ = IPv6Header.decrementHopLimit(in: buffer)
            sendToLink6(UnsafeRawBufferPointer(buffer), on: route.interface, nextHop: route.nextHop(for: header.destination),
                        forwarded: true)
        }
    }
}
