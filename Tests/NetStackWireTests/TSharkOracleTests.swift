// Wireshark as an independent oracle: one frame of every kind NetStack
// builds, written with its own emit functions into a pcap, must decode in
// tshark as the protocols intended, with every checksum good and nothing
// malformed. CI installs tshark; without it this test fails, never skips.

import Foundation
import NetStackTestSupport
import NetStackWire
import Testing

private let macA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
private let macR = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe)
private let hostA = IPv4Address(192, 0, 2, 1)
private let routerA = IPv4Address(192, 0, 2, 254)
private let hostB = IPv4Address(198, 51, 100, 1)

/// Builds frames layer by layer, every header written by NetStack's `emit`.
private enum Build {
    /// An Ethernet frame around `payload`, padded with zeros to the 60-byte minimum as an adapter sends it.
    static func ethernet(to destination: MACAddress, from source: MACAddress, _ type: EtherType,
                         _ payload: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: EthernetHeader.length) + payload
        frame.withUnsafeMutableBytes {
            EthernetHeader(destination: destination, source: source, etherType: type).emit(into: $0)
        }
        if frame.count < EthernetHeader.minimumFrameLength {
            frame += [UInt8](repeating: 0, count: EthernetHeader.minimumFrameLength - frame.count)
        }
        return frame
    }

    static func arp(_ packet: ARPPacket) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ARPPacket.length)
        bytes.withUnsafeMutableBytes { packet.emit(into: $0) }
        return bytes
    }

    /// An IPv4 datagram: `header` (its total length set from the payload) then `payload`.
    static func ipv4(_ header: IPv4Header, _ payload: [UInt8]) -> [UInt8] {
        var header = header
        header.totalLength = header.headerLength + payload.count
        var bytes = [UInt8](repeating: 0, count: header.headerLength) + payload
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes
    }

    static func ipv4(from source: IPv4Address, to destination: IPv4Address, _ proto: IPProtocol,
                     ttl: UInt8 = 64, id: UInt16, _ payload: [UInt8]) -> [UInt8] {
        ipv4(IPv4Header(source: source, destination: destination, protocol: proto, payloadLength: payload.count,
                        timeToLive: ttl, identification: id, dontFragment: true), payload)
    }

    static func icmp(_ message: ICMPv4Message, _ data: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ICMPv4Header.length) + data
        bytes.withUnsafeMutableBytes { ICMPv4Header(message).emit(into: $0) }
        return bytes
    }

    static func udp(from source: IPv4Address, to destination: IPv4Address, ports: (UInt16, UInt16),
                    _ payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: UDPHeader.headerLength) + payload
        let header = UDPHeader(sourcePort: ports.0, destinationPort: ports.1, payloadLength: payload.count)
        bytes.withUnsafeMutableBytes { header.emit(into: $0, source: source, destination: destination) }
        return bytes
    }

    static func tcp(_ header: TCPHeader, from source: IPv4Address, to destination: IPv4Address,
                    _ payload: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: header.headerLength) + payload
        bytes.withUnsafeMutableBytes {
            header.emit(into: $0, payloadLength: payload.count, source: source, destination: destination)
        }
        return bytes
    }
}

/// A frame and what tshark should make of it.
private struct IntendedFrame {
    var what: String
    var bytes: [UInt8]
    /// tshark's `frame.protocols`.
    var protocols: String
    /// The UDP checksum status tshark should report: 1 good, 3 not present (a zero checksum).
    var udpChecksumStatus = "1"
}

/// One frame of every kind, A ↔ R ↔ B as in Tests/Fixtures/captures.
private func intendedFrames() throws -> [IntendedFrame] {
    var frames: [IntendedFrame] = []
    func add(_ what: String, _ protocols: String, udpChecksumStatus: String = "1", _ bytes: [UInt8]) {
        frames.append(IntendedFrame(what: what, bytes: bytes, protocols: protocols, udpChecksumStatus: udpChecksumStatus))
    }

    // ARP request and reply.
    add("ARP request", "eth:ethertype:arp", Build.ethernet(to: .broadcast, from: macA, .arp, Build.arp(
        ARPPacket(operation: .request, senderMAC: macA, senderIP: hostA, targetMAC: .zero, targetIP: routerA))))
    add("ARP reply", "eth:ethertype:arp", Build.ethernet(to: macA, from: macR, .arp, Build.arp(
        ARPPacket(operation: .reply, senderMAC: macR, senderIP: routerA, targetMAC: macA, targetIP: hostA))))

    // ICMP echo request and reply, 56 bytes of data as ping sends.
    let pingData = (0..<56).map { UInt8($0) }
    let echoRequest = Build.ipv4(from: hostA, to: hostB, .icmp, id: 0x1001,
                                 Build.icmp(.echoRequest(identifier: 0x0adc, sequence: 1), pingData))
    add("ICMP echo request", "eth:ethertype:ip:icmp:data", Build.ethernet(to: macR, from: macA, .ipv4, echoRequest))
    add("ICMP echo reply", "eth:ethertype:ip:icmp:data", Build.ethernet(to: macA, from: macR, .ipv4,
        Build.ipv4(from: hostB, to: hostA, .icmp, ttl: 63, id: 0x2001,
                   Build.icmp(.echoReply(identifier: 0x0adc, sequence: 1), pingData))))

    // ICMP port unreachable quoting a whole UDP datagram.
    let probe = Build.ipv4(from: hostA, to: hostB, .udp, ttl: 63, id: 0x1002,
                           Build.udp(from: hostA, to: hostB, ports: (57632, 9999), Array("hi\n".utf8)))
    add("ICMP port unreachable", "eth:ethertype:ip:icmp:ip:udp:data", Build.ethernet(to: macR, from: macA, .ipv4,
        Build.ipv4(from: hostB, to: hostA, .icmp, id: 0x2002,
                   Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), probe))))

    // ICMP time exceeded quoting an echo that arrived with TTL 1 (IP header and 8 bytes, as RFC 792 asks).
    let dying = Build.ipv4(from: hostA, to: hostB, .icmp, ttl: 1, id: 0x1003,
                           Build.icmp(.echoRequest(identifier: 0x0ae5, sequence: 1), pingData))
    add("ICMP time exceeded", "eth:ethertype:ip:icmp:ip:icmp", Build.ethernet(to: macA, from: macR, .ipv4,
        Build.ipv4(from: routerA, to: hostA, .icmp, id: 0x3001,
                   Build.icmp(.timeExceeded(code: 0), Array(dying[0..<28])))))

    // ICMP fragmentation needed, next-hop MTU 1000, quoting a DF echo of 1,428 bytes cut to 548.
    let big = Build.ipv4(from: hostA, to: hostB, .icmp, id: 0,
                         Build.icmp(.echoRequest(identifier: 0x0b15, sequence: 1), (0..<1400).map { UInt8($0 & 0xFF) }))
    add("ICMP fragmentation needed", "eth:ethertype:ip:icmp:ip:icmp:data", Build.ethernet(to: macA, from: macR, .ipv4,
        Build.ipv4(from: routerA, to: hostA, .icmp, id: 0x3002,
                   Build.icmp(.destinationUnreachable(code: 4, nextHopMTU: 1000), Array(big[0..<548])))))

    // An IPv4 fragment pair: a 2,008-byte UDP datagram in 1,480 + 528 bytes; tshark reassembles it at the second.
    let whole = Build.udp(from: hostA, to: hostB, ports: (40000, 40001), (0..<2000).map { UInt8(truncatingIfNeeded: $0 * 7) })
    var first = IPv4Header(source: hostA, destination: hostB, protocol: .udp, payloadLength: 1480, identification: 0x1004)
    first.moreFragments = true
    var second = IPv4Header(source: hostA, destination: hostB, protocol: .udp, payloadLength: 528, identification: 0x1004)
    second.fragmentOffset = 1480
    add("IPv4 first fragment", "eth:ethertype:ip:data",
        Build.ethernet(to: macR, from: macA, .ipv4, Build.ipv4(first, Array(whole[0..<1480]))))
    add("IPv4 last fragment", "eth:ethertype:ip:udp:data",
        Build.ethernet(to: macR, from: macA, .ipv4, Build.ipv4(second, Array(whole[1480...]))))

    // UDP, with a checksum and with none (zero, RFC 768).
    add("UDP", "eth:ethertype:ip:udp:data", Build.ethernet(to: macR, from: macA, .ipv4,
        Build.ipv4(from: hostA, to: hostB, .udp, id: 0x1005,
                   Build.udp(from: hostA, to: hostB, ports: (35539, 40007), Array("hello, udp".utf8)))))
    var unchecked = Build.udp(from: hostA, to: hostB, ports: (35540, 40007), Array("no checksum".utf8))
    unchecked[6] = 0
    unchecked[7] = 0
    add("UDP without checksum", "eth:ethertype:ip:udp:data", udpChecksumStatus: "3",
        Build.ethernet(to: macR, from: macA, .ipv4, Build.ipv4(from: hostA, to: hostB, .udp, id: 0x1006, unchecked)))

    // TCP: a SYN with Linux's options, then a data segment carrying an HTTP request.
    let syn = TCPHeader(sourcePort: 35512, destinationPort: 8080, sequenceNumber: 2_010_113_226, flags: .syn,
                        window: 65280, options: TCPOptions(mss: 960, windowScale: 10, sackPermitted: true,
                                                           timestamps: TCPTimestamps(value: 2_513_052_660, echo: 0)))
    add("TCP SYN", "eth:ethertype:ip:tcp", Build.ethernet(to: macR, from: macA, .ipv4,
        Build.ipv4(from: hostA, to: hostB, .tcp, id: 0x1007, Build.tcp(syn, from: hostA, to: hostB))))
    let request = Array("GET /blob.bin HTTP/1.1\r\nHost: 198.51.100.1:8080\r\n\r\n".utf8)
    let data = TCPHeader(sourcePort: 35512, destinationPort: 8080, sequenceNumber: 2_010_113_227,
                         acknowledgmentNumber: 1_234_567_891, flags: [.ack, .psh], window: 64,
                         options: TCPOptions(timestamps: TCPTimestamps(value: 2_513_052_660, echo: 3_785_604_561)))
    add("TCP data", "eth:ethertype:ip:tcp:http", Build.ethernet(to: macR, from: macA, .ipv4,
        Build.ipv4(from: hostA, to: hostB, .tcp, id: 0x1008, Build.tcp(data, from: hostA, to: hostB, request))))

    // DNS: a query, and an answer through a CNAME with compressed names.
    let query = DNSMessage.query(id: 0x4a4a, name: try DNSName("www.example.test"))
    add("DNS query", "eth:ethertype:ip:udp:dns", Build.ethernet(to: macR, from: macA, .ipv4,
        Build.ipv4(from: hostA, to: hostB, .udp, id: 0x1009,
                   Build.udp(from: hostA, to: hostB, ports: (45115, 53), query.encoded()))))
    var flags = DNSFlags(recursionDesired: true)
    flags.isResponse = true
    flags.recursionAvailable = true
    let answer = DNSMessage(id: 0x4a4a, flags: flags, questions: query.questions, answers: [
        DNSResourceRecord(name: try DNSName("www.example.test"), timeToLive: 300,
                          data: .cname(try DNSName("web.example.test"))),
        DNSResourceRecord(name: try DNSName("web.example.test"), timeToLive: 300, data: .a(hostB)),
    ])
    add("DNS answer with CNAME", "eth:ethertype:ip:udp:dns", Build.ethernet(to: macA, from: macR, .ipv4,
        Build.ipv4(from: hostB, to: hostA, .udp, ttl: 63, id: 0x200a,
                   Build.udp(from: hostB, to: hostA, ports: (53, 45115), answer.encoded(compressingNames: true)))))
    return frames
}

@Suite("tshark decodes what NetStack emits")
struct TSharkOracleTests {
    @Test("one frame of every kind decodes as intended, checksums good, nothing malformed")
    func everyKindDecodes() throws {
        try #require(TShark.isAvailable,
                     "tshark is not installed at \(TShark.path): install it (apt-get install tshark), as CI does")
        let frames = try intendedFrames()
        var writer = PcapWriter()
        for (index, frame) in frames.enumerated() {
            writer.append(frame.bytes, nanoseconds: Int64(index) * 1_000_000)
        }
        let path = try TShark.writeTemporaryPcap(writer.takeBytes(), name: "netstack-oracle")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let checks = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"]

        let verbose = try TShark.run(["-r", path, "-V"] + checks)
        #expect(verbose.status == 0, "tshark failed: \(verbose.output)")
        #expect(!verbose.output.contains("Malformed"), "\(verbose.output)")
        #expect(!verbose.output.contains("[Checksum Status: Bad]"), "\(verbose.output)")
        #expect(!verbose.output.contains("incorrect"), "\(verbose.output)")
        #expect(!verbose.output.contains("Expert Info (Error"), "\(verbose.output)")

        let fields = try TShark.run(["-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.protocols",
                                     "-e", "ip.checksum.status", "-e", "icmp.checksum.status",
                                     "-e", "udp.checksum.status", "-e", "tcp.checksum.status"] + checks)
        #expect(fields.status == 0, "tshark failed: \(fields.output)")
        let lines = fields.output.split(separator: "\n", omittingEmptySubsequences: true)
        try #require(lines.count == frames.count, "tshark printed \(lines.count) lines for \(frames.count) frames")
        for (frame, line) in zip(frames, lines) {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            try #require(columns.count == 5, "\(frame.what): \(line)")
            #expect(columns[0] == frame.protocols, "\(frame.what)")
            // Status per header, outermost first: 0 bad, 1 good, 2 unverified (a quote cut short),
            // 3 not present (UDP's zero), 4 illegal.
            let (ip, icmp, udp, tcp) = (columns[1], columns[2], columns[3], columns[4])
            if frame.protocols.contains(":ip") { #expect(ip.split(separator: ",").allSatisfy { $0 == "1" }, "\(frame.what): IP \(ip)") }
            if frame.protocols.contains(":icmp") { #expect(icmp.hasPrefix("1"), "\(frame.what): ICMP \(icmp)") }
            if frame.protocols.contains(":udp") { #expect(udp.hasPrefix(frame.udpChecksumStatus), "\(frame.what): UDP \(udp)") }
            if frame.protocols.contains(":tcp") { #expect(tcp == "1", "\(frame.what): TCP \(tcp)") }
            for value in [ip, icmp, udp, tcp].flatMap({ $0.split(separator: ",").map(String.init) }) {
                #expect(["1", "2", frame.udpChecksumStatus].contains(value), "\(frame.what): checksum status \(value) in \(line)")
            }
        }
    }
}
