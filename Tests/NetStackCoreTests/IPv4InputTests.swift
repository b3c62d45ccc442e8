// The IP input routine (RFC 1122 §3.2.1.x): what fails validation is dropped
// and counted; what is for another host is dropped unless forwarding;
// link padding after the total length is ignored.

import NetStackCore
import NetStackWire
import Testing

/// R, with A's MAC known, so any reply shows at once.
private func receiver(forwarding: Bool = false) -> Host {
    let host = makeHost("R", forwarding ? [.r0, .r1] : [.r0]) { $0.forwarding = forwarding }
    host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
    return host
}

/// Linux's echo request from A to R (arp-icmp-echo #3), changed by `edit` and,
/// unless `keepChecksum`, with its header checksum made right again.
private func echoRequest(keepChecksum: Bool = false, _ edit: (inout [UInt8]) -> Void = { _ in }) throws -> [UInt8] {
    var frame = try captured("arp-icmp-echo", 3)
    edit(&frame)
    if !keepChecksum { fixIPChecksum(&frame) }
    return frame
}

@Suite("IPv4 input: validation")
struct IPv4ValidationTests {
    /// Feeds `frame` and checks that it was dropped as a header error, with no answer.
    private func expectHeaderError(_ frame: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let host = receiver()
        host.feed(frame)
        #expect(host.statistics.inReceives == 1, sourceLocation: sourceLocation)
        #expect(host.statistics.inHeaderErrors == 1, sourceLocation: sourceLocation)
        #expect(host.statistics.inDelivers == 0, sourceLocation: sourceLocation)
        #expect(host.statistics.icmpInMessages == 0, sourceLocation: sourceLocation)
        #expect(host.sent().isEmpty, sourceLocation: sourceLocation)
    }

    @Test("the untouched request is answered (the control for the cases below)")
    func control() throws {
        let host = receiver()
        host.feed(try echoRequest())
        #expect(host.statistics.inHeaderErrors == 0)
        #expect(host.statistics.inDelivers == 1)
        #expect(host.sent().count == 1)
    }

    @Test("a version other than 4 is dropped and counted as a header error")
    func badVersion() throws {
        expectHeaderError(try echoRequest { $0[14] = 0x65 })
    }

    @Test("a header length below 20 bytes is dropped and counted")
    func badHeaderLength() throws {
        expectHeaderError(try echoRequest(keepChecksum: true) { $0[14] = 0x44 })
    }

    @Test("a header length past the end of the packet is dropped and counted")
    func headerLengthPastEnd() throws {
        let frame = Array(try echoRequest { $0[14] = 0x4f }[0..<(14 + 40)])
        expectHeaderError(frame)
    }

    @Test("a total length beyond the bytes received is dropped and counted")
    func totalLengthTooLong() throws {
        expectHeaderError(try echoRequest { $0[16] = 0x00; $0[17] = 0x55 })
    }

    @Test("a total length shorter than the header is dropped and counted")
    func totalLengthTooShort() throws {
        expectHeaderError(try echoRequest { $0[16] = 0x00; $0[17] = 0x10 })
    }

    @Test("a wrong header checksum is dropped and counted")
    func badChecksum() throws {
        expectHeaderError(try echoRequest(keepChecksum: true) { $0[24] ^= 0x01 })
    }

    @Test("a datagram truncated below 20 bytes is dropped and counted")
    func truncated() throws {
        expectHeaderError(Array(try echoRequest()[0..<(14 + 19)]))
    }

    @Test("options are accepted: a header with NOPs and End of Options is delivered")
    func optionsAccepted() throws {
        let host = receiver()
        var header = Build.ipHeader(Lab.ipA, Lab.ipR0, .icmp)
        header.options = [1, 1, 1, 0]
        let frame = Build.ipFrame(to: Lab.macR0, from: Lab.macA, header,
                                  Build.icmp(.echoRequest(identifier: 9, sequence: 4), [1, 2, 3, 4]))
        host.feed(frame)
        let reply = try Frame(try #require(host.sent().first))
        #expect(try reply.icmp().header.message == .echoReply(identifier: 9, sequence: 4))
        #expect(try reply.icmp().data == [1, 2, 3, 4])
    }
}

@Suite("IPv4 input: addressing and padding")
struct IPv4AddressingTests {
    @Test("a datagram for another host is dropped and counted when not forwarding")
    func notForThisHost() throws {
        let host = receiver()
        host.feed(try echoRequest { $0.replaceSubrange(30..<34, with: [198, 51, 100, 1]) })
        #expect(host.statistics.inReceives == 1)
        #expect(host.statistics.inAddressErrors == 1)
        #expect(host.statistics.forwarded == 0)
        #expect(host.statistics.inDelivers == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("a router does not forward what came as a link-layer broadcast")
    func linkBroadcastNotForwarded() throws {
        let host = receiver(forwarding: true)
        host.addStaticARP(Lab.ipB, mac: Lab.macB, interface: eth1)
        host.feed(try echoRequest {
            $0.replaceSubrange(0..<6, with: MACAddress.broadcast.octets)
            $0.replaceSubrange(30..<34, with: [198, 51, 100, 1])
        })
        #expect(host.statistics.forwarded == 0)
        #expect(host.statistics.inAddressErrors == 1)
        #expect(host.sent(on: eth1).isEmpty)
    }

    @Test("a datagram for the address of another interface is delivered (and answered from that address)")
    func otherInterfaceAddress() throws {
        let router = makeRouter { $0.forwarding = false }
        router.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        router.feed(try echoRequest { $0.replaceSubrange(30..<34, with: [198, 51, 100, 254]) })
        let reply = try Frame(try #require(router.sent(on: eth0).first))
        #expect(try reply.ip().source == Lab.ipR1)
        #expect(router.statistics.inAddressErrors == 0)
    }

    @Test("link padding after the total length is not taken as data (UDP)")
    func paddingIgnoredUDP() throws {
        let host = makeHost("B", [.b])
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 9999)
        // A's 3-byte datagram to 198.51.100.1:9999 (icmp-port-unreachable #3), padded with junk to 60 bytes.
        let frame = readdressed(try captured("icmp-port-unreachable", 3), to: Lab.macB, from: Lab.macR1)
        #expect(frame.count == 45)
        host.feed(frame + [UInt8](repeating: 0xAA, count: 15))
        let datagram = try #require(host.udpReceive(socket))
        #expect(datagram.payload == Array("hi\n".utf8))
        #expect(datagram.source == Endpoint(Lab.ipA, 57632))
        #expect(host.statistics.udpInErrors == 0)
        #expect(host.statistics.inHeaderErrors == 0)
    }

    @Test("link padding after the total length is not echoed back (ICMP)")
    func paddingIgnoredICMP() throws {
        let host = receiver()
        host.feed(try echoRequest() + [UInt8](repeating: 0xAA, count: 10))
        let reply = try Frame(try #require(host.sent().first))
        #expect(reply.bytes.count == 98)
        #expect(try reply.icmp().data == Array(try echoRequest()[42...]))
    }

    @Test("an unknown protocol is counted and answered with protocol unreachable quoting the datagram")
    func unknownProtocol() throws {
        let host = receiver()
        let datagram = Build.datagram(Build.ipHeader(Lab.ipA, Lab.ipR0, IPProtocol(rawValue: 132)), [1, 2, 3, 4, 5, 6, 7, 8])
        host.feed(Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv4, datagram))
        #expect(host.statistics.inUnknownProtocols == 1)
        let error = try Frame(try #require(host.sent().first))
        #expect(try error.icmp().header.message == .destinationUnreachable(code: 2, nextHopMTU: 0))
        #expect(try error.icmp().data == datagram)
        #expect(try error.ip().source == Lab.ipR0)
    }

    @Test("inReceives and inDelivers count what arrives and what is handed up")
    func counters() throws {
        let host = receiver()
        host.feed(try echoRequest())
        host.feed(try echoRequest(keepChecksum: true) { $0[24] ^= 1 })
        #expect(host.statistics.inReceives == 2)
        #expect(host.statistics.inDelivers == 1)
        #expect(host.statistics.icmpInMessages == 1)
        #expect(host.statistics.icmpOutMessages == 1)
    }
}
