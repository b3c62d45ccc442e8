// What requests and responses share in HTTP/1.1's message syntax (RFC 9112
// §2–§5): finding where a head ends, splitting it into lines, and reading
// field lines, lists and lengths. Internal: the two parsers build on it.

/// One header field as it arrived: the name with its original case, the value
/// with surrounding whitespace removed.
public typealias HTTPField = (name: String, value: String)

/// Finds the blank line that ends a message head, a chunk of input at a time,
/// so bytes are looked at once however the head is split across reads.
/// A line ends with LF; a CR before it is ignored (RFC 9112 §2.2 lets a
/// recipient accept a bare LF).
struct HeadScanner {
    /// Bytes on the current line that are not CR.
    private var lineLength = 0
    /// Set once a line has had content: leading empty lines (before a request line) are skippable.
    private(set) var sawContent = false

    /// Scans `bytes` (the continuation of everything scanned before) and returns
    /// the offset just past the head's final LF, or nil if the head has not ended.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Int? {
        for i in bytes.indices {
            switch bytes[i] {
            case 0x0A:
                if lineLength == 0 && sawContent { return i + 1 }
                lineLength = 0
            case 0x0D:
                break
            default:
                lineLength += 1
                sawContent = true
            }
        }
        return nil
    }
}

enum HTTPSyntax {
    /// The lines of a head (without their CR LF), dropping leading empty lines and
    /// the final blank line. Nil when a CR appears anywhere but right before an LF.
    static func lines(_ head: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer]? {
        var lines: [UnsafeRawBufferPointer] = []
        var start = 0
        for i in head.indices where head[i] == 0x0A {
            var end = i
            if end > start && head[end - 1] == 0x0D { end -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: head[start..<end])
            if line.contains(0x0D) { return nil }
            if !line.isEmpty { lines.append(line) } else if !lines.isEmpty { break }
            start = i + 1
        }
        return lines
    }

    /// tchar (RFC 9110 §5.6.2): the bytes a token (a method, a field name) may hold.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// A field line `name: value` (RFC 9112 §5.1). Nil for obsolete line folding,
    /// whitespace before the colon, an empty or non-token name, or a control
    /// character (NUL, bare CR …) in the value.
    static func field(_ line: UnsafeRawBufferPointer) -> HTTPField? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
        for i in 0..<colon where !isTokenByte(line[i]) { return nil }
        var start = colon + 1, end = line.count
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        for i in start..<end {
            let byte = line[i]
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F { return nil }
        }
        return (String(decoding: line[0..<colon], as: UTF8.self),
                String(decoding: line[start..<end], as: UTF8.self))
    }

    /// The elements of a comma-separated list value (RFC 9110 §5.6.1), trimmed and lower-cased.
    static func listElements(_ value: String) -> [Substring] {
        value.lowercased().split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// A Content-Length value (RFC 9112 §6.3 step 5): digits, or a list of equal
    /// ones (`5, 5`); nil when malformed or absurd (more than 18 digits).
    static func contentLength(_ value: String) -> Int? {
        var result: Int?
        for element in value.split(separator: ",", omittingEmptySubsequences: false) {
            let digits = element.trimmingWhitespace()
            guard !digits.isEmpty, digits.utf8.count <= 18,
                  digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(digits) else { return nil }
            if let result, result != number { return nil }
            result = number
        }
        return result
    }

    /// What the Content-Length fields of a head say, taken together.
    enum LengthField: Equatable {
        case absent
        case value(Int)
        /// One is malformed, or they disagree.
        case malformed
    }

    /// Reads every Content-Length field of a head (RFC 9112 §6.3 step 5).
    static func contentLength(in fields: [HTTPField]) -> LengthField {
        var length: Int?
        for field in fields where field.name.lowercased() == "content-length" {
            guard let value = contentLength(field.value), length == nil || length == value else { return .malformed }
            length = value
        }
        return length.map(LengthField.value) ?? .absent
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and tabs (OWS).
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
