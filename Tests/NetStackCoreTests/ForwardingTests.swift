// A router is a host with two adapters and forwarding on (RFC 1812 §5.2):
// TTL decrement with an incremental checksum, time exceeded, no route,
// fragmentation needed, fragmentation — checked against what Linux's router
// did in the captures (R: 192.0.2.254 | 198.51.100.254, MTU 1000 toward B).

import NetStackCore
import NetStackWire
import Testing

/// R with A and B's MAC addresses known, so forwarded packets and errors leave at once.
private func router(_ configure: (inout HostConfig) -> Void = { _ in }) -> Host {
    let host = makeRouter(configure: configure)
    host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
    host.addStaticARP(Lab.ipB, mac: Lab.macB, interface: eth1)
    return host
}

@Suite("Forwarding")
struct ForwardingTests {
    @Test("B's UDP echo reply leaves R with TTL 63 and the header checksum Linux's router wrote (udp-echo #2)")
    func ttlDecrementMatchesLinux() throws {
        let host = router()
        let linux = try captured("udp-echo", 2)  // as R sent it onto A's link
        // The same datagram as B sent it to R: TTL 64, checksum made right for it.
        var arriving = readdressed(linux, to: Lab.macR1, from: Lab.macB)
        arriving[IPOffset.timeToLive] = 64
        fixIPChecksum(&arriving)
        #expect(arriving[IPOffset.checksum] != linux[IPOffset.checksum])
        host.feed(arriving, on: eth1)
        // Linux sent the 52-byte frame unpadded on its veth; NetStack pads to 60 bytes.
        #expect(host.sent(on: eth0) == [padded(linux)])
        #expect(host.sent(on: eth1).isEmpty)
        #expect(host.statistics.forwarded == 1)
        #expect(host.statistics.inAddressErrors == 0)
        #expect(host.routes.peek(Lab.ipA)?.use == 1)
    }

    @Test("the incrementally updated checksum verifies for every TTL and many header values")
    func incrementalChecksumVerifies() throws {
        let host = router()
        var checked = 0
        for ttl in UInt8(2)...255 {
            let id = UInt16(truncatingIfNeeded: Int(ttl) &* 4099)
            host.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(Lab.ipA, 4000), Endpoint(Lab.ipB, 7),
                                     [ttl], ttl: ttl, id: id), on: eth0)
            let out = try #require(host.sent(on: eth1).first)
            #expect(out[IPOffset.timeToLive] == ttl - 1)
            #expect(naiveChecksum(out[14..<34]) == 0, "TTL \(ttl), id \(id)")
            checked += 1
        }
        #expect(checked == 254)
    }

    @Test("TTL 1: ICMP time exceeded (code 0) from the ingress address, quoting the datagram, as Linux sent it")
    func ttlExceededMatchesLinux() throws {
        let host = router { $0.initialIdentification = 0xc9c8 }  // Linux's identification, to compare every other byte
        host.feed(try captured("icmp-routed-ttl-exceeded", 1), on: eth0)
        #expect(host.sent(on: eth1).isEmpty)
        #expect(host.statistics.forwarded == 0)
        let sent = host.sent(on: eth0)
        try #require(sent.count == 1)
        // Byte for byte, TOS 0xc0 (precedence 6, RFC 1812 §4.3.2.5) included.
        #expect(sent[0] == (try captured("icmp-routed-ttl-exceeded", 2)))
        let frame = try Frame(sent[0])
        #expect(try frame.ip().source == Lab.ipR0)
        #expect(try frame.icmp().header.message == .timeExceeded(code: 0))
        #expect(try frame.icmp().data == Array(try captured("icmp-routed-ttl-exceeded", 1)[14...]))
    }

    @Test("TTL 1 is fine for a datagram addressed to the router itself: it is delivered, not expired")
    func ttlOneForTheRouter() throws {
        let host = router()
        var frame = try captured("arp-icmp-echo", 3)  // A's echo request to 192.0.2.254
        frame[IPOffset.timeToLive] = 1
        fixIPChecksum(&frame)
        host.feed(frame, on: eth0)
        #expect(try host.sent(on: eth0).map { try Frame($0).icmp().header.message } == [.echoReply(identifier: 0x0adc, sequence: 1)])
    }

    @Test("TTL 0 on arrival is not forwarded either")
    func ttlZero() throws {
        let host = router()
        var frame = try captured("icmp-routed-ttl-exceeded", 1)
        frame[IPOffset.timeToLive] = 0
        fixIPChecksum(&frame)
        host.feed(frame, on: eth0)
        #expect(host.sent(on: eth1).isEmpty)
        #expect(try host.sent(on: eth0).map { try Frame($0).icmp().header.message } == [.timeExceeded(code: 0)])
    }

    @Test("no route: ICMP destination unreachable (net) to the source, quoting the datagram untouched")
    func noRouteNetUnreachable() throws {
        let host = router()
        let far = Endpoint(IPv4Address(203, 0, 113, 5), 53)
        let frame = Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(Lab.ipA, 4000), far, [1, 2, 3])
        host.feed(frame, on: eth0)
        #expect(host.statistics.outNoRoutes == 1)
        #expect(host.statistics.forwarded == 0)
        let error = try Frame(try #require(host.sent(on: eth0).first))
        #expect(error.ethernet.destination == Lab.macA)
        #expect(try error.ip().source == Lab.ipR0)
        #expect(try error.ip().destination == Lab.ipA)
        #expect(try error.icmp().header.message == .destinationUnreachable(code: 0, nextHopMTU: 0))
        #expect(try error.icmp().data == Array(frame[14...]))
    }

    @Test("DF set and the next link smaller: fragmentation needed carrying the next-hop MTU, as Linux sent it (icmp-frag-needed)")
    func fragmentationNeededMatchesLinux() throws {
        let host = router { $0.initialIdentification = 0xce23 }
        host.feed(try captured("icmp-frag-needed", 1), on: eth0)
        #expect(host.sent(on: eth1).isEmpty)
        let sent = host.sent(on: eth0)
        try #require(sent.count == 1)
        #expect(sent[0].count == 590, "576 bytes of IP: the original quoted up to 548 bytes")
        #expect(sent[0] == (try captured("icmp-frag-needed", 2)))
        let frame = try Frame(sent[0])
        #expect(try frame.icmp().header.message == .destinationUnreachable(code: 4, nextHopMTU: 1000))
        #expect(try frame.ip().source == Lab.ipR0)
    }

    @Test("without DF, a datagram too big for the next link leaves in fragments with Linux's offsets, lengths and bytes (ip-fragments #1–#4)")
    func fragmentsMatchLinux() throws {
        let host = router()
        for fragment in try fragmentsFromA() { host.feed(fragment, on: eth0) }
        let sent = host.sent(on: eth1)
        let linux = try capturedFragments().frames
        let shape = try sent.map { frame -> [Int] in
            let ip = try Frame(frame).ip()
            return [ip.fragmentOffset, ip.payloadLength, ip.moreFragments ? 1 : 0]
        }
        #expect(shape == [[0, 976, 1], [976, 504, 1], [1480, 976, 1], [2456, 52, 0]])
        #expect(sent == linux)
        #expect(host.statistics.forwarded == 2)
        #expect(host.statistics.fragmentsOK == 2)
        #expect(host.statistics.fragmentsCreated == 4)
    }

    @Test("a datagram exactly the next link's MTU is forwarded whole; one byte more is fragmented")
    func mtuBoundary() throws {
        let host = router()
        let source = Endpoint(Lab.ipA, 4000), destination = Endpoint(Lab.ipB, 7)
        host.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, source, destination, [UInt8](repeating: 1, count: 972)), on: eth0)
        #expect(try host.sent(on: eth1).map { try Frame($0).ip().totalLength } == [1000])
        host.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, source, destination, [UInt8](repeating: 1, count: 973)), on: eth0)
        let pieces = try host.sent(on: eth1).map { try Frame($0).ip() }
        #expect(pieces.map(\.totalLength) == [996, 25])
        #expect(pieces.map(\.fragmentOffset) == [0, 976])
    }

    @Test("fragments R makes are put back together by B, which answers through R")
    func fragmentsReassembleAtB() throws {
        let host = router()
        // B's link has R's MTU of 1000 on both ends. (In the capture B kept 1500, and its
        // 1500-byte reply fragment was too big for R's adapter, as it is for NetStack's.)
        var port = Port.b
        port.mtu = 1000
        let b = makeHost("B", [port])
        b.setDefaultGateway(Lab.ipR1, interface: eth0)
        let wires = Wires()
        wires.connect(host, eth1, b, eth0)
        for fragment in try fragmentsFromA() { host.receive(fragment, on: eth0, now: .zero) }
        wires.run(until: .s(1))
        #expect(b.statistics.reassemblyOK == 1)
        #expect(b.statistics.reassemblyRequired == 4)
        // B's 2,528-byte echo reply: three fragments for B's 1000-byte link, forwarded whole onto A's.
        let replies = try host.sent(on: eth0).map(Frame.init)
        #expect(try replies.map { try $0.ip().fragmentOffset } == [0, 976, 1952])
        #expect(try replies.map { try $0.ip().timeToLive } == [63, 63, 63])
        let message = try replies.flatMap { try $0.ipPayload() }
        let request = try capturedFragments().message
        try #require(message.count == 2508)
        #expect(message[0] == 0, "echo reply")
        #expect(Array(message[4...]) == Array(request[4...]), "same identifier, sequence and data")
        #expect(naiveChecksum(message[...]) == 0)
    }

    @Test("forwarding off: the same datagram is dropped as not for this host")
    func forwardingOff() throws {
        let host = router { $0.forwarding = false }
        host.feed(try captured("udp-echo", 1), on: eth0)
        #expect(host.sent(on: eth1).isEmpty)
        #expect(host.sent(on: eth0).isEmpty)
        #expect(host.statistics.inAddressErrors == 1)
        host.setForwarding(true)
        host.feed(try captured("udp-echo", 1), on: eth0)
        #expect(host.sent(on: eth1).count == 1)
    }

    @Test("a router in promiscuous mode does not forward frames that were addressed to another MAC")
    func promiscuousRouterDoesNotForwardOthersFrames() throws {
        // On a hub or a mirrored port a promiscuous router sees A's frames to other
        // hosts. Linux marks them PACKET_OTHERHOST and ip_rcv drops them: forwarding
        // them would duplicate traffic (and answer it with ICMP errors).
        let host = router()
        host.setPromiscuous(true, interface: eth0)
        let toSomeoneElse = readdressed(try captured("udp-echo", 1), to: Lab.macOther, from: Lab.macA)
        #expect(host.feed(toSomeoneElse, on: eth0) == .accepted)
        var ttlOne = readdressed(try captured("icmp-routed-ttl-exceeded", 1), to: Lab.macOther, from: Lab.macA)
        fixIPChecksum(&ttlOne)
        host.feed(ttlOne, on: eth0)
        #expect(host.sent(on: eth1).isEmpty)
        #expect(host.sent(on: eth0).isEmpty)
        #expect(host.statistics.forwarded == 0)
    }
}

@Suite("Forwarding with offload")
struct ForwardingOffloadTests {
    @Test("a datagram whose checksum the device left partial (NEEDS_CSUM) leaves the router with it finished")
    func partialChecksumFinishedWhenForwarded() throws {
        let host = router()
        var frame = Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(Lab.ipA, 4000), Endpoint(Lab.ipB, 7),
                                   Array(0..<200))
        // As a virtio-net NEEDS_CSUM frame holds it: only the pseudo-header's sum in the field.
        let udpLength = frame.count - 34
        let pseudo = Array(frame[26..<34]) + [0, 17, UInt8(udpLength >> 8), UInt8(udpLength & 0xFF)]
        let partial = ~naiveChecksum(pseudo[...])
        frame[40] = UInt8(partial >> 8); frame[41] = UInt8(partial & 0xFF)
        #expect(naiveChecksum((pseudo + frame[34...])[...]) != 0)
        frame.withUnsafeBytes { _ = host.receive($0, on: eth0, now: .zero, checksumTrusted: true) }
        host.poll(now: .zero)
        let out = try #require(host.sent(on: eth1).first)
        #expect(naiveChecksum((pseudo + out[34..<(34 + udpLength)])[...]) == 0)
        #expect(host.statistics.forwarded == 1)
    }
}

extension ForwardingOffloadTests {
    @Test("a TCP super-segment its device glued is forwarded cut to the next link's MTU, not answered with fragmentation needed")
    func superSegmentCutWhenForwarded() throws {
        // R as `router()` builds it, its eth0 a TAP with offload.
        var config = HostConfig(name: "R")
        config.forwarding = true
        let host = Host(config)
        var tap = AdapterConfig(name: "eth0", mac: Lab.macR0, mtu: 1500, fcs: false)
        tap.segmentationOffload = true
        host.assign(Lab.ipR0, prefixLength: 24, to: host.addInterface(tap), now: .zero)
        host.assign(Lab.ipR1, prefixLength: 24,
                    to: host.addInterface(AdapterConfig(name: "eth1", mac: Lab.macR1, mtu: 1000, fcs: false)), now: .zero)
        host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        host.addStaticARP(Lab.ipB, mac: Lab.macB, interface: eth1)
        _ = host.sent(on: eth0)
        _ = host.sent(on: eth1)
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let tcp = TCPHeader(sourcePort: 40000, destinationPort: 80, sequenceNumber: 5000, acknowledgmentNumber: 1,
                            flags: [.ack, .psh], window: 502)
        var segment = [UInt8](repeating: 0, count: tcp.headerLength) + data
        segment.withUnsafeMutableBytes {
            tcp.emit(into: $0, payloadLength: data.count, source: Lab.ipA, destination: Lab.ipB, partialChecksum: true)
        }
        let frame = Build.ipFrame(to: Lab.macR0, from: Lab.macA,
                                  Build.ipHeader(Lab.ipA, Lab.ipB, .tcp, id: 0x1000, dontFragment: true), segment)
        try #require(frame.count - 14 > 1500)
        frame.withUnsafeBytes { _ = host.receive($0, on: eth0, now: .zero, checksumTrusted: true) }
        host.poll(now: .zero)
        #expect(host.sent(on: eth0).count == 0, "no ICMP back to the sender")
        let out = host.sent(on: eth1)
        try #require(out.count == 4)  // 3000 bytes in cuts of 1000 − 40
        var joined: [UInt8] = []
        for (index, cut) in out.enumerated() {
            let ip = Array(cut[14...])
            let total = Int(ip[2]) << 8 | Int(ip[3])
            #expect(total <= 1000)
            #expect(naiveChecksum(ip[0..<20]) == 0)
            #expect(Int(ip[4]) << 8 | Int(ip[5]) == 0x1000 + index)
            #expect(ip[8] == 63)
            let tcpLength = total - 20
            let pseudo = Array(ip[12..<20]) + [0, 6, UInt8(tcpLength >> 8), UInt8(tcpLength & 0xFF)]
            #expect(naiveChecksum((pseudo + ip[20..<total])[...]) == 0, "cut \(index)")
            let seq = UInt32(ip[24]) << 24 | UInt32(ip[25]) << 16 | UInt32(ip[26]) << 8 | UInt32(ip[27])
            #expect(seq == 5000 + UInt32(joined.count))
            #expect(ip[33] & TCPFlags.psh.rawValue != 0 ? index == out.count - 1 : index < out.count - 1)
            joined += ip[40..<total]
        }
        #expect(joined == data)
    }
}
