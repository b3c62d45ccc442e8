// Wireshark as an independent oracle for the IPv6 emitters: one frame of every IPv6 kind
// NetStack builds (IPv6, fragment and router-alert headers, ICMPv6, NDP, MLDv2), written by
// its own emit functions into a pcap, must decode in tshark as intended, with every ICMPv6
// and UDP checksum good and nothing malformed. Without tshark this test fails, never skips.

import Foundation
import NetStackTestSupport
import NetStackWire
import Testing

private let macA = MACAddress(0x02, 0, 0, 0, 0x6a, 0x01)
private let macR = MACAddress(0x02, 0, 0, 0, 0x6a, 0xfe)
private let hostA = IPv6Address("2001:db8:1::1")!
private let linkLocalA = IPv6Address.linkLocal(eui64: macA)
private let routerA = IPv6Address("2001:db8:1::fe")!
private let linkLocalR = IPv6Address.linkLocal(eui64: macR)
private let hostB = IPv6Address("2001:db8:2::1")!

/// Builds IPv6 frames layer by layer, every header written by NetStack's `emit`.
private enum Build6 {
    static func ethernet(to destination: MACAddress, from source: MACAddress, _ packet: [UInt8]) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: EthernetHeader.length) + packet
        frame.withUnsafeMutableBytes {
            EthernetHeader(destination: destination, source: source, etherType: .ipv6).emit(into: $0)
        }
        return frame
    }

    static func ipv6(from source: IPv6Address, to destination: IPv6Address, _ next: IPProtocol, hopLimit: UInt8 = 64,
                     _ payload: [UInt8]) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: IPv6Header.length) + payload
        packet.withUnsafeMutableBytes {
            IPv6Header(source: source, destination: destination, nextHeader: next, payloadLength: payload.count,
                       hopLimit: hopLimit).emit(into: $0)
        }
        return packet
    }

    static func icmp(_ message: ICMPv6Message, from source: IPv6Address, to destination: IPv6Address, _ data: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: ICMPv6Header.length) + data
        bytes.withUnsafeMutableBytes { ICMPv6Header(message).emit(into: $0, source: source, destination: destination) }
        return bytes
    }

    static func ndp(_ packet: NDPPacket, from source: IPv6Address, to destination: IPv6Address, quoting: [UInt8] = []) -> [UInt8] {
        var packet = packet
        var bytes = [UInt8](repeating: 0, count: packet.encodedLength + (quoting.isEmpty ? 0 : 8 + quoting.count))
        if !quoting.isEmpty {
            packet.options.redirectedHeader = (bytes.count - quoting.count)..<bytes.count
            bytes.replaceSubrange(packet.options.redirectedHeader!, with: quoting)
        }
        bytes.withUnsafeMutableBytes { packet.emit(into: $0, source: source, destination: destination) }
        return bytes
    }

    /// A UDP datagram over IPv6: UDPHeader writes the header, the checksum is summed over the IPv6 pseudo-header.
    static func udp(from source: IPv6Address, to destination: IPv6Address, ports: (UInt16, UInt16), _ payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: UDPHeader.headerLength) + payload
        bytes.withUnsafeMutableBytes { buffer in
            UDPHeader(sourcePort: ports.0, destinationPort: ports.1, payloadLength: payload.count)
                .emit(into: buffer, source: .any, destination: .any)
            buffer.storeBE16(0, at: 6)
            var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .udp, length: buffer.count)
            sum.add(UnsafeRawBufferPointer(buffer))
            buffer.storeBE16(sum.checksum == 0 ? 0xFFFF : sum.checksum, at: 6)
        }
        return bytes
    }
}

private struct IntendedFrame {
    var what: String
    var bytes: [UInt8]
    /// tshark's `frame.protocols`.
    var protocols: String
}

private func intendedFrames() -> [IntendedFrame] {
    var frames: [IntendedFrame] = []
    func add(_ what: String, _ protocols: String, _ bytes: [UInt8]) {
        frames.append(IntendedFrame(what: what, bytes: bytes, protocols: protocols))
    }
    let ping = (0..<56).map { UInt8($0) }

    // Neighbour discovery, as a host and a router send it.
    let group = routerA.solicitedNodeMulticast
    add("NS", "eth:ethertype:ipv6:icmpv6", Build6.ethernet(to: group.multicastMAC, from: macA, Build6.ipv6(
        from: hostA, to: group, .icmpv6, hopLimit: 255, Build6.ndp(NDPPacket(.neighborSolicitation(target: routerA),
            options: NDPOptions(sourceLinkLayerAddress: macA)), from: hostA, to: group))))
    add("DAD NS", "eth:ethertype:ipv6:icmpv6", Build6.ethernet(to: hostA.solicitedNodeMulticast.multicastMAC, from: macA,
        Build6.ipv6(from: .unspecified, to: hostA.solicitedNodeMulticast, .icmpv6, hopLimit: 255,
                    Build6.ndp(NDPPacket(.neighborSolicitation(target: hostA), options: NDPOptions(nonce: 0x0102_0304_0506)),
                               from: .unspecified, to: hostA.solicitedNodeMulticast))))
    add("NA", "eth:ethertype:ipv6:icmpv6", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: routerA, to: hostA, .icmpv6, hopLimit: 255, Build6.ndp(NDPPacket(
            .neighborAdvertisement(target: routerA, router: true, solicited: true, override: true),
            options: NDPOptions(targetLinkLayerAddress: macR)), from: routerA, to: hostA))))
    add("RS", "eth:ethertype:ipv6:icmpv6", Build6.ethernet(to: IPv6Address.allRouters.multicastMAC, from: macA, Build6.ipv6(
        from: linkLocalA, to: .allRouters, .icmpv6, hopLimit: 255, Build6.ndp(NDPPacket(.routerSolicitation,
            options: NDPOptions(sourceLinkLayerAddress: macA)), from: linkLocalA, to: .allRouters))))
    let advertisement = NDPPacket(.routerAdvertisement(NDPRouterAdvertisement(routerLifetime: 1800)), options: NDPOptions(
        sourceLinkLayerAddress: macR,
        prefixes: [NDPPrefixInformation(prefix: IPv6Address("2001:db8:1::")!, prefixLength: 64, validLifetime: 86400,
                                        preferredLifetime: 14400)],
        mtu: 1500, recursiveDNSServers: [NDPRecursiveDNSServers(lifetime: 600, servers: [IPv6Address("2001:db8:1::53")!])]))
    add("RA", "eth:ethertype:ipv6:icmpv6", Build6.ethernet(to: IPv6Address.allNodes.multicastMAC, from: macR, Build6.ipv6(
        from: linkLocalR, to: .allNodes, .icmpv6, hopLimit: 255, Build6.ndp(advertisement, from: linkLocalR, to: .allNodes))))
    let wayward = Build6.ipv6(from: hostA, to: IPv6Address("2001:db8:9::1")!, .icmpv6, Build6.icmp(
        .echoRequest(identifier: 7, sequence: 1), from: hostA, to: IPv6Address("2001:db8:9::1")!, ping))
    add("redirect", "eth:ethertype:ipv6:icmpv6:ipv6:icmpv6:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: linkLocalR, to: hostA, .icmpv6, hopLimit: 255,
        Build6.ndp(NDPPacket(.redirect(target: IPv6Address("fe80::9")!, destination: IPv6Address("2001:db8:9::1")!)),
                   from: linkLocalR, to: hostA, quoting: wayward))))

    // MLDv2 report behind a router alert.
    let report = MLDv2Report(records: [MLDv2Record(.changeToExclude, multicastAddress: linkLocalA.solicitedNodeMulticast),
                                       MLDv2Record(.changeToExclude, multicastAddress: hostA.solicitedNodeMulticast)])
    var mld = [UInt8](repeating: 0, count: 8 + report.encodedLength)
    mld.withUnsafeMutableBytes { buffer in
        IPv6ExtensionHeaders.emitRouterAlertHopByHop(nextHeader: .icmpv6, into: buffer)
        report.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[8...]), source: linkLocalA, destination: .allMLDv2Routers)
    }
    add("MLDv2 report", "eth:ethertype:ipv6:ipv6.hopopts:icmpv6", Build6.ethernet(
        to: IPv6Address.allMLDv2Routers.multicastMAC, from: macA,
        Build6.ipv6(from: linkLocalA, to: .allMLDv2Routers, .ipv6HopByHop, hopLimit: 1, mld)))

    // RFC 4443 messages.
    let request = Build6.ipv6(from: hostA, to: hostB, .icmpv6, Build6.icmp(.echoRequest(identifier: 0x24ce, sequence: 1),
                                                                         from: hostA, to: hostB, ping))
    add("echo request", "eth:ethertype:ipv6:icmpv6:data", Build6.ethernet(to: macR, from: macA, request))
    add("echo reply", "eth:ethertype:ipv6:icmpv6:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: hostB, to: hostA, .icmpv6, hopLimit: 63, Build6.icmp(.echoReply(identifier: 0x24ce, sequence: 1),
                                                                   from: hostB, to: hostA, ping))))
    let datagram = Build6.ipv6(from: hostA, to: hostB, .udp, hopLimit: 63,
                               Build6.udp(from: hostA, to: hostB, ports: (55112, 9999), Array("hello, udp6".utf8)))
    add("UDP", "eth:ethertype:ipv6:udp:data", Build6.ethernet(to: macR, from: macA, datagram))
    add("port unreachable", "eth:ethertype:ipv6:icmpv6:ipv6:udp:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: hostB, to: hostA, .icmpv6, hopLimit: 63,
        Build6.icmp(.destinationUnreachable(code: 4), from: hostB, to: hostA, datagram))))
    add("time exceeded", "eth:ethertype:ipv6:icmpv6:ipv6:icmpv6:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: routerA, to: hostA, .icmpv6, Build6.icmp(.timeExceeded(code: 0), from: routerA, to: hostA, request))))
    let big = Build6.ipv6(from: hostA, to: hostB, .icmpv6, Build6.icmp(.echoRequest(identifier: 0x253e, sequence: 1),
                                                                     from: hostA, to: hostB, (0..<1400).map { UInt8($0 & 0xFF) }))
    add("packet too big", "eth:ethertype:ipv6:icmpv6:ipv6:icmpv6:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: routerA, to: hostA, .icmpv6, Build6.icmp(.packetTooBig(mtu: 1280), from: routerA, to: hostA,
                                                       Array(big[0..<(ICMPv6Header.maximumErrorMessageLength - 8)])))))
    add("parameter problem", "eth:ethertype:ipv6:icmpv6:ipv6:data", Build6.ethernet(to: macA, from: macR, Build6.ipv6(
        from: hostB, to: hostA, .icmpv6, Build6.icmp(.parameterProblem(code: 1, pointer: 6), from: hostB, to: hostA,
                                                     Build6.ipv6(from: hostA, to: hostB, IPProtocol(rawValue: 253), [1, 2, 3, 4])))))

    // A 2,008-byte UDP datagram in two fragments (1,232 + 776 bytes); tshark reassembles it at the second.
    let whole = Build6.udp(from: hostA, to: hostB, ports: (40000, 40001), (0..<2000).map { UInt8(truncatingIfNeeded: $0 * 7) })
    for (offset, end, more) in [(0, 1232, true), (1232, whole.count, false)] {
        var payload = [UInt8](repeating: 0, count: IPv6FragmentHeader.length) + whole[offset..<end]
        payload.withUnsafeMutableBytes {
            IPv6FragmentHeader(nextHeader: .udp, fragmentOffset: offset, moreFragments: more, identification: 0x7f2f_2987)
                .emit(into: $0)
        }
        add(more ? "first fragment" : "last fragment", more ? "eth:ethertype:ipv6:ipv6.fraghdr:data" : "eth:ethertype:ipv6:ipv6.fraghdr:udp:data",
            Build6.ethernet(to: macR, from: macA, Build6.ipv6(from: hostA, to: hostB, .ipv6Fragment, payload)))
    }
    return frames
}

@Suite("tshark decodes what NetStack's IPv6 emitters write")
struct TSharkIPv6OracleTests {
    @Test("one frame of every IPv6 kind decodes as intended, checksums good, nothing malformed")
    func everyKindDecodes() throws {
        try #require(TShark.isAvailable,
                     "tshark is not installed at \(TShark.path): install it (apt-get install tshark), as CI does")
        let frames = intendedFrames()
        var writer = PcapWriter()
        for (index, frame) in frames.enumerated() { writer.append(frame.bytes, nanoseconds: Int64(index) * 1_000_000) }
        let path = try TShark.writeTemporaryPcap(writer.takeBytes(), name: "netstack-ipv6-oracle")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let checks = ["-o", "udp.check_checksum:TRUE"]

        let verbose = try TShark.run(["-r", path, "-V"] + checks)
        #expect(verbose.status == 0, "tshark failed: \(verbose.output)")
        #expect(!verbose.output.contains("Malformed"), "\(verbose.output)")
        #expect(!verbose.output.contains("[Checksum Status: Bad]"), "\(verbose.output)")
        #expect(!verbose.output.contains("incorrect"), "\(verbose.output)")
        #expect(!verbose.output.contains("Expert Info (Error"), "\(verbose.output)")
        #expect(!verbose.output.contains("Expert Info (Warning"), "\(verbose.output)")

        let fields = try TShark.run(["-r", path, "-T", "fields", "-E", "separator=|", "-e", "frame.protocols",
                                     "-e", "icmpv6.checksum.status", "-e", "udp.checksum.status"] + checks)
        #expect(fields.status == 0, "tshark failed: \(fields.output)")
        let lines = fields.output.split(separator: "\n", omittingEmptySubsequences: true)
        try #require(lines.count == frames.count, "tshark printed \(lines.count) lines for \(frames.count) frames")
        for (frame, line) in zip(frames, lines) {
            let columns = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            try #require(columns.count == 3, "\(frame.what): \(line)")
            #expect(columns[0] == frame.protocols, "\(frame.what)")
            // The outermost checksum must be good (1); a quoted one may be unverified (2) when cut short.
            if frame.protocols.contains(":icmpv6") { #expect(columns[1].hasPrefix("1"), "\(frame.what): ICMPv6 \(columns[1])") }
            if frame.protocols.hasSuffix(":udp:data") && !frame.protocols.contains(":icmpv6") {
                #expect(columns[2].hasPrefix("1"), "\(frame.what): UDP \(columns[2])")
            }
            for value in (columns[1] + "," + columns[2]).split(separator: ",") {
                #expect(["1", "2"].contains(value), "\(frame.what): checksum status \(value) in \(line)")
            }
        }
    }
}
