/// The language the demo tells its story in.
public enum DemoLanguage: String, Sendable, CaseIterable {
    /// English, the demo's first language.
    case english = "en"
    /// Korean, the language of the chapter the demo follows.
    case korean = "ko"

    /// The language a POSIX locale asks for: the first non-empty of `LC_ALL`,
    /// `LC_MESSAGES` and `LANG` (the order in which POSIX lets them override
    /// each other) decides; Korean when it starts with `ko`, English otherwise.
    /// Costs a few dictionary look-ups.
    public static func preferred(environment: [String: String]) -> DemoLanguage {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        return locale?.hasPrefix("ko") == true ? .korean : .english
    }
}

/// The columns `text` takes in a terminal: 2 for each East Asian Wide or
/// Fullwidth character (Hangul, CJK ideographs, fullwidth forms), 0 for
/// combining marks and zero-width characters, 1 for the rest. ANSI colour
/// sequences (ESC [ … m) take none. Linear in the text's length.
func displayWidth(_ text: String) -> Int {
    var width = 0
    var inEscape = false
    for scalar in text.unicodeScalars {
        if inEscape {
            if scalar == "m" { inEscape = false }
            continue
        }
        if scalar == "\u{1B}" { inEscape = true; continue }
        width += columns(of: scalar)
    }
    return width
}

/// The columns one scalar takes (see ``displayWidth(_:)``).
private func columns(of scalar: Unicode.Scalar) -> Int {
    let value = scalar.value
    switch value {
    case 0x0300...0x036F, 0x1160...0x11FF, 0x200B...0x200F, 0xFE00...0xFE0F, 0xD7B0...0xD7FF:
        return 0  // combining marks, Hangul medial and final jamo, zero-width spaces, variation selectors
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
         0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
         0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
        return 2  // East Asian Wide and Fullwidth (Unicode's EastAsianWidth.txt, W and F)
    default:
        return 1
    }
}

/// `text` followed by spaces up to `width` terminal columns.
func padded(_ text: String, _ width: Int) -> String {
    let used = displayWidth(text)
    return used >= width ? text : text + String(repeating: " ", count: width - used)
}

/// `text` preceded by spaces up to `width` terminal columns.
func padLeft(_ text: String, _ width: Int) -> String {
    let used = displayWidth(text)
    return used >= width ? text : String(repeating: " ", count: width - used) + text
}

/// `text` in lines of at most `width` terminal columns, broken at spaces (a
/// word wider than `width` gets a line of its own).
func wrapWords(_ text: String, width: Int) -> [String] {
    var lines: [String] = [], line = "", lineWidth = 0
    for word in text.split(separator: " ") {
        let wordWidth = displayWidth(String(word))
        if !line.isEmpty, lineWidth + 1 + wordWidth > width {
            lines.append(line)
            line = ""
            lineWidth = 0
        }
        line += line.isEmpty ? String(word) : " " + word
        lineWidth += (lineWidth == 0 ? 0 : 1) + wordWidth
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
