/// An HTTP version from a start line, `HTTP/major.minor` (RFC 9110 §2.5).
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The digit before the dot.
    public var major: Int
    /// The digit after the dot.
    public var minor: Int

    /// `HTTP/major.minor`.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0 (RFC 1945).
    public static let http10 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1 (RFC 9112).
    public static let http11 = HTTPVersion(major: 1, minor: 1)

    public var description: String { "HTTP/\(major).\(minor)" }

    /// `HTTP/d.d` — exactly one digit each side (RFC 9112 §2.3).
    static func parse(_ bytes: UnsafeRawBufferPointer) -> HTTPVersion? {
        guard bytes.count == 8, bytes.starts(with: "HTTP/".utf8), bytes[6] == UInt8(ascii: "."),
              let major = digit(bytes[5]), let minor = digit(bytes[7]) else { return nil }
        return HTTPVersion(major: major, minor: minor)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= 0x30 && byte <= 0x39 ? Int(byte - 0x30) : nil
    }
}

/// A parsed request head (RFC 9112 §3): the request line and the fields, with
/// what the server needs already worked out — body length and persistence.
public struct HTTPRequestHead: Sendable {
    /// The method token, case-sensitive (`GET`).
    public var method: String
    /// The request target as sent (origin form `/a?b`, or absolute form).
    public var target: String
    /// The version from the request line (1.x; others are refused with 505).
    public var version: HTTPVersion
    /// The header fields in arrival order.
    public var fields: [(name: String, value: String)]
    /// Bytes of request body that follow the head (Content-Length; 0 when absent).
    public var contentLength: Int
    /// Whether the connection stays open after the response (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool

    /// The value of the first field named `name` (case-insensitive).
    public func field(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Why a request head was refused, and the status that says so.
public enum HTTPRequestError: Error, Sendable, Equatable {
    /// Bad syntax: 400 Bad Request.
    case malformed
    /// The head is over the size or field-count limit: 431 Request Header Fields Too Large.
    case headTooLarge
    /// Not HTTP/1.x: 505 HTTP Version Not Supported.
    case versionNotSupported
    /// A request body with Transfer-Encoding, which this server does not take: 501 Not Implemented.
    case unsupportedTransferEncoding

    /// The response status for this error.
    public var status: Int {
        switch self {
        case .malformed: 400
        case .headTooLarge: 431
        case .versionNotSupported: 505
        case .unsupportedTransferEncoding: 501
        }
    }
}

/// Finds and parses request heads in a connection's input, incrementally: the
/// caller passes its unconsumed input (growing as bytes arrive) and each byte
/// is scanned once. After `.request`, the caller drops that many bytes and the
/// parser starts afresh on what follows (a pipelined request).
public struct HTTPRequestParser: Sendable {
    /// Longest head accepted, leading blank lines included.
    public let maxHeadSize: Int
    /// Most header fields accepted.
    public let maxFields: Int
    private var scanner = HeadScanner()
    private var scanned = 0

    /// A parser with the given limits (16 KiB and 100 fields by default).
    public init(maxHeadSize: Int = 16_384, maxFields: Int = 100) {
        self.maxHeadSize = maxHeadSize
        self.maxFields = maxFields
    }

    /// What `parse` found.
    public enum Outcome: Sendable {
        /// The head has not ended yet: call again with more bytes.
        case needMore
        /// A complete head, and how many input bytes it took (the body, if any, follows).
        case request(HTTPRequestHead, length: Int)
        /// The head is unacceptable; answer with `error.status` and close.
        case failed(HTTPRequestError)
    }

    /// Looks for a complete head at the start of `input`, which must begin with
    /// the bytes passed before (if any). O(new bytes) until the head ends, then O(head).
    public mutating func parse(_ input: UnsafeRawBufferPointer) -> Outcome {
        guard scanned < maxHeadSize else { return .failed(.headTooLarge) }
        let limit = min(input.count, maxHeadSize)
        guard scanned < limit, let end = scanner.scan(UnsafeRawBufferPointer(rebasing: input[scanned..<limit])) else {
            scanned = max(scanned, limit)
            return scanned >= maxHeadSize ? .failed(.headTooLarge) : .needMore
        }
        let length = scanned + end
        self = HTTPRequestParser(maxHeadSize: maxHeadSize, maxFields: maxFields)
        do {
            return .request(try head(UnsafeRawBufferPointer(rebasing: input[0..<length])), length: length)
        } catch {
            return .failed(error)
        }
    }

    private func head(_ bytes: UnsafeRawBufferPointer) throws(HTTPRequestError) -> HTTPRequestHead {
        guard let lines = HTTPSyntax.lines(bytes), let requestLine = lines.first else { throw .malformed }
        guard lines.count - 1 <= maxFields else { throw .headTooLarge }
        // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
        let parts = requestLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(HTTPSyntax.isTokenByte),
              !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw .malformed }
        guard let version = HTTPVersion.parse(UnsafeRawBufferPointer(rebasing: parts[2])) else { throw .malformed }
        guard version.major == 1 else { throw .versionNotSupported }

        var fields: [HTTPField] = []
        fields.reserveCapacity(lines.count - 1)
        var hosts = 0
        var transferEncoding = false
        var connection: [Substring] = []
        for line in lines.dropFirst() {
            guard let field = HTTPSyntax.field(line) else { throw .malformed }
            switch field.name.lowercased() {
            case "host": hosts += 1
            case "transfer-encoding": transferEncoding = true
            case "connection": connection += HTTPSyntax.listElements(field.value)
            default: break
            }
            fields.append(field)
        }
        // RFC 9112 §3.2: a 1.1 request without exactly one Host gets 400.
        guard hosts <= 1, hosts == 1 || version == .http10 else { throw .malformed }
        guard !transferEncoding else { throw .unsupportedTransferEncoding }
        let contentLength: Int
        switch HTTPSyntax.contentLength(in: fields) {
        case .absent: contentLength = 0
        case let .value(length): contentLength = length
        case .malformed: throw .malformed
        }
        let keepAlive = version == .http10 ? connection.contains("keep-alive") && !connection.contains("close")
                                           : !connection.contains("close")
        return HTTPRequestHead(method: String(decoding: parts[0], as: UTF8.self),
                               target: String(decoding: parts[1], as: UTF8.self), version: version,
                               fields: fields, contentLength: contentLength, keepAlive: keepAlive)
    }
}

/// Turns a request target into the path of a resource under the content root.
public enum HTTPPath {
    /// Why a target names nothing servable.
    public enum Refusal: Error, Sendable, Equatable {
        /// Not a path at all, or bad percent-encoding: 400.
        case malformed
        /// A path that would leave the root (`..`), holds NUL, or is not UTF-8: 404, never opened.
        case forbidden
    }

    /// The decoded, normalized path of `target`: the query dropped, `%XX`
    /// decoded (RFC 3986 §2.1), empty and `.` segments removed. Any `..`
    /// segment — however it was spelled, `%2e%2e` or `..%2f` — is refused
    /// rather than resolved, so no target can climb out of the root.
    /// Returns `/` or `/a/b`. O(target length).
    public static func normalize(_ target: String) throws(Refusal) -> String {
        var bytes = Substring(target).utf8[...]
        // Absolute form (RFC 9112 §3.2.2): keep only what follows the authority.
        for scheme in ["http://", "https://"] where target.lowercased().hasPrefix(scheme) {
            bytes = bytes.dropFirst(scheme.utf8.count)
            bytes = bytes.drop { $0 != UInt8(ascii: "/") }
            if bytes.isEmpty { return "/" }
        }
        guard bytes.first == UInt8(ascii: "/") else { throw .malformed }
        if let end = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            bytes = bytes[..<end]
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .malformed
            }
            decoded.append(high << 4 | low)
        }
        guard !decoded.contains(0) else { throw .forbidden }
        var segments: [ArraySlice<UInt8>] = []
        for segment in decoded.split(separator: UInt8(ascii: "/")) {
            if segment.elementsEqual(".".utf8) { continue }
            if segment.elementsEqual("..".utf8) { throw .forbidden }
            segments.append(segment)
        }
        let joined = Array(segments.joined(separator: [UInt8(ascii: "/")]))
        guard let path = String(validating: joined, as: UTF8.self) else { throw .forbidden }
        return "/" + path
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
