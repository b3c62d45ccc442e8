// DNS messages (RFC 1035 §4): the queries and answers of a real dnsmasq
// exchange as tshark decodes them, queries built byte for byte like the
// capture's, names (RFC 1035 §2.3.4, RFC 4343), every malformed message the
// parser must refuse, and random mutations that must only ever throw.

import NetStackTestSupport
import NetStackWire
import Testing

/// The UDP payload of frame `number` of dns-query.pcap, taken apart with NetStack's own parsers.
private func dnsPayload(_ number: Int) throws -> [UInt8] {
    let frame = try Golden.frame("dns-query", number)
    let datagram = Array(frame[EthernetHeader.length...])
    let ip = try datagram.withUnsafeBytes { raw in Result { () throws(WireError) in try IPv4Header.parse(raw) } }.get()
    try #require(ip.protocol == .udp)
    let udp = Array(datagram[ip.headerLength..<ip.totalLength])
    let header = try udp.withUnsafeBytes { raw in
        Result { () throws(WireError) in try UDPHeader.parse(raw, source: ip.source, destination: ip.destination) }
    }.get()
    return Array(udp[UDPHeader.headerLength..<header.length])
}

private func parseDNS(_ bytes: [UInt8]) throws(WireError) -> DNSMessage {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try DNSMessage.parse(raw) } }.get()
}

private func dnsError(_ bytes: [UInt8]) -> WireError? {
    do {
        _ = try parseDNS(bytes)
        return nil
    } catch {
        return error
    }
}

private func nameError(_ build: () throws(WireError) -> DNSName) -> WireError? {
    do {
        _ = try build()
        return nil
    } catch {
        return error
    }
}

/// A message header: id 0, flags 0, and the four counts.
private func header(questions: Int = 0, answers: Int = 0, authorities: Int = 0, additionals: Int = 0) -> [UInt8] {
    [0, 0, 0, 0] + [questions, answers, authorities, additionals].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}

/// `name` in uncompressed wire form, written out by hand.
private func wire(_ labels: [String]) -> [UInt8] {
    labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}

/// A name the test knows to be valid.
private func name(_ text: String) throws -> DNSName { try DNSName(text) }

private let www = ["www", "example", "test"]
private let alias = ["alias", "example", "test"]

@Suite("DNS messages from a dnsmasq capture")
struct DNSCaptureTests {
    @Test("the query for www.example.test: id 0x1234, RD, one question A IN (#1)")
    func query() throws {
        let message = try parseDNS(dnsPayload(1))
        #expect(message.id == 0x1234)
        #expect(message.flags.rawValue == 0x0100)
        #expect(!message.flags.isResponse)
        #expect(message.flags.opcode == 0)
        #expect(message.flags.recursionDesired)
        #expect(!message.flags.truncated)
        #expect(message.questions == [DNSQuestion(name: try name("www.example.test"), type: .a, class: .in)])
        #expect(message.answers.isEmpty && message.authorities.isEmpty && message.additionals.isEmpty)
    }

    @Test("the direct answer: QR AA RD RA, NOERROR, www.example.test A 198.51.100.1 TTL 0 (#2)")
    func directAnswer() throws {
        let message = try parseDNS(dnsPayload(2))
        #expect(message.id == 0x1234)
        #expect(message.flags.rawValue == 0x8580)
        #expect(message.flags.isResponse && message.flags.authoritative)
        #expect(message.flags.recursionDesired && message.flags.recursionAvailable)
        #expect(message.flags.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: try name("www.example.test"), type: .a)])
        try #require(message.answers.count == 1)
        let answer = message.answers[0]
        #expect(answer.name == (try name("www.example.test")))
        #expect(answer.type == .a)
        #expect(answer.class == .in)
        #expect(answer.timeToLive == 0)
        #expect(answer.data == .a(IPv4Address(198, 51, 100, 1)))
        #expect(message.description
            == "DNS response 0x1234 [qr aa rd ra] www.example.test IN A → www.example.test 0 IN A 198.51.100.1")
    }

    @Test("the query for alias.example.test, id 0x2345 (#3)")
    func aliasQuery() throws {
        let message = try parseDNS(dnsPayload(3))
        #expect(message.id == 0x2345)
        #expect(message.questions == [DNSQuestion(name: try name("alias.example.test"), type: .a)])
    }

    @Test("the CNAME answer: a compressed owner name pointing at the question, CNAME www.example.test TTL 0 (#4)")
    func cnameChain() throws {
        let bytes = try dnsPayload(4)
        #expect(Array(bytes[36..<38]) == [0xC0, 0x0C])  // the owner name is a pointer to offset 12
        let message = try parseDNS(bytes)
        #expect(message.id == 0x2345)
        #expect(message.flags.rawValue == 0x8580)
        try #require(message.answers.count == 1)
        let answer = message.answers[0]
        #expect(answer.name == (try name("alias.example.test")))
        #expect(answer.type == .cname)
        #expect(answer.timeToLive == 0)
        #expect(answer.data == .cname(try name("www.example.test")))
        #expect(answer.description == "alias.example.test 0 IN CNAME www.example.test")
    }

    @Test("a built query for www.example.test, id 0x1234, is the capture's query byte for byte")
    func buildQuery() throws {
        let query = DNSMessage.query(id: 0x1234, name: try name("www.example.test"), type: .a)
        #expect(query.encoded() == (try dnsPayload(1)))
        let alias = DNSMessage.query(id: 0x2345, name: try name("alias.example.test."))
        #expect(alias.encoded() == (try dnsPayload(3)))
    }

    @Test("emit writes the same bytes into a caller's buffer and returns the length")
    func emitIntoBuffer() throws {
        let query = DNSMessage.query(id: 0x1234, name: try name("www.example.test"))
        var buffer = [UInt8](repeating: 0xEE, count: 64)
        let length = buffer.withUnsafeMutableBytes { query.emit(into: $0) }
        #expect(length == 34)
        #expect(Array(buffer[0..<length]) == (try dnsPayload(1)))
        #expect(buffer[length] == 0xEE)
    }

    @Test("the direct answer built with name compression is dnsmasq's response byte for byte")
    func buildCompressedAnswer() throws {
        let response = DNSMessage(id: 0x1234, flags: DNSFlags(rawValue: 0x8580),
                                  questions: [DNSQuestion(name: try name("www.example.test"), type: .a)],
                                  answers: [DNSResourceRecord(name: try name("www.example.test"), timeToLive: 0,
                                                              data: .a(IPv4Address(198, 51, 100, 1)))])
        #expect(response.encoded(compressingNames: true) == (try dnsPayload(2)))
        #expect(response.encoded().count == (try dnsPayload(2)).count + 16)  // the owner name in full
    }

    @Test("every message of the capture survives parse → encode → parse unchanged", arguments: 1...4)
    func reparse(number: Int) throws {
        let message = try parseDNS(dnsPayload(number))
        #expect(try parseDNS(message.encoded()) == message)
        #expect(try parseDNS(message.encoded(compressingNames: true)) == message)
    }
}

@Suite("DNS names")
struct DNSNameTests {
    @Test("names compare and hash without regard to ASCII case (RFC 4343)")
    func caseInsensitive() throws {
        let lower = try name("www.example.test"), mixed = try name("WWW.Example.TeSt")
        #expect(lower == mixed)
        #expect(lower.hashValue == mixed.hashValue)
        #expect(mixed.description == "WWW.Example.TeSt")  // spelling kept
        #expect(lower != (try name("www.example.tesu")))
        #expect(lower != (try name("www.example")))
    }

    @Test("labels, label count, text and wire form")
    func parts() throws {
        let full = try name("www.example.test.")
        #expect(full.labels == www.map { Array($0.utf8) })
        #expect(full.labelCount == 3)
        #expect(full.description == "www.example.test")
        #expect(full.wireBytes == wire(www))
        #expect(DNSName.root.description == ".")
        #expect(try name(".") == .root && name("") == .root)
        #expect(DNSName.root.isRoot && DNSName.root.labelCount == 0)
    }

    @Test("description escapes dots, backslashes and unprintable octets (RFC 1035 §5.1)")
    func escapes() throws {
        let name = try DNSName(labels: [Array("a.b".utf8), [0x5C, 0x20, 0x07], Array("test".utf8)])
        #expect(name.description == "a\\.b.\\\\\\032\\007.test")
    }

    @Test("an empty label is refused when building", arguments: ["a..b", ".a", "..", "a.b.."])
    func emptyLabel(text: String) {
        guard case .badField(.dns, _)? = nameError({ () throws(WireError) in try DNSName(text) }) else {
            Issue.record("\(text) was not refused as an empty label")
            return
        }
    }

    @Test("a 63-octet label is accepted, a 64-octet label refused")
    func labelLength() throws {
        #expect(try DNSName(String(repeating: "a", count: 63) + ".test").labels[0].count == 63)
        #expect(nameError { () throws(WireError) in try DNSName(String(repeating: "a", count: 64) + ".test") }
            == .dnsNameTooLong)
        #expect(nameError { () throws(WireError) in try DNSName(labels: [[UInt8](repeating: 0x61, count: 64)]) }
            == .dnsNameTooLong)
    }

    @Test("a name of 255 octets in wire form is accepted, 256 refused")
    func nameLength() throws {
        let a63 = String(repeating: "a", count: 63)
        let longest = try DNSName([a63, a63, a63, String(repeating: "b", count: 61)].joined(separator: "."))
        #expect(longest.wireBytes.count == 255)
        #expect(nameError { () throws(WireError) in
            try DNSName([a63, a63, a63, String(repeating: "b", count: 62)].joined(separator: "."))
        } == .dnsNameTooLong)
    }
}

@Suite("DNS message errors")
struct DNSErrorTests {
    @Test("fewer than 12 bytes are truncated, at every length")
    func shortHeader() throws {
        let bytes = try dnsPayload(2)
        for length in 0..<12 {
            #expect(dnsError(Array(bytes[0..<length])) == .truncated(.dns, needed: 12, available: length))
        }
    }

    @Test("a response cut anywhere after the header is refused: truncated, or a bad RDLENGTH inside the data")
    func cutAnywhere() throws {
        let bytes = try dnsPayload(2)  // 12 header, 22 question, 16 answer whose RDATA is the last 4 bytes
        for length in 12..<bytes.count {
            let error = dnsError(Array(bytes[0..<length]))
            if length >= bytes.count - 4 {
                #expect(error == .badLength(.dns, 4), "length \(length)")
            } else if case .truncated(.dns, _, length)? = error {
            } else {
                Issue.record("length \(length): \(String(describing: error))")
            }
        }
        let cname = try dnsPayload(4)
        for length in 12..<cname.count {
            #expect(dnsError(Array(cname[0..<length])) != nil, "length \(length)")
        }
    }

    @Test("counts that promise more entries than the bytes hold are truncated")
    func lyingCounts() throws {
        var bytes = try dnsPayload(2)
        bytes[7] = 2  // two answers, one present
        #expect(dnsError(bytes) == .truncated(.dns, needed: bytes.count + 1, available: bytes.count))
        bytes[7] = 1
        bytes[5] = 3  // three questions, one present: the second is read from the answer, the third runs out
        #expect(dnsError(bytes) != nil)
        var query = try dnsPayload(1)
        query[11] = 1  // an additional record that is not there
        #expect(dnsError(query) == .truncated(.dns, needed: query.count + 1, available: query.count))
        query[11] = 0
        query[5] = 0xFF
        #expect(dnsError(query) == .truncated(.dns, needed: query.count + 1, available: query.count))
    }

    @Test("an RDLENGTH running past the message is a bad length")
    func rdataPastEnd() throws {
        var bytes = try dnsPayload(2)
        bytes[bytes.count - 5] = 5  // RDLENGTH 5, four bytes follow
        #expect(dnsError(bytes) == .badLength(.dns, 5))
        bytes[bytes.count - 6] = 0xFF
        #expect(dnsError(bytes) == .badLength(.dns, 0xFF05))
    }

    @Test("an A record whose RDLENGTH is not 4 is a bad field", arguments: [0, 3, 5, 16])
    func aRecordLength(length: Int) throws {
        let bytes = header(answers: 1) + wire(www) + [0, 1, 0, 1, 0, 0, 0, 60, 0, UInt8(length)]
            + [UInt8](repeating: 1, count: length)
        guard case .badField(.dns, _)? = dnsError(bytes) else {
            Issue.record("A record of \(length) bytes accepted")
            return
        }
    }

    @Test("a CNAME whose name does not end exactly at the RDATA's end is a bad length")
    func cnameLength() throws {
        var bytes = try dnsPayload(4)
        bytes[bytes.count - 19] = 17  // RDLENGTH 17: the name's final zero lies outside
        bytes.removeLast()
        #expect(dnsError(bytes) == .badLength(.dns, 17))
        var longer = try dnsPayload(4)
        longer[longer.count - 19] = 19  // one stray byte after the name
        longer.append(0)
        #expect(dnsError(longer) == .badLength(.dns, 19))
    }

    @Test("a pointer to itself is a bad pointer")
    func selfPointer() {
        #expect(dnsError(header(questions: 1) + [0xC0, 12, 0, 1, 0, 1]) == .dnsBadPointer(offset: 12))
    }

    @Test("a forward pointer, or one past the message, is a bad pointer")
    func forwardPointer() {
        let message = header(questions: 1) + [0xC0, 18, 0, 1, 0, 1] + wire(["a"])
        #expect(dnsError(message) == .dnsBadPointer(offset: 12))
        #expect(dnsError(header(questions: 1) + [0xFF, 0xFF, 0, 1, 0, 1]) == .dnsBadPointer(offset: 12))
    }

    @Test("a pointer back into the name being read is a compression loop")
    func pointerLoop() {
        // "a" at 12, then a pointer at 14 back to 12: a → a → a → …
        #expect(dnsError(header(questions: 1) + [1, 0x61, 0xC0, 12, 0, 1, 0, 1]) == .dnsCompressionLoop(offset: 14))
        // Two names pointing at each other: the second (at 22) → 12 → back to 22 is not "earlier".
        let message = header(questions: 2) + [1, 0x61, 0xC0, 22, 0, 1, 0, 1] + [1, 0x62, 0xC0, 12, 0, 1, 0, 1]
        #expect(dnsError(message) == .dnsBadPointer(offset: 14))
    }

    /// A message whose second answer's owner name follows a chain of `jumps` pointers, each to the one
    /// before, down to the root name of the first answer (whose TXT data holds the chain).
    private func pointerChain(jumps: Int) -> [UInt8] {
        let links = jumps - 1
        let dataStart = 12 + 1 + 10
        var message = header(answers: 2) + [0] + [0, 16, 0, 1, 0, 0, 0, 0, UInt8(2 * links >> 8), UInt8(2 * links & 0xFF)]
        for i in 0..<links {
            let target = i == 0 ? 12 : dataStart + 2 * (i - 1)
            message += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
        }
        let last = links == 0 ? 12 : dataStart + 2 * (links - 1)
        message += [0xC0 | UInt8(last >> 8), UInt8(last & 0xFF)] + [0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]
        return message
    }

    @Test("a chain of 127 pointers is followed, 128 is a compression loop")
    func pointerChainBound() throws {
        let allowed = try parseDNS(pointerChain(jumps: 127))
        #expect(allowed.answers.count == 2 && allowed.answers[1].name == .root)
        let tooMany = pointerChain(jumps: 128)
        #expect(dnsError(tooMany) == .dnsCompressionLoop(offset: 23))  // the 128th pointer is the first of the chain
    }

    @Test("label types 01 and 10 are bad labels", arguments: [0x40, 0x7F, 0x80, 0xBF])
    func badLabelType(byte: Int) {
        #expect(dnsError(header(questions: 1) + [1, 0x61, UInt8(byte), 0, 0, 1, 0, 1]) == .dnsBadLabel(offset: 14))
    }

    @Test("a 64-octet label cannot be written: its length byte 0x40 is label type 01")
    func sixtyFourOctetLabel() {
        let message = header(questions: 1) + [64] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]
        #expect(dnsError(message) == .dnsBadLabel(offset: 12))
    }

    @Test("a name of 256 octets is too long, 255 is accepted")
    func longNames() throws {
        let a63 = String(repeating: "a", count: 63)
        let longest = header(questions: 1) + wire([a63, a63, a63, String(repeating: "b", count: 61)]) + [0, 1, 0, 1]
        #expect(try parseDNS(longest).questions[0].name.wireBytes.count == 255)
        let tooLong = header(questions: 1) + wire([a63, a63, a63, String(repeating: "b", count: 62)]) + [0, 1, 0, 1]
        #expect(dnsError(tooLong) == .dnsNameTooLong)
    }

    @Test("a name made too long by a pointer is too long")
    func longNameThroughPointer() {
        let a63 = String(repeating: "a", count: 63)
        let first = wire([a63, a63, a63])                       // 193 octets at offset 12
        let second = [UInt8(62)] + [UInt8](repeating: 0x62, count: 62) + [0xC0, 12]  // 63 + 193 = 256
        let message = header(questions: 2) + first + [0, 1, 0, 1] + second + [0, 1, 0, 1]
        #expect(dnsError(message) == .dnsNameTooLong)
    }
}

@Suite("DNS records of other types")
struct DNSOtherRecordTests {
    @Test("records of other types keep their RDATA as raw bytes and encode back")
    func rawRecords() throws {
        // A TXT record (type 16, RFC 1035 §3.3.14): one character-string "v=spf1 -all".
        let text: [UInt8] = [11] + Array("v=spf1 -all".utf8)
        let bytes = header(answers: 1) + wire(www) + [0, 16, 0, 1, 0, 0, 0x0E, 0x10, 0, 12] + text
        let message = try parseDNS(bytes)
        #expect(message.answers == [DNSResourceRecord(name: try name("www.example.test"), timeToLive: 3600,
                                                      data: .raw(type: .txt, bytes: text))])
        #expect(message.answers[0].type == .txt)
        #expect(message.encoded() == bytes)
    }

    @Test("flags can be set field by field")
    func flags() {
        var flags = DNSFlags(rawValue: 0)
        flags.isResponse = true
        flags.opcode = 2
        flags.authoritative = true
        flags.recursionAvailable = true
        flags.responseCode = .nameError
        #expect(flags.rawValue == 0x9483)
        #expect(flags.description == "qr aa ra opcode 2 NXDOMAIN")
        flags.isResponse = false
        flags.responseCode = .noError
        #expect(flags.rawValue == 0x1480)
    }
}

@Suite("DNS parser under random mutation")
struct DNSMutationTests {
    @Test("5,000 random mutations of the captured messages only throw WireError; what parses re-encodes")
    func randomMutations() throws {
        let messages = try (1...4).map(dnsPayload)
        var state: UInt64 = 0xD45_0001
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(max(bound, 1)))
        }
        let interesting: [UInt8] = [0, 1, 2, 3, 4, 5, 12, 18, 63, 64, 0x80, 0xC0, 0xC0, 0xFF]
        var accepted = 0, rejected = 0
        for _ in 0..<5000 {
            var bytes = messages[next(messages.count)]
            for _ in 0...next(4) {
                guard !bytes.isEmpty else { break }
                let at = next(bytes.count)
                switch next(5) {
                case 0: bytes[at] = UInt8(next(256))
                case 1: bytes[at] = interesting[next(interesting.count)]
                case 2: bytes.removeLast(next(bytes.count + 1))
                case 3: bytes.remove(at: at)
                default: bytes.insert(interesting[next(interesting.count)], at: at)
                }
            }
            let message: DNSMessage
            do throws(WireError) {
                message = try parseDNS(bytes)
            } catch {
                rejected += 1
                continue
            }
            accepted += 1
            #expect(try parseDNS(message.encoded()) == message)
            #expect(try parseDNS(message.encoded(compressingNames: true)) == message)
        }
        #expect(accepted > 300 && rejected > 300)
    }
}
