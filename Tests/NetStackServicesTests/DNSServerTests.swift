// The authoritative DNS server on the simulated two-LAN network, and the
// stub resolver talking to it through the router: A answers, CNAME chains,
// NXDOMAIN with negative caching, retries over a lossy cable, what the server
// does with malformed and hostile datagrams, and name-based connect over
// async/await.

import NetStackCore
import NetStackDevices
import NetStackServices
import NetStackSimulator
import NetStackWire
import Testing

private let zone: [String: DNSServer.Record] = [
    "www.example.test": .a([TwoLANNetwork.serverAddress], ttl: 300),
    "alias.example.test": .cname("www.example.test", ttl: 60),
    "multi.example.test": .a([TwoLANNetwork.laptopAddress, TwoLANNetwork.serverAddress], ttl: 120),
    "loop1.example.test": .cname("loop2.example.test"),
    "loop2.example.test": .cname("loop1.example.test"),
]

/// The two-LAN network with `server` answering on the `dns` host and every host asking it.
private func network(seed: UInt64 = 1, soa: DNSServer.SOA? = nil,
                     zone: [String: DNSServer.Record] = zone) throws -> (TwoLANNetwork, DNSServer) {
    let net = TwoLANNetwork(seed: seed) { $0.resolver.nameservers = [.v4(TwoLANNetwork.dnsAddress)] }
    let server = try DNSServer(host: net.dns.host, zone: zone, soa: soa)
    net.dns.run(server)
    return (net, server)
}

/// Looks `name` up on the client and runs the network until the lookup ends (30 s of virtual time at most).
private func lookUp(_ name: String, on net: TwoLANNetwork) throws -> ResolutionState? {
    let host = net.client.host
    let id = try host.resolve(name, now: net.simulator.now)
    net.simulator.kick(net.client)
    let end = net.simulator.now + .seconds(30)
    while host.resolution(id) == .pending, net.simulator.now < end { net.simulator.run(for: .milliseconds(1)) }
    return host.takeResolution(id)
}

/// Sends `payload` from a client UDP socket to the server's port 53 and returns what comes back within a second.
private func exchange(_ payload: [UInt8], on net: TwoLANNetwork) throws -> [[UInt8]] {
    let host = net.client.host
    let socket = host.udpOpen()
    defer { host.udpClose(socket) }
    try host.udpSend(socket, payload, to: Endpoint(TwoLANNetwork.dnsAddress, 53), now: net.simulator.now)
    net.simulator.kick(net.client)
    net.simulator.run(for: .seconds(1))
    var replies: [[UInt8]] = []
    while let datagram = host.udpReceive(socket) { replies.append(datagram.payload) }
    return replies
}

private func parse(_ bytes: [UInt8]) throws -> DNSMessage {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get()
}

@Suite("DNS server and resolver on the simulated network")
struct DNSServerResolutionTests {
    @Test("the client finds the router's MAC with ARP, then its query crosses the router and the answer comes back")
    func resolvesThroughTheRouter() throws {
        let (net, server) = try network()
        var events: [StackEvent] = []
        net.client.host.observer = { events.append($0) }
        let state = try lookUp("www.example.test", on: net)
        #expect(state == .resolved(Resolution(name: "www.example.test", canonicalName: "www.example.test",
                                              addresses: [.v4(TwoLANNetwork.serverAddress)], ttl: 300,
                                              source: .nameserver(.v4(TwoLANNetwork.dnsAddress)))))
        let queued = events.compactMap { event -> EtherType? in
            if case let .frameQueued(_, header, _, _) = event { return header.etherType }
            return nil
        }
        #expect(queued == [.arp, .ipv4], "an ARP request for the gateway, then the query")
        #expect(events.contains { if case .arpLearned(TwoLANNetwork.routerAddressA, _, _) = $0 { true } else { false } })
        #expect(server.queries == 1 && server.answers == 1)
        #expect(net.router.host.statistics.forwarded >= 2, "query and answer both forwarded")
    }

    @Test("a CNAME is followed inside the zone: the answer carries the chain and the canonical name's address")
    func cname() throws {
        let (net, _) = try network()
        guard case let .resolved(found) = try lookUp("Alias.Example.Test", on: net) else {
            Issue.record("not resolved")
            return
        }
        #expect(found.name == "Alias.Example.Test")
        // Name compression reused the question's spelling for the target's suffix: names ignore case.
        #expect(found.canonicalName.lowercased() == "www.example.test")
        #expect(found.addresses == [.v4(TwoLANNetwork.serverAddress)])
        #expect(found.ttl == 60)
    }

    @Test("several A records come back in zone order")
    func severalAddresses() throws {
        let (net, _) = try network()
        guard case let .resolved(found) = try lookUp("multi.example.test", on: net) else {
            Issue.record("not resolved")
            return
        }
        #expect(found.addresses == [.v4(TwoLANNetwork.laptopAddress), .v4(TwoLANNetwork.serverAddress)])
    }

    @Test("an unknown name is NXDOMAIN; with an SOA the negative answer is cached for its minimum")
    func nxdomain() throws {
        let (net, server) = try network(soa: DNSServer.SOA(zone: "example.test", minimum: 30))
        #expect(try lookUp("nowhere.example.test", on: net) == .failed(.nameNotFound))
        #expect(try lookUp("nowhere.example.test", on: net) == .failed(.nameNotFound))
        #expect(server.queries == 1 && server.nxdomain == 1, "the second lookup came from the cache")
        net.simulator.run(for: .seconds(31))
        #expect(try lookUp("nowhere.example.test", on: net) == .failed(.nameNotFound))
        #expect(server.queries == 2)
    }

    @Test("a CNAME loop in the zone ends in cnameChainTooLong at the client")
    func cnameLoop() throws {
        let (net, _) = try network()
        #expect(try lookUp("loop1.example.test", on: net) == .failed(.cnameChainTooLong))
    }

    @Test("an answer over 512 octets is sent truncated (TC); the resolver gives up without TCP")
    func truncation() throws {
        let many = (1...40).map { IPv4Address(198, 51, 100, UInt8($0)) }
        let (net, server) = try network(zone: ["big.example.test": .a(many)])
        #expect(try lookUp("big.example.test", on: net) == .failed(.truncated))
        #expect(server.truncated == 1)
    }

    @Test("a lossy cable to the server: lost queries and answers are retransmitted until every name resolves")
    func lossyLinkRetries() throws {
        let names = (1...8).map { "host\($0).example.test" }
        var lossyZone: [String: DNSServer.Record] = [:]
        for (index, name) in names.enumerated() { lossyZone[name] = .a([IPv4Address(198, 51, 100, UInt8(100 + index))]) }
        let (net, server) = try network(seed: 3, zone: lossyZone)
        net.dnsCable.configure { $0.loss = 0.3 }
        net.client.host.resolverConfig.attempts = 6
        for (index, name) in names.enumerated() {
            #expect(try lookUp(name, on: net) == .resolved(Resolution(
                name: name, canonicalName: name, addresses: [.v4(IPv4Address(198, 51, 100, UInt8(100 + index)))], ttl: 300,
                source: .nameserver(.v4(TwoLANNetwork.dnsAddress)))))
        }
        #expect(net.client.host.resolverStatistics.retransmissions > 0)
        #expect(net.dnsCable.counters(.aToB).lost + net.dnsCable.counters(.bToA).lost > 0)
        #expect(server.queries >= names.count)
    }
}

@Suite("DNS server: what it answers and what it ignores")
struct DNSServerProtocolTests {
    @Test("the answer echoes the ID and the question as spelled, with QR and AA set and RD copied")
    func echoes() throws {
        let (net, server) = try network()
        let query = DNSMessage.query(id: 0xBEEF, name: try DNSName("WWW.example.TEST"))
        let replies = try exchange(query.encoded(), on: net)
        try #require(replies.count == 1)
        let reply = try parse(replies[0])
        #expect(reply.id == 0xBEEF)
        #expect(reply.flags.isResponse && reply.flags.authoritative && reply.flags.recursionDesired)
        #expect(!reply.flags.recursionAvailable)
        #expect(reply.questions.map(\.name.wireBytes) == [try DNSName("WWW.example.TEST").wireBytes])
        #expect(reply.answers.map(\.data) == [.a(TwoLANNetwork.serverAddress)])
        #expect(server.answers == 1)
    }

    @Test("a query with a readable header and a broken question gets FORMERR with the header echoed")
    func formerr() throws {
        let (net, server) = try network()
        // ID 0x4242, RD, one question whose name claims a 20-octet label and stops after 3.
        let bytes: [UInt8] = [0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 20, 0x61, 0x62, 0x63]
        let replies = try exchange(bytes, on: net)
        try #require(replies.count == 1)
        let reply = try parse(replies[0])
        #expect(reply.id == 0x4242)
        #expect(reply.flags.isResponse && reply.flags.responseCode == .formatError && reply.flags.recursionDesired)
        #expect(reply.questions.isEmpty && reply.answers.isEmpty)
        #expect(server.malformed == 1)
    }

    @Test("garbage shorter than a header and responses get no answer at all")
    func ignoresGarbage() throws {
        let (net, server) = try network()
        #expect(try exchange([1, 2, 3], on: net).isEmpty)
        var response = DNSMessage.query(id: 7, name: try DNSName("www.example.test"))
        response.flags.isResponse = true
        #expect(try exchange(response.encoded(), on: net).isEmpty)
        #expect(server.ignored == 2 && server.queries == 0)
    }

    @Test("another opcode gets NOTIMP; another class REFUSED")
    func opcodeAndClass() throws {
        let (net, server) = try network()
        var status = DNSMessage.query(id: 1, name: try DNSName("www.example.test"))
        status.flags.opcode = 2
        #expect(try parse(try exchange(status.encoded(), on: net)[0]).flags.responseCode == .notImplemented)
        var chaos = DNSMessage.query(id: 2, name: try DNSName("www.example.test"))
        chaos.questions[0].class = DNSClass(rawValue: 3)
        #expect(try parse(try exchange(chaos.encoded(), on: net)[0]).flags.responseCode == .refused)
        #expect(server.notImplemented == 1 && server.refused == 1)
    }

    @Test("500 randomly mutated queries: the server never crashes, and answers or ignores every one")
    func mutatedQueries() throws {
        let (net, server) = try network()
        _ = try exchange(DNSMessage.query(id: 1, name: try DNSName("www.example.test")).encoded(), on: net)
        let good = DNSMessage.query(id: 2, name: try DNSName("alias.example.test")).encoded()
        let host = net.client.host
        let socket = host.udpOpen()
        var state: UInt64 = 0xD0D0
        for round in 0..<500 {
            var bytes = good
            for _ in 0...(splitMix64(&state) % 3) {
                let random = splitMix64(&state)
                bytes[Int(random % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random >> 32)
            }
            if round % 4 == 0 { bytes = Array(bytes.prefix(Int(splitMix64(&state) % UInt64(bytes.count)))) }
            try host.udpSend(socket, bytes, to: Endpoint(TwoLANNetwork.dnsAddress, 53), now: net.simulator.now)
            net.simulator.kick(net.client)
            net.simulator.run(for: .microseconds(50))
        }
        net.simulator.run(for: .seconds(1))
        #expect(server.queries + server.ignored == 501)
        #expect(server.answers + server.nxdomain + server.malformed + server.notImplemented + server.refused
                == server.queries)
    }

    @Test("a zone name that is not a domain name is refused with EINVAL")
    func invalidZone() throws {
        let net = TwoLANNetwork(seed: 1)
        #expect(throws: NetError.invalidArgument) {
            _ = try DNSServer(host: net.dns.host, zone: ["a..b": .a([TwoLANNetwork.serverAddress])])
        }
    }
}

/// The network under an AsyncNetwork with the DNS server running: stack 0 is the client, 3 the server.
private func asyncNetwork() -> AsyncNetwork {
    AsyncNetwork {
        let net = TwoLANNetwork(seed: 2) { $0.resolver.nameservers = [.v4(TwoLANNetwork.dnsAddress)] }
        if let server = try? DNSServer(host: net.dns.host, zone: zone) { net.dns.run(server) }
        return (net.simulator, net.hosts)
    }
}

@Suite("Resolving over async/await")
struct AsyncResolverTests {
    @Test("resolve suspends while the query is out and returns the answer; NXDOMAIN throws")
    func resolve() async throws {
        let network = asyncNetwork()
        let found = try await network.stack(0).resolve("alias.example.test")
        #expect(found.canonicalName == "www.example.test")
        #expect(found.addresses == [.v4(TwoLANNetwork.serverAddress)])
        await #expect(throws: ResolverError.nameNotFound) { _ = try await network.stack(0).resolve("nope.example.test") }
    }

    @Test("connect(to: name) resolves, then tries each address: the laptop refuses, the server accepts")
    func connectByName() async throws {
        let network = asyncNetwork()
        let listener = try await network.stack(3).listen(port: 80)
        async let accepted = listener.accept()
        let connection = try await network.stack(0).connect(to: "multi.example.test", port: 80)
        #expect(await connection.state() == .established)
        let peer = try await accepted
        try await connection.write(Array("hi".utf8))
        #expect(try await peer.read() == Array("hi".utf8))
        await connection.close()
        await peer.close()
    }

    @Test("connect(to: name) throws the resolver's error when the name does not exist")
    func connectUnknownName() async throws {
        let network = asyncNetwork()
        await #expect(throws: ResolverError.nameNotFound) {
            _ = try await network.stack(0).connect(to: "nope.example.test", port: 80)
        }
    }
}
