/// Destination-unreachable codes (RFC 792, RFC 1812 §5.2.7.1).
public enum UnreachableCode: UInt8, Sendable {
    case network = 0, host = 1, `protocol` = 2, port = 3, fragmentationNeeded = 4, sourceRouteFailed = 5
    case administrativelyProhibited = 13
}

/// What an ICMPv4 message says: the kinds NetStack speaks, and the rest as numbers.
public enum ICMPv4Message: Hashable, Sendable {
    case echoRequest(identifier: UInt16, sequence: UInt16)
    case echoReply(identifier: UInt16, sequence: UInt16)
    /// Type 3. `nextHopMTU` is meaningful for `.fragmentationNeeded` (RFC 1191), else 0.
    case destinationUnreachable(code: UInt8, nextHopMTU: UInt16)
    /// Type 11: code 0 TTL exceeded in transit, 1 fragment reassembly time exceeded.
    case timeExceeded(code: UInt8)
    case other(type: UInt8, code: UInt8, rest: UInt32)

    /// The type byte.
    public var type: UInt8 {
        switch self {
        case .echoReply: 0
        case .destinationUnreachable: 3
        case .echoRequest: 8
        case .timeExceeded: 11
        case let .other(type, _, _): type
        }
    }

    /// True for the error messages that quote the datagram that caused them.
    public var isError: Bool {
        switch self {
        case .destinationUnreachable, .timeExceeded: true
        case let .other(type, _, _): [4, 5, 12].contains(type)
        default: false
        }
    }
}

/// An ICMPv4 header (RFC 792): type, code, checksum and the 4-byte rest of header.
///
/// The checksum covers the whole message, so `parse` and `emit` work on the
/// entire ICMP message (header and data) as it sits in the IP payload.
public struct ICMPv4Header: Hashable, Sendable, CustomStringConvertible {
    public var message: ICMPv4Message
    /// The checksum as read by `parse`; `emit` computes a fresh one.
    public var checksum: UInt16 = 0

    /// Header size in bytes.
    public static let length = 8

    public init(_ message: ICMPv4Message) { self.message = message }

    /// Parses the ICMP message in `bytes` (the whole IP payload) and verifies its checksum.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> ICMPv4Header {
        guard bytes.count >= length else { throw .truncated(.icmpv4, needed: length, available: bytes.count) }
        guard InternetChecksum.checksum(bytes) == 0 else { throw .badChecksum(.icmpv4) }
        let type = bytes[0], code = bytes[1], rest = bytes.be32(4)
        let message: ICMPv4Message = switch type {
        case 0 where code == 0: .echoReply(identifier: bytes.be16(4), sequence: bytes.be16(6))
        case 8 where code == 0: .echoRequest(identifier: bytes.be16(4), sequence: bytes.be16(6))
        case 3: .destinationUnreachable(code: code, nextHopMTU: code == 4 ? UInt16(truncatingIfNeeded: rest) : 0)
        case 11: .timeExceeded(code: code)
        default: .other(type: type, code: code, rest: rest)
        }
        var header = ICMPv4Header(message)
        header.checksum = bytes.be16(2)
        return header
    }

    /// Writes the header at the start of `message` and the checksum over all of
    /// `message` (header plus the data the caller already placed after it).
    public func emit(into message: UnsafeMutableRawBufferPointer) {
        precondition(message.count >= Self.length, "ICMP header needs 8 bytes")
        let (code, rest): (UInt8, UInt32) = switch self.message {
        case let .echoRequest(id, seq), let .echoReply(id, seq): (0, UInt32(id) << 16 | UInt32(seq))
        case let .destinationUnreachable(code, mtu): (code, UInt32(mtu))
        case let .timeExceeded(code): (code, 0)
        case let .other(_, code, rest): (code, rest)
        }
        message[0] = self.message.type
        message[1] = code
        message.storeBE16(0, at: 2)
        message.storeBE32(rest, at: 4)
        message.storeBE16(InternetChecksum.checksum(UnsafeRawBufferPointer(message)), at: 2)
    }

    public var description: String {
        switch message {
        case let .echoRequest(id, seq): "ICMP echo request id \(id) seq \(seq)"
        case let .echoReply(id, seq): "ICMP echo reply id \(id) seq \(seq)"
        case let .destinationUnreachable(code, mtu):
            switch UnreachableCode(rawValue: code) {
            case .port: "ICMP destination unreachable (port unreachable)"
            case .host: "ICMP destination unreachable (host unreachable)"
            case .network: "ICMP destination unreachable (network unreachable)"
            case .fragmentationNeeded: "ICMP destination unreachable (fragmentation needed, next-hop MTU \(mtu))"
            default: "ICMP destination unreachable (code \(code))"
            }
        case let .timeExceeded(code): code == 0 ? "ICMP time exceeded in transit" : "ICMP fragment reassembly time exceeded"
        case let .other(type, code, _): "ICMP type \(type) code \(code)"
        }
    }
}

/// The part of the offending datagram an ICMP error quotes (RFC 792): its IP
/// header and at least the first 8 bytes of its payload — enough for the ports.
public struct ICMPv4Quote: Hashable, Sendable {
    /// The quoted IP header (checksum not verified: it may describe a datagram changed in flight).
    public var header: IPv4Header
    /// Source and destination port when the quoted datagram is UDP or TCP, else nil.
    public var ports: (source: UInt16, destination: UInt16)? {
        guard let sourcePort, let destinationPort else { return nil }
        return (sourcePort, destinationPort)
    }
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?

    /// Parses the data of an ICMP error message (the bytes after its 8-byte header).
    public static func parse(_ data: UnsafeRawBufferPointer) throws(WireError) -> ICMPv4Quote {
        let header = try IPv4Header.parseQuoted(data)
        var quote = ICMPv4Quote(header: header)
        let start = header.headerLength
        if header.fragmentOffset == 0, header.protocol == .udp || header.protocol == .tcp, data.count >= start + 4 {
            quote.sourcePort = data.be16(start)
            quote.destinationPort = data.be16(start + 2)
        }
        return quote
    }

    public static func == (a: ICMPv4Quote, b: ICMPv4Quote) -> Bool {
        a.header == b.header && a.sourcePort == b.sourcePort && a.destinationPort == b.destinationPort
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(sourcePort)
        hasher.combine(destinationPort)
    }
}
