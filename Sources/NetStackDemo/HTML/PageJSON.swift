// A tiny JSON writer for the page's data block: deterministic (keys in the
// order given), and safe inside a <script> element (no "<" ever written raw).

/// A JSON value, written by ``rendered``.
enum PageJSON {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case array([PageJSON])
    /// Keys in the order given, so the same data gives the same bytes.
    case object([(String, PageJSON)])
    case null

    /// An integer value.
    static func int(_ value: Int) -> PageJSON { .int(Int64(value)) }

    /// The JSON text. O(size of the value).
    var rendered: String {
        var text = ""
        write(into: &text)
        return text
    }

    private func write(into text: inout String) {
        switch self {
        case let .string(value): Self.quote(value, into: &text)
        case let .int(value): text += String(value)
        case let .bool(value): text += value ? "true" : "false"
        case .null: text += "null"
        case let .array(values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(into: &text)
            }
            text += "]"
        case let .object(members):
            text += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { text += "," }
                Self.quote(key, into: &text)
                text += ":"
                value.write(into: &text)
            }
            text += "}"
        }
    }

    /// A JSON string; "<", ">" and "&" escaped too, so "</script>" cannot end the block early.
    private static func quote(_ value: String, into text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                text += "\\u" + hex4(scalar.value)
            case _ where scalar.value < 0x20:
                text += "\\u" + hex4(scalar.value)
            default:
                text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
