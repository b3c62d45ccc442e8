public import NetStackWire
public import NetStackCore
public import NetStackDevices

/// The foundation's reference network: two LANs joined by a router.
///
///     client 192.0.2.10 ──┐
///     laptop 192.0.2.20 ── hub ── router eth0 192.0.2.1
///                                 router eth1 198.51.100.1 ── switch ── server 198.51.100.10
///                                                                    └─ dns    198.51.100.53
///
/// The laptop only listens: every frame the hub repeats reaches its adapter,
/// whose MAC filter discards what is not addressed to it.
///
/// With `ipv6` the same network carries IPv6 only (RFC 3849's 2001:db8::/32):
///
///     client 2001:db8:a::10 ──┐
///     laptop 2001:db8:a::20 ── hub ── router eth0 2001:db8:a::1
///                                     router eth1 2001:db8:b::1 ── switch ── server 2001:db8:b::10
///                                                                         └─ dns    2001:db8:b::53
///
/// Addresses come from the documentation ranges (RFC 5737, RFC 3849); MACs are locally
/// administered (02:…). Every cable is Fast Ethernet carrying an FCS, so the
/// adapters check it. Used by the demo and the simulator tests.
public final class TwoLANNetwork {
    public let simulator: Simulator
    public let client: HostNode
    public let router: HostNode
    public let server: HostNode
    public let dns: HostNode
    public let laptop: HostNode
    public let hub: Hub
    public let switch_: LearningSwitch
    /// Cables, named by what they join.
    public let clientCable: Link, routerLANACable: Link, routerLANBCable: Link, serverCable: Link, dnsCable: Link, laptopCable: Link

    public static let clientAddress = IPv4Address(192, 0, 2, 10)
    public static let laptopAddress = IPv4Address(192, 0, 2, 20)
    public static let routerAddressA = IPv4Address(192, 0, 2, 1)
    public static let routerAddressB = IPv4Address(198, 51, 100, 1)
    public static let serverAddress = IPv4Address(198, 51, 100, 10)
    public static let dnsAddress = IPv4Address(198, 51, 100, 53)
    /// The hosts' IPv6 addresses (with `ipv6`): LAN A 2001:db8:a::/64, LAN B 2001:db8:b::/64.
    public static let clientAddress6 = IPv6Address(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x10)
    public static let laptopAddress6 = IPv6Address(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x20)
    public static let routerAddressA6 = IPv6Address(0x2001, 0xdb8, 0xa, 0, 0, 0, 0, 0x1)
    public static let routerAddressB6 = IPv6Address(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 0x1)
    public static let serverAddress6 = IPv6Address(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 0x10)
    public static let dnsAddress6 = IPv6Address(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 0x53)

    /// Builds the network at time zero. `lanAMTU` sets the MTU of the LAN A hosts
    /// and the router's LAN A side; `lanBMTU` the same for LAN B (smaller than
    /// LAN A's to make the router fragment). Both also set the MSS the hosts'
    /// TCP announces (MTU − 40). `cable` is the impairment every cable gets
    /// (FCS is always carried). Each host's `randomSeed` derives from `seed`
    /// (so its secrets, and the whole run, are reproducible) before `configure`
    /// runs, which may set another. With `ipv6` every host gets its IPv6 address instead
    /// (no IPv4 at all), each passing duplicate address detection in its first two seconds,
    /// and a static default route through the router.
    public init(seed: UInt64, lanAMTU: Int = 1500, lanBMTU: Int = 1500, cable: LinkConfig = .fastEthernet,
                ipv6: Bool = false, configure: (inout HostConfig) -> Void = { _ in }) {
        let simulator = Simulator(seed: seed)
        self.simulator = simulator
        var hostIndex: UInt64 = 0
        func makeHost(_ name: String, forwarding: Bool = false) -> Host {
            var config = HostConfig(name: name)
            config.forwarding = forwarding
            // Each host's secrets from the simulator's seed, so the run is reproducible;
            // `configure` may set another seed.
            var stream = simulator.randomStream(1 << 62 | hostIndex)  // apart from streams others ask for
            config.randomSeed = stream.next()
            hostIndex += 1
            configure(&config)
            return Host(config)
        }
        let clientHost = makeHost("client"), routerHost = makeHost("router", forwarding: true)
        let serverHost = makeHost("server"), dnsHost = makeHost("dns"), laptopHost = makeHost("laptop")
        let c0 = clientHost.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0x0a, 0x0a), mtu: lanAMTU))
        let l0 = laptopHost.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0x0a, 0x14), mtu: lanAMTU))
        let r0 = routerHost.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0x0a, 0x01), mtu: lanAMTU))
        let r1 = routerHost.addInterface(AdapterConfig(name: "eth1", mac: MACAddress(2, 0, 0, 0, 0x0b, 0x01), mtu: lanBMTU))
        let s0 = serverHost.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0x0b, 0x0a), mtu: lanBMTU))
        let d0 = dnsHost.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0x0b, 0x35), mtu: lanBMTU))

        client = HostNode(clientHost)
        router = HostNode(routerHost)
        server = HostNode(serverHost)
        dns = HostNode(dnsHost)
        laptop = HostNode(laptopHost)
        hub = Hub(name: "hub", portCount: 4)
        switch_ = LearningSwitch(name: "switch", portCount: 4, fcs: true)

        var wire = cable
        wire.fcs = true
        clientCable = simulator.connect(client, 0, hub, 0, config: wire, name: "client-hub")
        routerLANACable = simulator.connect(router, 0, hub, 1, config: wire, name: "router-hub")
        laptopCable = simulator.connect(laptop, 0, hub, 2, config: wire, name: "laptop-hub")
        routerLANBCable = simulator.connect(router, 1, switch_, 0, config: wire, name: "router-switch")
        serverCable = simulator.connect(server, 0, switch_, 1, config: wire, name: "server-switch")
        dnsCable = simulator.connect(dns, 0, switch_, 2, config: wire, name: "dns-switch")

        let now = simulator.now
        if ipv6 {
            for (host, interface, address, router) in [
                (clientHost, c0, Self.clientAddress6, Self.routerAddressA6), (laptopHost, l0, Self.laptopAddress6, Self.routerAddressA6),
                (serverHost, s0, Self.serverAddress6, Self.routerAddressB6), (dnsHost, d0, Self.dnsAddress6, Self.routerAddressB6),
            ] {
                host.assign(address, prefixLength: 64, to: interface, now: now)
                host.setDefaultGateway6(router, interface: interface)
            }
            routerHost.assign(Self.routerAddressA6, prefixLength: 64, to: r0, now: now)
            routerHost.assign(Self.routerAddressB6, prefixLength: 64, to: r1, now: now)
            return
        }
        clientHost.assign(Self.clientAddress, prefixLength: 24, to: c0, now: now)
        clientHost.setDefaultGateway(Self.routerAddressA, interface: c0)
        laptopHost.assign(Self.laptopAddress, prefixLength: 24, to: l0, now: now)
        laptopHost.setDefaultGateway(Self.routerAddressA, interface: l0)
        routerHost.assign(Self.routerAddressA, prefixLength: 24, to: r0, now: now)
        routerHost.assign(Self.routerAddressB, prefixLength: 24, to: r1, now: now)
        serverHost.assign(Self.serverAddress, prefixLength: 24, to: s0, now: now)
        serverHost.setDefaultGateway(Self.routerAddressB, interface: s0)
        dnsHost.assign(Self.dnsAddress, prefixLength: 24, to: d0, now: now)
        dnsHost.setDefaultGateway(Self.routerAddressB, interface: d0)
    }

    /// The hosts, in a fixed order.
    public var hosts: [HostNode] { [client, laptop, router, server, dns] }
    /// Every cable, in a fixed order.
    public var cables: [Link] { [clientCable, laptopCable, routerLANACable, routerLANBCable, serverCable, dnsCable] }

    /// Starts one pcap tap shared by every cable (each frame recorded once, when it is sent).
    public func captureAll() -> PcapTap {
        let tap = PcapTap()
        for cable in cables { cable.tap = tap }
        return tap
    }
}
