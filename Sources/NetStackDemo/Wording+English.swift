// The demo's English wording: one entry per kind of phrase. Parameters are
// listed in each entry's comment, in order; the Korean table takes the same.

extension Wording {
    static func english(_ kind: PhraseKind) -> Wording? {
        switch kind {
        // MARK: Stack events (EventNarration.swift)
        case .udpSent:  // length, to, from port, from
            Wording("datagrams sent", { a in "sendto(\(a[0]) bytes → \(a[1])): UDP puts them in one datagram from port \(a[2]) with an 8-byte header (ports, length, checksum) — no connection, no handshake, no copy kept for retransmission" },
                    brief: { a in "UDP \(a[3]) → \(a[1]), \(a[0]) bytes" })
        case .udpDelivered:  // length, from, to, to port
            Wording("datagrams delivered", { a in "UDP checksum ok; port \(a[3]) has a socket: \(a[0]) bytes from \(a[1]) wait in its receive queue for the application's recvfrom()" },
                    brief: { a in "UDP \(a[1]) → \(a[2]) delivered, \(a[0]) bytes" })
        case .udpFull:  // port
            Wording("datagrams dropped (queue full)", { a in "receive queue of port \(a[0]) full: datagram dropped" },
                    brief: { a in "port \(a[0]) queue full, dropped" })
        case .pingSent:  // to, identifier, sequence, length
            Wording("echo requests", { a in "ping \(a[0]): ICMP echo request id \(a[1]) seq \(a[2]) with \(a[3]) bytes of data" },
                    brief: { a in "echo request seq \(a[2]) → \(a[0])" })
        case .pingReply:  // from, sequence, ttl, rtt
            Wording("echo replies", { a in "\(a[0]): icmp_seq=\(a[1]) ttl=\(a[2]) time=\(a[3]) — the reply found its way back" },
                    brief: { a in "echo reply seq \(a[1]) from \(a[0]), ttl \(a[2]), \(a[3])" })
        case .socketError:  // from, port, error
            Wording("socket errors", { a in "ICMP from \(a[0]) concerns port \(a[1]): the socket will report \(a[2])" },
                    brief: { a in "port \(a[1]): \(a[2]) from \(a[0])" })
        case .dnsQuery:  // name, id (hex), attempt, server, timeout seconds, type (A or AAAA), server's endpoint
            Wording("DNS queries sent", { a in "resolver: the \(a[5]) query for \(a[0]) (id 0x\(a[1]), attempt \(a[2])) is on its way to \(a[6]); the resolver waits \(a[4]) s for the answer before asking again" },
                    brief: { a in "DNS \(a[5])? \(a[0]) → \(a[3]) (attempt \(a[2]))" })
        case .dnsAnswer:  // server, name, canonical name or "", addresses, ttl
            Wording("DNS answers accepted", { a in "resolver: the answer matches the query's id, port and question: \(a[0]) says \(a[1])\(a.isEmpty(2) ? "" : " (alias of \(a[2]))") is \(a[3]), valid for \(a[4]) s — kept in the resolver's cache for that long" },
                    brief: { a in "DNS \(a[1]) → \(a[3])" })
        case .dnsRejected:  // from, name, reason
            Wording("DNS answers rejected", { a in "resolver: datagram from \(a[0]) about \(a[1]) thrown away: \(a[2])" },
                    brief: { a in "DNS reject from \(a[0]): \(a[2])" })
        case .dnsServerError:  // server, name, response code
            Wording("DNS server errors", { a in "resolver: \(a[0]) answers \(a[1]) with \(a[2]): asking the next server" },
                    brief: { a in "DNS \(a[0]): \(a[2])" })
        case .dnsLocal:  // name, addresses, source
            Wording("names resolved without a query", { a in "resolver: \(a[0]) → \(a[1]) (\(a[2])): no query needed" },
                    brief: { a in "DNS \(a[0]) from \(a[2])" })
        case .dnsFailed:  // name, error
            Wording("lookups failed", { a in "resolver: lookup of \(a[0]) failed: \(a[1])" }, brief: { a in "DNS \(a[0]): \(a[1])" })
        case .route:  // destination, matched route or "" for the default route, flags, gateway or "", interface, next hop
            Wording("route lookups", { a in "routing table lookup for \(a[0]): longest match is \(a.isEmpty(1) ? "the default route (0.0.0.0/0)" : a[1]), Flags \(a[2]) → \(a.isEmpty(3) ? "no gateway: \(a[0]) is on the link itself" : "gateway \(a[3])"), Iface \(a[4]); the next hop to find with ARP is \(a[5])" },
                    brief: { a in "route \(a[0]) → \(a[5]) dev \(a[4])" })
        case .noRoute:  // destination
            Wording("no-route failures", { a in "no route to \(a[0]): ENETUNREACH" }, brief: { a in "no route to \(a[0])" })
        case .ipSent:  // source, destination, protocol, ttl, id (hex), total length, interface, header summary
            Wording("datagrams built", { a in "IP header added: \(a[0]) → \(a[1]), protocol \(a[2]), TTL \(a[3]), id 0x\(a[4]), total length \(a[5]) bytes (20-byte header), leaving by \(a[6])" },
                    brief: { a in a[7] })
        case .fragmented:  // total length, mtu, count, id (hex)
            Wording("datagrams fragmented", { a in "\(a[0]) bytes do not fit the MTU of \(a[1]): split into \(a[2]) fragments with the same id 0x\(a[3]), offsets in 8-byte units, MF set on all but the last" },
                    brief: { a in "fragmented id 0x\(a[3]) into \(a[2])" })
        case .ipReceived:  // interface, total length, checksum (hex), destination, verdict (local|forward|other), header summary
            Wording("datagrams checked", { a in
                let verdict = switch a[4] {
                case "local": "addressed to this host"
                case "forward": "not for this host: a router forwards it"
                default: "not for this host"
                }
                return "IP checks on \(a[0]): version 4, header 20 bytes, total length \(a[1]), header checksum 0x\(a[2]) ok; destination \(a[3]) is \(verdict)"
            }, brief: { a in "\(a[5]) ok" })
        case .ipDropped:  // source → destination or "", reason
            Wording("datagrams dropped", { a in "dropped \(a.isEmpty(0) ? "a datagram" : a[0]): \(a[1])" }, brief: { a in "dropped: \(a[1])" })
        case .forwarded:  // source, destination, in interface, ttl, out interface, next hop
            Wording("datagrams forwarded", { a in "forwarding \(a[0]) → \(a[1]): in on \(a[2]), TTL decremented to \(a[3]) and the header checksum patched (RFC 1624), route lookup → out on \(a[4]) to next hop \(a[5])" },
                    brief: { a in "forwarded \(a[0]) → \(a[1]) ttl \(a[3]) via \(a[4])" })
        case .reassembled:  // id (hex), total length
            Wording("datagrams reassembled", { a in "all fragments of id 0x\(a[0]) arrived: reassembled \(a[1]) bytes" },
                    brief: { a in "reassembled \(a[1]) bytes" })
        case .icmpSent:  // message, to
            Wording("ICMP messages sent", { a in "\(a[0]) → \(a[1])" })
        case .icmpReceived:  // message, from
            Wording("ICMP messages received", { a in "\(a[0]) from \(a[1]), checksum ok" }, brief: { a in "\(a[0]) from \(a[1])" })
        case .icmpRateLimited:  // to
            Wording("ICMP errors suppressed", { a in "ICMP error to \(a[0]) suppressed by the rate limit" },
                    brief: { a in "rate-limited error to \(a[0])" })
        case .arpHit:  // address, mac
            Wording("ARP cache hits", { a in "ARP cache hit: \(a[0]) is at \(a[1]) — no need to ask" },
                    brief: { a in "cache hit \(a[0]) → \(a[1])" })
        case .arpMiss:  // address
            Wording("ARP cache misses", { a in "ARP cache miss for \(a[0]): the datagram waits in a queue while ARP asks the LAN" },
                    brief: { a in "cache miss \(a[0])" })
        case .arpRequest:  // interface, target, own address, attempt, attempts allowed
            Wording("ARP requests", { a in "ARP request, broadcast to ff:ff:ff:ff:ff:ff on \(a[0]): \"who has \(a[1])? tell \(a[2])\" (attempt \(a[3]) of \(a[4]))" },
                    brief: { a in "who has \(a[1])? (attempt \(a[3]))" })
        case .arpReply:  // mac asked from, address asked from, own mac
            Wording("ARP replies", { a in "the request names one of my addresses: ARP reply, unicast to \(a[0]) (\(a[1])): \"I am at \(a[2])\"" },
                    brief: { a in "ARP reply to \(a[1])" })
        case .arpAnnounce:  // address, interface
            Wording("gratuitous ARPs", { a in "address \(a[0]) configured on \(a[1]): gratuitous ARP announces it to the LAN" },
                    brief: { a in "announced \(a[0])" })
        case .arpLearned:  // address, mac, lifetime seconds
            Wording("ARP cache updates", { a in "ARP cache: \(a[0]) is at \(a[1]), kept for \(a[2]) s (Flags C)" },
                    brief: { a in "learned \(a[0]) → \(a[1])" })
        case .arpFailed:  // address, requests, packets dropped
            Wording("ARP failures", { a in "no answer for \(a[0]) after \(a[1]) requests: \(a[2]) waiting packets dropped" },
                    brief: { a in "gave up on \(a[0])" })
        case .frameQueued:  // destination, source, type, length, padded length, FCS (hex) or "", interface
            Wording("frames sent", { a in "MAC header: destination \(a[0]), source \(a[1]), type \(a[2]); \(a[3]) bytes padded to \(a[4]) on the wire\(a.isEmpty(5) ? "" : ", FCS 0x\(a[5]) (CRC-32) appended"); the LAN adapter \(a[6]) turns the bits into a signal on the cable" },
                    brief: { a in "frame \(a[1]) → \(a[0]) \(a[2]), \(a[4]) bytes" })
        case .adapterAccepted:  // interface, length
            Wording("frames accepted by adapters", { a in "\(a[0]): signal turned back into \(a[1]) bytes; FCS recomputed and equal; destination MAC is mine or broadcast: stored in the adapter's receive buffer" },
                    brief: { a in "\(a[0]): \(a[1]) bytes accepted" })
        case .adapterFiltered:  // interface, mac
            Wording("frames ignored by MAC filters", { a in "\(a[0]): destination \(a[1]) is not my address: the adapter discards the frame (a hub sends everything everywhere)" },
                    brief: { a in "\(a[0]): not for me (\(a[1]))" })
        case .fcsDrop:  // interface
            Wording("frames dropped by FCS", { a in "\(a[0]): FCS mismatch — the CRC-32 of the received bits differs from the frame's FCS: damaged on the wire, discarded. The adapter does not ask for it again: only TCP recovers lost data" },
                    brief: { a in "\(a[0]): FCS mismatch, dropped" })
        case .runt:  // interface
            Wording("runts", { a in "\(a[0]): runt frame dropped" }, brief: { a in "\(a[0]): runt" })
        case .giant:  // interface, length
            Wording("oversized frames", { a in "\(a[0]): \(a[1])-byte frame longer than the MTU allows: dropped" }, brief: { a in "\(a[0]): oversized" })
        case .overflow:  // interface
            Wording("frames lost to a full buffer", { a in "\(a[0]): receive buffer full: frame lost" }, brief: { a in "\(a[0]): buffer full" })
        case .interrupt:  // interface, frames
            Wording("interrupts", { a in "\(a[0]) raises an interrupt: the CPU runs the LAN driver, which takes \(a[1]) frame\(a[1] == "1" ? "" : "s") from the adapter's buffer and hands \(a[1] == "1" ? "it" : "them") to the protocol stack" },
                    brief: { a in "\(a[0]): interrupt, \(a[1]) frame\(a[1] == "1" ? "" : "s")" })
        case .driver:  // ether type, "ARP" or "IP"
            Wording("frames handed up by drivers", { a in "driver reads the MAC header: type \(a[0]) → handed to \(a[1])" },
                    brief: { a in "type \(a[0]) → stack" })
        case .frameDropped:  // interface, error
            Wording("frames dropped by drivers", { a in "\(a[0]): frame dropped: \(a[1])" }, brief: { a in "dropped: \(a[1])" })
        case .hub:  // length, in port, out ports
            Wording("frames repeated by the hub", { a in "\(a[0])-byte signal in on port \(a[1]), repeated out of ports \(a[2]): a hub reads no address, checks nothing" },
                    brief: { a in "port \(a[1]) → all other ports" })
        case .switchLearned:  // mac, port
            Wording("addresses learned", { a in "learned: \(a[0]) is on port \(a[1]) (from the frame's source address)" },
                    brief: { a in "learned \(a[0]) on port \(a[1])" })
        case .switchForwarded:  // mac, in port, out port
            Wording("frames switched", { a in "FCS ok; \(a[0]) is in the MAC table on port \(a[2]): frame from port \(a[1]) goes out of that port only" },
                    brief: { a in "\(a[0]): port \(a[1]) → \(a[2])" })
        case .switchFlooded:  // mac, broadcast flag, in port, out ports
            Wording("frames flooded", { a in "\(a.flag(1) ? "broadcast" : "\(a[0]) not in the MAC table yet"): flooded from port \(a[2]) to ports \(a[3])" },
                    brief: { a in "\(a[0]): flooded from port \(a[2])" })
        case .switchFCS:  // length, port
            Wording("frames dropped by the switch's FCS check", { a in "\(a[0])-byte frame on port \(a[1]) fails the FCS check: dropped" },
                    brief: { a in "FCS drop on port \(a[1])" })
        case .corrupted:  // cable, bits
            Wording("frames damaged on wires", { a in "noise on the cable \(a[0]): \(a[1]) bit\(a[1] == "1" ? "" : "s") of the signal flipped — the frame arrives, but not as it was sent" },
                    brief: { a in "\(a[0]): \(a[1]) bit\(a[1] == "1" ? "" : "s") flipped" })
        case .lost:  // cable, length
            Wording("frames lost on wires", { a in "the cable \(a[0]) lost a \(a[1])-byte frame: nothing arrives at the other end" },
                    brief: { a in "\(a[0]): lost \(a[1]) bytes" })
        default:
            englishTCP(kind)
        }
    }
}
