// The LAN adapter's last step: bytes become a signal on the cable.
//
// 10BASE-T Ethernet (IEEE 802.3 clause 7, "Manchester encoding", 7.3.1.1) sends
// each bit as two half-bit levels with a transition in the middle, so the
// receiver recovers the sender's clock from the signal itself. Before the frame
// come seven preamble bytes (0x55: a steady square wave to lock onto) and the
// start frame delimiter (0xD5, which ends in two 1s: "the frame starts now").

/// The level on the wire during half a bit cell.
public enum SignalLevel: Sendable, Hashable {
    /// The lower of the two voltages (or no light).
    case low
    /// The higher of the two voltages (or light).
    case high

    /// The other level.
    public var flipped: SignalLevel { self == .low ? .high : .low }
}

/// A named run of bytes in a drawn signal: the preamble, the SFD, a header field.
public struct SignalField: Sendable, Hashable {
    /// What the bytes are, as printed above them ("destination MAC").
    public var name: String
    /// Which bytes, as indices into the drawn bytes.
    public var bytes: Range<Int>

    /// A field named `name` covering `bytes`.
    public init(_ name: String, bytes: Range<Int>) {
        self.name = name
        self.bytes = bytes
    }
}

/// Why a signal does not decode to bytes.
public enum ManchesterError: Error, Hashable, Sendable {
    /// Bit cell `bit` (counted from 0) has no transition in its middle: the
    /// receiver cannot tell a 0 from a 1, a code violation.
    case codeViolation(bit: Int)
    /// The signal stops halfway through a bit cell (an odd number of half-bit levels).
    case incompleteBitCell(halfBits: Int)
    /// The bits do not fill whole bytes.
    case incompleteByte(bits: Int)
}

/// Manchester line code as 10BASE-T Ethernet uses it (IEEE 802.3 clause 7.3.1.1).
///
/// Each byte leaves least-significant bit first. Each bit is two half-bit
/// levels: the first half carries the complement of the bit, the second half
/// the bit, so a 1 is low→high and a 0 is high→low in the middle of the cell.
/// (G. E. Thomas's original convention is the opposite: 1 is high→low.)
public enum ManchesterCode {
    /// The seven preamble bytes: alternating bits, a 5 MHz square wave the
    /// receiver's clock locks onto (IEEE 802.3 3.2.1).
    public static let ethernetPreamble: [UInt8] = Array(repeating: 0x55, count: 7)

    /// The start frame delimiter: like the preamble but ending in two 1s,
    /// which marks where the frame begins (IEEE 802.3 3.2.2).
    public static let startFrameDelimiter: UInt8 = 0xD5

    /// How long one bit lasts on a 10 Mbit/s link.
    public static let bitTime: Duration = .nanoseconds(100)

    /// The half-bit levels that send `bytes`, two per bit, 16 per byte. O(n).
    public static func encode(_ bytes: some Collection<UInt8>) -> [SignalLevel] {
        var levels: [SignalLevel] = []
        levels.reserveCapacity(bytes.count * 16)
        for byte in bytes {
            for bit in 0..<8 {
                let one = byte >> bit & 1 == 1
                levels.append(one ? .low : .high)
                levels.append(one ? .high : .low)
            }
        }
        return levels
    }

    /// The bytes that `levels` carry. Checks the mid-bit transition of every
    /// bit cell and throws `codeViolation` naming the first cell without one. O(n).
    public static func decode(_ levels: [SignalLevel]) throws(ManchesterError) -> [UInt8] {
        guard levels.count % 2 == 0 else { throw .incompleteBitCell(halfBits: levels.count) }
        let bits = levels.count / 2
        guard bits % 8 == 0 else { throw .incompleteByte(bits: bits) }
        var bytes = [UInt8](repeating: 0, count: bits / 8)
        for index in 0..<bits {
            let first = levels[2 * index], second = levels[2 * index + 1]
            guard first != second else { throw .codeViolation(bit: index) }
            if second == .high { bytes[index / 8] |= 1 << (index % 8) }
        }
        return bytes
    }

    /// What the adapter puts on the cable at the start of `frame`: the
    /// preamble, the SFD, then the frame's first `headerBytes` bytes (fewer if
    /// the frame is shorter).
    public static func signalBytes(forFrame frame: [UInt8], headerBytes: Int) -> [UInt8] {
        ethernetPreamble + [startFrameDelimiter] + frame.prefix(max(0, headerBytes))
    }

    /// The fields of the first `count` bytes of `signalBytes(forFrame:headerBytes:)`:
    /// preamble, SFD, destination MAC, source MAC, EtherType, payload.
    public static func ethernetFields(count: Int) -> [SignalField] {
        let layout: [(String, Int)] = [("preamble", 7), ("SFD", 1), ("destination MAC", 6),
                                       ("source MAC", 6), ("EtherType", 2)]
        var fields: [SignalField] = [], start = 0
        for (name, length) in layout where start < count {
            fields.append(SignalField(name, bytes: start..<min(start + length, count)))
            start += length
        }
        if start < count { fields.append(SignalField("payload", bytes: start..<count)) }
        return fields
    }
}

// MARK: - Drawing

extension ManchesterCode {
    /// The start of `frame` as the adapter signals it, ready to print: a short
    /// explanation, then the last preamble byte, the SFD and the frame's first
    /// `headerBytes` bytes drawn by `render` (the first six preamble bytes are
    /// summarised in one line). With the defaults, 28 lines of at most 78 columns.
    /// The explanation and the summary line are worded in `language`; the
    /// fields keep their names (preamble, SFD, destination MAC), as a dissector shows them.
    public static func drawFrameStart(_ frame: [UInt8], headerBytes: Int = 6, width: Int = 78,
                                      color: Bool, ascii: Bool = false, language: DemoLanguage = .english) -> [String] {
        let bytes = signalBytes(forFrame: frame, headerBytes: headerBytes)
        let explanation = Phrase(.manchesterExplanation).text(language)
        return wrapWords(ascii ? explanation.replacingArrows : explanation, width: width)
            + render(encode(bytes), bytes: bytes, fields: ethernetFields(count: bytes.count),
                     fromByte: ethernetPreamble.count - 1, width: width, color: color, ascii: ascii, language: language)
    }

    /// Draws `levels` for a terminal, wrapped to `width` columns.
    ///
    /// Bytes before `fromByte` are summarised in a first line ("… 6 more
    /// preamble bytes before these (0x55 each)"). Then the drawing comes in
    /// blocks separated by an empty line, each of whole bytes when `width`
    /// allows, five lines each (four when `fields` is empty):
    /// 1. the fields of `fields` over the bits they cover,
    /// 2. each byte of `bytes` in hex at its first bit,
    /// 3. each bit as the cell's levels decode it (✗ for a code violation),
    /// 4. and 5. the signal, high and low, with the time since the first bit
    ///    (at 10 Mbit/s) in the margin.
    ///
    /// The signal lines are exactly `margin + bits × 2 × columnsPerHalfBit`
    /// columns wide; the others carry no trailing spaces. No line is wider than
    /// `width` unless `width` cannot hold one bit. `color` adds ANSI colours
    /// (not counted in the width); `ascii` draws with `_ | - +` only; the
    /// summary line is worded in `language`. Costs O(levels) time and output.
    public static func render(_ levels: [SignalLevel], bytes: [UInt8], fields: [SignalField] = [],
                              fromByte: Int = 0, width: Int = 78, color: Bool, ascii: Bool = false,
                              columnsPerHalfBit: Int = 2, language: DemoLanguage = .english) -> [String] {
        let halfWidth = min(max(columnsPerHalfBit, 1), 4), bitWidth = 2 * halfWidth
        let totalBits = levels.count / 2
        let firstBit = min(max(fromByte, 0), totalBits / 8) * 8
        let margin = max(7, timeLabel(bit: totalBits, ascii: ascii).count) + 1
        var bitsPerLine = max(1, (width - margin) / bitWidth)
        if bitsPerLine >= 8 { bitsPerLine -= bitsPerLine % 8 }

        var lines: [String] = []
        if firstBit > 0 {
            lines += wrapWords(skippedSummary(bytes: bytes, count: firstBit / 8, fields: fields, ascii: ascii).text(language), width: width)
        }
        var start = firstBit
        while start < totalBits {
            let end = min(start + bitsPerLine, totalBits)
            if start != firstBit { lines.append("") }
            let block = SignalBlock(levels: levels, bytes: bytes, bits: start..<end, margin: margin,
                                    halfWidth: halfWidth, ascii: ascii)
            lines += block.rows(fields: fields).dropFirst(fields.isEmpty ? 1 : 0).map { $0.rendered(color: color) }
            lines += block.signalRows().map { $0.rendered(color: color, trimming: false) }
            start = end
        }
        return lines
    }

    /// "… 6 more preamble bytes before these (0x55 each)".
    private static func skippedSummary(bytes: [UInt8], count: Int, fields: [SignalField], ascii: Bool) -> Phrase {
        var perField: [(name: String, count: Int)] = []
        for field in fields {
            let overlap = field.bytes.clamped(to: 0..<count).count
            if overlap > 0 { perField.append((field.name, overlap)) }
        }
        let skipped = bytes.prefix(count)
        let same: PhraseArg = skipped.count == count && Set(skipped).count == 1 ? .plain(hex(skipped.first ?? 0)) : ""
        let dots: PhraseArg = ascii ? "..." : "…"
        if perField.count == 1, perField[0].count == count {
            return Phrase(.signalSkippedField, dots, "\(count)", .plain(perField[0].name), same)
        }
        let parts = perField.map { "\($0.count) \($0.name)" }.joined(separator: ", ")
        return Phrase(.signalSkippedBytes, dots, "\(count)", same, .plain(parts))
    }

    /// "4.8 µs": when bit `bit` starts, counted from the first bit, at 10 Mbit/s.
    fileprivate static func timeLabel(bit: Int, ascii: Bool) -> String {
        "\(bit / 10).\(bit % 10) \(ascii ? "us" : "µs")"
    }

    fileprivate static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}

/// The drawing of bits `bits` of a signal: one block of `render`'s output.
private struct SignalBlock {
    let levels: [SignalLevel]
    let bytes: [UInt8]
    let bits: Range<Int>
    let margin: Int
    let halfWidth: Int
    let ascii: Bool

    private var bitWidth: Int { 2 * halfWidth }
    private var width: Int { margin + bits.count * bitWidth }
    private func column(ofBit bit: Int) -> Int { margin + (bit - bits.lowerBound) * bitWidth }

    static let fieldColors = ["33", "35", "36", "34"]

    /// The field, byte and bit rows.
    func rows(fields: [SignalField]) -> [DrawingRow] {
        var fieldRow = DrawingRow(width: width), byteRow = DrawingRow(width: width), bitRow = DrawingRow(width: width)
        byteRow.put("byte", at: 0, style: "2")
        bitRow.put("bit", at: 0, style: "2")
        for (index, field) in fields.enumerated() {
            let fieldBits = (field.bytes.lowerBound * 8)..<(field.bytes.upperBound * 8)
            let shown = fieldBits.clamped(to: bits)
            guard !shown.isEmpty else { continue }
            let from = column(ofBit: shown.lowerBound), to = column(ofBit: shown.upperBound) - 1
            let style = Self.fieldColors[index % Self.fieldColors.count]
            let line = ascii ? "-" : "─"
            for c in from...to { fieldRow.put(line, at: c, style: style) }
            if shown.lowerBound == fieldBits.lowerBound { fieldRow.put(ascii ? "+" : "╭", at: from, style: style) }
            if shown.upperBound == fieldBits.upperBound { fieldRow.put(ascii ? "+" : "╮", at: to, style: style) }
            let name = shown.lowerBound == fieldBits.lowerBound ? field.name : "\(field.name) (cont.)"
            fieldRow.put(" \(name) ", at: from + 2, style: style, end: to - 1)
        }
        for bit in bits {
            if bit % 8 == 0, bit / 8 < bytes.count {
                byteRow.put(ManchesterCode.hex(bytes[bit / 8]), at: column(ofBit: bit), end: column(ofBit: bit) + bitWidth * 8)
            }
            let first = levels[2 * bit], second = levels[2 * bit + 1]
            let text = first == second ? (ascii ? "X" : "✗") : (second == .high ? "1" : "0")
            bitRow.put(text, at: column(ofBit: bit) + halfWidth, style: first == second ? "31;1" : nil)
        }
        return [fieldRow, byteRow, bitRow]
    }

    /// The high and low rows of the signal: a level is a line in its row, a
    /// change of level a corner in both.
    func signalRows() -> [DrawingRow] {
        var top = DrawingRow(width: width), bottom = DrawingRow(width: width)
        bottom.put(ManchesterCode.timeLabel(bit: bits.lowerBound, ascii: ascii), at: 0, style: "2")
        for bit in bits {
            let violation = levels[2 * bit] == levels[2 * bit + 1]
            let style = violation ? "31;1" : "32"
            for half in 0..<2 {
                let index = 2 * bit + half
                let level = levels[index]
                let previous = index > 0 ? levels[index - 1] : level
                for offset in 0..<halfWidth {
                    let c = column(ofBit: bit) + half * halfWidth + offset
                    let edge = offset == 0 && previous != level
                    let (high, low) = glyphs(level: level, edge: edge)
                    top.put(high, at: c, style: style)
                    bottom.put(low, at: c, style: style)
                }
            }
        }
        return [top, bottom]
    }

    /// What the high and low rows show for one column at `level`, at a change of level when `edge`.
    private func glyphs(level: SignalLevel, edge: Bool) -> (high: String, low: String) {
        if ascii {
            // "_" sits at the bottom of its row, so a "|" in the low row joins both levels.
            if edge { return (" ", "|") }
            return level == .high ? ("_", " ") : (" ", "_")
        }
        switch (level, edge) {
        case (.high, true): return ("┌", "┘")
        case (.low, true): return ("┐", "└")
        case (.high, false): return ("─", " ")
        case (.low, false): return (" ", "─")
        }
    }
}

/// One line of terminal text built column by column, each column with an
/// optional ANSI colour code; text put beyond the row's width is clipped.
struct DrawingRow {
    private var cells: [Character]
    private var styles: [String?]

    /// A row of `width` spaces.
    init(width: Int) {
        cells = Array(repeating: " ", count: max(0, width))
        styles = Array(repeating: nil, count: max(0, width))
    }

    /// Columns in the row.
    var width: Int { cells.count }

    /// Writes `text` from column `column`, stopping before column `end` (or the row's end).
    mutating func put(_ text: some StringProtocol, at column: Int, style: String? = nil, end: Int? = nil) {
        let limit = min(end ?? cells.count, cells.count)
        var c = column
        for character in text {
            // A wide character (Hangul) takes two columns: the second holds a marker that prints as nothing.
            let columns = displayWidth(String(character))
            guard c + max(columns, 1) <= limit else { break }
            if c >= 0 {
                cells[c] = character
                styles[c] = style
                if columns == 2 {
                    cells[c + 1] = Self.continuation
                    styles[c + 1] = style
                }
            }
            c += max(columns, 1)
        }
    }

    /// The second column of a wide character.
    private static let continuation: Character = "\u{0}"

    /// The row as a string, with ANSI colours if `color`, without trailing spaces if `trimming`.
    func rendered(color: Bool, trimming: Bool = true) -> String {
        var count = cells.count
        if trimming { while count > 0, cells[count - 1] == " " { count -= 1 } }
        var text = "", current: String? = nil
        for index in 0..<count {
            // A space looks the same in any colour: it never starts a new run of escapes.
            let style = color ? styles[index] : nil
            if style != current, cells[index] != " " {
                if current != nil { text += "\u{1B}[0m" }
                if let style { text += "\u{1B}[\(style)m" }
                current = style
            }
            if cells[index] != Self.continuation { text.append(cells[index]) }
        }
        if current != nil { text += "\u{1B}[0m" }
        return text
    }
}

private extension String {
    /// The text with "→" spelled "->", for ASCII-only terminals.
    var replacingArrows: String {
        var result = ""
        for character in self { result += character == "→" ? "->" : String(character) }
        return result
    }
}
