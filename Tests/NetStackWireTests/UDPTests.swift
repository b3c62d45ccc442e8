// UDP (RFC 768): datagrams Linux sent (udp-echo, icmp-port-unreachable,
// dns-query), emit reproducing them, the length and checksum checks, and the
// two special checksum values: zero received means "none", zero computed is sent as 0xFFFF.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = IPv4Address(192, 0, 2, 1)
private let hostB = IPv4Address(198, 51, 100, 1)

private func parseUDP(_ bytes: [UInt8], source: IPv4Address = hostA,
                      destination: IPv4Address = hostB) throws -> UDPHeader {
    try bytes.withUnsafeBytes { try UDPHeader.parse($0, source: source, destination: destination) }
}

/// The UDP datagram of a captured frame (Ethernet, 20-byte IPv4 header), cut to the IPv4 total length.
private func udpDatagram(_ capture: String, _ number: Int) throws -> [UInt8] {
    let frame = try Golden.frame(capture, number)
    try #require(frame[14] == 0x45 && frame[23] == 17, "expects UDP in a 20-byte IPv4 header")
    return Array(frame[34..<(14 + Int(Golden.be16(frame, 16)))])
}

/// Emits a UDP header for `payload` with NetStack's emit.
private func emitted(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8],
                     source: IPv4Address = hostA, destination: IPv4Address = hostB) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: UDPHeader.headerLength) + payload
    let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
    bytes.withUnsafeMutableBytes { header.emit(into: $0, source: source, destination: destination) }
    return bytes
}

@Suite("UDP datagrams from Linux captures")
struct UDPCaptureTests {
    @Test("reads the echo request and its echo (udp-echo #1, #2)")
    func echo() throws {
        let request = try parseUDP(udpDatagram("udp-echo", 1))
        #expect(request.sourcePort == 35539)
        #expect(request.destinationPort == 7)
        #expect(request.length == 18)
        #expect(request.payloadLength == 10)
        #expect(request.checksum == 0xbfd5)
        let reply = try parseUDP(udpDatagram("udp-echo", 2), source: hostB, destination: hostA)
        #expect(reply.sourcePort == 7)
        #expect(reply.destinationPort == 35539)
        #expect(reply.length == 18)
        #expect(reply.checksum == 0xbfd5)
        #expect(Array(try udpDatagram("udp-echo", 1)[8...]) == Array("hello, udp".utf8))
    }

    @Test("reads an odd-length datagram to a closed port (icmp-port-unreachable #3)")
    func oddLength() throws {
        let header = try parseUDP(udpDatagram("icmp-port-unreachable", 3))
        #expect(header.sourcePort == 57632)
        #expect(header.destinationPort == 9999)
        #expect(header.length == 11)
        #expect(header.checksum == 0x9908)
    }

    @Test("reads the DNS queries and answers (dns-query #1–#4)", arguments: [
        (1, UInt16(45115), UInt16(53), 42, UInt16(0x9d49)),
        (2, 53, 45115, 58, 0x2e60),
        (3, 38759, 53, 44, 0x4cb9),
        (4, 53, 38759, 74, 0x5564),
    ])
    func dns(number: Int, sourcePort: UInt16, destinationPort: UInt16, length: Int, checksum: UInt16) throws {
        let fromA = number % 2 == 1
        let frame = try Golden.frame("dns-query", number)
        let source = IPv4Address(frame[26], frame[27], frame[28], frame[29])
        let destination = IPv4Address(frame[30], frame[31], frame[32], frame[33])
        #expect(fromA ? source == hostA : destination == hostA)
        let header = try parseUDP(udpDatagram("dns-query", number), source: source, destination: destination)
        #expect(header.sourcePort == sourcePort)
        #expect(header.destinationPort == destinationPort)
        #expect(header.length == length)
        #expect(header.checksum == checksum)
    }

    @Test("emit rebuilds every captured UDP frame byte for byte", arguments: [
        ("udp-echo", 1), ("udp-echo", 2), ("icmp-port-unreachable", 3),
        ("dns-query", 1), ("dns-query", 2), ("dns-query", 3), ("dns-query", 4),
    ])
    func emitMatchesCapture(capture: String, number: Int) throws {
        let captured = try Golden.frame(capture, number)
        let ethernet = try captured.withUnsafeBytes { try EthernetHeader.parse($0) }
        let ip = try Array(captured[14...]).withUnsafeBytes { try IPv4Header.parse($0) }
        let udp = try parseUDP(udpDatagram(capture, number), source: ip.source, destination: ip.destination)

        var rebuilt = [UInt8](repeating: 0xAA, count: captured.count)
        let dataStart = 14 + ip.headerLength + UDPHeader.headerLength
        rebuilt.replaceSubrange(dataStart..., with: captured[dataStart...])
        rebuilt.withUnsafeMutableBytes { buffer in
            ethernet.emit(into: buffer)
            ip.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[14...]))
            udp.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[(14 + ip.headerLength)...]),
                     source: ip.source, destination: ip.destination)
        }
        #expect(rebuilt == captured)
    }
}

@Suite("UDP length and checksum checks")
struct UDPErrorTests {
    @Test("fewer than 8 bytes are truncated, at every length")
    func truncated() throws {
        let datagram = try udpDatagram("udp-echo", 1)
        for length in 0..<8 {
            #expect(throws: WireError.truncated(.udp, needed: 8, available: length)) {
                try parseUDP(Array(datagram[0..<length]))
            }
        }
    }

    @Test("a length field bigger than the data is refused, at every cut")
    func lengthBiggerThanData() throws {
        let datagram = try udpDatagram("udp-echo", 1)
        for length in 8..<18 {
            #expect(throws: WireError.badLength(.udp, 18)) { try parseUDP(Array(datagram[0..<length])) }
        }
        var lying = datagram
        for claimed: UInt16 in [19, 100, 0xFFFF] {
            Golden.storeBE16(claimed, in: &lying, at: 4)
            #expect(throws: WireError.badLength(.udp, Int(claimed))) { try parseUDP(lying) }
        }
    }

    @Test("a length field smaller than the 8-byte header is refused")
    func lengthSmallerThanHeader() throws {
        var datagram = try udpDatagram("udp-echo", 1)
        for claimed: UInt16 in 0..<8 {
            Golden.storeBE16(claimed, in: &datagram, at: 4)
            #expect(throws: WireError.badLength(.udp, Int(claimed))) { try parseUDP(datagram) }
        }
    }

    @Test("bytes after the UDP length (IP payload longer than the datagram) are not checksummed")
    func trailingBytesIgnored() throws {
        let datagram = try udpDatagram("udp-echo", 1)
        let header = try parseUDP(datagram + [0xde, 0xad, 0xbe, 0xef])
        #expect(header.length == 18)
        #expect(header.payloadLength == 10)
    }

    @Test("any flipped bit outside the length field is a bad checksum", arguments: [
        ("udp-echo", 1), ("icmp-port-unreachable", 3),
    ])
    func everySingleBitFlip(capture: String, number: Int) throws {
        let datagram = try udpDatagram(capture, number)
        for bit in 0..<(datagram.count * 8) where !(32..<48).contains(bit) {
            #expect(throws: WireError.badChecksum(.udp), "bit \(bit)") {
                try parseUDP(Golden.flipping(datagram, bit: bit))
            }
        }
    }

    @Test("the checksum covers the pseudo-header: other addresses do not verify")
    func pseudoHeaderCovered() throws {
        let datagram = try udpDatagram("udp-echo", 1)
        #expect(throws: WireError.badChecksum(.udp)) { try parseUDP(datagram, source: IPv4Address(192, 0, 2, 2)) }
        #expect(throws: WireError.badChecksum(.udp)) { try parseUDP(datagram, destination: IPv4Address(198, 51, 100, 2)) }
        // Swapping source and destination leaves the one's-complement sum unchanged: the reply verifies either way.
        #expect(try parseUDP(datagram, source: hostB, destination: hostA).checksum == 0xbfd5)
    }
}

@Suite("UDP's special checksum values (RFC 768)")
struct UDPZeroChecksumTests {
    @Test("a zero checksum means none was computed, and is accepted")
    func zeroChecksumAccepted() throws {
        var datagram = try udpDatagram("udp-echo", 1)
        Golden.storeBE16(0, in: &datagram, at: 6)
        let header = try parseUDP(datagram)
        #expect(header.checksum == 0)
        #expect(header.sourcePort == 35539)
        // With no checksum, even a damaged payload or the wrong addresses pass.
        datagram[9] ^= 0x01
        #expect(try parseUDP(datagram, source: hostB, destination: hostA).checksum == 0)
    }

    @Test("a computed checksum of zero is sent as 0xFFFF")
    func computedZeroSentAsAllOnes() throws {
        // Pick the last payload word so that the RFC 768 sum (pseudo-header, header
        // with a zero checksum field, data) is 0xFFFF, i.e. the checksum is 0.
        var payload = Array("zero sum!?".utf8)
        let probe = emitted(sourcePort: 4000, destinationPort: 5000, payload: Array(payload.dropLast(2)) + [0, 0])
        var zeroed = probe
        Golden.storeBE16(0, in: &zeroed, at: 6)
        let sum = Golden.onesComplementSum(zeroed, adding: Golden.pseudoHeader(hostA, hostB, protocol: 17, length: probe.count))
        let lastWord = 0xFFFF - sum
        payload[payload.count - 2] = UInt8(lastWord >> 8)
        payload[payload.count - 1] = UInt8(lastWord & 0xFF)

        let datagram = emitted(sourcePort: 4000, destinationPort: 5000, payload: payload)
        var check = datagram
        Golden.storeBE16(0, in: &check, at: 6)
        #expect(~Golden.onesComplementSum(check, adding: Golden.pseudoHeader(hostA, hostB, protocol: 17, length: check.count)) == 0)
        #expect(Array(datagram[6..<8]) == [0xFF, 0xFF])
        // 0xFFFF is the other zero of one's complement: the datagram verifies.
        let header = try parseUDP(datagram)
        #expect(header.checksum == 0xFFFF)
        #expect(header.payloadLength == 10)
    }

    @Test("a checksum that is not zero is sent as computed")
    func ordinaryChecksum() throws {
        // The same bytes Linux sent in udp-echo #1, rebuilt: 0xbfd5.
        let datagram = emitted(sourcePort: 35539, destinationPort: 7, payload: Array("hello, udp".utf8))
        #expect(Golden.be16(datagram, 6) == 0xbfd5)
    }
}
