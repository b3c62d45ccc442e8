/// A domain name (RFC 1035 §3.1): a sequence of labels, 1…63 octets each,
/// at most 255 octets in wire form, ending at the root.
///
/// Held in uncompressed wire form (length-prefixed labels and a final zero
/// octet), so writing a name is one copy. Comparison and hashing ignore ASCII
/// case (RFC 4343 §3): `WWW.Example.TEST` equals `www.example.test`, and the
/// spelling given is kept for display and for the wire. Comparing costs one
/// pass over the octets.
///
/// There is deliberately no string-literal conformance: `DNSName("a..b")`
/// would then silently pick the literal initializer, which cannot throw.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The name in uncompressed wire form, root label (0) included.
    public let wireBytes: [UInt8]

    /// The longest label, in octets (RFC 1035 §2.3.4).
    public static let maximumLabelLength = 63
    /// The longest name in wire form, length octets included (RFC 1035 §2.3.4).
    public static let maximumLength = 255

    /// The root name, `.`.
    public static let root = DNSName(validatedWireBytes: [0])

    /// Wraps wire bytes already checked to be a valid uncompressed name.
    init(validatedWireBytes: [UInt8]) { wireBytes = validatedWireBytes }

    /// Makes a name from its labels, each given as octets.
    ///
    /// - Throws: `.badField(.dns, …)` for an empty label; `.dnsNameTooLong` for a
    ///   label over 63 octets or a name over 255 octets in wire form.
    public init(labels: [[UInt8]]) throws(WireError) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(labels.reduce(1) { $0 + 1 + $1.count })
        for label in labels {
            guard !label.isEmpty else { throw .badField(.dns, "empty label in a name") }
            guard label.count <= Self.maximumLabelLength else { throw .dnsNameTooLong }
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        guard bytes.count <= Self.maximumLength else { throw .dnsNameTooLong }
        wireBytes = bytes
    }

    /// Parses dotted text such as `www.example.test` (a final dot is allowed;
    /// `""` and `"."` are the root). Each label is the UTF-8 octets between dots;
    /// no escapes are interpreted. O(n) in the length of the text.
    ///
    /// - Throws: `.badField(.dns, …)` for an empty label (`a..b`, `.a`);
    ///   `.dnsNameTooLong` for a label over 63 octets or a name over 255.
    public init(_ text: String) throws(WireError) {
        var octets = Array(text.utf8)
        if octets.last == UInt8(ascii: ".") { octets.removeLast() }
        if octets.isEmpty {
            self = .root
            return
        }
        try self.init(labels: octets.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).map(Array.init))
    }

    /// The labels, first (leftmost) first, without the empty root label. Allocates.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var i = 0
        while wireBytes[i] != 0 {
            let length = Int(wireBytes[i])
            result.append(Array(wireBytes[(i + 1)...(i + length)]))
            i += 1 + length
        }
        return result
    }

    /// The number of labels, the root not counted.
    public var labelCount: Int {
        var count = 0, i = 0
        while wireBytes[i] != 0 {
            count += 1
            i += 1 + Int(wireBytes[i])
        }
        return count
    }

    /// True for the root name.
    public var isRoot: Bool { wireBytes.count == 1 }

    /// Case-insensitive equality (RFC 4343 §3: ASCII letters only).
    public static func == (a: DNSName, b: DNSName) -> Bool {
        a.wireBytes.count == b.wireBytes.count
            && zip(a.wireBytes, b.wireBytes).allSatisfy { Self.lowercased($0) == Self.lowercased($1) }
    }

    /// Hashes the lower-cased octets, consistent with `==`.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(wireBytes.count)
        for byte in wireBytes { hasher.combine(Self.lowercased(byte)) }
    }

    /// An ASCII upper-case letter made lower-case; other octets unchanged.
    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Dotted text without the final dot (`www.example.test`; the root is `.`).
    /// Dots and backslashes inside labels are escaped as `\.` and `\\`, other
    /// octets outside printable ASCII as `\DDD` (RFC 1035 §5.1).
    public var description: String {
        if isRoot { return "." }
        return labels.map { label in
            var text = ""
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text += "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E:
                    text.unicodeScalars.append(UnicodeScalar(byte))
                default:
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
            return text
        }.joined(separator: ".")
    }
}

extension DNSName {
    /// The most compression pointers one name may follow. A name has at most
    /// 127 labels, so a legitimate name never needs more pointers than that.
    static let maximumPointerJumps = 127

    /// Reads a possibly compressed name (RFC 1035 §4.1.4) starting at `start`
    /// in `message`. Labels read in place must end before `limit` (the end of
    /// the message, or of the RDATA holding the name); pointers may lead
    /// anywhere earlier in the message. Returns the name and the offset just
    /// after it where it started (after its first pointer, if any).
    ///
    /// A pointer must point strictly backwards, before the start of the label
    /// sequence being read: then each jump lands lower than the last and no
    /// loop is possible. O(n) in the message bytes visited; one allocation.
    ///
    /// - Throws: `.truncated(.dns, …)` when the name runs past `limit`;
    ///   `.dnsBadLabel` for label types 01 and 10; `.dnsBadPointer` for a pointer
    ///   to its own position or later; `.dnsCompressionLoop` for a pointer back
    ///   into the labels already read, or more than 127 pointers;
    ///   `.dnsNameTooLong` for a name over 255 octets.
    static func read(from message: UnsafeRawBufferPointer, at start: Int, limit: Int)
        throws(WireError) -> (name: DNSName, end: Int) {
        var bytes: [UInt8] = []
        var position = start
        var floor = start            // lowest offset of the labels read so far
        var end: Int?                // where the name ends in place, once a pointer was followed
        var jumps = 0
        var runLimit = limit         // the in-place run is bound by `limit`, jump targets by the message
        while true {
            guard position < runLimit else {
                throw .truncated(.dns, needed: position + 1, available: runLimit)
            }
            let byte = message[position]
            switch byte >> 6 {
            case 0:
                let length = Int(byte)
                if length == 0 {
                    bytes.append(0)
                    return (DNSName(validatedWireBytes: bytes), end ?? position + 1)
                }
                // Room for this label and the final root octet.
                guard bytes.count + 1 + length + 1 <= maximumLength else { throw .dnsNameTooLong }
                guard position + 1 + length <= runLimit else {
                    throw .truncated(.dns, needed: position + 1 + length, available: runLimit)
                }
                bytes.append(byte)
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: message[(position + 1)..<(position + 1 + length)]))
                position += 1 + length
            case 3:
                guard position + 1 < runLimit else {
                    throw .truncated(.dns, needed: position + 2, available: runLimit)
                }
                let target = Int(byte & 0x3F) << 8 | Int(message[position + 1])
                guard target < position else { throw .dnsBadPointer(offset: position) }
                guard target < floor else { throw .dnsCompressionLoop(offset: position) }
                jumps += 1
                guard jumps <= maximumPointerJumps else { throw .dnsCompressionLoop(offset: position) }
                if end == nil { end = position + 2 }
                runLimit = message.count
                floor = target
                position = target
            default:
                throw .dnsBadLabel(offset: position)
            }
        }
    }

    /// Appends the name to `output` in uncompressed wire form. O(n).
    func write(to output: inout [UInt8]) {
        output.append(contentsOf: wireBytes)
    }

    /// Appends the name to `output`, replacing the longest suffix already
    /// written (recorded in `offsets`, keyed by lower-cased wire form) with a
    /// pointer (RFC 1035 §4.1.4), and records the new suffixes it writes that a
    /// pointer can reach (offsets below 0x4000). O(n²) in the labels, n ≤ 127.
    func write(to output: inout [UInt8], compressingWith offsets: inout [[UInt8]: Int]) {
        var i = 0
        while wireBytes[i] != 0 {
            let suffix = wireBytes[i...].map(Self.lowercased)
            if let offset = offsets[suffix] {
                output.append(0xC0 | UInt8(offset >> 8))
                output.append(UInt8(truncatingIfNeeded: offset))
                return
            }
            if output.count < 0x4000 { offsets[suffix] = output.count }
            let length = Int(wireBytes[i])
            output.append(contentsOf: wireBytes[i...(i + length)])
            i += 1 + length
        }
        output.append(0)
    }
}
