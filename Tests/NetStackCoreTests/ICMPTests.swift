// ICMP (RFC 792, RFC 1122 §3.2.2): echo, the ping API, errors and their
// limits (rate, never about errors, broadcasts or non-initial fragments), and
// errors reaching the sockets whose datagrams they quote.

import NetStackCore
import NetStackWire
import Testing

/// R, having learned A's MAC address from A's ARP request (arp-icmp-echo #1) at time zero.
private func echoResponder(_ configure: (inout HostConfig) -> Void = { _ in }) throws -> Host {
    let host = makeHost("R", [.r0], configure: configure)
    host.feed(try captured("arp-icmp-echo", 1))
    host.drain()
    return host
}

@Suite("ICMP echo and ping")
struct ICMPEchoTests {
    @Test("Linux's echo request gets Linux's echo reply, byte for byte (arp-icmp-echo #3 → #4)")
    func echoReplyMatchesLinux() throws {
        // Linux picked identification 0xc924 for its reply; give NetStack the same to compare every byte.
        let host = try echoResponder { $0.initialIdentification = 0xc924 }
        host.feed(try captured("arp-icmp-echo", 3), at: .s(0.000021))
        #expect(host.sent() == [try captured("arp-icmp-echo", 4)])
        // The second request: Linux's identification jumped (0xc940), NetStack's counts on (0xc925);
        // the identification and the header checksum that covers it are the only difference.
        host.feed(try captured("arp-icmp-echo", 5), at: .s(1.02898))
        let second = try #require(host.sent().first)
        let masked = Array(IPOffset.identification) + Array(IPOffset.checksum)
        #expect(masking(second, masked) == masking(try captured("arp-icmp-echo", 6), masked))
        #expect(Array(second[IPOffset.identification]) == [0xc9, 0x25])
        #expect(naiveChecksum(second[14..<34]) == 0)
    }

    @Test("the reply carries the request's identifier, sequence number and data, from the address asked")
    func echoReplyFields() throws {
        let host = try echoResponder()
        let data: [UInt8] = Array("ping over NetStack".utf8)
        host.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA, Build.ipHeader(Lab.ipA, Lab.ipR0, .icmp, ttl: 17),
                                Build.icmp(.echoRequest(identifier: 0xbeef, sequence: 0x0102), data)))
        let reply = try Frame(try #require(host.sent().first))
        #expect(try reply.icmp().header.message == .echoReply(identifier: 0xbeef, sequence: 0x0102))
        #expect(try reply.icmp().data == data)
        #expect(try reply.ip().source == Lab.ipR0)
        #expect(try reply.ip().destination == Lab.ipA)
        #expect(try reply.ip().timeToLive == 64)
        #expect(reply.ethernet.destination == Lab.macA)
    }

    @Test("an echo request with a bad ICMP checksum is counted and not answered")
    func badChecksum() throws {
        let host = try echoResponder()
        var frame = try captured("arp-icmp-echo", 3)
        frame[40] ^= 0xff
        host.feed(frame)
        #expect(host.statistics.icmpInErrors == 1)
        #expect(host.sent().isEmpty)
    }

    @Test("an echo request to a broadcast address is ignored by default, answered from the interface address when allowed")
    func broadcastEcho() throws {
        let request = Build.ipFrame(to: .broadcast, from: Lab.macA, Build.ipHeader(Lab.ipA, IPv4Address(192, 0, 2, 255), .icmp),
                                    Build.icmp(.echoRequest(identifier: 1, sequence: 1), [1, 2]))
        let quiet = try echoResponder()
        quiet.feed(request)
        #expect(quiet.sent().isEmpty)
        let answering = try echoResponder { $0.echoIgnoreBroadcasts = false }
        answering.feed(request)
        let reply = try Frame(try #require(answering.sent().first))
        #expect(try reply.ip().source == Lab.ipR0)
        #expect(try reply.icmp().header.message == .echoReply(identifier: 1, sequence: 1))
    }

    @Test("ping reports the reply with an RTT equal to the virtual time between send and reply")
    func pingRTT() throws {
        let a = makeHost("A", [.a]), r = makeHost("R", [.r0])
        a.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
        r.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        let ping = try a.openPing(identifier: 0x0adc)
        try a.ping(ping, to: Lab.ipR0, sequence: 1, now: .milliseconds(10))
        try a.ping(ping, to: Lab.ipR0, sequence: 2, now: .milliseconds(12))
        let requests = a.sent()
        try #require(requests.count == 2)
        #expect(try requests.map { try Frame($0).icmp().data.count } == [56, 56])
        r.feed(requests[0], at: .milliseconds(13))
        r.feed(requests[1], at: .milliseconds(14))
        let replies = r.sent()
        try #require(replies.count == 2)
        a.feed(replies[1], at: .milliseconds(20))
        a.feed(replies[0], at: .milliseconds(25))
        #expect(a.takePingResults(ping) == [
            .reply(from: Lab.ipR0, sequence: 2, ttl: 64, bytes: 56, rtt: .milliseconds(8)),
            .reply(from: Lab.ipR0, sequence: 1, ttl: 64, bytes: 56, rtt: .milliseconds(15)),
        ])
        #expect(a.takePingResults(ping).isEmpty, "results are taken once")
    }

    @Test("a ping identifier can be open once")
    func pingIdentifierInUse() throws {
        let host = makeHost("A", [.a])
        let ping = try host.openPing(identifier: 5)
        #expect(throws: NetError.addressInUse) { try host.openPing(identifier: 5) }
        host.closePing(ping)
        _ = try host.openPing(identifier: 5)
    }

    @Test("a reply for an identifier no ping socket holds is ignored")
    func replyForNobody() throws {
        let host = makeHost("A", [.a])
        let ping = try host.openPing(identifier: 5)
        host.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(Lab.ipR0, Lab.ipA, .icmp),
                                Build.icmp(.echoReply(identifier: 6, sequence: 1))))
        #expect(host.takePingResults(ping).isEmpty)
    }
}

@Suite("ICMP errors: rate limit and when never to send")
struct ICMPErrorPolicyTests {
    @Test("the rate limiter lets a burst through, then one per interval as tokens come back, never more than the burst")
    func rateLimiter() {
        var limiter = ICMPRateLimiter(burst: 3, interval: .seconds(1))
        var allowed: [Bool] = []
        for time in [0, 0, 0, 0, 0.999, 1, 1.5, 2] { allowed.append(limiter.allow(now: .s(time))) }
        #expect(allowed == [true, true, true, false, false, true, false, true])
        // A long quiet spell refills to the burst, not beyond.
        allowed = []
        for _ in 0..<5 { allowed.append(limiter.allow(now: .s(100))) }
        #expect(allowed == [true, true, true, false, false])
    }

    @Test("the default limiter is Linux's: a burst of 50, then one per millisecond")
    func defaultLimiter() {
        var limiter = ICMPRateLimiter()
        var allowed = 0
        for _ in 0..<51 where limiter.allow(now: .zero) { allowed += 1 }
        #expect(allowed == 50)
        let early = limiter.allow(now: Instant(nanoseconds: 999_999))
        let onTime = limiter.allow(now: .milliseconds(1))
        #expect(!early)
        #expect(onTime)
    }

    @Test("errors beyond the burst are suppressed and counted; a token later lets one through")
    func hostRateLimited() throws {
        let host = try echoResponder { $0.icmpErrors = ICMPRateLimiter(burst: 2, interval: .seconds(1)) }
        let probe = Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(Lab.ipA, 4000), Endpoint(Lab.ipR0, 9), [1])
        for _ in 0..<4 { host.feed(probe, at: .zero) }
        #expect(host.sent().count == 2)
        #expect(host.statistics.icmpRateLimited == 2)
        #expect(host.statistics.udpNoPorts == 4)
        host.feed(probe, at: .s(0.5))
        #expect(host.sent().isEmpty)
        host.feed(probe, at: .s(1))
        #expect(host.sent().count == 1)
        // Echo replies are not errors: never limited.
        for _ in 0..<5 { host.feed(try captured("arp-icmp-echo", 3), at: .s(1)) }
        #expect(host.sent().count == 5)
    }

    @Test("no error about an ICMP error: a time-exceeded message with TTL 1 is dropped silently")
    func neverAboutErrors() throws {
        let router = makeRouter()
        router.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        let error = Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), Array(try captured("udp-echo", 1)[14...]))
        router.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA, Build.ipHeader(Lab.ipA, Lab.ipB, .icmp, ttl: 1), error))
        // …nor about one with no route.
        router.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA,
                                  Build.ipHeader(Lab.ipA, IPv4Address(203, 0, 113, 1), .icmp, ttl: 9), error))
        #expect(router.sent(on: eth0).isEmpty)
        #expect(router.sent(on: eth1).isEmpty)
        // The same datagram as an echo request does earn one.
        router.feed(try captured("icmp-routed-ttl-exceeded", 1))
        #expect(router.sent(on: eth0).count == 1)
    }

    @Test("no error about a broadcast: UDP to a closed port at a broadcast address, or sent as a link broadcast")
    func neverAboutBroadcasts() throws {
        let host = try echoResponder()
        let source = Endpoint(Lab.ipA, 4000)
        host.feed(Build.udpFrame(to: .broadcast, from: Lab.macA, source, Endpoint(IPv4Address(192, 0, 2, 255), 9), [1]))
        host.feed(Build.udpFrame(to: .broadcast, from: Lab.macA, source, Endpoint(.broadcast, 9), [1]))
        host.feed(Build.udpFrame(to: .broadcast, from: Lab.macA, source, Endpoint(Lab.ipR0, 9), [1]))
        #expect(host.statistics.udpNoPorts == 3)
        #expect(host.sent().isEmpty)
        host.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, source, Endpoint(Lab.ipR0, 9), [1]))
        #expect(host.sent().count == 1, "the unicast one is answered")
    }

    @Test("no error about a non-initial fragment; the first fragment does get one")
    func neverAboutLaterFragments() throws {
        let router = makeRouter()
        router.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        let data = [UInt8](repeating: 7, count: 64)
        router.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA,
                                  Build.ipHeader(Lab.ipA, Lab.ipB, .udp, ttl: 1, moreFragments: true, offset: 64), data))
        #expect(router.sent(on: eth0).isEmpty)
        router.feed(Build.ipFrame(to: Lab.macR0, from: Lab.macA,
                                  Build.ipHeader(Lab.ipA, Lab.ipB, .udp, ttl: 1, moreFragments: true, offset: 0), data))
        #expect(try router.sent(on: eth0).map { try Frame($0).icmp().header.message } == [.timeExceeded(code: 0)])
    }

    @Test("no error to a source that is not one host: broadcast, multicast, loopback or 0.0.0.0")
    func neverToNonUnicastSources() throws {
        let host = try echoResponder()
        for source in [IPv4Address(192, 0, 2, 255), .broadcast, IPv4Address(224, 0, 0, 1), IPv4Address(127, 0, 0, 1), .any] {
            host.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(source, 4000), Endpoint(Lab.ipR0, 9), [1]))
        }
        // Martian sources are dropped at IP input, before UDP could look for a port.
        #expect(host.statistics.inMartianSources == 5)
        #expect(host.statistics.udpNoPorts == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("ICMP errors are sent with precedence 6 (TOS 0xc0), as RFC 1812 §4.3.2.5 asks and Linux does; echo replies with 0")
    func errorPrecedence() throws {
        let router = makeRouter()
        router.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        router.feed(try captured("icmp-routed-ttl-exceeded", 1))
        router.feed(Build.udpFrame(to: Lab.macR0, from: Lab.macA, Endpoint(Lab.ipA, 4000), Endpoint(Lab.ipR0, 9), [1]))
        router.feed(try captured("arp-icmp-echo", 3))
        let sent = router.sent(on: eth0)
        try #require(sent.count == 3)
        #expect(sent.map { $0[IPOffset.typeOfService] } == [0xc0, 0xc0, 0x00])
    }
}

@Suite("ICMP errors reaching sockets")
struct ICMPSocketErrorTests {
    @Test("B's port unreachable for Linux's datagram matches Linux's, through a NetStack router (icmp-port-unreachable #3 → #4)")
    func portUnreachableMatchesLinux() throws {
        let router = makeRouter()
        let b = makeHost("B", [Port("eth0", Lab.macB, Lab.ipB, mtu: 1000)]) { $0.initialIdentification = 0x8a0e }
        b.setDefaultGateway(Lab.ipR1, interface: eth0)
        let wires = Wires()
        wires.connect(router, eth1, b, eth0)
        router.receive(try captured("icmp-port-unreachable", 3), on: eth0, now: .s(0.421438))
        wires.settle(at: .s(0.421438))
        #expect(b.statistics.udpNoPorts == 1)
        // R does not know A yet: it asks, and A's reply (#2 of the capture) releases the error.
        let asked = try router.sent(on: eth0).map { try Frame($0).arp() }
        #expect(asked.map(\.targetIP) == [Lab.ipA])
        router.feed(try captured("icmp-port-unreachable", 2), at: .s(0.4216))
        let sent = router.sent(on: eth0)
        try #require(sent.count == 1)
        // Every byte as Linux's (B's identification pinned to Linux's 0x8a0e): R's MACs, TTL 63 after
        // R's hop, TOS 0xc0, the 31-byte datagram quoted as B received it (TTL 63), both checksums.
        #expect(sent[0] == (try captured("icmp-port-unreachable", 4)))
        let error = try Frame(sent[0])
        #expect(try error.icmp().header.message == .destinationUnreachable(code: 3, nextHopMTU: 0))
        #expect(try error.icmp().data.count == 31, "the whole 31-byte datagram is quoted")
    }

    @Test("a port unreachable quoting a connected socket's datagram makes its next udpSend throw ECONNREFUSED, once")
    func connectionRefusedOnce() throws {
        let a = makeHost("A", [.a]), r = makeHost("R", [.r0])
        let wires = Wires()
        wires.connect(a, eth0, r, eth0)
        let socket = a.udpOpen()
        try a.udpBind(socket, port: 5000)
        a.udpConnect(socket, to: Endpoint(Lab.ipR0, 9))
        try a.udpSend(socket, [1], to: Endpoint(Lab.ipR0, 9), now: .zero)
        wires.settle(at: .zero)
        #expect(r.statistics.udpNoPorts == 1)
        #expect(throws: NetError.connectionRefused) { try a.udpSend(socket, [2], to: Endpoint(Lab.ipR0, 9), now: .s(1)) }
        wires.settle(at: .s(1))
        #expect(r.statistics.udpNoPorts == 1, "the call that throws sends nothing")
        try a.udpSend(socket, [3], to: Endpoint(Lab.ipR0, 9), now: .s(2))
        wires.settle(at: .s(2))
        #expect(r.statistics.udpNoPorts == 2)
    }

    @Test("udpTakeError hands over the reported error once")
    func takeErrorOnce() throws {
        let a = makeHost("A", [.a]), r = makeHost("R", [.r0])
        let wires = Wires()
        wires.connect(a, eth0, r, eth0)
        let socket = a.udpOpen()
        a.udpConnect(socket, to: Endpoint(Lab.ipR0, 9))
        try a.udpSend(socket, [1], to: Endpoint(Lab.ipR0, 9), now: .zero)
        wires.settle(at: .zero)
        #expect(a.udpTakeError(socket) == .connectionRefused)
        #expect(a.udpTakeError(socket) == nil)
        try a.udpSend(socket, [2], to: Endpoint(Lab.ipR0, 9), now: .s(1))
    }

    @Test("an error quoting another port leaves our socket alone")
    func errorForOtherPort() throws {
        let a = makeHost("A", [.a])
        let socket = a.udpOpen()
        try a.udpBind(socket, port: 5000)
        let quoted = Build.datagram(Build.ipHeader(Lab.ipA, Lab.ipR0, .udp),
                                    Build.udp(from: Endpoint(Lab.ipA, 5001), to: Endpoint(Lab.ipR0, 9), [1]))
        a.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(Lab.ipR0, Lab.ipA, .icmp),
                             Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), quoted)))
        #expect(a.udpTakeError(socket) == nil)
    }

    @Test("an unconnected socket hears of no ICMP error, even a real one (as Linux without IP_RECVERR); it is counted")
    func unconnectedSocketGetsNoError() throws {
        let a = makeHost("A", [.a]), r = makeHost("R", [.r0])
        let wires = Wires()
        wires.connect(a, eth0, r, eth0)
        let socket = a.udpOpen()
        try a.udpBind(socket, port: 5000)
        try a.udpSend(socket, [1], to: Endpoint(Lab.ipR0, 9), now: .zero)
        wires.settle(at: .zero)
        #expect(r.statistics.udpNoPorts == 1, "R refused it")
        #expect(a.udpTakeError(socket) == nil)
        try a.udpSend(socket, [2], to: Endpoint(Lab.ipR0, 9), now: .s(1))
        #expect(a.statistics.udpICMPErrorsIgnored == 1)
        #expect(a.statisticsReport().contains("    1 ICMP errors ignored (no connected socket for the quoted peer)\n"))
    }

    @Test("a connected socket takes an error only when the quote names its local port and its peer's address and port",
          arguments: [
              (Endpoint(Lab.ipA, 5000), Endpoint(Lab.ipR0, 9), true),
              (Endpoint(Lab.ipA, 5000), Endpoint(Lab.ipR0, 10), false),
              (Endpoint(Lab.ipA, 5000), Endpoint(Lab.ipB, 9), false),
              (Endpoint(Lab.ipA, 5001), Endpoint(Lab.ipR0, 9), false),
          ])
    func connectedSocketMatchesQuote(source: Endpoint, destination: Endpoint, delivered: Bool) throws {
        let a = makeHost("A", [.a])
        let socket = a.udpOpen()
        try a.udpBind(socket, port: 5000)
        a.udpConnect(socket, to: Endpoint(Lab.ipR0, 9))
        let quoted = Build.datagram(Build.ipHeader(source.ipv4!, destination.ipv4!, .udp),
                                    Build.udp(from: source, to: destination, [1]))
        a.feed(Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(Lab.ipR0, Lab.ipA, .icmp),
                             Build.icmp(.destinationUnreachable(code: 3, nextHopMTU: 0), quoted)))
        #expect(a.udpTakeError(socket) == (delivered ? .connectionRefused : nil))
        #expect(a.statistics.udpICMPErrorsIgnored == (delivered ? 0 : 1))
    }

    @Test("connect() on a datagram descriptor lets the peer's port unreachable through: recv throws ECONNREFUSED")
    func bsdConnectedDatagramSocket() throws {
        let a = makeHost("A", [.a]), r = makeHost("R", [.r0])
        let wires = Wires()
        wires.connect(a, eth0, r, eth0)
        let fd = a.socket(.datagram)
        try a.bind(fd, to: Endpoint(.any, 5000))
        try a.connect(fd, to: Endpoint(Lab.ipR0, 9), now: .zero)
        _ = try [UInt8(1)].withUnsafeBytes { try a.send(fd, $0, now: .zero) }
        wires.settle(at: .zero)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(throws: NetError.connectionRefused) {
            _ = try buffer.withUnsafeMutableBytes { try a.recv(fd, into: $0, now: .zero) }
        }
    }

    @Test("time exceeded and fragmentation needed quoting our echo requests reach the ping socket")
    func errorsReachPing() throws {
        let a = makeHost("A", [.a])
        a.setDefaultGateway(Lab.ipR0, interface: eth0)
        let router = makeRouter()
        let wires = Wires()
        wires.connect(a, eth0, router, eth0)
        let ping = try a.openPing(identifier: 0x0ae5)
        try a.ping(ping, to: Lab.ipB, sequence: 1, ttl: 1, now: .zero)
        try a.ping(ping, to: Lab.ipB, sequence: 2, payloadLength: 1400, dontFragment: true, now: .zero)
        wires.settle(at: .zero)
        #expect(a.takePingResults(ping) == [
            .error(from: Lab.ipR0, sequence: 1, message: .timeExceeded(code: 0)),
            .error(from: Lab.ipR0, sequence: 2, message: .destinationUnreachable(code: 4, nextHopMTU: 1000)),
        ])
    }
}
