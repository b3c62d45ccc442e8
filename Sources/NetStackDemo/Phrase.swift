/// One thing the demo says, in no language yet: the kind of line and its
/// parameters. The story decides what happened once; ``text(_:)`` words it in
/// the run's language from that language's table (`Wording+English.swift`,
/// `Wording+Korean.swift`). Costs one small array per phrase.
struct Phrase {
    var kind: PhraseKind
    var args: [PhraseArg]

    init(_ kind: PhraseKind, _ args: PhraseArg...) {
        self.kind = kind
        self.args = args
    }

    init(_ kind: PhraseKind, arguments: [PhraseArg]) {
        self.kind = kind
        self.args = arguments
    }

    /// The phrase's full text in `language` (the parameters worded first).
    func text(_ language: DemoLanguage) -> String {
        Wording.of(kind, in: language).full(resolved(language))
    }

    /// The phrase's one-line form in `language` (the full text when it has none).
    func brief(_ language: DemoLanguage) -> String {
        let wording = Wording.of(kind, in: language)
        return (wording.brief ?? wording.full)(resolved(language))
    }

    /// What repeats of this kind are called in a summary ("data segments").
    func noun(_ language: DemoLanguage) -> String { Wording.of(kind, in: language).noun }

    private func resolved(_ language: DemoLanguage) -> Args {
        Args(args.map { argument in
            switch argument {
            case let .plain(text): text
            case let .phrase(phrase): phrase.text(language)
            }
        })
    }
}

/// A parameter of a phrase: text the same in every language (a number, an
/// address, a name) or another phrase, worded in the run's language.
enum PhraseArg: ExpressibleByStringInterpolation {
    case plain(String)
    case phrase(Phrase)

    init(stringLiteral value: String) { self = .plain(value) }
    init(stringInterpolation: DefaultStringInterpolation) { self = .plain(String(stringInterpolation: stringInterpolation)) }
}

/// A phrase's parameters as a language's wording reads them; a missing one reads "?".
struct Args: Sendable {
    private let values: [String]

    init(_ values: [String]) { self.values = values }

    subscript(_ index: Int) -> String { index < values.count ? values[index] : "?" }

    /// Whether parameter `index` is the flag "1" (how the story passes a yes/no).
    func flag(_ index: Int) -> Bool { self[index] == "1" }

    /// Whether parameter `index` is empty (an optional part left out).
    func isEmpty(_ index: Int) -> Bool { index >= values.count || values[index].isEmpty }
}

/// How one language words one kind of phrase: the full text, an optional
/// one-line form, and the plural noun a summary counts repeats with.
struct Wording: Sendable {
    var noun: String
    var full: @Sendable (Args) -> String
    var brief: (@Sendable (Args) -> String)?

    init(_ noun: String = "", _ full: @escaping @Sendable (Args) -> String,
         brief: (@Sendable (Args) -> String)? = nil) {
        self.noun = noun
        self.full = full
        self.brief = brief
    }

    /// A wording with no one-line form and no noun (a heading, an outcome, a part of a phrase).
    init(_ full: @escaping @Sendable (Args) -> String) {
        self.init("", full)
    }

    /// The wording of `kind` in `language`; a kind a language lacks (which the
    /// tests forbid) reads as its name in brackets rather than stopping the run.
    static func of(_ kind: PhraseKind, in language: DemoLanguage) -> Wording {
        lookup(kind, in: language) ?? Wording { _ in "[\(kind)]" }
    }

    /// The wording of `kind` in `language`, nil when that language's table has none.
    static func lookup(_ kind: PhraseKind, in language: DemoLanguage) -> Wording? {
        switch language {
        case .english: english(kind)
        case .korean: korean(kind)
        }
    }
}

/// "1" or "" — a yes/no as a phrase parameter (read with ``Args/flag(_:)``).
func flag(_ value: Bool) -> PhraseArg { .plain(value ? "1" : "") }
