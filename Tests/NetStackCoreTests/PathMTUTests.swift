// Path MTU discovery for IPv6 (RFC 8201): the cache's rules — floor of 1,280, never raised by a
// packet too big, aged back to the link MTU after 10 minutes, bounded — and which packet too big
// messages to believe, fed the kernel's own (icmpv6-packet-too-big.pcap #2).

import NetStackCore
import NetStackTestSupport
import NetStackWire
import Testing

private let b = V6Frag.b
private let c = IPv6Address("2001:db8:2::3")!

@Suite("IPv6 path MTU cache (RFC 8201)")
struct PathMTUTests {
    @Test("a destination with no entry has the link MTU; a packet too big lowers it and only lowers it")
    func lowersNeverRaises() {
        var cache = PathMTUCache()
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .zero) == 1500)
        #expect(cache.packetTooBig(destination: b, reportedMTU: 1400, linkMTU: 1500, now: .zero) == 1400)
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .zero) == 1400)
        #expect(cache.packetTooBig(destination: b, reportedMTU: 1450, linkMTU: 1500, now: .seconds(1)) == nil)
        #expect(cache.packetTooBig(destination: b, reportedMTU: 1400, linkMTU: 1500, now: .seconds(1)) == nil)
        #expect(cache.packetTooBig(destination: b, reportedMTU: 9000, linkMTU: 1500, now: .seconds(1)) == nil)
        #expect(cache.packetTooBig(destination: b, reportedMTU: 1300, linkMTU: 1500, now: .seconds(2)) == 1300)
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .seconds(2)) == 1300)
        #expect(cache.pathMTU(to: c, linkMTU: 1500, now: .seconds(2)) == 1500, "per destination")
        #expect(cache.pathMTU(to: b, linkMTU: 1280, now: .seconds(2)) == 1280, "never above the link MTU")
    }

    @Test("a reported MTU below 1,280 is recorded as 1,280 (RFC 8201 §4, RFC 8021)", arguments: [0, 68, 576, 1279] as [UInt32])
    func floor(reported: UInt32) {
        var cache = PathMTUCache()
        #expect(cache.packetTooBig(destination: b, reportedMTU: reported, linkMTU: 1500, now: .zero) == 1280)
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .zero) == 1280)
        #expect(cache.packetTooBig(destination: c, reportedMTU: reported, linkMTU: 1280, now: .zero) == nil)
    }

    @Test("a learned path MTU goes back to the link MTU 10 minutes after the last decrease")
    func ageing() {
        var cache = PathMTUCache()
        cache.packetTooBig(destination: b, reportedMTU: 1400, linkMTU: 1500, now: .zero)
        cache.packetTooBig(destination: b, reportedMTU: 1350, linkMTU: 1500, now: .seconds(300))
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .seconds(899.999)) == 1350)
        #expect(cache.pathMTU(to: b, linkMTU: 1500, now: .seconds(900)) == 1500)
        // Once aged, a packet too big may lower it again, even to a value above the old estimate.
        #expect(cache.packetTooBig(destination: b, reportedMTU: 1450, linkMTU: 1500, now: .seconds(900)) == 1450)
        #expect(cache.expire(now: .seconds(1499)) == 0)
        #expect(cache.nextDeadline() == .seconds(1500))
        #expect(cache.expire(now: .seconds(1500)) == 1)
        #expect(cache.count == 0)
    }

    @Test("the table holds at most its capacity; the entry learned longest ago leaves first")
    func bounded() {
        var cache = PathMTUCache(capacity: 4096)
        for index in 0..<10_000 {
            let destination = IPv6Address(high: 0x2001_0db8_0000_0009, low: UInt64(index))
            cache.packetTooBig(destination: destination, reportedMTU: 1300, linkMTU: 1500, now: .milliseconds(Int64(index)))
        }
        #expect(cache.count == 4096)
        let oldest = IPv6Address(high: 0x2001_0db8_0000_0009, low: 10_000 - 4097)
        let youngest = IPv6Address(high: 0x2001_0db8_0000_0009, low: 10_000 - 4096)
        #expect(cache.pathMTU(to: oldest, linkMTU: 1500, now: .seconds(10)) == 1500)
        #expect(cache.pathMTU(to: youngest, linkMTU: 1500, now: .seconds(10)) == 1300)
    }

    @Test("the kernel's packet too big (MTU 1280) is believed for B when A sent the quoted echo, not for another host")
    func believesOwnPacketsOnly() throws {
        let frame = try Fixtures.captureFrames("icmpv6-packet-too-big")[1]
        let packet = Array(frame[14...])
        let router = IPv6Address("2001:db8:1::fe")!
        let header = try packet.withUnsafeBytes {
            try ICMPv6Header.parse(UnsafeRawBufferPointer(rebasing: $0[40...]), source: router, destination: V6Frag.a)
        }
        guard case let .packetTooBig(mtu) = header.message else { Issue.record("not a packet too big: \(header)"); return }
        #expect(mtu == 1280)
        let quoted = Array(packet[48...])
        let believed = quoted.withUnsafeBytes {
            PathMTUCache.destinationToLower(quoted: $0, reportedMTU: mtu) { $0 == V6Frag.a }
        }
        #expect(believed == b)
        let foreign = quoted.withUnsafeBytes {
            PathMTUCache.destinationToLower(quoted: $0, reportedMTU: mtu) { $0 == c }
        }
        #expect(foreign == nil)
        // The quoted echo was 1,448 bytes: a claim that 1,448 bytes were too many is a lie.
        let bigger = quoted.withUnsafeBytes {
            PathMTUCache.destinationToLower(quoted: $0, reportedMTU: 1448) { $0 == V6Frag.a }
        }
        #expect(bigger == nil)
        var cache = PathMTUCache()
        #expect(cache.packetTooBig(destination: b, reportedMTU: mtu, linkMTU: 1500, now: .zero) == 1280)
    }
}
