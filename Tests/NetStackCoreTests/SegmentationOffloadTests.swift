// Segmentation offload (a TAP/TUN device with virtio-net headers): TCP joins consecutive
// full segments into super-segments of up to 64 KiB, and an adapter with offload takes
// super-segments in. The device's side is played here by `kernelCut`, written from Linux's
// tcp_gso_segment / inet_gso_segment: every cut repeats the IP and TCP headers, with the
// sequence number advanced by gso_size per cut, the IP total length and ID (+1 per cut) set,
// PSH and FIN on the last cut only, and both checksums computed in full.

@testable import NetStackCore
import NetStackWire
import Testing

/// Cuts an IPv4/TCP super-segment (`packet`, a bare IP packet whose TCP checksum is partial)
/// into packets of at most `segmentSize` payload bytes, as Linux's GSO does. Byte by byte,
/// with the harness's naive checksum: an oracle independent of NetStack's own code.
func kernelCut(_ packet: [UInt8], segmentSize: Int) -> [[UInt8]] {
    if packet[0] >> 4 == 6 { return kernelCut6(packet, segmentSize: segmentSize) }
    let ipLength = Int(packet[0] & 0x0F) * 4
    let tcpLength = Int(packet[ipLength + 12] >> 4) * 4
    let headers = ipLength + tcpLength
    let payload = Array(packet[headers...])
    let sequence = UInt32(packet[ipLength + 4]) << 24 | UInt32(packet[ipLength + 5]) << 16
        | UInt32(packet[ipLength + 6]) << 8 | UInt32(packet[ipLength + 7])
    let id = UInt16(packet[4]) << 8 | UInt16(packet[5])
    let flags = packet[ipLength + 13]
    var cuts: [[UInt8]] = []
    var offset = 0
    while offset < payload.count {
        let length = min(segmentSize, payload.count - offset)
        let last = offset + length == payload.count
        var cut = Array(packet[0..<headers]) + payload[offset..<(offset + length)]
        let total = headers + length
        cut[2] = UInt8(total >> 8); cut[3] = UInt8(total & 0xFF)
        let cutID = id &+ UInt16(cuts.count)
        cut[4] = UInt8(cutID >> 8); cut[5] = UInt8(cutID & 0xFF)
        cut[10] = 0; cut[11] = 0
        let ipSum = naiveChecksum(cut[0..<ipLength])
        cut[10] = UInt8(ipSum >> 8); cut[11] = UInt8(ipSum & 0xFF)
        let seq = sequence &+ UInt32(offset)
        for i in 0..<4 { cut[ipLength + 4 + i] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(i))) }
        cut[ipLength + 13] = last ? flags : flags & ~(TCPFlags.psh.rawValue | TCPFlags.fin.rawValue)
        cut[ipLength + 16] = 0; cut[ipLength + 17] = 0
        let tcpBytes = total - ipLength
        let pseudo = Array(cut[12..<20]) + [0, 6, UInt8(tcpBytes >> 8), UInt8(tcpBytes & 0xFF)]
        let tcpSum = naiveChecksum((pseudo + cut[ipLength..<total])[...])
        cut[ipLength + 16] = UInt8(tcpSum >> 8); cut[ipLength + 17] = UInt8(tcpSum & 0xFF)
        cuts.append(cut)
        offset += length
    }
    return cuts
}

/// The TCP fields of one segment that the receiver sees: what must match with offload on or off.
struct SegmentSummary: Equatable, CustomStringConvertible {
    var sequence: UInt32, acknowledgment: UInt32, flags: UInt8, window: UInt16, length: Int, options: [UInt8]

    init(_ packet: [UInt8]) {
        let ipv6 = packet[0] >> 4 == 6
        let ip = ipv6 ? 40 : Int(packet[0] & 0x0F) * 4
        let tcp = Int(packet[ip + 12] >> 4) * 4
        func be32(_ at: Int) -> UInt32 {
            UInt32(packet[at]) << 24 | UInt32(packet[at + 1]) << 16 | UInt32(packet[at + 2]) << 8 | UInt32(packet[at + 3])
        }
        sequence = be32(ip + 4)
        acknowledgment = be32(ip + 8)
        flags = packet[ip + 13]
        window = UInt16(packet[ip + 14]) << 8 | UInt16(packet[ip + 15])
        length = ipv6 ? (Int(packet[4]) << 8 | Int(packet[5])) - tcp : (Int(packet[2]) << 8 | Int(packet[3])) - ip - tcp
        options = Array(packet[(ip + 20)..<(ip + tcp)])
    }

    var description: String { "seq \(sequence) len \(length) flags \(flags)" }

    /// The segment without what depends on when it left rather than on how it was cut: PSH (set
    /// where the send buffer ran dry) and the timestamp option's values (1 ms clocks). Paced slow start grows cwnd
    /// by the flight each ACK finds, which a sender of super-segments and a plain one see a little
    /// differently, so late in a transfer the two send the same bytes at slightly different times.
    var cut: SegmentSummary {
        var copy = self
        copy.flags &= ~0x08
        var index = 0
        while index + 1 < copy.options.count {
            let kind = copy.options[index]
            if kind == 0 { break }
            if kind == 1 { index += 1; continue }
            let length = Int(copy.options[index + 1])
            guard length >= 2, index + length <= copy.options.count else { break }
            if kind == 8 && length == 10 { for byte in (index + 2)..<(index + 10) { copy.options[byte] = 0 } }
            index += length
        }
        return copy
    }
}

/// What a receiver saw from an offloading sender and from a plain one carry the same data
/// segments: the same cuts, field for field (``SegmentSummary/cut``), and until the two runs' send
/// times part, the very same segments, PSH and timestamps included, for at least the first half.
func expectSameCuts(_ withOffload: [[UInt8]], _ without: [[UInt8]],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    let withOffload = withOffload.map(SegmentSummary.init).filter { $0.length > 0 }
    let without = without.map(SegmentSummary.init).filter { $0.length > 0 }
    #expect(withOffload.count == without.count, sourceLocation: sourceLocation)
    #expect(withOffload.map(\.cut) == without.map(\.cut), "first difference at \(zip(withOffload, without).enumerated().first { $0.element.0.cut != $0.element.1.cut }.map { "\($0.offset): \($0.element)" } ?? "none")",
            sourceLocation: sourceLocation)
    let common = zip(withOffload, without).prefix { $0 == $1 }.count
    #expect(common * 2 >= without.count, "identical for the first \(common) of \(without.count)", sourceLocation: sourceLocation)
}

/// A (sender, 192.0.2.1 or 2001:db8::1) and B (receiver, 192.0.2.2 or 2001:db8::2) on a
/// point-to-point IP link, each with or without offload. A's super-segments reach B whole when B has offload (the
/// checksum trusted, as a NEEDS_CSUM header says), else cut by `kernelCut`.
final class OffloadPair {
    let a: Host, b: Host
    let bOffload: Bool
    var now = Instant.zero
    /// Packets A handed its adapter, with their segment size (0: an ordinary packet).
    var sentByA: [(packet: [UInt8], segmentSize: Int)] = []
    /// What B received from A, after any cutting.
    var receivedByB: [[UInt8]] = []

    /// B's address A connects to.
    let bAddress: IPAddress

    /// `pacing` false turns TCP pacing off on both hosts (the 1 ms steps make SRTT long enough for it).
    init(aOffload: Bool, bOffload: Bool, ipv6: Bool = false, pacing: Bool = true) {
        a = Self.host("a", last: 1, offload: aOffload, ipv6: ipv6, pacing: pacing)
        b = Self.host("b", last: 2, offload: bOffload, ipv6: ipv6, pacing: pacing)
        self.bOffload = bOffload
        bAddress = ipv6 ? .v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)) : .v4(IPv4Address(192, 0, 2, 2))
    }

    static func host(_ name: String, last: UInt8, offload: Bool, ipv6: Bool = false, pacing: Bool = true) -> Host {
        var config = HostConfig(name: name)
        config.randomSeed = testSeed &+ UInt64(last)
        config.tcp.pacing = pacing
        let host = Host(config)
        var adapter = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
        adapter.medium = .ipOnly
        adapter.segmentationOffload = offload
        let interface = host.addInterface(adapter)
        if ipv6 {
            // No DAD on a link without link-layer addresses: usable at once.
            host.assign(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, UInt16(last)), prefixLength: 64, to: interface, now: .zero)
        } else {
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: interface, now: .zero)
        }
        return host
    }

    /// How far `step` moves the clock: 1 ms unless a test wants a shorter round trip.
    var stepInterval: Duration = .milliseconds(1)

    /// Moves packets both ways once, then advances the clock by `stepInterval` and polls both hosts.
    func step() {
        while let (packet, size) = a.takeFrameSegments(from: InterfaceID(0), { (Array($0), $1) }) {
            sentByA.append((packet, size))
            if size > 0 && !bOffload {
                for cut in kernelCut(packet, segmentSize: size) {
                    receivedByB.append(cut)
                    b.receive(cut, on: InterfaceID(0), now: now)
                }
            } else {
                receivedByB.append(packet)
                packet.withUnsafeBytes { _ = b.receive($0, on: InterfaceID(0), now: now, checksumTrusted: size > 0) }
            }
        }
        while let packet = b.takeFrame(from: InterfaceID(0), { Array($0) }) { a.receive(packet, on: InterfaceID(0), now: now) }
        now = now + stepInterval
        a.poll(now: now)
        b.poll(now: now)
    }

    /// Connects A to B's port 80 and sends `data`, reading on B as it arrives. Returns what B read.
    /// Each round A writes `chunk` bytes per `send` while the buffer takes them; with `corked`,
    /// a round's writes happen in ``Host/withOutputCorked(_:)``, as a driver's turn does.
    func transfer(_ data: [UInt8], rounds: Int = 3000, chunk: Int = .max, corked: Bool = false,
                  sendBuffer: Int? = nil) throws -> [UInt8] {
        let listener = b.socket(.stream)
        try b.bind(listener, to: bAddress.isIPv4 ? Endpoint(.any, 80) : Endpoint(IPv6Address.unspecified, 80))
        try b.listen(listener, backlog: 4)
        let client = a.socket(.stream)
        if let sendBuffer { try a.setOption(client, .sendBuffer(sendBuffer)) }
        try a.connect(client, to: Endpoint(bAddress, 80), now: now)
        for _ in 0..<20 { step() }
        let (server, _) = try b.accept(listener)
        var sent = 0
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<rounds where received.count < data.count {
            func write() {
                while sent < data.count {
                    let want = min(chunk, data.count - sent)
                    let n = data[sent..<(sent + want)].withUnsafeBytes { (try? a.send(client, $0, now: now)) ?? 0 }  // 0: the buffer is full
                    sent += n
                    if n < want || chunk == .max { break }
                }
            }
            if corked { a.withOutputCorked { write() } } else { write() }
            step()
            while true {
                let count = buffer.withUnsafeMutableBytes { (try? b.recv(server, into: $0, now: now)) ?? 0 }  // 0: nothing yet
                if count <= 0 { break }
                received += buffer[0..<count]
            }
        }
        return received
    }
}

/// `count` bytes of a fixed pseudo-random pattern.
func pattern(_ count: Int) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
}

@Suite("Segmentation offload")
struct SegmentationOffloadTests {
    @Test("with offload TCP sends super-segments whose kernel cuts are the segments it sends without")
    func cutsMatchPlainSegments() throws {
        let data = pattern(2 << 20)
        // The whole transfer fits the send buffer: one write, so no write leaves a partial
        // segment mid-stream for Nagle (Minshall's form) to send early on one side only.
        let plain = OffloadPair(aOffload: false, bOffload: false)
        #expect(try plain.transfer(data, sendBuffer: 4 << 20) == data)
        let offload = OffloadPair(aOffload: true, bOffload: false)
        #expect(try offload.transfer(data, sendBuffer: 4 << 20) == data)

        let supers = offload.sentByA.filter { $0.segmentSize > 0 }
        #expect(supers.count > 10, "super-segments sent: \(supers.count)")
        #expect(supers.allSatisfy { $0.packet.count <= 65_535 && $0.segmentSize == 1448 })
        #expect(supers.contains { $0.packet.count > 60_000 }, "the longest: \(supers.map(\.packet.count).max() ?? 0)")
        #expect(plain.sentByA.allSatisfy { $0.segmentSize == 0 && $0.packet.count <= 1500 })
        // The receiver saw the same cuts, field for field, and checked every checksum.
        expectSameCuts(offload.receivedByB, plain.receivedByB)
        #expect(offload.b.statistics.tcpInErrors == 0)
        #expect(offload.a.statistics.tcpOutSuperSegments == supers.count)
        #expect(offload.a.statistics.tcpOutSegments == plain.a.statistics.tcpOutSegments)
    }

    @Test("a super-segment carries one partial checksum: the pseudo-header sum over its whole length")
    func partialChecksum() throws {
        let pair = OffloadPair(aOffload: true, bOffload: false)
        _ = try pair.transfer(pattern(256 << 10))
        let first = try #require(pair.sentByA.first { $0.segmentSize > 0 }?.packet)
        let tcpLength = first.count - 20
        let pseudo = Array(first[12..<20]) + [0, 6, UInt8(tcpLength >> 8), UInt8(tcpLength & 0xFF)]
        let expected = ~naiveChecksum(pseudo[...])
        #expect(UInt16(first[36]) << 8 | UInt16(first[37]) == expected)
    }

    @Test("a receiver with offload takes super-segments whole and reads the same bytes")
    func receiverTakesSuperSegments() throws {
        let data = pattern(1 << 20)
        let pair = OffloadPair(aOffload: true, bOffload: true)
        #expect(try pair.transfer(data) == data)
        #expect(pair.receivedByB.contains { $0.count > 1500 })
        #expect(pair.b.adapters[0].counters.rxErrors == 0)
        #expect(pair.b.statistics.tcpInErrors == 0)
    }

    @Test("without offload a packet longer than the MTU is a giant: dropped and counted")
    func giantWithoutOffload() throws {
        let sender = OffloadPair(aOffload: true, bOffload: true)
        _ = try sender.transfer(pattern(256 << 10))
        let superSegment = try #require(sender.sentByA.first { $0.segmentSize > 0 }?.packet)
        let plain = OffloadPair.host("c", last: 2, offload: false)
        #expect(plain.receive(superSegment, on: InterfaceID(0), now: .zero) == .oversized)
        #expect(plain.adapters[0].counters.rxErrors == 1)
        let withOffload = OffloadPair.host("d", last: 2, offload: true)
        let verdict = superSegment.withUnsafeBytes { withOffload.receive($0, on: InterfaceID(0), now: .zero, checksumTrusted: true) }
        #expect(verdict == .accepted)
    }

    @Test("with receive coalescing only a packet handed over as glued may pass the MTU; any other is still a giant")
    func largeReceiveTakesOnlyGluedPackets() throws {
        let sender = OffloadPair(aOffload: true, bOffload: true)
        _ = try sender.transfer(pattern(256 << 10))
        let superSegment = try #require(sender.sentByA.first { $0.segmentSize > 0 }?.packet)
        let host = Host(HostConfig(name: "e"))
        var adapter = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
        adapter.medium = .ipOnly
        adapter.largeReceive = true
        let interface = host.addInterface(adapter)
        let giant = superSegment.withUnsafeBytes { host.receive($0, on: interface, now: .zero, checksumTrusted: true) }
        #expect(giant == .oversized)
        #expect(host.adapters[0].counters.rxErrors == 1)
        let glued = superSegment.withUnsafeBytes {
            host.receive($0, on: interface, now: .zero, checksumTrusted: true, coalesced: true)
        }
        #expect(glued == .accepted)
        #expect(!host.adapters[0].segmentationOffload, "TCP still sends segments of one MTU")
    }

    @Test("an untrusted super-segment's partial checksum fails TCP's check")
    func partialChecksumNotTrustedIsBad() throws {
        let sender = OffloadPair(aOffload: true, bOffload: true)
        _ = try sender.transfer(pattern(256 << 10))
        let superSegment = try #require(sender.sentByA.first { $0.segmentSize > 0 }?.packet)
        let host = OffloadPair.host("e", last: 2, offload: true)
        host.receive(superSegment, on: InterfaceID(0), now: .zero)
        host.poll(now: .zero)
        #expect(host.statistics.tcpInErrors == 1)
    }
}

@Suite("Segmentation offload: the adapter's queues")
struct OffloadAdapterQueueTests {
    /// An IP-only adapter with offload and a transmit queue of `slots` MTU-sized slots.
    private func adapter(slots: Int = 8) -> LANAdapter {
        var config = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
        config.medium = .ipOnly
        config.segmentationOffload = true
        config.transmitQueue = slots
        return LANAdapter(config)
    }

    @Test("super-segments and ordinary frames leave in the order they were queued, each with its segment size")
    func orderHolds() {
        var nic = adapter()
        let lengths = [60, 40_000, 1500, 65_535, 100]
        for (index, length) in lengths.enumerated() {
            let mark: UInt32 = length > 1500 ? 1448 : 0
            let (queued, _) = nic.send(length: length, mark: mark) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(index)) }
            #expect(queued)
        }
        var taken: [(length: Int, first: UInt8, segmentSize: Int)] = []
        while let frame = nic.takeTransmittedSegments({ ($0.count, $0[0], $1) }) { taken.append(frame) }
        #expect(taken.map(\.length) == lengths)
        #expect(taken.map(\.first) == [0, 1, 2, 3, 4])
        #expect(taken.map(\.segmentSize) == [0, 1448, 0, 1448, 0])
    }

    @Test("a full transmit queue refuses a super-segment too, and counts it dropped")
    func fullQueueRefuses() {
        var nic = adapter(slots: 2)
        #expect(nic.send(length: 100) { _ in }.queued)
        #expect(nic.send(length: 30_000, mark: 1448) { _ in }.queued)
        #expect(!nic.send(length: 30_000, mark: 1448) { _ in }.queued)
        #expect(nic.counters.txDropped == 1)
        #expect(nic.transmitBacklog == 2)
    }
}

@Suite("Segmentation offload: IP identification")
struct SegmentationOffloadIdentificationTests {
    @Test("a super-segment reserves one IP ID per cut: no two packets the kernel sends carry the same ID")
    func cutsTakeDistinctIDs() throws {
        let pair = OffloadPair(aOffload: true, bOffload: false)
        let data = pattern(512 << 10)
        #expect(try pair.transfer(data) == data)
        #expect(pair.sentByA.contains { $0.segmentSize > 0 })
        // TCP sends without DF: its datagrams are not atomic and their IDs must not repeat (RFC 6864 §4.1).
        let ids = pair.receivedByB.map { UInt16($0[4]) << 8 | UInt16($0[5]) }
        #expect(ids.count < 4_000)  // far from a wrap of the 16-bit counter
        #expect(Set(ids).count == ids.count, "\(ids.count - Set(ids).count) IDs repeated")
    }
}

@Suite("Offload: trusted checksums and fragments")
struct TrustedChecksumFragmentTests {
    @Test("a device's word on a fragment's checksum does not cover the datagram reassembled from it: a bad UDP checksum is caught")
    func trustDoesNotCoverReassembly() throws {
        let host = makeHost("B", [.b])
        let udp = Build.udp(from: Endpoint(Lab.ipA, 4000), to: Endpoint(Lab.ipB, 9), Array(repeating: 7, count: 64),
                            checksum: .corrupt)
        let first = Build.ipHeader(Lab.ipA, Lab.ipB, .udp, id: 0x4242, moreFragments: true, offset: 0)
        let second = Build.ipHeader(Lab.ipA, Lab.ipB, .udp, id: 0x4242, moreFragments: false, offset: 24)
        host.feed(Build.ipFrame(to: Lab.macB, from: Lab.macA, first, Array(udp[0..<24])))
        let last = Build.ipFrame(to: Lab.macB, from: Lab.macA, second, Array(udp[24...]))
        last.withUnsafeBytes { _ = host.receive($0, on: eth0, now: .zero, checksumTrusted: true) }
        host.poll(now: .zero)
        #expect(host.statistics.reassemblyOK == 1)
        #expect(host.statistics.udpInErrors == 1)
    }
}
