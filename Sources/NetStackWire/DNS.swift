// The parts of a DNS message (RFC 1035 §4.1): types, classes, header flags,
// questions and resource records. The message itself is in DNSMessage.swift,
// names and their compression in DNSName.swift. RFCs to read: RFC 1035 §3
// and §4, RFC 4343 (case insensitivity), RFC 6895 §2 (header flags).

/// A DNS record type (RFC 1035 §3.2.2, later RFCs for the rest).
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The TYPE field as it travels.
    public let rawValue: UInt16
    /// A type from its number.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Host address (IPv4), RFC 1035 §3.4.1.
    @inlinable public static var a: DNSType { DNSType(rawValue: 1) }
    /// Authoritative name server, RFC 1035 §3.3.11.
    @inlinable public static var ns: DNSType { DNSType(rawValue: 2) }
    /// Canonical name of an alias, RFC 1035 §3.3.1.
    @inlinable public static var cname: DNSType { DNSType(rawValue: 5) }
    /// Start of a zone of authority, RFC 1035 §3.3.13.
    @inlinable public static var soa: DNSType { DNSType(rawValue: 6) }
    /// Domain name pointer, RFC 1035 §3.3.12.
    @inlinable public static var ptr: DNSType { DNSType(rawValue: 12) }
    /// Mail exchange, RFC 1035 §3.3.9.
    @inlinable public static var mx: DNSType { DNSType(rawValue: 15) }
    /// Text strings, RFC 1035 §3.3.14.
    @inlinable public static var txt: DNSType { DNSType(rawValue: 16) }
    /// Host address (IPv6), RFC 3596 §2.1.
    @inlinable public static var aaaa: DNSType { DNSType(rawValue: 28) }
    /// EDNS(0) pseudo-record, RFC 6891 §6.1.
    @inlinable public static var opt: DNSType { DNSType(rawValue: 41) }

    /// The mnemonic (`A`, `CNAME`, …) or `TYPE<n>` (RFC 3597 §5).
    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A DNS class (RFC 1035 §3.2.4). Almost always `.in`.
public struct DNSClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The CLASS field as it travels.
    public let rawValue: UInt16
    /// A class from its number.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The Internet.
    @inlinable public static var `in`: DNSClass { DNSClass(rawValue: 1) }
    /// Any class (QCLASS only).
    @inlinable public static var any: DNSClass { DNSClass(rawValue: 255) }

    /// `IN`, `ANY` or `CLASS<n>` (RFC 3597 §5).
    public var description: String {
        switch self {
        case .in: "IN"
        case .any: "ANY"
        default: "CLASS\(rawValue)"
        }
    }
}

/// The second 16-bit word of a DNS header (RFC 1035 §4.1.1):
/// `QR | Opcode(4) | AA | TC | RD | RA | Z | AD | CD | RCODE(4)`.
/// Each field is a view on ``rawValue``; the bits NetStack does not name
/// (Z, AD, CD) are kept as received.
public struct DNSFlags: Hashable, Sendable, CustomStringConvertible {
    /// The 16 bits as they travel.
    public var rawValue: UInt16

    /// Flags from their wire form.
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The flags of a standard query: opcode 0 and, by default, recursion desired.
    @inlinable public init(recursionDesired: Bool = true) {
        rawValue = recursionDesired ? 0x0100 : 0
    }

    @inlinable func bit(_ mask: UInt16) -> Bool { rawValue & mask != 0 }
    @inlinable mutating func set(_ mask: UInt16, _ on: Bool) {
        rawValue = on ? rawValue | mask : rawValue & ~mask
    }

    /// QR: the message is a response.
    @inlinable public var isResponse: Bool { get { bit(0x8000) } set { set(0x8000, newValue) } }
    /// The kind of query, 0…15 (0 standard query, 2 status, 4 notify, 5 update).
    @inlinable public var opcode: UInt8 {
        get { UInt8(rawValue >> 11 & 0xF) }
        set { rawValue = rawValue & ~0x7800 | UInt16(newValue & 0xF) << 11 }
    }
    /// AA: the responding server is an authority for the name.
    @inlinable public var authoritative: Bool { get { bit(0x0400) } set { set(0x0400, newValue) } }
    /// TC: the message was truncated to fit the transport.
    @inlinable public var truncated: Bool { get { bit(0x0200) } set { set(0x0200, newValue) } }
    /// RD: the client asks the server to resolve recursively.
    @inlinable public var recursionDesired: Bool { get { bit(0x0100) } set { set(0x0100, newValue) } }
    /// RA: the server offers recursion.
    @inlinable public var recursionAvailable: Bool { get { bit(0x0080) } set { set(0x0080, newValue) } }
    /// The response code, 0…15.
    @inlinable public var responseCode: DNSResponseCode {
        get { DNSResponseCode(rawValue: UInt8(rawValue & 0xF)) }
        set { rawValue = rawValue & ~0xF | UInt16(newValue.rawValue & 0xF) }
    }

    /// The flags set, as dig prints them (`qr aa rd ra`), then the opcode and rcode when not zero.
    public var description: String {
        var parts: [String] = []
        if isResponse { parts.append("qr") }
        if authoritative { parts.append("aa") }
        if truncated { parts.append("tc") }
        if recursionDesired { parts.append("rd") }
        if recursionAvailable { parts.append("ra") }
        if opcode != 0 { parts.append("opcode \(opcode)") }
        if responseCode != .noError { parts.append(responseCode.description) }
        return parts.joined(separator: " ")
    }
}

/// A DNS response code, the RCODE field (RFC 1035 §4.1.1, RFC 6895 §2.3).
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 4-bit RCODE.
    public let rawValue: UInt8
    /// A response code from its number.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// No error.
    @inlinable public static var noError: DNSResponseCode { DNSResponseCode(rawValue: 0) }
    /// The server could not interpret the query.
    @inlinable public static var formatError: DNSResponseCode { DNSResponseCode(rawValue: 1) }
    /// The server failed to process the query.
    @inlinable public static var serverFailure: DNSResponseCode { DNSResponseCode(rawValue: 2) }
    /// The name does not exist (NXDOMAIN).
    @inlinable public static var nameError: DNSResponseCode { DNSResponseCode(rawValue: 3) }
    /// The server does not support this kind of query.
    @inlinable public static var notImplemented: DNSResponseCode { DNSResponseCode(rawValue: 4) }
    /// The server refuses to answer, by policy.
    @inlinable public static var refused: DNSResponseCode { DNSResponseCode(rawValue: 5) }

    /// The name dig prints: `NOERROR`, `FORMERR`, `SERVFAIL`, `NXDOMAIN`, `NOTIMP`, `REFUSED`, or `RCODE<n>`.
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// One entry of the question section (RFC 1035 §4.1.2).
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    /// The name asked about.
    public var name: DNSName
    /// The record type wanted (QTYPE).
    public var type: DNSType
    /// The class wanted (QCLASS), almost always IN.
    public var `class`: DNSClass

    /// A question for `name`, type `type`, class IN by default.
    public init(name: DNSName, type: DNSType, class: DNSClass = .in) {
        self.name = name
        self.type = type
        self.class = `class`
    }

    /// `www.example.test IN A`.
    public var description: String { "\(name) \(`class`) \(type)" }
}

/// The RDATA of a resource record: decoded for A, AAAA and CNAME, raw bytes otherwise.
public enum DNSRecordData: Hashable, Sendable {
    /// An IPv4 address (type A, RFC 1035 §3.4.1).
    case a(IPv4Address)
    /// An IPv6 address (type AAAA, RFC 3596 §2.2: 16 octets in network order).
    case aaaa(IPv6Address)
    /// The canonical name of an alias (type CNAME, RFC 1035 §3.3.1).
    case cname(DNSName)
    /// Any other type, RDATA kept as received. Names inside it (NS, MX, SOA,
    /// PTR) may be compression pointers meaningful only in the original message.
    case raw(type: DNSType, bytes: [UInt8])

    /// The record type this data belongs to.
    public var type: DNSType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .cname: .cname
        case let .raw(type, _): type
        }
    }
}

/// A resource record of the answer, authority or additional section (RFC 1035 §4.1.3).
public struct DNSResourceRecord: Hashable, Sendable, CustomStringConvertible {
    /// The owner name.
    public var name: DNSName
    /// The record's class, almost always IN (for an OPT record, the requester's UDP payload size).
    public var `class`: DNSClass
    /// How long the record may be cached, in seconds.
    public var timeToLive: UInt32
    /// The type-specific data; it also decides ``type``.
    public var data: DNSRecordData

    /// A record for `name`; its type is the type of `data`.
    public init(name: DNSName, class: DNSClass = .in, timeToLive: UInt32, data: DNSRecordData) {
        self.name = name
        self.class = `class`
        self.timeToLive = timeToLive
        self.data = data
    }

    /// The record type, from ``data``.
    public var type: DNSType { data.type }

    /// A zone-file line: `www.example.test 0 IN A 198.51.100.1`.
    public var description: String {
        let value = switch data {
        case let .a(address): address.description
        case let .aaaa(address): address.description
        case let .cname(name): name.description
        case let .raw(_, bytes): "\\# \(bytes.count)" + (bytes.isEmpty ? "" : " ")
            + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
        return "\(name) \(timeToLive) \(`class`) \(type) \(value)"
    }
}
