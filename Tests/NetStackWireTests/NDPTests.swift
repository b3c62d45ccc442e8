// Neighbour discovery (RFC 4861, RFC 8106) as Linux and radvd sent it: router solicitation
// and advertisement, neighbour solicitation (DAD and address resolution), advertisement,
// redirect; emit reproducing them; and RFC 4861's validation rules against forged messages.

import NetStackTestSupport
import NetStackWire
import Testing

private func parseNDP(_ capture: String, _ number: Int) throws -> NDPPacket {
    let packet = try GoldenV6.packet(capture, number)
    let ip = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
    return try Array(packet[40...]).withUnsafeBytes {
        try NDPPacket.parse($0, source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit)
    }
}

private let macA = MACAddress(0x02, 0, 0, 0, 0x6a, 0x01)
private let macR = MACAddress(0x02, 0, 0, 0, 0x6a, 0xfe)
private let address = GoldenV6.address

@Suite("NDP messages from Linux captures")
struct NDPCaptureTests {
    @Test("reads radvd's router advertisement with prefix, RDNSS, MTU and source link-layer options (ipv6-link-up #11)")
    func routerAdvertisement() throws {
        let packet = try parseNDP("ipv6-link-up", 11)
        #expect(packet.message == .routerAdvertisement(NDPRouterAdvertisement(
            currentHopLimit: 64, managedAddressConfiguration: false, otherConfiguration: false, routerPreference: 0,
            routerLifetime: 1800, reachableTime: 0, retransmitTimer: 0)))
        #expect(packet.checksum == 0xa4de)
        #expect(packet.options.prefixes == [NDPPrefixInformation(prefix: address("2001:db8:1::"), prefixLength: 64,
                                                                 onLink: true, autonomous: true,
                                                                 validLifetime: 86400, preferredLifetime: 14400)])
        #expect(packet.options.prefixes.first?.network == IPv6Network("2001:db8:1::/64"))
        #expect(packet.options.recursiveDNSServers == [NDPRecursiveDNSServers(lifetime: 600, servers: [address("2001:db8:1::53")])])
        #expect(packet.options.mtu == 1500)
        #expect(packet.options.sourceLinkLayerAddress == macR)
        #expect(packet.options.targetLinkLayerAddress == nil && packet.options.redirectedHeader == nil)
    }

    @Test("reads the router solicitation with A's link-layer address (ipv6-link-up #9)")
    func routerSolicitation() throws {
        let packet = try parseNDP("ipv6-link-up", 9)
        #expect(packet.message == .routerSolicitation)
        #expect(packet.options == NDPOptions(sourceLinkLayerAddress: macA))
        #expect(packet.checksum == 0xa72b)
    }

    @Test("reads the duplicate address detection solicitations from :: with their RFC 7527 nonces (ipv6-link-up #4, #5, #7, #12)", arguments: [
        (4, "fe80::ff:fe00:6afe", UInt64(0xf985_1e9a_b3bd)), (5, "fe80::ff:fe00:6a01", 0xcbb4_81b4_c2e2),
        (7, "2001:db8:1::1", 0x54a1_1ad6_286a), (12, "2001:db8:1::ff:fe00:6a01", 0xbe24_53b1_d9b1),
    ])
    func duplicateAddressDetection(number: Int, target: String, nonce: UInt64) throws {
        let packet = try parseNDP("ipv6-link-up", number)
        #expect(packet.message == .neighborSolicitation(target: address(target)))
        #expect(packet.options == NDPOptions(nonce: nonce))  // `tshark -e icmpv6.opt.nonce`
    }

    @Test("reads address resolution: solicitation with source, advertisement with target link-layer address (ipv6-ndp-echo #1, #2)")
    func addressResolution() throws {
        let solicitation = try parseNDP("ipv6-ndp-echo", 1)
        #expect(solicitation.message == .neighborSolicitation(target: address("2001:db8:1::fe")))
        #expect(solicitation.options == NDPOptions(sourceLinkLayerAddress: macA))
        #expect(solicitation.checksum == 0x472c)
        let advertisement = try parseNDP("ipv6-ndp-echo", 2)
        #expect(advertisement.message == .neighborAdvertisement(target: address("2001:db8:1::fe"), router: true,
                                                                solicited: true, override: true))
        #expect(advertisement.options == NDPOptions(targetLinkLayerAddress: macR))
        #expect(advertisement.checksum == 0x3479)
    }

    @Test("reads a unicast NUD advertisement without options (icmpv6-port-unreachable #2)")
    func reachabilityConfirmation() throws {
        let packet = try parseNDP("icmpv6-port-unreachable", 2)
        #expect(packet.message == .neighborAdvertisement(target: address("2001:db8:1::ff:fe00:6a01"), router: false,
                                                         solicited: true, override: false))
        #expect(packet.options == NDPOptions())
    }

    @Test("reads R's redirect to an on-link destination and the packet it quotes (icmpv6-redirect #2)")
    func redirect() throws {
        let packet = try parseNDP("icmpv6-redirect", 2)
        #expect(packet.message == .redirect(target: address("2001:db8:9::1"), destination: address("2001:db8:9::1")))
        #expect(packet.checksum == 0xefa1)
        #expect(packet.options.targetLinkLayerAddress == nil)
        let quoted = try #require(packet.options.redirectedHeader)
        #expect(quoted == 48..<152)  // a 112-byte option after the 40-byte message, 8 bytes of it head
        let message = try GoldenV6.upperLayer("icmpv6-redirect", 2)
        #expect(Array(message[quoted]) == (try GoldenV6.packet("icmpv6-redirect", 1)))  // the whole echo request
    }

    @Test("emit rebuilds every captured NDP message byte for byte", arguments: [
        ("ipv6-link-up", 4), ("ipv6-link-up", 5), ("ipv6-link-up", 7), ("ipv6-link-up", 9), ("ipv6-link-up", 11),
        ("ipv6-link-up", 12), ("ipv6-link-up", 15), ("ipv6-link-up", 16), ("ipv6-ndp-echo", 1), ("ipv6-ndp-echo", 2),
        ("icmpv6-port-unreachable", 1), ("icmpv6-port-unreachable", 2), ("icmpv6-redirect", 2), ("icmpv6-redirect", 3),
        ("ipv6-fragments", 5), ("ipv6-fragments", 6), ("icmpv6-parameter-problem", 2), ("icmpv6-parameter-problem", 3),
    ])
    func emitMatchesCapture(capture: String, number: Int) throws {
        let packet = try GoldenV6.packet(capture, number)
        let ip = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
        let ndp = try parseNDP(capture, number)
        let captured = Array(packet[40...])
        try #require(ndp.encodedLength == captured.count)
        // Only the redirected packet is carried over; every other byte comes from emit.
        var rebuilt = [UInt8](repeating: 0xAA, count: captured.count)
        if let quoted = ndp.options.redirectedHeader { rebuilt.replaceSubrange(quoted, with: captured[quoted]) }
        rebuilt.withUnsafeMutableBytes { ndp.emit(into: $0, source: ip.source, destination: ip.destination) }
        #expect(rebuilt == captured)
    }

    @Test("every NDP message in the captures parses")
    func sweep() throws {
        var parsed = 0
        for (name, number, packet) in try GoldenV6.allPackets() where packet[6] == 58 {
            guard NDPPacket.isNDP(type: packet[40]) else { continue }
            #expect(throws: Never.self, "\(name) #\(number)") { _ = try parseNDP(name, number) }
            parsed += 1
        }
        #expect(parsed == 22)  // `tshark -Y "icmpv6.type >= 133 && icmpv6.type <= 137"` over the IPv6 captures
    }
}

/// An NDP message emitted by NetStack, then altered by `change`, with a fresh checksum.
private func forged(_ packet: NDPPacket, from source: IPv6Address, to destination: IPv6Address,
                    change: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: packet.encodedLength)
    bytes.withUnsafeMutableBytes { packet.emit(into: $0, source: source, destination: destination) }
    change(&bytes)
    bytes[2] = 0
    bytes[3] = 0
    let sum = ~Golden.onesComplementSum(bytes, adding: pseudoWords(source, destination, bytes.count))
    Golden.storeBE16(sum, in: &bytes, at: 2)
    return bytes
}

private func pseudoWords(_ source: IPv6Address, _ destination: IPv6Address, _ length: Int) -> [UInt16] {
    source.groups + destination.groups + [UInt16(length >> 16), UInt16(length & 0xFFFF), 0, 58]
}

private func parse(_ bytes: [UInt8], from source: IPv6Address, to destination: IPv6Address,
                   hopLimit: UInt8 = 255) throws -> NDPPacket {
    try bytes.withUnsafeBytes { try NDPPacket.parse($0, source: source, destination: destination, hopLimit: hopLimit) }
}

@Suite("NDP validation (RFC 4861 §6.1, §7.1, §8.1)")
struct NDPValidationTests {
    let linkLocalA = address("fe80::ff:fe00:6a01")
    let linkLocalR = address("fe80::ff:fe00:6afe")
    let solicitation = NDPPacket(.neighborSolicitation(target: address("2001:db8:1::fe")),
                                 options: NDPOptions(sourceLinkLayerAddress: macA))

    @Test("a message that crossed a router (hop limit below 255) is refused", arguments: [0, 1, 64, 254])
    func hopLimit(hopLimit: UInt8) {
        let bytes = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe"))
        #expect(Golden.isBadField(Golden.wireError { _ = try parse(bytes, from: linkLocalA, to: address("ff02::1:ff00:fe"), hopLimit: hopLimit) }, .ndp))
        #expect(throws: Never.self) { try parse(bytes, from: linkLocalA, to: address("ff02::1:ff00:fe")) }
    }

    @Test("an option of length 0 is malformed, wherever it is")
    func zeroLengthOption() {
        let bytes = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe")) { $0[25] = 0 }
        #expect(throws: WireError.badOption(.ndp, kind: 1, offset: 24)) {
            try parse(bytes, from: linkLocalA, to: address("ff02::1:ff00:fe"))
        }
        let unknown = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe")) { $0[24] = 200; $0[25] = 0 }
        #expect(throws: WireError.badOption(.ndp, kind: 200, offset: 24)) {
            try parse(unknown, from: linkLocalA, to: address("ff02::1:ff00:fe"))
        }
    }

    @Test("an option running past the message is malformed; an unknown one is skipped")
    func optionBounds() throws {
        let long = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe")) { $0[25] = 2 }
        #expect(throws: WireError.badOption(.ndp, kind: 1, offset: 24)) { try parse(long, from: linkLocalA, to: address("ff02::1:ff00:fe")) }
        let unknown = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe")) { $0[24] = 200 }
        #expect(try parse(unknown, from: linkLocalA, to: address("ff02::1:ff00:fe")).options == NDPOptions())
        let odd = forged(solicitation, from: linkLocalA, to: address("ff02::1:ff00:fe")) { $0 += [1] }
        #expect(throws: WireError.badOption(.ndp, kind: 1, offset: 32)) { try parse(odd, from: linkLocalA, to: address("ff02::1:ff00:fe")) }
    }

    @Test("messages shorter than their fixed part are truncated")
    func truncated() throws {
        let bytes = forged(NDPPacket(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: 0))),
                           from: linkLocalR, to: .allNodes) { $0.removeLast(4) }
        #expect(throws: WireError.truncated(.ndp, needed: 16, available: 12)) { try parse(bytes, from: linkLocalR, to: .allNodes) }
    }

    @Test("known options with impossible lengths are malformed: prefix, MTU, RDNSS")
    func knownOptionLengths() throws {
        let ra = NDPPacket(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: 1800)), options: NDPOptions(
            prefixes: [NDPPrefixInformation(prefix: address("2001:db8:1::"), prefixLength: 64, validLifetime: 1, preferredLifetime: 1)],
            mtu: 1500, recursiveDNSServers: [NDPRecursiveDNSServers(lifetime: 1, servers: [address("2001:db8::53"), address("2001:db8::54")])]))
        let good = forged(ra, from: linkLocalR, to: .allNodes)
        #expect(try parse(good, from: linkLocalR, to: .allNodes) == { var p = ra; p.checksum = Golden.be16(good, 2); return p }())
        // Prefix length 129.
        #expect(throws: WireError.badOption(.ndp, kind: 3, offset: 16)) {
            try parse(forged(ra, from: linkLocalR, to: .allNodes) { $0[18] = 129 }, from: linkLocalR, to: .allNodes)
        }
        // RDNSS (at 48, 40 bytes) claiming an even length.
        let evenRDNSS = forged(ra, from: linkLocalR, to: .allNodes) { bytes in
            bytes[49] = 4
            bytes.removeSubrange(80..<88)
        }
        #expect(throws: WireError.badOption(.ndp, kind: 25, offset: 48)) { try parse(evenRDNSS, from: linkLocalR, to: .allNodes) }
        // MTU (at 88) of 16 bytes.
        let longMTU = forged(ra, from: linkLocalR, to: .allNodes) { bytes in
            bytes[89] = 2
            bytes += [UInt8](repeating: 0, count: 8)
        }
        #expect(throws: WireError.badOption(.ndp, kind: 5, offset: 88)) { try parse(longMTU, from: linkLocalR, to: .allNodes) }
    }

    @Test("a router advertisement must come from a link-local address")
    func routerAdvertisementSource() {
        let ra = NDPPacket(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: 1800)))
        let global = address("2001:db8:1::fe")
        #expect(Golden.isBadField(Golden.wireError { _ = try parse(forged(ra, from: global, to: .allNodes), from: global, to: .allNodes) }, .ndp))
    }

    @Test("duplicate address detection must go to a solicited-node group, without a link-layer address")
    func duplicateAddressDetectionRules() throws {
        let dad = NDPPacket(.neighborSolicitation(target: address("2001:db8:1::1")))
        let group = address("2001:db8:1::1").solicitedNodeMulticast
        #expect(throws: Never.self) { try parse(forged(dad, from: .unspecified, to: group), from: .unspecified, to: group) }
        #expect(Golden.isBadField(Golden.wireError {
            _ = try parse(forged(dad, from: .unspecified, to: .allNodes), from: .unspecified, to: .allNodes)
        }, .ndp))
        let withAddress = NDPPacket(.neighborSolicitation(target: address("2001:db8:1::1")),
                                    options: NDPOptions(sourceLinkLayerAddress: macA))
        #expect(Golden.isBadField(Golden.wireError {
            _ = try parse(forged(withAddress, from: .unspecified, to: group), from: .unspecified, to: group)
        }, .ndp))
    }

    @Test("solicitations and advertisements for a multicast target are refused")
    func multicastTarget() {
        let ns = NDPPacket(.neighborSolicitation(target: .allNodes))
        let na = NDPPacket(.neighborAdvertisement(target: .allNodes, router: false, solicited: false, override: true))
        for packet in [ns, na] {
            #expect(Golden.isBadField(Golden.wireError {
                _ = try parse(forged(packet, from: linkLocalA, to: linkLocalR), from: linkLocalA, to: linkLocalR)
            }, .ndp))
        }
    }

    @Test("a solicited advertisement to a multicast address is refused; an unsolicited one is fine")
    func solicitedToMulticast() throws {
        let solicited = NDPPacket(.neighborAdvertisement(target: linkLocalA, router: false, solicited: true, override: true))
        #expect(Golden.isBadField(Golden.wireError {
            _ = try parse(forged(solicited, from: linkLocalA, to: .allNodes), from: linkLocalA, to: .allNodes)
        }, .ndp))
        let unsolicited = NDPPacket(.neighborAdvertisement(target: linkLocalA, router: false, solicited: false, override: true),
                                    options: NDPOptions(targetLinkLayerAddress: macA))
        #expect(try parse(forged(unsolicited, from: linkLocalA, to: .allNodes), from: linkLocalA, to: .allNodes).options.targetLinkLayerAddress == macA)
    }

    @Test("a redirect needs a link-local source and a link-local (or on-link destination) target")
    func redirectRules() {
        let offLink = NDPPacket(.redirect(target: address("2001:db8:1::9"), destination: address("2001:db8:9::1")))
        #expect(Golden.isBadField(Golden.wireError {
            _ = try parse(forged(offLink, from: linkLocalR, to: linkLocalA), from: linkLocalR, to: linkLocalA)
        }, .ndp))
        let good = NDPPacket(.redirect(target: address("fe80::9"), destination: address("2001:db8:9::1")))
        #expect(throws: Never.self) { try parse(forged(good, from: linkLocalR, to: linkLocalA), from: linkLocalR, to: linkLocalA) }
        let global = address("2001:db8:1::fe")
        #expect(Golden.isBadField(Golden.wireError {
            _ = try parse(forged(good, from: global, to: linkLocalA), from: global, to: linkLocalA)
        }, .ndp))
    }

    @Test("a non-zero code, or a type that is not NDP, is refused")
    func codeAndType() {
        let bytes = forged(solicitation, from: linkLocalA, to: linkLocalR) { $0[1] = 1 }
        #expect(Golden.isBadField(Golden.wireError { _ = try parse(bytes, from: linkLocalA, to: linkLocalR) }, .ndp))
        let echo = forged(solicitation, from: linkLocalA, to: linkLocalR) { $0[0] = 128 }
        #expect(Golden.isUnsupported(Golden.wireError { _ = try parse(echo, from: linkLocalA, to: linkLocalR) }, .ndp))
    }
}
