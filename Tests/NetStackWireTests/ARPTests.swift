// ARP for Ethernet and IPv4 (RFC 826), against the requests and replies Linux
// exchanged in arp-icmp-echo.pcap and icmp-port-unreachable.pcap.

import NetStackTestSupport
import NetStackWire
import Testing

private let hostA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
private let routerA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe)
private let hostAIP = IPv4Address(192, 0, 2, 1)
private let routerAIP = IPv4Address(192, 0, 2, 254)

private func parseARP(_ bytes: [UInt8]) throws -> ARPPacket {
    try bytes.withUnsafeBytes { try ARPPacket.parse($0) }
}

/// The ARP packet of a captured frame: the bytes after the Ethernet header.
private func arpBytes(_ capture: String, _ number: Int) throws -> [UInt8] {
    Array(try Golden.frame(capture, number)[14...])
}

@Suite("ARP packets from Linux captures")
struct ARPCaptureTests {
    @Test("reads the broadcast request for the gateway (arp-icmp-echo #1)")
    func requestForGateway() throws {
        let packet = try parseARP(arpBytes("arp-icmp-echo", 1))
        #expect(packet.operation == .request)
        #expect(packet.senderMAC == hostA)
        #expect(packet.senderIP == hostAIP)
        #expect(packet.targetMAC == MACAddress(0, 0, 0, 0, 0, 0))
        #expect(packet.targetIP == routerAIP)
        #expect(!packet.isGratuitous)
    }

    @Test("reads the gateway's reply (arp-icmp-echo #2)")
    func replyFromGateway() throws {
        let packet = try parseARP(arpBytes("arp-icmp-echo", 2))
        #expect(packet.operation == .reply)
        #expect(packet.senderMAC == routerA)
        #expect(packet.senderIP == routerAIP)
        #expect(packet.targetMAC == hostA)
        #expect(packet.targetIP == hostAIP)
    }

    @Test("reads the router's unicast request and A's reply (icmp-port-unreachable #1, #2)")
    func unicastRequestAndReply() throws {
        let request = try parseARP(arpBytes("icmp-port-unreachable", 1))
        #expect(request.operation == .request)
        #expect(request.senderMAC == routerA)
        #expect(request.senderIP == routerAIP)
        #expect(request.targetMAC == .zero)
        #expect(request.targetIP == hostAIP)
        let reply = try parseARP(arpBytes("icmp-port-unreachable", 2))
        #expect(reply.operation == .reply)
        #expect(reply.senderMAC == hostA)
        #expect(reply.senderIP == hostAIP)
        #expect(reply.targetMAC == routerA)
        #expect(reply.targetIP == routerAIP)
    }

    @Test("emit rebuilds each captured ARP frame byte for byte", arguments: [
        ("arp-icmp-echo", 1), ("arp-icmp-echo", 2), ("icmp-port-unreachable", 1), ("icmp-port-unreachable", 2),
    ])
    func emitMatchesCapture(capture: String, number: Int) throws {
        let captured = try Golden.frame(capture, number)
        #expect(captured.count == 42)
        let ethernet = try captured.withUnsafeBytes { try EthernetHeader.parse($0) }
        let packet = try parseARP(Array(captured[14...]))
        var rebuilt = [UInt8](repeating: 0xAA, count: 42)
        rebuilt.withUnsafeMutableBytes { buffer in
            ethernet.emit(into: buffer)
            packet.emit(into: UnsafeMutableRawBufferPointer(rebasing: buffer[14...]))
        }
        #expect(rebuilt == captured)
    }

    @Test("Ethernet padding after the 28 bytes is ignored")
    func paddingIgnored() throws {
        let bytes = try arpBytes("arp-icmp-echo", 1)
        let padded = bytes + [UInt8](repeating: 0, count: 46 - bytes.count)
        #expect(try parseARP(padded) == parseARP(bytes))
    }

    @Test("a gratuitous announcement names the same address as sender and target, and round-trips")
    func gratuitousAnnouncement() throws {
        let announcement = ARPPacket(operation: .request, senderMAC: hostA, senderIP: hostAIP,
                                     targetMAC: .zero, targetIP: hostAIP)
        #expect(announcement.isGratuitous)
        var bytes = [UInt8](repeating: 0, count: ARPPacket.length)
        bytes.withUnsafeMutableBytes { announcement.emit(into: $0) }
        // RFC 826 fixed part for Ethernet/IPv4: htype 1, ptype 0x0800, hlen 6, plen 4, op 1.
        #expect(Array(bytes[0..<8]) == [0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01])
        #expect(try parseARP(bytes) == announcement)
    }
}

@Suite("ARP rejects what it cannot handle")
struct ARPErrorTests {
    @Test("fewer than 28 bytes are truncated, at every length")
    func truncatedAtEveryLength() throws {
        let bytes = try arpBytes("arp-icmp-echo", 1)
        for length in 0..<28 {
            #expect(throws: WireError.truncated(.arp, needed: 28, available: length)) {
                try parseARP(Array(bytes[0..<length]))
            }
        }
    }

    @Test("a hardware type other than Ethernet (1) is unsupported")
    func otherHardwareType() throws {
        var bytes = try arpBytes("arp-icmp-echo", 1)
        for hardware: UInt16 in [0, 6, 32, 0xFFFF] {  // 6 IEEE 802, 32 InfiniBand
            Golden.storeBE16(hardware, in: &bytes, at: 0)
            let error = Golden.wireError { _ = try parseARP(bytes) }
            #expect(Golden.isUnsupported(error, .arp), "hardware type \(hardware): \(String(describing: error))")
        }
    }

    @Test("a protocol type other than IPv4 is unsupported")
    func otherProtocolType() throws {
        var bytes = try arpBytes("arp-icmp-echo", 1)
        for proto: UInt16 in [0, 0x0806, 0x86DD] {
            Golden.storeBE16(proto, in: &bytes, at: 2)
            let error = Golden.wireError { _ = try parseARP(bytes) }
            #expect(Golden.isUnsupported(error, .arp), "protocol type \(proto): \(String(describing: error))")
        }
    }

    @Test("address lengths other than 6 and 4 are a bad field", arguments: [
        (UInt8(0), UInt8(4)), (8, 4), (20, 4), (6, 0), (6, 16), (4, 6),
    ])
    func badAddressLengths(hardwareLength: UInt8, protocolLength: UInt8) throws {
        var bytes = try arpBytes("arp-icmp-echo", 1)
        bytes[4] = hardwareLength
        bytes[5] = protocolLength
        let error = Golden.wireError { _ = try parseARP(bytes) }
        #expect(Golden.isBadField(error, .arp), "\(String(describing: error))")
    }

    @Test("an operation other than request (1) or reply (2) is unsupported")
    func unknownOperation() throws {
        var bytes = try arpBytes("arp-icmp-echo", 1)
        for operation: UInt16 in [0, 3, 4, 8, 9, 0x0100, 0xFFFF] {  // 3/4 RARP, 8/9 InARP (RFC 2390)
            Golden.storeBE16(operation, in: &bytes, at: 6)
            let error = Golden.wireError { _ = try parseARP(bytes) }
            #expect(Golden.isUnsupported(error, .arp), "operation \(operation): \(String(describing: error))")
        }
    }
}
