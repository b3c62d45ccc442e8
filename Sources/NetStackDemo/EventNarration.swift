import NetStackWire
import NetStackCore
import NetStackDevices

extension Narration {
    /// How the demo tells a stack event of `host`; nil for events it leaves out.
    init?(_ event: StackEvent, host: Host) {
        func iface(_ id: InterfaceID) -> PhraseArg { .plain(host.adapters[id.index].name) }
        func hex<T: BinaryInteger>(_ value: T) -> PhraseArg { .plain(String(value, radix: 16)) }
        func list(_ addresses: [IPAddress]) -> PhraseArg { .plain(addresses.map(\.description).joined(separator: ", ")) }
        switch event {
        case let .udpSent(from, to, length):
            self.init(.udp, .udpSent, "\(length)", "\(to)", "\(from.port)", "\(from)")
        case let .udpDelivered(from, to, length):
            self.init(.udp, .udpDelivered, "\(length)", "\(from)", "\(to)", "\(to.port)")
        case let .udpReceiveQueueFull(port):
            self.init(.udp, .udpFull, "\(port)")
        case let .pingSent(to, identifier, sequence, length):
            self.init(.app, .pingSent, "\(to)", "\(identifier)", "\(sequence)", "\(length)")
        case let .pingReply(from, _, sequence, ttl, rtt):
            self.init(.app, .pingReply, "\(from)", "\(sequence)", "\(ttl)", .plain(formatMilliseconds(rtt)))
        case let .socketError(port, error, from):
            self.init(.socket, .socketError, "\(from)", "\(port)", .plain(error.symbol))
        case let .resolverQuerySent(name, type, id, server, attempt):
            self.init(.socket, .dnsQuery, .plain(name), hex(id), "\(attempt)", "\(server)",
                      "\(host.resolverConfig.timeout.components.seconds)", "\(type)", "\(Endpoint(server, 53))")
        case let .resolverAnswerAccepted(name, addresses, ttl, canonicalName, server):
            self.init(.socket, .dnsAnswer, "\(server)", .plain(name), .plain(canonicalName == name ? "" : canonicalName),
                      list(addresses), "\(ttl)")
        case let .resolverAnswerRejected(name, from, reason):
            self.init(.socket, .dnsRejected, "\(from)", .plain(name), "\(reason)")
        case let .resolverServerError(name, server, code):
            self.init(.socket, .dnsServerError, "\(server)", .plain(name), "\(DNSResponseCode(rawValue: code))")
        case let .resolverLocalAnswer(name, addresses, source):
            self.init(.socket, .dnsLocal, .plain(name), list(addresses), .source(source))
        case let .resolverFailed(name, error):
            self.init(.socket, .dnsFailed, .plain(name), "\(error)")
        case .tcpSegmentSent, .tcpSegmentReceived, .tcpStateChanged:
            return nil  // TCPStoryteller tells these, with the connection's history
        case let .routeLookup(destination, route, nextHop):
            self.init(.ip, .route, "\(destination)", .plain(route.destination.prefixLength == 0 ? "" : "\(route.destination)"),
                      "\(route.flags)", .plain(route.gateway.map { "\($0)" } ?? ""), iface(route.interface), "\(nextHop)")
        case let .noRoute(destination):
            self.init(.ip, .noRoute, "\(destination)")
        case let .ipSent(header, interface):
            self.init(.ip, .ipSent, "\(header.source)", "\(header.destination)", "\(header.protocol)", "\(header.timeToLive)",
                      hex(header.identification), "\(header.totalLength)", iface(interface), .plain(header.description))
        case let .fragmented(header, count, mtu):
            self.init(.ip, .fragmented, "\(header.totalLength)", "\(mtu)", "\(count)", hex(header.identification))
        case let .ipReceived(header, interface):
            let verdict = host.isLocal(header.destination) ? "local" : host.config.forwarding ? "forward" : "other"
            self.init(.ip, .ipReceived, iface(interface), "\(header.totalLength)", hex(header.checksum), "\(header.destination)",
                      .plain(verdict), .plain(header.description))
        case let .ipDropped(reason, header):
            self.init(.ip, .ipDropped, .plain(header.map { "\($0.source) → \($0.destination)" } ?? ""), "\(reason)")
        case let .forwarded(header, from, to, nextHop):
            self.init(.router, .forwarded, "\(header.source)", "\(header.destination)", iface(from), "\(header.timeToLive)",
                      iface(to), "\(nextHop)")
        case let .reassembled(header):
            self.init(.ip, .reassembled, hex(header.identification), "\(header.totalLength)")
        case let .icmpSent(icmp, to):
            self.init(.icmp, .icmpSent, "\(icmp)", "\(to)")
        case let .icmpReceived(icmp, from):
            self.init(.icmp, .icmpReceived, "\(icmp)", "\(from)")
        case let .icmpRateLimited(to):
            self.init(.icmp, .icmpRateLimited, "\(to)")
        case let .arpCacheHit(address, mac):
            self.init(.arp, .arpHit, "\(address)", "\(mac)")
        case let .arpCacheMiss(address, _):
            self.init(.arp, .arpMiss, "\(address)")
        case let .arpRequestSent(target, interface, attempt):
            self.init(.arp, .arpRequest, iface(interface), "\(target)", .plain(host.address(of: interface)?.description ?? "?"),
                      "\(attempt)", "\(host.arpCache.config.maxRequests)")
        case let .arpReplySent(to, mac, interface):
            self.init(.arp, .arpReply, "\(mac)", "\(to)", "\(host.adapters[interface.index].mac)")
        case let .arpAnnounced(address, interface):
            self.init(.arp, .arpAnnounce, "\(address)", iface(interface))
        case let .arpLearned(address, mac, _):
            self.init(.arp, .arpLearned, "\(address)", "\(mac)", "\(host.arpCache.config.entryLifetime.components.seconds)")
        case let .arpFailed(address, dropped):
            self.init(.arp, .arpFailed, "\(address)", "\(host.arpCache.config.maxRequests)", "\(dropped)")
        case let .frameQueued(interface, header, length, fcs):
            let padded = max(length, EthernetHeader.minimumFrameLength) + (fcs == nil ? 0 : 4)
            self.init(.ethernet, .frameQueued, "\(header.destination)", "\(header.source)", "\(header.etherType)", "\(length)",
                      "\(padded)", .plain(fcs.map { String($0, radix: 16) } ?? ""), iface(interface))
        case let .adapterReceived(interface, verdict, length):
            switch verdict {
            case .accepted: self.init(.adapter, .adapterAccepted, iface(interface), "\(length)")
            case let .filtered(mac): self.init(.adapter, .adapterFiltered, iface(interface), "\(mac)")
            case .fcsMismatch: self.init(.adapter, .fcsDrop, iface(interface))
            case .runt: self.init(.adapter, .runt, iface(interface))
            case .oversized: self.init(.adapter, .giant, iface(interface), "\(length)")
            case .ringOverflow: self.init(.adapter, .overflow, iface(interface))
            }
        case let .interrupt(interface, frames):
            self.init(.adapter, .interrupt, iface(interface), "\(frames)")
        case let .driverDelivered(_, header, _):
            self.init(.driver, .driver, "\(header.etherType)", .plain(header.etherType == .arp ? "ARP" : "IP"))
        case let .frameDropped(interface, error):
            self.init(.driver, .frameDropped, iface(interface), "\(error)")
        }
    }

    /// How the demo tells a device event; nil for events it leaves out. `cable`
    /// names a cable and a direction for the reader ("hub → browser").
    init?(_ event: DeviceEvent, cable: (String, LinkDirection) -> String) {
        func ports(_ ports: [PortID]) -> PhraseArg { .plain(ports.map(String.init).joined(separator: ", ")) }
        switch event {
        case let .hubRepeated(_, inPort, outPorts, length):
            self.init(.hub, .hub, "\(length)", "\(inPort)", ports(outPorts))
        case let .switchLearned(_, mac, port):
            self.init(.switch_, .switchLearned, "\(mac)", "\(port)")
        case let .switchForwarded(_, mac, inPort, outPort):
            self.init(.switch_, .switchForwarded, "\(mac)", "\(inPort)", "\(outPort)")
        case let .switchFlooded(_, mac, inPort, outPorts):
            self.init(.switch_, .switchFlooded, "\(mac)", flag(mac.isBroadcast), "\(inPort)", ports(outPorts))
        case let .switchFCSDrop(_, port, length):
            self.init(.switch_, .switchFCS, "\(length)", "\(port)")
        case let .linkCorrupted(link, direction, bits):
            self.init(.wire, .corrupted, .plain(cable(link, direction)), "\(bits)", always: true)
        case let .linkLost(link, direction, length):
            self.init(.wire, .lost, .plain(cable(link, direction)), "\(length)", always: true)
        default:
            return nil
        }
    }
}

extension PhraseArg {
    /// Where the resolver's answer came from, worded per language ("cache", "nameserver 198.51.100.53").
    static func source(_ source: ResolutionSource) -> PhraseArg {
        switch source {
        case .hostsTable: .phrase(Phrase(.answerSource, "hosts"))
        case .cache: .phrase(Phrase(.answerSource, "cache"))
        case let .nameserver(address): .phrase(Phrase(.answerSource, "nameserver", "\(address)"))
        case .literal: .phrase(Phrase(.answerSource, "literal"))
        }
    }
}

/// `0.123 ms`, as ping prints times.
func formatMilliseconds(_ duration: Duration) -> String {
    let micros = duration.nanoseconds / 1000
    let whole = micros / 1000, fraction = String(micros % 1000)
    return "\(whole).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) ms"
}
