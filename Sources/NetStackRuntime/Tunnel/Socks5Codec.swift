// SOCKS5 messages (RFC 1928) and username/password authentication (RFC 1929),
// built and parsed as plain bytes: no sockets here, so each message can be
// checked against the RFCs' layouts byte for byte. Only the negotiation and
// the UDP request header go through this file, never a relayed stream's bytes.

public import NetStackCore
import NetStackWire

/// A SOCKS5 address, as ATYP and DST.ADDR (or BND.ADDR) carry it: IPv4 (ATYP 1) or IPv6 (ATYP 4).
enum Socks5Address: Equatable {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address)

    /// The SOCKS5 form of `address`.
    init(_ address: IPAddress) {
        switch address {
        case let .v4(v4): self = .ipv4(v4)
        case let .v6(v6): self = .ipv6(v6)
        }
    }

    /// The ATYP octet: 1 for IPv4, 4 for IPv6.
    var type: UInt8 {
        switch self {
        case .ipv4: 1
        case .ipv6: 4
        }
    }

    /// Bytes of ATYP, the address and the port (2).
    var encodedLength: Int {
        switch self {
        case .ipv4: 1 + 4 + 2
        case .ipv6: 1 + 16 + 2
        }
    }

    /// Writes ATYP, the address and `port` (network order) at the start of `buffer`, which must
    /// hold ``encodedLength`` bytes.
    func write(port: UInt16, into buffer: UnsafeMutableRawBufferPointer) {
        buffer[0] = type
        switch self {
        case let .ipv4(address):
            buffer.storeBytes(of: address.rawValue.bigEndian, toByteOffset: 1, as: UInt32.self)
            buffer.storeBytes(of: port.bigEndian, toByteOffset: 5, as: UInt16.self)
        case let .ipv6(address):
            buffer.storeBytes(of: address.high.bigEndian, toByteOffset: 1, as: UInt64.self)
            buffer.storeBytes(of: address.low.bigEndian, toByteOffset: 9, as: UInt64.self)
            buffer.storeBytes(of: port.bigEndian, toByteOffset: 17, as: UInt16.self)
        }
    }
}

/// A SOCKS5 request's CMD octet (RFC 1928 §4).
enum Socks5Command: UInt8 {
    case connect = 1
    case bind = 2
    case udpAssociate = 3
}

/// A SOCKS5 reply's REP octet (RFC 1928 §6), and how a client's connection attempt
/// is refused when the proxy answers with it.
public struct Socks5ReplyCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The REP octet.
    public let rawValue: UInt8
    /// Wraps a REP octet; any value is kept, unassigned ones included.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// X'00' succeeded.
    public static let succeeded = Socks5ReplyCode(rawValue: 0)
    /// X'01' general SOCKS server failure.
    public static let generalFailure = Socks5ReplyCode(rawValue: 1)
    /// X'02' connection not allowed by ruleset.
    public static let notAllowed = Socks5ReplyCode(rawValue: 2)
    /// X'03' network unreachable.
    public static let networkUnreachable = Socks5ReplyCode(rawValue: 3)
    /// X'04' host unreachable.
    public static let hostUnreachable = Socks5ReplyCode(rawValue: 4)
    /// X'05' connection refused.
    public static let connectionRefused = Socks5ReplyCode(rawValue: 5)
    /// X'06' TTL expired.
    public static let ttlExpired = Socks5ReplyCode(rawValue: 6)
    /// X'07' command not supported.
    public static let commandNotSupported = Socks5ReplyCode(rawValue: 7)
    /// X'08' address type not supported.
    public static let addressTypeNotSupported = Socks5ReplyCode(rawValue: 8)

    /// How the client's attempt is refused when the proxy's CONNECT failed this
    /// way: a refusal stays a refusal (RST), an unreachable network or host (or an
    /// expired TTL) becomes the matching ICMP error as with `--direct`, anything else an RST.
    public var refusal: FlowRefusal {
        switch self {
        case .networkUnreachable: .networkUnreachable
        case .hostUnreachable, .ttlExpired: .hostUnreachable
        default: .reset
        }
    }

    /// The RFC's wording, e.g. `connection refused (5)`.
    public var description: String {
        let names = ["succeeded", "general SOCKS server failure", "connection not allowed by ruleset",
                     "network unreachable", "host unreachable", "connection refused", "TTL expired",
                     "command not supported", "address type not supported"]
        return (Int(rawValue) < names.count ? names[Int(rawValue)] : "unassigned") + " (\(rawValue))"
    }
}

/// A parsed SOCKS5 reply: REP, and BND.ADDR/BND.PORT when the address is one the relay can use.
struct Socks5Reply: Equatable {
    var code: Socks5ReplyCode
    /// Nil when BND.ADDR is a domain name.
    var bound: Endpoint?
}

/// A parsed SOCKS5 UDP request header (RFC 1928 §7).
struct Socks5UDPHeader: Equatable {
    var fragment: UInt8
    /// DST.ADDR and DST.PORT; nil when the address is a domain name or an IPv6 address.
    var address: Endpoint?
    /// Bytes before the payload.
    var length: Int
}

/// SOCKS5 messages, built and parsed (RFC 1928, RFC 1929). Each builder allocates one small
/// array (at most 513 bytes), once per negotiation step; the UDP header functions work in place.
enum Socks5 {
    static let version: UInt8 = 5
    /// METHOD X'00' NO AUTHENTICATION REQUIRED.
    static let noAuthentication: UInt8 = 0
    /// METHOD X'02' USERNAME/PASSWORD.
    static let userPassword: UInt8 = 2
    /// METHOD X'FF' NO ACCEPTABLE METHODS.
    static let noAcceptableMethods: UInt8 = 0xFF
    /// Bytes of the UDP request header with an IPv4 address: RSV(2) FRAG ATYP ADDR(4) PORT(2).
    static let udpHeaderLengthIPv4 = 10
    /// The longest reply: VER REP RSV ATYP, a domain of 255 bytes with its length, PORT.
    static let longestReply = 4 + 1 + 255 + 2

    /// The version identifier/method selection message (§3): no authentication, and
    /// username/password (RFC 1929) when credentials will be offered.
    static func greeting(offeringUserPassword: Bool) -> [UInt8] {
        offeringUserPassword ? [version, 2, noAuthentication, userPassword] : [version, 1, noAuthentication]
    }

    /// The METHOD the server selected (§3), from its two-byte answer; nil when it is not a SOCKS5 answer.
    static func selectedMethod(_ answer: [UInt8]) -> UInt8? {
        guard answer.count == 2, answer[0] == version else { return nil }
        return answer[1]
    }

    /// The username/password request (RFC 1929 §2): VER 1, ULEN, UNAME, PLEN, PASSWD.
    static func userPasswordRequest(_ credentials: Socks5Credentials) -> [UInt8] {
        [1, UInt8(credentials.user.count)] + credentials.user + [UInt8(credentials.password.count)] + credentials.password
    }

    /// Whether the server accepted the credentials (RFC 1929: STATUS 0 is success); nil when malformed.
    /// VER is 1 by the RFC; some servers answer 5, which is taken too.
    static func authenticationSucceeded(_ answer: [UInt8]) -> Bool? {
        guard answer.count == 2, answer[0] == 1 || answer[0] == version else { return nil }
        return answer[1] == 0
    }

    /// A request (§4): VER CMD RSV ATYP DST.ADDR DST.PORT.
    static func request(_ command: Socks5Command, _ address: Socks5Address, port: UInt16) -> [UInt8] {
        var bytes = [version, command.rawValue, 0] + [UInt8](repeating: 0, count: address.encodedLength)
        bytes.withUnsafeMutableBytes { address.write(port: port, into: UnsafeMutableRawBufferPointer(rebasing: $0[3...])) }
        return bytes
    }

    /// How many bytes the reply (§6) whose first bytes are `received` has in all: 4 until
    /// ATYP is known, 5 to learn a domain's length, then the whole reply; nil when malformed.
    /// Reading exactly this many keeps the first bytes of the relayed stream out of the negotiation.
    static func replyLength(_ received: [UInt8]) -> Int? {
        if received.count < 4 { return 4 }
        guard received[0] == version else { return nil }
        switch received[3] {
        case 1: return 4 + 4 + 2
        case 4: return 4 + 16 + 2
        case 3: return received.count < 5 ? 5 : 5 + Int(received[4]) + 2
        default: return nil
        }
    }

    /// A whole reply (as long as ``replyLength(_:)`` says), parsed; nil when malformed.
    static func reply(_ bytes: [UInt8]) -> Socks5Reply? {
        guard let length = replyLength(bytes), bytes.count == length else { return nil }
        var bound: Endpoint?
        if bytes[3] == 1 {
            let address = IPv4Address(bytes[4], bytes[5], bytes[6], bytes[7])
            bound = Endpoint(address, UInt16(bytes[8]) << 8 | UInt16(bytes[9]))
        } else if bytes[3] == 4, let address = IPv6Address(octets: bytes[4..<20]) {
            bound = Endpoint(address, UInt16(bytes[20]) << 8 | UInt16(bytes[21]))
        }
        return Socks5Reply(code: Socks5ReplyCode(rawValue: bytes[1]), bound: bound)
    }

    /// Writes the UDP request header (§7: RSV X'0000', FRAG X'00', ATYP, DST.ADDR, DST.PORT) at
    /// the start of `buffer`; returns its length. `buffer` must hold 3 + `address.encodedLength` bytes.
    static func writeUDPHeader(_ address: Socks5Address, port: UInt16, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        buffer[0] = 0
        buffer[1] = 0
        buffer[2] = 0
        address.write(port: port, into: UnsafeMutableRawBufferPointer(rebasing: buffer[3...]))
        return 3 + address.encodedLength
    }

    /// The UDP request header at the start of a datagram from the relay; nil when the
    /// datagram is shorter than its header or its ATYP is unknown.
    static func udpHeader(_ datagram: UnsafeRawBufferPointer) -> Socks5UDPHeader? {
        guard datagram.count >= 4 else { return nil }
        let length: Int
        switch datagram[3] {
        case 1: length = 4 + 4 + 2
        case 4: length = 4 + 16 + 2
        case 3:
            guard datagram.count >= 5 else { return nil }
            length = 5 + Int(datagram[4]) + 2
        default: return nil
        }
        guard datagram.count >= length else { return nil }
        var address: Endpoint?
        if datagram[3] == 1 {
            address = Endpoint(IPv4Address(datagram[4], datagram[5], datagram[6], datagram[7]),
                               UInt16(datagram[8]) << 8 | UInt16(datagram[9]))
        }
        return Socks5UDPHeader(fragment: datagram[2], address: address, length: length)
    }
}

/// A username and password for RFC 1929 authentication, each 1 to 255 bytes.
public struct Socks5Credentials: Sendable, Equatable {
    /// UNAME, as sent.
    public let user: [UInt8]
    /// PASSWD, as sent.
    public let password: [UInt8]

    /// The credentials as UTF-8 bytes; nil when either is empty or longer than 255 bytes.
    public init?(user: String, password: String) {
        let user = Array(user.utf8), password = Array(password.utf8)
        guard (1...255).contains(user.count), (1...255).contains(password.count) else { return nil }
        self.user = user
        self.password = password
    }
}
