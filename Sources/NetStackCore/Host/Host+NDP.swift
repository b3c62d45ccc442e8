import NetStackWire

// Neighbour discovery (RFC 4861): solicitations and advertisements, the link addresses of
// next hops, and the packets that wait for them.

extension Host {
    /// Handles an NDP message (validated by ``NDPPacket/parse(_:source:destination:hopLimit:)``:
    /// checksum, hop limit 255 — so it came from this link —, code, options).
    func ndpInput(_ message: UnsafeRawBufferPointer, header: IPv6Header, on interface: InterfaceID?) {
        guard let interface, adapters[interface.index].medium == .ethernet else { return }
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
            if let index = addresses6.firstIndex(where: { $0.address == target && $0.interface == interface }) {
                // Someone else claims an address of ours (RFC 4862 §5.4.4).
                if addresses6[index].state == .tentative { duplicateAddressDetected(at: index) }
                return
            }
            learnNeighbor6(target, mac: packet.options.targetLinkLayerAddress, on: interface, router: router,
                           solicited: solicited, override: override)
        case .routerSolicitation, .routerAdvertisement, .redirect:
            if let mac = packet.options.sourceLinkLayerAddress, !header.source.isUnspecified {
                learnNeighbor6(header.source, mac: mac, on: interface, router: nil, solicited: false, override: false)
            }
        }
    }

    /// A neighbour solicitation: for an address of ours, answer with an advertisement (RFC 4861
    /// §7.2.4); from `::` it is another node's DAD — for our tentative address, a duplicate.
    private func neighborSolicitationInput(target: IPv6Address, packet: NDPPacket, header: IPv6Header,
                                           on interface: InterfaceID) {
        guard let index = addresses6.firstIndex(where: { $0.address == target && $0.interface == interface }) else { return }
        if addresses6[index].state == .tentative {
            if header.source.isUnspecified { duplicateAddressDetected(at: index) }
            return  // a tentative address is not answered for (RFC 4862 §5.4.3)
        }
        guard addresses6[index].isAssigned else { return }
        let mac = adapters[interface.index].mac
        if header.source.isUnspecified {
            // RFC 4861 §7.2.4: a DAD probe for an address we hold is answered to all nodes, unsolicited.
            sendNeighborAdvertisement(target: target, to: .allNodes, mac: IPv6Address.allNodes.multicastMAC,
                                      solicited: false, on: interface)
            return
        }
        if let sourceMAC = packet.options.sourceLinkLayerAddress {
            learnNeighbor6(header.source, mac: sourceMAC, on: interface, router: nil, solicited: false, override: true,
                           fromSolicitation: true)
        }
        guard let destinationMAC = packet.options.sourceLinkLayerAddress ?? neighbors6[header.source] else { return }
        _ = mac
        sendNeighborAdvertisement(target: target, to: header.source, mac: destinationMAC, solicited: true, on: interface)
    }

    /// DAD failed for the address at `index` (RFC 4862 §5.4.5): it is never used.
    func duplicateAddressDetected(at index: Int) {
        statistics.ndpDuplicateAddresses += 1
        addresses6[index].state = .duplicate
    }

    /// Records `address`'s link address from an NDP message.
    func learnNeighbor6(_ address: IPv6Address, mac: MACAddress?, on interface: InterfaceID, router: Bool?,
                        solicited: Bool, override: Bool, fromSolicitation: Bool = false) {
        guard let mac, !mac.isMulticast else { return }
        if neighbors6.count >= config.arp.maxEntries && neighbors6[address] == nil { neighbors6.removeAll(keepingCapacity: true) }
        neighbors6[address] = mac
    }

    /// The link address packets to `nextHop` go to: a multicast address maps to 33:33 + its
    /// low 32 bits (RFC 2464 §7); a unicast one comes from the neighbour cache. nil when unknown.
    func linkAddress6(of nextHop: IPv6Address, on interface: InterfaceID) -> MACAddress? {
        if nextHop.isMulticast { return nextHop.multicastMAC }
        return neighbors6[nextHop]
    }

    /// A datagram whose next hop's link address is unknown: solicit it (multicast NS to its
    /// solicited-node group). The datagram is dropped and counted; the sender's retransmission
    /// finds the address learnt.
    func queueForNeighbor(_ datagram: UnsafeRawBufferPointer, nextHop: IPv6Address, on interface: InterfaceID,
                          forwarded: Bool) {
        statistics.ip6OutDiscards += 1
        sendNeighborSolicitation(for: nextHop, on: interface, unicastTo: nil)
    }

    // MARK: Sending

    /// Sends a neighbour solicitation for `target`: multicast to its solicited-node group, or
    /// unicast to `unicastTo` (a NUD probe); from `::` without options for DAD (`dad`).
    func sendNeighborSolicitation(for target: IPv6Address, on interface: InterfaceID, unicastTo: MACAddress?,
                                  dad: Bool = false) {
        let source: IPv6Address = dad ? .unspecified
            : (sourceAddress6(toward: target, on: interface) ?? .unspecified)
        let options = source.isUnspecified ? NDPOptions() : NDPOptions(sourceLinkLayerAddress: adapters[interface.index].mac)
        let destination = unicastTo == nil ? target.solicitedNodeMulticast : target
        statistics.ndpNeighborSolicitsSent += 1
        sendNDP(NDPPacket(.neighborSolicitation(target: target), options: options), from: source, to: destination,
                mac: unicastTo ?? destination.multicastMAC, on: interface)
    }

    /// Sends a neighbour advertisement for `target` (ours) with our link address, override set
    /// (RFC 4861 §7.2.4: not an anycast address), router flag when forwarding.
    func sendNeighborAdvertisement(target: IPv6Address, to destination: IPv6Address, mac: MACAddress, solicited: Bool,
                                   on interface: InterfaceID) {
        statistics.ndpNeighborAdvertsSent += 1
        sendNDP(NDPPacket(.neighborAdvertisement(target: target, router: config.forwarding, solicited: solicited,
                                                 override: true),
                          options: NDPOptions(targetLinkLayerAddress: adapters[interface.index].mac)),
                from: target, to: destination, mac: mac, on: interface)
    }

    /// Builds an NDP message with hop limit 255 straight into a frame for `mac`.
    func sendNDP(_ packet: NDPPacket, from source: IPv6Address, to destination: IPv6Address, mac: MACAddress,
                 on interface: InterfaceID) {
        let length = packet.encodedLength
        let header = IPv6Header(source: source, destination: destination, nextHeader: .icmpv6, payloadLength: length,
                                hopLimit: NDPPacket.hopLimit)
        let ethernet = EthernetHeader(destination: mac, source: adapters[interface.index].mac, etherType: .ipv6)
        let total = EthernetHeader.length + IPv6Header.length + length
        let (_, fcs) = adapters[interface.index].send(length: total) { frame in
            ethernet.emit(into: frame)
            header.emit(into: UnsafeMutableRawBufferPointer(rebasing: frame[EthernetHeader.length...]))
            packet.emit(into: UnsafeMutableRawBufferPointer(rebasing: frame[(EthernetHeader.length + IPv6Header.length)..<total]),
                        source: source, destination: destination)
        }
        statistics.icmp6OutMessages += 1
        emit(.frameQueued(interface: interface, header: ethernet, length: total, fcs: fcs))
    }
}
