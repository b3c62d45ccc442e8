import NetStackWire
import NetStackCore

/// Two hosts joined back to back in memory, 192.0.2.1 and 192.0.2.2 on one
/// MTU-sized link with static ARP entries: the in-process benchmarks' network.
///
/// Frames go from one host's transmit queue straight into the other's adapter
/// (one copy, as a wire would make), every IP and TCP checksum computed on send
/// and verified on receive, no FCS (like a TAP link).
struct BackToBackHosts {
    let first: Host
    let second: Host

    /// The two hosts, both with `tcp` as their TCP configuration.
    init(mtu: Int, tcp: TCPConfig) {
        func makeHost(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.tcp = tcp
            config.randomSeed = UInt64(last)
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last), mtu: mtu, fcs: false))
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return host
        }
        first = makeHost("sender", 1)
        second = makeHost("receiver", 2)
        first.addStaticARP(Self.secondAddress, mac: MACAddress(2, 0, 0, 0, 0, 2), interface: InterfaceID(0))
        second.addStaticARP(Self.firstAddress, mac: MACAddress(2, 0, 0, 0, 0, 1), interface: InterfaceID(0))
    }

    static let firstAddress = IPv4Address(192, 0, 2, 1)
    static let secondAddress = IPv4Address(192, 0, 2, 2)

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
