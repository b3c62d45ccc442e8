public import NetStackWire

extension Host {
    /// Sends an ARP packet from `interface`.
    func sendARP(_ operation: ARPOperation, on interface: InterfaceID, senderIP: IPv4Address,
                 targetMAC: MACAddress, targetIP: IPv4Address, to destination: MACAddress) {
        let packet = ARPPacket(operation: operation, senderMAC: adapters[interface.index].mac, senderIP: senderIP,
                               targetMAC: targetMAC, targetIP: targetIP)
        withUnsafeTemporaryAllocation(byteCount: ARPPacket.length, alignment: 1) { buffer in
            packet.emit(into: buffer)
            sendFrame(on: interface, to: destination, type: .arp, payload: UnsafeRawBufferPointer(buffer))
        }
    }

    /// Broadcasts "who has `address`?" from `interface`.
    func sendARPRequest(for address: IPv4Address, on interface: InterfaceID, attempt: Int) {
        let sender = addresses.first { $0.interface == interface && $0.network.contains(address) }?.address
            ?? self.address(of: interface) ?? .any
        statistics.arpRequestsSent += 1
        emit(.arpRequestSent(target: address, interface: interface, attempt: attempt))
        sendARP(.request, on: interface, senderIP: sender, targetMAC: .zero, targetIP: address, to: .broadcast)
    }

    /// Handles an ARP packet (RFC 826's algorithm): update an existing entry for
    /// the sender ("merge"); if the target is one of our addresses, add the
    /// sender if new, and answer a request. Requests for others are ignored.
    func arpInput(_ bytes: UnsafeRawBufferPointer, on interface: InterfaceID) {
        let packet: ARPPacket
        do { packet = try ARPPacket.parse(bytes) } catch {
            statistics.arpMalformed += 1
            adapters[interface.index].counters.rxDropped += 1
            emit(.frameDropped(interface: interface, error: error))
            return
        }
        if addressProbe != nil { noteAddressClaim(packet, on: interface) }
        let forUs = addresses.contains { $0.interface == interface && $0.address == packet.targetIP }
        var waiting: [PendingPacket] = []
        var merged = false
        let onLink = addresses.contains { $0.interface == interface && $0.network.contains(packet.senderIP) }
        let evictionsBefore = arpCache.evictions, droppedBefore = arpCache.droppedByEviction
        defer {
            statistics.arpEvictions += arpCache.evictions - evictionsBefore
            statistics.outDiscards += arpCache.droppedByEviction - droppedBefore
        }
        if packet.senderIP != .any, !onLink, forUs || arpCache.entry(packet.senderIP, now: now) != nil {
            // A sender outside every network of this interface cannot be a neighbour
            // here: learning it would let anyone fill the cache (Linux's arp_filter spirit).
            statistics.arpOffLinkIgnored += 1
        }
        if packet.senderIP != .any, onLink, !packet.senderMAC.isMulticast, !isLocal(packet.senderIP) {
            (merged, waiting) = arpCache.refreshIfPresent(packet.senderIP, mac: packet.senderMAC,
                                                          interface: interface, now: now)
            if !merged && forUs {
                waiting = arpCache.learn(packet.senderIP, mac: packet.senderMAC, interface: interface, now: now)
                merged = true
            }
            if merged { emit(.arpLearned(packet.senderIP, packet.senderMAC, interface: interface)) }
        }
        for pending in waiting {
            pending.datagram.withUnsafeBytes { sendFrame(on: interface, to: packet.senderMAC, type: .ipv4, payload: $0) }
        }
        if forUs && packet.operation == .request && packet.senderIP != packet.targetIP {
            statistics.arpRepliesSent += 1
            emit(.arpReplySent(to: packet.senderIP, mac: packet.senderMAC, interface: interface))
            sendARP(.reply, on: interface, senderIP: packet.targetIP, targetMAC: packet.senderMAC,
                    targetIP: packet.senderIP, to: packet.senderMAC)
        }
    }

    /// The MAC address for `nextHop` if it is known now: broadcast for a
    /// broadcast address, or a live ARP cache entry (refreshed with a unicast
    /// request when close to expiry). Nil when ARP must ask first.
    func resolvedLinkAddress(of nextHop: IPv4Address, on interface: InterfaceID) -> MACAddress? {
        if isBroadcast(nextHop) { return .broadcast }
        guard let mac = arpCache.cachedLookup(nextHop, now: now) else { return nil }
        emit(.arpCacheHit(nextHop, mac))
        if arpCache.needsRefresh(nextHop, now: now) {
            statistics.arpRequestsSent += 1
            emit(.arpRequestSent(target: nextHop, interface: interface, attempt: 1))
            let sender = address(of: interface) ?? .any
            sendARP(.request, on: interface, senderIP: sender, targetMAC: .zero, targetIP: nextHop, to: mac)
        }
        return mac
    }

    /// Hands an IP datagram to the link toward `nextHop`: straight out when its
    /// MAC address is known, else queued while ARP asks.
    func sendToLink(_ datagram: UnsafeRawBufferPointer, on interface: InterfaceID, nextHop: IPv4Address,
                    forwarded: Bool) {
        if adapters[interface.index].medium == .ipOnly {
            return sendFrame(on: interface, to: .zero, type: .ipv4, payload: datagram)
        }
        if let mac = resolvedLinkAddress(of: nextHop, on: interface) {
            sendFrame(on: interface, to: mac, type: .ipv4, payload: datagram)
            return
        }
        emit(.arpCacheMiss(nextHop, interface: interface))
        let evictionsBefore = arpCache.evictions, droppedBefore = arpCache.droppedByEviction
        let (start, evicted) = arpCache.enqueue(PendingPacket(datagram: Array(datagram), forwarded: forwarded),
                                                for: nextHop, interface: interface, now: now)
        statistics.outDiscards += evicted.count + arpCache.droppedByEviction - droppedBefore
        statistics.arpEvictions += arpCache.evictions - evictionsBefore
        if start { sendARPRequest(for: nextHop, on: interface, attempt: 1) }
    }

    /// ARP gave up on a packet's next hop: a forwarded packet earns its source an
    /// ICMP host unreachable (RFC 1812 §4.3.3.1); a local sender gets the error
    /// as if that ICMP message had come from this host (as Linux reports it).
    func nextHopUnreachable(_ packet: PendingPacket) {
        packet.datagram.withUnsafeBytes { bytes in
            guard let header = try? IPv4Header.parseQuoted(bytes) else { return }
            emit(.ipDropped(.nextHopUnresolved(header.destination), header: header))
            if packet.forwarded {
                sendICMPError(.destinationUnreachable(code: UnreachableCode.host.rawValue, nextHopMTU: 0),
                              about: bytes, arrivedOn: nil)
            } else {
                deliverICMPError(.destinationUnreachable(code: UnreachableCode.host.rawValue, nextHopMTU: 0),
                                 quote: bytes, from: header.source, local: true)
            }
        }
    }

    /// Adds a permanent ARP entry (`arp -s`).
    public func addStaticARP(_ address: IPv4Address, mac: MACAddress, interface: InterfaceID) {
        arpCache.addPermanent(address, mac: mac, interface: interface)
    }
}
