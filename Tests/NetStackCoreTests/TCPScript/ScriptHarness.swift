// Segment-level TCP scripts in the packetdrill style: at time t inject this
// segment, expect exactly these segments out by time u.
//
// One NetStack `Host` is the device under test (192.0.2.1, 02:00:00:00:00:01,
// MTU 1500, no FCS); the script plays a remote peer at 192.0.2.2
// (02:00:00:00:00:02), a static ARP entry, so every segment goes straight out.
// The host is driven the way packetdrill drives a kernel: time only moves
// through `host.nextDeadline()` and `host.poll(now:)`, up to the times the
// script names. Sequence numbers are relative, as in packetdrill: inbound
// SEQ to the peer's ISN (chosen by the script), inbound ACK and outbound SEQ
// to the stack's ISN (learned from its SYN or SYN-ACK), outbound ACK to the
// peer's ISN. See README.md in this folder for how to write a script.
//
// This file holds the script's state, its clock and the inbound side;
// ScriptValues.swift the segment and option values, ScriptHarness+Expect.swift
// the expectations, ScriptHarness+App.swift the socket calls, and
// ScriptHarness+Handshakes.swift the handshakes most scripts start with.

@testable import NetStackCore
import NetStackWire
import Testing

// MARK: The script

/// Drives one NetStack host against a scripted peer. Steps run in time order;
/// after the first failure every later step is skipped (the test fails once,
/// at the line that went wrong, with a trace of what came before).
final class TCPScript {
    static let localMAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x01)
    static let peerMAC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x00, 0x02)
    static let localIP = IPv4Address(192, 0, 2, 1)
    static let peerIP = IPv4Address(192, 0, 2, 2)
    static let interface = InterfaceID(0)

    /// One connection's numbering, found by the peer's port.
    struct Flow {
        /// The stack's port on this flow.
        var localPort: UInt16
        /// Inbound SEQ and outbound ACK count from here.
        var peerISN: UInt32
        /// Outbound SEQ and inbound ACK count from here, once the stack's SYN or SYN-ACK was seen.
        var stackISN: UInt32?
        /// The stack's TSval minus the milliseconds of the time it was sent.
        var tsOffset: Int64?
        /// Stream offset of the next byte the application writes (pattern writes).
        var writeOffset = 0
        var patternWrites = true
        /// Stream offset of the next byte the application reads.
        var readOffset = 0
        var patternReads = true
    }

    /// The device under test.
    let host: Host
    /// Script time: the last instant the host was run at or told about.
    var now = Instant.zero
    /// The peer port of segments that name none.
    var peerPort: UInt16 = 40000
    /// The stack's port for flows it has not chosen itself (`listen` sets it).
    var serverPort: UInt16 = 8080
    /// The peer's ISN for new flows.
    var peerISN: UInt32 = 1_000_000
    /// Each peer port's numbering.
    var flows: [UInt16: Flow] = [:]
    /// What the stack sent that no expectation has taken yet, oldest first.
    var pending: [ScriptCapture] = []
    /// Set by the first failure; every later step is skipped.
    var failed = false
    /// One line per step, printed with a failure.
    var trace: [String] = []
    /// Whether injected segments arrive as glued ones (``init(largeReceive:configure:)``).
    let largeReceive: Bool
    /// The IP identification of the next injected datagram.
    private var ipIdentification: UInt16 = 1
    /// The listening descriptor `establishPassive` made.
    var listenerFD: Int32 = -1
    /// The window field the stack advertises with an empty receive buffer, once a helper established the connection.
    var ourWindow = 65535

    /// A host set up as the device under test; `configure` adjusts its settings first.
    /// `largeReceive`: its adapter takes packets longer than the MTU, and every injected
    /// segment is handed over as glued by a runtime's receive coalescing (``AdapterConfig/largeReceive``).
    init(largeReceive: Bool = false, configure: (inout HostConfig) -> Void = { _ in }) {
        self.largeReceive = largeReceive
        var config = HostConfig(name: "dut")
        config.randomSeed = testSeed
        // The scripts pin the unpaced, fixed-buffer behaviour of Linux with its default
        // qdisc (no fq: CUBIC and Reno are not paced) and a 256 KiB buffer: window scale 3.
        // Pacing and auto-tuning have their own tests; a script may turn them back on.
        config.tcp.pacing = false
        config.tcp.receiveBufferMaximum = config.tcp.socketDefaults.receiveBufferSize
        config.tcp.sendBufferMaximum = config.tcp.socketDefaults.sendBufferSize
        configure(&config)
        host = Host(config)
        var adapter = AdapterConfig(name: "eth0", mac: Self.localMAC, mtu: 1500, fcs: false)
        adapter.largeReceive = largeReceive
        let id = host.addInterface(adapter)
        host.assign(Self.localIP, prefixLength: 24, to: id, now: .zero)
        host.addStaticARP(Self.peerIP, mac: Self.peerMAC, interface: id)
        while host.takeFrame(from: id, { _ in () }) != nil {}  // the gratuitous ARP
    }

    /// The flow of `port` (created with the script's current peer ISN and server port).
    func flow(_ port: UInt16? = nil) -> Flow {
        let port = port ?? peerPort
        return flows[port] ?? Flow(localPort: serverPort, peerISN: peerISN)
    }

    func updateFlow(_ port: UInt16, _ body: (inout Flow) -> Void) {
        var value = flow(port)
        body(&value)
        flows[port] = value
    }

    /// The stack's TSval at script time `t` on the current flow (once learned).
    func stackTS(at t: Double, port: UInt16? = nil) -> UInt32 {
        resolve(.stack(at: t), flow: flow(port), time: .seconds(t)) ?? 0
    }

    // MARK: Failing

    func fail(_ message: String, _ location: SourceLocation) {
        guard !failed else { return }
        failed = true
        let context = trace.suffix(12).joined(separator: "\n  ")
        Issue.record(Comment(rawValue: message + "\n--- trace (last steps) ---\n  " + context), sourceLocation: location)
    }

    func note(_ line: String) { trace.append(line) }

    static func stamp(_ instant: Instant) -> String {
        let micros = instant.nanoseconds / 1000
        let fraction = String(micros % 1_000_000)
        let digits = String(repeating: "0", count: 6 - fraction.count) + fraction
        return "\(micros / 1_000_000).\(digits.hasSuffix("000") ? String(digits.prefix(3)) : digits)"
    }

    // MARK: Time

    /// Runs the host at each deadline it reports up to `t`, collecting what it sends.
    func advance(to t: Instant, _ location: SourceLocation) {
        guard t >= now else {
            fail("script time goes backwards: \(Self.stamp(t)) after \(Self.stamp(now))", location)
            return
        }
        var rounds = 0
        while let deadline = host.nextDeadline(), deadline <= t {
            let at = max(deadline, now)
            host.poll(now: at)
            now = at
            collect()
            rounds += 1
            if rounds > 200_000 {
                fail("the host keeps asking to be polled at \(Self.stamp(deadline)) (timer livelock)", location)
                return
            }
        }
        now = t
    }

    /// Takes every frame waiting to leave, stamped with the current time.
    func collect() {
        while let bytes = host.takeFrame(from: Self.interface, { Array($0) }) {
            let capture = Self.parse(bytes, at: now)
            if let tcp = capture.tcp { learn(from: tcp, options: capture.options, at: now) }
            pending.append(capture)
        }
    }

    /// Learns the stack's ISN from its SYN or SYN-ACK, and its timestamp offset.
    private func learn(from header: TCPHeader, options: [WireOption], at time: Instant) {
        updateFlow(header.destinationPort) { flow in
            if header.flags.contains(.syn) {
                flow.stackISN = header.sequenceNumber.rawValue
                flow.localPort = header.sourcePort
                flow.tsOffset = nil
            }
            if flow.tsOffset == nil {
                for case let .ts(value, _) in options {
                    flow.tsOffset = Int64(value) - time.nanoseconds / 1_000_000
                }
            }
        }
    }

    static func parse(_ bytes: [UInt8], at time: Instant) -> ScriptCapture {
        bytes.withUnsafeBytes { frame -> ScriptCapture in
            var capture = ScriptCapture(time: time)
            guard let ethernet = try? EthernetHeader.parse(frame) else {
                capture.other = "unparsable frame of \(bytes.count) bytes"
                return capture
            }
            let datagram = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.length...])
            guard ethernet.etherType == .ipv4, let ip = try? IPv4Header.parse(datagram) else {
                capture.other = "\(ethernet)"
                return capture
            }
            guard ethernet.destination == peerMAC, ethernet.source == localMAC, ip.protocol == .tcp,
                  ip.source == localIP, ip.destination == peerIP, ip.totalLength <= datagram.count else {
                capture.other = "\(ethernet), \(ip)"
                return capture
            }
            let segment = UnsafeRawBufferPointer(rebasing: datagram[ip.headerLength..<ip.totalLength])
            do {
                let tcp = try TCPHeader.parse(segment, source: ip.source, destination: ip.destination)
                capture.tcp = tcp
                capture.options = WireOption.list(Array(segment[TCPHeader.minimumLength..<tcp.headerLength]))
                capture.payload = Array(segment[tcp.headerLength...])
            } catch {
                capture.other = "bad TCP segment: \(error)"
            }
            return capture
        }
    }

    // MARK: Numbers

    func resolve(_ value: ScriptTS, flow: Flow, time: Instant) -> UInt32? {
        switch value.kind {
        case let .exact(raw): return raw
        case .any: return nil
        case .stackNow: return flow.tsOffset.map { UInt32(truncatingIfNeeded: time.nanoseconds / 1_000_000 + $0) }
        case let .stackAt(t):
            return flow.tsOffset.map { UInt32(truncatingIfNeeded: Instant.seconds(t).nanoseconds / 1_000_000 + $0) }
        }
    }

    static func relative(_ raw: UInt32, to base: UInt32) -> Int { Int(Int32(bitPattern: raw &- base)) }
    static func absolute(_ relative: Int, from base: UInt32) -> UInt32 { base &+ UInt32(truncatingIfNeeded: relative) }

    /// A captured segment in script terms (relative numbers), for messages.
    func describe(_ capture: ScriptCapture) -> String {
        guard let tcp = capture.tcp else { return "[\(capture.other ?? "?")] at \(Self.stamp(capture.time))" }
        let flow = flow(tcp.destinationPort)
        let seq = Self.relative(tcp.sequenceNumber.rawValue, to: flow.stackISN ?? 0)
        var text = "\(ScriptSegment.text(tcp.flags)) \(seq):\(seq + capture.payload.count)(\(capture.payload.count))"
        if tcp.flags.contains(.ack) { text += " ack \(Self.relative(tcp.acknowledgmentNumber.rawValue, to: flow.peerISN))" }
        text += " win \(tcp.window)"
        if tcp.urgentPointer != 0 { text += " urg \(tcp.urgentPointer)" }
        if !capture.options.isEmpty {
            text += " <" + capture.options.map { option -> String in
                if case let .sack(blocks) = option {
                    return "sack \(blocks.count) {" + blocks.map {
                        "\(Self.relative($0.0, to: flow.peerISN)):\(Self.relative($0.1, to: flow.peerISN))"
                    }.joined(separator: " ") + "}"
                }
                return option.description
            }.joined(separator: ",") + ">"
        }
        if tcp.destinationPort != peerPort { text += " [peer port \(tcp.destinationPort)]" }
        return text + " at \(Self.stamp(capture.time))"
    }

    // MARK: Inbound

    /// The Ethernet frame carrying `segment` from the peer.
    func frame(for segment: ScriptSegment) -> [UInt8] {
        let port = segment.port ?? peerPort
        let flow = flow(port)
        var options: [UInt8] = []
        for option in segment.options ?? [] {
            switch option {
            case .eol: options.append(0)
            case .nop: options.append(1)
            case let .mss(value): options += [2, 4, UInt8(value >> 8), UInt8(value & 0xFF)]
            case let .wscale(value): options += [3, 3, value]
            case .sackOK: options += [4, 2]
            case let .ts(value, echo):
                options += [8, 10]
                options += Self.bytes32(resolve(value, flow: flow, time: now) ?? 0)
                options += Self.bytes32(resolve(echo, flow: flow, time: now) ?? 0)
            case let .sack(blocks):
                options += [5, UInt8(2 + 8 * blocks.count)]
                for (left, right) in blocks {
                    options += Self.bytes32(Self.absolute(left, from: flow.stackISN ?? 0))
                    options += Self.bytes32(Self.absolute(right, from: flow.stackISN ?? 0))
                }
            }
        }
        while options.count % 4 != 0 { options.append(0) }
        let dataOffset = segment.flags.contains(.syn) ? segment.seq : segment.seq - 1
        let payload = segment.payload ?? scriptPattern(from: dataOffset, count: segment.len)
        let seq = segment.absoluteSeq ? UInt32(truncatingIfNeeded: segment.seq) : Self.absolute(segment.seq, from: flow.peerISN)
        let ack = segment.ack.map { Self.absolute($0, from: flow.stackISN ?? 0) } ?? 0
        var tcp = [UInt8](repeating: 0, count: 20)
        tcp[0] = UInt8(port >> 8); tcp[1] = UInt8(port & 0xFF)
        tcp[2] = UInt8(flow.localPort >> 8); tcp[3] = UInt8(flow.localPort & 0xFF)
        tcp.replaceSubrange(4..<8, with: Self.bytes32(seq))
        tcp.replaceSubrange(8..<12, with: Self.bytes32(ack))
        tcp[12] = UInt8((20 + options.count) / 4) << 4
        tcp[13] = segment.flags.rawValue
        let window = UInt16(clamping: segment.win ?? 65535)
        tcp[14] = UInt8(window >> 8); tcp[15] = UInt8(window & 0xFF)
        tcp[18] = UInt8(segment.urgentPointer >> 8); tcp[19] = UInt8(segment.urgentPointer & 0xFF)
        tcp += options
        tcp += payload
        let source = segment.source ?? Self.peerIP
        var sum = InternetChecksum.pseudoHeader(source: source, destination: Self.localIP, protocol: .tcp,
                                                length: tcp.count)
        tcp.withUnsafeBytes { sum.add($0) }
        var checksum = sum.checksum
        if segment.badChecksum { checksum ^= 0x5A5A }
        tcp[16] = UInt8(checksum >> 8); tcp[17] = UInt8(checksum & 0xFF)

        let ip = IPv4Header(source: source, destination: Self.localIP, protocol: .tcp, payloadLength: tcp.count,
                            timeToLive: 64, identification: ipIdentification, dontFragment: true)
        ipIdentification &+= 1
        var bytes = [UInt8](repeating: 0, count: EthernetHeader.length + ip.headerLength)
        bytes.withUnsafeMutableBytes { buffer in
            EthernetHeader(destination: Self.localMAC, source: Self.peerMAC, etherType: .ipv4).emit(into: buffer)
            ip.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[EthernetHeader.length...]))
        }
        return bytes + tcp
    }

    private static func bytes32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// At `t`, the peer sends `segments` (one after another, each handed to the
    /// host and polled). Anything the stack sent before `t` and no `expect` took
    /// fails the script, as in packetdrill.
    func inject(at t: Double, _ segments: ScriptSegment..., sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        advance(to: .seconds(t), sourceLocation)
        guard !failed, checkNothingPending(before: "inject at \(t)", sourceLocation) else { return }
        for segment in segments {
            note("\(t) < \(segment)")
            if segment.payload != nil { updateFlow(segment.port ?? peerPort) { $0.patternReads = false } }
            frame(for: segment).withUnsafeBytes { _ = host.receive($0, on: Self.interface, now: now, coalesced: largeReceive) }
            host.poll(now: now)
            collect()
        }
    }

    /// Injects many segments at `t` without checking in between (a flood); what
    /// the stack sends stays pending for `takeSent`.
    func flood(at t: Double, _ segments: [ScriptSegment], sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        advance(to: .seconds(t), sourceLocation)
        note("\(t) < flood of \(segments.count) segments")
        for segment in segments {
            frame(for: segment).withUnsafeBytes { _ = host.receive($0, on: Self.interface, now: now, coalesced: largeReceive) }
            host.poll(now: now)
            collect()
        }
    }

    func checkNothingPending(before step: String, _ location: SourceLocation) -> Bool {
        guard pending.isEmpty else {
            fail("unexpected segment(s) before \(step):\n  " + pending.map(describe).joined(separator: "\n  "), location)
            return false
        }
        return true
    }
}
