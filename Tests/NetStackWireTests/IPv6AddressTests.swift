// IPv6 addresses (RFC 4291 text forms, RFC 5952 canonical text, the derived multicast and
// link-local addresses), networks and the two-family IPAddress. glibc's inet_pton and
// inet_ntop are the oracle for text, the Linux captures for derived addresses.

#if canImport(Glibc)
import Glibc
#endif
import NetStackTestSupport
import NetStackWire
import Testing

/// glibc's reading of `text`, or nil when it refuses it.
private func libcParse(_ text: String) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: 16)
    let status = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) }
    return status == 1 ? bytes : nil
}

/// glibc's text for `octets`.
private func libcText(_ octets: [UInt8]) -> String {
    var text = [CChar](repeating: 0, count: 64)
    _ = octets.withUnsafeBytes { inet_ntop(AF_INET6, $0.baseAddress, &text, 64) }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A deterministic generator (SplitMix64), so a failure names a reproducible case.
private struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Eight groups rich in zero runs, so that every `::` placement occurs.
    mutating func groups() -> [UInt16] {
        (0..<8).map { _ in
            switch next() % 4 {
            case 0, 1: 0
            case 2: UInt16(truncatingIfNeeded: next() % 16)
            default: UInt16(truncatingIfNeeded: next())
            }
        }
    }
}

private func address(_ groups: [UInt16]) -> IPv6Address {
    IPv6Address(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
}

@Suite("IPv6 address text")
struct IPv6AddressTextTests {
    @Test("every RFC 4291 §2.2 form parses to the octets glibc reads", arguments: [
        "2001:db8:0:0:8:800:200c:417a", "2001:DB8::8:800:200C:417A", "2001:0db8:0000:0000:0000:0000:0000:0001",
        "ff01::101", "::1", "::", "fe80::ff:fe00:6a01", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "1::8", "0:0:0:0:0:0:13.1.68.3", "::13.1.68.3", "::ffff:129.144.52.38", "64:ff9b::198.51.100.7",
        "1:2:3:4:5:6:192.0.2.1", "2001:db8::192.0.2.1",
    ])
    func parsesLikeGlibc(text: String) throws {
        let parsed = try #require(IPv6Address(text))
        #expect(parsed.octets == libcParse(text))
    }

    @Test("malformed text is refused (and glibc refuses it too)", arguments: [
        "", ":", ":::", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5",
        "::256.0.0.1", "1:2:3:4:5:6:7:1.2.3.4", " ::1", "::1 ", "::-1", "::+1",
    ])
    func refusesMalformed(text: String) {
        #expect(IPv6Address(text) == nil)
        #expect(libcParse(text) == nil)
    }

    @Test("zone indexes, brackets and prefix lengths are not part of an address", arguments: [
        "fe80::1%eth0", "[::1]", "2001:db8::/32",
    ])
    func refusesDecorations(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("canonical text follows RFC 5952's examples", arguments: [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  // §4.1 leading zeros
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),  // §4.2.1 shorten as much as possible
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2 one 0 group stays
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3 the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3 the first of equal runs
        ("2001:DB8::AAAA", "2001:db8::aaaa"),  // §4.3 lower case
        ("0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"),  // §5 IPv4-mapped
        ("::", "::"), ("::1", "::1"), ("1::", "1::"), ("fe80::", "fe80::"),
    ])
    func canonical(text: String, expected: String) throws {
        #expect(try #require(IPv6Address(text)).description == expected)
    }

    @Test("canonical text matches glibc's inet_ntop on 5,000 addresses rich in zero runs")
    func canonicalMatchesGlibc() throws {
        var random = SplitMix(state: 6)
        var compared = 0
        for _ in 0..<5_000 {
            let groups = random.groups()
            // glibc also prints the deprecated IPv4-compatible ::a.b.c.d in dotted form; RFC 5952 does not.
            if groups[0..<6].allSatisfy({ $0 == 0 }) && groups[6] != 0 { continue }
            let value = address(groups)
            #expect(value.description == libcText(value.octets), "\(groups)")
            #expect(IPv6Address(value.description) == value)
            compared += 1
        }
        #expect(compared > 4_500)
    }

    @Test("the uncompressed, zero-padded form of any address parses back to it")
    func longFormRoundTrips() {
        var random = SplitMix(state: 7)
        for _ in 0..<1_000 {
            let groups = random.groups()
            let long = groups.map { String(repeating: "0", count: 4 - String($0, radix: 16).count) + String($0, radix: 16) }
                .joined(separator: ":")
            #expect(IPv6Address(long) == address(groups), "\(long)")
            #expect(IPv6Address(long.uppercased()) == address(groups), "\(long)")
        }
    }
}

@Suite("IPv6 address kinds and derived addresses")
struct IPv6AddressKindTests {
    @Test("kinds follow RFC 4291's prefixes")
    func kinds() throws {
        let linkLocal = try #require(IPv6Address("fe80::ff:fe00:6a01"))
        #expect(linkLocal.isLinkLocal && !linkLocal.isMulticast && !linkLocal.isLoopback)
        #expect(try #require(IPv6Address("febf:ffff::1")).isLinkLocal)  // still fe80::/10
        #expect(try !#require(IPv6Address("fec0::1")).isLinkLocal)
        #expect(try !#require(IPv6Address("2001:db8::1")).isLinkLocal)
        #expect(IPv6Address.unspecified.isUnspecified && !IPv6Address.loopback.isUnspecified)
        #expect(IPv6Address.loopback.isLoopback && IPv6Address("::1") == .loopback)
        #expect(IPv6Address.allNodes.isMulticast && IPv6Address.allNodes.multicastScope == 2)
        #expect(IPv6Address.allNodes.isLinkLocalMulticast)
        #expect(try #require(IPv6Address("ff0e::101")).multicastScope == 14)
        #expect(try !#require(IPv6Address("ff0e::101")).isLinkLocalMulticast)
        #expect(linkLocal.multicastScope == nil)
        #expect(IPv6Address.allMLDv2Routers.description == "ff02::16")
        #expect(IPv6Address.allRouters.description == "ff02::2")
    }

    @Test("IPv4-mapped addresses carry their IPv4 address both ways")
    func ipv4Mapped() throws {
        let mapped = IPv6Address(ipv4Mapped: IPv4Address(192, 0, 2, 1))
        #expect(mapped.isIPv4Mapped)
        #expect(mapped.ipv4Mapped == IPv4Address(192, 0, 2, 1))
        #expect(mapped == IPv6Address("::ffff:c000:201"))
        #expect(try #require(IPv6Address("::c000:201")).ipv4Mapped == nil)  // IPv4-compatible is not mapped
    }

    @Test("the solicited-node groups Linux sent DAD and address resolution to (ipv6-link-up, ipv6-ndp-echo)", arguments: [
        ("fe80::ff:fe00:6a01", "ff02::1:ff00:6a01"),  // ipv6-link-up #5
        ("2001:db8:1::1", "ff02::1:ff00:1"),  // ipv6-link-up #7
        ("2001:db8:1::fe", "ff02::1:ff00:fe"),  // ipv6-ndp-echo #1
        ("2001:db8:9::1", "ff02::1:ff00:1"),  // icmpv6-redirect #3
        ("2001:db8::abcd:ef12:3456", "ff02::1:ff12:3456"),  // only the low 24 bits
    ])
    func solicitedNode(unicast: String, group: String) throws {
        let computed = try #require(IPv6Address(unicast)).solicitedNodeMulticast
        #expect(computed == IPv6Address(group))
        #expect(computed.isSolicitedNodeMulticast)
        #expect(try !#require(IPv6Address(unicast)).isSolicitedNodeMulticast)
    }

    @Test("multicast destinations map to the Ethernet destinations Linux used (RFC 2464 §7)")
    func multicastMAC() throws {
        var checked = 0
        for name in ["ipv6-link-up", "ipv6-ndp-echo", "icmpv6-redirect"] {
            for frame in try Fixtures.captureFrames(name) where frame[38] == 0xFF {
                let destination = try #require(IPv6Address(octets: frame[38..<54]))
                #expect(destination.multicastMAC.octets == Array(frame[0..<6]), "\(name) \(destination)")
                checked += 1
            }
        }
        #expect(checked == 17)  // `tshark -Y "ipv6.dst == ff00::/8"`: 13 in ipv6-link-up, 1 in ipv6-ndp-echo, 3 in icmpv6-redirect
        #expect(IPv6Address.allNodes.multicastMAC == MACAddress(0x33, 0x33, 0, 0, 0, 1))
    }

    @Test("the EUI-64 link-local address of a MAC is the one Linux formed (ipv6-link-up #9)")
    func eui64LinkLocal() throws {
        let frame = try Golden.frame("ipv6-link-up", 9)  // the router solicitation from A's link-local address
        let mac = MACAddress(frame[6], frame[7], frame[8], frame[9], frame[10], frame[11])
        #expect(IPv6Address.linkLocal(eui64: mac) == IPv6Address(octets: frame[22..<38]))
        #expect(IPv6Address.linkLocal(eui64: mac).description == "fe80::ff:fe00:6a01")
        // RFC 4291 appendix A: the universal/local bit is inverted, 0x00 becomes 0x02.
        #expect(IPv6Address.interfaceIdentifier(eui64: MACAddress(0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e))
            == 0x021b_21ff_fe3c_4d5e)
    }

    @Test("ordering is numeric, octet by octet")
    func ordering() throws {
        let texts = ["::", "::1", "::ffff:0", "1::", "2001:db8::", "2001:db8::1", "2001:db8:0:1::", "fe80::", "ff02::1"]
        let addresses = try texts.map { try #require(IPv6Address($0)) }
        #expect(addresses.sorted() == addresses)
        #expect(addresses.shuffled().sorted() == addresses)
    }

    @Test("octets, groups and the 16-octet initializer agree")
    func octets() throws {
        let value = try #require(IPv6Address("2001:db8:1::ff:fe00:6a01"))
        #expect(value.groups == [0x2001, 0xdb8, 1, 0, 0, 0xff, 0xfe00, 0x6a01])
        #expect(IPv6Address(octets: value.octets) == value)
        #expect(IPv6Address(octets: [UInt8](repeating: 0, count: 15)) == nil)
    }
}

@Suite("IPv6 networks and IPAddress")
struct IPv6NetworkTests {
    @Test("a network clears host bits and contains exactly its prefix")
    func containment() throws {
        let network = try #require(IPv6Network("2001:db8:1::1/64"))
        #expect(network == IPv6Network("2001:db8:1::/64"))
        #expect(network.description == "2001:db8:1::/64")
        #expect(network.contains(try #require(IPv6Address("2001:db8:1::ff:fe00:6a01"))))
        #expect(network.contains(try #require(IPv6Address("2001:db8:1:0:ffff:ffff:ffff:ffff"))))
        #expect(!network.contains(try #require(IPv6Address("2001:db8:1:1::"))))
        #expect(!network.contains(try #require(IPv6Address("2001:db8:2::1"))))
        #expect(network.contains(try #require(IPv6Network("2001:db8:1:0:8000::/65"))))
        #expect(!network.contains(try #require(IPv6Network("2001:db8::/48"))))
    }

    @Test("masks at the edges of the two 64-bit halves", arguments: [
        (0, "::"), (1, "8000::"), (63, "ffff:ffff:ffff:fffe::"), (64, "ffff:ffff:ffff:ffff::"),
        (65, "ffff:ffff:ffff:ffff:8000::"), (127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
        (128, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ])
    func masks(length: Int, expected: String) throws {
        #expect(IPv6Address.mask(prefixLength: length) == IPv6Address(expected))
    }

    @Test("/0 holds everything, /128 one address")
    func extremes() throws {
        let everything = try #require(IPv6Network("::/0"))
        let one = try #require(IPv6Network("2001:db8::1/128"))
        var random = SplitMix(state: 8)
        for _ in 0..<200 {
            let value = address(random.groups())
            #expect(everything.contains(value))
            #expect(one.contains(value) == (value == IPv6Address("2001:db8::1")))
        }
    }

    @Test("the longest matching prefix is found by comparing prefix lengths")
    func longestPrefixMatch() throws {
        let routes = try ["::/0", "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1:2::/64"].map { try #require(IPv6Network($0)) }
        func best(_ text: String) throws -> IPv6Network? {
            let target = try #require(IPv6Address(text))
            return routes.filter { $0.contains(target) }.max { $0.prefixLength < $1.prefixLength }
        }
        #expect(try best("2001:db8:1:2::9")?.prefixLength == 64)
        #expect(try best("2001:db8:1:3::9")?.prefixLength == 48)
        #expect(try best("2001:db8:7::1")?.prefixLength == 32)
        #expect(try best("2001:db9::1")?.prefixLength == 0)
    }

    @Test("malformed networks are refused", arguments: ["2001:db8::/129", "2001:db8::", "/64", "2001:db8::/", "2001:db8::/6x", "2001:db8::/64/1", "192.0.2.0/24", "2001:db8::/-1"])
    func refused(text: String) {
        #expect(IPv6Network(text) == nil)
    }

    @Test("IPAddress reads either family, prints canonically and orders IPv4 first")
    func eitherFamily() throws {
        #expect(IPAddress("192.0.2.1") == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(IPAddress("2001:DB8::1") == .v6(try #require(IPv6Address("2001:db8::1"))))
        #expect(IPAddress("2001:DB8::1")?.description == "2001:db8::1")
        #expect(IPAddress("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPAddress("::ffff:192.0.2.1")?.ipv4 == IPv4Address(192, 0, 2, 1))
        #expect(IPAddress("2001:db8::1")?.ipv4 == nil)
        #expect(IPAddress("ff02::1")?.isMulticast == true && IPAddress("224.0.0.1")?.isMulticast == true)
        #expect(IPAddress("192.0.2") == nil && IPAddress("example.com") == nil)
        let sorted = try ["2001:db8::1", "198.51.100.1", "::1", "192.0.2.1"].map { try #require(IPAddress($0)) }.sorted()
        #expect(sorted.map(\.description) == ["192.0.2.1", "198.51.100.1", "::1", "2001:db8::1"])
    }
}
