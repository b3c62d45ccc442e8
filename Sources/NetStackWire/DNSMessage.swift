/// A DNS message (RFC 1035 §4.1): the header, then the question, answer,
/// authority and additional sections.
///
/// `parse` reads a whole message, following name compression with loop
/// protection (``DNSName``), and validates every count and length against the
/// bytes; after it succeeds every field is plain data. A and CNAME records are
/// decoded, other types kept as raw RDATA. Bytes after the last record are
/// ignored. DNS is not on the per-packet hot path, so messages use arrays.
///
/// `encoded`/`emit` write names uncompressed by default, as a stub resolver's
/// query does; with `compressingNames` each name reuses the longest suffix
/// already written (RFC 1035 §4.1.4).
public struct DNSMessage: Hashable, Sendable, CustomStringConvertible {
    /// Matches a response to its query.
    public var id: UInt16
    /// QR, opcode, AA, TC, RD, RA and the response code.
    public var flags: DNSFlags
    /// The question section: what is asked.
    public var questions: [DNSQuestion] = []
    /// The answer section: records that answer the question.
    public var answers: [DNSResourceRecord] = []
    /// The authority section: name servers, or the SOA of a negative answer.
    public var authorities: [DNSResourceRecord] = []
    /// The additional section: related records (glue addresses, EDNS OPT).
    public var additionals: [DNSResourceRecord] = []

    /// Header size in bytes.
    public static let headerLength = 12

    /// A message with the given sections.
    public init(id: UInt16, flags: DNSFlags, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
                authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard query (opcode 0) for one name, class IN, recursion desired
    /// by default: what a stub resolver sends (RFC 1035 §4.1, §7.2).
    public static func query(id: UInt16, name: DNSName, type: DNSType = .a,
                             recursionDesired: Bool = true) -> DNSMessage {
        DNSMessage(id: id, flags: DNSFlags(recursionDesired: recursionDesired),
                   questions: [DNSQuestion(name: name, type: type)])
    }

    // MARK: Parsing

    /// Parses the DNS message in `bytes` (a UDP payload). O(n) in the message
    /// size, with one allocation per name and record.
    ///
    /// - Throws: `.truncated(.dns, …)` below 12 bytes, or when the counts
    ///   promise more entries than the bytes hold; `.badLength(.dns, n)` when an
    ///   RDLENGTH runs past the message or does not match a CNAME's name;
    ///   `.badField(.dns, …)` for an IN A record whose RDLENGTH is not 4 (AAAA: not 16); and the
    ///   name errors of ``DNSName``: `.dnsBadPointer`, `.dnsCompressionLoop`,
    ///   `.dnsNameTooLong`, `.dnsBadLabel`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> DNSMessage {
        guard bytes.count >= headerLength else {
            throw .truncated(.dns, needed: headerLength, available: bytes.count)
        }
        var message = DNSMessage(id: bytes.be16(0), flags: DNSFlags(rawValue: bytes.be16(2)))
        let questionCount = Int(bytes.be16(4)), answerCount = Int(bytes.be16(6))
        let authorityCount = Int(bytes.be16(8)), additionalCount = Int(bytes.be16(10))
        var position = headerLength
        for _ in 0..<questionCount {
            let (name, end) = try DNSName.read(from: bytes, at: position, limit: bytes.count)
            guard end + 4 <= bytes.count else { throw .truncated(.dns, needed: end + 4, available: bytes.count) }
            message.questions.append(DNSQuestion(name: name, type: DNSType(rawValue: bytes.be16(end)),
                                                 class: DNSClass(rawValue: bytes.be16(end + 2))))
            position = end + 4
        }
        message.answers = try readRecords(answerCount, from: bytes, at: &position)
        message.authorities = try readRecords(authorityCount, from: bytes, at: &position)
        message.additionals = try readRecords(additionalCount, from: bytes, at: &position)
        return message
    }

    /// Reads `count` resource records starting at `position`, advancing it.
    static func readRecords(_ count: Int, from bytes: UnsafeRawBufferPointer, at position: inout Int)
        throws(WireError) -> [DNSResourceRecord] {
        var records: [DNSResourceRecord] = []
        for _ in 0..<count {
            let (record, end) = try readRecord(from: bytes, at: position)
            records.append(record)
            position = end
        }
        return records
    }

    /// Reads one resource record (RFC 1035 §4.1.3) at `start`; returns it and the offset after it.
    static func readRecord(from bytes: UnsafeRawBufferPointer, at start: Int)
        throws(WireError) -> (record: DNSResourceRecord, end: Int) {
        let (name, fixedStart) = try DNSName.read(from: bytes, at: start, limit: bytes.count)
        guard fixedStart + 10 <= bytes.count else {
            throw .truncated(.dns, needed: fixedStart + 10, available: bytes.count)
        }
        let type = DNSType(rawValue: bytes.be16(fixedStart))
        let recordClass = DNSClass(rawValue: bytes.be16(fixedStart + 2))
        let timeToLive = bytes.be32(fixedStart + 4)
        let dataLength = Int(bytes.be16(fixedStart + 8))
        let dataStart = fixedStart + 10, dataEnd = dataStart + dataLength
        guard dataEnd <= bytes.count else { throw .badLength(.dns, dataLength) }
        let data: DNSRecordData
        switch type {
        case .a where recordClass == .in:
            guard dataLength == 4 else { throw .badField(.dns, "A record with RDLENGTH \(dataLength), not 4") }
            data = .a(IPv4Address.load(bytes, at: dataStart))
        case .aaaa where recordClass == .in:
            guard dataLength == 16 else { throw .badField(.dns, "AAAA record with RDLENGTH \(dataLength), not 16") }
            data = .aaaa(IPv6Address.load(bytes, at: dataStart))
        case .cname:
            let target: DNSName, nameEnd: Int
            do throws(WireError) {
                (target, nameEnd) = try DNSName.read(from: bytes, at: dataStart, limit: dataEnd)
            } catch {
                if case .truncated = error { throw .badLength(.dns, dataLength) }
                throw error
            }
            guard nameEnd == dataEnd else { throw .badLength(.dns, dataLength) }
            data = .cname(target)
        default:
            data = .raw(type: type, bytes: Array(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<dataEnd])))
        }
        return (DNSResourceRecord(name: name, class: recordClass, timeToLive: timeToLive, data: data), dataEnd)
    }

    // MARK: Emitting

    /// The message in wire form. Names are written uncompressed unless
    /// `compressingNames` (then also inside CNAME data, which RFC 3597 §4
    /// allows for that well-known type). O(n) in the message size.
    ///
    /// Precondition: each section holds at most 65,535 entries and each raw
    /// RDATA at most 65,535 bytes.
    public func encoded(compressingNames: Bool = false) -> [UInt8] {
        precondition([questions.count, answers.count, authorities.count, additionals.count].allSatisfy { $0 <= 0xFFFF },
                     "a DNS section holds at most 65535 entries")
        var output: [UInt8] = []
        output.reserveCapacity(512)
        func append16(_ value: UInt16) {
            output.append(UInt8(value >> 8))
            output.append(UInt8(truncatingIfNeeded: value))
        }
        func append32(_ value: UInt32) {
            append16(UInt16(value >> 16))
            append16(UInt16(truncatingIfNeeded: value))
        }
        var offsets: [[UInt8]: Int] = [:]
        func append(_ name: DNSName) {
            if compressingNames { name.write(to: &output, compressingWith: &offsets) } else { name.write(to: &output) }
        }

        append16(id)
        append16(flags.rawValue)
        for count in [questions.count, answers.count, authorities.count, additionals.count] { append16(UInt16(count)) }
        for question in questions {
            append(question.name)
            append16(question.type.rawValue)
            append16(question.class.rawValue)
        }
        for record in answers + authorities + additionals {
            append(record.name)
            append16(record.type.rawValue)
            append16(record.class.rawValue)
            append32(record.timeToLive)
            let lengthAt = output.count
            append16(0)
            switch record.data {
            case let .a(address): append32(address.rawValue)
            case let .aaaa(address):
                append32(UInt32(truncatingIfNeeded: address.high >> 32))
                append32(UInt32(truncatingIfNeeded: address.high))
                append32(UInt32(truncatingIfNeeded: address.low >> 32))
                append32(UInt32(truncatingIfNeeded: address.low))
            case let .cname(target): append(target)
            case let .raw(_, bytes):
                precondition(bytes.count <= 0xFFFF, "RDATA holds at most 65535 bytes")
                output.append(contentsOf: bytes)
            }
            let length = output.count - lengthAt - 2
            output[lengthAt] = UInt8(length >> 8)
            output[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
        }
        return output
    }

    /// Writes the message at the start of `buffer` (see ``encoded(compressingNames:)``)
    /// and returns its length. Builds the bytes once, then copies them.
    ///
    /// Precondition: `buffer` is at least as long as the encoded message.
    @discardableResult
    public func emit(into buffer: UnsafeMutableRawBufferPointer, compressingNames: Bool = false) -> Int {
        let bytes = encoded(compressingNames: compressingNames)
        precondition(buffer.count >= bytes.count, "DNS message needs \(bytes.count) bytes")
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<bytes.count]).copyBytes(from: bytes)
        return bytes.count
    }

    /// One line: `DNS response 0x1234 [qr aa rd ra] www.example.test IN A → www.example.test 0 IN A 198.51.100.1`.
    public var description: String {
        var text = "DNS \(flags.isResponse ? "response" : "query") 0x\(String(id, radix: 16)) [\(flags)]"
        if !questions.isEmpty { text += " " + questions.map(\.description).joined(separator: ", ") }
        let records = answers + authorities + additionals
        if !records.isEmpty { text += " → " + records.map(\.description).joined(separator: "; ") }
        return text
    }
}
