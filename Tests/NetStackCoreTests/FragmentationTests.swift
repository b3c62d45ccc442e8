// Fragmentation of datagrams this host originates (RFC 791 §3.2, §2.3):
// data in multiples of 8 bytes, every fragment with a valid header, only
// options with the copy flag repeated after the first, DF honoured.

import NetStackCore
import NetStackWire
import Testing

/// A with its adapter's MTU set to `mtu` and R's MAC address known.
private func sender(mtu: Int) -> Host {
    var port = Port.a
    port.mtu = mtu
    let host = makeHost("A", [port])
    host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
    return host
}

/// Offset, data length and MF flag of each fragment.
private func shape(_ frames: [[UInt8]]) throws -> [[Int]] {
    try frames.map { frame in
        let ip = try Frame(frame).ip()
        return [ip.fragmentOffset, ip.payloadLength, ip.moreFragments ? 1 : 0]
    }
}

@Suite("Fragmentation of outgoing datagrams")
struct FragmentationTests {
    @Test("a 2,528-byte echo request over MTU 1000 leaves as 976 + 976 + 556 bytes at offsets 0, 976, 1952")
    func echoOverMTU1000() throws {
        let host = sender(mtu: 1000)
        let ping = try host.openPing(identifier: 0x0b0c)
        try host.ping(ping, to: Lab.ipR0, sequence: 1, payloadLength: 2500, now: .zero)
        let frames = host.sent()
        #expect(try shape(frames) == [[0, 976, 1], [976, 976, 1], [1952, 556, 0]])
        let headers = try frames.map { try Frame($0).ip() }
        #expect(Set(headers.map(\.identification)).count == 1, "one identification for all fragments")
        #expect(headers.allSatisfy { !$0.dontFragment && $0.timeToLive == 64 && $0.protocol == .icmp })
        #expect(frames.allSatisfy { naiveChecksum($0[14..<34]) == 0 })
        // Put back together, the pieces are the whole ICMP message, its checksum over all of it.
        let message = try frames.flatMap { try Frame($0).ipPayload() }
        #expect(message.count == 2508)
        #expect(naiveChecksum(message[...]) == 0)
        #expect(Array(message[0..<8]) == [8, 0, message[2], message[3], 0x0b, 0x0c, 0x00, 0x01])
        #expect(Array(message[8...]) == (0..<2500).map { UInt8(truncatingIfNeeded: $0) })
        #expect(host.statistics.fragmentsOK == 1)
        #expect(host.statistics.fragmentsCreated == 3)
        #expect(host.statistics.outRequests == 1)
    }

    @Test("over MTU 1500 the same echo splits at 1480, where Linux's A split it (ip-fragments)")
    func echoOverMTU1500() throws {
        let host = sender(mtu: 1500)
        let ping = try host.openPing(identifier: 1)
        try host.ping(ping, to: Lab.ipR0, sequence: 1, payloadLength: 2500, now: .zero)
        #expect(try shape(host.sent()) == [[0, 1480, 1], [1480, 1028, 0]])
        // The capture's fragments, after R split them again, start at 0 and 1480: A's cut.
        #expect(try capturedFragments().frames.map { Int($0[20] & 0x1F) << 8 | Int($0[21]) }.map { $0 * 8 }
            == [0, 976, 1480, 2456])
    }

    @Test("a datagram exactly the MTU is not fragmented; one byte more makes two fragments")
    func mtuBoundary() throws {
        let host = sender(mtu: 1000)
        let ping = try host.openPing(identifier: 1)
        try host.ping(ping, to: Lab.ipR0, sequence: 1, payloadLength: 1000 - 28, now: .zero)
        #expect(try shape(host.sent()) == [[0, 980, 0]])
        try host.ping(ping, to: Lab.ipR0, sequence: 2, payloadLength: 1000 - 27, now: .zero)
        #expect(try shape(host.sent()) == [[0, 976, 1], [976, 5, 0]])
    }

    @Test("with DF set, a datagram larger than the MTU is refused with EMSGSIZE and nothing leaves")
    func dontFragmentRefused() throws {
        let host = sender(mtu: 1000)
        let ping = try host.openPing(identifier: 1)
        #expect(throws: NetError.messageTooLong) {
            try host.ping(ping, to: Lab.ipR0, sequence: 1, payloadLength: 1000, dontFragment: true, now: .zero)
        }
        #expect(host.sent().isEmpty)
        try host.ping(ping, to: Lab.ipR0, sequence: 2, payloadLength: 972, dontFragment: true, now: .zero)
        let header = try Frame(try #require(host.sent().first)).ip()
        #expect(header.dontFragment)
        #expect(header.totalLength == 1000)
    }

    @Test("a large UDP datagram is fragmented; only the first fragment carries the UDP header")
    func udpFragments() throws {
        let host = sender(mtu: 1500)
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 4000)
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try host.udpSend(socket, payload, to: Endpoint(Lab.ipR0, 7), now: .zero)
        let frames = host.sent()
        #expect(try shape(frames) == [[0, 1480, 1], [1480, 1480, 1], [2960, 48, 0]])
        let datagram = try frames.flatMap { try Frame($0).ipPayload() }
        #expect(Array(datagram[0..<6]) == [0x0f, 0xa0, 0x00, 0x07, 0x0b, 0xc0], "ports 4000 → 7, length 3008")
        #expect(Array(datagram[8...]) == payload)
        #expect(try Frame(frames[1]).ipPayload()[0..<4] != datagram[0..<4])
    }

    @Test("fragments of our echo are put back together by a NetStack peer, and its reply by us")
    func peerReassembles() throws {
        var a = Port.a, r = Port.r0
        a.mtu = 1000
        r.mtu = 1000
        let hostA = makeHost("A", [a]), hostR = makeHost("R", [r])
        let wires = Wires()
        wires.connect(hostA, eth0, hostR, eth0)
        let ping = try hostA.openPing(identifier: 3)
        try hostA.ping(ping, to: Lab.ipR0, sequence: 9, payloadLength: 2500, now: .zero)
        wires.settle(at: .zero)
        #expect(hostR.statistics.reassemblyOK == 1)
        #expect(hostA.statistics.reassemblyOK == 1)
        #expect(hostA.takePingResults(ping) == [.reply(from: Lab.ipR0, sequence: 9, ttl: 64, bytes: 2500, rtt: .zero)])
    }

    @Test("only options with the copy flag repeat in later fragments (RFC 791); each piece is sized for its own header")
    func optionsCopiedOnlyWhenFlagged() throws {
        let router = makeRouter()
        router.addStaticARP(Lab.ipB, mac: Lab.macB, interface: eth1)
        var header = Build.ipHeader(Lab.ipA, Lab.ipB, .udp, ttl: 64)
        // Router Alert (type 148: copy flag set), Record Route (type 7: not copied), End of Options.
        header.options = [0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0, 0]
        let data = Build.udp(from: Endpoint(Lab.ipA, 4000), to: Endpoint(Lab.ipB, 7), [UInt8](repeating: 0x5a, count: 1392))
        router.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA, header, data), on: eth0)
        let frames = router.sent(on: eth1)
        let headers = try frames.map { try Frame($0).ip() }
        #expect(headers.map(\.options) == [header.options, [0x94, 4, 0, 0]])
        // 1,400 bytes of data: 968 fit after the 32-byte first header, the rest after a 24-byte one.
        #expect(try shape(frames) == [[0, 968, 1], [968, 432, 0]])
        #expect(headers.map(\.totalLength) == [1000, 456])
    }
}
