/// A parsed response head (RFC 9112 §4): status line and header fields.
public struct HTTPResponseHead: Sendable {
    /// The version from the status line (1.x).
    public var version: HTTPVersion
    /// The three-digit status code, 100…599.
    public var status: Int
    /// The reason phrase, possibly empty.
    public var reason: String
    /// The header fields in arrival order.
    public var fields: [(name: String, value: String)]

    /// The value of the first field named `name` (case-insensitive).
    public func field(_ name: String) -> String? {
        let wanted = name.lowercased()
        return fields.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Reads one HTTP/1.1 response as it arrives, in pieces of any size (one byte
/// at a time works): the head is collected (up to `maxHeadSize`), then the
/// body is handed on as views of the input, never copied or accumulated —
/// delimited by Content-Length, by chunked transfer coding, or by the end of
/// the connection (RFC 9112 §6.3). Interim 1xx responses are skipped.
public struct HTTPResponseParser: Sendable {
    /// How the body's end is found.
    public enum Framing: Sendable, Equatable {
        /// No body (204, 304).
        case none
        /// Content-Length bytes.
        case length(Int)
        /// Chunked transfer coding (RFC 9112 §7.1).
        case chunked
        /// Everything until the server closes the connection.
        case untilClose
    }

    private enum Phase: Sendable {
        case head
        case fixed(remaining: Int)
        /// Reading a chunk-size line: the size so far, its digit count, and where on the line we are.
        case chunkSize(size: Int, digits: Int, afterSize: Bool, inExtension: Bool, sawCR: Bool, lineLength: Int)
        case chunkData(remaining: Int)
        /// The CRLF that ends a chunk's data.
        case chunkEnd(sawCR: Bool)
        /// Trailer lines after the last chunk, skipped, until a blank line.
        case trailer(lineLength: Int, total: Int)
        case untilClose
        case complete
    }

    /// Longest response head (or trailer section) accepted.
    public let maxHeadSize: Int
    /// Most header fields accepted.
    public let maxFields: Int
    /// The final response's head, once it has arrived.
    public private(set) var head: HTTPResponseHead?
    /// How the body is delimited, once the head has arrived.
    public private(set) var framing: Framing?
    /// Body bytes handed on so far.
    public private(set) var bodyBytes = 0
    private var phase = Phase.head
    private var headBuffer: [UInt8] = []
    private var scanner = HeadScanner()
    /// A chunk-size line longer than this (extensions included) is refused.
    private static let maxChunkLine = 4096

    /// A parser expecting one response, with the given limits (64 KiB and 100 fields by default).
    public init(maxHeadSize: Int = 65_536, maxFields: Int = 100) {
        self.maxHeadSize = maxHeadSize
        self.maxFields = maxFields
    }

    /// True once the whole response has been read.
    public var isComplete: Bool {
        if case .complete = phase { true } else { false }
    }

    /// Parses `input`, calling `body` with each run of body bytes. Returns the
    /// bytes consumed: all of them, unless the response completed earlier (what
    /// follows is not part of it). Throws on malformed input; after a throw
    /// the parser must not be fed again.
    public mutating func feed(_ input: UnsafeRawBufferPointer,
                              body: (UnsafeRawBufferPointer) -> Void) throws(HTTPError) -> Int {
        var i = 0
        while i < input.count {
            switch phase {
            case .head:
                i += try feedHead(UnsafeRawBufferPointer(rebasing: input[i...]))
            case let .fixed(remaining):
                let take = min(remaining, input.count - i)
                deliver(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]), body)
                i += take
                phase = remaining == take ? .complete : .fixed(remaining: remaining - take)
            case .chunkSize:
                try chunkSizeByte(input[i])
                i += 1
            case let .chunkData(remaining):
                let take = min(remaining, input.count - i)
                deliver(UnsafeRawBufferPointer(rebasing: input[i..<(i + take)]), body)
                i += take
                phase = remaining == take ? .chunkEnd(sawCR: false) : .chunkData(remaining: remaining - take)
            case let .chunkEnd(sawCR):
                switch input[i] {
                case 0x0D where !sawCR: phase = .chunkEnd(sawCR: true)
                case 0x0A: phase = Self.newChunkLine
                default: throw .malformedChunk
                }
                i += 1
            case let .trailer(lineLength, total):
                // Trailer fields are tolerated and ignored (RFC 9112 §7.1.2).
                guard total < maxHeadSize else { throw .headTooLarge }
                switch input[i] {
                case 0x0A: phase = lineLength == 0 ? .complete : .trailer(lineLength: 0, total: total + 1)
                case 0x0D: phase = .trailer(lineLength: lineLength, total: total + 1)
                default: phase = .trailer(lineLength: lineLength + 1, total: total + 1)
                }
                i += 1
            case .untilClose:
                deliver(UnsafeRawBufferPointer(rebasing: input[i...]), body)
                i = input.count
            case .complete:
                return i
            }
        }
        return i
    }

    /// The connection ended (EOF): a body delimited by the close is complete;
    /// anything else still expected is an error.
    public mutating func finish() throws(HTTPError) {
        switch phase {
        case .complete: return
        case .untilClose: phase = .complete
        case .head: throw .connectionClosedEarly
        case let .fixed(remaining): throw .bodyTooShort(expected: bodyBytes + remaining, received: bodyBytes)
        case .chunkSize, .chunkData, .chunkEnd, .trailer: throw .bodyTooShort(expected: nil, received: bodyBytes)
        }
    }

    private mutating func deliver(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard !bytes.isEmpty else { return }
        bodyBytes += bytes.count
        body(bytes)
    }

    // MARK: Head

    /// Collects head bytes; returns how many of `input` belong to the head.
    private mutating func feedHead(_ input: UnsafeRawBufferPointer) throws(HTTPError) -> Int {
        guard let end = scanner.scan(input) else {
            guard headBuffer.count + input.count <= maxHeadSize else { throw .headTooLarge }
            headBuffer.append(contentsOf: input)
            return input.count
        }
        guard headBuffer.count + end <= maxHeadSize else { throw .headTooLarge }
        headBuffer.append(contentsOf: input[0..<end])
        let result = headBuffer.withUnsafeBytes { bytes in
            Result { () throws(HTTPError) in try Self.parseHead(bytes, maxFields: maxFields) }
        }
        let parsed = try result.get()
        headBuffer.removeAll(keepingCapacity: true)
        scanner = HeadScanner()
        if (100...199).contains(parsed.status) { return end }  // interim: the final response follows
        head = parsed
        let framing = try Self.framing(of: parsed)
        self.framing = framing
        switch framing {
        case .none, .length(0): phase = .complete
        case let .length(length): phase = .fixed(remaining: length)
        case .chunked: phase = Self.newChunkLine
        case .untilClose: phase = .untilClose
        }
        return end
    }

    private static func parseHead(_ bytes: UnsafeRawBufferPointer, maxFields: Int) throws(HTTPError) -> HTTPResponseHead {
        guard let lines = HTTPSyntax.lines(bytes), let statusLine = lines.first else { throw .malformedStatusLine }
        guard lines.count - 1 <= maxFields else { throw .headTooLarge }
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
        guard statusLine.count >= 12, let version = HTTPVersion.parse(UnsafeRawBufferPointer(rebasing: statusLine[0..<8])),
              version.major == 1, statusLine[8] == 0x20 else { throw .malformedStatusLine }
        var status = 0
        for i in 9..<12 {
            let byte = statusLine[i]
            guard byte >= 0x30 && byte <= 0x39 else { throw .malformedStatusLine }
            status = status * 10 + Int(byte - 0x30)
        }
        guard statusLine.count == 12 || statusLine[12] == 0x20 else { throw .malformedStatusLine }
        guard (100...599).contains(status) else { throw .badStatus(status) }
        let reasonBytes = statusLine.count > 13 ? statusLine[13...] : statusLine[12..<12]
        guard reasonBytes.allSatisfy({ ($0 >= 0x20 && $0 != 0x7F) || $0 == 0x09 }) else { throw .malformedStatusLine }
        var fields: [HTTPField] = []
        fields.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() {
            guard let field = HTTPSyntax.field(line) else { throw .malformedHeader }
            fields.append(field)
        }
        return HTTPResponseHead(version: version, status: status, reason: String(decoding: reasonBytes, as: UTF8.self),
                                fields: fields)
    }

    /// RFC 9112 §6.3, for a response to GET.
    private static func framing(of head: HTTPResponseHead) throws(HTTPError) -> Framing {
        if head.status == 204 || head.status == 304 { return .none }
        let codings = head.fields.filter { $0.name.lowercased() == "transfer-encoding" }
            .flatMap { HTTPSyntax.listElements($0.value) }
        if !codings.isEmpty {
            // Transfer-Encoding overrides Content-Length; unless chunked comes last, the close ends the body.
            return codings.last == "chunked" ? .chunked : .untilClose
        }
        switch HTTPSyntax.contentLength(in: head.fields) {
        case .absent: return .untilClose
        case let .value(length): return .length(length)
        case .malformed: throw .malformedContentLength
        }
    }

    // MARK: Chunked transfer coding (RFC 9112 §7.1)

    private static let newChunkLine = Phase.chunkSize(size: 0, digits: 0, afterSize: false, inExtension: false,
                                                      sawCR: false, lineLength: 0)

    /// chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF, one byte of the size line at a time.
    private mutating func chunkSizeByte(_ byte: UInt8) throws(HTTPError) {
        guard case .chunkSize(var size, var digits, var afterSize, var inExtension, let sawCR, let lineLength) = phase else {
            return
        }
        guard lineLength < Self.maxChunkLine else { throw .malformedChunk }
        if sawCR && byte != 0x0A { throw .malformedChunk }
        switch byte {
        case 0x0A:
            guard digits > 0 else { throw .malformedChunk }
            phase = size == 0 ? .trailer(lineLength: 0, total: 0) : .chunkData(remaining: size)
            return
        case 0x0D:
            break
        case _ where inExtension:
            // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): tolerated, not interpreted.
            guard byte >= 0x20 && byte != 0x7F || byte == 0x09 else { throw .malformedChunk }
        case UInt8(ascii: ";"):
            guard digits > 0 else { throw .malformedChunk }
            inExtension = true
        case 0x20, 0x09:
            guard digits > 0 else { throw .malformedChunk }
            afterSize = true
        default:
            guard !afterSize, let value = Self.hexValue(byte) else { throw .malformedChunk }
            // 15 hex digits keep the size below 2^60: no overflow, and far beyond any real chunk.
            guard digits < 15 else { throw .malformedChunk }
            size = size << 4 | value
            digits += 1
        }
        phase = .chunkSize(size: size, digits: digits, afterSize: afterSize, inExtension: inExtension,
                           sawCR: byte == 0x0D, lineLength: lineLength + 1)
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
