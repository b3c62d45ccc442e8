// ICMPv4 (RFC 792, RFC 1191): echo, time exceeded, port unreachable and
// fragmentation needed as Linux sent them, the datagrams they quote, emit
// reproducing the captured messages, and the messages the parser must refuse.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = IPv4Address(192, 0, 2, 1)
private let routerA = IPv4Address(192, 0, 2, 254)
private let hostB = IPv4Address(198, 51, 100, 1)

private func parseICMP(_ bytes: [UInt8]) throws -> ICMPv4Header {
    try bytes.withUnsafeBytes { try ICMPv4Header.parse($0) }
}

private func parseQuote(_ bytes: [UInt8]) throws -> ICMPv4Quote {
    try bytes.withUnsafeBytes { try ICMPv4Quote.parse($0) }
}

/// The ICMP message of a captured frame (Ethernet and a 20-byte IPv4 header before it),
/// cut to the IPv4 total length.
private func icmpMessage(_ capture: String, _ number: Int) throws -> [UInt8] {
    let frame = try Golden.frame(capture, number)
    try #require(frame[14] == 0x45, "expects a 20-byte IPv4 header")
    let totalLength = Int(Golden.be16(frame, 16))
    return Array(frame[34..<(14 + totalLength)])
}

@Suite("ICMPv4 messages from Linux captures")
struct ICMPv4CaptureTests {
    @Test("reads the echo requests and replies (arp-icmp-echo #3–#6)", arguments: [
        (3, ICMPv4Message.echoRequest(identifier: 0x0adc, sequence: 1), UInt16(0x9e1b)),
        (4, .echoReply(identifier: 0x0adc, sequence: 1), 0xa61b),
        (5, .echoRequest(identifier: 0x0adc, sequence: 2), 0xb7a8),
        (6, .echoReply(identifier: 0x0adc, sequence: 2), 0xbfa8),
    ])
    func echo(number: Int, message: ICMPv4Message, checksum: UInt16) throws {
        let header = try parseICMP(icmpMessage("arp-icmp-echo", number))
        #expect(header.message == message)
        #expect(header.checksum == checksum)
        #expect(!header.message.isError)
        #expect(header.message.type == (number % 2 == 1 ? 8 : 0))
    }

    @Test("reads the router's time exceeded and the TTL-1 header it quotes (icmp-routed-ttl-exceeded #2)")
    func timeExceeded() throws {
        let message = try icmpMessage("icmp-routed-ttl-exceeded", 2)
        let header = try parseICMP(message)
        #expect(header.message == .timeExceeded(code: 0))
        #expect(header.message.type == 11)
        #expect(header.message.isError)
        #expect(header.checksum == 0xf4ff)

        let quote = try parseQuote(Array(message[8...]))
        #expect(quote.header.timeToLive == 1)
        #expect(quote.header.source == hostA)
        #expect(quote.header.destination == hostB)
        #expect(quote.header.protocol == .icmp)
        #expect(quote.header.totalLength == 84)
        #expect(quote.header.identification == 0xd207)
        #expect(quote.header.dontFragment)
        #expect(quote.header.checksum == 0xbb6b)
        #expect(quote.ports == nil)
        #expect(quote.sourcePort == nil)
    }

    @Test("the whole echo quoted in the time exceeded still verifies (icmp-routed-ttl-exceeded #2)")
    func quotedEchoVerifies() throws {
        let message = try icmpMessage("icmp-routed-ttl-exceeded", 2)
        let quoted = Array(message[8...])
        #expect(quoted.count == 84)
        #expect(try parseQuote(quoted).header == (try quoted.withUnsafeBytes { try IPv4Header.parse($0) }))
        let echo = try parseICMP(Array(quoted[20...]))
        #expect(echo.message == .echoRequest(identifier: 0x0ae5, sequence: 1))
        #expect(echo.checksum == 0xc701)
    }

    @Test("reads the port unreachable and the UDP ports it quotes (icmp-port-unreachable #4)")
    func portUnreachable() throws {
        let message = try icmpMessage("icmp-port-unreachable", 4)
        #expect(message.count == 39)  // odd: the checksum covers a padded last byte
        let header = try parseICMP(message)
        #expect(header.message == .destinationUnreachable(code: 3, nextHopMTU: 0))
        #expect(header.message.type == 3)
        #expect(header.message.isError)
        #expect(header.checksum == 0xe94f)

        let quote = try parseQuote(Array(message[8...]))
        #expect(quote.header.protocol == .udp)
        #expect(quote.header.source == hostA)
        #expect(quote.header.destination == hostB)
        #expect(quote.header.timeToLive == 63)
        #expect(quote.header.totalLength == 31)
        #expect(quote.header.identification == 0xd7d8)
        #expect(quote.header.checksum == 0x77bf)
        #expect(quote.sourcePort == 57632)
        #expect(quote.destinationPort == 9999)
        #expect(quote.ports?.source == 57632)
        #expect(quote.ports?.destination == 9999)
    }

    @Test("reads fragmentation needed with next-hop MTU 1000 and its cut-short quote (icmp-frag-needed #2)")
    func fragmentationNeeded() throws {
        let message = try icmpMessage("icmp-frag-needed", 2)
        #expect(message.count == 556)
        let header = try parseICMP(message)
        #expect(header.message == .destinationUnreachable(code: 4, nextHopMTU: 1000))
        #expect(header.message.isError)
        #expect(header.checksum == 0x0fe1)
        #expect(UnreachableCode(rawValue: 4) == .fragmentationNeeded)

        // The quote holds 548 of the 1,428 bytes: a full parse refuses it, the quote parse does not.
        let quoted = Array(message[8...])
        #expect(throws: WireError.badLength(.ipv4, 1428)) { try quoted.withUnsafeBytes { try IPv4Header.parse($0) } }
        let quote = try parseQuote(quoted)
        #expect(quote.header.totalLength == 1428)
        #expect(quote.header.dontFragment)
        #expect(quote.header.identification == 0)
        #expect(quote.header.timeToLive == 64)
        #expect(quote.header.protocol == .icmp)
        #expect(quote.header.checksum == 0x4933)
        #expect(quote.header.destination == hostB)
        #expect(quote.ports == nil)
    }

    @Test("emit rebuilds every captured ICMP frame byte for byte", arguments: [
        ("arp-icmp-echo", 3), ("arp-icmp-echo", 4), ("arp-icmp-echo", 5), ("arp-icmp-echo", 6),
        ("icmp-routed-ttl-exceeded", 1), ("icmp-routed-ttl-exceeded", 2),
        ("icmp-port-unreachable", 4), ("icmp-frag-needed", 1), ("icmp-frag-needed", 2),
    ])
    func emitMatchesCapture(capture: String, number: Int) throws {
        let captured = try Golden.frame(capture, number)
        let ethernet = try captured.withUnsafeBytes { try EthernetHeader.parse($0) }
        let ip = try Array(captured[14...]).withUnsafeBytes { try IPv4Header.parse($0) }
        let icmp = try parseICMP(icmpMessage(capture, number))

        // Start from the captured ICMP data only; every header byte comes from emit.
        var rebuilt = [UInt8](repeating: 0xAA, count: captured.count)
        let dataStart = 14 + ip.headerLength + ICMPv4Header.length
        rebuilt.replaceSubrange(dataStart..., with: captured[dataStart...])
        rebuilt.withUnsafeMutableBytes { buffer in
            ethernet.emit(into: buffer)
            ip.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[14...]))
            icmp.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[(14 + ip.headerLength)...]))
        }
        #expect(rebuilt == captured)
    }
}

@Suite("ICMPv4 message kinds")
struct ICMPv4KindTests {
    private func emitted(_ message: ICMPv4Message, data: [UInt8] = []) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ICMPv4Header.length) + data
        bytes.withUnsafeMutableBytes { ICMPv4Header(message).emit(into: $0) }
        return bytes
    }

    @Test("emit lays out type, code and the rest of header as RFC 792 and RFC 1191 place them")
    func layout() {
        let echo = emitted(.echoRequest(identifier: 0x1234, sequence: 0xabcd))
        #expect(echo[0] == 8 && echo[1] == 0 && Array(echo[4...]) == [0x12, 0x34, 0xab, 0xcd])
        let mtu = emitted(.destinationUnreachable(code: 4, nextHopMTU: 1000))
        // RFC 1191 §4: unused (16 bits, zero), then the next-hop MTU.
        #expect(mtu[0] == 3 && mtu[1] == 4 && Array(mtu[4...]) == [0x00, 0x00, 0x03, 0xe8])
        let exceeded = emitted(.timeExceeded(code: 1))
        #expect(exceeded[0] == 11 && exceeded[1] == 1 && Array(exceeded[4...]) == [0, 0, 0, 0])
        for bytes in [echo, mtu, exceeded] {
            #expect(Golden.onesComplementSum(bytes) == 0xFFFF)
        }
    }

    @Test("messages NetStack has no case for round-trip as numbers", arguments: [
        ICMPv4Message.other(type: 13, code: 0, rest: 0x1234_0001),  // timestamp request
        .other(type: 5, code: 1, rest: 0xc000_02fe),  // redirect for host, gateway 192.0.2.254
        .other(type: 12, code: 0, rest: 0x1400_0000),  // parameter problem, pointer 20
        .timeExceeded(code: 1),
        .destinationUnreachable(code: 1, nextHopMTU: 0),
        .destinationUnreachable(code: 13, nextHopMTU: 0),
    ])
    func roundTrip(message: ICMPv4Message) throws {
        let bytes = emitted(message, data: [1, 2, 3])
        #expect(try parseICMP(bytes).message == message)
    }

    @Test("redirect, source quench and parameter problem are errors; timestamp is not")
    func errorKinds() {
        #expect(ICMPv4Message.other(type: 4, code: 0, rest: 0).isError)
        #expect(ICMPv4Message.other(type: 5, code: 0, rest: 0).isError)
        #expect(ICMPv4Message.other(type: 12, code: 0, rest: 0).isError)
        #expect(!ICMPv4Message.other(type: 13, code: 0, rest: 0).isError)
        #expect(!ICMPv4Message.echoReply(identifier: 0, sequence: 0).isError)
    }
}

@Suite("ICMPv4 rejects malformed messages")
struct ICMPv4ErrorTests {
    @Test("fewer than 8 bytes are truncated, at every length")
    func truncated() throws {
        let message = try icmpMessage("arp-icmp-echo", 3)
        for length in 0..<8 {
            #expect(throws: WireError.truncated(.icmpv4, needed: 8, available: length)) {
                try parseICMP(Array(message[0..<length]))
            }
        }
    }

    @Test("any single flipped bit is a bad checksum, even and odd lengths", arguments: [
        ("arp-icmp-echo", 3), ("icmp-port-unreachable", 4),
    ])
    func everySingleBitFlip(capture: String, number: Int) throws {
        let message = try icmpMessage(capture, number)
        for bit in 0..<(message.count * 8) {
            #expect(throws: WireError.badChecksum(.icmpv4), "bit \(bit)") {
                try parseICMP(Golden.flipping(message, bit: bit))
            }
        }
    }

    @Test("a message cut short no longer verifies")
    func cutShort() throws {
        let message = try icmpMessage("arp-icmp-echo", 3)
        #expect(throws: WireError.badChecksum(.icmpv4)) { try parseICMP(Array(message[0..<63])) }
    }
}

@Suite("ICMPv4 quotes of the offending datagram")
struct ICMPv4QuoteTests {
    /// A quoted datagram: an IPv4 header from NetStack's emit followed by `after`.
    private func quote(protocol: IPProtocol, options: [UInt8] = [], fragmentOffset: Int = 0,
                       after: [UInt8]) -> [UInt8] {
        var header = IPv4Header(source: hostA, destination: hostB, protocol: `protocol`, payloadLength: 100)
        header.options = options
        header.totalLength = 120 + options.count
        header.fragmentOffset = fragmentOffset
        var bytes = [UInt8](repeating: 0, count: header.headerLength) + after
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        return bytes
    }

    @Test("a quote shorter than an IPv4 header is truncated, at every length")
    func truncated() throws {
        let data = Array(try icmpMessage("icmp-port-unreachable", 4)[8...])
        for length in 0..<20 {
            #expect(throws: WireError.truncated(.ipv4, needed: 20, available: length)) {
                try parseQuote(Array(data[0..<length]))
            }
        }
    }

    @Test("ports need four bytes after the quoted header")
    func portsNeedFourBytes() throws {
        let data = Array(try icmpMessage("icmp-port-unreachable", 4)[8...])
        for length in 20..<24 {
            let quote = try parseQuote(Array(data[0..<length]))
            #expect(quote.header.protocol == .udp)
            #expect(quote.ports == nil, "\(length) bytes")
        }
        #expect(try parseQuote(Array(data[0..<24])).destinationPort == 9999)
    }

    @Test("TCP ports are read too, after any IP options")
    func tcpPortsAfterOptions() throws {
        let bytes = quote(protocol: .tcp, options: [0x94, 0x04, 0x00, 0x00], after: [0x1f, 0x90, 0x8a, 0xb8, 0, 0, 0, 1])
        let parsed = try parseQuote(bytes)
        #expect(parsed.sourcePort == 8080)
        #expect(parsed.destinationPort == 35512)
    }

    @Test("a quoted fragment other than the first has no ports")
    func laterFragmentHasNoPorts() throws {
        let parsed = try parseQuote(quote(protocol: .udp, fragmentOffset: 1480, after: [0x1f, 0x90, 0x8a, 0xb8]))
        #expect(parsed.header.fragmentOffset == 1480)
        #expect(parsed.ports == nil)
    }

    @Test("a malformed quoted header is refused like any other")
    func malformedQuotedHeader() throws {
        var data = Array(try icmpMessage("icmp-port-unreachable", 4)[8...])
        data[0] = 0x65
        #expect(throws: WireError.badVersion(.ipv4, 6)) { try parseQuote(data) }
        data[0] = 0x44
        #expect(throws: WireError.badHeaderLength(.ipv4, 16)) { try parseQuote(data) }
        let badOption = quote(protocol: .udp, options: [0x07, 0x00, 0x00, 0x00], after: [0, 0, 0, 0])
        #expect(throws: WireError.badOption(.ipv4, kind: 7, offset: 20)) { try parseQuote(badOption) }
    }
}
