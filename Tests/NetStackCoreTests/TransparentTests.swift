// Transparent termination (any-destination mode, transparent and intercepting
// listeners, UDP flows, ICMP echo to any address): a client host reaches
// addresses in 203.0.113.0/24 through an IP-only link (a TUN) whose other end,
// the proxy host, terminates everything that arrives on it.

@testable import NetStackCore
import NetStackWire
import Testing

/// Client 192.0.2.1 and proxy 192.0.2.2 on a point-to-point IP link; the client routes everything to the proxy.
private final class TunnelPair {
    let client: Host, proxy: Host
    var now = Instant.zero
    /// Packets the proxy sent to the client, as they crossed.
    var fromProxy: [[UInt8]] = []
    static let tun = InterfaceID(0)
    static let remote = Endpoint(IPv4Address(203, 0, 113, 7), 443)

    init(anyDestination: Bool = true) {
        client = makeIPOnlyHost("client", last: 1, seed: testSeed)
        proxy = makeIPOnlyHost("proxy", last: 2, seed: testSeed + 1)
        client.setDefaultGateway(IPv4Address(192, 0, 2, 2), interface: Self.tun)
        proxy.setAcceptsAnyDestination(anyDestination, interface: Self.tun)
    }

    /// Moves packets both ways until quiet, 1 ms a round.
    func run(rounds: Int = 50) {
        for _ in 0..<rounds {
            var moved = false
            while let packet = client.takeFrame(from: Self.tun, { Array($0) }) {
                proxy.receive(packet, on: Self.tun, now: now)
                moved = true
            }
            while let packet = proxy.takeFrame(from: Self.tun, { Array($0) }) {
                fromProxy.append(packet)
                client.receive(packet, on: Self.tun, now: now)
                moved = true
            }
            now = now + .milliseconds(1)
            client.poll(now: now)
            proxy.poll(now: now)
            if !moved && client.nextDeadline().map({ $0 > now }) ?? true { break }
        }
    }

    /// A transparent listener on every address and port of the proxy's TUN.
    func wildcardListener(intercept: Bool, backlog: Int = 16) throws -> Int32 {
        let fd = proxy.socket(.stream)
        try proxy.setOption(fd, .transparent(true))
        if intercept { try proxy.setOption(fd, .interceptHandshakes(true)) }
        try proxy.bind(fd, to: Endpoint(.any, 0))
        try proxy.listen(fd, backlog: backlog)
        return fd
    }

    func connect(to remote: Endpoint = TunnelPair.remote) throws -> Int32 {
        let fd = client.socket(.stream)
        try client.connect(fd, to: remote, now: now)
        return fd
    }
}

private func send(_ host: Host, _ fd: Int32, _ text: String, now: Instant) throws {
    _ = try Array(text.utf8).withUnsafeBytes { try host.send(fd, $0, now: now) }
}

private func receive(_ host: Host, _ fd: Int32, now: Instant) -> String {
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = buffer.withUnsafeMutableBytes { (try? host.recv(fd, into: $0, now: now)) ?? 0 }
    return String(decoding: buffer[0..<n], as: UTF8.self)
}

private func tcpHeaders(_ packets: [[UInt8]]) -> [(ip: IPv4Header, tcp: TCPHeader)] {
    packets.compactMap { packet in
        packet.withUnsafeBytes { bytes in
            guard let ip = try? IPv4Header.parse(bytes), ip.protocol == .tcp,
                  let tcp = try? TCPHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[ip.headerLength..<ip.totalLength]),
                                                 source: ip.source, destination: ip.destination) else { return nil }
            return (ip, tcp)
        }
    }
}

@Suite("Transparent termination: any-destination mode and intercepting listeners")
struct TransparentTCPTests {
    @Test("without any-destination mode a SYN for another address is dropped as not for this host")
    func foreignSYNDroppedWithoutTheMode() throws {
        let pair = TunnelPair(anyDestination: false)
        _ = try pair.wildcardListener(intercept: true)
        let fd = try pair.connect()
        pair.run(rounds: 5)
        #expect(pair.fromProxy.isEmpty)
        #expect(pair.proxy.statistics.inAddressErrors >= 1)
        #expect(try pair.client.state(fd) == .synSent)
    }

    @Test("an intercepted SYN is offered with its original destination and answered only when accepted")
    func interceptedFlowIsOfferedThenAccepted() throws {
        let pair = TunnelPair()
        let listener = try pair.wildcardListener(intercept: true)
        let fd = try pair.connect()
        pair.run(rounds: 5)
        #expect(pair.fromProxy.isEmpty, "nothing answers before the application decides")
        #expect(try pair.proxy.poll(listener).contains(.readable))
        let request = try #require(try pair.proxy.nextFlowRequest(listener))
        #expect(request.destination == TunnelPair.remote)
        #expect(request.client.ipv4 == IPv4Address(192, 0, 2, 1))
        #expect(try pair.proxy.nextFlowRequest(listener) == nil, "offered once, SYN retransmissions absorbed")
        let flow = try pair.proxy.acceptFlow(listener, request, now: pair.now)
        pair.run()
        #expect(try pair.client.state(fd) == .established)
        let synAck = try #require(tcpHeaders(pair.fromProxy).first)
        #expect(synAck.ip.source == TunnelPair.remote.ipv4 && synAck.tcp.sourcePort == 443)
        #expect(synAck.tcp.flags == [.syn, .ack])
        #expect(try pair.proxy.endpoints(flow).local == TunnelPair.remote)
        try send(pair.client, fd, "GET / HTTP/1.1\r\n\r\n", now: pair.now)
        pair.run()
        #expect(receive(pair.proxy, flow, now: pair.now) == "GET / HTTP/1.1\r\n\r\n")
        try send(pair.proxy, flow, "HTTP/1.1 204 No Content\r\n\r\n", now: pair.now)
        pair.run()
        #expect(receive(pair.client, fd, now: pair.now) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(pair.proxy.statistics.tcpFlowsOffered == 1)
        #expect(pair.proxy.statistics.inAnyDestination > 0)
    }

    @Test("a refusal by reset reaches the client as connection refused, from the original destination")
    func refusedFlowIsReset() throws {
        let pair = TunnelPair()
        let listener = try pair.wildcardListener(intercept: true)
        let fd = try pair.connect()
        pair.run(rounds: 3)
        let request = try #require(try pair.proxy.nextFlowRequest(listener))
        try pair.proxy.refuseFlow(listener, request, .reset, now: pair.now)
        pair.run()
        let rst = try #require(tcpHeaders(pair.fromProxy).last)
        #expect(rst.ip.source == TunnelPair.remote.ipv4 && rst.tcp.flags == [.rst, .ack])
        #expect(try pair.client.poll(fd).contains(.error))
        #expect(try pair.client.takeError(fd) == .connectionRefused)
        #expect(pair.proxy.statistics.tcpFlowsRefused == 1)
        #expect(throws: NetError.connectionReset) { try pair.proxy.acceptFlow(listener, request, now: pair.now) }
    }

    @Test("a refusal by ICMP host unreachable quotes the SYN, comes from the destination, and fails the connect")
    func refusedFlowIsUnreachable() throws {
        let pair = TunnelPair()
        let listener = try pair.wildcardListener(intercept: true)
        let fd = try pair.connect()
        pair.run(rounds: 3)
        let request = try #require(try pair.proxy.nextFlowRequest(listener))
        try pair.proxy.refuseFlow(listener, request, .hostUnreachable, now: pair.now)
        pair.run()
        let icmp = try #require(pair.fromProxy.last)
        let ip = try icmp.withUnsafeBytes { try IPv4Header.parse($0) }
        #expect(ip.protocol == .icmp && ip.source == TunnelPair.remote.ipv4)
        #expect(icmp[ip.headerLength] == 3 && icmp[ip.headerLength + 1] == 1, "type 3 code 1")
        // The quote: the SYN's IP header (to 203.0.113.7) and its ports.
        let quoted = try Array(icmp[(ip.headerLength + 8)...]).withUnsafeBytes { try IPv4Header.parseQuoted($0) }
        #expect(quoted.destination == TunnelPair.remote.ipv4 && quoted.source == IPv4Address(192, 0, 2, 1))
        #expect(try pair.client.poll(fd).contains(.error))
    }

    @Test("the activity list names each connection something happened to, once, and only while tracking is on")
    func activityListsConnectionsWithNews() throws {
        let pair = TunnelPair()
        pair.proxy.setTracksTCPActivity(true)
        let listener = try pair.wildcardListener(intercept: true)
        let quiet = try pair.connect(to: Endpoint(IPv4Address(203, 0, 113, 8), 80))
        let busy = try pair.connect()
        pair.run(rounds: 3)
        var flows: [Int32] = []
        while let request = try pair.proxy.nextFlowRequest(listener) {
            flows.append(try pair.proxy.acceptFlow(listener, request, now: pair.now))
        }
        pair.run()
        var listed: [Int32] = []
        pair.proxy.takeTCPActivity(into: &listed)
        #expect(Set(listed) == Set(flows) && listed.count == 2, "both handshakes completed: each listed once")
        listed.removeAll()
        pair.proxy.takeTCPActivity(into: &listed)
        #expect(listed.isEmpty, "taken: nothing new")
        _ = quiet
        try send(pair.client, busy, "news", now: pair.now)
        pair.run()
        pair.proxy.takeTCPActivity(into: &listed)
        let busyFlow = try #require(try flows.first { try pair.proxy.endpoints($0).local == TunnelPair.remote })
        #expect(listed == [busyFlow], "only the connection that received data")
        pair.proxy.setTracksTCPActivity(false)
        try send(pair.client, busy, "more", now: pair.now)
        pair.run()
        listed.removeAll()
        pair.proxy.takeTCPActivity(into: &listed)
        #expect(listed.isEmpty, "not tracking")
    }

    @Test("a transparent listener that does not intercept completes handshakes itself; accept gives the original destination")
    func transparentListenerAccepts() throws {
        let pair = TunnelPair()
        let listener = try pair.wildcardListener(intercept: false)
        let fd = try pair.connect(to: Endpoint(IPv4Address(198, 51, 100, 9), 8080))
        pair.run()
        #expect(try pair.client.state(fd) == .established)
        let (child, peer) = try pair.proxy.accept(listener)
        #expect(peer.ipv4 == IPv4Address(192, 0, 2, 1))
        #expect(try pair.proxy.endpoints(child).local == Endpoint(IPv4Address(198, 51, 100, 9), 8080))
    }

    @Test("an ordinary listener on any address takes only the host's own addresses, never other destinations")
    func ordinaryListenerIgnoresForeignDestinations() throws {
        let pair = TunnelPair()
        let ordinary = pair.proxy.socket(.stream)
        try pair.proxy.bind(ordinary, to: Endpoint(.any, 443))
        try pair.proxy.listen(ordinary, backlog: 4)
        let foreign = try pair.connect()
        let own = try pair.connect(to: Endpoint(IPv4Address(192, 0, 2, 2), 443))
        pair.run()
        #expect(try pair.client.state(own) == .established)
        #expect(try pair.client.state(foreign) != .established)
        #expect(tcpHeaders(pair.fromProxy).contains { $0.ip.source == TunnelPair.remote.ipv4 && $0.tcp.flags.contains(.rst) },
                "no listener for the foreign destination: RST, as for a closed port")
    }

    @Test("held attempts are bounded by the backlog, expire undecided, and go when the listener closes")
    func heldAttemptsAreBounded() throws {
        let pair = TunnelPair()
        let listener = try pair.wildcardListener(intercept: true, backlog: 2)
        for port in UInt16(1)...3 { _ = try pair.connect(to: Endpoint(IPv4Address(203, 0, 113, 7), port)) }
        pair.run(rounds: 3)
        #expect(pair.proxy.tcp.pendingFlows.count == 2)
        #expect(pair.proxy.statistics.tcpFlowsDropped == 1)
        // Nobody decides: past flowDecisionTimeout the two held attempts are dropped.
        pair.now = pair.now + pair.proxy.tcp.config.flowDecisionTimeout + .seconds(1)
        pair.proxy.poll(now: pair.now)
        #expect(pair.proxy.tcp.pendingFlows.isEmpty)
        #expect(pair.proxy.statistics.tcpFlowsDropped == 3)
        // The clients' next SYN retries (63 s after the first) are held again; closing the listener resets them.
        pair.now = pair.now + .seconds(3)
        pair.client.poll(now: pair.now)
        pair.run()
        #expect(!pair.proxy.tcp.pendingFlows.isEmpty)
        try pair.proxy.close(listener, now: pair.now)
        #expect(pair.proxy.tcp.pendingFlows.isEmpty && pair.proxy.tcp.pendingFlowKeys.isEmpty)
        #expect(pair.proxy.tcp.transparentListeners.isEmpty)
    }
}

@Suite("Transparent termination: UDP flows and ICMP echo to any address")
struct TransparentUDPTests {
    @Test("a refused flow answers its client with ICMP port unreachable from the destination, and the socket fails")
    func refusedUDPFlow() throws {
        let pair = TunnelPair()
        pair.proxy.setUDPFlowInterception(UDPFlowConfig())
        let socket = pair.client.udpOpen()
        let closed = Endpoint(IPv4Address(203, 0, 113, 9), 9)
        pair.client.udpConnect(socket, to: closed)
        try pair.client.udpSend(socket, Array("hello".utf8), to: closed, now: pair.now)
        pair.run()
        let flow = try #require(pair.proxy.nextUDPFlow())
        pair.proxy.refuseUDPFlow(flow, now: pair.now)
        pair.run()
        let icmp = try #require(pair.fromProxy.last)
        let ip = try icmp.withUnsafeBytes { try IPv4Header.parse($0) }
        #expect(ip.protocol == .icmp && ip.source == closed.ipv4)
        #expect(icmp[ip.headerLength] == 3 && icmp[ip.headerLength + 1] == 3, "type 3 code 3")
        #expect(pair.client.udpTakeError(socket) == .connectionRefused)
    }

    @Test("datagrams become per-5-tuple flows; replies go out from the original destination; idle flows expire")
    func udpFlowsRoundTrip() throws {
        let pair = TunnelPair()
        var config = UDPFlowConfig()
        config.idleTimeout = .seconds(30)
        pair.proxy.setUDPFlowInterception(config)
        let socket = pair.client.udpOpen()
        let dns = Endpoint(IPv4Address(198, 51, 100, 53), 53)
        let other = Endpoint(IPv4Address(203, 0, 113, 9), 123)
        try pair.client.udpSend(socket, Array("query".utf8), to: dns, now: pair.now)
        try pair.client.udpSend(socket, Array("again".utf8), to: dns, now: pair.now)
        try pair.client.udpSend(socket, Array("ntp".utf8), to: other, now: pair.now)
        pair.run()
        let first = try #require(pair.proxy.nextUDPFlow())
        let second = try #require(pair.proxy.nextUDPFlow())
        #expect(pair.proxy.nextUDPFlow() == nil)
        #expect(first.destination == dns && second.destination == other && first.client == second.client)
        #expect(Set(pair.proxy.takeReadyUDPFlows()) == [first, second])
        #expect(pair.proxy.udpFlowReceive(first) == Array("query".utf8))
        #expect(pair.proxy.udpFlowReceive(first) == Array("again".utf8))
        #expect(pair.proxy.udpFlowReceive(first) == nil)
        try Array("answer".utf8).withUnsafeBytes { try pair.proxy.udpFlowSend(first, $0, now: pair.now) }
        #expect(throws: NetError.permissionDenied) {
            try Array("x".utf8).withUnsafeBytes { try pair.proxy.udpFlowSend(first, $0, from: other, now: pair.now) }
        }
        pair.run()
        let reply = try #require(pair.client.udpReceive(socket))
        #expect(reply.source == dns && reply.payload == Array("answer".utf8))
        // Idle for the timeout: both flows close and are reported once.
        pair.now = pair.now + .seconds(31)
        pair.proxy.poll(now: pair.now)
        #expect(Set(pair.proxy.takeExpiredUDPFlows()) == [first, second])
        #expect(pair.proxy.takeExpiredUDPFlows().isEmpty)
        #expect(pair.proxy.udpFlowTable().isEmpty)
        #expect(throws: NetError.notConnected) {
            try Array("late".utf8).withUnsafeBytes { try pair.proxy.udpFlowSend(first, $0, now: pair.now) }
        }
    }

    @Test("past maxFlows a new flow's datagram is dropped and counted; a full flow queue drops too")
    func udpFlowLimits() throws {
        let pair = TunnelPair()
        var config = UDPFlowConfig()
        config.maxFlows = 2
        config.queueDatagrams = 1
        pair.proxy.setUDPFlowInterception(config)
        let socket = pair.client.udpOpen()
        for last in UInt8(1)...3 {
            try pair.client.udpSend(socket, [last], to: Endpoint(IPv4Address(203, 0, 113, last), 9), now: pair.now)
        }
        try pair.client.udpSend(socket, [9], to: Endpoint(IPv4Address(203, 0, 113, 1), 9), now: pair.now)
        pair.run()
        #expect(pair.proxy.udpFlowTable().count == 2)
        #expect(pair.proxy.udpFlowStatistics.refusedByLimit == 1)
        #expect(pair.proxy.udpFlowStatistics.queueDrops == 1)
        #expect(pair.proxy.statisticsReport().contains("    1 datagrams dropped at the flow limit\n"))
        // All flows' queues together are bounded too.
        var total = UDPFlowConfig()
        total.totalQueueBytes = 1000
        pair.proxy.setUDPFlowInterception(total)
        for last in UInt8(1)...3 {
            try pair.client.udpSend(socket, [UInt8](repeating: last, count: 400),
                                    to: Endpoint(IPv4Address(203, 0, 113, last), 9), now: pair.now)
        }
        pair.run()
        #expect(pair.proxy.udpFlowStatistics.queueDrops == 1, "the third 400-byte datagram passes 1000 bytes in all")
    }

    @Test("an echo request to any address on the interface is answered from that address")
    func echoToAnyAddress() throws {
        let pair = TunnelPair()
        let ping = try pair.client.openPing(identifier: 9)
        try pair.client.ping(ping, to: IPv4Address(203, 0, 113, 200), sequence: 1, payloadLength: 56, now: pair.now)
        pair.run()
        let results = pair.client.takePingResults(ping)
        guard case let .reply(from, sequence, _, _, _)? = results.first else {
            Issue.record("no echo reply: \(results)")
            return
        }
        #expect(from == IPv4Address(203, 0, 113, 200) && sequence == 1)
    }
}

@Suite("Transparent termination over IPv6 on a TUN")
struct TransparentIPv6Tests {
    @Test("a TCP connection to any IPv6 address arriving on the TUN is intercepted, accepted and carries data both ways")
    func interceptsIPv6() throws {
        let pair = TunnelPair()
        pair.client.assign(IPv6Address("2001:db8::1")!, prefixLength: 64, to: TunnelPair.tun, now: .zero)
        pair.proxy.assign(IPv6Address("2001:db8::2")!, prefixLength: 64, to: TunnelPair.tun, now: .zero)
        pair.client.setDefaultGateway6(IPv6Address("2001:db8::2")!, interface: TunnelPair.tun)
        // The wildcard listener bound to `::`, port 0: both families.
        let listener = pair.proxy.socket(.stream)
        try pair.proxy.setOption(listener, .transparent(true))
        try pair.proxy.setOption(listener, .interceptHandshakes(true))
        try pair.proxy.bind(listener, to: Endpoint(IPv6Address.unspecified, 0))
        try pair.proxy.listen(listener, backlog: 8)
        let remote = Endpoint(IPv6Address("2001:db8:ffff::7")!, 443)
        let client = try pair.connect(to: remote)
        pair.run()
        let request = try #require(try pair.proxy.nextFlowRequest(listener))
        #expect(request.destination == remote)
        #expect(request.client.address == .v6(IPv6Address("2001:db8::1")!))
        let accepted = try pair.proxy.acceptFlow(listener, request, now: pair.now)
        pair.run()
        try send(pair.client, client, "hello over six", now: pair.now)
        pair.run()
        #expect(receive(pair.proxy, accepted, now: pair.now) == "hello over six")
        try send(pair.proxy, accepted, "and back", now: pair.now)
        pair.run()
        #expect(receive(pair.client, client, now: pair.now) == "and back")
        // An IPv4 attempt reaches the same `::` listener (no IPV6_V6ONLY).
        _ = try pair.connect()
        pair.run()
        #expect(try pair.proxy.nextFlowRequest(listener)?.destination == TunnelPair.remote)
    }
}
