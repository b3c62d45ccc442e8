// The English wording of what only `netstack demo --ipv6` says: IPv6 and neighbour
// discovery events (EventNarration.swift), and the steps' texts that name ARP or IPv4
// in the IPv4 story, worded for IPv6. Parameters are listed in each entry's comment.

extension Wording {
    static func englishIPv6(_ kind: PhraseKind) -> Wording? {
        switch kind {
        // MARK: Events
        case .route6:  // destination, matched route or "" for the default route, flags, next hop router or "", interface, next hop
            Wording("IPv6 route lookups", { a in "IPv6 routing table lookup for \(a[0]): longest match is \(a.isEmpty(1) ? "the default route (::/0)" : a[1]), Flag \(a[2]) → \(a.isEmpty(3) ? "no router: \(a[0]) is on the link itself" : "next hop router \(a[3])"), If \(a[4]); the neighbour to find with NDP is \(a[5])" },
                    brief: { a in "route \(a[0]) → \(a[5]) dev \(a[4])" })
        case .ip6Sent:  // source, destination, next header, hop limit, payload length, interface, header summary
            Wording("IPv6 datagrams built", { a in "IPv6 header added: \(a[0]) → \(a[1]), next header \(a[2]), hop limit \(a[3]), payload length \(a[4]) bytes (a fixed 40-byte header without checksum or fragment fields), leaving by \(a[5])" },
                    brief: { a in a[6] })
        case .ip6Received:  // interface, payload length, destination, verdict (local|forward|other), header summary, hop limit
            Wording("IPv6 datagrams checked", { a in
                let verdict = switch a[3] {
                case "local": "addressed to this host"
                case "forward": "not for this host: a router forwards it"
                default: "not for this host"
                }
                return "IPv6 checks on \(a[0]): version 6, payload length \(a[1]), hop limit \(a[5]) (no header checksum to verify); destination \(a[2]) is \(verdict)"
            }, brief: { a in "\(a[4]) ok" })
        case .forwarded6:  // source, destination, in interface, hop limit, out interface, next hop
            Wording("IPv6 datagrams forwarded", { a in "forwarding \(a[0]) → \(a[1]): in on \(a[2]), hop limit decremented to \(a[3]) (no checksum to patch; an IPv6 router never fragments), route lookup → out on \(a[4]) to next hop \(a[5])" },
                    brief: { a in "forwarded \(a[0]) → \(a[1]) hlim \(a[3]) via \(a[4])" })
        case .ndpHit:  // address, mac
            Wording("neighbour cache hits", { a in "neighbour cache hit: \(a[0]) is at \(a[1]) — no need to ask" },
                    brief: { a in "cache hit \(a[0]) → \(a[1])" })
        case .ndpMiss:  // address
            Wording("neighbour cache misses", { a in "neighbour cache miss for \(a[0]): the datagram waits in a queue while neighbour discovery asks the link" },
                    brief: { a in "cache miss \(a[0])" })
        case .ndpSolicit:  // interface, target, destination, DAD flag
            Wording("neighbour solicitations", { a in
                a.flag(3)
                    ? "duplicate address detection on \(a[0]): a neighbour solicitation for \(a[1]) from :: to its solicited-node group \(a[2]) — an answer would mean someone else holds the address"
                    : "neighbour solicitation (ICMPv6 type 135) on \(a[0]) to \(a[2]), the solicited-node multicast group of \(a[1]): only nodes whose addresses end alike listen — no broadcast: \"who has \(a[1])? my link address is in the option\""
            }, brief: { a in a.flag(3) ? "DAD probe for \(a[1])" : "who has \(a[1])? → \(a[2])" })
        case .ndpAdvert:  // target, destination, own mac, solicited flag
            Wording("neighbour advertisements", { a in "neighbour advertisement (ICMPv6 type 136) to \(a[1]): \"\(a[0]) is at \(a[2])\"\(a.flag(3) ? " (S flag: the answer to a solicitation)" : "")" },
                    brief: { a in "\(a[0]) is at \(a[2]) → \(a[1])" })
        case .ndpLearned:  // address, mac
            Wording("neighbour cache updates", { a in "neighbour cache: \(a[0]) is at \(a[1]) — kept while traffic confirms it; once stale, the entry is probed before its next use (neighbour unreachability detection)" },
                    brief: { a in "learned \(a[0]) → \(a[1])" })
        // MARK: Steps
        case .diagramLegend6:
            Wording({ _ in "LAN A 2001:db8:a::/64: a hub repeats every frame     LAN B 2001:db8:b::/64: a switch learns MACs\nEvery cable: 100 Mbit/s Ethernet with an FCS. IPv6 only: no host has an IPv4 address." })
        case .powerOnExplanation6:
            Wording({ _ in "Each host configures its IPv6 addresses, a link-local fe80:: one and a global one, each with its on-link route, and joins their solicited-node multicast groups (MLD reports). Duplicate address detection then asks the link whether anyone else holds them — a neighbour solicitation from :: and a second of silence. IPv6 has no ARP: neighbour discovery, over ICMPv6, takes its place. The neighbour caches start empty." })
        case .resolveExplanation6:
            Wording({ _ in "The socket library holds the resolver, a DNS client. The name is neither in the hosts table nor in the cache, so it sends an AAAA query (the IPv6 address record) over UDP over IPv6 to the nameserver 2001:db8:b::53. That address is on another network: the IPv6 routing table says to go through the router 2001:db8:a::1 — whose link address neighbour discovery must find first, with a solicitation to the router's solicited-node multicast group, since the cache is empty. Every layer of the chapter takes its turn, in the order below." })
        case .resolveOutcome6:  // name, address, source, ttl
            Wording({ a in "\(a[0]) is \(a[1]) (\(a[2]), valid \(a[3]) s); the browser's neighbour cache now holds the router" })
        case .connectExplanation6:
            Wording({ _ in "connect() tells the stack the server's address and port. TCP picks a local port, sets aside send and receive buffers, and exchanges with the server what each side needs to know: its initial sequence number, its window (free receive buffer) and its MSS (the most data one segment may carry: 20 bytes less than over IPv4, for the larger IP header). The caches are warm now: no neighbour discovery this time." })
        case .tablesExplanation6:
            Wording({ _ in "The same views with IPv6's tools: netstat, route -6 and the neighbour cache (ip -6 neigh). TIME_WAIT still holds the browser's old connection; the neighbour entries learned along the way go stale after a while without traffic, and are probed again before their next use." })
        case .hostSummary6:  // host, routes, neighbour entries, sockets, TIME_WAIT sockets
            Wording({ a in "\(a[0]): \(a[1]) IPv6 route\(a[1] == "1" ? "" : "s"), neighbour cache \(a[2]) entr\(a[2] == "1" ? "y" : "ies"), \(a[3]) socket\(a[3] == "1" ? "" : "s")\(a[4] == "0" ? "" : " (\(a[4]) in TIME_WAIT)")" })
        case .ndpDNSCounter:  // neighbour solicitations, DNS queries
            Wording({ a in "neighbour solicitations: \(a[0]); DNS queries: \(a[1])" })
        default:
            nil
        }
    }
}
