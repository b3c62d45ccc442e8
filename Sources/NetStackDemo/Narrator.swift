/// How much the demo tells.
public enum Verbosity: Sendable {
    /// Only the step headings, each step's outcome, the tables and the counters.
    case quiet
    /// Each kind of step in full the first time; repeats summarised per step.
    case normal
    /// Every event, one line each.
    case verbose
}

/// The layer a line of narration is about; it sets the tag and colour.
enum Layer: String {
    case app = "APP", socket = "SOCK", tcp = "TCP", udp = "UDP", icmp = "ICMP", ip = "IP", arp = "ARP", ndp = "NDP"
    case ethernet = "ETH"
    case adapter = "NIC", driver = "DRV", hub = "HUB", switch_ = "SWITCH", wire = "WIRE", router = "ROUTER"

    /// ANSI colour code.
    var color: String {
        switch self {
        case .app, .socket: "35"
        case .tcp, .udp, .icmp: "36"
        case .ip, .router: "34"
        case .arp, .ndp: "33"
        case .ethernet, .adapter, .driver: "32"
        case .hub, .switch_: "94"
        case .wire: "31"
        }
    }

    /// Whether repeats of this layer are counted by name in a summary (the
    /// application's and the transport's), or only in the total beneath them.
    var isUpper: Bool {
        switch self {
        case .app, .socket, .tcp, .udp, .icmp: true
        default: false
        }
    }
}

/// One thing to tell: a full explanation the first time, and a one-line form,
/// both worded from one ``Phrase`` in the run's language.
struct Narration {
    var layer: Layer
    /// What happened, with its parameters; its kind picks the wording.
    var phrase: Phrase
    /// Told in full every time, never summarised (a loss, a retransmission).
    var always = false
    /// Set apart from the phrase's kind when one kind is told in full once per
    /// host or per state ("the server's first ACK" after "the browser's").
    var variant = ""

    init(_ layer: Layer, _ phrase: Phrase, variant: String = "", always: Bool = false) {
        self.layer = layer
        self.phrase = phrase
        self.variant = variant
        self.always = always
    }

    init(_ layer: Layer, _ kind: PhraseKind, _ args: PhraseArg..., variant: String = "", always: Bool = false) {
        self.init(layer, Phrase(kind, arguments: args), variant: variant, always: always)
    }

    /// Events of one kind are told in full once, then summarised ("… 12 frames queued").
    var kind: String { variant.isEmpty ? phrase.kind.rawValue : phrase.kind.rawValue + "-" + variant }
}

/// Prints the story: headings, narration lines with the virtual time, each
/// step's outcome, and per-step summaries of what repeated.
final class Narrator {
    let verbosity: Verbosity
    let language: DemoLanguage
    let color: Bool
    let output: (String) -> Void
    /// Called before each step heading but the first (for `--step`).
    let pause: (() -> Void)?
    /// Narration wider than this is wrapped, continuing under its text; nil: one line per event.
    let width: Int?
    /// Told each step heading's title before it is printed (the HTML page's steps).
    var onHeading: ((String) -> Void)?
    /// While muted, events are only counted (in `mutedCount`).
    var muted = false
    private(set) var mutedCount = 0
    private var headings = 0
    private var toldKinds: Set<String> = []
    /// Repeats not told since the last summary: upper-layer ones by noun, the rest in a total.
    private var repeats: [(noun: String, count: Int)] = []
    private var lowerRepeats = 0
    private var explainedLower = false
    /// The story runs over IPv6 (`--ipv6`): the lower layers are IPv6 and NDP, not IP and ARP.
    var ipv6 = false

    init(verbosity: Verbosity, language: DemoLanguage = .english, color: Bool, width: Int?, pause: (() -> Void)?,
         output: @escaping (String) -> Void) {
        self.verbosity = verbosity
        self.language = language
        self.color = color
        self.width = width.map { max($0, 40) }
        self.pause = pause
        self.output = output
    }

    /// Prints `text` after `prefix` (whose visible width is `indent`), wrapped
    /// at spaces to `width` with later lines indented by `indent`.
    private func emit(_ prefix: String, indent: Int, _ text: String) {
        guard let width, indent + displayWidth(text) > width else { return output(prefix + text) }
        let lines = wrapWords(text, width: max(20, width - indent))
        for (index, line) in lines.enumerated() {
            output((index == 0 ? prefix : String(repeating: " ", count: indent)) + line)
        }
    }

    /// Whether event lines are printed at all.
    var tellsEvents: Bool { verbosity != .quiet }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// `phrase` in the run's language.
    func say(_ phrase: Phrase) -> String { phrase.text(language) }

    /// `kind` with `args`, in the run's language.
    func say(_ kind: PhraseKind, _ args: PhraseArg...) -> String { Phrase(kind, arguments: args).text(language) }

    /// A step heading with a short explanation (left out when quiet), in the run's language.
    func heading(_ title: Phrase, _ explanation: Phrase? = nil) {
        heading(say(title), explanation.map(say) ?? "")
    }

    /// A step heading with a short explanation (left out when quiet).
    func heading(_ title: String, _ explanation: String = "") {
        flushRepeats()
        if headings > 0, let pause {
            output(paint("   " + say(.pressEnter), "2"))
            pause()
        }
        headings += 1
        onHeading?(title)
        // Quiet runs leave out the blank line, so that they fit one screen.
        if tellsEvents { output("") }
        output(paint("== \(title)", "1"))
        if !explanation.isEmpty, tellsEvents {
            for line in explanation.split(separator: "\n", omittingEmptySubsequences: false) { emit("", indent: 0, String(line)) }
        }
    }

    /// Plain text (tables, counters), one output call per line; always printed.
    func text(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { output(String(line)) }
    }

    /// Text for the normal and verbose modes only.
    func detail(_ text: String) {
        guard tellsEvents else { return }
        self.text(text)
    }

    /// What a step achieved, in the run's language; always printed.
    func outcome(_ kind: PhraseKind, _ args: PhraseArg...) { outcome(Phrase(kind, arguments: args).text(language)) }

    /// A call into the socket library, in the run's language, told at `time`.
    func call(_ kind: PhraseKind, _ args: PhraseArg..., node: String, time: String) {
        guard tellsEvents else { return }
        call(Phrase(kind, arguments: args).text(language), node: node, time: time)
    }

    /// What a step achieved, marked so it stands out; always printed.
    func outcome(_ text: String) {
        flushRepeats()
        guard color else { return emit("   ⇒ ", indent: 5, text) }
        // Painted line by line, so a wrapped outcome stays bold throughout.
        guard let width, displayWidth(text) + 5 > width else { return output(paint("   ⇒ " + text, "1")) }
        for (index, line) in wrapWords(text, width: max(20, width - 5)).enumerated() {
            output(paint((index == 0 ? "   ⇒ " : "     ") + line, "1"))
        }
    }

    /// A line about what the application does (a call into the socket library), told at `time`.
    func call(_ text: String, node: String, time: String) {
        guard tellsEvents else { return }
        flushRepeats()
        line(.app, node: node, time: time, text: text)
    }

    /// Tells `narration`, which happened at `time` on `node`.
    func tell(_ narration: Narration, node: String, time: String) {
        if muted { mutedCount += 1; return }
        switch verbosity {
        case .quiet:
            return
        case .verbose:
            let first = toldKinds.insert(narration.kind).inserted
            let phrase = narration.phrase
            line(narration.layer, node: node, time: time,
                 text: first || narration.always ? phrase.text(language) : phrase.brief(language))
        case .normal:
            if toldKinds.insert(narration.kind).inserted || narration.always {
                // A summary of the transport's repeats goes before the new line; the
                // lower layers' alone waits, so it does not split every step into pieces.
                if !repeats.isEmpty { flushRepeats() }
                line(narration.layer, node: node, time: time, text: narration.phrase.text(language))
            } else if !narration.layer.isUpper {
                lowerRepeats += 1
            } else if let index = repeats.firstIndex(where: { $0.noun == narration.phrase.noun(language) }) {
                repeats[index].count += 1
            } else {
                repeats.append((narration.phrase.noun(language), 1))
            }
        }
    }

    private func line(_ layer: Layer, node: String, time: String, text: String) {
        let tag = padded(layer.rawValue, 6), who = padded(node, 7)
        emit("\(time)  \(paint(tag, layer.color)) \(who) ", indent: displayWidth(time) + 2 + 6 + 1 + displayWidth(who) + 1, text)
    }

    /// Prints "…and 68 more data segments, 35 ACKs" for what was not told in
    /// full since the last summary, with the lower layers' events in one total.
    func flushRepeats() {
        guard !repeats.isEmpty || lowerRepeats > 0 else { return }
        let upper = repeats.enumerated().map { index, entry in
            say(.repeatEntry, "\(entry.count)", flag(index == 0), .plain(entry.noun))
        }.joined(separator: ", ")
        // Which layers "frame-level" means is said the first time only.
        let lower = lowerRepeats == 0 ? ""
            : say(.lowerRepeats, "\(lowerRepeats)", flag(repeats.isEmpty), flag(!explainedLower), flag(ipv6))
        if lowerRepeats > 0 { explainedLower = true }
        let text = say(.repeatsSummary, .plain(upper), .plain(lower))
        repeats = []
        lowerRepeats = 0
        guard color else { return emit("           ", indent: 11, text) }
        guard let width, displayWidth(text) + 11 > width else { return output(paint("           \(text)", "2")) }
        for line in wrapWords(text, width: max(20, width - 11)) { output(paint("           " + line, "2")) }
    }
}

/// `noun` (a plural, "data segments") as it reads after `count`: singular for 1
/// ("data segment"), by the first word that ends in s and is not an acronym.
func counted(_ noun: String, _ count: Int) -> String {
    guard count == 1 else { return noun }
    var words = noun.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    for index in words.indices {
        let word = words[index]
        guard word.count > 2, word.hasSuffix("s"), word != word.uppercased(),
              !word.hasSuffix("ous") else { continue }
        if word.hasSuffix("ies") {
            words[index] = String(word.dropLast(3)) + "y"
        } else if word.hasSuffix("sses") {
            words[index] = String(word.dropLast(2))
        } else {
            words[index] = String(word.dropLast())
        }
        break
    }
    return words.joined(separator: " ")
}
