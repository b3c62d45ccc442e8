import NetStackTestSupport
@testable import NetStackCore
import NetStackWire
import Testing

/// Receive coalescing (software GRO) of TCP over IPv6. The segments are Linux's, from the IPv4
/// capture `tcp-http-session.pcap` (948-byte segments, timestamps on: see ReceiveCoalescerTests),
/// carried as IPv6 would carry them — EtherType 0x86DD, a fixed header with TCP as next header,
/// 198.51.100.1 → 2001:db8:2::1 and 192.0.2.1 → 2001:db8:1::1, the hop limit the TTL was, and the
/// TCP checksum summed again over the IPv6 pseudo-header (RFC 8200 §8.1) — the TCP bytes otherwise
/// as Linux sent them. IPv6 has no header checksum: only the payload length is rewritten.
@Suite struct ReceiveCoalescer6Tests {
    typealias V4 = ReceiveCoalescerTests
    /// Ethernet, IPv6, TCP with 12 bytes of timestamps: where the payload starts.
    static let headers = 14 + 40 + 32

    static let server = IPv6Address(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1)
    static let client = IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)

    /// The IPv4 frame `v4` as an IPv6 frame, its TCP checksum summed afresh; `flowLabel` goes in the header.
    static func ipv6(_ v4: [UInt8], flowLabel: UInt32 = 0) -> [UInt8] {
        let total = Int(v4[16]) << 8 | Int(v4[17])
        let segment = Array(v4[34..<(14 + total)])
        let source = v4[26] == 198 ? server : client
        let destination = source == server ? client : server
        var frame = Array(v4[0..<12]) + [0x86, 0xDD]
        frame += [0x60, UInt8(flowLabel >> 16 & 0x0F), UInt8(truncatingIfNeeded: flowLabel >> 8), UInt8(truncatingIfNeeded: flowLabel)]
        frame += [UInt8(segment.count >> 8), UInt8(truncatingIfNeeded: segment.count), 6, v4[22]]
        frame += bytes(source) + bytes(destination) + segment
        return refreshed(frame)
    }

    static func bytes(_ address: IPv6Address) -> [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? address.high : address.low) >> (56 - 8 * UInt64($0 % 8))) }
    }

    /// Frame `number` of the IPv4 capture, as IPv6.
    static func frame(_ number: Int) throws -> [UInt8] { ipv6(try V4.frame(number)) }

    /// The frame with its TCP checksum (over the IPv6 pseudo-header) summed again after a change.
    static func refreshed(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        frame.withUnsafeMutableBytes { bytes in
            let view = UnsafeRawBufferPointer(bytes)
            let length = Int(view.be16(18))
            bytes.storeBE16(0, at: 54 + 16)
            var sum = InternetChecksum.pseudoHeader(source: IPv6Address(octets: view[22..<38])!,
                                                    destination: IPv6Address(octets: view[38..<54])!,
                                                    nextHeader: .tcp, length: length)
            sum.add(UnsafeRawBufferPointer(rebasing: view[54..<(54 + length)]))
            bytes.storeBE16(sum.checksum, at: 54 + 16)
        }
        return frame
    }

    /// A segment as the stack would check it: the TCP checksum verified by the wire parser.
    static func parsed(_ frame: [UInt8]) throws -> (ip: IPv6Header, tcp: TCPHeader, payload: [UInt8]) {
        try frame.withUnsafeBytes { bytes in
            let packet = UnsafeRawBufferPointer(rebasing: bytes[14...])
            let ip = try IPv6Header.parse(packet)
            let segment = UnsafeRawBufferPointer(rebasing: packet[40..<ip.totalLength])
            let tcp = try TCPHeader.parse(segment, source: .v6(ip.source), destination: .v6(ip.destination))
            return (ip, tcp, [UInt8](segment[tcp.headerLength...]))
        }
    }

    static func payload(_ frame: [UInt8]) -> [UInt8] { Array(frame[headers...]) }

    @Test func consecutiveIPv6SegmentsOfOneConnectionBecomeOneValidSegment() throws {
        let frames = try [40, 41, 42, 43, 44].map(Self.frame)
        let (delivered, coalescer) = V4.coalesce(frames)
        try #require(delivered.items.count == 1)
        #expect(delivered.items[0].delivery == .glued)
        let glued = try Self.parsed(delivered.items[0].bytes)
        #expect(glued.ip.payloadLength == 32 + 5 * 948)
        #expect(delivered.items[0].bytes.count == 14 + 40 + 32 + 5 * 948)
        #expect(glued.ip.source == Self.server && glued.ip.destination == Self.client && glued.ip.nextHeader == .tcp)
        #expect(glued.tcp.sequenceNumber == (try Self.parsed(frames[0])).tcp.sequenceNumber)
        #expect(glued.tcp.flags == [.ack])
        #expect(glued.tcp.options.timestamps == TCPTimestamps(value: 3_785_604_566, echo: 2_513_052_665))
        #expect(glued.payload == frames.flatMap(Self.payload))
        #expect(coalescer.framesMerged == 4 && coalescer.runsClosed == 1)
    }

    @Test func pushEndsAnIPv6RunAfterJoiningIt() throws {
        let frames = try [8, 10, 12, 14, 16, 18].map(Self.frame)
        let (delivered, _) = V4.coalesce(frames, flush: false)
        try #require(delivered.items.count == 1, "18 waits for more")
        let glued = try Self.parsed(delivered.items[0].bytes)
        #expect(glued.tcp.flags == [.ack, .psh])
        #expect(glued.payload == frames.dropLast().flatMap(Self.payload))
    }

    @Test func anotherFlowLabelIsNotGlued() throws {
        let frames = [Self.ipv6(try V4.frame(40), flowLabel: 0x12345), Self.ipv6(try V4.frame(41), flowLabel: 0x54321)]
        let (delivered, coalescer) = V4.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(delivered.items.map(\.delivery) == [.verified, .verified])
        #expect(coalescer.framesMerged == 0)
    }

    @Test func aChangedHopLimitIsNotGlued() throws {
        var other = try Self.frame(41)
        other[14 + 7] -= 1
        let frames = [try Self.frame(40), other]
        let (delivered, coalescer) = V4.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(coalescer.framesMerged == 0)
    }

    @Test func anIPv6FrameWithAnExtensionHeaderPassesAsItCame() throws {
        // Next header 60 (destination options): TCP is not where the coalescer looks, so it is left alone.
        var optioned = try Self.frame(41)
        optioned[14 + 6] = 60
        let frames = [try Self.frame(40), optioned, try Self.frame(42)]
        let (delivered, coalescer) = V4.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(delivered.items.map(\.delivery) == [.verified, .asReceived, .verified])
        #expect(coalescer.framesMerged == 0)
    }

    @Test func aBadIPv6ChecksumIsNeitherGluedNorVouchedFor() throws {
        var damaged = try Self.frame(41)
        damaged[Self.headers + 100] ^= 0x20
        let frames = [try Self.frame(40), damaged, try Self.frame(42)]
        let (delivered, coalescer) = V4.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames, "the damaged frame goes on as it came, for the stack to count")
        #expect(delivered.items.map(\.delivery) == [.verified, .asReceived, .verified])
        #expect(coalescer.framesMerged == 0)
    }

    @Test func anIPv4SegmentDoesNotContinueAnIPv6Run() throws {
        // On a TUN (no link header, nothing but the version to tell the families apart), the IPv4 frame
        // right after in sequence still starts a run of its own.
        let frames = [Array(try Self.frame(40)[14...]), Array(try V4.frame(41)[14...])]
        let (delivered, coalescer) = V4.coalesce(frames, ipOffset: 0)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(coalescer.framesMerged == 0)
    }

    @Test func anIPv6RunStopsShortOf64KiB() throws {
        // 80 segments of 948 bytes, numbered one after another: 72 bytes of IPv6 and TCP headers each.
        let first = try V4.frame(40)
        let frames = (0..<80).map {
            Self.ipv6(V4.trimmed(first, payload: 948, back: UInt32(bitPattern: Int32(-948 * $0))))
        }
        let (delivered, _) = V4.coalesce(frames)
        let lengths = try delivered.items.map { 40 + (try Self.parsed($0.bytes).ip.payloadLength) }
        #expect(lengths == [72 + 69 * 948, 72 + 11 * 948], "69 × 948 + 72 = 65,484 ≤ 65,535 < 70 × 948 + 72")
        #expect(try delivered.items.flatMap { try Self.parsed($0.bytes).payload } == frames.flatMap(Self.payload))
    }

    @Test func anOddLengthIPv6PartKeepsTheGluedChecksumRight() throws {
        let frames = try [40, 41, 42].enumerated().map {
            Self.ipv6(V4.trimmed(try V4.frame($1), payload: 947, back: UInt32($0)))
        }
        let (delivered, _) = V4.coalesce(frames)
        try #require(delivered.items.count == 1)
        #expect(try Self.parsed(delivered.items[0].bytes).payload == frames.flatMap(Self.payload))
    }
}
