// A ladder (sequence) diagram of one connection: two lifelines, time running
// down, one arrow per segment — the picture every TCP textbook draws.

/// One segment in a ladder diagram.
public struct LadderArrow: Sendable, Hashable {
    /// When the segment was sent, counted from the diagram's origin (the first SYN, say).
    public var time: Duration
    /// Sent by the left host to the right one (else right to left).
    public var fromLeft: Bool
    /// What the arrow carries, e.g. "SYN seq=0 win=64240 mss=1460". `summarised`
    /// reads it: the words SYN, FIN and RST, "retransmi…", and "len=N".
    public var label: String
    /// Dropped on the way: the arrow stops midway in ✗.
    public var lost: Bool
    /// Printed beside the left lifeline on this arrow's line, e.g. the state
    /// the left host enters ("ESTABLISHED", "TIME_WAIT").
    public var leftNote: String?
    /// Printed beside the right lifeline on this arrow's line.
    public var rightNote: String?

    /// An arrow sent at `time`; see the properties.
    public init(time: Duration, fromLeft: Bool, label: String, lost: Bool = false,
                leftNote: String? = nil, rightNote: String? = nil) {
        self.time = time
        self.fromLeft = fromLeft
        self.label = label
        self.lost = lost
        self.leftNote = leftNote
        self.rightNote = rightNote
    }
}

/// A ladder diagram of a conversation between two hosts, drawn in the terminal.
public struct LadderDiagram: Sendable {
    /// One line of the diagram.
    public enum Row: Sendable, Hashable {
        /// A segment.
        case arrow(LadderArrow)
        /// `count` arrows left out by `summarised`, drawn as "⋮ `summary` ⋮".
        case collapsed(count: Int, summary: String)
    }

    /// The left host's name, printed above its lifeline; "\n" starts a second line.
    public var left: String
    /// The right host's name.
    public var right: String
    /// Top to bottom.
    public var rows: [Row]

    /// A diagram of `arrows`, in the order given (normally by time).
    public init(left: String, right: String, arrows: [LadderArrow]) {
        self.left = left
        self.right = right
        self.rows = arrows.map(Row.arrow)
    }

    /// The diagram with each long run of ordinary arrows cut to its first
    /// `keepingFirst` and last `keepingLast`, the rest replaced by one row
    /// that counts them by kind ("58 more data segments, 29 ACKs").
    ///
    /// Never collapsed: lost arrows, retransmissions (the label contains
    /// "retransmi"), arrows carrying SYN, FIN or RST (as words in the label)
    /// and arrows with a note. A label with "len=N", N > 0, counts as a data
    /// segment; otherwise one mentioning ACK as an ACK. O(rows).
    /// The folded rows are worded in `language`.
    public func summarised(keepingFirst: Int = 3, keepingLast: Int = 1, language: DemoLanguage = .english) -> LadderDiagram {
        let head = max(0, keepingFirst), tail = max(0, keepingLast)
        var result = self
        result.rows = []
        var run: [LadderArrow] = []
        func flushRun() {
            if run.count > head + tail + 1 {
                result.rows += run.prefix(head).map(Row.arrow)
                let middle = run.dropFirst(head).dropLast(tail)
                result.rows.append(.collapsed(count: middle.count, summary: Self.summary(of: middle, language: language)))
                result.rows += run.suffix(tail).map(Row.arrow)
            } else {
                result.rows += run.map(Row.arrow)
            }
            run = []
        }
        for row in rows {
            if case let .arrow(arrow) = row, !Self.isAlwaysKept(arrow) {
                run.append(arrow)
            } else {
                flushRun()
                result.rows.append(row)
            }
        }
        flushRun()
        return result
    }

    /// Whether `summarised` must keep `arrow`: it is lost, a retransmission,
    /// carries SYN, FIN or RST, or has a note.
    public static func isAlwaysKept(_ arrow: LadderArrow) -> Bool {
        if arrow.lost || arrow.leftNote != nil || arrow.rightNote != nil { return true }
        if arrow.label.lowercased().contains("retransmi") { return true }
        return arrow.label.split(whereSeparator: { !$0.isLetter }).contains { ["SYN", "FIN", "RST"].contains($0) }
    }

    /// "58 more data segments, 29 ACKs": the arrows counted by kind, in order of first appearance.
    private static func summary(of arrows: some Collection<LadderArrow>, language: DemoLanguage) -> String {
        var counts: [(kind: String, count: Int)] = []
        for arrow in arrows {
            let kind = Self.kind(of: arrow)
            if let index = counts.firstIndex(where: { $0.kind == kind }) {
                counts[index].count += 1
            } else {
                counts.append((kind, 1))
            }
        }
        let entries = counts.enumerated().map { index, entry in
            Phrase(.ladderFoldedEntry, "\(entry.count)", .plain(entry.kind), flag(index == 0)).text(language)
        }
        return Phrase(.ladderFolded, .plain(entries.joined(separator: ", "))).text(language)
    }

    /// What `arrow` is counted as: "data", "ack" or "segment".
    private static func kind(of arrow: LadderArrow) -> String {
        let label = arrow.label
        if let range = label.firstRange(of: "len=") {
            let digits = label[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
            if let length = Int(digits), length > 0 { return "data" }
        }
        if label.lowercased().contains("ack") { return "ack" }
        return "segment"
    }
}

// MARK: - Drawing

extension LadderDiagram {
    /// The diagram as lines for a terminal, at most `width` columns each
    /// (unless `width` is too small for two lifelines and the margins).
    ///
    /// Names head the lifelines; below, each row has the send time in
    /// milliseconds in the left margin, both lifelines in the same two columns,
    /// the arrow between them with its label centred on it (a lost one ends
    /// midway in ✗) and its notes outside the lifelines. Collapsed rows read
    /// "⋮ 58 more data segments, 29 ACKs ⋮". `color` adds ANSI colours (not
    /// counted in the width); `ascii` draws with `| - < > x :` only. O(rows × width).
    public func render(width: Int = 78, color: Bool, ascii: Bool = false) -> [String] {
        let layout = Layout(self, width: width)
        let glyphs = ascii ? Glyphs.ascii : Glyphs.unicode
        var lines: [DrawingRow] = []

        let leftNames = left.split(separator: "\n", omittingEmptySubsequences: false)
        let rightNames = right.split(separator: "\n", omittingEmptySubsequences: false)
        let headerCount = max(leftNames.count, rightNames.count)
        for index in 0..<headerCount {
            var row = DrawingRow(width: layout.width)
            if index == headerCount - 1 { row.put(layout.pad("ms"), at: 0, style: "2") }
            if index < leftNames.count { row.put(centred: leftNames[index], on: layout.leftColumn, style: "1") }
            if index < rightNames.count { row.put(centred: rightNames[index], on: layout.rightColumn, style: "1") }
            lines.append(row)
        }
        lines.append(layout.lifelines(glyphs))

        for row in rows {
            var line = layout.lifelines(glyphs)
            switch row {
            case let .arrow(arrow):
                line.put(layout.pad(Self.milliseconds(arrow.time)), at: 0, style: "2")
                layout.draw(arrow, on: &line, glyphs)
            case let .collapsed(_, summary):
                let text = "\(glyphs.ellipsis) \(summary) \(glyphs.ellipsis)"
                let clipped = clip(text, to: layout.arrowColumns.count - 2, ascii: ascii)
                line.put(centred: clipped, within: layout.arrowColumns, style: "2")
            }
            lines.append(line)
        }
        return lines.map { $0.rendered(color: color) }
    }

    /// "12.345": milliseconds with three decimals.
    static func milliseconds(_ duration: Duration) -> String {
        // Clamped far beyond any connection's life, so the multiplication cannot overflow.
        let seconds = min(max(duration.components.seconds, -1_000_000_000), 1_000_000_000)
        let micros = seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let magnitude = micros.magnitude, fraction = String(magnitude % 1000)
        return (micros < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// The characters a diagram is drawn with.
private struct Glyphs {
    var lifeline, shaft, rightHead, leftHead, lost, ellipsis: String
    static let unicode = Glyphs(lifeline: "│", shaft: "─", rightHead: "▶", leftHead: "◀", lost: "✗", ellipsis: "⋮")
    static let ascii = Glyphs(lifeline: "|", shaft: "-", rightHead: ">", leftHead: "<", lost: "x", ellipsis: ":")
}

/// Where the columns of a diagram go.
private struct Layout {
    /// Columns of each line (more than asked only when too few were).
    let width: Int
    /// Width of the time margin, without the two spaces after it.
    let timeWidth: Int
    let leftNoteWidth: Int, rightNoteWidth: Int
    let leftColumn: Int, rightColumn: Int

    /// Between the lifelines.
    var arrowColumns: Range<Int> { (leftColumn + 1)..<rightColumn }

    /// Narrow labels need no more room than this between the lifelines; notes shrink to leave it.
    static let preferredArrowWidth = 30
    static let maxNoteWidth = 14

    init(_ diagram: LadderDiagram, width requested: Int) {
        var timeWidth = 2, leftNote = 0, rightNote = 0
        for case let .arrow(arrow) in diagram.rows {
            timeWidth = max(timeWidth, LadderDiagram.milliseconds(arrow.time).count)
            leftNote = max(leftNote, arrow.leftNote?.count ?? 0)
            rightNote = max(rightNote, arrow.rightNote?.count ?? 0)
        }
        // Each side's note takes its width plus a space; both shrink, down to nothing, to leave the arrows room.
        let spare = requested - (timeWidth + 2) - 2 - Self.preferredArrowWidth
        let cap = min(Self.maxNoteWidth, max(0, spare / 2 - 1))
        leftNote = cap >= 4 ? min(leftNote, cap) : 0
        rightNote = cap >= 4 ? min(rightNote, cap) : 0
        self.timeWidth = timeWidth
        leftNoteWidth = leftNote
        rightNoteWidth = rightNote
        leftColumn = timeWidth + 2 + (leftNote > 0 ? leftNote + 1 : 0)
        rightColumn = max(leftColumn + 4, requested - 1 - (rightNote > 0 ? rightNote + 1 : 0))
        width = max(requested, rightColumn + 1 + (rightNote > 0 ? rightNote + 1 : 0))
    }

    /// `text` right-aligned in the time margin.
    func pad(_ text: String) -> String {
        String(repeating: " ", count: max(0, timeWidth - text.count)) + text
    }

    /// A row with nothing but the two lifelines.
    func lifelines(_ glyphs: Glyphs) -> DrawingRow {
        var row = DrawingRow(width: width)
        row.put(glyphs.lifeline, at: leftColumn)
        row.put(glyphs.lifeline, at: rightColumn)
        return row
    }

    /// Draws `arrow` and its notes on `row`.
    func draw(_ arrow: LadderArrow, on row: inout DrawingRow, _ glyphs: Glyphs) {
        let ascii = glyphs.lifeline == "|"
        let first = arrowColumns.lowerBound, last = arrowColumns.upperBound - 1, length = arrowColumns.count
        // A lost arrow reaches halfway, or as far as its label needs.
        let reach = arrow.lost ? min(length - 1, max(length / 2, arrow.label.count + 6)) : length - 1
        let shaft = arrow.fromLeft ? first..<(first + reach) : (last - reach + 1)..<(last + 1)
        let tip = arrow.fromLeft ? first + reach : last - reach
        let style = arrow.lost ? "31" : arrow.fromLeft ? "36" : "35"
        for column in shaft { row.put(glyphs.shaft, at: column, style: style) }
        if arrow.lost {
            row.put(glyphs.lost, at: tip, style: "31;1")
        } else {
            row.put(arrow.fromLeft ? glyphs.rightHead : glyphs.leftHead, at: tip, style: style)
        }
        let label = clip(arrow.label, to: max(0, shaft.count - 4), ascii: ascii)
        if !label.isEmpty { row.put(centred: " \(label) ", within: shaft) }

        if let note = arrow.leftNote, leftNoteWidth > 0 {
            let text = clip(note, to: leftNoteWidth, ascii: ascii)
            row.put(text, at: leftColumn - 1 - text.count, style: "33")
        }
        if let note = arrow.rightNote, rightNoteWidth > 0 {
            row.put(clip(note, to: rightNoteWidth, ascii: ascii), at: rightColumn + 2, style: "33")
        }
    }
}

extension DrawingRow {
    /// Writes `text` centred on column `column`, moved inwards where it would cross an edge.
    mutating func put(centred text: some StringProtocol, on column: Int, style: String? = nil) {
        let columns = displayWidth(String(text))
        let start = min(max(0, column - columns / 2), max(0, width - columns))
        put(text, at: start, style: style)
    }

    /// Writes `text` centred within `columns` (clipped to them).
    mutating func put(centred text: some StringProtocol, within columns: Range<Int>, style: String? = nil) {
        let start = columns.lowerBound + max(0, (columns.count - displayWidth(String(text))) / 2)
        put(text, at: start, style: style, end: columns.upperBound)
    }
}

/// `text` cut to `length` characters, ending in "…" ("." in ASCII) when cut.
private func clip(_ text: String, to length: Int, ascii: Bool) -> String {
    guard displayWidth(text) > length else { return text }
    guard length > 0 else { return "" }
    var clipped = ""
    for character in text {
        guard displayWidth(clipped + String(character)) <= length - 1 else { break }
        clipped.append(character)
    }
    return clipped + (ascii ? "." : "…")
}
