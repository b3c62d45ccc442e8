import NetStackWire
import NetStackCore

/// Tells the TCP events of the demo's hosts in the chapter's terms —
/// segments, sequence and acknowledgment numbers counted from each side's
/// initial sequence number, windows in bytes, losses and retransmissions,
/// state changes — and records the browser's connection as a ladder diagram.
///
/// The stack reports a state change only when it happens outside segment
/// processing, so the storyteller also compares each host's connection table
/// with what it saw last, at every TCP event and whenever the demo asks.
final class TCPStoryteller {
    let tracker = TCPFlowTracker()
    /// The ladder of the browser's connection, from its first SYN.
    private(set) var ladder: LadderRecorder?
    /// The browser's host name (the left end of the ladder).
    let browser: String
    /// States last seen, by host and connection.
    private var states: [String: [ConnectionPair: TCPState]] = [:]
    /// Retransmissions sent, in order: by which host, the relative sequence number, whether fast.
    private(set) var retransmissions: [(host: String, seq: Int, length: Int, fast: Bool)] = []
    private(set) var duplicateAcksSent = 0
    private(set) var windowUpdatesSent = 0
    private(set) var zeroWindowsSent = 0
    /// Data segments sent for the first time, by host name.
    private(set) var dataSegmentsSent: [String: Int] = [:]
    /// The MSS each host announced in its last SYN or SYN-ACK, by host name.
    private(set) var announcedMSS: [String: Int] = [:]

    private struct ConnectionPair: Hashable {
        var local: Endpoint
        var remote: Endpoint

        /// A total order, so the narration never depends on a dictionary's order.
        static func precedes(_ a: ConnectionPair, _ b: ConnectionPair) -> Bool {
            (a.local.address, a.local.port, a.remote.address, a.remote.port)
                < (b.local.address, b.local.port, b.remote.address, b.remote.port)
        }
    }

    init(browser: String) {
        self.browser = browser
    }

    /// The narration for a TCP event of `host` (the state changes noticed first); empty for other events.
    func narrate(_ event: StackEvent, host: Host, now: Instant) -> [Narration] {
        switch event {
        case let .tcpSegmentSent(header, length, to):
            guard let address = host.addresses.first?.address else { return [] }
            let local = Endpoint(address, header.sourcePort)
            return noticeStates(host, now: now) + [segmentSent(header, length: length, from: local, to: to, host: host, now: now)]
        case let .tcpSegmentReceived(header, length, from):
            guard let address = host.addresses.first?.address else { return [] }
            let local = Endpoint(address, header.destinationPort)
            return noticeStates(host, now: now) + segmentArrived(header, length: length, from: from, to: local, host: host, now: now)
        case .tcpStateChanged:
            return noticeStates(host, now: now)
        default:
            return []
        }
    }

    // MARK: States

    /// Compares `host`'s connection table with what was seen last: a narration per change.
    func noticeStates(_ host: Host, now: Instant) -> [Narration] {
        var seen: [ConnectionPair: TCPState] = [:]
        for info in host.tcpConnectionInfo() { seen[ConnectionPair(local: info.local, remote: info.remote)] = info.state }
        let before = states[host.name] ?? [:]
        states[host.name] = seen
        var told: [Narration] = []
        for pair in seen.keys.sorted(by: ConnectionPair.precedes) where before[pair] != seen[pair] {
            told.append(stateNarration(pair, seen[pair] ?? .closed, host: host, now: now))
        }
        for pair in before.keys.sorted(by: ConnectionPair.precedes) where seen[pair] == nil {
            told.append(stateNarration(pair, .closed, host: host, now: now))
        }
        return told
    }

    private func stateNarration(_ pair: ConnectionPair, _ state: TCPState, host: Host, now: Instant) -> Narration {
        if let ladder, let atLeft = ladder.side(local: pair.local, remote: pair.remote) {
            ladder.entered(state, atLeft: atLeft, at: now)
        }
        let meaning: String = switch state {
        case .synSent: "waiting for the server's SYN-ACK"
        case .synReceived: "a half-open connection under the listening socket, waiting for the last ACK of the handshake"
        case .established: "both sides know each other's sequence numbers, windows and MSS: data can flow"
        case .finWait1: "close() was called: its FIN is out, waiting for the ACK"
        case .finWait2: "its FIN is acknowledged: waiting for the other side's FIN"
        case .closeWait: "the other side has closed its half: recv() returns 0 (end of stream) until this application closes too"
        case .lastAck: "its own FIN is out after the peer's: waiting for the last ACK"
        case .closing: "both sides sent FIN at once: waiting for the ACK of its own"
        case .timeWait: "it closed first, so it keeps the socket for 2 × MSL (60 s here, as on Linux): a FIN sent again by the peer must not reach a new socket on the same port"
        case .closed: "the connection is over and its control record deleted"
        case .listen: "listening"
        }
        return Narration(layer: .tcp, kind: "state-\(host.name)-\(state)", noun: "state changes",
                         full: "state \(state) for \(pair.local) ↔ \(pair.remote): \(meaning)",
                         brief: "\(pair.local) ↔ \(pair.remote): \(state)")
    }

    // MARK: Segments sent

    private func segmentSent(_ header: TCPHeader, length: Int, from: Endpoint, to: Endpoint, host: Host,
                             now: Instant) -> Narration {
        let view = tracker.sent(header, length: length, from: from, to: to)
        if view.role == .syn, host.name == browser, ladder == nil {
            ladder = LadderRecorder(left: from, right: to, origin: now)
        }
        if view.role == .syn || view.role == .synAck, let mss = header.options.mss { announcedMSS[host.name] = Int(mss) }
        var fast = false
        switch view.role {
        case .retransmission:
            fast = tracker.retransmissionFollowsAck(from: from, to: to, now: now)
            retransmissions.append((host.name, view.seq, view.length, fast))
        case .data: dataSegmentsSent[host.name, default: 0] += 1
        case .duplicateAck: duplicateAcksSent += 1
        case .windowUpdate: windowUpdatesSent += 1
        case .zeroWindow: zeroWindowsSent += 1
        default: break
        }
        if let ladder, let fromLeft = ladder.side(local: from, remote: to) {
            ladder.sent(header, length: length, relativeSeq: view.seq, fromLeft: fromLeft,
                        label: ladderLabel(view, fromLeft: fromLeft, fast: fast), note: ladderNote(view), at: now)
        }
        return sentNarration(view, from: from, to: to, host: host, fast: fast)
    }

    /// A few arrows keep a note so that the summarised ladder does not fold them away.
    private func ladderNote(_ view: SegmentView) -> String? {
        switch view.role {
        case .duplicateAck: duplicateAcksSent <= 3 ? "dup ACK \(duplicateAcksSent)" : nil
        case .zeroWindow: zeroWindowsSent == 1 ? "buffer full" : nil
        case .windowUpdate: windowUpdatesSent == 1 ? "app read" : nil
        default: nil
        }
    }

    private func ladderLabel(_ view: SegmentView, fromLeft: Bool, fast: Bool) -> String {
        let ack = view.ack.map { " ack=\($0)" } ?? ""
        switch view.role {
        case .syn: return "SYN seq=0 win=\(view.window) mss=\(view.header.options.mss.map(String.init) ?? "-")"
        case .synAck: return "SYN,ACK seq=0\(ack) win=\(view.window) mss=\(view.header.options.mss.map(String.init) ?? "-")"
        case .data: return (fromLeft ? "GET " : "") + "seq=\(view.seq) len=\(view.length)"
        case .retransmission: return "\(fast ? "fast " : "")retransmission seq=\(view.seq) len=\(view.length)"
        case .fin: return "FIN seq=\(view.seq)\(ack)\(view.length > 0 ? " len=\(view.length)" : "")"
        case .rst: return "RST seq=\(view.seq)"
        case .duplicateAck:
            let sack = view.sack.first.map { " SACK \($0.left)-\($0.right)" } ?? ""
            return "dup ACK\(ack)\(sack)"
        case .windowUpdate: return "window update\(ack) win=\(view.window)"
        case .probe: return "window probe seq=\(view.seq)"
        case .ack, .zeroWindow: return "ACK\(ack) win=\(view.window)"
        }
    }

    private func sentNarration(_ view: SegmentView, from: Endpoint, to: Endpoint, host: Host, fast: Bool) -> Narration {
        let who = host.name
        let brief = "\(briefFlags(view)) \(from.port) → \(to.port) seq \(view.seq)\(view.ack.map { " ack \($0)" } ?? "") win \(view.window) len \(view.length)"
        let options = view.header.options
        switch view.role {
        case .syn, .synAck:
            let iss = view.header.sequenceNumber
            let mss = options.mss.map { "MSS \($0) (its link's MTU − 40 bytes of IP and TCP headers)" } ?? "no MSS"
            let scale = options.windowScale.map {
                $0 == 0 ? ", window scale 0 (its windows need no scaling)" : ", window scale \($0) (its later windows count in units of \(1 << Int($0)) bytes)"
            } ?? ""
            let extras = [options.sackPermitted ? "SACK permitted" : nil, options.timestamps != nil ? "timestamps" : nil]
                .compactMap { $0 }.joined(separator: " and ")
            let text = view.role == .syn
                ? "SYN → \(to): the first segment of the three-way handshake. Initial sequence number \(iss) (from here on counted from it: seq 0), window \(view.window) bytes — the free space in its receive buffer — \(mss)\(scale)\(extras.isEmpty ? "" : ", \(extras)")"
                : "SYN-ACK → \(to): the server's half of the handshake: its own initial sequence number \(iss) (seq 0 from here on), ack \(view.ack ?? 0) = the browser's ISN + 1 (a SYN counts as one byte), window \(view.window), \(mss)\(scale)\(extras.isEmpty ? "" : ", \(extras)")"
            return Narration(layer: .tcp, kind: "sent-\(view.role)", noun: "handshake segments", full: text, brief: brief)
        case .data:
            let ackText = view.ack.map { ", ack \($0)" } ?? ""
            let push = view.header.flags.contains(.psh) ? "; PSH: the last of what was written — hand it to the application now" : ""
            let text = host.name == browser
                ? "send(): the GET request, \(view.length) bytes, in one segment → \(to): seq \(view.seq) = the position of its first byte\(ackText). It is less than one MSS, and the stack could wait for more (Nagle), but nothing else is in flight, so it goes now\(push)"
                : "data segment → \(to): bytes \(view.seq)–\(view.seq + view.length - 1) of the stream (seq \(view.seq), len \(view.length))\(ackText), window \(view.window). The answer is larger than the MSS, so TCP cuts it into segments and sends several before any ACK comes back — as many as the receiver's window and its congestion window allow; each stays in the send buffer until acknowledged"
            return Narration(layer: .tcp, kind: "sent-data-\(who)", noun: "data segments", full: text, brief: brief)
        case .retransmission:
            let why = fast
                ? "duplicate ACKs said this segment never arrived while later ones did (fast retransmit, RFC 5681 §3.2; the SACK blocks told exactly what arrived)"
                : "no ACK came before the retransmission timer expired (RTO, RFC 6298)"
            return Narration(layer: .tcp, kind: "sent-retransmission", noun: "retransmissions",
                             full: "retransmission → \(to): bytes \(view.seq)–\(view.seq + view.length - 1) again (seq \(view.seq), len \(view.length)): \(why). The bytes were still in the send buffer — only TCP recovers lost data; the adapters, hub, switch and router did nothing",
                             brief: "retransmission " + brief, always: true)
        case .ack:
            let text = view.ack.map { ack in
                ack <= 1
                    ? "ACK → \(to): ack \(ack) — the third segment of the handshake: \"I got your SYN; next I expect byte \(ack)\". Window \(view.window) bytes\(windowScaleText(view))"
                    : "ACK → \(to): ack \(ack) — \"I have every byte before \(ack); next I expect byte \(ack)\" — and window \(view.window): the free space in its receive buffer\(windowScaleText(view)). One ACK may cover several segments"
            } ?? "ACK → \(to)"
            return Narration(layer: .tcp, kind: "sent-ack-\(who)-\((view.ack ?? 0) <= 1 ? "handshake" : "data")",
                             noun: "ACKs", full: text, brief: brief)
        case .duplicateAck:
            let sack = view.sack.map { "\($0.left)–\($0.right - 1)" }.joined(separator: ", ")
            return Narration(layer: .tcp, kind: "sent-dupack", noun: "duplicate ACKs",
                             full: "duplicate ACK → \(to): still ack \(view.ack ?? 0) — a segment is missing. \(sack.isEmpty ? "" : "The SACK option says which bytes beyond the hole it holds already: \(sack). ")The bytes after the hole wait in the receive buffer; the application gets nothing until the hole is filled",
                             brief: "dup ACK " + brief)
        case .windowUpdate:
            return Narration(layer: .tcp, kind: "sent-windowupdate", noun: "window updates",
                             full: "window update → \(to): same ack \(view.ack ?? 0), window now \(view.window) bytes: the application has read from the receive buffer and made room, and TCP tells the sender in the window field",
                             brief: "window update " + brief)
        case .zeroWindow:
            return Narration(layer: .tcp, kind: "sent-zerowindow", noun: "zero-window ACKs",
                             full: "ACK → \(to): ack \(view.ack ?? 0), window 0 — the receive buffer is full because the application has not read it yet: the sender must stop and wait for a window update",
                             brief: "zero window " + brief)
        case .probe:
            return Narration(layer: .tcp, kind: "sent-probe", noun: "window probes",
                             full: "window probe → \(to): the window has been 0 for a while; an old sequence number makes the receiver answer with its current window (RFC 9293 §3.8.6.1)",
                             brief: "probe " + brief)
        case .fin:
            let text = host.name == browser
                ? "FIN → \(to): seq \(view.seq), ack \(view.ack ?? 0) — close() was called: \"I have nothing more to send\". The socket is marked as closing"
                : "FIN → \(to): seq \(view.seq), ack \(view.ack ?? 0) — the \(who)'s application saw the end of the stream and closed its socket too"
            return Narration(layer: .tcp, kind: "sent-fin-\(who)", noun: "FINs", full: text, brief: brief)
        case .rst:
            return Narration(layer: .tcp, kind: "sent-rst", noun: "resets",
                             full: "RST → \(to): the connection is refused or torn down", brief: brief, always: true)
        }
    }

    private func windowScaleText(_ view: SegmentView) -> String {
        view.windowShift > 0 ? " (the field says \(view.header.window), × 2^\(view.windowShift) by the window scale option)" : ""
    }

    private func briefFlags(_ view: SegmentView) -> String {
        "[\(view.header.flags)]"
    }

    // MARK: Segments arriving

    private func segmentArrived(_ header: TCPHeader, length: Int, from: Endpoint, to: Endpoint, host: Host,
                                now: Instant) -> [Narration] {
        let (view, arrival, duplicates) = tracker.received(header, length: length, from: from, to: to, now: now)
        if let ladder, let atLeft = ladder.side(local: to, remote: from) {
            ladder.arrived(header, length: length, atLeft: atLeft, at: now)
        }
        let brief = "\(briefFlags(view)) from \(from.port) seq \(view.seq)\(view.ack.map { " ack \($0)" } ?? "") win \(view.window) len \(view.length)"
        let who = host.name
        switch arrival {
        case .inOrder:
            let next = view.seq + view.length
            return [Narration(layer: .tcp, kind: "rx-data-\(who)", noun: "segments reassembled",
                              full: "TCP on \(who): checksum ok, the 4-tuple finds the socket; seq \(view.seq) is the next byte expected: \(view.length) bytes go into the receive buffer, in order, for the application's recv(); next expected byte \(next)",
                              brief: "in order: seq \(view.seq) len \(view.length), next \(next)")]
        case let .outOfOrder(expected):
            return [Narration(layer: .tcp, kind: "rx-ooo", noun: "segments out of order",
                              full: "TCP on \(who): seq \(view.seq) arrives but byte \(expected) is expected — a segment is missing. These \(view.length) bytes are kept aside in the receive buffer (not given to the application) and an ACK for \(expected) goes back at once",
                              brief: "out of order: seq \(view.seq) len \(view.length), still expecting \(expected)")]
        case let .fillsHole(upTo):
            if let ladder, let atLeft = ladder.side(local: to, remote: from) { ladder.noteNextSent("hole filled", fromLeft: atLeft) }
            return [Narration(layer: .tcp, kind: "rx-fill", noun: "holes filled",
                              full: "TCP on \(who): the retransmitted bytes \(view.seq)–\(view.seq + view.length - 1) fill the hole: everything up to byte \(upTo - 1) is now in order and goes to the application at once; next expected byte \(upTo)",
                              brief: "hole filled by seq \(view.seq): in order up to \(upTo - 1)", always: true)]
        case .duplicate:
            return [Narration(layer: .tcp, kind: "rx-dup", noun: "duplicate segments",
                              full: "TCP on \(who): seq \(view.seq) len \(view.length) holds bytes it already has: dropped, and an ACK repeats what it expects",
                              brief: "duplicate seq \(view.seq) dropped")]
        case .control:
            break
        }
        if header.flags.contains(.syn) {
            let text = header.flags.contains(.ack)
                ? "TCP on \(who): the SYN-ACK acknowledges its SYN; it records the server's sequence number, window and MSS"
                : "TCP on \(who): a SYN for port \(to.port), where a socket listens: the stack records the browser's sequence number, window and MSS in a new control record"
            return [Narration(layer: .tcp, kind: "rx-\(header.flags.contains(.ack) ? "synack" : "syn")", noun: "handshake segments received",
                              full: text, brief: brief)]
        }
        if header.flags.contains(.fin) {
            return [Narration(layer: .tcp, kind: "rx-fin-\(who)", noun: "FINs received",
                              full: "TCP on \(who): FIN from \(from) — the other side will send nothing more; the application's recv() will return 0 once it has read everything",
                              brief: brief)]
        }
        if duplicates > 0 {
            let sack = view.sack.map { "\($0.left)–\($0.right - 1)" }.joined(separator: ", ")
            return [Narration(layer: .tcp, kind: "rx-dupack", noun: "duplicate ACKs received",
                              full: "TCP on \(who): duplicate ACK #\(duplicates) for \(view.ack ?? 0)\(sack.isEmpty ? "" : " with SACK \(sack)"): the browser lacks that byte while later ones arrive. Three duplicates — or SACK blocks covering three segments past the hole — mean the segment is lost (RFC 5681 §3.2, RFC 6675)",
                              brief: "dup ACK #\(duplicates) for \(view.ack ?? 0)")]
        }
        if let ack = view.ack, ack > 1 {
            let zero = view.window == 0
            return [Narration(layer: .tcp, kind: zero ? "rx-zerowindow" : "rx-ack-\(who)", noun: "ACKs received",
                              full: zero
                                ? "TCP on \(who): window 0 — the receiver's buffer is full. It stops sending new data and waits for a window update (and probes, should that update be lost)"
                                : "TCP on \(who): ACK \(ack): the bytes before \(ack) arrived, so they leave the send buffer (no longer kept for retransmission); the window of \(view.window) bytes says how much more may be in flight",
                              brief: "ACK \(ack) win \(view.window)")]
        }
        return [Narration(layer: .tcp, kind: "rx-ack-handshake-\(who)", noun: "ACKs received",
                          full: "TCP on \(who): the ACK completes the three-way handshake", brief: brief)]
    }
}
