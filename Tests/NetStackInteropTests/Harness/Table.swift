// The tables `netstack netstat|route|arp` and the kernel's tools print: a
// header line (possibly after a title such as "Kernel IP routing table"),
// then one whitespace-separated row per entry.

/// A printed table, split at its header line.
struct Table: CustomStringConvertible {
    /// The header line, or "" when no line contains the expected column.
    let header: String
    /// The whitespace-separated fields of each line after the header.
    let rows: [[String]]
    /// The text it was read from, for messages.
    let description: String

    /// Reads `text`, taking the first line that contains `column` as the header.
    init(_ text: String, headerContaining column: String) {
        description = text
        let lines = text.split(separator: "\n")
        guard let index = lines.firstIndex(where: { $0.contains(column) }) else {
            header = ""
            rows = []
            return
        }
        header = String(lines[index])
        rows = lines[(index + 1)...].map { $0.split(whereSeparator: \.isWhitespace).map(String.init) }
    }

    /// The columns of `names` that the header lacks.
    func missingColumns(_ names: [String]) -> [String] {
        names.filter { !header.contains($0) }
    }
}
