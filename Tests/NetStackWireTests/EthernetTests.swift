// Ethernet II headers and the frame check sequence, against frames Linux sent
// (Tests/Fixtures/captures, fields as tshark decodes them) and IEEE 802.3.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
private let routerA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe)

private func parseHeader(_ bytes: [UInt8]) throws -> EthernetHeader {
    try bytes.withUnsafeBytes { try EthernetHeader.parse($0) }
}

private func parseFrame(_ bytes: [UInt8], hasFCS: Bool) throws -> EthernetFrame {
    try bytes.withUnsafeBytes { try EthernetFrame.parse($0, hasFCS: hasFCS) }
}

@Suite("Ethernet II header")
struct EthernetHeaderTests {
    @Test("reads the broadcast ARP request Linux sent (arp-icmp-echo #1)")
    func broadcastARPRequest() throws {
        let header = try parseHeader(Golden.frame("arp-icmp-echo", 1))
        #expect(header.destination == MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
        #expect(header.destination.isBroadcast)
        #expect(header.destination.isMulticast)
        #expect(header.source == hostA)
        #expect(!header.source.isMulticast)
        #expect(header.etherType == EtherType(rawValue: 0x0806))
        #expect(header.etherType == .arp)
    }

    @Test("reads a unicast IPv4 frame (arp-icmp-echo #3)")
    func unicastIPv4() throws {
        let header = try parseHeader(Golden.frame("arp-icmp-echo", 3))
        #expect(header.destination == routerA)
        #expect(header.source == hostA)
        #expect(header.etherType == EtherType(rawValue: 0x0800))
        #expect(header.etherType == .ipv4)
    }

    @Test("the payload of a frame without FCS runs from byte 14 to the end")
    func payloadWithoutFCS() throws {
        let frame = try parseFrame(Golden.frame("arp-icmp-echo", 3), hasFCS: false)
        #expect(frame.payload == 14..<98)
        #expect(frame.header.etherType == .ipv4)
    }

    @Test("emit writes the 14 header bytes Linux wrote, for every frame of every capture")
    func emitMatchesEveryCapturedHeader() throws {
        let frames = try Golden.allFrames()
        #expect(frames.count > 40)
        for (name, number, bytes) in frames {
            let header = try parseHeader(bytes)
            var emitted = [UInt8](repeating: 0xAA, count: EthernetHeader.length)
            emitted.withUnsafeMutableBytes { header.emit(into: $0) }
            #expect(emitted == Array(bytes[0..<14]), "\(name) #\(number)")
        }
    }

    @Test("a frame shorter than 14 bytes is truncated, at every length")
    func truncatedAtEveryLength() throws {
        let bytes = try Golden.frame("arp-icmp-echo", 1)
        for length in 0..<14 {
            #expect(throws: WireError.truncated(.ethernet, needed: 14, available: length)) {
                try parseHeader(Array(bytes[0..<length]))
            }
            #expect(throws: WireError.truncated(.ethernet, needed: 14, available: length)) {
                try parseFrame(Array(bytes[0..<length]), hasFCS: false)
            }
        }
        // Exactly a header and nothing after it is a frame with an empty payload.
        #expect(try parseFrame(Array(bytes[0..<14]), hasFCS: false).payload == 14..<14)
    }

    @Test("a type field of 1535 or less is an IEEE 802.3 length, not an EtherType")
    func ieee8023LengthField() throws {
        var bytes = try Golden.frame("arp-icmp-echo", 1)
        // IEEE 802.3 §3.2.6: ≤ 1500 is a length; 1501…1535 is undefined; ≥ 1536 (0x0600) is a type.
        for value: UInt16 in [0, 28, 46, 1500, 1501, 0x05FF] {
            Golden.storeBE16(value, in: &bytes, at: 12)
            let error = Golden.wireError { _ = try parseHeader(bytes) }
            #expect(Golden.isUnsupported(error, .ethernet), "type field \(value): \(String(describing: error))")
        }
        Golden.storeBE16(0x0600, in: &bytes, at: 12)
        #expect(try parseHeader(bytes).etherType.rawValue == 0x0600)
    }
}

@Suite("Ethernet frame check sequence")
struct EthernetFCSTests {
    /// The ARP request of arp-icmp-echo #1 padded to the 60-byte minimum, as it went on the wire.
    private func paddedARPRequest() throws -> [UInt8] {
        let bytes = try Golden.frame("arp-icmp-echo", 1)
        return bytes + [UInt8](repeating: 0, count: EthernetHeader.minimumFrameLength - bytes.count)
    }

    @Test("the FCS of the padded ARP request is zlib's CRC-32, least significant byte first")
    func fcsMatchesZlib() throws {
        var frame = try paddedARPRequest()
        EthernetFCS.append(to: &frame)
        // python3 -c 'import zlib; print(hex(zlib.crc32(frame60)))' → 0x81410c60
        #expect(frame.count == 64)
        #expect(Array(frame[60...]) == [0x60, 0x0c, 0x41, 0x81])
    }

    @Test("a frame with its FCS parses, and the FCS stays out of the payload")
    func parsesWithFCS() throws {
        var frame = try paddedARPRequest()
        EthernetFCS.append(to: &frame)
        let parsed = try parseFrame(frame, hasFCS: true)
        #expect(parsed.payload == 14..<60)
        #expect(parsed.header.destination.isBroadcast)
        #expect(parsed.header.source == hostA)
        #expect(parsed.header.etherType == .arp)
    }

    @Test("every captured frame survives appending and checking an FCS")
    func everyCapturedFrameWithFCS() throws {
        for (name, number, bytes) in try Golden.allFrames() {
            var frame = bytes
            EthernetFCS.append(to: &frame)
            let withFCS = try parseFrame(frame, hasFCS: true)
            let without = try parseFrame(bytes, hasFCS: false)
            #expect(withFCS.header == without.header, "\(name) #\(number)")
            #expect(withFCS.payload == without.payload, "\(name) #\(number)")
        }
    }

    @Test("any single flipped bit, in the frame or in its FCS, is a bad FCS")
    func everySingleBitFlipIsCaught() throws {
        var frame = try paddedARPRequest()
        EthernetFCS.append(to: &frame)
        for bit in 0..<(frame.count * 8) {
            #expect(throws: WireError.badChecksum(.ethernet), "bit \(bit)") {
                try parseFrame(Golden.flipping(frame, bit: bit), hasFCS: true)
            }
        }
    }

    @Test("a frame without an FCS does not verify when read as having one")
    func missingFCS() throws {
        #expect(throws: WireError.badChecksum(.ethernet)) {
            try parseFrame(try paddedARPRequest(), hasFCS: true)
        }
    }

    @Test("fewer bytes than a header and an FCS are truncated, at every length")
    func truncatedWithFCS() throws {
        var frame = try paddedARPRequest()
        EthernetFCS.append(to: &frame)
        for length in 0..<18 {
            #expect(throws: WireError.truncated(.ethernet, needed: 18, available: length)) {
                try parseFrame(Array(frame[0..<length]), hasFCS: true)
            }
        }
        // A bare header with a correct FCS is a frame with an empty payload.
        var bare = Array(frame[0..<14])
        EthernetFCS.append(to: &bare)
        #expect(try parseFrame(bare, hasFCS: true).payload == 14..<14)
    }

    @Test("an 802.3 length field behind a good FCS is still rejected")
    func lengthFieldWithFCS() throws {
        var frame = try paddedARPRequest()
        Golden.storeBE16(46, in: &frame, at: 12)
        EthernetFCS.append(to: &frame)
        let error = Golden.wireError { _ = try parseFrame(frame, hasFCS: true) }
        #expect(Golden.isUnsupported(error, .ethernet))
    }
}
