// The stub resolver asking a nameserver with an IPv6 address: the query goes
// over IPv6, and only an answer from that address is taken (RFC 5452 §9.1
// holds for either family). The answer is dnsmasq's (dns-aaaa.pcap #2).

import NetStackCore
import NetStackWire
import Testing

/// A (the client, 2001:db8::1) and B (the nameserver, 2001:db8::53) on one Ethernet,
/// IPv6 only, DAD done; B listens on [::]:53 with a plain UDP socket.
private struct IPv6NameserverLAN {
    static let client6 = IPv6Address("2001:db8::1")!
    static let server6 = IPv6Address("2001:db8::53")!
    /// A station on the link that is not the nameserver.
    static let forger6 = IPv6Address("2001:db8::66")!

    let a: Host, b: Host, wires: Wires, listener: UDPSocketID

    init() throws {
        a = makeHost("A", [Port("eth0", Lab.macA, nil)]) { $0.resolver.nameservers = [.v6(Self.server6)] }
        b = makeHost("B", [Port("eth0", Lab.macB, nil)])
        a.assign(Self.client6, prefixLength: 64, to: eth0, now: .zero)
        b.assign(Self.server6, prefixLength: 64, to: eth0, now: .zero)
        listener = b.udpOpen()
        try b.udpBind(listener, address: .v6(.unspecified), port: 53)
        wires = Wires()
        wires.connect(a, eth0, b, eth0)
        wires.run(until: .seconds(3))  // DAD: up to 1 s of delay, one probe, 1 s of silence
    }
}

@Suite("Resolver: a nameserver with an IPv6 address")
struct ResolverIPv6Tests {
    @Test("an AAAA lookup asks an IPv6 nameserver over IPv6 and takes its answer, not a forged one from another address")
    func lookupOverIPv6() throws {
        let lan = try IPv6NameserverLAN()
        let id = try lan.a.resolve("www.example.test", type: .aaaa, now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .milliseconds(10))  // neighbour discovery, then the query
        let query = try #require(lan.b.udpReceive(lan.listener))
        #expect(query.source.address == .v6(IPv6NameserverLAN.client6))
        #expect(query.destination == Endpoint(IPv6NameserverLAN.server6, 53))
        let id16 = try query.payload.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get().id
        let answer = try dnsmasqAAAAAnswer(2, id: id16)

        // Right port, ID and question, wrong address: thrown away, the lookup keeps waiting.
        let forged = Hostile6.packet(from: IPv6NameserverLAN.forger6, to: IPv6NameserverLAN.client6, first: .udp,
                                     upper: Build.udp(from: Endpoint(IPv6NameserverLAN.forger6, 53), to: query.source,
                                                      answer))
        lan.a.receive(Build.ethernet(to: Lab.macA, from: Lab.macOther, type: .ipv6, forged), on: eth0, now: lan.wires.now)
        lan.a.poll(now: lan.wires.now)
        #expect(lan.a.resolution(id) == .pending)
        #expect(lan.a.resolverStatistics.rejectedWrongServer == 1)

        try lan.b.udpSend(lan.listener, answer, to: query.source, now: lan.wires.now)
        lan.wires.run(until: lan.wires.now + .milliseconds(10))
        guard case let .resolved(found) = lan.a.resolution(id) else {
            Issue.record("not resolved: \(String(describing: lan.a.resolution(id)))")
            return
        }
        #expect(found.addresses == [.v6(www6)])
        #expect(found.source == .nameserver(.v6(IPv6NameserverLAN.server6)))
        #expect(lan.a.resolverStatistics.answersAccepted == 1)
    }
}
