public import NetStackWire

/// An `http://` URL split into what a request needs (RFC 9110 §4.2.1):
/// the host to resolve, the port to connect to, and the target to ask for.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    /// A host name (lower-cased), an IPv4 literal, or an IPv6 literal without its
    /// brackets in canonical text (RFC 5952: `2001:db8::1`).
    public var host: String
    /// The TCP port; 80 unless the URL names one.
    public var port: UInt16
    /// The request target: `/`-rooted path with the query, if any (never the fragment).
    public var path: String

    /// A URL from its parts.
    public init(host: String, port: UInt16 = 80, path: String = "/") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// The host as an address when it is a literal like `192.0.2.1` or `2001:db8::1`; nil for a name.
    public var address: IPAddress? { IPAddress(host) }

    /// The host as the URL writes it: an IPv6 literal in brackets (RFC 3986 §3.2.2).
    public var hostInURL: String { host.contains(":") ? "[\(host)]" : host }

    /// The `Host:` header value: the host (an IPv6 literal in brackets), with the
    /// port when it is not 80 (RFC 9110 §7.2).
    public var hostHeader: String { port == 80 ? hostInURL : "\(hostInURL):\(port)" }

    /// `http://[2001:db8::1]:8000/path`.
    public var description: String { "http://\(hostHeader)\(path)" }

    /// Parses `http://host[:port][/path][?query][#fragment]`. The scheme and host
    /// are case-insensitive; an IPv6 literal goes in brackets (`http://[2001:db8::1]:8000/`,
    /// RFC 3986 §3.2.2); user info, IPvFuture, zone identifiers, malformed brackets
    /// and characters that could not go on a request line (spaces, controls) are rejected.
    public static func parse(_ text: String) throws(HTTPError) -> HTTPURL {
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { throw .malformedURL("no scheme (want http://…)") }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self)
        guard scheme.lowercased() == "http" else {
            if scheme.isEmpty || !scheme.utf8.allSatisfy(isSchemeByte) { throw .malformedURL("no scheme (want http://…)") }
            throw .unsupportedScheme(scheme)
        }
        guard bytes.count >= colon + 3, bytes[colon + 1] == UInt8(ascii: "/"), bytes[colon + 2] == UInt8(ascii: "/") else {
            throw .malformedURL("expected '//' after 'http:'")
        }
        let authorityStart = colon + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, !"/?#".utf8.contains(bytes[authorityEnd]) { authorityEnd += 1 }
        let (host, port) = try parseAuthority(bytes[authorityStart..<authorityEnd])

        var rest = bytes[authorityEnd...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        guard rest.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw .malformedURL("space or control character in path") }
        // Non-ASCII bytes (UTF-8 in an IRI-style path) go on the request line percent-encoded (RFC 3986 §2.1).
        var encoded: [UInt8] = []
        encoded.reserveCapacity(rest.count)
        for byte in rest {
            if byte < 0x80 {
                encoded.append(byte)
            } else {
                encoded += [UInt8(ascii: "%"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            }
        }
        var path = String(decoding: encoded, as: UTF8.self)
        if path.isEmpty || path.first == "?" { path = "/" + path }
        return HTTPURL(host: host, port: port, path: path)
    }

    /// `host[:port]`: a name of letters, digits, `-` and `.`, an IPv4 literal, or
    /// `[IPv6 literal]`.
    private static func parseAuthority(_ authority: ArraySlice<UInt8>) throws(HTTPError) -> (String, UInt16) {
        guard !authority.contains(UInt8(ascii: "@")) else { throw .malformedURL("user info is not supported") }
        if authority.first == UInt8(ascii: "[") { return try parseIPv6Authority(authority) }
        guard !authority.contains(UInt8(ascii: "]")) else { throw .malformedURL("']' without '['") }
        var hostPart = authority
        var port: UInt16 = 80
        if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
            hostPart = authority[..<colon]
            port = try parsePort(authority[(colon + 1)...])
        }
        guard !hostPart.isEmpty else { throw .malformedURL("no host") }
        guard hostPart.count <= 253, hostPart.allSatisfy(isHostByte) else { throw .malformedURL("bad host name") }
        let host = String(decoding: hostPart, as: UTF8.self).lowercased()
        // All digits and dots: it must be a dotted-quad literal, not a name.
        if host.utf8.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: ".") }), IPv4Address(host) == nil {
            throw .malformedURL("bad IPv4 address")
        }
        return (host, port)
    }

    /// `[IPv6address]` then `:port` or nothing (RFC 3986 §3.2.2). The literal comes
    /// back in canonical text; a zone (`%25`) or an IPvFuture (`[v1.…]`) is refused.
    private static func parseIPv6Authority(_ authority: ArraySlice<UInt8>) throws(HTTPError) -> (String, UInt16) {
        guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw .malformedURL("'[' without ']'") }
        let literal = authority[(authority.startIndex + 1)..<close]
        guard !literal.contains(UInt8(ascii: "[")), !authority[(close + 1)...].contains(UInt8(ascii: "]")) else {
            throw .malformedURL("nested or repeated brackets")
        }
        guard !literal.isEmpty, let address = IPv6Address(String(decoding: literal, as: UTF8.self)) else {
            throw .malformedURL("bad IPv6 address in brackets")
        }
        let after = authority[(close + 1)...]
        var port: UInt16 = 80
        if let first = after.first {
            guard first == UInt8(ascii: ":") else { throw .malformedURL("expected ':' or '/' after ']'") }
            port = try parsePort(after.dropFirst())
        }
        return (address.description, port)
    }

    /// The digits after `:`: 1…65,535; empty means 80 (RFC 3986 §3.2.3).
    private static func parsePort(_ digits: ArraySlice<UInt8>) throws(HTTPError) -> UInt16 {
        var port: UInt16 = 80
        if !digits.isEmpty {
            guard digits.count <= 5, digits.allSatisfy(isDigit),
                  let value = Int(String(decoding: digits, as: UTF8.self)), (1...65_535).contains(value) else {
                throw .malformedURL("bad port")
            }
            port = UInt16(value)
        }
        return port
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isHostByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        isHostByte(byte) || byte == UInt8(ascii: "+")
    }
}
