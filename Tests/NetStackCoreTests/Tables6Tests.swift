// The IPv6 rows of the net-tools tables: `route -6 -n` and netstat's tcp6/udp6
// lines. The expected lines are the kernel's own, printed by net-tools 2.10 in a
// namespace with the same addresses and routes (`ip -6 addr add … nodad`,
// `ip -6 route add …`); only the kernel's reference counts (Ref) read 0 here,
// since NetStack counts none.

import NetStackCore
import NetStackWire
import Testing

@Suite("Tables: IPv6 routes and tcp6/udp6 sockets")
struct Tables6Tests {
    static let address = IPv6Address("2001:db8::2")!
    static let router = IPv6Address("2001:db8::1")!
    static let long = IPv6Address("2001:db8:1234:5678:9abc:def0:1234:5678")!
    /// Addresses usable at once (as `nodad`), so that sockets may bind them without running DAD.
    static func withoutDAD(_ config: inout HostConfig) { config.ipv6.addresses.dupAddrDetectTransmits = 0 }

    @Test("routeTable6 has route -6 -n's header and columns; the default route comes last as ::/0")
    func routeTable6Text() throws {
        let host = makeHost("A", [Port("eth0", Lab.macA, nil)], configure: Self.withoutDAD)
        host.assign(Self.address, prefixLength: 64, to: eth0, now: .zero)
        host.assign(Self.long, prefixLength: 64, to: eth0, now: .zero)
        host.setDefaultGateway6(Self.router, interface: eth0)
        host.addRoute6(IPv6Route(destination: IPv6Network("2001:db8:99::7/128")!, gateway: Self.router, interface: eth0,
                                 metric: 1024))

        let lines = try #require(host.routeTable6()).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(lines.count == 7, "\(lines)")
        #expect(lines[0] == "Kernel IPv6 routing table")
        #expect(lines[1] == "Destination                    Next Hop                   Flag Met Ref  Use If")
        // The kernel lists its routes in its own tree order; the rows themselves must match.
        #expect(Set(lines[2..<6]) == [
            "2001:db8::/64                  ::                         U    256 0      0 eth0",
            "2001:db8:99::7/128             2001:db8::1                UG   1024 0      0 eth0",
            "2001:db8:1234:5678::/64        ::                         U    256 0      0 eth0",
            "fe80::/64                      ::                         U    256 0      0 eth0",
        ])
        #expect(lines[6] == "::/0                           2001:db8::1                UG   1024 0      0 eth0")
    }

    @Test("an IPv4-only host has no IPv6 routing table")
    func noRouteTable6WithoutIPv6() {
        let host = makeHost("A", [.a])
        host.setDefaultGateway(Lab.ipR0, interface: eth0)
        #expect(host.routeTable6() == nil)
    }

    @Test("netstat writes IPv6 sockets as tcp6/udp6 rows, the address cut to fit as net-tools does")
    func netstatIPv6Rows() throws {
        let host = makeHost("A", [.a], configure: Self.withoutDAD)
        host.assign(Self.address, prefixLength: 64, to: eth0, now: .zero)
        host.assign(Self.long, prefixLength: 64, to: eth0, now: .zero)
        let listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(Self.long, 8000))
        try host.listen(listener, backlog: 8)
        let ipv4 = host.socket(.stream)
        try host.bind(ipv4, to: Endpoint(IPv4Address.any, 9000))
        try host.listen(ipv4, backlog: 8)
        let udp = host.udpOpen()
        try host.udpBind(udp, address: .v6(.unspecified), port: 7)

        let rows = host.netstat().split(separator: "\n").map { String($0.reversed().drop { $0 == " " }.reversed()) }
        #expect(rows.contains("tcp6       0      0 2001:db8:1234:5678:8000 :::*                    LISTEN"), "\(rows)")
        #expect(rows.contains("udp6       0      0 :::7                    :::*"), "\(rows)")
        // IPv4 rows as before.
        #expect(rows.contains("tcp        0      0 0.0.0.0:9000            0.0.0.0:*               LISTEN"), "\(rows)")
    }
}
