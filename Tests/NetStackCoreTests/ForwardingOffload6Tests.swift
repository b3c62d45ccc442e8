// A router with offload forwarding IPv6: what its device handed over with a partial checksum
// (virtio-net NEEDS_CSUM) leaves finished, and a TCP super-segment (TSO6) leaves cut to the next
// link's MTU instead of being answered with a Packet Too Big. The cuts are checked byte by byte
// with the harness's naive checksum over the RFC 8200 §8.1 pseudo-header.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Forwarding IPv6 with offload")
struct ForwardingOffload6Tests {
    static let a6 = IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)
    static let b6 = IPv6Address(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1)

    /// R: eth0 a TAP with offload (MTU 1,500) toward A, eth1 a 1,280-byte link toward B (a static neighbour).
    static func router() -> Host {
        var config = HostConfig(name: "R")
        config.forwarding = true
        let host = Host(config)
        var tap = AdapterConfig(name: "eth0", mac: Lab.macR0, mtu: 1500, fcs: false)
        tap.segmentationOffload = true
        let eth0 = host.addInterface(tap)
        let eth1 = host.addInterface(AdapterConfig(name: "eth1", mac: Lab.macR1, mtu: 1280, fcs: false))
        host.assign(IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfe), prefixLength: 64, to: eth0, now: .zero)
        host.assign(IPv6Address(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0xfe), prefixLength: 64, to: eth1, now: .zero)
        host.addStaticNeighbor6(b6, mac: Lab.macB, interface: eth1)
        host.poll(now: .seconds(3))  // DAD done
        _ = host.sent(on: eth0)
        _ = host.sent(on: eth1)
        return host
    }

    /// The one's-complement sum (complemented, as naiveChecksum gives it) of the pseudo-header and `upper`.
    static func checksum(_ packet: [UInt8]) -> UInt16 {
        let length = packet.count - 40
        let pseudo = Array(packet[8..<40]) + [0, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 0, 0, packet[6]]
        return naiveChecksum((pseudo + packet[40...])[...])
    }

    @Test("an IPv6 datagram whose checksum the device left partial leaves the router with it finished")
    func partialChecksumFinished() throws {
        let host = Self.router()
        let payload = [UInt8](repeating: 0x5A, count: 200)
        var udp = [UInt8](repeating: 0, count: 8) + payload
        udp[0] = 0x0F; udp[1] = 0xA0; udp[3] = 7
        udp[4] = UInt8(udp.count >> 8); udp[5] = UInt8(udp.count & 0xFF)
        var packet = [UInt8](repeating: 0, count: 40) + udp
        packet.withUnsafeMutableBytes {
            IPv6Header(source: Self.a6, destination: Self.b6, nextHeader: .udp, payloadLength: udp.count).emit(into: $0)
        }
        // As a NEEDS_CSUM frame holds it: only the pseudo-header's sum in the field.
        let pseudoOnly = Self.checksum(Array(packet[0..<40]) + [UInt8](repeating: 0, count: udp.count))  // zeros add nothing
        let partial = ~pseudoOnly
        packet[46] = UInt8(partial >> 8); packet[47] = UInt8(partial & 0xFF)
        #expect(Self.checksum(packet) != 0)
        let frame = Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv6, packet)
        frame.withUnsafeBytes { _ = host.receive($0, on: eth0, now: .seconds(3), checksumTrusted: true) }
        host.poll(now: .seconds(3))
        let out = try #require(host.sent(on: eth1).first { $0.count > 54 && $0[14 + 6] == 17 })
        #expect(out[14 + 7] == 63)
        #expect(Self.checksum(Array(out[14...])) == 0)
        #expect(host.statistics.ip6Forwarded == 1)
    }

    @Test("an IPv6 TCP super-segment its device handed over is forwarded cut to the next link's MTU, no Packet Too Big")
    func superSegmentCut() throws {
        let host = Self.router()
        let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let tcp = TCPHeader(sourcePort: 40000, destinationPort: 80, sequenceNumber: 5000, acknowledgmentNumber: 1,
                            flags: [.ack, .psh], window: 502)
        var segment = [UInt8](repeating: 0, count: tcp.headerLength) + data
        segment.withUnsafeMutableBytes {
            tcp.emit(into: $0, payloadLength: data.count, source: .v6(Self.a6), destination: .v6(Self.b6),
                     partialChecksum: true)
        }
        var packet = [UInt8](repeating: 0, count: 40) + segment
        packet.withUnsafeMutableBytes {
            IPv6Header(source: Self.a6, destination: Self.b6, nextHeader: .tcp, payloadLength: segment.count,
                       flowLabel: 0xBEEF).emit(into: $0)
        }
        let frame = Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv6, packet)
        frame.withUnsafeBytes { _ = host.receive($0, on: eth0, now: .seconds(3), checksumTrusted: true) }
        host.poll(now: .seconds(3))
        // (Only the TCP cuts and ICMPv6 matter here: R may also send MLD reports of its own.)
        #expect(!host.sent(on: eth0).contains { $0.count > 54 && $0[14 + 6] == 58 && $0[54] == 2 },
                "no Packet Too Big back to the sender")
        let out = host.sent(on: eth1).filter { $0.count > 54 && $0[14 + 6] == 6 }
        try #require(out.count == 3)  // 3,000 bytes in cuts of 1,280 − 40 − 20
        var joined: [UInt8] = []
        for (index, cut) in out.enumerated() {
            let ip = Array(cut[14...])
            let length = Int(ip[4]) << 8 | Int(ip[5])
            #expect(ip.count == 40 + length && ip.count <= 1280)
            #expect(ip[7] == 63)
            #expect(Array(ip[0..<4]) == [0x60, 0x00, 0xBE, 0xEF], "flow label kept")
            #expect(Self.checksum(ip) == 0, "cut \(index)")
            let seq = UInt32(ip[44]) << 24 | UInt32(ip[45]) << 16 | UInt32(ip[46]) << 8 | UInt32(ip[47])
            #expect(seq == 5000 + UInt32(joined.count))
            #expect(ip[53] & TCPFlags.psh.rawValue != 0 ? index == out.count - 1 : index < out.count - 1)
            joined += ip[60...]
        }
        #expect(joined == data)
        #expect(host.statistics.ip6Forwarded == 1)
        #expect(host.statistics.ip6InTooBigErrors == 0)
    }
}
