// Redirects on a host (RFC 4861 §8): which ones are followed (§8.1's validity checks, and only
// from the destination's current first-hop router), what following one does (§8.3: later
// packets go to the target, whose link address the option gives, STALE), and the bound on the
// table a flood of them fills.

@testable import NetStackCore
import NetStackWire
import Testing

/// Host A (2001:db8::1/64, DAD off) whose default router is fe80::1 at Lab.macR0 (a permanent
/// neighbour entry, so packets leave at once); the router's redirects are fed to it.
struct RedirectedHost {
    static let address = IPv6Address("2001:db8::1")!
    static let router = IPv6Address("fe80::1")!
    static let better = IPv6Address("fe80::2")!
    static let remote = IPv6Address("2001:db8:99::7")!

    let host: Host
    var now = Instant.zero + .seconds(1)

    init(configure: (inout HostConfig) -> Void = { _ in }) {
        host = makeHost("A", [Port("eth0", Lab.macA, nil)]) {
            $0.ipv6.addresses.dupAddrDetectTransmits = 0
            configure(&$0)
        }
        host.assign(Self.address, prefixLength: 64, to: eth0, now: .zero)
        host.setDefaultGateway6(Self.router, interface: eth0)
        host.addStaticNeighbor6(Self.router, mac: Lab.macR0, interface: eth0)
        host.drain()
    }

    /// A redirect of `destination` to `target` from `source`, as a router sends it to A's address.
    static func redirect(_ destination: IPv6Address, to target: IPv6Address, from source: IPv6Address = router,
                         targetMAC: MACAddress? = Lab.macOther, hopLimit: UInt8 = 255) -> [UInt8] {
        let packet = Hostile6.ndp(.redirect(target: target, destination: destination),
                                  options: NDPOptions(targetLinkLayerAddress: targetMAC),
                                  from: source, to: address, hopLimit: hopLimit)
        return Build.ethernet(to: Lab.macA, from: Lab.macR0, type: .ipv6, packet)
    }

    func feed(_ frame: [UInt8]) { host.feed(frame, at: now) }

    /// Pings `destination` once and returns the Ethernet destination of the echo request's frame.
    func firstHopMAC(toward destination: IPv6Address = remote, sequence: UInt16 = 1) throws -> MACAddress? {
        let socket = try host.openPing(identifier: 0x7e00 &+ sequence)
        try host.ping(socket, to: destination, sequence: sequence, now: now)
        let frames = host.sent().filter { $0.count > 54 && $0[12] == 0x86 && $0[13] == 0xDD && $0[54] == 128 }
        guard let frame = frames.first else { return nil }
        return try frame.withUnsafeBytes { try EthernetHeader.parse($0).destination }
    }
}

@Suite("IPv6 redirects (RFC 4861 §8)")
struct IPv6RedirectTests {
    typealias Lab6 = RedirectedHost

    @Test("a redirect from the first-hop router sends later packets to its target, whose entry is learnt STALE and a router")
    func acceptedRedirectChangesNextHop() throws {
        let lab = Lab6()
        #expect(try lab.firstHopMAC() == Lab.macR0)
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better))
        #expect(lab.host.statistics.icmp6InRedirects == 1 && lab.host.statistics.ndpRedirectsIgnored == 0)
        let entry = try #require(lab.host.neighborCache6.entry(NeighborKey(Lab6.better, on: eth0)))
        #expect(entry.linkAddress == Lab.macOther && entry.state == .stale && entry.isRouter)
        #expect(try lab.firstHopMAC(sequence: 2) == Lab.macOther)
        // Only that destination: another still goes through the router.
        #expect(try lab.firstHopMAC(toward: IPv6Address("2001:db8:99::8")!, sequence: 3) == Lab.macR0)
    }

    @Test("a redirect whose target is the destination itself makes the destination on-link")
    func redirectToDestinationItself() throws {
        let lab = Lab6()
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.remote, targetMAC: Lab.macB))
        #expect(try lab.firstHopMAC() == Lab.macB)
        #expect(lab.host.neighborCache6.entry(NeighborKey(Lab6.remote, on: eth0))?.isRouter == false)
    }

    @Test("a redirect from a link-local node that is not the first-hop router is ignored and counted")
    func redirectFromNonRouterIgnored() throws {
        let lab = Lab6()
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better, from: IPv6Address("fe80::99")!))
        #expect(lab.host.statistics.icmp6InRedirects == 1 && lab.host.statistics.ndpRedirectsIgnored == 1)
        #expect(lab.host.redirects6.isEmpty)
        #expect(lab.host.neighborCache6.entry(NeighborKey(Lab6.better, on: eth0)) == nil)
        #expect(try lab.firstHopMAC() == Lab.macR0)
    }

    @Test("redirects with hop limit 254, an off-link (global) source or a multicast destination are invalid (§8.1)")
    func invalidRedirectsIgnored() throws {
        let lab = Lab6()
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better, hopLimit: 254))
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better, from: IPv6Address("2001:db8::fe")!))
        lab.feed(Lab6.redirect(IPv6Address("ff0e::1")!, to: Lab6.better))
        #expect(lab.host.statistics.ndpInvalid == 3)
        #expect(lab.host.statistics.icmp6InRedirects == 0)
        #expect(lab.host.redirects6.isEmpty)
        #expect(try lab.firstHopMAC() == Lab.macR0)
    }

    @Test("after a redirect the target is the first hop: its own redirect is followed, the old router's no longer")
    func currentFirstHopOnly() throws {
        let lab = Lab6()
        let third = IPv6Address("fe80::3")!
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better))
        lab.feed(Lab6.redirect(Lab6.remote, to: third, from: Lab6.router, targetMAC: Lab.macB))
        #expect(lab.host.statistics.ndpRedirectsIgnored == 1)
        #expect(try lab.firstHopMAC() == Lab.macOther)
        lab.feed(Lab6.redirect(Lab6.remote, to: third, from: Lab6.better, targetMAC: Lab.macB))
        #expect(lab.host.statistics.ndpRedirectsIgnored == 1)
        #expect(try lab.firstHopMAC(sequence: 2) == Lab.macB)
    }

    @Test("a redirect for a destination on the link (no router in the way) is ignored")
    func onLinkDestinationNotRedirected() throws {
        let lab = Lab6()
        lab.feed(Lab6.redirect(IPv6Address("2001:db8::5")!, to: Lab6.better))
        #expect(lab.host.statistics.ndpRedirectsIgnored == 1 && lab.host.redirects6.isEmpty)
    }

    @Test("a host that forwards does not act on redirects")
    func forwardingHostIgnoresRedirects() throws {
        let lab = Lab6 { $0.forwarding = true }
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better))
        #expect(lab.host.statistics.ndpRedirectsIgnored == 1 && lab.host.redirects6.isEmpty)
        #expect(try lab.firstHopMAC() == Lab.macR0)
    }

    @Test("a redirect lasts ten minutes; then packets go through the router again")
    func redirectExpires() throws {
        var lab = Lab6()
        lab.feed(Lab6.redirect(Lab6.remote, to: Lab6.better))
        lab.now = lab.now + .seconds(599)
        #expect(try lab.firstHopMAC() == Lab.macOther)
        lab.now = lab.now + .seconds(2)
        #expect(try lab.firstHopMAC(sequence: 2) == Lab.macR0)
    }

    @Test("10,000 redirects for distinct destinations keep the table at its bound, counted; the last ones hold")
    func redirectFloodBounded() throws {
        var lab = Lab6()
        let capacity = lab.host.redirects6.capacity
        let start = lab.now
        for index in 0..<10_000 {
            lab.now = start + .milliseconds(index)  // the targets' neighbour entries, oldest evicted first
            let destination = IPv6Address(0x2001, 0xdb8, 0xff, 0, 0, 0, UInt16(index >> 16), UInt16(index & 0xFFFF))
            let target = IPv6Address(0xfe80, 0, 0, 0, 0, 0, UInt16(index >> 16), UInt16(index & 0xFFFF) | 0x8000)
            lab.feed(Lab6.redirect(destination, to: target, targetMAC: Hostile6.mac(index)))
            if index % 1000 == 999 { #expect(lab.host.redirects6.count <= capacity) }
        }
        #expect(lab.host.statistics.icmp6InRedirects == 10_000 && lab.host.statistics.ndpRedirectsIgnored == 0)
        #expect(lab.host.redirects6.count == capacity)
        #expect(lab.host.redirects6.evictions == 10_000 - capacity)
        expectBounded(lab.host)
        lab.now = lab.now + .milliseconds(1)
        let report = lab.host.statisticsReport()
        #expect(report.contains("    10000 redirects received\n"))
        #expect(report.contains("    \(10_000 - capacity) redirected destinations evicted (table full)\n"))
        // The newest destination is still redirected; the first went back to the router.
        let last = IPv6Address(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 9_999)
        #expect(try lab.firstHopMAC(toward: last) == Hostile6.mac(9_999))
        #expect(try lab.firstHopMAC(toward: IPv6Address(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 0), sequence: 2) == Lab.macR0)
    }
}

@Suite("RedirectTable: bounded, oldest out, aged")
struct RedirectTableTests {
    static let router = IPv6Address("fe80::1")!
    static func destination(_ n: UInt16) -> IPv6Address { IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, n) }

    @Test("when full, a new destination pushes out the one that came first; a repeated one is updated in place")
    func oldestOut() {
        var table = RedirectTable(capacity: 3)
        for n: UInt16 in 1...3 {
            table.add(destination: Self.destination(n), target: .allNodes, interface: eth0, router: Self.router, now: .zero)
        }
        table.add(destination: Self.destination(1), target: Self.destination(1), interface: eth0, router: Self.router,
                  now: .zero)
        #expect(table.count == 3 && table.evictions == 0)
        #expect(table.target(for: Self.destination(1), via: Self.router, on: eth0, now: .zero) == Self.destination(1))
        table.add(destination: Self.destination(4), target: Self.destination(4), interface: eth0, router: Self.router,
                  now: .zero)
        #expect(table.count == 3 && table.evictions == 1)
        #expect(table.target(for: Self.destination(1), via: Self.router, on: eth0, now: .zero) == nil)
        #expect(table.entries(now: .zero).map(\.destination) == [UInt16(2), 3, 4].map(Self.destination))
    }

    @Test("an entry holds only through the router it was made for, on its interface, until it expires")
    func lookupConditions() {
        var table = RedirectTable(capacity: 4, lifetime: .seconds(10))
        let target = IPv6Address("fe80::2")!
        table.add(destination: Self.destination(1), target: target, interface: eth0, router: Self.router, now: .zero)
        #expect(table.target(for: Self.destination(1), via: Self.router, on: eth0, now: .zero + .seconds(9)) == target)
        #expect(table.target(for: Self.destination(1), via: IPv6Address("fe80::9")!, on: eth0, now: .zero) == nil)
        #expect(table.target(for: Self.destination(1), via: Self.router, on: eth1, now: .zero) == nil)
        #expect(table.target(for: Self.destination(1), via: Self.router, on: eth0, now: .zero + .seconds(10)) == nil)
        table.removeExpired(now: .zero + .seconds(10))
        #expect(table.isEmpty)
    }
}
