// ICMPv6 (RFC 4443): echo, destination unreachable, packet too big, time exceeded and
// parameter problem as Linux sent them, the packets they quote, emit reproducing the captured
// messages, and the checksum over the IPv6 pseudo-header.

import NetStackTestSupport
import NetStackWire
import Testing

/// Parses the ICMPv6 message of a captured packet without extension headers.
private func parseICMP(_ capture: String, _ number: Int) throws -> ICMPv6Header {
    let packet = try GoldenV6.packet(capture, number)
    let header = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
    return try Array(packet[40...]).withUnsafeBytes {
        try ICMPv6Header.parse($0, source: header.source, destination: header.destination)
    }
}

private func parseQuote(_ capture: String, _ number: Int) throws -> ICMPv6Quote {
    try Array(GoldenV6.upperLayer(capture, number)[8...]).withUnsafeBytes { try ICMPv6Quote.parse($0) }
}

private let hostA = GoldenV6.address("2001:db8:1::ff:fe00:6a01")
private let hostB = GoldenV6.address("2001:db8:2::1")

@Suite("ICMPv6 messages from Linux captures")
struct ICMPv6CaptureTests {
    @Test("reads the echo requests and replies (ipv6-ndp-echo #3–#6)", arguments: [
        (3, ICMPv6Message.echoRequest(identifier: 0x24ce, sequence: 1), UInt16(0x3e46)),
        (4, .echoReply(identifier: 0x24ce, sequence: 1), 0x3d46),
        (5, .echoRequest(identifier: 0x24ce, sequence: 2), 0x30ff),
        (6, .echoReply(identifier: 0x24ce, sequence: 2), 0x2fff),
    ])
    func echo(number: Int, message: ICMPv6Message, checksum: UInt16) throws {
        let header = try parseICMP("ipv6-ndp-echo", number)
        #expect(header.message == message)
        #expect(header.checksum == checksum)
        #expect(!header.message.isError)
    }

    @Test("reads R's hop limit exceeded and the hop-limit-1 echo it quotes (icmpv6-time-exceeded #2)")
    func timeExceeded() throws {
        let header = try parseICMP("icmpv6-time-exceeded", 2)
        #expect(header.message == .timeExceeded(code: 0))
        #expect(header.message.isError && header.message.type == 3)
        #expect(header.checksum == 0x921b)
        let quote = try parseQuote("icmpv6-time-exceeded", 2)
        #expect(quote.header.hopLimit == 1)
        #expect(quote.header.source == hostA && quote.header.destination == hostB)
        #expect(quote.header.flowLabel == 0x000aff)
        #expect(quote.upperLayerProtocol == .icmpv6)
        #expect(quote.ports == nil)
    }

    @Test("reads B's port unreachable and the UDP ports it quotes (icmpv6-port-unreachable #4)")
    func portUnreachable() throws {
        let header = try parseICMP("icmpv6-port-unreachable", 4)
        #expect(header.message == .destinationUnreachable(code: ICMPv6UnreachableCode.port.rawValue))
        #expect(header.checksum == 0xf7eb)
        let quote = try parseQuote("icmpv6-port-unreachable", 4)
        #expect(quote.upperLayerProtocol == .udp)
        #expect(quote.sourcePort == 55112 && quote.destinationPort == 9999)
        #expect(quote.header.hopLimit == 63)  // as B received it, after R
    }

    @Test("finds the ports behind the quoted hop-by-hop and destination options (ipv6-extension-headers #2)")
    func portsBehindExtensionHeaders() throws {
        let header = try parseICMP("ipv6-extension-headers", 2)
        #expect(header.message == .destinationUnreachable(code: 4))
        let quote = try parseQuote("ipv6-extension-headers", 2)
        #expect(quote.header.nextHeader == .ipv6HopByHop)
        #expect(quote.upperLayerProtocol == .udp)
        #expect(quote.ports?.source == 42291 && quote.ports?.destination == 9999)
    }

    @Test("reads packet too big with MTU 1280, the error filling the minimum MTU (icmpv6-packet-too-big #2)")
    func packetTooBig() throws {
        let message = try GoldenV6.upperLayer("icmpv6-packet-too-big", 2)
        #expect(message.count == ICMPv6Header.maximumErrorMessageLength)
        let header = try parseICMP("icmpv6-packet-too-big", 2)
        #expect(header.message == .packetTooBig(mtu: 1280))
        #expect(header.checksum == 0x62b9)
        let quote = try parseQuote("icmpv6-packet-too-big", 2)
        #expect(quote.header.payloadLength == 1408)  // the original's, of which 1,192 bytes are quoted
        #expect(quote.upperLayerProtocol == .icmpv6)
    }

    @Test("reads both parameter problems with their codes and pointers (icmpv6-parameter-problem #4, #6)")
    func parameterProblems() throws {
        #expect(try parseICMP("icmpv6-parameter-problem", 4).message
            == .parameterProblem(code: ICMPv6ParameterProblemCode.erroneousHeaderField.rawValue, pointer: 42))
        #expect(try parseICMP("icmpv6-parameter-problem", 6).message
            == .parameterProblem(code: ICMPv6ParameterProblemCode.unrecognizedNextHeader.rawValue, pointer: 6))
        let quote = try parseQuote("icmpv6-parameter-problem", 4)
        #expect(quote.header.nextHeader == .ipv6Routing)
        #expect(quote.upperLayerProtocol == .ipv6NoNextHeader)
    }

    @Test("every ICMPv6 checksum in the captures verifies, by the parser and by a naive sum")
    func everyChecksum() throws {
        var checked = 0
        for (name, number, packet) in try GoldenV6.allPackets() {
            let chain = try packet.withUnsafeBytes { try IPv6ExtensionHeaders.walk($0) }
            guard chain.upperLayerProtocol == .icmpv6, chain.fragment == nil else { continue }
            let message = Array(packet[chain.upperLayerOffset...])
            #expect(Golden.onesComplementSum(message, adding: GoldenV6.pseudoHeader(packet, nextHeader: 58, length: message.count))
                == 0xFFFF, "\(name) #\(number)")
            let header = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
            #expect(throws: Never.self, "\(name) #\(number)") {
                _ = try message.withUnsafeBytes {
                    try ICMPv6Header.parse($0, source: header.source, destination: header.destination)
                }
            }
            checked += 1
        }
        #expect(checked == 43)  // `tshark -Y "icmpv6 && !ipv6.fraghdr"` over the nine IPv6 captures
    }

    @Test("emit rebuilds the captured RFC 4443 messages byte for byte", arguments: [
        ("ipv6-ndp-echo", 3), ("ipv6-ndp-echo", 4), ("ipv6-ndp-echo", 6), ("icmpv6-time-exceeded", 2),
        ("icmpv6-port-unreachable", 4), ("icmpv6-packet-too-big", 2), ("icmpv6-parameter-problem", 4),
        ("icmpv6-parameter-problem", 6), ("ipv6-extension-headers", 2),
    ])
    func emitMatchesCapture(capture: String, number: Int) throws {
        let packet = try GoldenV6.packet(capture, number)
        let ip = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
        let header = try parseICMP(capture, number)
        var rebuilt = [UInt8](repeating: 0xAA, count: 8) + packet[48...]
        rebuilt.withUnsafeMutableBytes { header.emit(into: $0, source: ip.source, destination: ip.destination) }
        #expect(rebuilt == Array(packet[40...]))
    }
}

@Suite("ICMPv6 rejects malformed messages")
struct ICMPv6ErrorTests {
    private func parse(_ bytes: [UInt8], destination: IPv6Address = GoldenV6.address("2001:db8:1::fe")) throws -> ICMPv6Header {
        try bytes.withUnsafeBytes { try ICMPv6Header.parse($0, source: hostA, destination: destination) }
    }

    @Test("fewer than 8 bytes are truncated, at every length")
    func truncated() throws {
        let message = try GoldenV6.upperLayer("ipv6-ndp-echo", 3)
        for length in 0..<8 {
            #expect(throws: WireError.truncated(.icmpv6, needed: 8, available: length)) { try parse(Array(message[0..<length])) }
        }
    }

    @Test("any single flipped bit is a bad checksum")
    func everySingleBitFlip() throws {
        let message = try GoldenV6.upperLayer("ipv6-ndp-echo", 3)
        #expect(try parse(message).message == .echoRequest(identifier: 0x24ce, sequence: 1))
        for bit in 0..<(message.count * 8) {
            #expect(throws: WireError.badChecksum(.icmpv6), "bit \(bit)") { try parse(Golden.flipping(message, bit: bit)) }
        }
    }

    @Test("the pseudo-header is covered: another destination does not verify")
    func pseudoHeaderCovered() throws {
        let message = try GoldenV6.upperLayer("ipv6-ndp-echo", 3)
        #expect(throws: WireError.badChecksum(.icmpv6)) { try parse(message, destination: GoldenV6.address("2001:db8:1::fd")) }
    }

    @Test("kinds NetStack has no case for, and known types with odd codes, round-trip as numbers", arguments: [
        ICMPv6Message.other(type: 2, code: 1, rest: 1280),  // packet too big must have code 0
        .other(type: 128, code: 1, rest: 0x0001_0002),
        .other(type: 200, code: 0, rest: 0xdead_beef),
        .destinationUnreachable(code: 6), .timeExceeded(code: 1),
        .parameterProblem(code: 3, pointer: 0),
    ])
    func roundTrip(message: ICMPv6Message) throws {
        var bytes = [UInt8](repeating: 0, count: 8) + [1, 2, 3]
        bytes.withUnsafeMutableBytes { ICMPv6Header(message).emit(into: $0, source: hostA, destination: hostB) }
        #expect(try bytes.withUnsafeBytes { try ICMPv6Header.parse($0, source: hostA, destination: hostB) }.message == message)
        #expect(Golden.onesComplementSum(bytes, adding: [0x2001, 0xdb8, 1, 0, 0, 0xff, 0xfe00, 0x6a01,
                                                         0x2001, 0xdb8, 2, 0, 0, 0, 0, 1, 0, 11, 0, 58]) == 0xFFFF)
    }
}
