// DHCPv4 (RFC 2131/2132): the messages of a real exchange between BusyBox's
// udhcpc and dnsmasq (Tests/Fixtures/dhcp/dhcp-exchange.pcap, recorded by
// record.sh beside it): fields, options, and emit(parse(x)) == x; then the
// bounds of the option walk.

import NetStackTestSupport
import NetStackWire
import Testing

/// The DHCP message (UDP payload) of frame `number` (from 1, as tshark counts) of the exchange.
private func dhcpPayload(_ number: Int) throws -> [UInt8] {
    let path = Fixtures.capturesDirectory + "/../dhcp/dhcp-exchange.pcap"
    let frames = try PcapReader.parse(Fixtures.fileBytes(path)).map(\.data)
    try #require(frames.count == 7, "the exchange has 7 frames")
    let frame = frames[number - 1]
    try #require(frame[14] == 0x45 && frame[23] == 17, "expects UDP in a 20-byte IPv4 header")
    let total = 14 + (Int(frame[16]) << 8 | Int(frame[17]))
    return Array(frame[42..<total])
}

private func parseDHCP(_ bytes: [UInt8]) throws(WireError) -> DHCPMessage {
    var result: Result<DHCPMessage, WireError>!
    bytes.withUnsafeBytes { raw in result = Result { () throws(WireError) in try DHCPMessage.parse(raw) } }
    return try result.get()
}

private let clientMAC = MACAddress(0x02, 0, 0, 0, 0x0d, 0x01)
private let server = IPv4Address(192, 0, 2, 1)
private let leased = IPv4Address(192, 0, 2, 110)

@Suite("DHCP messages from a udhcpc–dnsmasq exchange")
struct DHCPCaptureTests {
    @Test("reads dnsmasq's OFFER: yiaddr, server id, lease, T1, T2, mask, router, DNS (#3)")
    func offer() throws {
        let offer = try parseDHCP(dhcpPayload(3))
        #expect(offer.op == DHCPMessage.bootReply)
        #expect(offer.messageType == .offer)
        #expect(offer.transactionID == 0x74db_1f18)
        #expect(offer.broadcast)
        #expect(offer.clientMAC == clientMAC)
        #expect(offer.yourAddress == leased)
        #expect(offer.clientAddress == .any)
        #expect(offer.serverAddress == server)
        #expect(offer.serverIdentifier == server)
        #expect(offer.leaseTime == 120)
        #expect(offer.renewalTime == 60)
        #expect(offer.rebindingTime == 105)
        #expect(offer.subnetMask == IPv4Address(255, 255, 255, 0))
        #expect(offer.routers == [server])
        #expect(offer.dnsServers == [IPv4Address(192, 0, 2, 53)])
        #expect(offer.options.map(\.code) == [53, 54, 51, 58, 59, 1, 28, 6, 3])
    }

    @Test("reads dnsmasq's ACK for the REQUEST (#6)")
    func ack() throws {
        let ack = try parseDHCP(dhcpPayload(6))
        #expect(ack.messageType == .ack)
        #expect(ack.transactionID == 0x74db_1f18)
        #expect(ack.seconds == 3)
        #expect(ack.yourAddress == leased)
        #expect(ack.serverIdentifier == server)
        #expect(ack.leaseTime == 120)
        #expect(ack.routers == [server])
    }

    @Test("reads udhcpc's DISCOVER, REQUEST and RELEASE (#1, #5, #7)")
    func clientMessages() throws {
        let discover = try parseDHCP(dhcpPayload(1))
        #expect(discover.op == DHCPMessage.bootRequest)
        #expect(discover.messageType == .discover)
        #expect(discover.broadcast)
        #expect(discover.parameterRequestList == [1, 3, 6, 12, 15, 28, 42])
        #expect(discover.hostName == "netstack-test")
        #expect(discover.clientIdentifier == [1, 0x02, 0, 0, 0, 0x0d, 0x01])
        let request = try parseDHCP(dhcpPayload(5))
        #expect(request.messageType == .request)
        #expect(request.requestedAddress == leased)
        #expect(request.serverIdentifier == server)
        let release = try parseDHCP(dhcpPayload(7))
        #expect(release.messageType == .release)
        #expect(release.clientAddress == leased)
        #expect(!release.broadcast)
        #expect(release.serverIdentifier == server)
    }

    @Test("emit(parse(x)) gives back every message of the exchange byte for byte", arguments: 1...7)
    func roundTrip(number: Int) throws {
        let bytes = try dhcpPayload(number)
        #expect(try parseDHCP(bytes).encoded == bytes)
    }
}

@Suite("DHCP option walk and fixed part")
struct DHCPBoundsTests {
    private func offerBytes() throws -> [UInt8] { try dhcpPayload(3) }

    @Test("a message shorter than the fixed part and cookie is truncated")
    func truncated() throws {
        let bytes = try offerBytes()
        #expect(throws: WireError.truncated(.dhcp, needed: 240, available: 239)) { try parseDHCP(Array(bytes[0..<239])) }
    }

    @Test("a wrong magic cookie is refused")
    func badCookie() throws {
        var bytes = try offerBytes()
        bytes[236] = 0
        #expect(throws: WireError.self) { try parseDHCP(bytes) }
    }

    @Test("an option whose length runs past the end is refused, not read beyond")
    func optionPastEnd() throws {
        let bytes = try offerBytes()
        // Cut inside option 54's data (starts at 240 + 3 + 2): its length octet claims 4.
        #expect(throws: WireError.badOption(.dhcp, kind: 54, offset: 243)) { try parseDHCP(Array(bytes[0..<247])) }
        // A code byte with no length byte after it.
        #expect(throws: WireError.badOption(.dhcp, kind: 54, offset: 243)) { try parseDHCP(Array(bytes[0..<244])) }
    }

    @Test("options without an end option are refused")
    func missingEnd() throws {
        var bytes = try offerBytes()
        let end = try #require(bytes.lastIndex(of: 255))
        bytes.removeSubrange(end...)
        #expect(throws: WireError.badField(.dhcp, "options without an end option")) { try parseDHCP(bytes) }
    }

    @Test("pads between options are skipped; option overload (52) is refused")
    func padAndOverload() throws {
        var bytes = try offerBytes()
        bytes.insert(0, at: 240)
        #expect(try parseDHCP(bytes).messageType == .offer)
        var overloaded = try offerBytes()
        overloaded.replaceSubrange(240..<243, with: [52, 1, 3])
        #expect(throws: WireError.unsupported(.dhcp, "option overload (52)")) { try parseDHCP(overloaded) }
    }

    @Test("built messages carry the fields set through the typed accessors")
    func buildAndRead() throws {
        var message = DHCPMessage(op: DHCPMessage.bootRequest, transactionID: 42, clientMAC: clientMAC)
        message.broadcast = true
        message.messageType = .request
        message.requestedAddress = leased
        message.serverIdentifier = server
        message.parameterRequestList = [1, 3, 6]
        let bytes = message.encoded
        #expect(bytes.count == 300)
        #expect(Array(bytes[236..<240]) == [99, 130, 83, 99])
        #expect(Array(bytes[240..<243]) == [53, 1, 3])
        let again = try parseDHCP(bytes)
        #expect(again == message)
        #expect(again.requestedAddress == leased)
        #expect(again.flags == 0x8000)
    }
}
