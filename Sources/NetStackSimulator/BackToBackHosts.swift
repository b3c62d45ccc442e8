import NetStackWire
import NetStackCore

/// Two hosts joined back to back in memory, 192.0.2.1 and 192.0.2.2 on one
/// MTU-sized link with static ARP entries, and with `ipv6` also 2001:db8::1/64 and
/// 2001:db8::2/64 with static neighbour entries (DAD off): the in-process benchmarks' network.
///
/// Frames go from one host's transmit queue straight into the other's adapter
/// (one copy, as a wire would make), every IP and TCP checksum computed on send
/// and verified on receive, no FCS (like a TAP link).
struct BackToBackHosts {
    let first: Host
    let second: Host

    /// The two hosts, both with `tcp` as their TCP configuration; with `ipv6`, dual-stack; with
    /// `coalescing`, each adapter glues the in-order TCP segments of one carry as it stores them
    /// (`AdapterConfig.receiveCoalescing`), as the runtime's does for a batch read from a device.
    init(mtu: Int, tcp: TCPConfig, ipv6: Bool = false, coalescing: Bool = false) {
        func makeHost(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.tcp = tcp
            config.randomSeed = UInt64(last)
            // Static addresses usable at once, as `ip -6 addr add … nodad`: no DAD exchange to wait for.
            config.ipv6.addresses.dupAddrDetectTransmits = 0
            let host = Host(config)
            var adapter = AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last), mtu: mtu, fcs: false)
            adapter.receiveCoalescing = coalescing
            host.addInterface(adapter)
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            if ipv6 { host.assign(Self.address6(last), prefixLength: 64, to: InterfaceID(0), now: .zero) }
            return host
        }
        first = makeHost("sender", 1)
        second = makeHost("receiver", 2)
        first.addStaticARP(Self.secondAddress, mac: MACAddress(2, 0, 0, 0, 0, 2), interface: InterfaceID(0))
        second.addStaticARP(Self.firstAddress, mac: MACAddress(2, 0, 0, 0, 0, 1), interface: InterfaceID(0))
        if ipv6 {
            first.addStaticNeighbor6(Self.secondAddress6, mac: MACAddress(2, 0, 0, 0, 0, 2), interface: InterfaceID(0))
            second.addStaticNeighbor6(Self.firstAddress6, mac: MACAddress(2, 0, 0, 0, 0, 1), interface: InterfaceID(0))
        }
    }

    static let firstAddress = IPv4Address(192, 0, 2, 1)
    static let secondAddress = IPv4Address(192, 0, 2, 2)
    static let firstAddress6 = address6(1)
    static let secondAddress6 = address6(2)

    /// 2001:db8::`last`.
    private static func address6(_ last: UInt8) -> IPv6Address { IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, UInt16(last)) }

    /// Moves every frame queued on `from` into `to`'s adapter; returns how many. O(frames).
    @inline(__always)
    static func carry(from: Host, to: Host, now: Instant) -> Int {
        var moved = 0
        while from.takeFrame(from: InterfaceID(0), { frame in to.receive(frame, on: InterfaceID(0), now: now) }) != nil {
            moved += 1
        }
        return moved
    }
}
