// Reassembly (RFC 791 §3.2, RFC 1122 §3.3.2) at B, fed the four fragments
// Linux's router sent it in ip-fragments.pcap: in order, out of order,
// duplicated, overlapping, timed out, and within memory bounds.

import NetStackCore
import NetStackWire
import Testing

private let hostC = IPv4Address(192, 0, 2, 7)

/// B as in the captures, with Linux's identification for its reply and R's MAC address known.
private func hostB(_ configure: (inout HostConfig) -> Void = { _ in }) -> Host {
    let host = makeHost("B", [.b]) {
        $0.initialIdentification = 0x8b69
        configure(&$0)
    }
    host.setDefaultGateway(Lab.ipR1, interface: eth0)
    host.addStaticARP(Lab.ipR1, mac: Lab.macR1, interface: eth0)
    return host
}

/// A 1,000-byte UDP datagram from `source` to B:9 in two fragments (504 + 504 bytes of data).
private func udpFragments(from source: IPv4Address, id: UInt16) -> [[UInt8]] {
    let datagram = Build.udp(from: Endpoint(source, 4000), to: Endpoint(Lab.ipB, 9), [UInt8](repeating: 0x33, count: 1000))
    return [
        Build.ipFrame(to: Lab.macB, from: Lab.macR1, Build.ipHeader(source, Lab.ipB, .udp, id: id, moreFragments: true),
                      Array(datagram[0..<504])),
        Build.ipFrame(to: Lab.macB, from: Lab.macR1, Build.ipHeader(source, Lab.ipB, .udp, id: id, offset: 504),
                      Array(datagram[504...])),
    ]
}

@Suite("Reassembly")
struct ReassemblyTests {
    @Test("the four captured fragments make the 2,528-byte echo request; B's reply starts like Linux's (ip-fragments #5)")
    func reassemblesCapture() throws {
        let host = hostB()
        var reassembled: [IPv4Header] = []
        host.observer = { event in
            if case let .reassembled(header) = event { reassembled.append(header) }
        }
        for frame in try capturedFragments().frames { host.feed(frame) }
        #expect(reassembled.map(\.totalLength) == [2528])
        #expect(reassembled.map(\.identification) == [0xd262])
        #expect(reassembled.allSatisfy { !$0.isFragment })
        #expect(host.statistics.reassemblyRequired == 4)
        #expect(host.statistics.reassemblyOK == 1)
        #expect(host.statistics.inDelivers == 1)
        let sent = host.sent()
        try #require(sent.count == 2)
        #expect(sent[0] == (try captured("ip-fragments", 5)))
        let second = try Frame(sent[1]).ip()
        #expect([second.fragmentOffset, second.payloadLength] == [1480, 1028])
        #expect(!second.moreFragments)
    }

    @Test("fragments arriving out of order make the same datagram",
          arguments: [[3, 1, 2, 0], [1, 3, 0, 2], [2, 0, 3, 1], [3, 2, 1, 0]])
    func outOfOrder(order: [Int]) throws {
        let host = hostB()
        let frames = try capturedFragments().frames
        for index in order { host.feed(frames[index]) }
        #expect(host.statistics.reassemblyOK == 1)
        #expect(host.sent().first == (try captured("ip-fragments", 5)))
    }

    @Test("a duplicate fragment drops the whole datagram and is counted; the rest never completes")
    func duplicateDrops() throws {
        let host = hostB()
        var drops: [ReassemblyDrop] = []
        host.observer = { event in
            if case let .ipDropped(.reassembly(reason), _) = event { drops.append(reason) }
        }
        let frames = try capturedFragments().frames
        for frame in [frames[0], frames[0], frames[1], frames[2], frames[3]] { host.feed(frame) }
        #expect(drops == [.overlap])
        #expect(host.statistics.reassemblyFails == 1)
        #expect(host.statistics.reassemblyOK == 0)
        #expect(host.sent().isEmpty)
        // What remains lacks its first fragment: it times out without an ICMP error.
        #expect(host.run(until: .s(31)).isEmpty)
        #expect(host.statistics.reassemblyTimeouts == 1)
        #expect(host.statistics.reassemblyFails == 2)
    }

    @Test("a fragment overlapping data already received drops the datagram")
    func overlapDrops() throws {
        let host = hostB()
        let (frames, message) = try capturedFragments()
        host.feed(frames[0])
        let overlapping = Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                                        Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 63, id: 0xd262, moreFragments: true, offset: 968),
                                        Array(message[968..<984]))
        host.feed(overlapping)
        #expect(host.statistics.reassemblyFails == 1)
        for frame in frames[1...] { host.feed(frame) }
        #expect(host.statistics.reassemblyOK == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("two last fragments that disagree on the length drop the datagram")
    func inconsistentLastFragment() throws {
        let host = hostB()
        let (frames, message) = try capturedFragments()
        host.feed(frames[3])  // ends at 2508
        let shorter = Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                                    Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 63, id: 0xd262, offset: 976),
                                    Array(message[976..<1480]))
        host.feed(shorter)  // claims to end at 1480
        #expect(host.statistics.reassemblyFails == 1)
        #expect(host.statistics.reassemblyOK == 0)
    }

    @Test("30 s after the first fragment arrived, an incomplete datagram is dropped with ICMP time exceeded (code 1) quoting it")
    func timeoutSendsTimeExceeded() throws {
        let host = hostB()
        let frames = try capturedFragments().frames
        host.feed(frames[1], at: .zero)
        host.feed(frames[0], at: .s(10))
        host.feed(frames[2], at: .s(20))
        #expect(host.nextDeadline() == .s(30), "the deadline runs from the first fragment to arrive")
        #expect(host.run(until: .s(29.999)).isEmpty)
        let sent = host.run(until: .s(30))
        try #require(sent.count == 1)
        #expect(sent[0].time == .s(30))
        let error = try Frame(sent[0].frame)
        #expect(error.ethernet.destination == Lab.macR1)
        #expect(try error.ip().source == Lab.ipB)
        #expect(try error.ip().destination == Lab.ipA)
        #expect(try error.icmp().header.message == .timeExceeded(code: 1))
        // The quote: the first fragment's header and data, up to 548 bytes (576-byte error).
        #expect(try error.icmp().data == Array(frames[0][14..<(14 + 548)]))
        #expect(host.statistics.reassemblyTimeouts == 1)
        #expect(host.statistics.reassemblyFails == 1)
        #expect(host.nextDeadline() == nil)
        // A late fragment starts a new datagram, which cannot complete.
        host.feed(frames[3], at: .s(31))
        #expect(host.statistics.reassemblyOK == 0)
    }

    @Test("an incomplete datagram whose first fragment never came times out silently")
    func timeoutWithoutFirstFragment() throws {
        let host = hostB()
        for frame in try capturedFragments().frames[1...] { host.feed(frame) }
        #expect(host.run(until: .s(60)).isEmpty)
        #expect(host.statistics.reassemblyTimeouts == 1)
    }

    @Test("the timeout is configurable")
    func timeoutConfigurable() throws {
        let host = hostB { $0.reassembly.timeout = .seconds(5) }
        host.feed(try capturedFragments().frames[0])
        #expect(host.nextDeadline() == .s(5))
        #expect(try host.run(until: .s(5)).map { try Frame($0.frame).icmp().header.message } == [.timeExceeded(code: 1)])
    }

    @Test("UDP fragments are reassembled and delivered to the socket")
    func udpDelivered() throws {
        let host = hostB()
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        for frame in udpFragments(from: hostC, id: 77).reversed() { host.feed(frame) }
        let datagram = try #require(host.udpReceive(socket))
        #expect(datagram.payload == [UInt8](repeating: 0x33, count: 1000))
        #expect(datagram.source == Endpoint(hostC, 4000))
    }

    @Test("bytes held per source are bounded: the fragment that would pass the bound drops its datagram; other sources go on")
    func perSourceBound() throws {
        // Charges: a piece's bytes (the first with its IP header) + 64, a datagram + 192.
        let host = hostB { $0.reassembly.maxBytesPerSource = 2000 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        host.feed(frames[0])  // 996 + 64 + 192 = 1,252 bytes charged to A
        host.feed(frames[1])  // + 504 + 64 = 1,820
        for frame in udpFragments(from: hostC, id: 5) { host.feed(frame) }
        #expect(host.udpReceive(socket) != nil, "C's 1,348 bytes are within C's own bound")
        host.feed(frames[2])  // + 976 + 64 = 2,860 > 2,000, and A has nothing older to evict: the datagram goes
        #expect(host.statistics.reassemblyFails == 1)
        host.feed(frames[3])
        #expect(host.statistics.reassemblyOK == 1, "only C's")
        #expect(host.sent().isEmpty)
    }

    @Test("over the total bound the oldest incomplete datagram is evicted for the newcomer, which is not refused")
    func totalBoundEvictsOldest() throws {
        let host = hostB { $0.reassembly.maxBytesTotal = 3000 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        for frame in frames[0..<3] { host.feed(frame) }  // 2,860 bytes charged to A
        #expect(host.reassemblyBytesHeld == 2860)
        var drops: [ReassemblyDrop] = []
        host.observer = { event in
            if case let .ipDropped(.reassembly(reason), _) = event { drops.append(reason) }
        }
        for frame in udpFragments(from: hostC, id: 5) { host.feed(frame) }  // 780 more would make 3,640
        #expect(drops.isEmpty, "C's fragment is kept")
        #expect(host.statistics.reassemblyEvictions == 1)
        #expect(host.statistics.reassemblyFails == 1)
        #expect(host.udpReceive(socket)?.payload.count == 1000)
        #expect(host.statisticsReport().contains("    1 incomplete reassemblies evicted\n"))
        host.feed(frames[3])  // A's datagram is gone: its last fragment starts a new one
        #expect(host.statistics.reassemblyOK == 1)
        #expect(host.sent().isEmpty)
    }

    @Test("a dropped datagram gives back its bytes")
    func droppedDatagramFreesBytes() throws {
        let host = hostB { $0.reassembly.maxBytesTotal = 3000 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        for frame in frames[0..<3] { host.feed(frame) }  // 2,860 bytes held
        host.feed(frames[0])  // a duplicate: the datagram goes
        #expect(host.statistics.reassemblyFails == 1)
        for frame in udpFragments(from: hostC, id: 5) { host.feed(frame) }
        #expect(host.udpReceive(socket)?.payload.count == 1000)
    }

    @Test("a completed datagram gives back all its bytes: one source can reassemble again and again")
    func completedDatagramFreesBytes() throws {
        let frames = try capturedFragments().frames
        // Room for one datagram from A at a time.
        let small = hostB { $0.reassembly.maxBytesPerSource = 3000 }
        for round in 1...2 {
            for frame in frames.reversed() { small.feed(frame) }
            #expect(small.statistics.reassemblyOK == round)
        }
        // With the default bounds (256 KiB per source), 300 datagrams in a row.
        let host = hostB()
        for _ in 0..<300 {
            for frame in frames.reversed() { host.feed(frame) }
            host.drain()
        }
        #expect(host.statistics.reassemblyOK == 300)
        #expect(host.statistics.reassemblyFails == 0)
    }
}

@Suite("Reassembly under a flood")
struct ReassemblyFloodTests {
    /// A 3,000-byte echo request from A to B in three fragments (1,480 + 1,480 + 20 bytes of data).
    private func fragmentedPing() -> [[UInt8]] {
        let message = Build.icmp(.echoRequest(identifier: 0x77, sequence: 1), (0..<2972).map { UInt8($0 & 0xFF) })
        return [(0, 1480, true), (1480, 2960, true), (2960, 2980, false)].map { start, end, more in
            Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                          Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 63, id: 0xbeef, moreFragments: more, offset: start),
                          Array(message[start..<end]))
        }
    }

    @Test("after 5,000 junk fragments from 500 sources at big offsets, a 3,000-byte ping in 3 fragments is answered at once")
    func legitimateAfterFlood() throws {
        let host = makeHost("B", [.b])
        host.setDefaultGateway(Lab.ipR1, interface: eth0)
        host.addStaticARP(Lab.ipR1, mac: Lab.macR1, interface: eth0)
        let junk = [UInt8](repeating: 0xAA, count: 1000)
        var now = Instant.zero
        for index in 0..<5000 {
            let sourceIndex = index % 500
            let source = IPv4Address(203, 0, UInt8(113 + sourceIndex / 250), UInt8(2 + sourceIndex % 250))
            let offset = 64_000 - 8 * (index % 97) * 16
            host.feed(Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                                    Build.ipHeader(source, Lab.ipB, .udp, id: UInt16(index), moreFragments: true,
                                                   offset: offset), junk), at: now)
            now = now + .microseconds(200)
        }
        #expect(host.reassemblyBytesHeld <= ReassemblyConfig().maxBytesTotal)
        #expect(host.statistics.reassemblyEvictions > 0)
        host.drain()
        for frame in fragmentedPing() { host.feed(frame, at: now) }
        #expect(host.statistics.reassemblyOK == 1)
        let replies = try host.sent().map { try Frame($0).ip() }
        #expect(replies.count == 3, "the 3,000-byte reply leaves in fragments")
        #expect(replies.allSatisfy { $0.destination == Lab.ipA && $0.protocol == .icmp })
        #expect(replies.first?.fragmentOffset == 0)
    }

    @Test("one small fragment at offset 65,528 is charged what it holds, not 64 KiB")
    func farFragmentChargedAsHeld() throws {
        let host = makeHost("B", [.b])
        host.feed(Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                                Build.ipHeader(Lab.ipA, Lab.ipB, .udp, moreFragments: false, offset: 65_488), [UInt8](repeating: 1, count: 1)))
        #expect(host.reassemblyBytesHeld == 1 + Reassembler.pieceOverhead + Reassembler.datagramOverhead)
    }

    @Test("a datagram whose fragments end past 65,535 bytes is dropped, not held")
    func pastMaximumDropped() throws {
        let host = makeHost("B", [.b])
        host.feed(Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                                Build.ipHeader(Lab.ipA, Lab.ipB, .udp, moreFragments: true, offset: 65_528), [UInt8](repeating: 1, count: 16)))
        #expect(host.reassemblyBytesHeld == 0)
        // Dropped by the header check or by reassembly: either way counted, nothing held.
        #expect(host.statistics.reassemblyFails + host.statistics.inHeaderErrors == 1)
    }

    @Test("the per-source bound evicts that source's own oldest datagram first; other sources keep theirs")
    func perSourceEvictsOwnOldest() throws {
        let host = makeHost("B", [.b]) { $0.reassembly.maxBytesPerSource = 4000 }
        let c = IPv4Address(192, 0, 2, 7)
        func fragment(_ source: IPv4Address, id: UInt16) -> [UInt8] {
            Build.ipFrame(to: Lab.macB, from: Lab.macR1,
                          Build.ipHeader(source, Lab.ipB, .udp, id: id, moreFragments: true, offset: 8), [UInt8](repeating: 1, count: 1000))
        }
        host.feed(fragment(c, id: 1))
        for id in UInt16(1)...4 { host.feed(fragment(Lab.ipA, id: id)) }  // 4 × 1,256 > 4,000: A's first goes
        #expect(host.statistics.reassemblyEvictions == 1)
        #expect(host.reassemblyBytesHeld == 4 * 1256)
    }
}
