import NetStackWire

extension Host {
    /// Sends a datagram this host originates (RFC 1122 §3.3): looks up the
    /// route (interface and gateway), picks the source address, fragments when
    /// the datagram exceeds the interface MTU, and hands it to ARP and the link.
    /// `writePayload` fills the `payloadLength` bytes after the IP header.
    /// `identificationSlot`: the sender's cached ``IPIdentification/Slot`` for this source,
    /// destination and protocol (a TCP connection's), sparing a hash per datagram.
    /// `segmentSize` > 0: a TCP super-segment for an adapter with segmentation offload, which
    /// may exceed the MTU and is never fragmented; it goes out only when the next hop's
    /// link address is known (else it is dropped, and TCP's retransmission sends it again).
    func output(protocol proto: IPProtocol, source: IPv4Address? = nil, destination: IPv4Address,
                ttl: UInt8? = nil, typeOfService: UInt8 = 0, dontFragment: Bool = false,
                identificationSlot: IPIdentification.Slot? = nil, segmentSize: Int = 0, transportHeaderLength: Int = 0,
                payloadLength: Int, writePayload: (UnsafeMutableRawBufferPointer) -> Void) throws(NetError) {
        guard payloadLength + IPv4Header.minimumLength <= 65_535 else { throw .messageTooLong }
        let local = isLocal(destination)
        var route: Route?
        if !local {
            route = outboundRoute(toward: destination, countingUse: true)
            guard route != nil else {
                statistics.outNoRoutes += 1
                emit(.noRoute(destination: destination))
                throw .networkUnreachable
            }
        }
        let from = source ?? sourceAddress(toward: destination)
        let total = IPv4Header.minimumLength + payloadLength
        if let route, total > adapters[route.interface.index].mtu, dontFragment { throw .messageTooLong }
        // DF set and (having passed the check above) not fragmented: atomic (RFC 6864).
        // A super-segment's cuts take consecutive IDs (at most one more than needed: the TCP header counts here).
        let ids = segmentSize > 0 ? (payloadLength + segmentSize - 1) / segmentSize : 1
        let id = identification.next(source: from, destination: destination, protocol: proto, atomic: dontFragment,
                                     slot: source == nil ? nil : identificationSlot, count: ids)
        var header = IPv4Header(source: from, destination: destination, protocol: proto, payloadLength: payloadLength,
                                timeToLive: ttl ?? config.defaultTTL, identification: id, dontFragment: dontFragment)
        header.typeOfService = typeOfService
        statistics.outRequests += 1

        guard let route else {
            buildBuffer.withUnsafeMutableBytes { buffer in
                writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength..<total]))
                header.emit(into: buffer)
            }
            let queued = buildBuffer.withUnsafeBytes { loopback.append(UnsafeRawBufferPointer(rebasing: $0[0..<total])) }
            if !queued {
                statistics.loopbackDropped += 1
                statistics.outDiscards += 1
            }
            return
        }
        let nextHop = route.nextHop(for: destination)
        emit(.routeLookup(destination: destination, route: route, nextHop: nextHop))
        emit(.ipSent(header, interface: route.interface))
        let interface = route.interface
        // A super-segment fits any adapter with offload: the device cuts it to the MTU.
        let fits = total <= adapters[interface.index].mtu
            || (segmentSize > 0 && adapters[interface.index].segmentationOffload)
        let mark = UInt32(truncatingIfNeeded: segmentSize)
        if fits, adapters[interface.index].medium == .ipOnly {
            // A point-to-point IP link: the datagram is the whole frame.
            adapters[interface.index].send(length: total, mark: mark,
                                           headersLength: header.headerLength + transportHeaderLength) { datagram in
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[header.headerLength..<total]))
                header.emit(into: datagram)
            }
            return
        }
        if fits, let mac = resolvedLinkAddress(of: nextHop, on: interface) {
            // The common case: build the datagram straight into the adapter's transmit slot.
            let ethernet = EthernetHeader(destination: mac, source: adapters[interface.index].mac, etherType: .ipv4)
            let headers = EthernetHeader.length + header.headerLength + transportHeaderLength
            let (_, fcs) = adapters[interface.index].send(length: EthernetHeader.length + total, mark: mark, headersLength: headers) { frame in
                ethernet.emit(into: frame)
                let datagram = UnsafeMutableRawBufferPointer(rebasing: frame[EthernetHeader.length...])
                writePayload(UnsafeMutableRawBufferPointer(rebasing: datagram[header.headerLength..<total]))
                header.emit(into: datagram)
            }
            emit(.frameQueued(interface: interface, header: ethernet, length: EthernetHeader.length + total, fcs: fcs))
            return
        }
        if segmentSize > 0 {
            // Its checksum is partial: neither ARP's queue nor fragmentation may carry it.
            statistics.outDiscards += 1
            return
        }
        buildBuffer.withUnsafeMutableBytes { buffer in
            writePayload(UnsafeMutableRawBufferPointer(rebasing: buffer[header.headerLength..<total]))
            header.emit(into: buffer)
        }
        buildBuffer.withUnsafeBytes { buffer in
            let datagram = UnsafeRawBufferPointer(rebasing: buffer[0..<total])
            if total > adapters[interface.index].mtu {
                fragment(datagram, header: header, on: interface, nextHop: nextHop, forwarded: false)
            } else {
                sendToLink(datagram, on: interface, nextHop: nextHop, forwarded: false)
            }
        }
    }

    /// The route a datagram this host originates takes: the routing table's
    /// choice, except that 255.255.255.255 never leaves the link — it goes out of
    /// the first interface, to everyone on it. `countingUse` bumps the route's Use column.
    @inline(__always)  // with the lookup inlined too, the route is not copied out of a call
    func outboundRoute(toward destination: IPv4Address, countingUse: Bool) -> Route? {
        if destination.isLimitedBroadcast {
            if let first = addresses.first { return Route(destination: first.network, interface: first.interface) }
            // No address yet: a DHCP client broadcasts from 0.0.0.0 (RFC 2131 §4.1).
            return adapters.isEmpty ? nil : Route(destination: IPv4Network(address: .any, prefixLength: 0), interface: InterfaceID(0))
        }
        return countingUse ? routes.lookup(destination) : routes.peek(destination)
    }

    /// Splits a datagram into fragments that fit the interface MTU (RFC 791 §3.2):
    /// data in multiples of 8 bytes; only options with the copy bit repeat after the first.
    func fragment(_ datagram: UnsafeRawBufferPointer, header: IPv4Header, on interface: InterfaceID,
                  nextHop: IPv4Address, forwarded: Bool) {
        let mtu = adapters[interface.index].mtu
        let payload = UnsafeRawBufferPointer(rebasing: datagram[header.headerLength..<header.totalLength])
        var offset = 0, count = 0
        var piece = header
        let laterOptions = header.options.isEmpty ? [] : Self.copiedOptions(header.options)
        while offset < payload.count {
            if offset > 0 { piece.options = laterOptions }
            let room = (mtu - piece.headerLength) & ~7
            guard room > 0 else { statistics.fragmentsFailed += 1; return }
            let length = min(room, payload.count - offset)
            piece.fragmentOffset = header.fragmentOffset + offset
            piece.moreFragments = offset + length < payload.count || header.moreFragments
            piece.totalLength = piece.headerLength + length
            let start = offset
            fragmentBuffer.withUnsafeMutableBytes { buffer in
                piece.emit(into: buffer)
                UnsafeMutableRawBufferPointer(rebasing: buffer[piece.headerLength..<piece.totalLength])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: payload[start..<(start + length)]))
            }
            fragmentBuffer.withUnsafeBytes { buffer in
                sendToLink(UnsafeRawBufferPointer(rebasing: buffer[0..<piece.totalLength]), on: interface,
                           nextHop: nextHop, forwarded: forwarded)
            }
            offset += length
            count += 1
        }
        statistics.fragmentsOK += 1
        statistics.fragmentsCreated += count
        emit(.fragmented(header, fragments: count, mtu: mtu))
    }

    /// Options that RFC 791 says every fragment carries (copy flag set), padded to 4 bytes.
    static func copiedOptions(_ options: [UInt8]) -> [UInt8] {
        var kept: [UInt8] = []
        var i = 0
        while i < options.count {
            let kind = options[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            let length = Int(options[i + 1])
            if kind & 0x80 != 0 { kept += options[i..<(i + length)] }
            i += length
        }
        while kept.count % 4 != 0 { kept.append(0) }
        return kept
    }

    /// The IP input routine (RFC 1122 §3.2.1): validate, then deliver locally,
    /// forward (a router), or drop what is not addressed to this host.
    /// `interface` is nil for datagrams this host sent itself.
    func ipInput(_ bytes: UnsafeRawBufferPointer, on interface: InterfaceID?, linkBroadcast: Bool) {
        statistics.inReceives += 1
        let header: IPv4Header
        do { header = try IPv4Header.parse(bytes) } catch {
            statistics.inHeaderErrors += 1
            emit(.ipDropped(.malformed(error), header: nil))
            return
        }
        let packet = UnsafeRawBufferPointer(rebasing: bytes[0..<header.totalLength])
        if let interface {
            emit(.ipReceived(header, interface: interface))
            // RFC 1122 §3.2.1.3, RFC 1812 §5.3.7: no host has these sources; ours come
            // only through loopback (interface nil). Answering one would talk to a
            // broadcast or to ourselves (the land attack), so drop them before anything else.
            if isMartian(source: header.source) {
                statistics.inMartianSources += 1
                statistics.inAddressErrors += 1
                emit(.ipDropped(.martianSource(header.source), header: header))
                return
            }
        }
        let broadcast = isBroadcast(header.destination)
        guard isLocal(header.destination) || broadcast || acceptsAnyDestination(header.destination, on: interface) else {
            if config.forwarding, let interface, !linkBroadcast, !header.destination.isMulticast {
                forward(packet, header: header, from: interface)
            } else {
                statistics.inAddressErrors += 1
                emit(.ipDropped(.notForThisHost, header: header))
            }
            return
        }
        if header.isFragment {
            // A device vouches for one frame's checksum: the other fragments were not covered.
            receivedChecksumTrusted = false
            statistics.reassemblyRequired += 1
            let payload = UnsafeRawBufferPointer(rebasing: packet[header.headerLength...])
            let evictedBefore = reassembler.evictions
            let outcome = reassembler.add(header: header, payload: payload, packet: packet, now: now)
            let evicted = reassembler.evictions - evictedBefore
            statistics.reassemblyEvictions += evicted
            statistics.reassemblyFails += evicted
            switch outcome {
            case .incomplete:
                return
            case let .dropped(reason):
                statistics.reassemblyFails += 1
                emit(.ipDropped(.reassembly(reason), header: header))
            case let .complete(whole):
                statistics.reassemblyOK += 1
                emit(.reassembled(whole))
                if reassemblyBuffer.isEmpty { reassemblyBuffer = [UInt8](repeating: 0, count: 65_536) }
                reassemblyBuffer.withUnsafeMutableBytes { buffer in
                    let length = reassembler.assembleCompleted(header: whole, into: buffer)
                    deliver(UnsafeRawBufferPointer(rebasing: buffer[0..<length]), header: whole, from: interface,
                            broadcast: broadcast || linkBroadcast)
                }
            }
            return
        }
        deliver(packet, header: header, from: interface, broadcast: broadcast || linkBroadcast)
    }

    /// Hands a whole datagram to the transport protocol it names.
    @inline(__always)
    func deliver(_ packet: UnsafeRawBufferPointer, header: IPv4Header, from interface: InterfaceID?, broadcast: Bool) {
        statistics.inDelivers += 1
        let payload = UnsafeRawBufferPointer(rebasing: packet[header.headerLength..<header.totalLength])
        switch header.protocol {
        case .icmp: icmpInput(payload, header: header, packet: packet, from: interface, broadcast: broadcast)
        case .udp: udpInput(payload, source: .v4(header.source), destination: .v4(header.destination), ip: header,
                            packet: packet, from: interface, broadcast: broadcast)
        case .tcp:
            withUnsafePointer(to: header) { ip in
                tcpInput(payload, source: .v4(header.source), destination: .v4(header.destination), ip: ip,
                         from: interface, broadcast: broadcast)
            }
        default:
            statistics.inUnknownProtocols += 1
            emit(.ipDropped(.unknownProtocol(header.protocol), header: header))
            if !broadcast {
                sendICMPError(.destinationUnreachable(code: UnreachableCode.protocol.rawValue, nextHopMTU: 0),
                              about: packet, arrivedOn: interface)
            }
        }
    }

    /// Forwards a datagram (RFC 1812 §5.2): TTL check and decrement with an
    /// incremental checksum update, route lookup, then fragmentation or
    /// "fragmentation needed" when the next link is smaller.
    func forward(_ packet: UnsafeRawBufferPointer, header: IPv4Header, from interface: InterfaceID) {
        guard header.timeToLive > 1 else {
            emit(.ipDropped(.timeToLiveExceeded, header: header))
            sendICMPError(.timeExceeded(code: 0), about: packet, arrivedOn: interface)
            return
        }
        guard let route = routes.lookup(header.destination) else {
            statistics.outNoRoutes += 1
            emit(.ipDropped(.noRoute, header: header))
            sendICMPError(.destinationUnreachable(code: UnreachableCode.network.rawValue, nextHopMTU: 0),
                          about: packet, arrivedOn: interface)
            return
        }
        let mtu = adapters[route.interface.index].mtu
        if packet.count > mtu, receivedChecksumTrusted, header.protocol == .tcp, !header.isFragment {
            // A TCP super-segment its device glued (virtio-net GSO): cut it back into segments
            // that fit, as Linux's validate_xmit_skb does in software, not fragments nor an ICMP
            // "fragmentation needed" at an MTU its sender already keeps to. (Also toward a device
            // with offload: a forwarded frame leaves with a plain virtio-net header.)
            if forwardSegmented(packet, header: header, mtu: mtu, route: route, from: interface) { return }
        }
        if packet.count > mtu && header.dontFragment {
            emit(.ipDropped(.fragmentationNeeded(mtu: mtu), header: header))
            sendICMPError(.destinationUnreachable(code: UnreachableCode.fragmentationNeeded.rawValue,
                                                  nextHopMTU: UInt16(clamping: mtu)),
                          about: packet, arrivedOn: interface)
            return
        }
        let nextHop = route.nextHop(for: header.destination)
        var outgoing = header
        outgoing.timeToLive -= 1
        statistics.forwarded += 1
        emit(.forwarded(outgoing, from: interface, to: route.interface, nextHop: nextHop))
        forwardBuffer.withUnsafeMutableBytes { whole in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: whole[0..<packet.count])
            buffer.copyMemory(from: packet)
            IPv4Header.decrementTimeToLive(in: buffer)
            // A checksum the device vouched for may be only partial (virtio-net NEEDS_CSUM):
            // trusted for this host, it must be whole before another host sees it.
            if receivedChecksumTrusted { finishTransportChecksum(in: buffer, header: header) }
            let datagram = UnsafeRawBufferPointer(buffer)
            if packet.count > mtu {
                fragment(datagram, header: outgoing, on: route.interface, nextHop: nextHop, forwarded: true)
            } else {
                sendToLink(datagram, on: route.interface, nextHop: nextHop, forwarded: true)
            }
        }
    }
}

extension Host {
    /// Forwards the TCP super-segment `packet` as segments of at most `mtu` bytes, each with the
    /// headers repeated: the sequence number advanced, TTL decremented, IP total length and ID
    /// (+1 per cut) set, PSH and FIN on the last cut only, CWR on the first, both checksums computed
    /// (Linux's tcp_gso_segment). False, sending nothing, when its headers leave no room for
    /// payload. One checksum pass; built in `buildBuffer`, no allocation.
    func forwardSegmented(_ packet: UnsafeRawBufferPointer, header: IPv4Header, mtu: Int, route: Route,
                          from interface: InterfaceID) -> Bool {
        let ipLength = header.headerLength
        let nextHop = route.nextHop(for: header.destination)
        let sent = cutTCPSuperSegment(
            packet, ipLength: ipLength, totalLength: header.totalLength, mtu: mtu,
            pseudoHeader: { InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                          protocol: .tcp, length: $0) },
            finishIP: { piece, cut, total in
                piece.storeBE16(UInt16(total), at: 2)
                piece.storeBE16(header.identification &+ cut, at: 4)
                piece[8] = header.timeToLive - 1
                piece.storeBE16(0, at: 10)
                var ipSum = InternetChecksum()
                ipSum.add(UnsafeRawBufferPointer(rebasing: piece[0..<ipLength]))
                piece.storeBE16(ipSum.checksum, at: 10)
            },
            send: { sendToLink($0, on: route.interface, nextHop: nextHop, forwarded: true) })
        guard sent else { return false }
        var outgoing = header
        outgoing.timeToLive -= 1
        statistics.forwarded += 1
        emit(.forwarded(outgoing, from: interface, to: route.interface, nextHop: nextHop))
        return true
    }

    /// Computes the TCP or UDP checksum of the unfragmented datagram in `buffer` afresh (a
    /// UDP zero, "no checksum", stays), as Linux's skb_checksum_help does for a CHECKSUM_PARTIAL
    /// packet leaving through a device without checksum offload. One checksum pass.
    func finishTransportChecksum(in buffer: UnsafeMutableRawBufferPointer, header: IPv4Header) {
        guard !header.isFragment, header.totalLength <= buffer.count else { return }
        let start = header.headerLength, length = header.payloadLength
        let field: Int
        switch header.protocol {
        case .tcp where length >= TCPHeader.minimumLength: field = start + 16
        case .udp where length >= UDPHeader.headerLength && UnsafeRawBufferPointer(buffer).be16(start + 6) != 0: field = start + 6
        default: return
        }
        buffer.storeBE16(0, at: field)
        var sum = InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                protocol: header.protocol, length: length)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)]))
        let value = sum.checksum
        buffer.storeBE16(header.protocol == .udp && value == 0 ? 0xFFFF : value, at: field)
    }

    /// True for a source address that must not arrive from a wire (Linux's martian
    /// sources, RFC 1122 §3.2.1.3): one of ours, 0.0.0.0, 127/8, multicast (224/4),
    /// 240/4 (the limited broadcast included), or a directed broadcast of a connected network.
    func isMartian(source: IPv4Address) -> Bool {
        let first = source.rawValue >> 24
        if source == .any || first == 127 || first >= 224 { return true }
        for assigned in addresses {
            if assigned.address == source { return true }
            if assigned.network.prefixLength < 31 && assigned.network.broadcast == source { return true }
        }
        return false
    }
}
