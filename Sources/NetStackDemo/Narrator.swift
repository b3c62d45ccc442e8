/// How much the demo tells.
public enum Verbosity: Sendable {
    /// Only the step headings, the tables and the counters.
    case quiet
    /// Each kind of step in full the first time; repeats summarised per step.
    case normal
    /// Every event, one line each.
    case verbose
}

/// The layer a line of narration is about; it sets the tag and colour.
enum Layer: String {
    case app = "APP", socket = "SOCK", tcp = "TCP", udp = "UDP", icmp = "ICMP", ip = "IP", arp = "ARP", ethernet = "ETH"
    case adapter = "NIC", driver = "DRV", hub = "HUB", switch_ = "SWITCH", wire = "WIRE", router = "ROUTER"

    /// ANSI colour code.
    var color: String {
        switch self {
        case .app, .socket: "35"
        case .tcp, .udp, .icmp: "36"
        case .ip, .router: "34"
        case .arp: "33"
        case .ethernet, .adapter, .driver: "32"
        case .hub, .switch_: "94"
        case .wire: "31"
        }
    }
}

/// One thing to tell: a full explanation the first time, and a one-line form.
struct Narration {
    var layer: Layer
    /// Events of one kind are told in full once, then summarised ("… 12 frames queued").
    var kind: String
    /// Plural noun for the summary.
    var noun: String
    var full: String
    var brief: String
}

/// Prints the story: headings, narration lines with the virtual time, and
/// per-step summaries of what repeated.
final class Narrator {
    let verbosity: Verbosity
    let color: Bool
    let output: (String) -> Void
    /// While muted, events are only counted (in `mutedCount`).
    var muted = false
    private(set) var mutedCount = 0
    private var toldKinds: Set<String> = []
    private var repeats: [(noun: String, count: Int)] = []

    init(verbosity: Verbosity, color: Bool, output: @escaping (String) -> Void) {
        self.verbosity = verbosity
        self.color = color
        self.output = output
    }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// A step heading with a short explanation.
    func heading(_ title: String, _ explanation: String = "") {
        flushRepeats()
        output("")
        output(paint("== \(title)", "1"))
        if !explanation.isEmpty, verbosity != .quiet { output(explanation) }
    }

    /// Plain text (tables, counters), one output call per line.
    func text(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { output(String(line)) }
    }

    /// Tells `narration`, which happened at `time` on `node`.
    func tell(_ narration: Narration, node: String, time: String) {
        if muted { mutedCount += 1; return }
        switch verbosity {
        case .quiet:
            return
        case .verbose:
            let first = toldKinds.insert(narration.kind).inserted
            line(narration, node: node, time: time, text: first ? narration.full : narration.brief)
        case .normal:
            if toldKinds.insert(narration.kind).inserted {
                line(narration, node: node, time: time, text: narration.full)
            } else if let index = repeats.firstIndex(where: { $0.noun == narration.noun }) {
                repeats[index].count += 1
            } else {
                repeats.append((narration.noun, 1))
            }
        }
    }

    private func line(_ narration: Narration, node: String, time: String, text: String) {
        let tag = padded(narration.layer.rawValue, 6), who = padded(node, 7)
        output("\(time)  \(paint(tag, narration.layer.color)) \(who) \(text)")
    }

    /// Prints "…and N more: …" for what was not told in full since the last heading.
    func flushRepeats() {
        guard !repeats.isEmpty else { return }
        let total = repeats.reduce(0) { $0 + $1.count }
        let parts = repeats.map { "\($0.count) \($0.noun)" }.joined(separator: ", ")
        output(paint("           …and \(total) more of the kinds told above: \(parts)", "2"))
        repeats = []
    }
}

/// `text` followed by spaces up to `width` characters.
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
