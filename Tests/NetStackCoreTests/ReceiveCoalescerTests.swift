import NetStackTestSupport
@testable import NetStackCore
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

    /// What the driver found in the adapter's receive ring, in order: the bytes and what the coalescer made of them.
    final class Delivered {
        var items: [(bytes: [UInt8], delivery: ReceiveCoalescer.Delivery)] = []
    }

    /// The coalescer's counts after a test's frames.
    struct Counts {
        var framesMerged: Int
        var runsClosed: Int
    }

    /// An adapter that coalesces (promiscuous, no FCS; IP-only when `ipOffset` is 0, as a TUN).
    static func adapter(mtu: Int = 1500, ipOffset: Int = 14) -> LANAdapter {
        var config = AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1), mtu: mtu, fcs: false)
        config.promiscuous = true
        config.receiveCoalescing = true
        if ipOffset == 0 { config.medium = .ipOnly }
        return LANAdapter(config)
    }

    /// Reads what the driver may read: everything, after closing the run (`close`), or all but an open run.
    static func drain(_ adapter: inout LANAdapter, close: Bool, into delivered: Delivered) {
        if close { adapter.closeReceiveRun() }
        var ready = adapter.receiveRing.count - (adapter.receiveRunOpen ? 1 : 0)
        while ready > 0, let frame = adapter.peekReceived() {
            let delivery = ReceiveCoalescer.Delivery(rawValue: adapter.receiveRing.peekMark()) ?? .asReceived
            delivered.items.append(([UInt8](frame), delivery))
            adapter.dropReceived()
            ready -= 1
        }
    }

    /// Stores `frames` in order in a coalescing adapter, then reads the ring as the driver does
    /// after a batch (closing the run first), or without `flush` only what precedes an open run.
    static func coalesce(_ frames: [[UInt8]], flush: Bool = true, mtu: Int = 1500, ipOffset: Int = 14) -> (Delivered, Counts) {
        var adapter = adapter(mtu: mtu, ipOffset: ipOffset)
        for frame in frames { frame.withUnsafeBytes { _ = adapter.receive($0) } }
        let delivered = Delivered()
        drain(&adapter, close: flush, into: delivered)
        return (delivered, Counts(framesMerged: adapter.framesCoalesced, runsClosed: adapter.runsCoalesced))
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
        #expect(coalescer.framesMerged == 4 && coalescer.runsClosed == 1)
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

    @Test func anOpenRunReachesTheDriverOnlyWhenClosed() throws {
        var adapter = Self.adapter()
        for frame in try [40, 41].map(Self.frame) { frame.withUnsafeBytes { _ = adapter.receive($0) } }
        #expect(adapter.receiveRing.count == 1 && adapter.receiveRunOpen, "41 glued onto 40 in place")
        let delivered = Delivered()
        Self.drain(&adapter, close: true, into: delivered)
        #expect(delivered.items.map(\.delivery) == [.glued])
        adapter.closeReceiveRun()
        #expect(adapter.receiveRing.isEmpty && adapter.runsCoalesced == 1, "nothing is closed twice")
        // After the driver read the run, the next segment in sequence starts a run of its own.
        try Self.frame(42).withUnsafeBytes { _ = adapter.receive($0) }
        Self.drain(&adapter, close: true, into: delivered)
        #expect(delivered.items.map(\.delivery) == [.glued, .verified])
        #expect(adapter.framesCoalesced == 1)
    }

    @Test func aFullRingRefusesANewSlotButStillGlues() throws {
        // 64 large slots: 63 lone ACKs and segment 40 fill them; 41 is glued onto 40 all the
        // same, and only a frame that needs a slot of its own is refused and counted.
        var adapter = Self.adapter()
        let ack = try Self.frame(9)
        for _ in 0..<63 { #expect(ack.withUnsafeBytes { adapter.receive($0) } == .accepted) }
        #expect(try Self.frame(40).withUnsafeBytes { adapter.receive($0) } == .accepted)
        #expect(try Self.frame(41).withUnsafeBytes { adapter.receive($0) } == .accepted)
        #expect(adapter.receiveRing.count == 64 && adapter.framesCoalesced == 1 && adapter.counters.rxMissed == 0)
        #expect(ack.withUnsafeBytes { adapter.receive($0) } == .ringOverflow)
        #expect(adapter.counters.rxMissed == 1)
        let delivered = Delivered()
        Self.drain(&adapter, close: true, into: delivered)
        #expect(delivered.items.map(\.delivery) == Array(repeating: .asReceived, count: 63) + [.glued])
        #expect(try Self.parsed(delivered.items[63].bytes).payload == (try [40, 41].map(Self.frame)).flatMap(Self.payload))
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
        var adapter = Self.adapter(mtu: 999)
        #expect(frames.map { frame in frame.withUnsafeBytes { adapter.receive($0) } } == [.oversized, .oversized])
        #expect(adapter.counters.rxErrors == 2 && adapter.receiveRing.isEmpty && adapter.framesCoalesced == 0,
                "giants are dropped and counted before anything is glued")
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
