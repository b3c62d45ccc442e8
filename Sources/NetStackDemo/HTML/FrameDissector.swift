import NetStackWire

// The page's dissection of each captured frame: the Wireshark-like columns
// and a tree of fields, each with the byte range it covers, so the page can
// highlight a field's bytes. Headers are parsed with the NetStackWire views;
// the offsets are those of the RFCs' layouts.

/// One field of a dissection: its text, its bytes in the frame, its sub-fields.
struct DissectedField {
    var text: String
    var offset: Int
    var length: Int
    var children: [DissectedField] = []

    /// A field `text` over `length` bytes from `offset` in the frame.
    init(_ text: String, _ offset: Int, _ length: Int, _ children: [DissectedField] = []) {
        self.text = text
        self.offset = offset
        self.length = length
        self.children = children
    }

    /// `[text, offset, length, [children…]]`, the page's compact form.
    var json: PageJSON {
        .array([.string(text), .int(offset), .int(length), .array(children.map(\.json))])
    }
}

/// A frame's columns and dissection.
struct DissectedFrame {
    /// The Source and Destination columns: IP addresses, or MAC addresses for ARP.
    var source = ""
    var destination = ""
    /// The Protocol column, named as Wireshark names it (the highest layer understood).
    var protocolName = "Ethernet"
    /// The Info column.
    var info = ""
    /// The field tree, outermost layer first.
    var tree: [DissectedField] = []
}

/// Dissects frames in capture order, remembering each TCP direction's initial
/// sequence number so sequence numbers are shown relative, as Wireshark does.
struct FrameDissector {
    private var initialSequence: [String: UInt32] = [:]
    /// Per direction, where an HTTP response spread over several segments
    /// ends, and its status line: like Wireshark, the segment that completes it
    /// is labelled HTTP, the ones before it TCP.
    private var pendingResponse: [String: (end: UInt32, statusLine: String)] = [:]

    /// The columns and field tree of `frame` (Ethernet, without FCS). O(frame length).
    mutating func dissect(_ frame: [UInt8]) -> DissectedFrame {
        var out = DissectedFrame()
        frame.withUnsafeBytes { bytes in
            guard let ethernet = try? EthernetHeader.parse(bytes) else {
                out.info = "frame too short for Ethernet"
                return
            }
            out.source = ethernet.source.description
            out.destination = ethernet.destination.description
            out.tree.append(DissectedField("Ethernet II, Src: \(ethernet.source), Dst: \(ethernet.destination)", 0, EthernetHeader.length, [
                DissectedField("Destination: \(ethernet.destination)", 0, 6),
                DissectedField("Source: \(ethernet.source)", 6, 6),
                DissectedField("Type: \(ethernet.etherType) (0x\(hex(ethernet.etherType.rawValue, 4)))", 12, 2),
            ]))
            let payload = UnsafeRawBufferPointer(rebasing: bytes[EthernetHeader.length...])
            switch ethernet.etherType {
            case .arp: arp(payload, at: EthernetHeader.length, into: &out)
            case .ipv4: ipv4(payload, at: EthernetHeader.length, into: &out)
            case .ipv6: ipv6(payload, at: EthernetHeader.length, into: &out)
            default: break
            }
        }
        return out
    }

    private func arp(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) {
        guard let packet = try? ARPPacket.parse(bytes) else { return }
        out.protocolName = "ARP"
        let request = packet.operation == .request
        out.info = request ? "Who has \(packet.targetIP)? Tell \(packet.senderIP)" : "\(packet.senderIP) is at \(packet.senderMAC)"
        if packet.isGratuitous { out.info = "Gratuitous ARP for \(packet.senderIP) (\(request ? "Request" : "Reply"))" }
        out.tree.append(DissectedField("Address Resolution Protocol (\(request ? "request" : "reply"))", base, ARPPacket.length, [
            DissectedField("Hardware type: Ethernet (1)", base, 2),
            DissectedField("Protocol type: IPv4 (0x0800)", base + 2, 2),
            DissectedField("Hardware size: 6", base + 4, 1),
            DissectedField("Protocol size: 4", base + 5, 1),
            DissectedField("Opcode: \(request ? "request (1)" : "reply (2)")", base + 6, 2),
            DissectedField("Sender MAC address: \(packet.senderMAC)", base + 8, 6),
            DissectedField("Sender IP address: \(packet.senderIP)", base + 14, 4),
            DissectedField("Target MAC address: \(packet.targetMAC)", base + 18, 6),
            DissectedField("Target IP address: \(packet.targetIP)", base + 24, 4),
        ]))
    }

    private mutating func ipv4(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) {
        guard let ip = try? IPv4Header.parse(bytes) else { return }
        out.protocolName = "IPv4"
        out.source = ip.source.description
        out.destination = ip.destination.description
        let flags = (ip.dontFragment ? "Don't fragment" : "") + (ip.moreFragments ? " More fragments" : "")
        var fields = [
            DissectedField("Version: 4, Header length: \(ip.headerLength) bytes", base, 1),
            DissectedField("Differentiated services: 0x\(hex(ip.typeOfService, 2))", base + 1, 1),
            DissectedField("Total length: \(ip.totalLength)", base + 2, 2),
            DissectedField("Identification: 0x\(hex(ip.identification, 4)) (\(ip.identification))", base + 4, 2),
            DissectedField("Flags: \(flags.isEmpty ? "none" : flags), Fragment offset: \(ip.fragmentOffset)", base + 6, 2),
            DissectedField("Time to live: \(ip.timeToLive)", base + 8, 1),
            DissectedField("Protocol: \(ip.protocol) (\(ip.protocol.rawValue))", base + 9, 1),
            DissectedField("Header checksum: 0x\(hex(ip.checksum, 4))", base + 10, 2),
            DissectedField("Source address: \(ip.source)", base + 12, 4),
            DissectedField("Destination address: \(ip.destination)", base + 16, 4),
        ]
        if !ip.options.isEmpty { fields.append(DissectedField("Options (\(ip.options.count) bytes)", base + 20, ip.options.count)) }
        out.tree.append(DissectedField("Internet Protocol Version 4, Src: \(ip.source), Dst: \(ip.destination)", base, ip.headerLength, fields))
        let end = min(bytes.count, ip.totalLength)
        guard !ip.isFragment || ip.fragmentOffset == 0, end > ip.headerLength else { return }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[ip.headerLength..<end])
        let at = base + ip.headerLength
        switch ip.protocol {
        case .icmp: icmp(payload, at: at, into: &out)
        case .udp: udp(payload, at: at, source: .v4(ip.source), destination: .v4(ip.destination), into: &out)
        case .tcp: tcp(payload, at: at, source: .v4(ip.source), destination: .v4(ip.destination), into: &out)
        default: break
        }
    }

    /// The fixed IPv6 header (RFC 8200 §3), a hop-by-hop options header (MLD's router alert)
    /// when one follows, then ICMPv6, UDP or TCP.
    private mutating func ipv6(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) {
        guard let ip = try? IPv6Header.parse(bytes) else { return }
        out.protocolName = "IPv6"
        out.source = ip.source.description
        out.destination = ip.destination.description
        out.tree.append(DissectedField("Internet Protocol Version 6, Src: \(ip.source), Dst: \(ip.destination)", base, IPv6Header.length, [
            DissectedField("Version: 6", base, 1),
            DissectedField("Traffic class: 0x\(hex(ip.trafficClass, 2))", base, 2),
            DissectedField("Flow label: 0x\(hex(ip.flowLabel, 5))", base + 1, 3),
            DissectedField("Payload length: \(ip.payloadLength)", base + 4, 2),
            DissectedField("Next header: \(ip.nextHeader) (\(ip.nextHeader.rawValue))", base + 6, 1),
            DissectedField("Hop limit: \(ip.hopLimit)", base + 7, 1),
            DissectedField("Source address: \(ip.source)", base + 8, 16),
            DissectedField("Destination address: \(ip.destination)", base + 24, 16),
        ]))
        let end = min(bytes.count, ip.totalLength)
        var next = ip.nextHeader, offset = IPv6Header.length
        if next.rawValue == 0, end >= offset + 8 {
            // Hop-by-hop options: next header, length in 8-byte units beyond the first 8, options.
            let length = (Int(bytes[offset + 1]) + 1) * 8
            guard end >= offset + length else { return }
            next = IPProtocol(rawValue: bytes[offset])
            out.tree.append(DissectedField("IPv6 Hop-by-Hop Option, Next header: \(next) (\(next.rawValue))", base + offset, length, [
                DissectedField("Next header: \(next) (\(next.rawValue))", base + offset, 1),
                DissectedField("Length: \(bytes[offset + 1]) (\(length) bytes)", base + offset + 1, 1),
                DissectedField("Options (\(length - 2) bytes)", base + offset + 2, length - 2),
            ]))
            offset += length
        }
        guard end > offset else { return }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
        let at = base + offset
        switch next {
        case .icmpv6: icmpv6(payload, at: at, ip: ip, into: &out)
        case .udp: udp(payload, at: at, source: .v6(ip.source), destination: .v6(ip.destination), into: &out)
        case .tcp: tcp(payload, at: at, source: .v6(ip.source), destination: .v6(ip.destination), into: &out)
        default: break
        }
    }

    /// An ICMPv6 message (RFC 4443): type, code, checksum; for neighbour discovery (RFC 4861
    /// §4.3, §4.4) the flags, the target address and each option.
    private func icmpv6(_ bytes: UnsafeRawBufferPointer, at base: Int, ip: IPv6Header, into out: inout DissectedFrame) {
        guard bytes.count >= 4 else { return }
        out.protocolName = "ICMPv6"
        let type = bytes[0]
        let name = Self.icmpv6Names[type] ?? "Unknown"
        out.info = name
        var fields = [
            DissectedField("Type: \(name) (\(type))", base, 1),
            DissectedField("Code: \(bytes[1])", base + 1, 1),
            DissectedField("Checksum: 0x\(hex(UInt16(bytes[2]) << 8 | UInt16(bytes[3]), 4))", base + 2, 2),
        ]
        var optionsAt: Int?
        if let packet = try? NDPPacket.parse(bytes, source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit) {
            switch packet.message {
            case let .neighborSolicitation(target):
                out.info = "Neighbor Solicitation for \(target)" + (packet.options.sourceLinkLayerAddress.map { " from \($0)" } ?? "")
                fields.append(DissectedField("Reserved", base + 4, 4))
                fields.append(DissectedField("Target Address: \(target)", base + 8, 16))
                optionsAt = 24
            case let .neighborAdvertisement(target, router, solicited, override):
                let flags = [router ? "rtr" : nil, solicited ? "sol" : nil, override ? "ovr" : nil].compactMap { $0 }
                    .joined(separator: ", ")
                out.info = "Neighbor Advertisement \(target)" + (flags.isEmpty ? "" : " (\(flags))")
                    + (packet.options.targetLinkLayerAddress.map { " is at \($0)" } ?? "")
                fields.append(DissectedField("Flags: \(flags.isEmpty ? "none" : flags) (Router, Solicited, Override)", base + 4, 4))
                fields.append(DissectedField("Target Address: \(target)", base + 8, 16))
                optionsAt = 24
            default:
                break
            }
        }
        if var offset = optionsAt {
            // Type, length in 8-byte units, value (RFC 4861 §4.6); a zero length ends the walk.
            while offset + 2 <= bytes.count, bytes[offset + 1] > 0, offset + Int(bytes[offset + 1]) * 8 <= bytes.count {
                let length = Int(bytes[offset + 1]) * 8
                let mac = length == 8 ? " : " + (2..<8).map { hex(bytes[offset + $0], 2) }.joined(separator: ":") : ""
                let option = switch bytes[offset] {
                case 1: "Source link-layer address" + mac
                case 2: "Target link-layer address" + mac
                case 14: "Nonce"
                default: "Type \(bytes[offset])"
                }
                fields.append(DissectedField("ICMPv6 Option (\(option))", base + offset, length))
                offset += length
            }
        } else if bytes.count > 4 {
            fields.append(DissectedField("Message body (\(bytes.count - 4) bytes)", base + 4, bytes.count - 4))
        }
        out.tree.append(DissectedField("Internet Control Message Protocol v6", base, bytes.count, fields))
    }

    /// ICMPv6 types by number, as Wireshark names them.
    static let icmpv6Names: [UInt8: String] = [
        1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem",
        128: "Echo (ping) request", 129: "Echo (ping) reply", 133: "Router Solicitation", 134: "Router Advertisement",
        135: "Neighbor Solicitation", 136: "Neighbor Advertisement", 137: "Redirect",
        143: "Multicast Listener Report Message v2",
    ]

    private func icmp(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) {
        guard let header = try? ICMPv4Header.parse(bytes) else { return }
        out.protocolName = "ICMP"
        out.info = header.description
        out.tree.append(DissectedField("Internet Control Message Protocol", base, bytes.count, [
            DissectedField("Type: \(header.message.type)", base, 1),
            DissectedField("Code: \(bytes[1])", base + 1, 1),
            DissectedField("Checksum: 0x\(hex(header.checksum, 4))", base + 2, 2),
            DissectedField("Rest of header: \(header.description)", base + 4, 4),
            DissectedField("Data (\(bytes.count - ICMPv4Header.length) bytes)", base + 8, bytes.count - ICMPv4Header.length),
        ]))
    }

    private func udp(_ bytes: UnsafeRawBufferPointer, at base: Int, source: IPAddress, destination: IPAddress,
                     into out: inout DissectedFrame) {
        guard let header = try? UDPHeader.parse(bytes, source: source, destination: destination) else { return }
        out.protocolName = "UDP"
        out.info = "\(header.sourcePort) → \(header.destinationPort) Len=\(header.payloadLength)"
        out.tree.append(DissectedField("User Datagram Protocol, Src Port: \(header.sourcePort), Dst Port: \(header.destinationPort)", base, UDPHeader.headerLength, [
            DissectedField("Source port: \(header.sourcePort)", base, 2),
            DissectedField("Destination port: \(header.destinationPort)", base + 2, 2),
            DissectedField("Length: \(header.length)", base + 4, 2),
            DissectedField("Checksum: 0x\(hex(header.checksum, 4))", base + 6, 2),
        ]))
        let payload = UnsafeRawBufferPointer(rebasing: bytes[UDPHeader.headerLength..<header.length])
        let at = base + UDPHeader.headerLength
        if header.sourcePort == 53 || header.destinationPort == 53 {
            DNSDissector.dissect(payload, at: at, into: &out)
        } else if header.sourcePort == 7 || header.destinationPort == 7 {
            out.protocolName = "ECHO"
            out.info = header.destinationPort == 7 ? "Request" : "Response"
            out.tree.append(DissectedField("Echo (\(header.destinationPort == 7 ? "request" : "response")): \(payload.count) bytes", at, payload.count))
        } else if !payload.isEmpty {
            out.tree.append(DissectedField("Data (\(payload.count) bytes)", at, payload.count))
        }
    }

    private mutating func tcp(_ bytes: UnsafeRawBufferPointer, at base: Int, source: IPAddress, destination: IPAddress,
                              into out: inout DissectedFrame) {
        guard let header = try? TCPHeader.parse(bytes) else { return }
        out.protocolName = "TCP"
        let key = "\(source):\(header.sourcePort)>\(destination):\(header.destinationPort)"
        let reverse = "\(destination):\(header.destinationPort)>\(source):\(header.sourcePort)"
        let seq = header.sequenceNumber.rawValue, ack = header.acknowledgmentNumber.rawValue
        if header.flags.contains(.syn) { initialSequence[key] = seq }
        let relativeSeq = seq &- (initialSequence[key] ?? seq)
        let relativeAck = ack &- (initialSequence[reverse] ?? ack)
        let length = bytes.count - header.headerLength
        var info = "\(header.sourcePort) → \(header.destinationPort) [\(Self.flagNames(header.flags))] Seq=\(relativeSeq)"
        if header.flags.contains(.ack) { info += " Ack=\(relativeAck)" }
        info += " Win=\(header.window) Len=\(length)"
        let options = TCPOptionFields.fields(bytes, headerLength: header.headerLength, at: base)
        if let mss = header.options.mss { info += " MSS=\(mss)" }
        out.info = info
        let flagsRaw = UInt16(bytes[12] & 0x0F) << 8 | UInt16(bytes[13])
        var fields = [
            DissectedField("Source port: \(header.sourcePort)", base, 2),
            DissectedField("Destination port: \(header.destinationPort)", base + 2, 2),
            DissectedField("Sequence number: \(relativeSeq) (relative; raw \(seq))", base + 4, 4),
            DissectedField("Acknowledgment number: \(relativeAck) (relative; raw \(ack))", base + 8, 4),
            DissectedField("Header length: \(header.headerLength) bytes; Flags: 0x\(hex(flagsRaw, 3)) (\(Self.flagNames(header.flags)))", base + 12, 2,
                           [DissectedField("Header length: \(header.headerLength / 4) words of 4 bytes (the high 4 bits)", base + 12, 1)]
                           + Self.flagBits.map { DissectedField("\($0.1): \(header.flags.contains($0.0) ? "set" : "not set")", base + 13, 1) }),
            DissectedField("Window: \(header.window)", base + 14, 2),
            DissectedField("Checksum: 0x\(hex(header.checksum, 4))", base + 16, 2),
            DissectedField("Urgent pointer: \(header.urgentPointer)", base + 18, 2),
        ]
        if !options.isEmpty {
            fields.append(DissectedField("Options: (\(header.headerLength - TCPHeader.minimumLength) bytes)", base + TCPHeader.minimumLength,
                                         header.headerLength - TCPHeader.minimumLength, options))
        }
        out.tree.append(DissectedField("Transmission Control Protocol, Src Port: \(header.sourcePort), Dst Port: \(header.destinationPort), Seq: \(relativeSeq), Len: \(length)",
                                       base, header.headerLength, fields))
        guard length > 0 else { return }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[header.headerLength...])
        let at = base + header.headerLength
        if Self.httpPorts.contains(header.sourcePort) || Self.httpPorts.contains(header.destinationPort) {
            if let pending = pendingResponse[key], pending.end == seq &+ UInt32(length) {
                pendingResponse[key] = nil
                out.protocolName = "HTTP"
                out.info = pending.statusLine + " (the response's last segment; its first segment has the head)"
                out.tree.append(DissectedField("Hypertext Transfer Protocol: the rest of the body (\(length) bytes) — \(pending.statusLine)", at, length))
                return
            }
            let tcpInfo = out.info
            if let head = HTTPDissector.dissect(payload, at: at, into: &out), let contentLength = head.contentLength,
               head.length + contentLength > length {
                pendingResponse[key] = (seq &+ UInt32(head.length + contentLength), out.info)
                out.protocolName = "TCP"
                out.info = tcpInfo + " [TCP segment of a reassembled PDU]"
            }
        } else {
            out.tree.append(DissectedField("TCP payload (\(length) bytes)", at, length))
        }
    }

    /// The ports read as HTTP (those Wireshark's HTTP dissector takes by default, of the common ones).
    static let httpPorts: Set<UInt16> = [80, 8080, 8000, 8008, 8088, 3128]

    /// The flags of byte 13, lowest bit first.
    static let flagBits: [(TCPFlags, String)] = [(.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"), (.ack, "ACK"),
                                                 (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR")]

    /// "SYN, ACK": the flags set, lowest bit first, as Wireshark lists them.
    static func flagNames(_ flags: TCPFlags) -> String {
        flagBits.filter { flags.contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}

/// `value` in lowercase hex, zero-padded to `digits`.
func hex(_ value: some BinaryInteger, _ digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
