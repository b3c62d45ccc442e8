import Testing
@testable import NetStackCore
import NetStackWire

/// Two hosts on one Ethernet with IPv6 only: A 2001:db8::1, B 2001:db8::2 (and their link-local addresses).
private struct IPv6LAN {
    static let a6 = IPv6Address("2001:db8::1")!
    static let b6 = IPv6Address("2001:db8::2")!
    let a: Host, b: Host, wires: Wires

    init(mtu: Int = 1500, configure: (inout HostConfig) -> Void = { _ in }) {
        a = makeHost("A", [Port("eth0", Lab.macA, nil, mtu: mtu)], configure: configure)
        b = makeHost("B", [Port("eth0", Lab.macB, nil, mtu: mtu)], configure: configure)
        a.assign(Self.a6, prefixLength: 64, to: eth0, now: .zero)
        b.assign(Self.b6, prefixLength: 64, to: eth0, now: .zero)
        wires = Wires()
        wires.connect(a, eth0, b, eth0)
        // Duplicate address detection: a random delay of up to 1 s, one solicitation, 1 s of silence.
        wires.run(until: .seconds(3))
    }

    /// The IPv6 packets A sent, parsed (Ethernet frames of type 0x86DD only).
    func ipv6Sent(by name: String) -> [(header: IPv6Header, packet: [UInt8])] {
        wires.frames(from: name).compactMap { frame in
            guard frame.count > EthernetHeader.length, frame[12] == 0x86, frame[13] == 0xDD else { return nil }
            let packet = Array(frame[EthernetHeader.length...])
            return packet.withUnsafeBytes { bytes in (try? IPv6Header.parse(bytes)).map { ($0, packet) } }
        }
    }
}

@Suite("IPv6 on a host: addresses, neighbour discovery, ping, TCP and UDP")
struct IPv6HostTests {
    @Test("assigning a global address also gives an Ethernet interface a link-local address; both pass DAD")
    func linkLocalAddress() throws {
        let lan = IPv6LAN()
        let addresses = lan.a.addresses6
        #expect(addresses.contains { $0.address == IPv6LAN.a6 && $0.state == .preferred && $0.origin == .manual })
        let linkLocal = try #require(addresses.first { $0.address.isLinkLocal })
        #expect(linkLocal.state == .preferred && linkLocal.origin == .linkLocal)
        #expect(lan.a.routes6.routes.contains { $0.destination == IPv6Network("2001:db8::/64")! && $0.gateway == nil })
        // DAD: a solicitation from :: for each address, to its solicited-node group, with a nonce.
        let probes = lan.ipv6Sent(by: "A").filter { $0.header.source.isUnspecified && $0.packet[40] == 135 }
        #expect(probes.count == 2)
        #expect(probes.allSatisfy { $0.header.destination.isSolicitedNodeMulticast })
    }

    @Test("before probing an address, the host joins its solicited-node group with an MLDv2 report (RFC 4862 §5.4.2)")
    func mldReportBeforeDAD() throws {
        let lan = IPv6LAN()
        let sent = lan.ipv6Sent(by: "A")
        let reportIndex = try #require(sent.firstIndex { $0.header.destination == .allMLDv2Routers })
        let report = sent[reportIndex]
        #expect(report.header.hopLimit == 1 && report.header.nextHeader == .ipv6HopByHop)
        let chain = try report.packet.withUnsafeBytes { try IPv6ExtensionHeaders.walk($0) }
        #expect(chain.upperLayerProtocol == .icmpv6 && chain.routerAlert == 0)
        let parsed = try report.packet.withUnsafeBytes {
            try MLDv2Report.parse(UnsafeRawBufferPointer(rebasing: $0[chain.upperLayerOffset...]), source: report.header.source,
                                  destination: report.header.destination, hopLimit: report.header.hopLimit)
        }
        let group = try #require(parsed.records.first)
        #expect(group.type == MLDv2RecordType.changeToExclude.rawValue && group.multicastAddress.isSolicitedNodeMulticast)
        let probeIndex = try #require(sent.firstIndex {
            $0.header.source.isUnspecified && $0.packet[40] == 135 && $0.header.destination == group.multicastAddress
        })
        #expect(reportIndex < probeIndex)
    }

    /// A router advertisement from fe80::1 (Lab.macR0) with one prefix, as radvd sends it.
    static func routerAdvertisement(hopLimit: UInt8 = 255, lifetime: UInt16 = 1800, mtu: UInt32? = 1400) -> [UInt8] {
        let router = IPv6Address("fe80::1")!
        let prefix = NDPPrefixInformation(prefix: IPv6Address("2001:db8:1::")!, prefixLength: 64, validLifetime: 86_400,
                                          preferredLifetime: 14_400)
        let packet = NDPPacket(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: lifetime)),
                               options: NDPOptions(sourceLinkLayerAddress: Lab.macR0, prefixes: [prefix], mtu: mtu))
        var bytes = [UInt8](repeating: 0, count: 40 + packet.encodedLength)
        bytes.withUnsafeMutableBytes { buffer in
            IPv6Header(source: router, destination: .allNodes, nextHeader: .icmpv6, payloadLength: packet.encodedLength,
                       hopLimit: hopLimit).emit(into: buffer)
            packet.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[40...]), source: router, destination: .allNodes)
        }
        return Build.ethernet(to: IPv6Address.allNodes.multicastMAC, from: Lab.macR0, type: .ipv6, bytes)
    }

    @Test("SLAAC: a router solicitation goes out; an advertisement gives a default route, the link MTU and an RFC 7217 address that passes DAD")
    func addressAutoconfiguration() throws {
        let host = makeHost("A", [Port("eth0", Lab.macA, nil)])
        host.enableAddressAutoconfiguration(on: eth0, now: .zero)
        let solicitations = host.run(until: .seconds(2)).filter { $0.frame.count > 54 && $0.frame[54] == 133 }
        #expect(!solicitations.isEmpty)
        host.feed(Self.routerAdvertisement(), at: .seconds(2))
        _ = host.run(until: .seconds(5))
        let formed = try #require(host.addresses6.first { $0.origin == .autoconfigured })
        #expect(IPv6Network("2001:db8:1::/64")!.contains(formed.address) && formed.state == .preferred)
        #expect(host.routes6.peek(IPv6Address("2001:db8:99::1")!)?.gateway == IPv6Address("fe80::1")!)
        #expect(host.pathMTU6(toward: IPv6Address("2001:db8:99::1")!) == 1400)
        // The same host, another key: another identifier (stable per host, not derived from the MAC).
        let other = makeHost("A", [Port("eth0", Lab.macA, nil)]) { $0.randomSeed = 99 }
        other.enableAddressAutoconfiguration(on: eth0, now: .zero)
        other.feed(Self.routerAdvertisement(), at: .seconds(2))
        _ = other.run(until: .seconds(5))
        #expect(other.addresses6.first { $0.origin == .autoconfigured }?.address != formed.address)
    }

    @Test("a router advertisement that did not come from the link (hop limit below 255) changes nothing and is counted")
    func offLinkAdvertisementIgnored() {
        let host = makeHost("A", [Port("eth0", Lab.macA, nil)])
        host.enableAddressAutoconfiguration(on: eth0, now: .zero)
        host.feed(Self.routerAdvertisement(hopLimit: 64), at: .seconds(1))
        _ = host.run(until: .seconds(4))
        #expect(host.statistics.ndpInvalid == 1)
        #expect(!host.addresses6.contains { $0.origin == .autoconfigured })
        #expect(host.routes6.defaultRouters.isEmpty)
    }

    @Test("an address is tentative until DAD ends, and a host that already holds it makes it a duplicate")
    func duplicateAddress() throws {
        let lan = IPv6LAN()
        lan.b.assign(IPv6LAN.a6, prefixLength: 64, to: eth0, now: lan.wires.now)
        #expect(lan.b.addresses6.first { $0.address == IPv6LAN.a6 }?.state == .tentative)
        lan.wires.run(until: lan.wires.now + .seconds(3))
        #expect(lan.b.addresses6.first { $0.address == IPv6LAN.a6 }?.state == .duplicate)
        #expect(lan.b.statistics.ndpDuplicateAddresses == 1)
        #expect(lan.a.addresses6.first { $0.address == IPv6LAN.a6 }?.state == .preferred)
    }

    @Test("source selection: a link-local source toward a link-local destination, the global one toward a global one")
    func sourceSelection() throws {
        let lan = IPv6LAN()
        let linkLocal = try #require(lan.a.addresses6.first { $0.address.isLinkLocal }?.address)
        #expect(lan.a.sourceAddress6(toward: IPv6Address("fe80::1")!) == linkLocal)
        #expect(lan.a.sourceAddress6(toward: IPv6LAN.b6) == IPv6LAN.a6)
    }

    @Test("the neighbour cache shows the peer REACHABLE after an exchange, with its link address")
    func neighbourCacheAfterPing() throws {
        let lan = IPv6LAN()
        let socket = try lan.a.openPing(identifier: 9)
        try lan.a.ping(socket, to: IPv6LAN.b6, sequence: 1, now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .milliseconds(10))
        let entry = try #require(lan.a.neighborEntries6.first { $0.key.address == IPv6LAN.b6 })
        #expect(entry.linkAddress == Lab.macB && entry.state == .reachable)
        // The first echo waited in the cache for the advertisement instead of being dropped.
        #expect(lan.a.takePingResults(socket).count == 1)
    }

    @Test("a ping to a neighbour resolves its link address with a solicitation to its solicited-node group, then is answered")
    func pingResolvesNeighbour() throws {
        let lan = IPv6LAN()
        let socket = try lan.a.openPing(identifier: 7)
        for sequence in 1...3 {
            try lan.a.ping(socket, to: IPv6LAN.b6, sequence: UInt16(sequence), now: lan.wires.now)
            lan.wires.run(until: lan.wires.now + .milliseconds(10))
        }
        let sent = lan.ipv6Sent(by: "A")
        let solicitation = try #require(sent.first {
            $0.header.nextHeader == .icmpv6 && $0.packet[40] == 135 && !$0.header.source.isUnspecified
        })
        #expect(solicitation.header.destination == IPv6LAN.b6.solicitedNodeMulticast)
        #expect(solicitation.header.hopLimit == 255)
        let replies = lan.a.takePingResults(socket).compactMap { result -> UInt16? in
            if case let .reply6(from, sequence, _, _, _) = result, from == IPv6LAN.b6 { return sequence }
            return nil
        }
        #expect(replies == [1, 2, 3])
    }

    @Test("TCP over IPv6: connect, send 200 KB, receive it intact; the segments carry the IPv6 MSS (1500 − 60)")
    func tcpTransfer() throws {
        let lan = IPv6LAN()
        let listener = lan.b.socket(.stream)
        try lan.b.bind(listener, to: Endpoint(IPv6Address.unspecified, 8080))
        try lan.b.listen(listener, backlog: 4)
        let client = lan.a.socket(.stream)
        try lan.a.connect(client, to: Endpoint(IPv6LAN.b6, 8080), now: lan.wires.now)
        var server: Int32?
        for step in 1...200 where server == nil {
            lan.wires.run(until: .zero + .milliseconds(step * 5))
            server = try? lan.b.accept(listener).descriptor
        }
        let accepted = try #require(server)
        let (_, peer) = try lan.b.endpoints(accepted)
        #expect(peer?.address == .v6(IPv6LAN.a6))
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var sent = 0, received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for step in 0..<2000 where received.count < data.count {
            if sent < data.count {
                sent += try data[sent...].withUnsafeBytes { try lan.a.send(client, $0, now: lan.wires.now) }
            }
            lan.wires.run(until: lan.wires.now + .milliseconds(1))
            let n = try buffer.withUnsafeMutableBytes { try lan.b.recv(accepted, into: $0, now: lan.wires.now) }
            received += buffer[0..<n]
            _ = step
        }
        #expect(received == data)
        let syn = try #require(lan.ipv6Sent(by: "A").first { $0.header.nextHeader == .tcp })
        let mss = syn.packet.withUnsafeBytes { try? TCPHeader.parse(UnsafeRawBufferPointer(rebasing: $0[40...])) }?.options.mss
        #expect(mss == 1440)
    }

    @Test("TCP's acknowledgements keep the peer REACHABLE (RFC 4861 §7.3.1): a 20 s transfer with a 1 s reachable time sends no NUD probe")
    func tcpProgressConfirmsReachability() throws {
        let lan = IPv6LAN { $0.ipv6.neighbors.baseReachableTime = .seconds(1) }
        let listener = lan.b.socket(.stream)
        try lan.b.bind(listener, to: Endpoint(IPv6Address.unspecified, 8080))
        try lan.b.listen(listener, backlog: 4)
        let client = lan.a.socket(.stream)
        try lan.a.connect(client, to: Endpoint(IPv6LAN.b6, 8080), now: lan.wires.now)
        var server: Int32?
        for step in 1...200 where server == nil {
            lan.wires.run(until: lan.wires.now + .milliseconds(step * 5))
            server = try? lan.b.accept(listener).descriptor
        }
        let accepted = try #require(server)
        // 1,000 bytes every 10 ms for 20 s: twenty ReachableTimes (0.5–1.5 s) and more than three
        // DELAY_FIRST_PROBE_TIMEs (5 s), so without confirmations the entry would go STALE, DELAY, PROBE.
        let start = lan.wires.now
        let chunk = [UInt8](repeating: 0x5a, count: 1000)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var received = 0
        for step in 1...2000 {
            _ = try chunk.withUnsafeBytes { try lan.a.send(client, $0, now: lan.wires.now) }
            lan.wires.run(until: start + .milliseconds(10 * step))
            received += (try? buffer.withUnsafeMutableBytes { try lan.b.recv(accepted, into: $0, now: lan.wires.now) }) ?? 0
        }
        #expect(received == 2_000_000)
        /// Unicast neighbour solicitations (NUD probes) `name` sent toward `peer` after the handshake.
        func probes(from name: String, toward peer: IPv6Address) -> Int {
            lan.ipv6Sent(by: name).filter {
                $0.header.nextHeader == .icmpv6 && $0.packet[40] == 135 && $0.header.destination == peer
            }.count
        }
        #expect(probes(from: "A", toward: IPv6LAN.b6) == 0)
        #expect(lan.a.neighborEntries6.first { $0.key.address == IPv6LAN.b6 }?.state == .reachable)
        // The reachable time did run out meanwhile: B, whose data nobody acknowledges (it sends
        // none), had to probe A.
        #expect(probes(from: "B", toward: IPv6LAN.a6) > 0)
    }

    @Test("UDP over IPv6: a 4,000-byte datagram is fragmented at the source and reassembled at the destination")
    func udpFragmented() throws {
        let lan = IPv6LAN()
        let receiver = lan.b.socket(.datagram)
        defer { _ = receiver }
        try lan.b.bind(receiver, to: Endpoint(IPv6Address.unspecified, 5353))
        let sender = lan.a.socket(.datagram)
        let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0) }
        // The first datagram waits for neighbour discovery; send after B's link address is known.
        try payload.withUnsafeBytes { try lan.a.send(sender, $0, to: Endpoint(IPv6LAN.b6, 5353), now: lan.wires.now) }
        lan.wires.run(until: lan.wires.now + .seconds(1))
        try payload.withUnsafeBytes { try lan.a.send(sender, $0, to: Endpoint(IPv6LAN.b6, 5353), now: lan.wires.now) }
        lan.wires.run(until: lan.wires.now + .seconds(1))
        var buffer = [UInt8](repeating: 0, count: 8192)
        let (count, source) = try buffer.withUnsafeMutableBytes { try lan.b.recvfrom(receiver, into: $0, now: lan.wires.now) }
        #expect(count == 4000 && Array(buffer[0..<count]) == payload)
        #expect(source == Endpoint(IPv6LAN.a6, try #require(try lan.a.endpoints(sender).local?.port)))
        let fragments = lan.ipv6Sent(by: "A").filter { $0.header.nextHeader == .ipv6Fragment }
        #expect(fragments.count >= 3)
        #expect(fragments.allSatisfy { $0.packet.count <= 1500 })
        #expect(lan.b.statistics.reassemblyOK >= 1)
    }

    @Test("a UDP datagram to a closed port earns an ICMPv6 port unreachable, which fails the connected sender")
    func udpPortUnreachable() throws {
        let lan = IPv6LAN()
        let sender = lan.a.socket(.datagram)
        try lan.a.connect(sender, to: Endpoint(IPv6LAN.b6, 9), now: lan.wires.now)
        try [1, 2, 3].withUnsafeBytes { try lan.a.send(sender, $0, to: Endpoint(IPv6LAN.b6, 9), now: lan.wires.now) }
        lan.wires.run(until: lan.wires.now + .seconds(1))
        let unreachable = lan.ipv6Sent(by: "B").first { $0.header.nextHeader == .icmpv6 && $0.packet[40] == 1 }
        #expect(unreachable?.packet[41] == 4)
        #expect(try lan.a.takeError(sender) == .connectionRefused)
    }

    @Test("a TCP SYN to a closed IPv6 port is answered with RST, and the connect fails with ECONNREFUSED")
    func tcpRefused() throws {
        let lan = IPv6LAN()
        let client = lan.a.socket(.stream)
        try lan.a.connect(client, to: Endpoint(IPv6LAN.b6, 81), now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .seconds(3))
        #expect(try lan.a.takeError(client) == .connectionRefused)
    }

    @Test("an IPv4 listener (0.0.0.0) does not take IPv6 connections; one on :: takes both unless IPV6_V6ONLY")
    func listenerFamilies() throws {
        let lan = IPv6LAN()
        lan.b.assign(Lab.ipB, prefixLength: 24, to: eth0, now: .zero)
        let v4Only = lan.b.socket(.stream)
        try lan.b.bind(v4Only, to: Endpoint(IPv4Address.any, 80))
        try lan.b.listen(v4Only, backlog: 4)
        let client = lan.a.socket(.stream)
        try lan.a.connect(client, to: Endpoint(IPv6LAN.b6, 80), now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .seconds(3))
        #expect(try lan.a.takeError(client) == .connectionRefused)
        let dual = lan.b.socket(.stream)
        try lan.b.setOption(dual, .v6Only(true))
        try lan.b.bind(dual, to: Endpoint(IPv6Address.unspecified, 443))
        #expect(try lan.b.options(dual).v6Only)
    }

    @Test("an echo request with a multicast source, or with our own address as source, is dropped")
    func martianSources() throws {
        let lan = IPv6LAN()
        for source in [IPv6Address.allNodes, IPv6LAN.b6] {
            var packet = [UInt8](repeating: 0, count: 48)
            packet.withUnsafeMutableBytes { bytes in
                IPv6Header(source: source, destination: IPv6LAN.b6, nextHeader: .icmpv6, payloadLength: 8).emit(into: bytes)
                ICMPv6Header(.echoRequest(identifier: 1, sequence: 1))
                    .emit(into: UnsafeMutableRawBufferPointer(rebasing: bytes[40...]), source: source, destination: IPv6LAN.b6)
            }
            lan.b.feed(Build.ethernet(to: Lab.macB, from: Lab.macA, type: .ipv6, packet), at: lan.wires.now)
        }
        #expect(lan.b.statistics.ip6InMartians == 2)
        #expect(lan.b.sent().isEmpty)
    }

    @Test("a routing header with segments left earns a parameter problem pointing at its type (RFC 5095)")
    func routingHeaderRefused() throws {
        let lan = IPv6LAN()
        // IPv6 → routing header type 0, segments left 1, one address → no next header.
        var packet = [UInt8](repeating: 0, count: 40 + 24)
        packet.withUnsafeMutableBytes { bytes in
            IPv6Header(source: IPv6LAN.a6, destination: IPv6LAN.b6, nextHeader: .ipv6Routing, payloadLength: 24).emit(into: bytes)
        }
        packet[40] = IPProtocol.ipv6NoNextHeader.rawValue
        packet[41] = 2          // (2 + 1) × 8 = 24 bytes
        packet[42] = 0          // type 0
        packet[43] = 1          // segments left
        lan.b.feed(Build.ethernet(to: Lab.macB, from: Lab.macA, type: .ipv6, packet), at: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .seconds(2))
        let problem = try #require(lan.ipv6Sent(by: "B").first { $0.header.nextHeader == .icmpv6 && $0.packet[40] == 4 })
        #expect(problem.packet[41] == 0)
        #expect(problem.packet.withUnsafeBytes { $0.be32(44) } == 42)
    }
}
