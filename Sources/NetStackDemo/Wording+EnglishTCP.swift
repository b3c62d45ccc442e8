// The English wording of the TCP storyteller's phrases (TCPStoryteller.swift).

extension Wording {
    static func englishTCP(_ kind: PhraseKind) -> Wording? {
        switch kind {
        case .tcpState:  // state (as Linux prints it), local, remote
            Wording("state changes", { a in
                let meaning = switch a[0] {
                case "SYN_SENT": "waiting for the server's SYN-ACK"
                case "SYN_RECV": "a half-open connection under the listening socket, waiting for the last ACK of the handshake"
                case "ESTABLISHED": "both sides know each other's sequence numbers, windows and MSS: data can flow"
                case "FIN_WAIT1": "close() was called: its FIN is out, waiting for the ACK"
                case "FIN_WAIT2": "its FIN is acknowledged: waiting for the other side's FIN"
                case "CLOSE_WAIT": "the other side has closed its half: recv() returns 0 (end of stream) until this application closes too"
                case "LAST_ACK": "its own FIN is out after the peer's: waiting for the last ACK"
                case "CLOSING": "both sides sent FIN at once: waiting for the ACK of its own"
                case "TIME_WAIT": "it closed first, so it keeps the socket for 2 × MSL (60 s here, as on Linux): a FIN sent again by the peer must not reach a new socket on the same port"
                case "LISTEN": "listening"
                default: "the connection is over and its control record deleted"
                }
                return "state \(a[0]) for \(a[1]) ↔ \(a[2]): \(meaning)"
            }, brief: { a in "\(a[1]) ↔ \(a[2]): \(a[0])" })
        case .tcpBriefSent:  // flags, from port, to port, seq, ack or "", window, length
            Wording({ a in "\(a[0]) \(a[1]) → \(a[2]) seq \(a[3])\(a.isEmpty(4) ? "" : " ack \(a[4])") win \(a[5]) len \(a[6])" })
        case .tcpBriefReceived:  // flags, from port, seq, ack or "", window, length
            Wording({ a in "\(a[0]) from \(a[1]) seq \(a[2])\(a.isEmpty(3) ? "" : " ack \(a[3])") win \(a[4]) len \(a[5])" })
        case .synOptions:  // mss or "", window scale or "", SACK permitted flag, timestamps flag
            Wording({ a in
                let mss = a.isEmpty(0) ? "no MSS" : "MSS \(a[0]) (its link's MTU − 40 bytes of IP and TCP headers)"
                let scale = a.isEmpty(1) ? "" : a[1] == "0" ? ", window scale 0 (its windows need no scaling)"
                    : ", window scale \(a[1]) (its later windows count in units of \(1 << (Int(a[1]) ?? 0)) bytes)"
                let extras = [a.flag(2) ? "SACK permitted" : nil, a.flag(3) ? "timestamps" : nil].compactMap { $0 }.joined(separator: " and ")
                return mss + scale + (extras.isEmpty ? "" : ", \(extras)")
            })
        case .sentSYN:  // to, ISN, window, options, brief
            Wording("handshake segments", { a in "SYN → \(a[0]): the first segment of the three-way handshake. Initial sequence number \(a[1]) (from here on counted from it: seq 0), window \(a[2]) bytes — the free space in its receive buffer — \(a[3])" },
                    brief: { a in a[4] })
        case .sentSYNACK:  // to, ISN, ack, window, options, brief
            Wording("handshake segments", { a in "SYN-ACK → \(a[0]): the server's half of the handshake: its own initial sequence number \(a[1]) (seq 0 from here on), ack \(a[2]) = the browser's ISN + 1 (a SYN counts as one byte), window \(a[3]), \(a[4])" },
                    brief: { a in a[5] })
        case .sentRequest:  // length, to, seq, ack or "", PSH flag, brief
            Wording("data segments", { a in "send(): the GET request, \(a[0]) bytes, in one segment → \(a[1]): seq \(a[2]) = the position of its first byte\(a.isEmpty(3) ? "" : ", ack \(a[3])"). It is less than one MSS, and the stack could wait for more (Nagle), but nothing else is in flight, so it goes now\(a.flag(4) ? "; PSH: the last of what was written — hand it to the application now" : "")" },
                    brief: { a in a[5] })
        case .sentData:  // to, first byte, last byte, seq, length, ack or "", window, brief
            Wording("data segments", { a in "data segment → \(a[0]): bytes \(a[1])–\(a[2]) of the stream (seq \(a[3]), len \(a[4]))\(a.isEmpty(5) ? "" : ", ack \(a[5])"), window \(a[6]). The answer is larger than the MSS, so TCP cuts it into segments and sends several before any ACK comes back — as many as the receiver's window and its congestion window allow; each stays in the send buffer until acknowledged" },
                    brief: { a in a[7] })
        case .sentRetransmission:  // to, first byte, last byte, seq, length, fast flag, brief
            Wording("retransmissions", { a in
                let why = a.flag(5)
                    ? "duplicate ACKs said this segment never arrived while later ones did (fast retransmit, RFC 5681 §3.2; the SACK blocks told exactly what arrived)"
                    : "no ACK came before the retransmission timer expired (RTO, RFC 6298)"
                return "retransmission → \(a[0]): bytes \(a[1])–\(a[2]) again (seq \(a[3]), len \(a[4])): \(why). The bytes were still in the send buffer — only TCP recovers lost data; the adapters, hub, switch and router did nothing"
            }, brief: { a in "retransmission \(a[6])" })
        case .windowScaleNote:  // window field, shift
            Wording({ a in " (the field says \(a[0]), × 2^\(a[1]) by the window scale option)" })
        case .sentHandshakeACK:  // to, ack, window, scale note or "", brief
            Wording("ACKs", { a in "ACK → \(a[0]): ack \(a[1]) — the third segment of the handshake: \"I got your SYN; next I expect byte \(a[1])\". Window \(a[2]) bytes\(a[3])" },
                    brief: { a in a[4] })
        case .sentACK:  // to, ack, window, scale note or "", brief
            Wording("ACKs", { a in "ACK → \(a[0]): ack \(a[1]) — \"I have every byte before \(a[1]); next I expect byte \(a[1])\" — and window \(a[2]): the free space in its receive buffer\(a[3]). One ACK may cover several segments" },
                    brief: { a in a[4] })
        case .sentBareACK:  // to, brief
            Wording("ACKs", { a in "ACK → \(a[0])" }, brief: { a in a[1] })
        case .sentDuplicateACK:  // to, ack, SACK ranges or "", brief
            Wording("duplicate ACKs", { a in "duplicate ACK → \(a[0]): still ack \(a[1]) — a segment is missing. \(a.isEmpty(2) ? "" : "The SACK option says which bytes beyond the hole it holds already: \(a[2]). ")The bytes after the hole wait in the receive buffer; the application gets nothing until the hole is filled" },
                    brief: { a in "dup ACK \(a[3])" })
        case .sentWindowUpdate:  // to, ack, window, brief
            Wording("window updates", { a in "window update → \(a[0]): same ack \(a[1]), window now \(a[2]) bytes: the application has read from the receive buffer and made room, and TCP tells the sender in the window field" },
                    brief: { a in "window update \(a[3])" })
        case .sentZeroWindow:  // to, ack, brief
            Wording("zero-window ACKs", { a in "ACK → \(a[0]): ack \(a[1]), window 0 — the receive buffer is full because the application has not read it yet: the sender must stop and wait for a window update" },
                    brief: { a in "zero window \(a[2])" })
        case .sentProbe:  // to, brief
            Wording("window probes", { a in "window probe → \(a[0]): the window has been 0 for a while; an old sequence number makes the receiver answer with its current window (RFC 9293 §3.8.6.1)" },
                    brief: { a in "probe \(a[1])" })
        case .sentFINBrowser:  // to, seq, ack, brief
            Wording("FINs", { a in "FIN → \(a[0]): seq \(a[1]), ack \(a[2]) — close() was called: \"I have nothing more to send\". The socket is marked as closing" },
                    brief: { a in a[3] })
        case .sentFINPeer:  // to, seq, ack, host, brief
            Wording("FINs", { a in "FIN → \(a[0]): seq \(a[1]), ack \(a[2]) — the \(a[3])'s application saw the end of the stream and closed its socket too" },
                    brief: { a in a[4] })
        case .sentRST:  // to, brief
            Wording("resets", { a in "RST → \(a[0]): the connection is refused or torn down" }, brief: { a in a[1] })
        case .receivedInOrder:  // host, seq, length, next
            Wording("segments reassembled", { a in "TCP on \(a[0]): checksum ok, the 4-tuple finds the socket; seq \(a[1]) is the next byte expected: \(a[2]) bytes go into the receive buffer, in order, for the application's recv(); next expected byte \(a[3])" },
                    brief: { a in "in order: seq \(a[1]) len \(a[2]), next \(a[3])" })
        case .receivedOutOfOrder:  // host, seq, expected, length
            Wording("segments out of order", { a in "TCP on \(a[0]): seq \(a[1]) arrives but byte \(a[2]) is expected — a segment is missing. These \(a[3]) bytes are kept aside in the receive buffer (not given to the application) and an ACK for \(a[2]) goes back at once" },
                    brief: { a in "out of order: seq \(a[1]) len \(a[3]), still expecting \(a[2])" })
        case .receivedFillsHole:  // host, first byte, last byte, last in order, next, seq
            Wording("holes filled", { a in "TCP on \(a[0]): the retransmitted bytes \(a[1])–\(a[2]) fill the hole: everything up to byte \(a[3]) is now in order and goes to the application at once; next expected byte \(a[4])" },
                    brief: { a in "hole filled by seq \(a[5]): in order up to \(a[3])" })
        case .receivedDuplicate:  // host, seq, length
            Wording("duplicate segments", { a in "TCP on \(a[0]): seq \(a[1]) len \(a[2]) holds bytes it already has: dropped, and an ACK repeats what it expects" },
                    brief: { a in "duplicate seq \(a[1]) dropped" })
        case .receivedSYN:  // host, port, brief
            Wording("handshake segments received", { a in "TCP on \(a[0]): a SYN for port \(a[1]), where a socket listens: the stack records the browser's sequence number, window and MSS in a new control record" },
                    brief: { a in a[2] })
        case .receivedSYNACK:  // host, brief
            Wording("handshake segments received", { a in "TCP on \(a[0]): the SYN-ACK acknowledges its SYN; it records the server's sequence number, window and MSS" },
                    brief: { a in a[1] })
        case .receivedFIN:  // host, from, brief
            Wording("FINs received", { a in "TCP on \(a[0]): FIN from \(a[1]) — the other side will send nothing more; the application's recv() will return 0 once it has read everything" },
                    brief: { a in a[2] })
        case .receivedDuplicateACK:  // host, count, ack, SACK ranges or ""
            Wording("duplicate ACKs received", { a in "TCP on \(a[0]): duplicate ACK #\(a[1]) for \(a[2])\(a.isEmpty(3) ? "" : " with SACK \(a[3])"): the browser lacks that byte while later ones arrive. Three duplicates — or SACK blocks covering three segments past the hole — mean the segment is lost (RFC 5681 §3.2, RFC 6675)" },
                    brief: { a in "dup ACK #\(a[1]) for \(a[2])" })
        case .receivedZeroWindow:  // host, ack, window
            Wording("ACKs received", { a in "TCP on \(a[0]): window 0 — the receiver's buffer is full. It stops sending new data and waits for a window update (and probes, should that update be lost)" },
                    brief: { a in "ACK \(a[1]) win \(a[2])" })
        case .receivedACK:  // host, ack, window
            Wording("ACKs received", { a in "TCP on \(a[0]): ACK \(a[1]): the bytes before \(a[1]) arrived, so they leave the send buffer (no longer kept for retransmission); the window of \(a[2]) bytes says how much more may be in flight" },
                    brief: { a in "ACK \(a[1]) win \(a[2])" })
        case .receivedHandshakeACK:  // host, brief
            Wording("ACKs received", { a in "TCP on \(a[0]): the ACK completes the three-way handshake" }, brief: { a in a[1] })
        default:
            englishSteps(kind)
        }
    }
}
