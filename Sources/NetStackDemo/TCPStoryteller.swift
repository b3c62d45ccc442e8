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
            guard let address = Self.localAddress(host) else { return [] }
            let local = Endpoint(address, header.sourcePort)
            return noticeStates(host, now: now) + [segmentSent(header, length: length, from: local, to: to, host: host, now: now)]
        case let .tcpSegmentReceived(header, length, from):
            guard let address = Self.localAddress(host) else { return [] }
            let local = Endpoint(address, header.destinationPort)
            return noticeStates(host, now: now) + segmentArrived(header, length: length, from: from, to: local, host: host, now: now)
        case .tcpStateChanged:
            return noticeStates(host, now: now)
        default:
            return []
        }
    }

    /// The address `host`'s connections use: its first IPv4 address, else (an IPv6-only
    /// host, `--ipv6`) its first global IPv6 address.
    private static func localAddress(_ host: Host) -> IPAddress? {
        if let address = host.addresses.first?.address { return .v4(address) }
        return host.address6(of: InterfaceID(0)).map(IPAddress.v6)
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
        return Narration(.tcp, .tcpState, "\(state)", "\(pair.local)", "\(pair.remote)", variant: "\(host.name)-\(state)")
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
        let brief = PhraseArg.phrase(Phrase(.tcpBriefSent, briefFlags(view), "\(from.port)", "\(to.port)", "\(view.seq)",
                                            .plain(view.ack.map { "\($0)" } ?? ""), "\(view.window)", "\(view.length)"))
        let options = view.header.options
        let ack: PhraseArg = .plain(view.ack.map { "\($0)" } ?? "")
        let lastByte = "\(view.seq + view.length - 1)"
        switch view.role {
        case .syn, .synAck:
            let described = PhraseArg.phrase(Phrase(.synOptions, .plain(options.mss.map { "\($0)" } ?? ""),
                                                    .plain(options.windowScale.map { "\($0)" } ?? ""),
                                                    flag(options.sackPermitted), flag(options.timestamps != nil)))
            let iss = "\(view.header.sequenceNumber)"
            return view.role == .syn
                ? Narration(.tcp, .sentSYN, "\(to)", .plain(iss), "\(view.window)", described, brief)
                : Narration(.tcp, .sentSYNACK, "\(to)", .plain(iss), "\(view.ack ?? 0)", "\(view.window)", described, brief)
        case .data:
            return host.name == browser
                ? Narration(.tcp, .sentRequest, "\(view.length)", "\(to)", "\(view.seq)", ack,
                            flag(view.header.flags.contains(.psh)), brief, variant: who)
                : Narration(.tcp, .sentData, "\(to)", "\(view.seq)", .plain(lastByte), "\(view.seq)", "\(view.length)", ack,
                            "\(view.window)", brief, variant: who)
        case .retransmission:
            return Narration(.tcp, .sentRetransmission, "\(to)", "\(view.seq)", .plain(lastByte), "\(view.seq)", "\(view.length)",
                             flag(fast), brief, always: true)
        case .ack:
            guard let value = view.ack else { return Narration(.tcp, .sentBareACK, "\(to)", brief, variant: "\(who)-handshake") }
            let scale = windowScaleText(view)
            return value <= 1
                ? Narration(.tcp, .sentHandshakeACK, "\(to)", "\(value)", "\(view.window)", scale, brief, variant: who)
                : Narration(.tcp, .sentACK, "\(to)", "\(value)", "\(view.window)", scale, brief, variant: who)
        case .duplicateAck:
            let sack = view.sack.map { "\($0.left)–\($0.right - 1)" }.joined(separator: ", ")
            return Narration(.tcp, .sentDuplicateACK, "\(to)", "\(view.ack ?? 0)", .plain(sack), brief)
        case .windowUpdate:
            return Narration(.tcp, .sentWindowUpdate, "\(to)", "\(view.ack ?? 0)", "\(view.window)", brief)
        case .zeroWindow:
            return Narration(.tcp, .sentZeroWindow, "\(to)", "\(view.ack ?? 0)", brief)
        case .probe:
            return Narration(.tcp, .sentProbe, "\(to)", brief)
        case .fin:
            return host.name == browser
                ? Narration(.tcp, .sentFINBrowser, "\(to)", "\(view.seq)", "\(view.ack ?? 0)", brief, variant: who)
                : Narration(.tcp, .sentFINPeer, "\(to)", "\(view.seq)", "\(view.ack ?? 0)", .plain(who), brief, variant: who)
        case .rst:
            return Narration(.tcp, .sentRST, "\(to)", brief, always: true)
        }
    }

    /// "(the field says 1024, × 2^5 by the window scale option)" when the window is scaled; empty otherwise.
    private func windowScaleText(_ view: SegmentView) -> PhraseArg {
        view.windowShift > 0 ? .phrase(Phrase(.windowScaleNote, "\(view.header.window)", "\(view.windowShift)")) : ""
    }

    private func briefFlags(_ view: SegmentView) -> PhraseArg {
        "[\(view.header.flags)]"
    }

    // MARK: Segments arriving

    private func segmentArrived(_ header: TCPHeader, length: Int, from: Endpoint, to: Endpoint, host: Host,
                                now: Instant) -> [Narration] {
        let (view, arrival, duplicates) = tracker.received(header, length: length, from: from, to: to, now: now)
        if let ladder, let atLeft = ladder.side(local: to, remote: from) {
            ladder.arrived(header, length: length, atLeft: atLeft, at: now)
        }
        let brief = PhraseArg.phrase(Phrase(.tcpBriefReceived, briefFlags(view), "\(from.port)", "\(view.seq)",
                                            .plain(view.ack.map { "\($0)" } ?? ""), "\(view.window)", "\(view.length)"))
        let who = host.name
        switch arrival {
        case .inOrder:
            return [Narration(.tcp, .receivedInOrder, .plain(who), "\(view.seq)", "\(view.length)", "\(view.seq + view.length)",
                              variant: who)]
        case let .outOfOrder(expected):
            return [Narration(.tcp, .receivedOutOfOrder, .plain(who), "\(view.seq)", "\(expected)", "\(view.length)")]
        case let .fillsHole(upTo):
            if let ladder, let atLeft = ladder.side(local: to, remote: from) { ladder.noteNextSent("hole filled", fromLeft: atLeft) }
            return [Narration(.tcp, .receivedFillsHole, .plain(who), "\(view.seq)", "\(view.seq + view.length - 1)", "\(upTo - 1)",
                              "\(upTo)", "\(view.seq)", always: true)]
        case .duplicate:
            return [Narration(.tcp, .receivedDuplicate, .plain(who), "\(view.seq)", "\(view.length)")]
        case .control:
            break
        }
        if header.flags.contains(.syn) {
            return [header.flags.contains(.ack)
                ? Narration(.tcp, .receivedSYNACK, .plain(who), brief)
                : Narration(.tcp, .receivedSYN, .plain(who), "\(to.port)", brief)]
        }
        if header.flags.contains(.fin) {
            return [Narration(.tcp, .receivedFIN, .plain(who), "\(from)", brief, variant: who)]
        }
        if duplicates > 0 {
            let sack = view.sack.map { "\($0.left)–\($0.right - 1)" }.joined(separator: ", ")
            return [Narration(.tcp, .receivedDuplicateACK, .plain(who), "\(duplicates)", "\(view.ack ?? 0)", .plain(sack))]
        }
        if let ack = view.ack, ack > 1 {
            return [view.window == 0
                ? Narration(.tcp, .receivedZeroWindow, .plain(who), "\(ack)", "\(view.window)")
                : Narration(.tcp, .receivedACK, .plain(who), "\(ack)", "\(view.window)", variant: who)]
        }
        return [Narration(.tcp, .receivedHandshakeACK, .plain(who), brief, variant: who)]
    }
}
