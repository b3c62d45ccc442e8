import NetStackWire
import NetStackCore
import NetStackDevices

extension Narration {
    /// How the demo tells a stack event of `host`; nil for events it leaves out.
    init?(_ event: StackEvent, host: Host) {
        func iface(_ id: InterfaceID) -> String { host.adapters[id.index].name }
        switch event {
        case let .udpSent(from, to, length):
            self.init(layer: .udp, kind: "udpSent", noun: "datagrams sent",
                      full: "sendto(\(length) bytes → \(to)): UDP puts them in one datagram from port \(from.port) with an 8-byte header (ports, length, checksum) — no connection, no handshake, no copy kept for retransmission",
                      brief: "UDP \(from) → \(to), \(length) bytes")
        case let .udpDelivered(from, to, length):
            self.init(layer: .udp, kind: "udpDelivered", noun: "datagrams delivered",
                      full: "UDP checksum ok; port \(to.port) has a socket: \(length) bytes from \(from) wait in its receive queue for the application's recvfrom()",
                      brief: "UDP \(from) → \(to) delivered, \(length) bytes")
        case let .udpReceiveQueueFull(port):
            self.init(layer: .udp, kind: "udpFull", noun: "datagrams dropped (queue full)",
                      full: "receive queue of port \(port) full: datagram dropped", brief: "port \(port) queue full, dropped")
        case let .pingSent(to, identifier, sequence, length):
            self.init(layer: .app, kind: "pingSent", noun: "echo requests",
                      full: "ping \(to): ICMP echo request id \(identifier) seq \(sequence) with \(length) bytes of data",
                      brief: "echo request seq \(sequence) → \(to)")
        case let .pingReply(from, _, sequence, ttl, rtt):
            self.init(layer: .app, kind: "pingReply", noun: "echo replies",
                      full: "\(from): icmp_seq=\(sequence) ttl=\(ttl) time=\(formatMilliseconds(rtt)) — the reply found its way back",
                      brief: "echo reply seq \(sequence) from \(from), ttl \(ttl), \(formatMilliseconds(rtt))")
        case let .socketError(port, error, from):
            self.init(layer: .socket, kind: "socketError", noun: "socket errors",
                      full: "ICMP from \(from) concerns port \(port): the socket will report \(error.symbol)",
                      brief: "port \(port): \(error.symbol) from \(from)")
        case let .resolverQuerySent(name, id, server, attempt):
            self.init(layer: .socket, kind: "dnsQuery", noun: "DNS queries sent",
                      full: "resolver: the A query for \(name) (id 0x\(String(id, radix: 16)), attempt \(attempt)) is on its way to \(server):53; the resolver waits \(host.resolverConfig.timeout.components.seconds) s for the answer before asking again",
                      brief: "DNS A? \(name) → \(server) (attempt \(attempt))")
        case let .resolverAnswerAccepted(name, addresses, ttl, canonicalName, server):
            self.init(layer: .socket, kind: "dnsAnswer", noun: "DNS answers accepted",
                      full: "resolver: the answer matches the query's id, port and question: \(server) says \(name)\(canonicalName == name ? "" : " (alias of \(canonicalName))") is \(addresses.map(\.description).joined(separator: ", ")), valid for \(ttl) s — kept in the resolver's cache for that long",
                      brief: "DNS \(name) → \(addresses.map(\.description).joined(separator: ", "))")
        case let .resolverAnswerRejected(name, from, reason):
            self.init(layer: .socket, kind: "dnsRejected", noun: "DNS answers rejected",
                      full: "resolver: datagram from \(from) about \(name) thrown away: \(reason)",
                      brief: "DNS reject from \(from): \(reason)")
        case let .resolverServerError(name, server, code):
            self.init(layer: .socket, kind: "dnsServerError", noun: "DNS server errors",
                      full: "resolver: \(server) answers \(name) with \(DNSResponseCode(rawValue: code)): asking the next server",
                      brief: "DNS \(server): \(DNSResponseCode(rawValue: code))")
        case let .resolverLocalAnswer(name, addresses, source):
            self.init(layer: .socket, kind: "dnsLocal", noun: "names resolved without a query",
                      full: "resolver: \(name) → \(addresses.map(\.description).joined(separator: ", ")) (\(source)): no query needed",
                      brief: "DNS \(name) from \(source)")
        case let .resolverFailed(name, error):
            self.init(layer: .socket, kind: "dnsFailed", noun: "lookups failed",
                      full: "resolver: lookup of \(name) failed: \(error)",
                      brief: "DNS \(name): \(error)")
        case .tcpSegmentSent, .tcpSegmentReceived, .tcpStateChanged:
            return nil  // TCPStoryteller tells these, with the connection's history
        case let .routeLookup(destination, route, nextHop):
            let matched = route.destination.prefixLength == 0 ? "the default route (0.0.0.0/0)" : "\(route.destination)"
            let via = route.gateway.map { "gateway \($0)" } ?? "no gateway: \(destination) is on the link itself"
            self.init(layer: .ip, kind: "route", noun: "route lookups",
                      full: "routing table lookup for \(destination): longest match is \(matched), Flags \(route.flags) → \(via), Iface \(iface(route.interface)); the next hop to find with ARP is \(nextHop)",
                      brief: "route \(destination) → \(nextHop) dev \(iface(route.interface))")
        case let .noRoute(destination):
            self.init(layer: .ip, kind: "noRoute", noun: "no-route failures",
                      full: "no route to \(destination): ENETUNREACH", brief: "no route to \(destination)")
        case let .ipSent(header, interface):
            self.init(layer: .ip, kind: "ipSent", noun: "datagrams built",
                      full: "IP header added: \(header.source) → \(header.destination), protocol \(header.protocol), TTL \(header.timeToLive), id 0x\(String(header.identification, radix: 16)), total length \(header.totalLength) bytes (20-byte header), leaving by \(iface(interface))",
                      brief: header.description)
        case let .fragmented(header, count, mtu):
            self.init(layer: .ip, kind: "fragmented", noun: "datagrams fragmented",
                      full: "\(header.totalLength) bytes do not fit the MTU of \(mtu): split into \(count) fragments with the same id 0x\(String(header.identification, radix: 16)), offsets in 8-byte units, MF set on all but the last",
                      brief: "fragmented id 0x\(String(header.identification, radix: 16)) into \(count)")
        case let .ipReceived(header, interface):
            let verdict = host.isLocal(header.destination) ? "addressed to this host"
                : host.config.forwarding ? "not for this host: a router forwards it" : "not for this host"
            self.init(layer: .ip, kind: "ipReceived", noun: "datagrams checked",
                      full: "IP checks on \(iface(interface)): version 4, header 20 bytes, total length \(header.totalLength), header checksum 0x\(String(header.checksum, radix: 16)) ok; destination \(header.destination) is \(verdict)",
                      brief: "\(header.description) ok")
        case let .ipDropped(reason, header):
            self.init(layer: .ip, kind: "ipDropped", noun: "datagrams dropped",
                      full: "dropped \(header.map { "\($0.source) → \($0.destination)" } ?? "a datagram"): \(reason)",
                      brief: "dropped: \(reason)")
        case let .forwarded(header, from, to, nextHop):
            self.init(layer: .router, kind: "forwarded", noun: "datagrams forwarded",
                      full: "forwarding \(header.source) → \(header.destination): in on \(iface(from)), TTL decremented to \(header.timeToLive) and the header checksum patched (RFC 1624), route lookup → out on \(iface(to)) to next hop \(nextHop)",
                      brief: "forwarded \(header.source) → \(header.destination) ttl \(header.timeToLive) via \(iface(to))")
        case let .reassembled(header):
            self.init(layer: .ip, kind: "reassembled", noun: "datagrams reassembled",
                      full: "all fragments of id 0x\(String(header.identification, radix: 16)) arrived: reassembled \(header.totalLength) bytes",
                      brief: "reassembled \(header.totalLength) bytes")
        case let .icmpSent(icmp, to):
            self.init(layer: .icmp, kind: "icmpSent", noun: "ICMP messages sent",
                      full: "\(icmp) → \(to)", brief: "\(icmp) → \(to)")
        case let .icmpReceived(icmp, from):
            self.init(layer: .icmp, kind: "icmpReceived", noun: "ICMP messages received",
                      full: "\(icmp) from \(from), checksum ok", brief: "\(icmp) from \(from)")
        case let .icmpRateLimited(to):
            self.init(layer: .icmp, kind: "icmpRateLimited", noun: "ICMP errors suppressed",
                      full: "ICMP error to \(to) suppressed by the rate limit", brief: "rate-limited error to \(to)")
        case let .arpCacheHit(address, mac):
            self.init(layer: .arp, kind: "arpHit", noun: "ARP cache hits",
                      full: "ARP cache hit: \(address) is at \(mac) — no need to ask", brief: "cache hit \(address) → \(mac)")
        case let .arpCacheMiss(address, _):
            self.init(layer: .arp, kind: "arpMiss", noun: "ARP cache misses",
                      full: "ARP cache miss for \(address): the datagram waits in a queue while ARP asks the LAN",
                      brief: "cache miss \(address)")
        case let .arpRequestSent(target, interface, attempt):
            self.init(layer: .arp, kind: "arpRequest", noun: "ARP requests",
                      full: "ARP request, broadcast to ff:ff:ff:ff:ff:ff on \(iface(interface)): \"who has \(target)? tell \(host.address(of: interface)?.description ?? "?")\" (attempt \(attempt) of \(host.arpCache.config.maxRequests))",
                      brief: "who has \(target)? (attempt \(attempt))")
        case let .arpReplySent(to, mac, interface):
            self.init(layer: .arp, kind: "arpReply", noun: "ARP replies",
                      full: "the request names one of my addresses: ARP reply, unicast to \(mac) (\(to)): \"I am at \(host.adapters[interface.index].mac)\"",
                      brief: "ARP reply to \(to)")
        case let .arpAnnounced(address, interface):
            self.init(layer: .arp, kind: "arpAnnounce", noun: "gratuitous ARPs",
                      full: "address \(address) configured on \(iface(interface)): gratuitous ARP announces it to the LAN",
                      brief: "announced \(address)")
        case let .arpLearned(address, mac, _):
            self.init(layer: .arp, kind: "arpLearned", noun: "ARP cache updates",
                      full: "ARP cache: \(address) is at \(mac), kept for \(host.arpCache.config.entryLifetime.components.seconds) s (Flags C)",
                      brief: "learned \(address) → \(mac)")
        case let .arpFailed(address, dropped):
            self.init(layer: .arp, kind: "arpFailed", noun: "ARP failures",
                      full: "no answer for \(address) after \(host.arpCache.config.maxRequests) requests: \(dropped) waiting packets dropped",
                      brief: "gave up on \(address)")
        case let .frameQueued(interface, header, length, fcs):
            let fcsText = fcs.map { ", FCS 0x" + String($0, radix: 16) + " (CRC-32) appended" } ?? ""
            let padded = max(length, EthernetHeader.minimumFrameLength) + (fcs == nil ? 0 : 4)
            self.init(layer: .ethernet, kind: "frameQueued", noun: "frames sent",
                      full: "MAC header: destination \(header.destination), source \(header.source), type \(header.etherType); \(length) bytes padded to \(padded) on the wire\(fcsText); the LAN adapter \(iface(interface)) turns the bits into a signal on the cable",
                      brief: "frame \(header.source) → \(header.destination) \(header.etherType), \(padded) bytes")
        case let .adapterReceived(interface, verdict, length):
            let name = iface(interface)
            switch verdict {
            case .accepted:
                self.init(layer: .adapter, kind: "adapterAccepted", noun: "frames accepted by adapters",
                          full: "\(name): signal turned back into \(length) bytes; FCS recomputed and equal; destination MAC is mine or broadcast: stored in the adapter's receive buffer",
                          brief: "\(name): \(length) bytes accepted")
            case let .filtered(mac):
                self.init(layer: .adapter, kind: "adapterFiltered", noun: "frames ignored by MAC filters",
                          full: "\(name): destination \(mac) is not my address: the adapter discards the frame (a hub sends everything everywhere)",
                          brief: "\(name): not for me (\(mac))")
            case .fcsMismatch:
                self.init(layer: .adapter, kind: "fcsDrop", noun: "frames dropped by FCS",
                          full: "\(name): FCS mismatch — the CRC-32 of the received bits differs from the frame's FCS: damaged on the wire, discarded. The adapter does not ask for it again: only TCP recovers lost data",
                          brief: "\(name): FCS mismatch, dropped")
            case .runt:
                self.init(layer: .adapter, kind: "runt", noun: "runts", full: "\(name): runt frame dropped", brief: "\(name): runt")
            case .oversized:
                self.init(layer: .adapter, kind: "giant", noun: "oversized frames",
                          full: "\(name): \(length)-byte frame longer than the MTU allows: dropped", brief: "\(name): oversized")
            case .ringOverflow:
                self.init(layer: .adapter, kind: "overflow", noun: "frames lost to a full buffer",
                          full: "\(name): receive buffer full: frame lost", brief: "\(name): buffer full")
            }
        case let .interrupt(interface, frames):
            self.init(layer: .adapter, kind: "interrupt", noun: "interrupts",
                      full: "\(iface(interface)) raises an interrupt: the CPU runs the LAN driver, which takes \(frames) frame\(frames == 1 ? "" : "s") from the adapter's buffer and hands \(frames == 1 ? "it" : "them") to the protocol stack",
                      brief: "\(iface(interface)): interrupt, \(frames) frame\(frames == 1 ? "" : "s")")
        case let .driverDelivered(_, header, _):
            self.init(layer: .driver, kind: "driver", noun: "frames handed up by drivers",
                      full: "driver reads the MAC header: type \(header.etherType) → handed to \(header.etherType == .arp ? "ARP" : "IP")",
                      brief: "type \(header.etherType) → stack")
        case let .frameDropped(interface, error):
            self.init(layer: .driver, kind: "frameDropped", noun: "frames dropped by drivers",
                      full: "\(iface(interface)): frame dropped: \(error)", brief: "dropped: \(error)")
        }
    }

    /// How the demo tells a device event; nil for events it leaves out. `cable`
    /// names a cable and a direction for the reader ("hub → browser").
    init?(_ event: DeviceEvent, cable: (String, LinkDirection) -> String) {
        switch event {
        case let .hubRepeated(_, inPort, outPorts, length):
            self.init(layer: .hub, kind: "hub", noun: "frames repeated by the hub",
                      full: "\(length)-byte signal in on port \(inPort), repeated out of ports \(outPorts.map(String.init).joined(separator: ", ")): a hub reads no address, checks nothing",
                      brief: "port \(inPort) → all other ports")
        case let .switchLearned(_, mac, port):
            self.init(layer: .switch_, kind: "switchLearned", noun: "addresses learned",
                      full: "learned: \(mac) is on port \(port) (from the frame's source address)",
                      brief: "learned \(mac) on port \(port)")
        case let .switchForwarded(_, mac, inPort, outPort):
            self.init(layer: .switch_, kind: "switchForwarded", noun: "frames switched",
                      full: "FCS ok; \(mac) is in the MAC table on port \(outPort): frame from port \(inPort) goes out of that port only",
                      brief: "\(mac): port \(inPort) → \(outPort)")
        case let .switchFlooded(_, mac, inPort, outPorts):
            self.init(layer: .switch_, kind: "switchFlooded", noun: "frames flooded",
                      full: "\(mac.isBroadcast ? "broadcast" : "\(mac) not in the MAC table yet"): flooded from port \(inPort) to ports \(outPorts.map(String.init).joined(separator: ", "))",
                      brief: "\(mac): flooded from port \(inPort)")
        case let .switchFCSDrop(_, port, length):
            self.init(layer: .switch_, kind: "switchFCS", noun: "frames dropped by the switch's FCS check",
                      full: "\(length)-byte frame on port \(port) fails the FCS check: dropped", brief: "FCS drop on port \(port)")
        case let .linkCorrupted(link, direction, bits):
            self.init(layer: .wire, kind: "corrupted", noun: "frames damaged on wires",
                      full: "noise on the cable \(cable(link, direction)): \(bits) bit\(bits == 1 ? "" : "s") of the signal flipped — the frame arrives, but not as it was sent",
                      brief: "\(cable(link, direction)): \(bits) bit\(bits == 1 ? "" : "s") flipped", always: true)
        case let .linkLost(link, direction, length):
            self.init(layer: .wire, kind: "lost", noun: "frames lost on wires",
                      full: "the cable \(cable(link, direction)) lost a \(length)-byte frame: nothing arrives at the other end",
                      brief: "\(cable(link, direction)): lost \(length) bytes", always: true)
        default:
            return nil
        }
    }
}

/// `0.123 ms`, as ping prints times.
func formatMilliseconds(_ duration: Duration) -> String {
    let micros = duration.nanoseconds / 1000
    let whole = micros / 1000, fraction = String(micros % 1000)
    return "\(whole).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) ms"
}
