// The DNS server's AAAA records (RFC 3596), answered over IPv6: the two-LAN network with
// IPv6 alone, the client's stub resolver asking the dns host's IPv6 address through the router.

import NetStackCore
import NetStackServices
import NetStackSimulator
import NetStackWire
import Testing

@Suite("DNS server: AAAA records, answered over IPv6")
struct DNSServerIPv6Tests {
    /// The IPv6-only two-LAN network, DAD done, the dns host serving on [::]:53.
    static func network() throws -> (TwoLANNetwork, DNSServer) {
        let net = TwoLANNetwork(seed: 3, ipv6: true) { $0.resolver.nameservers = [.v6(TwoLANNetwork.dnsAddress6)] }
        let server = try DNSServer(host: net.dns.host, address: .v6(.unspecified), zone: [
            "www.example.test": .aaaa([TwoLANNetwork.serverAddress6], ttl: 300),
            "alias.example.test": .cname("www.example.test", ttl: 60),
        ], soa: DNSServer.SOA(zone: "example.test", minimum: 30))
        net.dns.run(server)
        net.simulator.run(for: .seconds(3))  // duplicate address detection: up to 1 s of delay, 1 s of silence
        return (net, server)
    }

    /// Looks `name` up on the client and runs the network until the lookup ends (30 s of virtual time at most).
    static func lookUp(_ name: String, _ type: AddressRecordType, on net: TwoLANNetwork) throws -> ResolutionState? {
        let host = net.client.host
        let id = try host.resolve(name, type: type, now: net.simulator.now)
        net.simulator.kick(net.client)
        let end = net.simulator.now + .seconds(30)
        while host.resolution(id) == .pending, net.simulator.now < end { net.simulator.run(for: .milliseconds(1)) }
        return host.takeResolution(id)
    }

    @Test("an AAAA question sent over IPv6 gets the name's IPv6 address from the server's IPv6 address")
    func aaaaOverIPv6() throws {
        let (net, server) = try Self.network()
        #expect(try Self.lookUp("www.example.test", .aaaa, on: net) == .resolved(Resolution(
            name: "www.example.test", canonicalName: "www.example.test", addresses: [.v6(TwoLANNetwork.serverAddress6)],
            ttl: 300, source: .nameserver(.v6(TwoLANNetwork.dnsAddress6)))))
        #expect(server.queries == 1 && server.answers == 1)
        #expect(net.dns.host.statistics.udpOutDatagrams == 1)
    }

    @Test("through a CNAME the AAAA records of the chain's end are answered, the chain's smallest TTL kept")
    func aaaaThroughCNAME() throws {
        let (net, _) = try Self.network()
        #expect(try Self.lookUp("alias.example.test", .aaaa, on: net) == .resolved(Resolution(
            name: "alias.example.test", canonicalName: "www.example.test", addresses: [.v6(TwoLANNetwork.serverAddress6)],
            ttl: 60, source: .nameserver(.v6(TwoLANNetwork.dnsAddress6)))))
    }

    @Test("an A question for a name with AAAA records only is NODATA (no address of that family), not NXDOMAIN")
    func aQuestionForAnIPv6Name() throws {
        let (net, server) = try Self.network()
        #expect(try Self.lookUp("www.example.test", .a, on: net) == .failed(.noAddress))
        #expect(try Self.lookUp("nowhere.example.test", .aaaa, on: net) == .failed(.nameNotFound))
        #expect(server.nxdomain == 1 && server.answers == 1)
    }
}
