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
        let host = hostB { $0.reassembly.maxBytesPerSource = 1500 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        host.feed(frames[0])  // 976 bytes held for A
        host.feed(frames[1])  // 1480
        for frame in udpFragments(from: hostC, id: 5) { host.feed(frame) }
        #expect(host.udpReceive(socket) != nil, "C's 1,008 bytes are within C's own bound")
        host.feed(frames[2])  // 2456 > 1500: A's datagram goes
        #expect(host.statistics.reassemblyFails == 1)
        host.feed(frames[3])
        #expect(host.statistics.reassemblyOK == 1, "only C's")
        #expect(host.sent().isEmpty)
    }

    @Test("bytes held in all are bounded across sources: another source's fragment that would pass the bound is refused")
    func totalBound() throws {
        let host = hostB { $0.reassembly.maxBytesTotal = 2600 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        for frame in frames[0..<3] { host.feed(frame) }  // 2,456 bytes held for A
        var drops: [(ReassemblyDrop, IPv4Address?)] = []
        host.observer = { event in
            if case let .ipDropped(.reassembly(reason), header) = event { drops.append((reason, header?.source)) }
        }
        host.feed(udpFragments(from: hostC, id: 5)[0])  // 504 more would make 2,960
        #expect(drops.map(\.0) == [.memoryLimit])
        #expect(drops.map(\.1) == [hostC])
        #expect(host.statistics.reassemblyFails == 1)
        host.feed(frames[3])  // A's datagram was kept: it completes
        #expect(host.statistics.reassemblyOK == 1)
        #expect(host.sent().first == (try captured("ip-fragments", 5)))
    }

    @Test("a dropped datagram gives back its bytes")
    func droppedDatagramFreesBytes() throws {
        let host = hostB { $0.reassembly.maxBytesTotal = 2600 }
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9)
        let frames = try capturedFragments().frames
        for frame in frames[0..<3] { host.feed(frame) }  // 2,456 bytes held
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
