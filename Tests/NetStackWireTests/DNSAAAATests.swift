// AAAA records (RFC 3596): dnsmasq's answers over IPv6 (dns-aaaa.pcap, recorded
// by make-ipv6-captures.sh), decoded, and built back byte for byte.

import NetStackTestSupport
import NetStackWire
import Testing

/// The UDP payload of frame `number` of dns-aaaa.pcap (IPv6, no extension headers).
private func aaaaPayload(_ number: Int) throws -> [UInt8] {
    let frame = try Golden.frame("dns-aaaa", number)
    let packet = Array(frame[EthernetHeader.length...])
    let ip = try packet.withUnsafeBytes { raw in Result { () throws(WireError) in try IPv6Header.parse(raw) } }.get()
    try #require(ip.nextHeader == .udp)
    let udp = Array(packet[IPv6Header.length..<ip.totalLength])
    return Array(udp[UDPHeader.headerLength...])
}

private func parse(_ bytes: [UInt8]) throws -> DNSMessage {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get()
}

private let www = try! DNSName("www.example.test")
private let server6 = IPv6Address(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x80)

@Suite("DNS AAAA records from a dnsmasq capture")
struct DNSAAAATests {
    @Test("dnsmasq's AAAA answer decodes to www.example.test AAAA 2001:db8:2::80 TTL 0 (#2)")
    func directAnswer() throws {
        let message = try parse(aaaaPayload(2))
        #expect(message.id == 0x6001)
        #expect(message.flags.rawValue == 0x8580)
        #expect(message.questions == [DNSQuestion(name: www, type: .aaaa)])
        #expect(message.answers == [DNSResourceRecord(name: www, timeToLive: 0, data: .aaaa(server6))])
        #expect(message.answers[0].description == "www.example.test 0 IN AAAA 2001:db8:2::80")
    }

    @Test("a built AAAA query with id 0x6001 is the capture's query byte for byte (#1)")
    func buildQuery() throws {
        #expect(DNSMessage.query(id: 0x6001, name: www, type: .aaaa).encoded() == (try aaaaPayload(1)))
    }

    @Test("the AAAA answer built with name compression is dnsmasq's response byte for byte (#2)")
    func buildAnswer() throws {
        let query = try parse(aaaaPayload(1))
        var response = DNSMessage.response(to: query, responseCode: .noError, authoritative: true,
                                           answers: [DNSResourceRecord(name: www, timeToLive: 0, data: .aaaa(server6))])
        response.flags.recursionAvailable = true
        #expect(response.encoded(compressingNames: true) == (try aaaaPayload(2)))
    }

    @Test("through a CNAME: alias.example.test CNAME www.example.test, then its AAAA (#4)")
    func cnameThenAAAA() throws {
        let message = try parse(aaaaPayload(4))
        #expect(message.id == 0x6002)
        #expect(message.answers == [
            DNSResourceRecord(name: try DNSName("alias.example.test"), timeToLive: 0, data: .cname(www)),
            DNSResourceRecord(name: www, timeToLive: 0, data: .aaaa(server6)),
        ])
    }

    @Test("the A answer for the same dual-stack name carries only the A record (#6)")
    func aAnswerOfTheSameName() throws {
        let message = try parse(aaaaPayload(6))
        #expect(message.answers == [DNSResourceRecord(name: www, timeToLive: 0, data: .a(IPv4Address(198, 51, 100, 80)))])
    }

    @Test("an IN AAAA record whose RDLENGTH is not 16 is a bad field")
    func badLength() throws {
        var bytes = try aaaaPayload(2)
        // The answer's RDLENGTH is the two bytes before its 16 address bytes, at the end.
        bytes[bytes.count - 17] = 15
        let shortened = Array(bytes.dropLast())
        let error = shortened.withUnsafeBytes { raw -> WireError? in
            do throws(WireError) {
                _ = try DNSMessage.parse(raw)
                return nil
            } catch {
                return error
            }
        }
        guard case .badField? = error else {
            Issue.record("expected a bad field, got \(String(describing: error))")
            return
        }
    }
}
