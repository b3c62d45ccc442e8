// The English wording of the steps' headings, calls, outcomes and tables (DemoRun*.swift, Narrator.swift).

extension Wording {
    static func englishSteps(_ kind: PhraseKind) -> Wording? {
        switch kind {
        case .title:  // seed
            Wording({ a in "NetStack demo — the chapter's journey, run on a simulated network (seed \(a[0]))" })
        case .diagramLegend:
            Wording({ _ in "LAN A 192.0.2.0/24: a hub repeats every frame     LAN B 198.51.100.0/24: a switch learns MACs\nEvery cable: 100 Mbit/s Ethernet with an FCS." })
        case .settings:  // loss percentage or "", MTU or "", MSS
            Wording({ a in
                let settings = [a.isEmpty(0) ? nil : "every cable also loses \(a[0]) of frames at random",
                                a.isEmpty(1) ? nil : "MTU \(a[1]) on every link, so MSS \(a[2])"].compactMap { $0 }
                return "Settings: " + settings.joined(separator: "; ") + "."
            })
        case .powerOnHeading: Wording({ _ in "0. Power on" })
        case .powerOnExplanation:
            Wording({ _ in "Each host configures its address: a connected route appears in its routing table, and a gratuitous ARP announces the address on its LAN. The ARP caches start empty." })
        case .powerOnEvents:  // events
            Wording({ a in "(\(a[0]) events while the hosts announced themselves; the story starts now)" })
        case .socketHeading: Wording({ _ in "1. The browser asks the socket library for a socket" })
        case .socketExplanation:
            Wording({ _ in "An application never calls the protocol stack directly: it calls the socket library. socket() makes a new record of control information in the stack's socket table and returns a descriptor — a small number the application uses to name it from then on." })
        case .callSocket:  // fd
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_STREAM)  →  \(a[0])   (0, 1 and 2 are standard input, output and error)" })
        case .socketRowTitle: Wording({ _ in "the socket table's new row: nothing is filled in yet but the protocol" })
        case .callReceiveBuffer:  // fd, size
            Wording({ a in "setsockopt(\(a[0]), SO_RCVBUF, \(a[1]))  →  0   (a small receive buffer, so that the window it advertises is seen to fill and open)" })
        case .socketOutcome:  // fd
            Wording({ a in "descriptor \(a[0]) names the browser's socket" })
        case .resolveHeading:  // name
            Wording({ a in "2. The resolver asks DNS for \(a[0])" })
        case .resolveExplanation:
            Wording({ _ in "The socket library holds the resolver, a DNS client. The name is neither in the hosts table nor in the cache, so it sends an A query over UDP to the nameserver 198.51.100.53. That address is on another network: IP's routing table says to go through the gateway 192.0.2.1 — whose MAC address ARP must find first, since the cache is empty. Every layer of the chapter takes its turn, in the order below." })
        case .callLookup:  // name, nameserver, asked again flag
            Wording({ a in "getaddrinfo(\"\(a[0])\")   (resolver: nameserver \(a[1]), timeout 1 s, 3 attempts)\(a.flag(2) ? " — asked again after the lookup failed" : "")" })
        case .resolverCouldNotStart:  // error
            Wording({ a in "the resolver could not start: \(a[0])" })
        case .noAddress:  // name, state
            Wording({ a in "no address for \(a[0]): \(a[1])" })
        case .resolveOutcome:  // name, address, source, ttl
            Wording({ a in "\(a[0]) is \(a[1]) (\(a[2]), valid \(a[3]) s); the browser's ARP cache now holds the gateway" })
        case .callLookupAgain:  // name
            Wording({ a in "getaddrinfo(\"\(a[0])\")   (the same name again)" })
        case .lookupAgainOutcome:  // source, ttl
            Wording({ a in "asked again: answered from the resolver's \(a[0]) at once (\(a[1]) s left) — no query, no frame" })
        case .connectHeading: Wording({ _ in "3. connect(): the three-way handshake" })
        case .connectExplanation:
            Wording({ _ in "connect() tells the stack the server's address and port. TCP picks a local port, sets aside send and receive buffers, and exchanges with the server what each side needs to know: its initial sequence number, its window (free receive buffer) and its MSS (the most data one segment may carry). The caches are warm now: no ARP this time." })
        case .callConnect:  // fd, remote
            Wording({ a in "connect(\(a[0]), \(a[1]))" })
        case .connectFailed:  // error
            Wording({ a in "connect failed: \(a[0])" })
        case .noConnection:  // error or ""
            Wording({ a in "no connection\(a.isEmpty(0) ? "" : ": \(a[0])")" })
        case .connectOutcome:  // local, remote, browser's MSS, server's MSS, segment size
            Wording({ a in "connected: \(a[0]) ↔ \(a[1]); MSS \(a[2]) (browser) and \(a[3]) (server) announced, so each full segment carries \(a[4]) bytes of data (the timestamp option takes 12)" })
        case .netstatFilled:  // host
            Wording({ a in "\(a[0])$ netstat   (the socket's control information, filled in)" })
        case .signalTitle: Wording({ _ in "The SYN on the cable: what the browser's LAN adapter sends" })
        case .signalOutcome:  // hex bytes, same flag
            Wording({ a in "decoded back from the signal: \(a[0]) — \(a.flag(1) ? "the same bytes as the SYN's start in the capture ✓" : "NOT the bytes sent ✗")" })
        case .transferHeading:  // page size
            Wording({ a in "4. The HTTP GET, and a page of \(a[0]) bytes in segments" })
        case .transferExplanation:
            Wording({ _ in "send() hands the request to the protocol stack. The answer is far larger than the MSS, so the server's TCP cuts it into segments and sends several before any ACK comes back — as many as the window allows. The browser acknowledges with the next byte it expects and announces its free buffer space in every ACK's window field; it reads (renders) 8 KiB per millisecond, slower than the link delivers, so the window is seen to shrink and open." })
        case .callSendRequest:  // fd, name, length
            Wording({ a in "send(\(a[0]), \"GET / HTTP/1.1\\r\\nHost: \(a[1])…\", \(a[2]))" })
        case .requestNotSent: Wording({ _ in "the request could not be sent" })
        case .stillIncomplete:  // seconds
            Wording({ a in "still incomplete after \(a[0]) s of simulated time" })
        case .pageIncomplete:  // why, bytes
            Wording({ a in "the page did not arrive whole: \(a[0]); \(a[1]) bytes of body so far" })
        case .serverSide:  // state, summary
            Wording({ a in "the server's side of the connection: \(a[0]) \(a[1])" })
        case .transferOutcome:  // status, bytes, segments, reads, duration
            Wording({ a in "HTTP \(a[0]): \(a[1]) bytes of page in \(a[2]) data segments, read in \(a[3]) recv() calls, \(a[4]) of simulated time after the GET" })
        case .hashServed:  // hash
            Wording({ a in "SHA-256 served   \(a[0])" })
        case .hashReceived:  // hash, identical flag
            Wording({ a in "SHA-256 received \(a[0])  \(a.flag(1) ? "— identical ✓" : "— DIFFERENT ✗")" })
        case .retransmissionItem:  // seq, fast flag
            Wording({ a in "seq \(a[0]) (\(a.flag(1) ? "fast retransmit" : "timeout"))" })
        case .recoveredOutcome:  // count, list, duplicate ACKs, window updates, zero windows
            Wording({ a in "recovered by TCP alone: \(a[0]) retransmission\(a[0] == "1" ? "" : "s") — \(a[1]); the browser sent \(a[2]) duplicate ACKs, \(a[3]) window updates and \(a[4]) zero-window ACKs" })
        case .noiseHeading:
            Wording({ _ in "5. Noise on the cable: one frame damaged — the adapter drops it, TCP recovers it" })
        case .noiseExplanation:  // segment number
            Wording({ a in "Data segment number \(a[0]) on its way to the browser gets one bit flipped on the cable from the hub. The browser's LAN adapter turns the signal back into bits, computes their CRC-32, finds it differs from the frame's FCS and throws the frame away. No adapter, hub or router asks for it again. The segments after it arrive out of order; the browser's duplicate ACKs, with SACK blocks, tell the server, which still has the bytes in its send buffer and sends them again." })
        case .closeHeading:
            Wording({ _ in "6. close(): FIN from each side, and TIME_WAIT on the side that closed first" })
        case .closeExplanation:
            Wording({ _ in "The browser has the whole page and closes first. Each side sends a FIN and acknowledges the other's. The server's socket is deleted at the last ACK; the browser's stays in TIME_WAIT for 2 × MSL, so that a FIN the server might send again (had the last ACK been lost) cannot reach a new socket that took the same port." })
        case .callClose:  // fd
            Wording({ a in "close(\(a[0]))" })
        case .notTimeWait:  // state
            Wording({ a in "the browser's connection is \(a[0]), not TIME_WAIT" })
        case .connectionGone: Wording({ _ in "gone" })
        case .closeOutcome:  // local, remote
            Wording({ a in "the browser, which closed first, holds \(a[0]) ↔ \(a[1]) in TIME_WAIT for 60 s; the server's socket is gone" })
        case .reuseIntro:  // local, remote
            Wording({ a in "Meanwhile a new socket tries to take the same 4-tuple (\(a[0]) ↔ \(a[1])):" })
        case .callSocketAgain:  // fd
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_STREAM)  →  \(a[0])   (the descriptor number is free again; the port is not)" })
        case .callBind:  // fd, local, error or "", port (when the TIME_WAIT socket holds it) or ""
            Wording({ a in "bind(\(a[0]), \(a[1]))  →  \(a.isEmpty(2) ? "0" : a[2])\(a.isEmpty(3) ? "" : ": the TIME_WAIT socket still owns port \(a[3])")" })
        case .callReuseAddress:  // fd
            Wording({ a in "setsockopt(\(a[0]), SO_REUSEADDR, 1)  →  0   (allows binding a port whose old connection is in TIME_WAIT)" })
        case .callConnectReused:  // fd, remote
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  started: the stack let the 4-tuple be reused" })
        case .callConnectRefused:  // fd, remote, error
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  \(a[2]): that exact 4-tuple belongs to the TIME_WAIT socket; no SYN is sent" })
        case .reuseOutcome:  // refused flag, local, remote
            Wording({ a in a.flag(0)
                ? "refused: a new connection cannot take \(a[1]) ↔ \(a[2]) while TIME_WAIT lasts (a fresh socket would simply get another port)"
                : "the stack allowed the 4-tuple to be reused during TIME_WAIT" })
        case .ladderHeading: Wording({ _ in "The whole connection as a ladder diagram" })
        case .ladderExplanation:
            Wording({ _ in "Time runs down (milliseconds since the SYN); sequence and ACK numbers are counted from each side's initial sequence number. Runs of ordinary segments are folded into one line; the handshake, the loss, the recovery, the window's first closing and the close are kept. ✗ marks a segment the other side's TCP never received." })
        case .udpHeading: Wording({ _ in "7. UDP: a lost datagram is simply gone" })
        case .udpExplanation:  // datagrams, port, dropped datagram
            Wording({ a in "UDP has no connection, no ACK and no retransmission — right for live audio and video, where late data is useless anyway. The browser sends \(a[0]) datagrams of 160 bytes (20 ms of telephone audio each), 20 ms apart, to the server's UDP echo service on port \(a[1]). Datagram \(a[2]) is lost on the cable from the router to the switch." })
        case .callUDPSocket:  // fd
            Wording({ a in "fd = socket(AF_INET\(a.flag(1) ? "6" : ""), SOCK_DGRAM)  →  \(a[0])" })
        case .callUDPConnect:  // fd, peer
            Wording({ a in "connect(\(a[0]), \(a[1]))  →  0   (for UDP this only records the peer: nothing is sent)" })
        case .callUDPSend:  // fd, number, datagrams, length
            Wording({ a in "send(\(a[0]), \"audio frame \(a[1])/\(a[2]) …\", \(a[3]))" })
        case .echoOutcome:  // echoed, missing or ""
            Wording({ a in "echoes came back for \(a[0]); missing: \(a.isEmpty(1) ? "none" : a[1])" })
        case .udpStackOutcome:  // datagrams, send calls
            Wording({ a in "the browser's UDP sent \(a[0]) datagrams for \(a[1]) send() calls: nothing was sent again, and nobody noticed the loss but the application" })
        case .tablesHeading: Wording({ _ in "The hosts' tables at the end" })
        case .tablesExplanation:
            Wording({ _ in "The same views the chapter shows with netstat, route and arp. TIME_WAIT still holds the browser's old connection; the ARP entries learned along the way are kept for 60 s." })
        case .hostSummary:  // host, routes, ARP entries, sockets, TIME_WAIT sockets
            Wording({ a in "\(a[0]): \(a[1]) route\(a[1] == "1" ? "" : "s"), ARP cache \(a[2]) entr\(a[2] == "1" ? "y" : "ies"), \(a[3]) socket\(a[3] == "1" ? "" : "s")\(a[4] == "0" ? "" : " (\(a[4]) in TIME_WAIT)")" })
        case .switchTableTitle: Wording({ _ in "switch MAC table (learned from source addresses):" })
        case .switchSummary:  // entries
            Wording({ a in "switch: MAC table \(a[0]) entr\(a[0] == "1" ? "y" : "ies"), learned from source addresses" })
        case .countersHeading: Wording({ _ in "Counters" })
        case .framesSentSummary:  // "browser 64, laptop 1, …"
            Wording({ a in "frames sent: \(a[0])" })
        case .hubCounter:  // frames
            Wording({ a in "hub: repeated \(a[0]) frames out of its ports (every frame to every other port)" })
        case .switchCounter:  // frames, forwarded, flooded, FCS drops
            Wording({ a in "switch: sent \(a[0]) frames — \(a[1]) to one learned port, \(a[2]) flooded; FCS drops \(a[3])" })
        case .routerCounter:  // datagrams
            Wording({ a in "router: forwarded \(a[0]) datagrams between the LANs" })
        case .cableCounter:  // damaged, lost
            Wording({ a in "cables: \(a[0]) frame\(a[0] == "1" ? "" : "s") damaged, \(a[1]) lost" })
        case .fcsCounter:  // drops
            Wording({ a in "frames dropped by FCS checks: \(a[0])" })
        case .tcpCounter:  // retransmissions, duplicate ACKs, window updates, zero windows
            Wording({ a in "TCP retransmissions: \(a[0]) (duplicate ACKs \(a[1]), window updates \(a[2]), zero windows \(a[3]))" })
        case .arpDNSCounter:  // ARP requests, DNS queries
            Wording({ a in "ARP requests: \(a[0]); DNS queries: \(a[1])" })
        case .didNotComplete: Wording({ _ in "Did not complete:" })
        case .manchesterExplanation:
            Wording({ _ in "Manchester code, as 10BASE-T sends it (IEEE 802.3 clause 7): each bit lasts 100 ns and leaves least-significant first; the line changes level in the middle of every bit, low→high for a 1 and high→low for a 0, so the receiver recovers the sender's clock from the signal itself." })
        case .signalSkippedField:  // dots, count, field, hex of every byte or ""
            Wording({ a in "\(a[0]) \(a[1]) more \(a[2]) \(a[1] == "1" ? "byte" : "bytes") before these\(a.isEmpty(3) ? "" : " (\(a[3]) each)")" })
        case .signalSkippedBytes:  // dots, count, hex of every byte or "", fields or ""
            Wording({ a in "\(a[0]) \(a[1]) more \(a[1] == "1" ? "byte" : "bytes") before these\(a.isEmpty(2) ? "" : " (\(a[2]) each)")\(a.isEmpty(3) ? "" : ": \(a[3])")" })
        case .ladderFoldedEntry:  // count, "data", "ack" or "segment", first flag
            Wording({ a in
                let one = a[0] == "1"
                let noun = switch a[1] {
                case "data": one ? "data segment" : "data segments"
                case "ack": one ? "ACK" : "ACKs"
                default: one ? "segment" : "segments"
                }
                return "\(a[0]) \(a.flag(2) ? "more " : "")\(noun)"
            })
        case .ladderFolded:  // entries
            Wording({ a in a[0] })
        case .answerSource:  // "hosts", "cache", "nameserver" or "literal"; the nameserver's address
            Wording({ a in
                switch a[0] {
                case "hosts": "hosts table"
                case "nameserver": "nameserver \(a[1])"
                default: a[0]
                }
            })
        case .problemNoAddresses: Wording({ _ in "the browser's socket had no addresses to close" })
        case .problemCallFailed:  // the call, the error
            Wording({ a in "\(a[0]) failed: \(a[1])" })
        case .problemCallFailedAtOnce:  // the call, the error
            Wording({ a in "\(a[0]) failed at once: \(a[1])" })
        case .problemRequestFailed:  // the result of send()
            Wording({ a in "send() of the GET failed: \(a[0])" })
        case .problemCloseUnfinished:  // seconds
            Wording({ a in "the close did not finish within \(a[0]) s of simulated time" })
        case .problemNotTimeWait:  // state
            Wording({ a in "the browser's connection is \(a[0]), not TIME_WAIT: the reuse test was skipped" })
        case .problemLookupFailed:  // tries, state
            Wording({ a in "DNS lookup did not succeed in \(a[0]) tries (\(a[1]))" })
        case .problemHandshakeUnfinished:  // seconds, error or ""
            Wording({ a in "the handshake did not complete within \(a[0]) s of simulated time\(a.isEmpty(1) ? "" : " (\(a[1]))")" })
        case .problemNoSYN: Wording({ _ in "the SYN was not found in the capture" })
        case .problemNoDamage: Wording({ _ in "the planned frame damage did not happen (the transfer ended first)" })
        case .problemNoPage:  // why, bytes
            Wording({ a in "the page did not arrive: \(a[0]) (\(a[1]) bytes)" })
        case .problemNoConnection: Wording({ _ in "no connection: the HTTP, close and TIME_WAIT steps were skipped" })
        case .problemServerFailed:  // error
            Wording({ a in "a server could not start: \(a[0])" })
        case .pressEnter: Wording({ _ in "(press Enter for the next step)" })
        case .repeatEntry:  // count, first flag, noun (in this language)
            Wording({ a in "\(a[0]) \(a.flag(1) ? "more " : "")\(counted(a[2], Int(a[0]) ?? 0))" })
        case .lowerRepeats:  // count, alone flag, explain layers flag, IPv6 flag
            Wording({ a in "\(a[0]) \(a.flag(1) ? "more " : "")frame-level \(a[0] == "1" ? "event" : "events")\(a.flag(2) ? " (\(a.flag(3) ? "IPv6, NDP" : "IP, ARP"), Ethernet, adapters, hub, switch, router)" : "") like those told above" })
        case .repeatsSummary:  // upper-layer entries or "", lower-layer part or ""
            Wording({ a in "…and " + (a.isEmpty(0) ? a[1] : a.isEmpty(1) ? a[0] : "\(a[0]) — with \(a[1])") })
        default:
            englishIPv6(kind)
        }
    }
}
