// The virtio-net header (linux/virtio_net.h) a TAP/TUN device with IFF_VNET_HDR puts in front of
// frames. Golden bytes are laid out by hand from the kernel's struct:
//
//   struct virtio_net_hdr {
//       __u8 flags;            // offset 0: NEEDS_CSUM 1, DATA_VALID 2
//       __u8 gso_type;         // offset 1: NONE 0, TCPV4 1, UDP 3, TCPV6 4, ECN 0x80
//       __virtio16 hdr_len;    // offset 2
//       __virtio16 gso_size;   // offset 4
//       __virtio16 csum_start; // offset 6
//       __virtio16 csum_offset;// offset 8
//   };                         // 10 bytes, fields in the machine's (little-endian) order
//
// The TSO example is what the kernel hands a TAP reader for a 64 KiB TCP super-segment of
// MSS 1448 with timestamps: csum_start 34 (14 Ethernet + 20 IPv4), csum_offset 16 (TCP's
// checksum field), hdr_len 66 (14 + 20 + 32), gso_size 1448 = 0x05A8.

import NetStackWire
import Testing

private let tsoBytes: [UInt8] = [
    0x01,        // flags: NEEDS_CSUM
    0x01,        // gso_type: TCPV4
    0x42, 0x00,  // hdr_len 66
    0xA8, 0x05,  // gso_size 1448
    0x22, 0x00,  // csum_start 34
    0x10, 0x00,  // csum_offset 16
]

/// Whether `header` trusts the checksum of a real Linux TCP frame (tcp-http-session #4, IPv4 at 14).
private func trustsCapturedFrame(_ header: VirtioNetHeader) throws -> Bool {
    let frame = try Golden.frame("tcp-http-session", 4)
    return frame.withUnsafeBytes { header.trustsChecksum(of: $0, ipOffset: 14) }
}

@Suite("virtio-net header")
struct VirtioNetHeaderTests {
    @Test("reads the kernel's TSO header field by field, little-endian")
    func parsesTSO() throws {
        let header = try tsoBytes.withUnsafeBytes { try VirtioNetHeader.parse($0) }
        #expect(header.flags == VirtioNetHeader.needsChecksum)
        #expect(header.gsoType == .tcpV4)
        #expect(header.headerLength == 66)
        #expect(header.gsoSize == 1448)
        #expect(header.checksumStart == 34)
        #expect(header.checksumOffset == 16)
        #expect(try trustsCapturedFrame(header))
        #expect(header.description == "vnet csum 34+16 gso tcp4/1448 hdr 66")
    }

    @Test("emits the same bytes it parses, for a super-segment NetStack sends")
    func emitsTSO() {
        let header = VirtioNetHeader.tcpSegmentation(transportOffset: 34, headersLength: 66, segmentSize: 1448)
        var bytes = [UInt8](repeating: 0xEE, count: VirtioNetHeader.length)
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        #expect(bytes == tsoBytes)
    }

    @Test("an IPv6 super-segment's header says TCPV6 (4), its checksum at the TCP header after the 40-byte fixed header")
    func emitsTSO6() {
        // On a TAP: 14 Ethernet + 40 IPv6 = 54 to the TCP header, 54 + 32 = 86 bytes of headers,
        // gso_size 1,428 (1,500 − 40 − 20 − 12 of timestamps) = 0x0594.
        let expected: [UInt8] = [0x01, 0x04, 0x56, 0x00, 0x94, 0x05, 0x36, 0x00, 0x10, 0x00]
        let header = VirtioNetHeader.tcpSegmentation(transportOffset: 54, headersLength: 86, segmentSize: 1428, ipv6: true)
        var bytes = [UInt8](repeating: 0xEE, count: VirtioNetHeader.length)
        bytes.withUnsafeMutableBytes { header.emit(into: $0) }
        #expect(bytes == expected)
        #expect(header.description == "vnet csum 54+16 gso tcp6/1428 hdr 86")
    }

    @Test("a plain header is ten zero bytes and trusts nothing")
    func plain() throws {
        let zeros = [UInt8](repeating: 0, count: 10)
        let header = try zeros.withUnsafeBytes { try VirtioNetHeader.parse($0) }
        #expect(header == .plain)
        #expect(try !trustsCapturedFrame(header))
        #expect(header.description == "vnet plain")
    }

    @Test("DATA_VALID alone vouches for the checksum; the ECN bit keeps the GSO kind")
    func dataValidAndECN() throws {
        let bytes: [UInt8] = [0x02, 0x81, 0, 0, 0xA8, 0x05, 0, 0, 0, 0]
        let header = try bytes.withUnsafeBytes { try VirtioNetHeader.parse($0) }
        #expect(try trustsCapturedFrame(header) && !header.needsChecksum)
        #expect(header.gsoType.kind == .tcpV4)
        #expect(header.gsoType != .tcpV4)
    }

    @Test("nine bytes are truncated")
    func truncated() {
        let bytes = [UInt8](repeating: 0, count: 9)
        #expect(throws: WireError.truncated(.virtio, needed: 10, available: 9)) {
            try bytes.withUnsafeBytes { try VirtioNetHeader.parse($0) }
        }
    }

    @Test("completing a partial checksum gives back the checksum Linux sent (tcp-http-session #4)")
    func completesPartialChecksum() throws {
        // A real Linux frame with its full TCP checksum; replace the checksum with what a sender
        // using CHECKSUM_PARTIAL leaves there (the folded pseudo-header sum), then finish it.
        let original = try Golden.frame("tcp-http-session", 4)
        try #require(original[14] == 0x45 && original[23] == 6, "expects TCP in a 20-byte IPv4 header")
        let ipEnd = 14 + Int(Golden.be16(original, 16))
        var frame = Array(original[0..<ipEnd])
        let source = IPv4Address(rawValue: UInt32(Golden.be16(frame, 26)) << 16 | UInt32(Golden.be16(frame, 28)))
        let destination = IPv4Address(rawValue: UInt32(Golden.be16(frame, 30)) << 16 | UInt32(Golden.be16(frame, 32)))
        let partial = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .tcp,
                                                    length: ipEnd - 34).foldedSum
        frame[50] = UInt8(partial >> 8)
        frame[51] = UInt8(partial & 0xFF)
        #expect(frame != Array(original[0..<ipEnd]))
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 34, checksumOffset: 16)
        let done = frame.withUnsafeMutableBytes { header.completeChecksum(in: $0) }
        #expect(done)
        #expect(frame == Array(original[0..<ipEnd]))
    }

    @Test("NEEDS_CSUM is trusted only where a kernel points it: the TCP or UDP checksum of the IPv4 packet")
    func trustsOnlyTheTransportChecksumField() throws {
        let frame = try Golden.frame("tcp-http-session", 4)  // Ethernet, 20-byte IPv4, TCP
        try #require(frame[14] == 0x45 && frame[23] == 6)
        func trusts(_ header: VirtioNetHeader, ipOffset: Int = 14) -> Bool {
            frame.withUnsafeBytes { header.trustsChecksum(of: $0, ipOffset: ipOffset) }
        }
        let needs = VirtioNetHeader.needsChecksum
        #expect(trusts(VirtioNetHeader(flags: needs, checksumStart: 34, checksumOffset: 16)))
        #expect(!trusts(VirtioNetHeader(flags: needs, checksumStart: 34, checksumOffset: 6)))   // UDP's field in TCP
        #expect(!trusts(VirtioNetHeader(flags: needs, checksumStart: 14, checksumOffset: 10)))  // the IPv4 header checksum
        #expect(!trusts(VirtioNetHeader(flags: needs, checksumStart: 54, checksumOffset: 16)))  // past the TCP header start
        #expect(!trusts(VirtioNetHeader(flags: needs, checksumStart: 34, checksumOffset: 16), ipOffset: 0))  // TUN framing
        #expect(!trusts(.plain))
        #expect(trusts(VirtioNetHeader(flags: VirtioNetHeader.dataValid)))
    }

    @Test("NEEDS_CSUM on IPv6: trusted at the UDP checksum right after the fixed header, never behind extension headers")
    func trustsIPv6PartialChecksumOnlyWhereTheKernelPoints() throws {
        let needs = VirtioNetHeader.needsChecksum
        // Linux's UDP datagram over IPv6 (icmpv6-port-unreachable #3): Ethernet, 40-byte IPv6, UDP at 54.
        let plain = try Golden.frame("icmpv6-port-unreachable", 3)
        try #require(plain[14] >> 4 == 6 && plain[20] == 17)
        func trusts(_ frame: [UInt8], _ header: VirtioNetHeader, ipOffset: Int = 14) -> Bool {
            frame.withUnsafeBytes { header.trustsChecksum(of: $0, ipOffset: ipOffset) }
        }
        #expect(trusts(plain, VirtioNetHeader(flags: needs, checksumStart: 54, checksumOffset: 6)))
        #expect(!trusts(plain, VirtioNetHeader(flags: needs, checksumStart: 54, checksumOffset: 16)))  // TCP's field in UDP
        #expect(!trusts(plain, VirtioNetHeader(flags: needs, checksumStart: 34, checksumOffset: 6)))   // where IPv4's would be
        #expect(!trusts(plain, VirtioNetHeader(flags: needs, checksumStart: 54, checksumOffset: 6), ipOffset: 0))  // TUN framing
        // The same datagram behind extension headers (ipv6-extension-headers #1): the next header is not UDP.
        let extended = try Golden.frame("ipv6-extension-headers", 1)
        try #require(extended[14] >> 4 == 6 && extended[20] != 17)
        #expect(!trusts(extended, VirtioNetHeader(flags: needs, checksumStart: 54, checksumOffset: 6)))
    }

    @Test("a checksum offset past the frame changes nothing")
    func refusesOffsetsOutside() {
        var frame = [UInt8](repeating: 7, count: 40)
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 34, checksumOffset: 16)
        let done = frame.withUnsafeMutableBytes { header.completeChecksum(in: $0) }
        #expect(!done)
        #expect(frame == [UInt8](repeating: 7, count: 40))
    }
}
