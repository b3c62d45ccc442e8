import NetStackWire

// Neighbour discovery (RFC 4861) and address autoconfiguration (RFC 4862) on the host:
// solicitations and advertisements, the neighbour cache and the packets waiting in it,
// duplicate address detection, router discovery and SLAAC. The state machines live in
// NeighborCache, IPv6AddressList and IPv6RoutingTable; this file moves packets for them.

extension Host {
    /// Handles an NDP message (validated by ``NDPPacket/parse(_:source:destination:hopLimit:)``:
    /// checksum, hop limit 255 — so it came from this link —, code, options).
    func ndpInput(_ message: UnsafeRawBufferPointer, header: IPv6Header, on interface: InterfaceID?) {
        guard let interface, adapters[interface.index].medium == .ethernet,
              interface.index < interfaces6.count, interfaces6[interface.index] != nil else { return }
        let packet: NDPPacket
        do {
            packet = try NDPPacket.parse(message, source: header.source, destination: header.destination,
                                         hopLimit: header.hopLimit)
        } catch {
            statistics.ndpInvalid += 1
            emit(.ipDropped(.malformed(error), header: nil))
            return
        }
        statistics.icmp6InMessages += 1
        switch packet.message {
        case let .neighborSolicitation(target):
            neighborSolicitationInput(target: target, packet: packet, header: header, on: interface)
        case let .neighborAdvertisement(target, router, solicited, override):
            if let state = addressState6(target, on: interface) {
                // Someone else claims an address of ours (RFC 4862 §5.4.4).
                if state == .tentative { duplicateDetected6(target, on: interface) }
                return
            }
            let key = NeighborKey(target, on: interface)
            let outcome = neighborCache6.advertisement(for: key, targetLinkAddress: packet.options.targetLinkLayerAddress,
                                                       router: router, solicited: solicited, override: override, now: now)
            if outcome.stoppedBeingRouter { _ = routes6.removeDefaultRoutes(via: target, interface: interface) }
            if let mac = packet.options.targetLinkLayerAddress, neighborCache6.entry(key)?.linkAddress == mac {
                emit(.neighborLearned(target, mac, interface: interface))
            }
            sendWaiting6(outcome.waiting, to: packet.options.targetLinkLayerAddress ?? neighborCache6.entry(key)?.linkAddress,
                         on: interface)
        case let .routerAdvertisement(advertisement):
            routerAdvertisementInput(advertisement, options: packet.options, header: header, on: interface)
        case .routerSolicitation:
            learnFromSourceOption(packet.options, source: header.source, isRouter: nil, on: interface)
        case let .redirect(target, destination):
            redirectInput(target: target, destination: destination, options: packet.options, header: header,
                          on: interface)
        }
    }

    /// A redirect (RFC 4861 §8.3), whose wire checks (§8.1: link-local source, hop limit 255,
    /// code 0, checksum, target link-local or the destination itself, destination not multicast)
    /// `NDPPacket.parse` made. Followed only when it comes from the current first-hop router for
    /// the destination (the route's gateway, or an earlier redirect's target), by the interface
    /// the route leaves by, and this host does not forward: later packets to the destination go
    /// to the target; its Target Link-Layer Address option fills the target's neighbour entry
    /// (a new entry STALE), and a target other than the destination is marked a router.
    private func redirectInput(target: IPv6Address, destination: IPv6Address, options: NDPOptions,
                               header: IPv6Header, on interface: InterfaceID) {
        statistics.icmp6InRedirects += 1
        guard !config.forwarding, config.ipv6.acceptRedirects, !isLocal6(destination), !isLocal6(target),
              let route = tableRoute6(toward: destination, countingUse: false), let router = route.gateway,
              route.interface == interface,
              header.source == redirects6.target(for: destination, via: router, on: interface, now: now) ?? router
        else {
            statistics.ndpRedirectsIgnored += 1
            return
        }
        redirects6.add(destination: destination, target: target, interface: interface, router: router, now: now)
        guard let mac = options.targetLinkLayerAddress, !mac.isMulticast else { return }
        let waiting = neighborCache6.learn(mac, for: NeighborKey(target, on: interface),
                                           isRouter: target == destination ? nil : true, now: now)
        sendWaiting6(waiting, to: mac, on: interface)
    }

    /// A neighbour solicitation: for an address of ours, answer with an advertisement (RFC 4861
    /// §7.2.4); from `::` it is another node's DAD — for our tentative address, a duplicate.
    private func neighborSolicitationInput(target: IPv6Address, packet: NDPPacket, header: IPv6Header,
                                           on interface: InterfaceID) {
        guard let state = addressState6(target, on: interface) else { return }
        if state == .tentative {
            // Our own DAD probe looped back carries our nonce (RFC 7527); anyone else's means a duplicate.
            if header.source.isUnspecified && packet.options.nonce != dadNonce6(target) {
                duplicateDetected6(target, on: interface)
            }
            return  // a tentative address is not answered for (RFC 4862 §5.4.3)
        }
        guard state == .preferred || state == .deprecated else { return }
        if header.source.isUnspecified {
            // RFC 4861 §7.2.4: a DAD probe for an address we hold is answered to all nodes, unsolicited.
            sendNeighborAdvertisement(target: target, to: .allNodes, mac: IPv6Address.allNodes.multicastMAC,
                                      solicited: false, on: interface)
            return
        }
        learnFromSourceOption(packet.options, source: header.source, isRouter: nil, on: interface)
        let mac = packet.options.sourceLinkLayerAddress
            ?? neighborCache6.entry(NeighborKey(header.source, on: interface))?.linkAddress
        guard let mac else { return }
        sendNeighborAdvertisement(target: target, to: header.source, mac: mac, solicited: true, on: interface)
    }

    /// Records a Source Link-Layer Address option's address (RFC 4861 §7.2.3, §6.2.6, §6.3.4) and
    /// sends what waited for it.
    private func learnFromSourceOption(_ options: NDPOptions, source: IPv6Address, isRouter: Bool?,
                                       on interface: InterfaceID) {
        guard let mac = options.sourceLinkLayerAddress, !source.isUnspecified, !mac.isMulticast else { return }
        let waiting = neighborCache6.learn(mac, for: NeighborKey(source, on: interface), isRouter: isRouter, now: now)
        emit(.neighborLearned(source, mac, interface: interface))
        sendWaiting6(waiting, to: mac, on: interface)
    }

    /// A router advertisement (RFC 4861 §6.3.4): the router's link address, its default route
    /// (lifetime 0 withdraws it), on-link prefixes, reachable time and retransmission timer, and
    /// — with autoconfiguration on — addresses from prefixes with the A flag (RFC 4862 §5.5.3);
    /// RDNSS options' servers for the resolver (RFC 8106). A router ignores advertisements (it is
    /// configured, not told).
    private func routerAdvertisementInput(_ advertisement: NDPRouterAdvertisement, options: NDPOptions,
                                          header: IPv6Header, on interface: InterfaceID) {
        guard !config.forwarding else { return }
        learnFromSourceOption(options, source: header.source, isRouter: true, on: interface)
        neighborCache6.applyRouterAdvertisement(reachableTime: advertisement.reachableTime,
                                                retransTimer: advertisement.retransmitTimer, random: nextRandom6())
        routes6.applyRouterLifetime(advertisement.routerLifetime, from: header.source, interface: interface, now: now)
        if let mtu = options.mtu {
            // RFC 4861 §6.3.4: an MTU below 1,280 or above the device's own is ignored.
            let value = Int(mtu)
            if value >= IPv6Header.minimumMTU && value <= adapters[interface.index].mtu {
                interfaces6[interface.index]?.advertisedMTU = value
            }
        }
        for prefix in options.prefixes {
            routes6.applyPrefixInformation(prefix, interface: interface, now: now)
            guard interfaces6[interface.index]?.autoconfigure == true else { continue }
            _ = interfaces6[interface.index]?.addresses.applyPrefixInformation(prefix, now: now, random: nextRandom6())
        }
        if !options.recursiveDNSServers.isEmpty {
            for option in options.recursiveDNSServers { _ = rdnss6.apply(option, interface: interface, now: now) }
            // Even when the list is the same: the resolver's may have been emptied since (a lease ended).
            applyRecursiveDNSServers6()
        }
        if interfaces6[interface.index]?.autoconfigure == true {
            interfaces6[interface.index]?.routerSolicitationsLeft = 0  // answered: no more solicitations
            interfaces6[interface.index]?.nextRouterSolicitation = nil
        }
        runAddressTimers6()
    }

    /// Gives the resolver the servers router advertisements named (RFC 8106 §5.3.1), unless its
    /// nameservers were set otherwise (by hand, `--dns`, or a DHCP lease): only a list that is
    /// empty or still the one this host put there follows the advertisements.
    func applyRecursiveDNSServers6() {
        let current = resolverConfig.nameservers
        guard current.isEmpty || current == rdnssNameservers6 else { return }
        let learned = rdnss6.addresses.map(IPAddress.v6)
        rdnssNameservers6 = learned
        guard learned != current else { return }
        var resolver = resolverConfig
        resolver.nameservers = learned
        resolverConfig = resolver
    }

    /// The recursive DNS servers router advertisements named, first advertised first, with their
    /// expiry (RFC 8106; at most three, as the resolver asks no more). Allocates.
    public var recursiveDNSServers6: [RecursiveDNSServer] { rdnss6.servers }

    /// DAD failed for `address` (RFC 4862 §5.4.5): it is never used; a SLAAC or link-local one is
    /// replaced by one with the next RFC 7217 DAD counter.
    func duplicateDetected6(_ address: IPv6Address, on interface: InterfaceID) {
        statistics.ndpDuplicateAddresses += 1
        _ = interfaces6[interface.index]?.addresses.duplicateDetected(address, now: now, random: nextRandom6())
        runAddressTimers6()
    }

    /// The nonce this host's DAD probes for `address` carry (RFC 7527): keyed, so a looped-back
    /// probe is recognised and no one else can guess it.
    func dadNonce6(_ address: IPv6Address) -> UInt64 {
        SipHash.hash(key: secrets.key(.ipv6Timers), words: address.high, address.low) & 0xFFFF_FFFF_FFFF
    }

    // MARK: The neighbour cache on the sending path

    /// The link address packets to `nextHop` go to right now: a multicast address maps to 33:33 +
    /// its low 32 bits (RFC 2464 §7); a unicast one comes from the neighbour cache (a STALE entry
    /// starts NUD's DELAY). nil when unknown. No allocation.
    func linkAddress6(of nextHop: IPv6Address, on interface: InterfaceID) -> MACAddress? {
        if nextHop.isMulticast { return nextHop.multicastMAC }
        guard let mac = neighborCache6.linkAddressForSending(to: NeighborKey(nextHop, on: interface), now: now) else {
            return nil
        }
        emit(.neighborCacheHit(nextHop, mac))
        return mac
    }

    /// TCP's forward progress toward `peer` (an acknowledgement of new data): proof that the next
    /// hop is reachable (RFC 4861 §7.3.1), so its neighbour entry turns REACHABLE and NUD sends no
    /// probe while a transfer runs. Called at most once per half the shorter of ReachableTime and
    /// DELAY_FIRST_PROBE_TIME per connection (often enough that an entry never reaches PROBE while
    /// acknowledgements come, rarely enough to cost nothing per segment). O(routes) + O(log n).
    func confirmReachability6(toward peer: IPv6Address, for connection: TCPConnection) {
        let config = neighborCache6.config
        connection.nextReachabilityHint = now + min(neighborCache6.reachableTime, config.delayFirstProbeTime) / 2
        guard let route = route6(toward: peer), route.interface.index < adapters.count,
              adapters[route.interface.index].medium == .ethernet else { return }
        neighborCache6.confirmReachability(NeighborKey(route.nextHop(for: peer), on: route.interface), now: now)
    }

    /// A datagram whose next hop's link address is unknown: it waits in the neighbour cache
    /// (bounded per address and in total), and the first wait sends a multicast solicitation.
    func queueForNeighbor(_ datagram: UnsafeRawBufferPointer, nextHop: IPv6Address, on interface: InterfaceID,
                          forwarded: Bool) {
        emit(.neighborCacheMiss(nextHop, interface: interface))
        let key = NeighborKey(nextHop, on: interface)
        let (solicitNow, dropped) = neighborCache6.enqueue(Array(datagram), forwarded: forwarded, for: key, now: now)
        statistics.ip6OutDiscards += dropped.count
        if solicitNow { sendNeighborSolicitation(for: nextHop, on: interface, unicastTo: nil) }
    }

    /// Sends the packets that waited for a neighbour now known at `mac`.
    private func sendWaiting6(_ waiting: [PendingPacket], to mac: MACAddress?, on interface: InterfaceID) {
        guard let mac, !waiting.isEmpty else { return }
        for packet in waiting {
            packet.datagram.withUnsafeBytes { sendFrame(on: interface, to: mac, type: .ipv6, payload: $0) }
        }
    }

    /// Neighbour discovery gave up on a packet's next hop: a forwarded packet earns its source an
    /// ICMPv6 address unreachable (RFC 4443 §3.1 code 3); a local sender gets the error as if it
    /// came from this host.
    func nextHopUnreachable6(_ packet: PendingPacket) {
        packet.datagram.withUnsafeBytes { bytes in
            guard let header = try? IPv6Header.parseQuoted(bytes) else { return }
            let message = ICMPv6Message.destinationUnreachable(code: ICMPv6UnreachableCode.address.rawValue)
            if packet.forwarded {
                sendICMPv6Error(message, about: bytes, arrivedOn: nil)
            } else {
                deliverICMPv6Error(message, quote: bytes, from: header.source, local: true)
            }
        }
    }

    // MARK: Timers

    /// Runs what is due in neighbour discovery: the cache's solicitations, probes and failures,
    /// DAD steps and address lifetimes, router solicitations, expired learnt routes and DNS servers.
    func runIPv6Timers() {
        if let deadline = neighborCache6.nextDeadline(), deadline <= now {
            for action in neighborCache6.due(now: now) {
                switch action {
                case let .multicastSolicitation(key, _):
                    sendNeighborSolicitation(for: key.address, on: key.interface, unicastTo: nil)
                case let .unicastProbe(key, mac, _):
                    sendNeighborSolicitation(for: key.address, on: key.interface, unicastTo: mac)
                case let .unreachable(_, waiting):
                    statistics.ip6OutDiscards += waiting.count
                    for packet in waiting { nextHopUnreachable6(packet) }
                case .expired:
                    break
                }
            }
        }
        runAddressTimers6()
        if let expiry = routes6.nextExpiry, expiry <= now { _ = routes6.removeExpired(now: now) }
        if let expiry = rdnss6.nextExpiry, expiry <= now, rdnss6.removeExpired(now: now) { applyRecursiveDNSServers6() }
    }

    /// DAD solicitations and address state changes that are due, and router solicitations.
    func runAddressTimers6() {
        for index in interfaces6.indices {
            guard var state = interfaces6[index] else { continue }
            let interface = InterfaceID(index)
            var events: [IPv6AddressEvent] = []
            if let deadline = state.addresses.nextDeadline, deadline <= now { events = state.addresses.due(now: now) }
            var solicitRouters = false
            if let next = state.nextRouterSolicitation, next <= now, state.routerSolicitationsLeft > 0 {
                state.routerSolicitationsLeft -= 1
                state.nextRouterSolicitation = state.routerSolicitationsLeft > 0 ? now + config.ipv6.routerSolicitationInterval : nil
                solicitRouters = true
            }
            interfaces6[index] = state
            for event in events {
                switch event {
                case let .sendDADSolicitation(address):
                    // Join the solicited-node group before probing it (RFC 4862 §5.4.2).
                    sendMLDReport([address.solicitedNodeMulticast], type: .changeToExclude, on: interface)
                    sendNeighborSolicitation(for: address, on: interface, unicastTo: nil, dad: true)
                case let .removed(address):
                    // An address whose valid lifetime ended: its on-link route stays with the prefix's own lifetime.
                    _ = address
                case .becamePreferred, .becameDeprecated, .duplicate, .added:
                    break
                }
            }
            if solicitRouters { sendRouterSolicitation(on: interface) }
        }
    }

    /// The earliest IPv6 timer: neighbour cache, addresses, router solicitations, learnt routes,
    /// recursive DNS servers. No allocation.
    func nextIPv6Deadline() -> Instant? {
        var next = earliest(earliest(neighborCache6.nextDeadline(), routes6.nextExpiry), rdnss6.nextExpiry)
        for state in interfaces6 {
            guard let state else { continue }
            next = earliest(next, state.addresses.nextDeadline)
            if state.routerSolicitationsLeft > 0 { next = earliest(next, state.nextRouterSolicitation) }
        }
        return earliest(next, earliest(reassembler6.nextDeadline(), pathMTUs6.nextDeadline()))
    }

    // MARK: Sending

    /// Sends a neighbour solicitation for `target`: multicast to its solicited-node group, or
    /// unicast to `unicastTo` (a NUD probe); for DAD (`dad`) from `::` without a source link-layer
    /// option, with a nonce (RFC 7527).
    func sendNeighborSolicitation(for target: IPv6Address, on interface: InterfaceID, unicastTo: MACAddress?,
                                  dad: Bool = false) {
        let source: IPv6Address = dad ? .unspecified
            : (sourceAddress6(toward: target, on: interface) ?? .unspecified)
        let mac = adapters[interface.index].mac
        let options = dad ? NDPOptions(nonce: dadNonce6(target))
            : source.isUnspecified ? NDPOptions() : NDPOptions(sourceLinkLayerAddress: mac)
        let destination = unicastTo == nil ? target.solicitedNodeMulticast : target
        statistics.ndpNeighborSolicitsSent += 1
        emit(.neighborSolicitationSent(target: target, destination: destination, interface: interface,
                                       duplicateAddressDetection: dad))
        sendNDP(NDPPacket(.neighborSolicitation(target: target), options: options), from: source, to: destination,
                mac: unicastTo ?? destination.multicastMAC, on: interface)
    }

    /// Sends a neighbour advertisement for `target` (ours) with our link address, override set
    /// (RFC 4861 §7.2.4: not an anycast address), router flag when forwarding.
    func sendNeighborAdvertisement(target: IPv6Address, to destination: IPv6Address, mac: MACAddress, solicited: Bool,
                                   on interface: InterfaceID) {
        statistics.ndpNeighborAdvertsSent += 1
        emit(.neighborAdvertisementSent(target: target, destination: destination, interface: interface,
                                        solicited: solicited))
        sendNDP(NDPPacket(.neighborAdvertisement(target: target, router: config.forwarding, solicited: solicited,
                                                 override: true),
                          options: NDPOptions(targetLinkLayerAddress: adapters[interface.index].mac)),
                from: target, to: destination, mac: mac, on: interface)
    }

    /// Sends a router solicitation to all routers (RFC 4861 §6.3.7): from the link-local address
    /// with our link address once it passed DAD, else from `::` without it.
    func sendRouterSolicitation(on interface: InterfaceID) {
        let source = sourceAddress6(toward: .allRouters, on: interface) ?? .unspecified
        let options = source.isUnspecified ? NDPOptions() : NDPOptions(sourceLinkLayerAddress: adapters[interface.index].mac)
        sendNDP(NDPPacket(.routerSolicitation, options: options), from: source, to: .allRouters,
                mac: IPv6Address.allRouters.multicastMAC, on: interface)
    }

    /// Builds an NDP message with hop limit 255 straight into a frame for `mac`.
    func sendNDP(_ packet: NDPPacket, from source: IPv6Address, to destination: IPv6Address, mac: MACAddress,
                 on interface: InterfaceID) {
        sendLinkScope6(from: source, to: destination, mac: mac, nextHeader: .icmpv6, hopLimit: NDPPacket.hopLimit,
                       payloadLength: packet.encodedLength, on: interface) { body in
            packet.emit(into: body, source: source, destination: destination)
        }
    }

    /// Sends one ICMPv6 message of the link's own business (NDP, MLD) straight into an Ethernet
    /// frame for `mac`: no route, no neighbour lookup, no fragmentation — the caller knows the
    /// link address and the message fits. `writeBody` fills the `payloadLength` bytes after the
    /// IPv6 header. Counted as an ICMPv6 message sent. Nothing on a link without link-layer
    /// addresses (a TUN has no NDP or MLD). O(length), no allocation.
    func sendLinkScope6(from source: IPv6Address, to destination: IPv6Address, mac: MACAddress, nextHeader: IPProtocol,
                        hopLimit: UInt8, payloadLength: Int, on interface: InterfaceID,
                        writeBody: (UnsafeMutableRawBufferPointer) -> Void) {
        guard adapters[interface.index].medium == .ethernet else { return }
        let header = IPv6Header(source: source, destination: destination, nextHeader: nextHeader,
                                payloadLength: payloadLength, hopLimit: hopLimit)
        let ethernet = EthernetHeader(destination: mac, source: adapters[interface.index].mac, etherType: .ipv6)
        let start = EthernetHeader.length + IPv6Header.length
        let total = start + payloadLength
        let (_, fcs) = adapters[interface.index].send(length: total) { frame in
            ethernet.emit(into: frame)
            header.emit(into: UnsafeMutableRawBufferPointer(rebasing: frame[EthernetHeader.length...]))
            writeBody(UnsafeMutableRawBufferPointer(rebasing: frame[start..<total]))
        }
        statistics.icmp6OutMessages += 1
        emit(.frameQueued(interface: interface, header: ethernet, length: total, fcs: fcs))
    }
}
