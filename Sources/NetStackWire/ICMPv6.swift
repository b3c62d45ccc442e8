// ICMPv6. RFCs to read: RFC 4443 (§2.1 message format, §2.3 checksum, §2.4 error rules,
// §3 errors, §4 echo), RFC 8200 §8.1 (pseudo-header), RFC 7112 §3 (parameter problem code 3).
// Neighbour discovery (types 133–137) lives in NDP.swift, MLDv2 (type 143) in MLD.swift; here
// they are numbers.

/// Destination-unreachable codes (RFC 4443 §3.1).
public enum ICMPv6UnreachableCode: UInt8, Sendable {
    case noRoute = 0, administrativelyProhibited = 1, beyondScopeOfSource = 2, address = 3, port = 4
    case sourceAddressFailedPolicy = 5, rejectRoute = 6
}

/// Parameter-problem codes (RFC 4443 §3.4, RFC 7112 §3).
public enum ICMPv6ParameterProblemCode: UInt8, Sendable {
    case erroneousHeaderField = 0, unrecognizedNextHeader = 1, unrecognizedOption = 2
    case incompleteHeaderChain = 3
}

/// What an ICMPv6 message says: the RFC 4443 kinds, and every other type as numbers.
public enum ICMPv6Message: Hashable, Sendable {
    /// Type 1 (RFC 4443 §3.1); see ``ICMPv6UnreachableCode``.
    case destinationUnreachable(code: UInt8)
    /// Type 2 (RFC 4443 §3.2): the MTU of the next-hop link.
    case packetTooBig(mtu: UInt32)
    /// Type 3 (RFC 4443 §3.3): code 0 hop limit exceeded in transit, 1 reassembly time exceeded.
    case timeExceeded(code: UInt8)
    /// Type 4 (RFC 4443 §3.4): `pointer` is the offset of the offending byte in the quoted packet.
    case parameterProblem(code: UInt8, pointer: UInt32)
    /// Type 128 (RFC 4443 §4.1).
    case echoRequest(identifier: UInt16, sequence: UInt16)
    /// Type 129 (RFC 4443 §4.2).
    case echoReply(identifier: UInt16, sequence: UInt16)
    /// Any other type (NDP, MLD, …): its code and the 4 bytes after the checksum.
    case other(type: UInt8, code: UInt8, rest: UInt32)

    /// The type byte.
    public var type: UInt8 {
        switch self {
        case .destinationUnreachable: 1
        case .packetTooBig: 2
        case .timeExceeded: 3
        case .parameterProblem: 4
        case .echoRequest: 128
        case .echoReply: 129
        case let .other(type, _, _): type
        }
    }

    /// True for error messages (types 0–127, RFC 4443 §2.1), which quote the packet that caused them.
    public var isError: Bool { type < 128 }
}

/// An ICMPv6 header (RFC 4443 §2.1): type, code, checksum and the 4 bytes after it.
///
/// The checksum covers the IPv6 pseudo-header and the whole message, so `parse` and `emit`
/// work on the entire message (the upper-layer bytes of the packet) and take the addresses.
public struct ICMPv6Header: Hashable, Sendable, CustomStringConvertible {
    /// What the message says.
    public var message: ICMPv6Message
    /// The checksum as read by `parse`; `emit` computes a fresh one.
    public var checksum: UInt16 = 0

    /// Header size in bytes.
    public static let length = 8
    /// The largest error message: the invoking packet is quoted only as far as the whole
    /// IPv6 packet stays within the minimum MTU of 1,280 bytes (RFC 4443 §2.4 (c)).
    public static let maximumErrorMessageLength = IPv6Header.minimumMTU - IPv6Header.length

    /// A header saying `message`; `emit` fills in the checksum.
    public init(_ message: ICMPv6Message) { self.message = message }

    /// Parses the ICMPv6 message in `bytes` and verifies its checksum over the pseudo-header
    /// of `source` and `destination` (RFC 4443 §2.3). Costs one checksum pass; allocates nothing.
    ///
    /// - Throws: `.truncated(.icmpv6, …)` below 8 bytes; `.badChecksum(.icmpv6)`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPv6Address,
                             destination: IPv6Address) throws(WireError) -> ICMPv6Header {
        guard bytes.count >= length else { throw .truncated(.icmpv6, needed: length, available: bytes.count) }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .icmpv6,
                                                length: bytes.count)
        sum.add(bytes)
        guard sum.verifies else { throw .badChecksum(.icmpv6) }
        return parseFields(bytes)
    }

    static func parseFields(_ bytes: UnsafeRawBufferPointer) -> ICMPv6Header {
        let type = bytes[0], code = bytes[1], rest = bytes.be32(4)
        let message: ICMPv6Message = switch type {
        case 1: .destinationUnreachable(code: code)
        case 2 where code == 0: .packetTooBig(mtu: rest)
        case 3: .timeExceeded(code: code)
        case 4: .parameterProblem(code: code, pointer: rest)
        case 128 where code == 0: .echoRequest(identifier: bytes.be16(4), sequence: bytes.be16(6))
        case 129 where code == 0: .echoReply(identifier: bytes.be16(4), sequence: bytes.be16(6))
        default: .other(type: type, code: code, rest: rest)
        }
        var header = ICMPv6Header(message)
        header.checksum = bytes.be16(2)
        return header
    }

    /// Writes the header at the start of `message` and the checksum over the pseudo-header and
    /// all of `message` (header plus the data the caller already placed after it).
    /// Precondition: `message` holds at least 8 bytes.
    public func emit(into message: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        precondition(message.count >= Self.length, "ICMPv6 header needs 8 bytes")
        let (code, rest): (UInt8, UInt32) = switch self.message {
        case let .destinationUnreachable(code), let .timeExceeded(code): (code, 0)
        case let .packetTooBig(mtu): (0, mtu)
        case let .parameterProblem(code, pointer): (code, pointer)
        case let .echoRequest(id, seq), let .echoReply(id, seq): (0, UInt32(id) << 16 | UInt32(seq))
        case let .other(_, code, rest): (code, rest)
        }
        message[0] = self.message.type
        message[1] = code
        message.storeBE32(rest, at: 4)
        Self.storeChecksum(message, source: source, destination: destination)
    }

    /// Computes the checksum of the ICMPv6 message in `message` (whatever its checksum field
    /// holds) and stores it at bytes 2–3. For NDP and MLD, whose bodies are written by their own types.
    static func storeChecksum(_ message: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        message.storeBE16(0, at: 2)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .icmpv6,
                                                length: message.count)
        sum.add(UnsafeRawBufferPointer(message))
        message.storeBE16(sum.checksum, at: 2)
    }

    /// One line in the manner of tshark: `ICMPv6 packet too big (MTU 1280)`.
    public var description: String {
        switch message {
        case let .echoRequest(id, seq): "ICMPv6 echo request id \(id) seq \(seq)"
        case let .echoReply(id, seq): "ICMPv6 echo reply id \(id) seq \(seq)"
        case let .destinationUnreachable(code):
            switch ICMPv6UnreachableCode(rawValue: code) {
            case .noRoute: "ICMPv6 destination unreachable (no route)"
            case .administrativelyProhibited: "ICMPv6 destination unreachable (administratively prohibited)"
            case .address: "ICMPv6 destination unreachable (address unreachable)"
            case .port: "ICMPv6 destination unreachable (port unreachable)"
            default: "ICMPv6 destination unreachable (code \(code))"
            }
        case let .packetTooBig(mtu): "ICMPv6 packet too big (MTU \(mtu))"
        case let .timeExceeded(code):
            code == 0 ? "ICMPv6 hop limit exceeded in transit" : "ICMPv6 fragment reassembly time exceeded"
        case let .parameterProblem(code, pointer): "ICMPv6 parameter problem (code \(code), pointer \(pointer))"
        case let .other(type, code, _): "ICMPv6 type \(type) code \(code)"
        }
    }
}

/// The part of the offending packet an ICMPv6 error quotes (RFC 4443 §2.4 (c)): its IPv6
/// header, extension headers and as much payload as fit in 1,280 bytes.
public struct ICMPv6Quote: Hashable, Sendable {
    /// The quoted IPv6 header (its payload length describes the original, not the quote).
    public var header: IPv6Header
    /// The quoted packet's upper-layer protocol, when its extension headers are all in the quote.
    public var upperLayerProtocol: IPProtocol?
    /// Source port when the quoted packet is UDP or TCP and its first 4 upper-layer bytes are quoted.
    public var sourcePort: UInt16?
    /// Destination port, under the same conditions.
    public var destinationPort: UInt16?
    /// The sequence number, when the quoted packet is TCP and its first 8 upper-layer bytes are quoted.
    public var tcpSequenceNumber: SequenceNumber?
    /// Identifier and sequence number, when the quoted packet is an ICMPv6 echo request quoted that far.
    public var echoIdentifier: UInt16?
    /// See ``echoIdentifier``.
    public var echoSequence: UInt16?

    /// Source and destination port when both are known, else nil.
    public var ports: (source: UInt16, destination: UInt16)? {
        guard let sourcePort, let destinationPort else { return nil }
        return (sourcePort, destinationPort)
    }

    /// Parses the data of an ICMPv6 error (the bytes after its 8-byte header). The extension
    /// chain is walked with the same bounds as a received packet's, cut where the quote ends.
    /// - Throws: what ``IPv6Header/parseQuoted(_:)`` throws.
    public static func parse(_ data: UnsafeRawBufferPointer) throws(WireError) -> ICMPv6Quote {
        let header = try IPv6Header.parseQuoted(data)
        var quote = ICMPv6Quote(header: header)
        guard let chain = try? IPv6ExtensionHeaders.walk(data, quoted: true) else { return quote }
        quote.upperLayerProtocol = chain.upperLayerProtocol
        let start = chain.upperLayerOffset
        if chain.fragment?.fragmentOffset ?? 0 == 0, chain.upperLayerProtocol == .udp || chain.upperLayerProtocol == .tcp,
           data.count >= start + 4 {
            quote.sourcePort = data.be16(start)
            quote.destinationPort = data.be16(start + 2)
            if chain.upperLayerProtocol == .tcp, data.count >= start + 8 {
                quote.tcpSequenceNumber = SequenceNumber(data.be32(start + 4))
            }
        }
        if chain.fragment?.fragmentOffset ?? 0 == 0, chain.upperLayerProtocol == .icmpv6, data.count >= start + 8,
           data[start] == 128 {
            quote.echoIdentifier = data.be16(start + 4)
            quote.echoSequence = data.be16(start + 6)
        }
        return quote
    }
}
