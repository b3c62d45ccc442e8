// Inputs shared by the IPv6 fragmentation and reassembly tests: the kernel's fragments of a
// 2,048-byte echo request (ipv6-fragments.pcap #1 and #2, path MTU 1280), the datagram they
// came from (put together here by slicing the capture, not by the code under test), and
// hand-built fragments for the hostile cases.

import NetStackCore
import NetStackTestSupport
import NetStackWire

enum V6Frag {
    /// A (its SLAAC address) and B of the captures.
    static let a = IPv6Address("2001:db8:1::ff:fe00:6a01")!
    static let b = IPv6Address("2001:db8:2::1")!
    /// The identification Linux gave the echo request's fragments (tshark: ident=0x7f2f2987).
    static let capturedID: UInt32 = 0x7f2f_2987

    /// The echo request's two fragments as IPv6 packets (Ethernet header cut off): 1,280 and 824 bytes.
    static func capturedFragments() throws -> [[UInt8]] {
        try Fixtures.captureFrames("ipv6-fragments")[0..<2].map { Array($0[14...]) }
    }

    /// The datagram before fragmentation: the first fragment's IPv6 header with payload length
    /// 2,008 and next header ICMPv6, then both fragments' data (after their 48 bytes of headers).
    static func capturedDatagram() throws -> [UInt8] {
        let fragments = try capturedFragments()
        var datagram = Array(fragments[0][0..<40])
        datagram[4] = 0x07  // 2,008 = 0x07d8
        datagram[5] = 0xd8
        datagram[6] = 58
        datagram += fragments[0][48...]
        datagram += fragments[1][48...]
        return datagram
    }

    /// An IPv6 packet from `source` to `destination`: `extensions` (already chained, the first
    /// named by the IPv6 header's next header `first`), then the fragment header, then `data`.
    static func fragment(from source: IPv6Address = a, to destination: IPv6Address = b, id: UInt32 = 1,
                         offset: Int, more: Bool, nextHeader: IPProtocol = .icmpv6, data: [UInt8],
                         extensions: [UInt8] = [], first: IPProtocol = .ipv6Fragment) -> [UInt8] {
        let length = 40 + extensions.count + 8 + data.count
        var packet = [UInt8](repeating: 0, count: length)
        packet.withUnsafeMutableBytes { buffer in
            IPv6Header(source: source, destination: destination, nextHeader: extensions.isEmpty ? .ipv6Fragment : first,
                       payloadLength: length - 40).emit(into: buffer)
            let at = 40 + extensions.count
            IPv6FragmentHeader(nextHeader: nextHeader, fragmentOffset: offset, moreFragments: more, identification: id)
                .emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[at...]))
        }
        packet.replaceSubrange(40..<(40 + extensions.count), with: extensions)
        packet.replaceSubrange((48 + extensions.count)..., with: data)
        return packet
    }

    /// True when the ICMPv6 checksum of `datagram` (no extension headers) verifies.
    static func icmpv6ChecksumVerifies(_ datagram: [UInt8]) -> Bool {
        datagram.withUnsafeBytes { bytes in
            guard let header = try? IPv6Header.parse(bytes) else { return false }
            var sum = InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                    nextHeader: .icmpv6, length: header.payloadLength)
            sum.add(UnsafeRawBufferPointer(rebasing: bytes[40..<header.totalLength]))
            return sum.verifies
        }
    }
}

extension IPv6Reassembler {
    /// Adds `packet` (test convenience over the buffer-pointer call).
    mutating func add(_ packet: [UInt8], at now: Instant = .zero) -> IPv6ReassemblyOutcome {
        packet.withUnsafeBytes { add($0, now: now) }
    }

    /// The completed datagram's bytes, after `add` said `.complete`.
    mutating func assembled(length: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: length + 16)
        let written = buffer.withUnsafeMutableBytes { assembleCompleted(into: $0) }
        return Array(buffer[..<written])
    }
}
