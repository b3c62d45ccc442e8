// The values a TCP script is written in (segments, options, timestamps) and
// what the harness reads back from the stack's frames. See README.md.

@testable import NetStackCore
import NetStackWire
import Testing

// MARK: Values a script writes

/// A Timestamps option field (RFC 7323 §3.2) as a script writes it.
struct ScriptTS: ExpressibleByIntegerLiteral, CustomStringConvertible {
    enum Kind {
        /// This raw value.
        case exact(UInt32)
        /// The stack's clock when the segment was sent (outbound) or injected (inbound).
        case stackNow
        /// The stack's clock at this script time (in seconds).
        case stackAt(Double)
        /// Any value (outbound only).
        case any
    }

    var kind: Kind
    init(_ kind: Kind) { self.kind = kind }
    init(integerLiteral value: UInt32) { kind = .exact(value) }

    /// The stack's timestamp clock at the time of the segment itself.
    static let now = ScriptTS(.stackNow)
    /// Matches any value.
    static let any = ScriptTS(.any)
    /// The stack's timestamp clock at script time `t`: what it sent as TSval then.
    static func stack(at t: Double) -> ScriptTS { ScriptTS(.stackAt(t)) }

    var description: String {
        switch kind {
        case let .exact(value): "\(value)"
        case .stackNow: "now"
        case let .stackAt(t): "stack@\(t)"
        case .any: "*"
        }
    }
}

/// One TCP option, in the order it appears in the header (NOPs included), as
/// tcpdump lists them. SACK blocks are relative sequence numbers.
enum ScriptOption: CustomStringConvertible {
    case eol, nop
    case mss(UInt16)
    case wscale(UInt8)
    case sackOK
    case ts(ScriptTS, ScriptTS)
    /// SACK blocks `(left, right)`, right exclusive (RFC 2018 §3).
    case sack([(Int, Int)])

    var description: String {
        switch self {
        case .eol: "eol"
        case .nop: "nop"
        case let .mss(value): "mss \(value)"
        case let .wscale(value): "wscale \(value)"
        case .sackOK: "sackOK"
        case let .ts(value, echo): "TS val \(value) ecr \(echo)"
        case let .sack(blocks): "sack \(blocks.count) {" + blocks.map { "\($0.0):\($0.1)" }.joined(separator: " ") + "}"
        }
    }
}

/// A segment in a script: one the peer injects, or one the stack is expected to send.
///
/// `win`, `options` and `payload` set to nil are not checked in an expectation
/// (an injected segment then gets window 65535, no options, and the peer's
/// byte pattern as payload).
struct ScriptSegment: CustomStringConvertible {
    var flags: TCPFlags
    var seq: Int
    /// `seq` is the raw number on the wire, not relative (an RST answering a
    /// segment without ACK has SEQ 0).
    var absoluteSeq = false
    var ack: Int?
    var win: Int?
    var len: Int = 0
    var payload: [UInt8]?
    var options: [ScriptOption]? = []
    var urgentPointer: UInt16 = 0
    /// The peer's port (the flow); nil is the script's current `peerPort`.
    var port: UInt16?
    /// Injected with a wrong TCP checksum.
    var badChecksum = false
    /// Injected from this source address instead of the peer's (a spoofed segment).
    var source: IPv4Address?

    /// Flags written the packetdrill way: `S`, `F`, `R`, `P`, `U`, `E`, `W`, and `.` for ACK.
    static func flags(_ text: String) -> TCPFlags {
        var flags: TCPFlags = []
        for character in text {
            switch character {
            case "S": flags.insert(.syn)
            case "F": flags.insert(.fin)
            case "R": flags.insert(.rst)
            case "P": flags.insert(.psh)
            case ".": flags.insert(.ack)
            case "U": flags.insert(.urg)
            case "E": flags.insert(.ece)
            case "W": flags.insert(.cwr)
            default: preconditionFailure("unknown flag \(character) in \(text)")
            }
        }
        return flags
    }

    /// The flags as packetdrill writes them (`S.`, `P.`, `F.`, `R` …).
    static func text(_ flags: TCPFlags) -> String {
        var text = ""
        for (flag, letter) in [(TCPFlags.fin, "F"), (.syn, "S"), (.rst, "R"), (.psh, "P"), (.urg, "U"),
                               (.ece, "E"), (.cwr, "W")] where flags.contains(flag) { text += letter }
        if flags.contains(.ack) { text += "." }
        return text
    }

    /// Any segment: `.seg("FP.", seq: 1, ack: 1, len: 10, win: 100)`.
    static func seg(_ flags: String, seq: Int, ack: Int? = nil, len: Int = 0, win: Int? = nil,
                    options: [ScriptOption]? = [], payload: [UInt8]? = nil, port: UInt16? = nil) -> ScriptSegment {
        ScriptSegment(flags: Self.flags(flags), seq: seq, ack: ack, win: win, len: payload?.count ?? len,
                      payload: payload, options: options, port: port)
    }

    static func syn(seq: Int = 0, win: Int? = 65535, options: [ScriptOption]? = [], port: UInt16? = nil) -> ScriptSegment {
        seg("S", seq: seq, win: win, options: options, port: port)
    }

    static func synAck(seq: Int = 0, ack: Int = 1, win: Int? = nil, options: [ScriptOption]? = [],
                       port: UInt16? = nil) -> ScriptSegment {
        seg("S.", seq: seq, ack: ack, win: win, options: options, port: port)
    }

    static func ack(seq: Int, ack: Int, win: Int? = nil, options: [ScriptOption]? = [], port: UInt16? = nil) -> ScriptSegment {
        seg(".", seq: seq, ack: ack, win: win, options: options, port: port)
    }

    /// A data segment, PSH and ACK set unless `flags` says otherwise.
    static func data(seq: Int, ack: Int, len: Int, win: Int? = nil, options: [ScriptOption]? = [],
                     flags: String = "P.", payload: [UInt8]? = nil, port: UInt16? = nil) -> ScriptSegment {
        seg(flags, seq: seq, ack: ack, len: len, win: win, options: options, payload: payload, port: port)
    }

    /// FIN with ACK, no data.
    static func fin(seq: Int, ack: Int, win: Int? = nil, options: [ScriptOption]? = [], port: UInt16? = nil) -> ScriptSegment {
        seg("F.", seq: seq, ack: ack, win: win, options: options, port: port)
    }

    /// RST without ACK; `absolute` for a raw SEQ.
    static func rst(seq: Int, absolute: Bool = false, win: Int? = 0, options: [ScriptOption]? = [],
                    port: UInt16? = nil) -> ScriptSegment {
        var segment = seg("R", seq: seq, win: win, options: options, port: port)
        segment.absoluteSeq = absolute
        return segment
    }

    /// RST with ACK; `absolute` for a raw SEQ.
    static func rstAck(seq: Int, ack: Int, absolute: Bool = false, win: Int? = 0, options: [ScriptOption]? = [],
                       port: UInt16? = nil) -> ScriptSegment {
        var segment = seg("R.", seq: seq, ack: ack, win: win, options: options, port: port)
        segment.absoluteSeq = absolute
        return segment
    }

    var description: String {
        var text = "\(Self.text(flags)) \(absoluteSeq ? "raw " : "")\(seq):\(seq + len)(\(len))"
        if let ack { text += " ack \(ack)" }
        text += " win " + (win.map(String.init) ?? "*")
        if urgentPointer != 0 { text += " urg \(urgentPointer)" }
        if let options {
            if !options.isEmpty { text += " <" + options.map(\.description).joined(separator: ",") + ">" }
        } else {
            text += " <*>"
        }
        if let port { text += " [peer port \(port)]" }
        return text
    }
}

/// The byte at `offset` of every stream a script writes or injects without an
/// explicit payload, so a test can tell that the right bytes went out or were read.
func scriptPatternByte(_ offset: Int) -> UInt8 { UInt8(((offset % 251) + 251) % 251) }

/// `count` pattern bytes starting at stream offset `offset`.
func scriptPattern(from offset: Int, count: Int) -> [UInt8] { (0..<max(0, count)).map { scriptPatternByte(offset + $0) } }

// MARK: What the stack sent

/// One option as it was on the wire.
enum WireOption: CustomStringConvertible {
    case eol, nop
    case mss(UInt16)
    case wscale(UInt8)
    case sackOK
    case ts(UInt32, UInt32)
    case sack([(UInt32, UInt32)])
    case other(kind: UInt8, bytes: [UInt8])
    case malformed([UInt8])

    /// Walks raw option bytes independently of `TCPOptions.parse`.
    static func list(_ bytes: [UInt8]) -> [WireOption] {
        var options: [WireOption] = []
        var i = 0
        func be32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        while i < bytes.count {
            let kind = bytes[i]
            if kind == 0 { options.append(.eol); i += 1; continue }
            if kind == 1 { options.append(.nop); i += 1; continue }
            guard i + 1 < bytes.count, bytes[i + 1] >= 2, i + Int(bytes[i + 1]) <= bytes.count else {
                options.append(.malformed(Array(bytes[i...])))
                break
            }
            let length = Int(bytes[i + 1])
            let body = Array(bytes[(i + 2)..<(i + length)])
            switch (kind, length) {
            case (2, 4): options.append(.mss(UInt16(body[0]) << 8 | UInt16(body[1])))
            case (3, 3): options.append(.wscale(body[0]))
            case (4, 2): options.append(.sackOK)
            case (8, 10): options.append(.ts(be32(i + 2), be32(i + 6)))
            case (5, _) where (length - 2) % 8 == 0:
                options.append(.sack(stride(from: i + 2, to: i + length, by: 8).map { (be32($0), be32($0 + 4)) }))
            default: options.append(.other(kind: kind, bytes: body))
            }
            i += length
        }
        return options
    }

    var description: String {
        switch self {
        case .eol: "eol"
        case .nop: "nop"
        case let .mss(value): "mss \(value)"
        case let .wscale(value): "wscale \(value)"
        case .sackOK: "sackOK"
        case let .ts(value, echo): "TS val \(value) ecr \(echo)"
        case let .sack(blocks): "sack \(blocks.count) {raw " + blocks.map { "\($0.0):\($0.1)" }.joined(separator: " ") + "}"
        case let .other(kind, bytes): "opt\(kind) \(bytes)"
        case let .malformed(bytes): "malformed \(bytes)"
        }
    }
}

/// A frame the stack sent, picked apart.
struct ScriptCapture {
    /// The poll (or call) that sent it.
    var time: Instant
    var tcp: TCPHeader?
    var options: [WireOption] = []
    var payload: [UInt8] = []
    /// What else it was, when not a TCP segment from 192.0.2.1 to 192.0.2.2.
    var other: String?
    /// The peer port it went to.
    var peerPort: UInt16 { tcp?.destinationPort ?? 0 }
    var flags: TCPFlags { tcp?.flags ?? [] }
}
