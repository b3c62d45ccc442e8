import NetStackTestSupport
import NetStackCore
import NetStackWire
import Testing

/// Receive coalescing (software GRO), fed the data segments of a real Linux capture
/// (`tcp-http-session.pcap`, recorded on 192.0.2.1: a 20,000-byte download from 198.51.100.1 in
/// 948-byte segments, timestamps on). Mutated frames get both checksums summed again by
/// ``refreshed(_:)``, so only the one field the test names differs from what Linux sent.
@Suite struct ReceiveCoalescerTests {
    /// Ethernet, IPv4 without options, TCP with 12 bytes of timestamps: where the payload starts.
    static let headers = 14 + 20 + 32

    /// Frame `number` of the capture, numbered from 1 as tshark does.
    static func frame(_ number: Int) throws -> [UInt8] {
        try Fixtures.captureFrames("tcp-http-session")[number - 1]
    }

    /// What the coalescer handed on, in order: the bytes and what it made of them.
    final class Delivered {
        var items: [(bytes: [UInt8], delivery: ReceiveCoalescer.Delivery)] = []
        func take(_ bytes: UnsafeRawBufferPointer, _ delivery: ReceiveCoalescer.Delivery) { items.append(([UInt8](bytes), delivery)) }
    }

    /// Offers `frames` in order, then (unless told not to) flushes as the runtime does at a batch's end.
    static func coalesce(_ frames: [[UInt8]], flush: Bool = true, mtu: Int = 1500) -> (Delivered, ReceiveCoalescer) {
        let coalescer = ReceiveCoalescer(ipOffset: 14, mtu: mtu)
        let delivered = Delivered()
        for frame in frames { frame.withUnsafeBytes { coalescer.offer($0, deliver: delivered.take) } }
        if flush { coalescer.flush(deliver: delivered.take) }
        return (delivered, coalescer)
    }

    /// A frame with its IP header and TCP checksums computed again after a test changed it.
    static func refreshed(_ frame: [UInt8]) -> [UInt8] {
        var frame = frame
        frame.withUnsafeMutableBytes { bytes in
            let total = Int(UnsafeRawBufferPointer(bytes).be16(16))
            bytes.storeBE16(0, at: 24)
            bytes.storeBE16(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: bytes[14..<34])), at: 24)
            bytes.storeBE16(0, at: 50)
            let view = UnsafeRawBufferPointer(bytes)
            var sum = InternetChecksum.pseudoHeader(source: IPv4Address(rawValue: view.be32(26)),
                                                    destination: IPv4Address(rawValue: view.be32(30)),
                                                    protocol: .tcp, length: total - 20)
            sum.add(UnsafeRawBufferPointer(rebasing: view[34..<(14 + total)]))
            bytes.storeBE16(sum.checksum, at: 50)
        }
        return frame
    }

    /// A segment as the stack would check it: both checksums verified by the wire parsers.
    static func parsed(_ frame: [UInt8]) throws -> (ip: IPv4Header, tcp: TCPHeader, payload: [UInt8]) {
        try frame.withUnsafeBytes { bytes in
            let packet = UnsafeRawBufferPointer(rebasing: bytes[14...])
            let ip = try IPv4Header.parse(packet)
            let segment = UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength])
            let tcp = try TCPHeader.parse(segment, source: ip.source, destination: ip.destination)
            return (ip, tcp, [UInt8](segment[tcp.headerLength...]))
        }
    }

    static func payload(_ frame: [UInt8]) -> [UInt8] { Array(frame[headers...]) }

    /// `frame` cut to `payload` bytes of data and moved `back` bytes back in sequence, checksums refreshed.
    static func trimmed(_ frame: [UInt8], payload: Int, back: UInt32 = 0) -> [UInt8] {
        var frame = Array(frame[..<(headers + payload)])
        let total = UInt16(20 + 32 + payload)
        frame[16] = UInt8(total >> 8)
        frame[17] = UInt8(truncatingIfNeeded: total)
        let seq = (UInt32(frame[38]) << 24 | UInt32(frame[39]) << 16 | UInt32(frame[40]) << 8 | UInt32(frame[41])) &- back
        frame[38] = UInt8(seq >> 24)
        frame[39] = UInt8(truncatingIfNeeded: seq >> 16)
        frame[40] = UInt8(truncatingIfNeeded: seq >> 8)
        frame[41] = UInt8(truncatingIfNeeded: seq)
        return refreshed(frame)
    }

    @Test func consecutiveSegmentsOfOneConnectionBecomeOneValidSegment() throws {
        let frames = try [40, 41, 42, 43, 44].map(Self.frame)
        let (delivered, coalescer) = Self.coalesce(frames)
        try #require(delivered.items.count == 1)
        #expect(delivered.items[0].delivery == .glued)
        let glued = try Self.parsed(delivered.items[0].bytes)
        #expect(glued.ip.totalLength == 20 + 32 + 5 * 948)
        #expect(glued.tcp.sequenceNumber == (try Self.parsed(frames[0])).tcp.sequenceNumber)
        #expect(glued.tcp.flags == [.ack])
        #expect(glued.tcp.options.timestamps == TCPTimestamps(value: 3_785_604_566, echo: 2_513_052_665))
        #expect(glued.payload == frames.flatMap(Self.payload))
        #expect(coalescer.framesMerged == 4 && coalescer.segmentsMerged == 1)
    }

    @Test func pushEndsARunAfterJoiningIt() throws {
        // 8 … 16 without the ACKs between them: 16 carries PSH.
        let frames = try [8, 10, 12, 14, 16, 18].map(Self.frame)
        let (delivered, _) = Self.coalesce(frames, flush: false)
        try #require(delivered.items.count == 1, "18 waits for more")
        let glued = try Self.parsed(delivered.items[0].bytes)
        #expect(glued.tcp.flags == [.ack, .psh])
        #expect(glued.payload == frames.dropLast().flatMap(Self.payload))
    }

    @Test func whatIsHeldReachesTheStackOnlyWhenTheBatchEnds() throws {
        let coalescer = ReceiveCoalescer(ipOffset: 14, mtu: 1500)
        let delivered = Delivered()
        for frame in try [40, 41].map(Self.frame) { frame.withUnsafeBytes { coalescer.offer($0, deliver: delivered.take) } }
        #expect(delivered.items.isEmpty)
        coalescer.flush(deliver: delivered.take)
        #expect(delivered.items.count == 1)
        coalescer.flush(deliver: delivered.take)
        #expect(delivered.items.count == 1, "nothing is held twice")
    }

    @Test func aLoneSegmentPassesUnchanged() throws {
        let frame = try Self.frame(40)
        let (delivered, _) = Self.coalesce([frame])
        #expect(delivered.items.map(\.bytes) == [frame])
        #expect(delivered.items.map(\.delivery) == [.verified])
    }

    @Test func aGapInSequenceStartsANewRun() throws {
        let frames = try [40, 42].map(Self.frame)
        let (delivered, coalescer) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(coalescer.framesMerged == 0)
    }

    @Test func otherFramesPassInOrderAndEndTheRun() throws {
        // 8 (data), 9 (the other direction's pure ACK), 10 (data): nothing may overtake.
        let frames = try [8, 9, 10].map(Self.frame)
        let (delivered, _) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(delivered.items.map(\.delivery) == [.verified, .asReceived, .verified], "the ACK is left for the stack to verify")
    }

    @Test func anotherConnectionIsNotGlued() throws {
        var other = try Self.frame(41)
        other[34 + 1] ^= 1  // source port 8080 → 8081
        let frames = try [Self.frame(40), Self.refreshed(other)]
        let (delivered, _) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
    }

    @Test func changedTimestampsAreNotGlued() throws {
        // 26 is the segment before 28 but carries PSH; without it (as Linux might have sent it),
        // it still ends with TSval 3785604565 where 28 says 3785604566.
        var before = try Self.frame(26)
        before[34 + 13] = TCPFlags.ack.rawValue
        let frames = try [Self.refreshed(before), Self.frame(28)]
        let (delivered, coalescer) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(coalescer.framesMerged == 0)
    }

    @Test(arguments: [TCPFlags.fin, .syn, .rst, .urg, .ece, .cwr])
    func aSegmentWithOtherFlagsPassesAlone(flag: TCPFlags) throws {
        var flagged = try Self.frame(41)
        flagged[34 + 13] |= flag.rawValue
        let frames = try [Self.frame(40), Self.refreshed(flagged), Self.frame(42)]
        let (delivered, coalescer) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(coalescer.framesMerged == 0)
    }

    @Test func aBadChecksumIsNeitherGluedNorVouchedFor() throws {
        var damaged = try Self.frame(41)
        damaged[Self.headers + 100] ^= 0x20
        let frames = try [Self.frame(40), damaged, Self.frame(42)]
        let (delivered, coalescer) = Self.coalesce(frames)
        #expect(delivered.items.map(\.bytes) == frames, "the damaged frame goes on as it came, for the stack to count")
        #expect(delivered.items.map(\.delivery) == [.verified, .asReceived, .verified])
        #expect(coalescer.framesMerged == 0)
    }

    @Test func aFrameLongerThanTheMTUIsNeverGlued() throws {
        // 40 and 41 carry 1,000-byte IP packets: fine on a 1,000-byte MTU, giants on a 999-byte one.
        let frames = try [40, 41].map(Self.frame)
        #expect(Self.coalesce(frames, mtu: 1000).0.items.map(\.delivery) == [.glued])
        let (delivered, _) = Self.coalesce(frames, mtu: 999)
        #expect(delivered.items.map(\.bytes) == frames)
        #expect(delivered.items.map(\.delivery) == [.asReceived, .asReceived], "for the stack to drop and count as giants")
    }

    @Test func aShorterSegmentEndsTheRunAndALongerOneStartsAnother() throws {
        // 45 is the transfer's last segment (92 bytes of data after 44's 948).
        let frames = try [43, 44, 45, 8].map(Self.frame)
        let (delivered, _) = Self.coalesce(frames, flush: false)
        try #require(delivered.items.count == 1)
        #expect(try Self.parsed(delivered.items[0].bytes).payload == frames.dropLast().flatMap(Self.payload))
        // 948 bytes cannot follow a 100-byte first segment, even right after it in sequence.
        let short = Self.trimmed(try Self.frame(40), payload: 100)
        let next = Self.trimmed(try Self.frame(41), payload: 948, back: 848)
        let (pair, coalescer) = Self.coalesce([short, next])
        #expect(pair.items.map(\.bytes) == [short, next])
        #expect(coalescer.framesMerged == 0)
    }

    @Test func aRunStopsShortOf64KiB() throws {
        // 80 copies of 40, numbered one after another: 948-byte payloads, 52 bytes of headers.
        let first = try Self.frame(40)
        let frames = (0..<80).map { Self.trimmed(first, payload: 948, back: UInt32(bitPattern: Int32(-948 * $0))) }
        let (delivered, _) = Self.coalesce(frames)
        let lengths = try delivered.items.map { try Self.parsed($0.bytes).ip.totalLength }
        #expect(lengths == [52 + 69 * 948, 52 + 11 * 948], "69 × 948 + 52 = 65,464 ≤ 65,535 < 70 × 948 + 52")
        #expect(try delivered.items.flatMap { try Self.parsed($0.bytes).payload } == frames.flatMap(Self.payload))
    }

    @Test func anOddLengthPartKeepsTheGluedChecksumRight() throws {
        // 947-byte segments: the second starts at an odd offset (RFC 1071 §2(B)).
        let frames = try [40, 41, 42].enumerated().map { Self.trimmed(try Self.frame($1), payload: 947, back: UInt32($0)) }
        let (delivered, _) = Self.coalesce(frames)
        try #require(delivered.items.count == 1)
        #expect(try Self.parsed(delivered.items[0].bytes).payload == frames.flatMap(Self.payload))
    }
}
