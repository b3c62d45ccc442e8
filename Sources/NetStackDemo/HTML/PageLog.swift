import NetStackCore

// What the HTML page needs from the run besides its frames: every line of
// narration with the simulated time it was told at, and each step's start
// with every host's tables as they stood then (so as the previous step left them).

/// The narration and the tables of one run, recorded for the page.
final class PageLog {
    /// One host's `netstat`, `route` and `arp` (with IPv6: `route -6` and `ip -6 neigh`), as text.
    struct Tables {
        var host: String
        var netstat: String
        var route: String
        var arp: String
    }

    /// A step: its title, when it began, its first line of narration, and the tables at that moment.
    struct Step {
        var title: String
        var nanoseconds: Int64
        var firstLine: Int
        var tablesBefore: [Tables]
    }

    /// Lines of narration (ANSI colours removed) with the simulated time each was told at.
    private(set) var lines: [(nanoseconds: Int64, text: String)] = []
    private(set) var steps: [Step] = []
    /// The tables when the run ended.
    private(set) var finalTables: [Tables] = []
    /// The simulated time now; set once the network exists.
    var clock: () -> Int64 = { 0 }
    /// The hosts whose tables are recorded; set once the network exists.
    var hosts: [Host] = []
    /// IPv6 tables (`route -6`, the neighbour cache) in place of `route` and `arp` (`--ipv6`).
    var ipv6 = false

    /// Records one line of narration. O(line length).
    func add(_ line: String) {
        lines.append((clock(), Self.plain(line)))
    }

    /// Records the start of a step and the tables as they stand. O(tables' size).
    func beginStep(_ title: String) {
        steps.append(Step(title: Self.plain(title), nanoseconds: clock(), firstLine: lines.count, tablesBefore: snapshot()))
    }

    /// Records the tables as the run left them.
    func finish() {
        finalTables = snapshot()
    }

    private func snapshot() -> [Tables] {
        let now = Instant(nanoseconds: clock())
        if ipv6 {
            return hosts.map { Tables(host: $0.name, netstat: $0.netstat(), route: $0.routeTable6() ?? "", arp: $0.neighborTable6()) }
        }
        return hosts.map { Tables(host: $0.name, netstat: $0.netstat(), route: $0.routeTable(), arp: $0.arpTable(now: now)) }
    }

    /// `text` without ANSI escape sequences (ESC [ … letter).
    static func plain(_ text: String) -> String {
        guard text.contains("\u{1B}") else { return text }
        var result = ""
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar.properties.isAlphabetic { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
