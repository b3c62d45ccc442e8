// TCP headers (RFC 9293 §3.1): every segment of a whole Linux session as
// tshark decodes it, emit reproducing Linux's bytes, every malformed header
// the parser must refuse, sequence-number arithmetic (RFC 1982), and random
// mutations of real segments that must only ever throw.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = IPv4Address(192, 0, 2, 1)
private let hostB = IPv4Address(198, 51, 100, 1)

/// A captured TCP segment: the IP payload (exactly, without link padding) and its addresses.
struct CapturedTCPSegment {
    var bytes: [UInt8]
    var source: IPv4Address
    var destination: IPv4Address

    /// Frame `number` (tshark numbering) of `capture`, taken apart with NetStack's Ethernet and IPv4 parsers.
    init(_ capture: String, _ number: Int) throws {
        let frame = try Golden.frame(capture, number)
        let datagram = Array(frame[EthernetHeader.length...])
        let ethernet = try frame.withUnsafeBytes { raw in
            Result { () throws(WireError) in try EthernetHeader.parse(raw) }
        }.get()
        try #require(ethernet.etherType == .ipv4)
        let ip = try datagram.withUnsafeBytes { raw in
            Result { () throws(WireError) in try IPv4Header.parse(raw) }
        }.get()
        let segment = Array(datagram[ip.headerLength..<ip.totalLength])
        try #require(ip.protocol == .tcp)
        bytes = segment
        source = ip.source
        destination = ip.destination
    }

    /// Parses with the checksum check.
    func parse() throws(WireError) -> TCPHeader { try Self.parse(bytes, source: source, destination: destination) }

    static func parse(_ bytes: [UInt8], source: IPv4Address, destination: IPv4Address) throws(WireError) -> TCPHeader {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) in try TCPHeader.parse(raw, source: source, destination: destination) }
        }.get()
    }

    static func parse(_ bytes: [UInt8]) throws(WireError) -> TCPHeader {
        try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try TCPHeader.parse(raw) } }.get()
    }
}

/// The error `body` throws, or nil when it returns.
func tcpError<T>(_ body: () throws(WireError) -> T) -> WireError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

/// `header` emitted in front of `payload`, between `source` and `destination`.
func emittedTCP(_ header: TCPHeader, payload: [UInt8] = [], source: IPv4Address, destination: IPv4Address) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xEE, count: header.headerLength) + payload
    bytes.withUnsafeMutableBytes {
        header.emit(into: $0, payloadLength: payload.count, source: source, destination: destination)
    }
    return bytes
}

// Every segment of tcp-http-session.pcap as tshark shows it:
// frame, ports, raw seq and ack, flags, window (unscaled), checksum, header length, payload length, TSval, TSecr.
private let session: [(frame: Int, source: UInt16, destination: UInt16, seq: UInt32, ack: UInt32, flags: UInt8,
                       window: UInt16, checksum: UInt16, headerLength: Int, length: Int, tsval: UInt32, tsecr: UInt32)] = [
    (1, 35512, 8080, 2010113226, 0, 0x02, 65280, 0x9e18, 40, 0, 2513052660, 0),
    (2, 8080, 35512, 3132133063, 2010113227, 0x12, 65160, 0xb39d, 40, 0, 3785604561, 2513052660),
    (3, 35512, 8080, 2010113227, 3132133064, 0x10, 64, 0xe0b5, 32, 0, 2513052660, 3785604561),
    (4, 35512, 8080, 2010113227, 3132133064, 0x18, 64, 0x4462, 32, 89, 2513052660, 3785604561),
    (5, 8080, 35512, 3132133064, 2010113316, 0x10, 64, 0xe05c, 32, 0, 3785604561, 2513052660),
    (6, 8080, 35512, 3132133064, 2010113316, 0x18, 64, 0x8f19, 32, 203, 3785604565, 2513052660),
    (7, 35512, 8080, 2010113316, 3132133267, 0x10, 64, 0xdf89, 32, 0, 2513052664, 3785604565),
    (8, 8080, 35512, 3132133267, 2010113316, 0x10, 64, 0xe750, 32, 948, 3785604565, 2513052664),
    (9, 35512, 8080, 2010113316, 3132134215, 0x10, 66, 0xdbd3, 32, 0, 2513052664, 3785604565),
    (10, 8080, 35512, 3132134215, 2010113316, 0x10, 64, 0x8fe9, 32, 948, 3785604565, 2513052664),
    (11, 35512, 8080, 2010113316, 3132135163, 0x10, 67, 0xd81e, 32, 0, 2513052664, 3785604565),
    (12, 8080, 35512, 3132135163, 2010113316, 0x10, 64, 0x4daf, 32, 948, 3785604565, 2513052664),
    (13, 35512, 8080, 2010113316, 3132136111, 0x10, 67, 0xd469, 32, 0, 2513052665, 3785604565),
    (14, 8080, 35512, 3132136111, 2010113316, 0x10, 64, 0x2621, 32, 948, 3785604565, 2513052664),
    (15, 35512, 8080, 2010113316, 3132137059, 0x10, 67, 0xd0b5, 32, 0, 2513052665, 3785604565),
    (16, 8080, 35512, 3132137059, 2010113316, 0x18, 64, 0xa2a7, 32, 948, 3785604565, 2513052664),
    (17, 35512, 8080, 2010113316, 3132138007, 0x10, 67, 0xcd01, 32, 0, 2513052665, 3785604565),
    (18, 8080, 35512, 3132138007, 2010113316, 0x10, 64, 0xdef5, 32, 948, 3785604565, 2513052664),
    (19, 35512, 8080, 2010113316, 3132138955, 0x10, 68, 0xc94c, 32, 0, 2513052665, 3785604565),
    (20, 8080, 35512, 3132138955, 2010113316, 0x10, 64, 0x6018, 32, 948, 3785604565, 2513052664),
    (21, 35512, 8080, 2010113316, 3132139903, 0x10, 68, 0xc598, 32, 0, 2513052665, 3785604565),
    (22, 8080, 35512, 3132139903, 2010113316, 0x10, 64, 0xf42f, 32, 948, 3785604565, 2513052664),
    (23, 35512, 8080, 2010113316, 3132140851, 0x10, 68, 0xc1e4, 32, 0, 2513052665, 3785604565),
    (24, 8080, 35512, 3132140851, 2010113316, 0x10, 64, 0xdea3, 32, 948, 3785604565, 2513052664),
    (25, 35512, 8080, 2010113316, 3132141799, 0x10, 68, 0xbe30, 32, 0, 2513052665, 3785604565),
    (26, 8080, 35512, 3132141799, 2010113316, 0x18, 64, 0xb6f3, 32, 948, 3785604565, 2513052664),
    (27, 35512, 8080, 2010113316, 3132142747, 0x10, 68, 0xba7c, 32, 0, 2513052665, 3785604565),
    (28, 8080, 35512, 3132142747, 2010113316, 0x10, 64, 0x0093, 32, 948, 3785604566, 2513052664),
    (29, 35512, 8080, 2010113316, 3132143695, 0x10, 68, 0xb6c7, 32, 0, 2513052665, 3785604566),
    (30, 8080, 35512, 3132143695, 2010113316, 0x10, 64, 0x21ba, 32, 948, 3785604566, 2513052664),
    (31, 35512, 8080, 2010113316, 3132144643, 0x10, 68, 0xb313, 32, 0, 2513052665, 3785604566),
    (32, 8080, 35512, 3132144643, 2010113316, 0x10, 64, 0x20cd, 32, 948, 3785604566, 2513052664),
    (33, 35512, 8080, 2010113316, 3132145591, 0x10, 68, 0xaf5f, 32, 0, 2513052665, 3785604566),
    (34, 8080, 35512, 3132145591, 2010113316, 0x10, 64, 0xe94b, 32, 948, 3785604566, 2513052664),
    (35, 35512, 8080, 2010113316, 3132146539, 0x10, 68, 0xabab, 32, 0, 2513052665, 3785604566),
    (36, 8080, 35512, 3132146539, 2010113316, 0x18, 64, 0x0ae6, 32, 948, 3785604566, 2513052664),
    (37, 35512, 8080, 2010113316, 3132147487, 0x10, 68, 0xa7f7, 32, 0, 2513052665, 3785604566),
    (38, 8080, 35512, 3132147487, 2010113316, 0x10, 64, 0x88bc, 32, 948, 3785604566, 2513052665),
    (39, 35512, 8080, 2010113316, 3132148435, 0x10, 68, 0xa443, 32, 0, 2513052665, 3785604566),
    (40, 8080, 35512, 3132148435, 2010113316, 0x10, 64, 0xaafd, 32, 948, 3785604566, 2513052665),
    (41, 8080, 35512, 3132149383, 2010113316, 0x10, 64, 0x86ca, 32, 948, 3785604566, 2513052665),
    (42, 8080, 35512, 3132150331, 2010113316, 0x10, 64, 0xeeaf, 32, 948, 3785604566, 2513052665),
    (43, 8080, 35512, 3132151279, 2010113316, 0x10, 64, 0x1f5f, 32, 948, 3785604566, 2513052665),
    (44, 8080, 35512, 3132152227, 2010113316, 0x10, 64, 0x5219, 32, 948, 3785604566, 2513052665),
    (45, 8080, 35512, 3132153175, 2010113316, 0x18, 64, 0x2f50, 32, 92, 3785604566, 2513052665),
    (46, 35512, 8080, 2010113316, 3132153267, 0x10, 68, 0x9163, 32, 0, 2513052665, 3785604566),
    (47, 35512, 8080, 2010113316, 3132153267, 0x11, 68, 0x9162, 32, 0, 2513052665, 3785604566),
    (48, 8080, 35512, 3132153267, 2010113317, 0x11, 64, 0x9165, 32, 0, 3785604566, 2513052665),
    (49, 35512, 8080, 2010113317, 3132153268, 0x10, 68, 0x9161, 32, 0, 2513052665, 3785604566),
]

@Suite("TCP header fields from Linux captures")
struct TCPCaptureTests {
    @Test("every segment of tcp-http-session parses with a good checksum and tshark's field values",
          arguments: session.map(\.frame))
    func everySessionSegment(frame: Int) throws {
        let expected = try #require(session.first { $0.frame == frame })
        let segment = try CapturedTCPSegment("tcp-http-session", frame)
        let header = try segment.parse()
        #expect(header.sourcePort == expected.source)
        #expect(header.destinationPort == expected.destination)
        #expect(header.sequenceNumber == SequenceNumber(expected.seq))
        #expect(header.acknowledgmentNumber == SequenceNumber(expected.ack))
        #expect(header.flags == TCPFlags(rawValue: expected.flags))
        #expect(header.window == expected.window)
        #expect(header.checksum == expected.checksum)
        #expect(header.urgentPointer == 0)
        #expect(header.headerLength == expected.headerLength)
        #expect(segment.bytes.count - header.headerLength == expected.length)
        #expect(header.options.timestamps == TCPTimestamps(value: expected.tsval, echo: expected.tsecr))
        #expect(header.options.sackBlocks.isEmpty)
    }

    @Test("the SYN carries MSS 960, SACK-permitted, TSval 2513052660 TSecr 0, window scale 10 (#1)")
    func synOptions() throws {
        let header = try CapturedTCPSegment("tcp-http-session", 1).parse()
        #expect(header.flags == .syn)
        #expect(header.sequenceNumber == 2_010_113_226)
        #expect(header.acknowledgmentNumber == 0)
        #expect(header.window == 65280)
        #expect(header.headerLength == 40)
        #expect(header.options.mss == 960)
        #expect(header.options.sackPermitted)
        #expect(header.options.timestamps == TCPTimestamps(value: 2_513_052_660, echo: 0))
        #expect(header.options.windowScale == 10)
        #expect(header.options.sackBlocks.isEmpty)
    }

    @Test("the SYN-ACK carries MSS 1460 and echoes the SYN's timestamp (#2)")
    func synAckOptions() throws {
        let header = try CapturedTCPSegment("tcp-http-session", 2).parse()
        #expect(header.flags == [.syn, .ack])
        #expect(header.sequenceNumber == 3_132_133_063)
        #expect(header.acknowledgmentNumber == 2_010_113_227)
        #expect(header.options.mss == 1460)
        #expect(header.options.sackPermitted)
        #expect(header.options.timestamps == TCPTimestamps(value: 3_785_604_561, echo: 2_513_052_660))
        #expect(header.options.windowScale == 10)
    }

    @Test("a data segment carries only timestamps and the PSH flag (#4: GET, 89 bytes)")
    func dataSegment() throws {
        let segment = try CapturedTCPSegment("tcp-http-session", 4)
        let header = try segment.parse()
        #expect(header.flags == [.psh, .ack])
        #expect(header.headerLength == 32)
        #expect(segment.bytes.count - header.headerLength == 89)
        #expect(header.options.mss == nil)
        #expect(header.options.windowScale == nil)
        #expect(!header.options.sackPermitted)
        #expect(Array(segment.bytes[32..<36]) == Array("GET ".utf8))
    }

    @Test("both FINs and the last ACK close the connection (#47, #48, #49)")
    func finHandshake() throws {
        let clientFin = try CapturedTCPSegment("tcp-http-session", 47).parse()
        #expect(clientFin.flags == [.fin, .ack])
        #expect(clientFin.sequenceNumber == 2_010_113_316)
        #expect(clientFin.acknowledgmentNumber == 3_132_153_267)
        let serverFin = try CapturedTCPSegment("tcp-http-session", 48).parse()
        #expect(serverFin.flags == [.fin, .ack])
        #expect(serverFin.acknowledgmentNumber == clientFin.sequenceNumber + 1)
        let lastAck = try CapturedTCPSegment("tcp-http-session", 49).parse()
        #expect(lastAck.flags == .ack)
        #expect(lastAck.sequenceNumber == 2_010_113_317)
        #expect(lastAck.acknowledgmentNumber == 3_132_153_268)
    }

    @Test("a SYN to a closed port is answered by RST+ACK, seq 0, window 0, no options (tcp-rst-closed-port)")
    func resetFromClosedPort() throws {
        let syn = try CapturedTCPSegment("tcp-rst-closed-port", 1).parse()
        #expect(syn.sourcePort == 60182)
        #expect(syn.destinationPort == 8081)
        #expect(syn.sequenceNumber == 1_342_687_148)
        #expect(syn.checksum == 0xDEB4)
        #expect(syn.options.timestamps == TCPTimestamps(value: 3_538_717_372, echo: 0))
        let reset = try CapturedTCPSegment("tcp-rst-closed-port", 2).parse()
        #expect(reset.sourcePort == 8081)
        #expect(reset.destinationPort == 60182)
        #expect(reset.flags == [.rst, .ack])
        #expect(reset.sequenceNumber == 0)
        #expect(reset.acknowledgmentNumber == 1_342_687_149)
        #expect(reset.window == 0)
        #expect(reset.checksum == 0xA13D)
        #expect(reset.headerLength == 20)
        #expect(reset.options.isEmpty)
    }

    @Test("description reads like tshark's summary line")
    func description() throws {
        let syn = try CapturedTCPSegment("tcp-http-session", 1).parse()
        #expect(syn.description
            == "TCP 35512 → 8080 [SYN] seq 2010113226 win 65280 <mss 960,sackOK,TS val 2513052660 ecr 0,wscale 10>")
        let reset = try CapturedTCPSegment("tcp-rst-closed-port", 2).parse()
        #expect(reset.description == "TCP 8081 → 60182 [RST, ACK] seq 0 ack 1342687149 win 0")
        #expect(TCPFlags(rawValue: 0xFF).description == "FIN, SYN, RST, PSH, ACK, URG, ECE, CWR")
    }
}

@Suite("TCP header emit")
struct TCPEmitTests {
    @Test("the SYN built from tshark's field values is Linux's SYN byte for byte (#1)")
    func synFromLiterals() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 1)
        let header = TCPHeader(sourcePort: 35512, destinationPort: 8080, sequenceNumber: 2_010_113_226,
                               flags: .syn, window: 65280,
                               options: TCPOptions(mss: 960, windowScale: 10, sackPermitted: true,
                                                   timestamps: TCPTimestamps(value: 2_513_052_660, echo: 0)))
        #expect(header.headerLength == 40)
        #expect(emittedTCP(header, source: hostA, destination: hostB) == captured.bytes)
    }

    @Test("the RST+ACK built from tshark's field values is Linux's byte for byte")
    func resetFromLiterals() throws {
        let captured = try CapturedTCPSegment("tcp-rst-closed-port", 2)
        let header = TCPHeader(sourcePort: 8081, destinationPort: 60182, sequenceNumber: 0,
                               acknowledgmentNumber: 1_342_687_149, flags: [.rst, .ack], window: 0)
        #expect(emittedTCP(header, source: hostB, destination: hostA) == captured.bytes)
    }

    @Test("every captured segment rebuilt from its parsed fields is identical, payload checksum included",
          arguments: [("tcp-http-session", Array(1...49)), ("tcp-rst-closed-port", [1, 2])])
    func rebuildEverySegment(capture: String, frames: [Int]) throws {
        for frame in frames {
            let captured = try CapturedTCPSegment(capture, frame)
            let header = try captured.parse()
            let payload = Array(captured.bytes[header.headerLength...])
            #expect(emittedTCP(header, payload: payload, source: captured.source, destination: captured.destination)
                == captured.bytes, "frame \(frame)")
        }
    }

    @Test("emit's checksum is the RFC 1071 checksum over pseudo-header, header and an odd-length payload")
    func checksumOracle() throws {
        let payload: [UInt8] = [0x68, 0x65, 0x6C, 0x6C, 0x6F]
        let header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 3, acknowledgmentNumber: 4,
                               flags: [.psh, .ack], window: 5,
                               options: TCPOptions(timestamps: TCPTimestamps(value: 6, echo: 7)))
        var bytes = emittedTCP(header, payload: payload, source: hostA, destination: hostB)
        let checksum = Golden.be16(bytes, 16)
        Golden.storeBE16(0, in: &bytes, at: 16)
        let sum = Golden.onesComplementSum(bytes, adding: Golden.pseudoHeader(hostA, hostB, protocol: 6, length: bytes.count))
        #expect(checksum == ~sum)
        #expect(Array(bytes[0..<20]) == [0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x80, 0x18, 0, 5, bytes[16], bytes[17], 0, 0])
        #expect(Array(bytes[20..<32]) == [1, 1, 8, 10, 0, 0, 0, 6, 0, 0, 0, 7])
    }

    @Test("a parsed header with an unknown option keeps its length; emit pads with End of Option List")
    func unknownOptionKeepsLength() throws {
        // Header of 28 bytes: an experimental option (kind 254, length 4), then MSS 1400.
        var bytes: [UInt8] = [0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, 0x02, 0xFF, 0xFF, 0, 0, 0, 0,
                              254, 4, 0xAB, 0xCD, 2, 4, 0x05, 0x78]
        let sum = Golden.onesComplementSum(bytes, adding: Golden.pseudoHeader(hostA, hostB, protocol: 6, length: bytes.count))
        Golden.storeBE16(~sum, in: &bytes, at: 16)
        var header = try CapturedTCPSegment.parse(bytes, source: hostA, destination: hostB)
        #expect(header.headerLength == 28)
        #expect(header.options.mss == 1400)
        let rebuilt = emittedTCP(header, source: hostA, destination: hostB)
        #expect(Array(rebuilt[20..<28]) == [2, 4, 0x05, 0x78, 0, 0, 0, 0])
        #expect(try CapturedTCPSegment.parse(rebuilt, source: hostA, destination: hostB).options.mss == 1400)
        header.options.mss = 536
        #expect(header.headerLength == 24)
    }
}

@Suite("TCP header errors")
struct TCPErrorTests {
    @Test("verifyingChecksum false accepts a wrong checksum but still refuses a bad data offset; good bytes parse alike")
    func parseWithoutVerifying() throws {
        let segment = try CapturedTCPSegment("tcp-http-session", 3)
        let source = IPAddress.v4(segment.source), destination = IPAddress.v4(segment.destination)
        let verified = try segment.bytes.withUnsafeBytes { try TCPHeader.parse($0, source: source, destination: destination) }
        let trusted = try segment.bytes.withUnsafeBytes {
            try TCPHeader.parse($0, source: source, destination: destination, verifyingChecksum: false)
        }
        #expect(trusted == verified)
        var damaged = segment.bytes
        damaged[16] ^= 0xFF
        #expect(tcpError { () throws(WireError) in
            try damaged.withUnsafeBytes { raw in
                Result { () throws(WireError) in try TCPHeader.parse(raw, source: source, destination: destination) }
            }.get()
        } == .badChecksum(.tcp))
        let accepted = try damaged.withUnsafeBytes {
            try TCPHeader.parse($0, source: source, destination: destination, verifyingChecksum: false)
        }
        #expect(accepted.sequenceNumber == verified.sequenceNumber && accepted.checksum != verified.checksum)
        var shortOffset = segment.bytes
        shortOffset[12] = 4 << 4
        #expect(tcpError { () throws(WireError) in
            try shortOffset.withUnsafeBytes { raw in
                Result { () throws(WireError) in
                    try TCPHeader.parse(raw, source: source, destination: destination, verifyingChecksum: false)
                }
            }.get()
        } == .badHeaderLength(.tcp, 16))
    }

    @Test("fewer than 20 bytes are truncated, at every length")
    func shorterThanMinimum() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 1)
        for length in 0..<20 {
            let bytes = Array(captured.bytes[0..<length])
            #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes) }
                == .truncated(.tcp, needed: 20, available: length))
            #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes, source: hostA, destination: hostB) }
                == .truncated(.tcp, needed: 20, available: length))
        }
    }

    @Test("a segment cut inside its options is truncated at the data offset, at every length")
    func cutInsideOptions() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 1)
        for length in 20..<40 {
            let bytes = Array(captured.bytes[0..<length])
            #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes) }
                == .truncated(.tcp, needed: 40, available: length))
        }
    }

    @Test("a segment cut inside its payload fails the checksum, at every length, but parses unchecked")
    func cutInsidePayload() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 4)  // 32-byte header, 89 bytes of GET
        for length in 32..<captured.bytes.count {
            let bytes = Array(captured.bytes[0..<length])
            #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes, source: captured.source,
                                                                                 destination: captured.destination) }
                == .badChecksum(.tcp))
            #expect(try CapturedTCPSegment.parse(bytes).sequenceNumber == 2_010_113_227)
        }
    }

    @Test("a data offset below 5 words is a bad header length", arguments: 0...4)
    func dataOffsetTooSmall(words: Int) throws {
        var bytes = try CapturedTCPSegment("tcp-rst-closed-port", 2).bytes
        bytes[12] = UInt8(words << 4)
        #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes) } == .badHeaderLength(.tcp, words * 4))
    }

    @Test("a data offset past the end of the segment is truncated", arguments: 6...15)
    func dataOffsetPastEnd(words: Int) throws {
        var bytes = try CapturedTCPSegment("tcp-rst-closed-port", 2).bytes
        bytes[12] = UInt8(words << 4)
        #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes) }
            == .truncated(.tcp, needed: words * 4, available: 20))
    }

    @Test("every single-bit error in the SYN is rejected by the checksummed parse")
    func everyBitFlip() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 1)
        for bit in 0..<(captured.bytes.count * 8) {
            let bytes = Golden.flipping(captured.bytes, bit: bit)
            #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes, source: captured.source,
                                                                                 destination: captured.destination) }
                != nil, "bit \(bit)")
        }
    }

    @Test("the checksum covers the pseudo-header: other addresses fail it")
    func wrongAddresses() throws {
        let captured = try CapturedTCPSegment("tcp-http-session", 3)
        #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(captured.bytes, source: hostB, destination: hostA) }
            == nil)  // swapping the addresses leaves the one's-complement sum unchanged
        #expect(tcpError { () throws(WireError) in
            try CapturedTCPSegment.parse(captured.bytes, source: IPv4Address(192, 0, 2, 2), destination: hostB)
        } == .badChecksum(.tcp))
    }

    @Test("an option error in a real segment reports the option's offset within the header")
    func optionErrorOffset() throws {
        var bytes = try CapturedTCPSegment("tcp-http-session", 1).bytes
        bytes[38] = 0  // window scale's length byte; the option starts at 37, after the NOP at 36
        #expect(tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes) } == .badOption(.tcp, kind: 3, offset: 37))
    }
}

@Suite("TCP sequence numbers, RFC 9293 §3.4 and RFC 1982")
struct SequenceNumberTests {
    @Test("addition wraps modulo 2^32")
    func wrappingAddition() {
        #expect(SequenceNumber(0xFFFF_FFFF) + 1 == 0)
        #expect(SequenceNumber(0xFFFF_FF00) + 0x200 == 0x100)
        #expect(SequenceNumber(5) - 10 == SequenceNumber(0xFFFF_FFFB))
        var number: SequenceNumber = 0xFFFF_FFFE
        number += 3
        #expect(number == 1)
    }

    @Test("distance is signed and survives the wrap")
    func distance() {
        #expect(SequenceNumber(0x10) - SequenceNumber(0xFFFF_FFF0) == 0x20)
        #expect(SequenceNumber(0xFFFF_FFF0) - SequenceNumber(0x10) == -0x20)
        #expect(SequenceNumber(3_132_153_267) - SequenceNumber(3_132_133_064) == 20203)
    }

    @Test("comparison is serial-number arithmetic across the wrap")
    func comparison() {
        let before: SequenceNumber = 0xFFFF_FF00, after: SequenceNumber = 0x100
        #expect(before < after)
        #expect(after > before)
        #expect(!(after < before))
        #expect(before <= before && before >= before)
        #expect(SequenceNumber(0) < SequenceNumber(0x7FFF_FFFF))
        #expect(SequenceNumber(0x7FFF_FFFF) < SequenceNumber(0xFFFF_FFFE))
        #expect(SequenceNumber(0xFFFF_FFFE) < SequenceNumber(0))  // not transitive around the circle
    }

    @Test("numbers exactly 2^31 apart are neither less nor greater (RFC 1982 §3.2)")
    func halfwayUndefined() {
        let a: SequenceNumber = 7, b = SequenceNumber(7 + 0x8000_0000)
        #expect(!(a < b) && !(b < a) && !(a > b) && !(b > a))
        #expect(a != b)
    }

    @Test("isWithin tests a window that wraps")
    func window() {
        let start: SequenceNumber = 0xFFFF_FFF0
        #expect(SequenceNumber(0xFFFF_FFF0).isWithin(start: start, length: 0x20))
        #expect(SequenceNumber(0x0F).isWithin(start: start, length: 0x20))
        #expect(!SequenceNumber(0x10).isWithin(start: start, length: 0x20))
        #expect(!SequenceNumber(0xFFFF_FFEF).isWithin(start: start, length: 0x20))
        #expect(!start.isWithin(start: start, length: 0))
    }
}

/// SplitMix64: a small seeded generator, so every run mutates the same way.
private struct Mutator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }

    /// 1–4 edits: overwrite a byte (often a header byte, often an interesting value), flip a bit,
    /// cut the end, drop or insert a byte.
    mutating func mutate(_ input: [UInt8], focus: Int) -> [UInt8] {
        var bytes = input
        let interesting: [UInt8] = [0, 1, 2, 3, 4, 5, 8, 10, 14, 15, 18, 34, 40, 0x50, 0xA0, 0xF0, 0xFF]
        for _ in 0...below(4) {
            guard !bytes.isEmpty else { break }
            let at = below(2) == 0 ? below(min(focus, bytes.count)) : below(bytes.count)
            switch below(6) {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: next())
            case 1: bytes[at] = interesting[below(interesting.count)]
            case 2: bytes[at] ^= 1 << UInt8(below(8))
            case 3: bytes.removeLast(below(bytes.count + 1))
            case 4: bytes.remove(at: at)
            default: bytes.insert(interesting[below(interesting.count)], at: at)
            }
        }
        return bytes
    }
}

@Suite("TCP parser under random mutation")
struct TCPMutationTests {
    @Test("6,000 random mutations of real segments only throw WireError, and what parses re-emits")
    func randomMutations() throws {
        let segments = try (1...49).map { try CapturedTCPSegment("tcp-http-session", $0) }
            + [try CapturedTCPSegment("tcp-rst-closed-port", 1), try CapturedTCPSegment("tcp-rst-closed-port", 2)]
        var random = Mutator(state: 0x5EED_7C9)
        var accepted = 0, rejected = 0
        for round in 0..<6000 {
            let base = segments[random.below(segments.count)]
            var bytes = random.mutate(base.bytes, focus: 60)
            if round % 2 == 0, bytes.count >= 20 {  // a right checksum lets the checked parse reach the options
                Golden.storeBE16(0, in: &bytes, at: 16)
                let sum = Golden.onesComplementSum(bytes, adding: Golden.pseudoHeader(
                    base.source, base.destination, protocol: 6, length: bytes.count))
                Golden.storeBE16(~sum, in: &bytes, at: 16)
            }
            _ = tcpError { () throws(WireError) in try CapturedTCPSegment.parse(bytes, source: base.source,
                                                                             destination: base.destination) }
            let header: TCPHeader
            do throws(WireError) {
                header = try CapturedTCPSegment.parse(bytes)
            } catch {
                rejected += 1
                continue
            }
            accepted += 1
            #expect(header.headerLength >= 20 && header.headerLength <= min(60, bytes.count)
                && header.headerLength % 4 == 0)
            let payload = Array(bytes[header.headerLength...])
            let again = try CapturedTCPSegment.parse(emittedTCP(header, payload: payload, source: base.source,
                                                          destination: base.destination),
                                                  source: base.source, destination: base.destination)
            #expect(again.sourcePort == header.sourcePort && again.destinationPort == header.destinationPort
                && again.sequenceNumber == header.sequenceNumber && again.flags == header.flags
                && again.headerLength == header.headerLength && again.options.mss == header.options.mss
                && again.options.timestamps == header.options.timestamps)
        }
        #expect(accepted > 500 && rejected > 500)
    }
}
