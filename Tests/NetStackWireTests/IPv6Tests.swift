// The IPv6 header (RFC 8200 §3), its extension-header chain (§4) and the pseudo-header
// checksum (§8.1), against the packets Linux sent in Tests/Fixtures/captures/ipv6-*.pcap and
// icmpv6-*.pcap (fields as tshark decodes them), and against chains Linux would never send.

import NetStackTestSupport
import NetStackWire
import Testing

/// The IPv6 captures, for sweeps over every IPv6 frame.
let ipv6Captures = [
    "icmpv6-packet-too-big", "icmpv6-parameter-problem", "icmpv6-port-unreachable", "icmpv6-redirect",
    "icmpv6-time-exceeded", "ipv6-extension-headers", "ipv6-fragments", "ipv6-link-up", "ipv6-ndp-echo",
]

/// Helpers for reading IPv6 frames of the captures.
enum GoldenV6 {
    /// The IPv6 packet of a captured frame: from byte 14, cut to 40 + payload length.
    static func packet(_ capture: String, _ number: Int) throws -> [UInt8] {
        let frame = try Golden.frame(capture, number)
        try #require(frame.count >= 54 && frame[12] == 0x86 && frame[13] == 0xDD, "\(capture) #\(number) is not IPv6")
        return Array(frame[14..<(54 + Int(Golden.be16(frame, 18)))])
    }

    /// The upper-layer bytes of a captured packet without extension headers.
    static func upperLayer(_ capture: String, _ number: Int) throws -> [UInt8] {
        Array(try packet(capture, number)[40...])
    }

    /// Every IPv6 packet in the IPv6 captures, with where it came from.
    static func allPackets() throws -> [(name: String, number: Int, bytes: [UInt8])] {
        var packets: [(String, Int, [UInt8])] = []
        for name in ipv6Captures {
            for (index, frame) in try Fixtures.captureFrames(name).enumerated() where frame[12] == 0x86 && frame[13] == 0xDD {
                packets.append((name, index + 1, try packet(name, index + 1)))
            }
        }
        return packets
    }

    static func address(_ text: String) -> IPv6Address { IPv6Address(text)! }

    /// The IPv6 pseudo-header of RFC 8200 §8.1 as 16-bit words, built byte by byte from the packet.
    static func pseudoHeader(_ packet: [UInt8], nextHeader: UInt8, length: Int) -> [UInt16] {
        stride(from: 8, to: 40, by: 2).map { Golden.be16(packet, $0) }
            + [UInt16(length >> 16), UInt16(length & 0xFFFF), 0, UInt16(nextHeader)]
    }
}

private func parseHeader(_ bytes: [UInt8]) throws -> IPv6Header {
    try bytes.withUnsafeBytes { try IPv6Header.parse($0) }
}

private func walk(_ bytes: [UInt8], cap: Int = IPv6ExtensionHeaders.defaultMaximumHeaderCount) throws -> IPv6ExtensionHeaders {
    try bytes.withUnsafeBytes { try IPv6ExtensionHeaders.walk($0, maximumHeaderCount: cap) }
}

@Suite("IPv6 header from Linux captures")
struct IPv6HeaderCaptureTests {
    @Test("reads the echo request's header (ipv6-ndp-echo #3)")
    func echoRequest() throws {
        let header = try parseHeader(GoldenV6.packet("ipv6-ndp-echo", 3))
        #expect(header.source == GoldenV6.address("2001:db8:1::ff:fe00:6a01"))
        #expect(header.destination == GoldenV6.address("2001:db8:1::fe"))
        #expect(header.flowLabel == 0x070446)
        #expect(header.trafficClass == 0)
        #expect(header.payloadLength == 64)
        #expect(header.nextHeader == .icmpv6)
        #expect(header.hopLimit == 64)
        #expect(header.totalLength == 104)
    }

    @Test("reads the neighbour solicitation's header: hop limit 255, no flow label (ipv6-ndp-echo #1)")
    func neighbourSolicitation() throws {
        let header = try parseHeader(GoldenV6.packet("ipv6-ndp-echo", 1))
        #expect(header.hopLimit == 255 && header.flowLabel == 0 && header.payloadLength == 32)
        #expect(header.destination == GoldenV6.address("ff02::1:ff00:fe"))
    }

    @Test("emit rebuilds the 40 header bytes of every IPv6 packet in the captures")
    func emitMatchesEveryCapturedHeader() throws {
        let packets = try GoldenV6.allPackets()
        #expect(packets.count == 51)  // every frame of the nine captures is IPv6
        for (name, number, bytes) in packets {
            let header = try parseHeader(bytes)
            var emitted = [UInt8](repeating: 0xAA, count: IPv6Header.length)
            emitted.withUnsafeMutableBytes { header.emit(into: $0) }
            #expect(emitted == Array(bytes[0..<40]), "\(name) #\(number)")
        }
    }

    @Test("Ethernet padding after the payload length is allowed")
    func padding() throws {
        let packet = try GoldenV6.packet("ipv6-ndp-echo", 2) + [0, 0, 0, 0]
        #expect(try parseHeader(packet).payloadLength == 32)
    }

    @Test("a router's hop limit decrement changes byte 7 only")
    func decrementHopLimit() throws {
        var packet = try GoldenV6.packet("ipv6-ndp-echo", 3)
        let before = packet
        let hopLimit = packet.withUnsafeMutableBytes { IPv6Header.decrementHopLimit(in: $0) }
        #expect(hopLimit == 63 && packet[7] == 63)
        packet[7] = before[7]
        #expect(packet == before)
    }

    @Test("the flow label is kept to 20 bits")
    func flowLabelBits() {
        var header = IPv6Header(source: .loopback, destination: .loopback, nextHeader: .udp, payloadLength: 0,
                                flowLabel: 0xFFF_FFFF)
        #expect(header.flowLabel == 0xF_FFFF)
        header.flowLabel = 0x12_3456
        #expect(header.flowLabel == 0x2_3456)
    }
}

@Suite("IPv6 header rejects malformed packets")
struct IPv6HeaderErrorTests {
    @Test("fewer than 40 bytes are truncated, at every length")
    func truncated() throws {
        let packet = try GoldenV6.packet("ipv6-ndp-echo", 3)
        for length in 0..<40 {
            #expect(throws: WireError.truncated(.ipv6, needed: 40, available: length)) {
                try parseHeader(Array(packet[0..<length]))
            }
        }
    }

    @Test("a version other than 6 is refused", arguments: [0, 4, 5, 7, 15])
    func version(version: UInt8) throws {
        var packet = try GoldenV6.packet("ipv6-ndp-echo", 3)
        packet[0] = version << 4 | packet[0] & 0x0F
        #expect(throws: WireError.badVersion(.ipv6, Int(version))) { try parseHeader(packet) }
    }

    @Test("a payload length past the bytes is refused, but not in a quoted header")
    func payloadLength() throws {
        let packet = try GoldenV6.packet("ipv6-ndp-echo", 3)
        #expect(throws: WireError.badLength(.ipv6, 64)) { try parseHeader(Array(packet[0..<103])) }
        let quoted = try Array(packet[0..<48]).withUnsafeBytes { try IPv6Header.parseQuoted($0) }
        #expect(quoted.payloadLength == 64)
    }
}

@Suite("IPv6 extension-header chain")
struct IPv6ExtensionChainTests {
    @Test("a packet without extension headers has its upper layer at 40 (ipv6-ndp-echo #3)")
    func noExtensionHeaders() throws {
        let chain = try walk(GoldenV6.packet("ipv6-ndp-echo", 3))
        #expect(chain.upperLayerProtocol == .icmpv6 && chain.upperLayerOffset == 40)
        #expect(chain.upperLayerNextHeaderOffset == 6 && chain.headerCount == 0)
        #expect(chain.fragment == nil && chain.routing == nil && chain.routerAlert == nil && chain.unrecognizedOption == nil)
    }

    @Test("hop-by-hop then destination options then UDP (ipv6-extension-headers #1)")
    func hopByHopAndDestinationOptions() throws {
        let chain = try walk(GoldenV6.packet("ipv6-extension-headers", 1))
        #expect(chain.upperLayerProtocol == .udp)
        #expect(chain.upperLayerOffset == 56)
        #expect(chain.upperLayerNextHeaderOffset == 48)
        #expect(chain.headerCount == 2)
        #expect(chain.routerAlert == nil && chain.unrecognizedOption == nil)
    }

    @Test("MLDv2 reports carry a router alert of 0 in their hop-by-hop header (ipv6-link-up #1, #8)", arguments: [1, 8])
    func routerAlert(number: Int) throws {
        let chain = try walk(GoldenV6.packet("ipv6-link-up", number))
        #expect(chain.routerAlert == 0)
        #expect(chain.upperLayerProtocol == .icmpv6 && chain.upperLayerOffset == 48 && chain.headerCount == 1)
    }

    @Test("the first fragment is walked through, a later one stops at its fragment header (ipv6-fragments #1, #2)")
    func fragments() throws {
        let first = try walk(GoldenV6.packet("ipv6-fragments", 1))
        #expect(first.fragment == IPv6FragmentHeader(nextHeader: .icmpv6, fragmentOffset: 0, moreFragments: true,
                                                     identification: 0x7f2f_2987))
        #expect(first.fragmentHeaderOffset == 40)
        #expect(first.upperLayerProtocol == .icmpv6 && first.upperLayerOffset == 48)
        let second = try walk(GoldenV6.packet("ipv6-fragments", 2))
        #expect(second.fragment == IPv6FragmentHeader(nextHeader: .icmpv6, fragmentOffset: 1232, moreFragments: false,
                                                      identification: 0x7f2f_2987))
        #expect(second.upperLayerProtocol == .icmpv6 && second.upperLayerOffset == 48)
        #expect(second.fragment?.isAtomic == false)
        let reply = try walk(GoldenV6.packet("ipv6-fragments", 3))
        #expect(reply.fragment?.identification == 0xf547_d70a)
    }

    @Test("fragment header emit rebuilds the captured ones", arguments: [1, 2, 3, 4])
    func fragmentEmit(number: Int) throws {
        let packet = try GoldenV6.packet("ipv6-fragments", number)
        let fragment = try Array(packet[40..<48]).withUnsafeBytes { try IPv6FragmentHeader.parse($0) }
        var emitted = [UInt8](repeating: 0xAA, count: 8)
        emitted.withUnsafeMutableBytes { fragment.emit(into: $0) }
        #expect(emitted == Array(packet[40..<48]))
    }

    @Test("a type 0 routing header with segments left must be refused where Linux pointed (icmpv6-parameter-problem #1, #4)")
    func routingTypeZero() throws {
        let chain = try walk(GoldenV6.packet("icmpv6-parameter-problem", 1))
        let routing = try #require(chain.routing)
        #expect(routing.routingType == 0 && routing.segmentsLeft == 1 && routing.offset == 40)
        #expect(routing.mustBeRefused)
        #expect(chain.upperLayerProtocol == .ipv6NoNextHeader && chain.upperLayerOffset == 64)
        // R's parameter problem (code 0) points at the same byte.
        let problem = try GoldenV6.upperLayer("icmpv6-parameter-problem", 4)
        #expect(problem[0] == 4 && problem[1] == 0)
        #expect(routing.typePointer == Int(Golden.be16(problem, 6)))
    }

    @Test("an unknown next header is reported where Linux pointed (icmpv6-parameter-problem #5, #6)")
    func unknownNextHeader() throws {
        let chain = try walk(GoldenV6.packet("icmpv6-parameter-problem", 5))
        #expect(chain.upperLayerProtocol == IPProtocol(rawValue: 253))
        let problem = try GoldenV6.upperLayer("icmpv6-parameter-problem", 6)
        #expect(problem[0] == 4 && problem[1] == 1)
        #expect(chain.upperLayerNextHeaderOffset == Int(Golden.be16(problem, 6)))
    }

    @Test("a routing header with no segments left is ignored")
    func routingSegmentsLeftZero() throws {
        var packet = try GoldenV6.packet("icmpv6-parameter-problem", 1)
        packet[43] = 0
        let routing = try #require(try walk(packet).routing)
        #expect(!routing.mustBeRefused)
    }
}

/// A packet from 2001:db8::1 to 2001:db8::2 whose payload is `chain` (headers built by hand)
/// followed by `tail`; `first` is the IPv6 header's next header.
private func handmade(first: UInt8, _ chain: [UInt8], tail: [UInt8] = []) -> [UInt8] {
    let payload = chain + tail
    var packet = [UInt8](repeating: 0, count: 40) + payload
    packet.withUnsafeMutableBytes {
        IPv6Header(source: GoldenV6.address("2001:db8::1"), destination: GoldenV6.address("2001:db8::2"),
                   nextHeader: IPProtocol(rawValue: first), payloadLength: payload.count).emit(into: $0)
    }
    return packet
}

/// An 8-byte options header: next header, length 0, then `options` (6 bytes).
private func optionsHeader(next: UInt8, _ options: [UInt8]) -> [UInt8] {
    precondition(options.count == 6)
    return [next, 0] + options
}

@Suite("IPv6 extension-header chains Linux would not send")
struct IPv6HostileChainTests {
    @Test("a hop-by-hop header anywhere but first ends the walk as an unknown upper layer, named at byte 40 (RFC 8200 §4.1)")
    func hopByHopNotFirst() throws {
        let packet = handmade(first: 60, optionsHeader(next: 0, [1, 4, 0, 0, 0, 0]) + optionsHeader(next: 59, [1, 4, 0, 0, 0, 0]))
        let chain = try walk(packet)
        #expect(chain.upperLayerProtocol == .ipv6HopByHop)
        #expect(chain.upperLayerOffset == 48)
        #expect(chain.upperLayerNextHeaderOffset == 40)
        #expect(chain.headerCount == 1)
    }

    @Test("the number of headers is capped")
    func cap() throws {
        var chain: [UInt8] = []
        for index in 0..<9 { chain += optionsHeader(next: index == 8 ? 59 : 60, [1, 4, 0, 0, 0, 0]) }
        let packet = handmade(first: 60, chain)
        #expect(Golden.isBadField(Golden.wireError { _ = try walk(packet) }, .ipv6))
        #expect(try walk(packet, cap: 9).headerCount == 9)
        #expect(Golden.isBadField(Golden.wireError { _ = try walk(packet, cap: 1) }, .ipv6))
    }

    @Test("a header whose length runs past the packet is truncated, at every cut")
    func headerPastEnd() throws {
        let whole = try GoldenV6.packet("ipv6-extension-headers", 1)
        for cut in 40..<56 {
            var packet = Array(whole[0..<cut])
            packet[4] = 0
            packet[5] = UInt8(cut - 40)
            let error = Golden.wireError { _ = try walk(packet) }
            guard case .truncated(.ipv6, _, let available)? = error else {
                Issue.record("cut at \(cut): \(String(describing: error))")
                continue
            }
            #expect(available == cut)
        }
    }

    @Test("an option running past its header is a bad option")
    func optionPastHeader() {
        let packet = handmade(first: 60, optionsHeader(next: 59, [0, 0, 1, 5, 0, 0]))
        #expect(throws: WireError.badOption(.ipv6, kind: 1, offset: 44)) { try walk(packet) }
        let lone = handmade(first: 0, optionsHeader(next: 59, [0, 0, 0, 0, 0, 0x3e]))
        #expect(throws: WireError.badOption(.ipv6, kind: 0x3e, offset: 47)) { try walk(lone) }
    }

    @Test("unknown options are reported with their action and pointer; skippable ones are not")
    func unknownOptions() throws {
        let skip = handmade(first: 60, optionsHeader(next: 59, [0x1e, 1, 0, 0x01, 1, 0]))
        #expect(try walk(skip).unrecognizedOption == nil)
        let discard = handmade(first: 60, optionsHeader(next: 59, [0, 0xC9, 1, 0, 0x81, 0]))
        let option = try #require(try walk(discard).unrecognizedOption)
        #expect(option.type == 0xC9 && option.action == 3 && option.offset == 43)
    }

    @Test("a router alert only counts in a hop-by-hop header")
    func routerAlertPlace() throws {
        let inHopByHop = handmade(first: 0, optionsHeader(next: 59, [5, 2, 0, 1, 1, 0]))
        #expect(try walk(inHopByHop).routerAlert == 1)
        let inDestination = handmade(first: 60, optionsHeader(next: 59, [5, 2, 0, 1, 1, 0]))
        #expect(try walk(inDestination).routerAlert == nil)
    }

    @Test("an atomic fragment is walked through to its upper layer (RFC 6946)")
    func atomicFragment() throws {
        let packet = handmade(first: 44, [17, 0, 0, 0, 0, 0, 0, 9], tail: [0, 7, 0, 9, 0, 8, 0, 0])
        let chain = try walk(packet)
        #expect(chain.fragment?.isAtomic == true)
        #expect(chain.upperLayerProtocol == .udp && chain.upperLayerOffset == 48)
    }

    @Test("a routing header shorter than its fixed fields is truncated")
    func tinyRoutingHeader() {
        let packet = handmade(first: 43, [59, 0, 0, 1, 0, 0, 0, 0]).dropLast(4)
        var cut = Array(packet)
        cut[5] = 4
        #expect(throws: WireError.truncated(.ipv6, needed: 48, available: 44)) { try walk(cut) }
    }
}

@Suite("The IPv6 pseudo-header checksum")
struct IPv6PseudoHeaderTests {
    @Test("UDP behind extension headers verifies over the pseudo-header of its own length and number (ipv6-extension-headers #1)")
    func udpBehindExtensionHeaders() throws {
        let packet = try GoldenV6.packet("ipv6-extension-headers", 1)
        let udp = Array(packet[56...])
        #expect(udp.count == 15)
        #expect(Golden.onesComplementSum(udp, adding: GoldenV6.pseudoHeader(packet, nextHeader: 17, length: 15)) == 0xFFFF)
        var sum = InternetChecksum.pseudoHeader(source: GoldenV6.address("2001:db8:1::ff:fe00:6a01"),
                                                destination: GoldenV6.address("2001:db8:2::1"),
                                                nextHeader: .udp, length: udp.count)
        udp.withUnsafeBytes { sum.add($0) }
        #expect(sum.verifies)
    }

    @Test("the primed sum equals the naive sum of the pseudo-header, for lengths past 16 bits too", arguments: [0, 8, 1232, 65535, 70000])
    func matchesNaive(length: Int) throws {
        let packet = try GoldenV6.packet("ipv6-ndp-echo", 3)
        let header = try parseHeader(packet)
        let sum = InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                nextHeader: .icmpv6, length: length)
        #expect(sum.foldedSum == Golden.onesComplementSum([], adding: GoldenV6.pseudoHeader(packet, nextHeader: 58, length: length)))
    }
}
