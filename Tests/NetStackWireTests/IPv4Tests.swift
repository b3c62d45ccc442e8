// IPv4 headers (RFC 791): fields of datagrams Linux sent, as tshark decodes
// them; emit reproducing Linux's bytes; every malformed header the parser
// must refuse; and the RFC 1624 incremental checksum update a router does.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = IPv4Address(192, 0, 2, 1)
private let routerA = IPv4Address(192, 0, 2, 254)
private let hostB = IPv4Address(198, 51, 100, 1)

private func parseIPv4(_ bytes: [UInt8]) throws -> IPv4Header {
    try bytes.withUnsafeBytes { try IPv4Header.parse($0) }
}

private func parseQuotedIPv4(_ bytes: [UInt8]) throws -> IPv4Header {
    try bytes.withUnsafeBytes { try IPv4Header.parseQuoted($0) }
}

/// The IPv4 datagram of a captured frame: everything after the Ethernet header.
private func datagram(_ capture: String, _ number: Int) throws -> [UInt8] {
    Array(try Golden.frame(capture, number)[14...])
}

/// A datagram built by NetStack's emit with the given options and `payload` zero bytes,
/// so that its checksum is right and only the field under test is wrong.
private func emittedDatagram(options: [UInt8] = [], payload: Int = 8, fragmentOffset: Int = 0,
                             moreFragments: Bool = false) -> [UInt8] {
    var header = IPv4Header(source: hostA, destination: hostB, protocol: .udp, payloadLength: payload)
    header.options = options
    header.totalLength = IPv4Header.minimumLength + options.count + payload
    header.fragmentOffset = fragmentOffset
    header.moreFragments = moreFragments
    var bytes = [UInt8](repeating: 0, count: header.totalLength)
    bytes.withUnsafeMutableBytes { header.emit(into: $0) }
    return bytes
}

/// Rewrites the header checksum of `bytes` (header of `headerLength` bytes) with the reference checksum.
private func fixChecksum(_ bytes: inout [UInt8], headerLength: Int = 20) {
    Golden.storeBE16(0, in: &bytes, at: 10)
    Golden.storeBE16(Golden.checksum(Array(bytes[0..<headerLength])), in: &bytes, at: 10)
}

@Suite("IPv4 header fields from Linux captures")
struct IPv4CaptureTests {
    @Test("reads an echo request's header (arp-icmp-echo #3)")
    func echoRequest() throws {
        let header = try parseIPv4(datagram("arp-icmp-echo", 3))
        #expect(header.typeOfService == 0)
        #expect(header.headerLength == 20)
        #expect(header.totalLength == 84)
        #expect(header.payloadLength == 64)
        #expect(header.identification == 0x5b5b)
        #expect(header.dontFragment)
        #expect(!header.moreFragments)
        #expect(header.fragmentOffset == 0)
        #expect(!header.isFragment)
        #expect(header.timeToLive == 64)
        #expect(header.protocol == .icmp)
        #expect(header.checksum == 0x5a4e)
        #expect(header.source == hostA)
        #expect(header.destination == routerA)
        #expect(header.options.isEmpty)
    }

    @Test("reads the gateway's reply, sent without DF (arp-icmp-echo #4)")
    func echoReply() throws {
        let header = try parseIPv4(datagram("arp-icmp-echo", 4))
        #expect(header.identification == 0xc924)
        #expect(!header.dontFragment)
        #expect(header.checksum == 0x2c85)
        #expect(header.source == routerA)
        #expect(header.destination == hostA)
    }

    @Test("reads TTL 1 on the echo the router will refuse (icmp-routed-ttl-exceeded #1)")
    func timeToLiveOne() throws {
        let header = try parseIPv4(datagram("icmp-routed-ttl-exceeded", 1))
        #expect(header.timeToLive == 1)
        #expect(header.identification == 0xd207)
        #expect(header.checksum == 0xbb6b)
        #expect(header.totalLength == 84)
        #expect(header.destination == hostB)
    }

    @Test("reads the DSCP CS6 (0xc0) of the router's ICMP error (icmp-routed-ttl-exceeded #2)")
    func typeOfServiceOfICMPError() throws {
        let header = try parseIPv4(datagram("icmp-routed-ttl-exceeded", 2))
        #expect(header.typeOfService == 0xc0)
        #expect(header.totalLength == 112)
        #expect(header.identification == 0xc9c8)
        #expect(header.timeToLive == 64)
        #expect(header.checksum == 0x2b05)
        #expect(header.source == routerA)
        #expect(header.destination == hostA)
    }

    @Test("reads a UDP datagram's header (udp-echo #1)")
    func udpDatagram() throws {
        let header = try parseIPv4(datagram("udp-echo", 1))
        #expect(header.protocol == .udp)
        #expect(header.protocol.rawValue == 17)
        #expect(header.totalLength == 38)
        #expect(header.identification == 0x5300)
        #expect(header.checksum == 0xfb90)
    }

    @Test("reads the fragments of a 2,528-byte echo (ip-fragments #1–#4)", arguments: [
        // frame, total length, offset in bytes, MF, checksum — as tshark reports them
        (1, 996, 0, true, UInt16(0x9980)),
        (2, 524, 976, true, 0x9ade),
        (3, 996, 1480, true, 0x98c7),
        (4, 72, 2456, false, 0xbbe9),
    ])
    func fragments(number: Int, totalLength: Int, offset: Int, moreFragments: Bool, checksum: UInt16) throws {
        let header = try parseIPv4(datagram("ip-fragments", number))
        #expect(header.totalLength == totalLength)
        #expect(header.fragmentOffset == offset)
        #expect(header.moreFragments == moreFragments)
        #expect(header.isFragment)
        #expect(!header.dontFragment)
        #expect(header.identification == 0xd262)
        #expect(header.timeToLive == 63)
        #expect(header.protocol == .icmp)
        #expect(header.checksum == checksum)
        #expect(header.source == hostA)
        #expect(header.destination == hostB)
    }

    @Test("reads the first fragment of B's 1,500-byte reply (ip-fragments #5)")
    func firstFragmentOfReply() throws {
        let header = try parseIPv4(datagram("ip-fragments", 5))
        #expect(header.totalLength == 1500)
        #expect(header.fragmentOffset == 0)
        #expect(header.moreFragments)
        #expect(header.isFragment)
        #expect(header.identification == 0x8b69)
        #expect(header.timeToLive == 64)
        #expect(header.checksum == 0xdd81)
    }

    @Test("reads a DF datagram with identification 0 (icmp-frag-needed #1)")
    func dontFragmentWithZeroIdentification() throws {
        let header = try parseIPv4(datagram("icmp-frag-needed", 1))
        #expect(header.totalLength == 1428)
        #expect(header.identification == 0)
        #expect(header.dontFragment)
        #expect(header.checksum == 0x4933)
    }

    @Test("Ethernet padding after the total length is allowed")
    func linkLayerPadding() throws {
        let bytes = try datagram("udp-echo", 1)
        let padded = bytes + [UInt8](repeating: 0, count: 46 - bytes.count)
        let header = try parseIPv4(padded)
        #expect(header.totalLength == 38)
        #expect(header == (try parseIPv4(bytes)))
    }

    @Test("emit writes the header Linux wrote, for every IPv4 frame of every capture")
    func emitMatchesEveryCapturedHeader() throws {
        var count = 0
        for (name, number, frame) in try Golden.allFrames() where frame[12] == 0x08 && frame[13] == 0x00 {
            let bytes = Array(frame[14...])
            let header = try parseIPv4(bytes)
            var emitted = [UInt8](repeating: 0xAA, count: header.headerLength)
            emitted.withUnsafeMutableBytes { header.emit(into: $0) }
            #expect(emitted == Array(bytes[0..<header.headerLength]), "\(name) #\(number)")
            count += 1
        }
        #expect(count > 30)
    }

    @Test("emit's checksum is the RFC 1071 checksum, options included")
    func emitChecksumWithOptions() throws {
        // Router Alert (RFC 2113 §2.1): type 148, length 4, value 0.
        let bytes = emittedDatagram(options: [0x94, 0x04, 0x00, 0x00])
        #expect(bytes[0] == 0x46)
        #expect(Golden.onesComplementSum(Array(bytes[0..<24])) == 0xFFFF)
        let header = try parseIPv4(bytes)
        #expect(header.options == [0x94, 0x04, 0x00, 0x00])
        #expect(header.headerLength == 24)
        #expect(header.payloadLength == 8)
    }

    @Test("a header is a plain value, options and all: its copies retain nothing")
    func headerIsPlainValue() {
        #expect(_isPOD(IPv4Header.self))
    }

    @Test("headers are equal, and hash alike, exactly when their fields and option bytes are")
    func equalityCoversOptions() throws {
        let alert = try parseIPv4(emittedDatagram(options: [0x94, 0x04, 0x00, 0x00]))
        let same = try parseIPv4(emittedDatagram(options: [0x94, 0x04, 0x00, 0x00]))
        var other = alert  // every field the same but the last option byte
        other.options = [0x94, 0x04, 0x00, 0x01]
        var longer = alert
        longer.options = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]
        var none = alert
        none.options = []
        #expect(alert == same && alert.hashValue == same.hashValue)
        #expect(alert != other)
        #expect(alert != longer && alert != none)
        #expect(none.options.isEmpty && none.headerLength == 20)
        #expect(longer.headerLength == 28)
    }
}

@Suite("IPv4 rejects malformed headers")
struct IPv4ErrorTests {
    @Test("fewer than 20 bytes are truncated, at every length")
    func truncatedHeader() throws {
        let bytes = try datagram("arp-icmp-echo", 3)
        for length in 0..<20 {
            #expect(throws: WireError.truncated(.ipv4, needed: 20, available: length)) {
                try parseIPv4(Array(bytes[0..<length]))
            }
            #expect(throws: WireError.truncated(.ipv4, needed: 20, available: length)) {
                try parseQuotedIPv4(Array(bytes[0..<length]))
            }
        }
    }

    @Test("a datagram cut anywhere after its header has a total length bigger than the data")
    func truncatedPayload() throws {
        let bytes = try datagram("arp-icmp-echo", 3)
        for length in 20..<84 {
            #expect(throws: WireError.badLength(.ipv4, 84)) { try parseIPv4(Array(bytes[0..<length])) }
        }
        #expect(try parseIPv4(bytes).totalLength == 84)
    }

    @Test("a version other than 4 is refused", arguments: Array(0...15).filter { $0 != 4 })
    func badVersion(version: Int) throws {
        var bytes = try datagram("arp-icmp-echo", 3)
        bytes[0] = UInt8(version) << 4 | 5
        fixChecksum(&bytes)
        #expect(throws: WireError.badVersion(.ipv4, version)) { try parseIPv4(bytes) }
        #expect(throws: WireError.badVersion(.ipv4, version)) { try parseQuotedIPv4(bytes) }
    }

    @Test("a header length (IHL) below 5 words is refused", arguments: 0...4)
    func headerLengthTooSmall(ihl: Int) throws {
        var bytes = try datagram("arp-icmp-echo", 3)
        bytes[0] = 0x40 | UInt8(ihl)
        #expect(throws: WireError.badHeaderLength(.ipv4, ihl * 4)) { try parseIPv4(bytes) }
        #expect(throws: WireError.badHeaderLength(.ipv4, ihl * 4)) { try parseQuotedIPv4(bytes) }
    }

    @Test("a header length (IHL) past the end of the data is truncated", arguments: 6...15)
    func headerLengthPastData(ihl: Int) throws {
        // 20 bytes of data, total length 20, but the IHL claims options that are not there.
        var bytes = emittedDatagram(payload: 0)
        bytes[0] = 0x40 | UInt8(ihl)
        #expect(throws: WireError.truncated(.ipv4, needed: ihl * 4, available: 20)) { try parseIPv4(bytes) }
        #expect(throws: WireError.truncated(.ipv4, needed: ihl * 4, available: 20)) { try parseQuotedIPv4(bytes) }
    }

    @Test("a total length bigger than the data is refused (but not in an ICMP quote)")
    func totalLengthBiggerThanData() throws {
        var bytes = try datagram("arp-icmp-echo", 3)
        for claimed: UInt16 in [85, 100, 1500, 0xFFFF] {
            Golden.storeBE16(claimed, in: &bytes, at: 2)
            fixChecksum(&bytes)
            #expect(throws: WireError.badLength(.ipv4, Int(claimed))) { try parseIPv4(bytes) }
            #expect(try parseQuotedIPv4(bytes).totalLength == Int(claimed))
        }
    }

    @Test("a total length smaller than the header is refused, quoted or not")
    func totalLengthSmallerThanHeader() throws {
        var bytes = try datagram("arp-icmp-echo", 3)
        for claimed: UInt16 in [0, 1, 8, 19] {
            Golden.storeBE16(claimed, in: &bytes, at: 2)
            fixChecksum(&bytes)
            #expect(throws: WireError.badLength(.ipv4, Int(claimed))) { try parseIPv4(bytes) }
            #expect(throws: WireError.badLength(.ipv4, Int(claimed))) { try parseQuotedIPv4(bytes) }
        }
        // With 4 bytes of options, 20…23 are shorter than the 24-byte header.
        var withOptions = emittedDatagram(options: [1, 1, 1, 0])
        for claimed: UInt16 in [20, 23] {
            Golden.storeBE16(claimed, in: &withOptions, at: 2)
            fixChecksum(&withOptions, headerLength: 24)
            #expect(throws: WireError.badLength(.ipv4, Int(claimed))) { try parseIPv4(withOptions) }
        }
        // A total length equal to the header length is an empty datagram, and legal.
        Golden.storeBE16(24, in: &withOptions, at: 2)
        fixChecksum(&withOptions, headerLength: 24)
        #expect(try parseIPv4(withOptions).payloadLength == 0)
    }

    @Test("any flipped bit in TOS, identification, TTL, protocol, checksum or addresses is a bad checksum")
    func badChecksum() throws {
        let bytes = try datagram("arp-icmp-echo", 3)
        for byte in [1, 4, 5, 8, 9, 10, 11] + Array(12..<20) {
            for bit in 0..<8 {
                #expect(throws: WireError.badChecksum(.ipv4), "byte \(byte) bit \(bit)") {
                    try parseIPv4(Golden.flipping(bytes, bit: byte * 8 + bit))
                }
            }
        }
    }

    @Test("a quoted header's checksum is not verified")
    func quotedChecksumNotVerified() throws {
        var bytes = try datagram("arp-icmp-echo", 3)
        bytes[10] ^= 0xFF
        #expect(throws: WireError.badChecksum(.ipv4)) { try parseIPv4(bytes) }
        #expect(try parseQuotedIPv4(bytes).checksum == 0x5a4e ^ 0xFF00)
    }

    @Test("a fragment ending past 65,535 bytes is refused")
    func fragmentPastMaximumSize() throws {
        // RFC 791: a datagram is at most 65,535 bytes; the offset field reaches 8191 × 8 = 65,528.
        let overflowing = emittedDatagram(payload: 8, fragmentOffset: 65528)
        #expect(Golden.isBadField(Golden.wireError { _ = try parseIPv4(overflowing) }, .ipv4))
        let overflowingByOne = emittedDatagram(payload: 16, fragmentOffset: 65520)
        #expect(Golden.isBadField(Golden.wireError { _ = try parseIPv4(overflowingByOne) }, .ipv4))
        #expect(Golden.isBadField(Golden.wireError { _ = try parseQuotedIPv4(overflowingByOne) }, .ipv4))
        // Ending exactly at 65,535 is allowed.
        let lastByte = try parseIPv4(emittedDatagram(payload: 7, fragmentOffset: 65528))
        #expect(lastByte.fragmentOffset == 65528)
        #expect(lastByte.payloadLength == 7)
        let exactFit = try parseIPv4(emittedDatagram(payload: 15, fragmentOffset: 65520, moreFragments: true))
        #expect(exactFit.fragmentOffset + exactFit.payloadLength == 65535)
    }
}

@Suite("IPv4 option walk (RFC 791 §3.1)")
struct IPv4OptionTests {
    @Test("well-formed option lists are accepted and kept as bytes", arguments: [
        [0x01, 0x01, 0x01, 0x00],  // NOP, NOP, NOP, End of Option List
        [0x00, 0xFF, 0xFF, 0xFF],  // End of Option List; what follows is padding
        [0x94, 0x04, 0x00, 0x00],  // Router Alert (RFC 2113)
        [0x07, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00],  // Record Route, one empty slot, then EOL
        [0x44, 0x0c, 0x05, 0x00] + [UInt8](repeating: 0, count: 8),  // Timestamp, two slots
        [UInt8](repeating: 0x01, count: 40),  // the most options an IHL of 15 allows
        [0x07, 0x27, 0x04] + [UInt8](repeating: 0, count: 37),  // Record Route filling all 40 bytes
    ] as [[UInt8]])
    func wellFormed(options: [UInt8]) throws {
        let bytes = emittedDatagram(options: options)
        let header = try parseIPv4(bytes)
        #expect(header.options == options)
        #expect(header.headerLength == 20 + options.count)
        #expect(try parseQuotedIPv4(bytes).options == options)
    }

    @Test("an option length of 0 is refused")
    func lengthZero() throws {
        let bytes = emittedDatagram(options: [0x07, 0x00, 0x00, 0x00])
        #expect(throws: WireError.badOption(.ipv4, kind: 7, offset: 20)) { try parseIPv4(bytes) }
        #expect(throws: WireError.badOption(.ipv4, kind: 7, offset: 20)) { try parseQuotedIPv4(bytes) }
    }

    @Test("an option length of 1 is refused")
    func lengthOne() throws {
        let bytes = emittedDatagram(options: [0x94, 0x01, 0x00, 0x00])
        #expect(throws: WireError.badOption(.ipv4, kind: 0x94, offset: 20)) { try parseIPv4(bytes) }
    }

    @Test("an option running past the header is refused")
    func lengthPastHeader() throws {
        let bytes = emittedDatagram(options: [0x01, 0x07, 0x08, 0x04])
        #expect(throws: WireError.badOption(.ipv4, kind: 7, offset: 21)) { try parseIPv4(bytes) }
        // The second option of two runs past the end.
        let second = emittedDatagram(options: [0x94, 0x04, 0x00, 0x00, 0x83, 0x09, 0x04, 0x00])
        #expect(throws: WireError.badOption(.ipv4, kind: 0x83, offset: 24)) { try parseIPv4(second) }
    }

    @Test("an option whose length byte would lie past the header is refused")
    func missingLengthByte() throws {
        let bytes = emittedDatagram(options: [0x01, 0x01, 0x01, 0x44])
        #expect(throws: WireError.badOption(.ipv4, kind: 0x44, offset: 23)) { try parseIPv4(bytes) }
    }
}

@Suite("RFC 1624 incremental TTL update")
struct IPv4TimeToLiveTests {
    /// Header bytes with TTL `ttl` and a checksum from the reference implementation.
    private func header(_ base: [UInt8], ttl: UInt8, identification: UInt16? = nil) -> [UInt8] {
        var bytes = Array(base[0..<20])
        bytes[8] = ttl
        if let identification { Golden.storeBE16(identification, in: &bytes, at: 4) }
        fixChecksum(&bytes)
        return bytes
    }

    private func decrementing(_ bytes: [UInt8]) -> (ttl: UInt8, bytes: [UInt8]) {
        var copy = bytes
        let ttl = copy.withUnsafeMutableBytes { IPv4Header.decrementTimeToLive(in: $0) }
        return (ttl, copy)
    }

    @Test("RFC 1624 §4: 0x5555 → 0x3285 under checksum 0xDD2F gives 0x0000, not -0 (0xFFFF)")
    func rfc1624Example() {
        #expect(InternetChecksum.update(0xDD2F, old: 0x5555, new: 0x3285) == 0x0000)
    }

    @Test("the router's forwarding of A's UDP datagram: TTL 64 → 63, checksum 0x76bf → 0x77bf")
    func matchesLinuxRouter() throws {
        // icmp-port-unreachable #3 is the datagram A sent; B quotes it in #4 as it arrived through R.
        let sent = Array(try datagram("icmp-port-unreachable", 3)[0..<20])
        let arrived = Array(try Golden.frame("icmp-port-unreachable", 4)[42..<62])
        let (ttl, forwarded) = decrementing(sent)
        #expect(ttl == 63)
        #expect(forwarded == arrived)
        #expect(Golden.be16(forwarded, 10) == 0x77bf)
    }

    @Test("the incremental update equals full recomputation for every TTL")
    func everyTimeToLive() throws {
        let bases = try [datagram("arp-icmp-echo", 3), datagram("ip-fragments", 2), datagram("udp-echo", 2),
                         datagram("icmp-routed-ttl-exceeded", 2), datagram("icmp-frag-needed", 1)]
        for base in bases {
            for ttl in 0...255 {
                let (newTTL, after) = decrementing(header(base, ttl: UInt8(ttl)))
                let expected = header(base, ttl: UInt8(truncatingIfNeeded: ttl - 1))
                #expect(newTTL == UInt8(truncatingIfNeeded: ttl - 1))
                #expect(after == expected, "TTL \(ttl): checksum \(Golden.be16(after, 10)), want \(Golden.be16(expected, 10))")
            }
        }
    }

    @Test("where recomputation gives 0x0000 the update gives 0x0000 too, for every TTL")
    func resultIsPositiveZero() throws {
        let base = try datagram("arp-icmp-echo", 3)
        for ttl in 1...255 {
            // Choose the identification so the header after the decrement sums to 0xFFFF.
            var after = header(base, ttl: UInt8(ttl - 1), identification: 0)
            Golden.storeBE16(0, in: &after, at: 10)
            let identification = 0xFFFF - Golden.onesComplementSum(after)
            let before = header(base, ttl: UInt8(ttl), identification: identification)
            let expected = header(base, ttl: UInt8(ttl - 1), identification: identification)
            #expect(Golden.be16(expected, 10) == 0x0000)
            let (_, updated) = decrementing(before)
            #expect(updated == expected, "TTL \(ttl): checksum 0x\(String(Golden.be16(updated, 10), radix: 16))")
        }
    }

    @Test("a header whose checksum was 0x0000 updates like recomputation, for every TTL")
    func startingFromPositiveZero() throws {
        let base = try datagram("udp-echo", 1)
        for ttl in 1...255 {
            var probe = header(base, ttl: UInt8(ttl), identification: 0)
            Golden.storeBE16(0, in: &probe, at: 10)
            let identification = 0xFFFF - Golden.onesComplementSum(probe)
            let before = header(base, ttl: UInt8(ttl), identification: identification)
            #expect(Golden.be16(before, 10) == 0x0000)
            let (_, updated) = decrementing(before)
            #expect(updated == header(base, ttl: UInt8(ttl - 1), identification: identification), "TTL \(ttl)")
        }
    }

    @Test("an unchanged field leaves every checksum a full computation can produce unchanged")
    func unchangedField() {
        // Recomputation never yields 0xFFFF for a header with a non-zero word (RFC 1624 §3).
        for checksum in UInt16(0)...0xFFFE {
            for field: UInt16 in [0x0000, 0x4001, 0xFFFF] where InternetChecksum.update(checksum, old: field, new: field) != checksum {
                Issue.record("checksum 0x\(String(checksum, radix: 16)), field 0x\(String(field, radix: 16))")
            }
        }
    }
}
