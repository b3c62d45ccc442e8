/// The protocol of the `--control` socket, as pure functions (no descriptor, no
/// clock), so it can be tested and fuzzed on its own: a client sends one line
/// (`netstat`, `netstat -v`, `netstat -s`, `route`, `arp`, `neigh`, `link`) and gets the
/// table's text back, or one line starting `error: `.
public enum ControlRequest: String, Sendable, Equatable, CaseIterable {
    case netstat
    case netstatVerbose = "netstat -v"
    case statistics = "netstat -s"
    case route
    case arp
    /// The IPv6 neighbour cache, like `ip -6 neigh`.
    case neigh
    case link

    /// Every spelling a client may send for this request.
    public var spellings: [String] {
        switch self {
        case .netstatVerbose: ["netstat -v", "netstat --verbose"]
        case .statistics: ["netstat -s", "netstat --statistics"]
        default: [rawValue]
        }
    }
}

/// What a control request line is: framing and parsing.
public enum ControlProtocol {
    /// Longest request line accepted, newline excluded; a longer one is an error.
    public static let maxRequestLength = 256

    /// Where a client's bytes so far stand.
    public enum Framing: Equatable, Sendable {
        /// No newline yet and under the limit: wait for more (or end of stream).
        case needMore
        /// A complete line: the bytes before the first newline.
        case line([UInt8])
        /// Over ``maxRequestLength`` bytes without a newline.
        case tooLong
    }

    /// Frames the bytes a client has sent so far; `ended` when it closed its side
    /// (then what it sent is the line, even without a newline). O(n) in `bytes`.
    public static func frame(_ bytes: [UInt8], ended: Bool) -> Framing {
        if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            return newline > maxRequestLength ? .tooLong : .line(Array(bytes[..<newline]))
        }
        if bytes.count > maxRequestLength { return .tooLong }
        return ended ? .line(bytes) : .needMore
    }

    /// The request a line names, surrounding blanks (space, tab, CR) ignored; nil when it names none.
    public static func parse(_ line: [UInt8]) -> ControlRequest? {
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard let first = line.firstIndex(where: { !blank($0) }), let last = line.lastIndex(where: { !blank($0) }) else {
            return nil
        }
        let text = String(decoding: line[first...last], as: UTF8.self)
        return ControlRequest.allCases.first { $0.spellings.contains(text) }
    }

    /// The whole answer to what a client sent: `table(request)` for a known
    /// request, else one `error: …` line that quotes the request with anything
    /// unprintable replaced, so the answer never carries control bytes of the client's.
    public static func answer(_ framing: Framing, table: (ControlRequest) -> String) -> String {
        switch framing {
        case .needMore, .line([]): return "error: empty request (\(known))\n"
        case .tooLong: return "error: request longer than \(maxRequestLength) bytes (\(known))\n"
        case let .line(line):
            if let request = parse(line) { return table(request) }
            let shown = String(decoding: line.prefix(64).map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") },
                               as: UTF8.self)
            return "error: unknown request '\(shown)\(line.count > 64 ? "…" : "")' (\(known))\n"
        }
    }

    private static let known = "netstat, netstat -v, netstat -s, route, arp, neigh, link"
}
