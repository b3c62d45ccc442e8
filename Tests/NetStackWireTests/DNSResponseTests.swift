// Responses built from queries (RFC 1035 §4.1.1) and SOA timers for negative
// caching (RFC 1035 §3.3.13, RFC 2308 §5): checked against dnsmasq's answer
// in dns-query.pcap and against SOA data written out by hand.

import NetStackTestSupport
import NetStackWire
import Testing

private func parse(_ bytes: [UInt8]) throws -> DNSMessage {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get()
}

private func payload(_ number: Int) throws -> [UInt8] {
    let frame = try Golden.frame("dns-query", number)
    // Ethernet 14, IPv4 20 (no options in this capture), UDP 8.
    return Array(frame[42...])
}

private func name(_ text: String) throws -> DNSName { try DNSName(text) }

/// 32 bits, most significant octet first.
private func be32(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }

@Suite("DNS responses and SOA timers")
struct DNSResponseTests {
    @Test("a response built from dnsmasq's query (#1) with AA, RA and the A record is dnsmasq's answer (#2)")
    func responseToCapturedQuery() throws {
        let query = try parse(try payload(1))
        var response = DNSMessage.response(to: query, authoritative: true, answers: [
            DNSResourceRecord(name: try name("www.example.test"), timeToLive: 0, data: .a(IPv4Address(198, 51, 100, 1))),
        ])
        response.flags.recursionAvailable = true
        #expect(response.encoded(compressingNames: true) == (try payload(2)))
    }

    @Test("a response copies the ID, opcode, RD and question, sets QR, and keeps RA clear")
    func responseFields() throws {
        var query = DNSMessage.query(id: 0xABCD, name: try name("Mixed.Case.test"), recursionDesired: false)
        query.flags.opcode = 0
        let response = DNSMessage.response(to: query, responseCode: .nameError)
        #expect(response.id == 0xABCD)
        #expect(response.flags.isResponse && !response.flags.recursionDesired && !response.flags.recursionAvailable)
        #expect(!response.flags.authoritative)
        #expect(response.flags.responseCode == .nameError)
        #expect(response.questions.map(\.name.wireBytes) == query.questions.map(\.name.wireBytes))
    }

    @Test("a header-only response echoes ID, opcode and RD; fewer than 12 octets give none")
    func headerOnly() throws {
        let header: [UInt8] = [0x12, 0x34, 0x11, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xFF]  // opcode 2, RD
        let response = try #require(header.withUnsafeBytes { DNSMessage.response(toHeaderOf: $0, responseCode: .formatError) })
        #expect(response.encoded() == [0x12, 0x34, 0x91, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect([UInt8](repeating: 0, count: 11).withUnsafeBytes {
            DNSMessage.response(toHeaderOf: $0, responseCode: .formatError)
        } == nil)
    }

    @Test("SOA data is MNAME, RNAME, then serial, refresh, retry, expire, minimum, as written by hand")
    func soaData() throws {
        let timers = DNSSOATimers(serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 30)
        let data = DNSRecordData.soa(mname: try name("ns.example.test"), rname: try name("hostmaster.example.test"),
                                     timers: timers)
        var expected: [UInt8] = [2] + Array("ns".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0]
        expected += [10] + Array("hostmaster".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0]
        expected += [0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x00, 0x02, 0x58,
                     0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x00, 0x1E]
        #expect(data == .raw(type: .soa, bytes: expected))
        #expect(DNSSOATimers(data) == timers)
    }

    @Test("SOA timers read from data whose names are compression pointers; too short or other types give nil")
    func soaTimersWithPointers() throws {
        let bytes: [UInt8] = [0xC0, 0x0C, 0xC0, 0x0C] + be32(5) + be32(7200) + be32(900) + be32(604_800) + be32(120)
        #expect(DNSSOATimers(.raw(type: .soa, bytes: bytes))?.minimum == 120)
        #expect(DNSSOATimers(.raw(type: .soa, bytes: Array(bytes.dropFirst(3)))) == nil)
        #expect(DNSSOATimers(.raw(type: .txt, bytes: bytes)) == nil)
        #expect(DNSSOATimers(.a(IPv4Address(192, 0, 2, 1))) == nil)
    }

    @Test("the negative-caching TTL is the smaller of the SOA's TTL and MINIMUM, and survives a round trip")
    func negativeCachingTTL() throws {
        let query = DNSMessage.query(id: 1, name: try name("nowhere.example.test"))
        let timers = DNSSOATimers(serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 300)
        let soa = DNSResourceRecord(name: try name("example.test"), timeToLive: 60,
                                    data: .soa(mname: try name("ns.example.test"), rname: try name("h.example.test"),
                                               timers: timers))
        let response = DNSMessage.response(to: query, responseCode: .nameError, authorities: [soa])
        #expect(response.negativeCachingTTL == 60)
        #expect(try parse(response.encoded(compressingNames: true)).negativeCachingTTL == 60)
        #expect(DNSMessage.response(to: query, responseCode: .nameError).negativeCachingTTL == nil)
    }
}
