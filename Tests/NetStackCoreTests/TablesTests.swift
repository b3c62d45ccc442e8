// The text tables in the formats the chapter shows (net-tools `route` and
// `arp`), and the `ip -s link`-style adapter counters.

import NetStackCore
import NetStackWire
import Testing

@Suite("Tables: route, arp, link statistics")
struct TablesTests {
    @Test("routeTable has the chapter's `route` header and rows in its column layout")
    func routeTableText() throws {
        let host = makeRouter()
        host.setDefaultGateway(Lab.ipA, interface: eth0)
        host.addRoute(Route(destination: IPv4Network("203.0.113.9/32")!, gateway: Lab.ipA, interface: eth0, metric: 100))
        host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        let socket = host.udpOpen()
        for _ in 0..<3 { try host.udpSend(socket, [1], to: Endpoint(IPv4Address(192, 0, 2, 7), 9), now: .zero) }
        try host.udpSend(socket, [1], to: Endpoint(IPv4Address(203, 0, 113, 9), 9), now: .zero)

        let lines = host.routeTable().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(lines.count == 6)
        #expect(lines[0] == "Kernel IP routing table")
        #expect(lines[1] == "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface")
        // Row order: NetStack lists the table in lookup order (most specific first);
        // Linux lists it in the kernel's order. The rows themselves must match.
        #expect(Set(lines[2...]) == [
            "192.0.2.0       0.0.0.0         255.255.255.0   U     0      0        3 eth0",
            "198.51.100.0    0.0.0.0         255.255.255.0   U     0      0        0 eth1",
            "default         192.0.2.1       0.0.0.0         UG    0      0        0 eth0",
            "203.0.113.9     192.0.2.1       255.255.255.255 UGH   100    0        1 eth0",
        ])
    }

    @Test("the default row reads like the chapter's: `default`, gateway, 0.0.0.0, UG")
    func defaultRow() {
        let host = makeHost("A", [Port("eth0", Lab.macR0, Lab.ipR0)])
        host.setDefaultGateway(Lab.ipA, interface: eth0)
        #expect(host.routeTable().split(separator: "\n").map(String.init).contains(
            "default         192.0.2.1       0.0.0.0         UG    0      0        0 eth0"))
    }

    @Test("arpTable has the chapter's `arp` header; complete, permanent and incomplete rows in its columns")
    func arpTableText() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1), at: .zero)  // learns A
        host.addStaticARP(IPv4Address(192, 0, 2, 7), mac: Lab.macOther, interface: eth0)
        let socket = host.udpOpen()
        try host.udpSend(socket, [1], to: Endpoint(IPv4Address(192, 0, 2, 99), 9), now: .zero)  // resolving
        #expect(host.arpTable(now: .s(1)) == """
            Address                  HWtype  HWaddress           Flags Mask            Iface
            192.0.2.1                ether   02:00:00:00:0a:01   C                     eth0
            192.0.2.7                ether   02:00:00:00:0c:99   CM                    eth0
            192.0.2.99                       (incomplete)                              eth0
            """)
    }

    @Test("expired entries leave the arp table; permanent ones stay")
    func arpTableAfterExpiry() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1), at: .zero)
        host.addStaticARP(IPv4Address(192, 0, 2, 7), mac: Lab.macOther, interface: eth0)
        #expect(host.arpTable(now: .s(60)) == """
            Address                  HWtype  HWaddress           Flags Mask            Iface
            192.0.2.7                ether   02:00:00:00:0c:99   CM                    eth0
            """)
    }

    @Test("linkStatistics shows each adapter's counters in the manner of `ip -s link`")
    func linkStatisticsText() throws {
        let host = makeHost("R", [.r0])
        host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        host.feed(try captured("arp-icmp-echo", 3))  // 98 bytes in, a 98-byte reply out
        host.feed(readdressed(try captured("arp-icmp-echo", 3), to: Lab.macOther, from: Lab.macA))
        #expect(host.linkStatistics() == """
            1: eth0: <BROADCAST,MULTICAST,UP> mtu 1500
                link/ether 02:00:00:00:0a:fe brd ff:ff:ff:ff:ff:ff
                RX:     bytes  packets   errors  dropped   missed    mcast      crc filtered
                           98        1        0        0        0        0        0        1
                TX:     bytes  packets   errors  dropped  carrier  collsns
                          158        2        0        0        0        0
            """)
    }
}
