// `--congestion NAME`: one parser for every command that runs TCP, so the
// names and the error for a bad one are the same everywhere.

import ArgumentParser
import NetStackCore

extension CongestionAlgorithm {
    /// The name `--congestion` takes and tables print: "newreno" for NewReno
    /// (whose `TCP_CONGESTION` name, the raw value, is "reno"), the raw value otherwise.
    var commandLineName: String { self == .newReno ? "newreno" : rawValue }

    /// Every name `--congestion` takes, in `allCases` order, for help and errors: "newreno, cubic, …".
    static var commandLineNames: String { allCases.map(\.commandLineName).joined(separator: ", ") }

    /// The controller named `name` (case-insensitive): any ``commandLineName``, or any raw
    /// value (so "reno" stays an alias of "newreno"). Throws a one-line `ValidationError` naming the valid ones.
    static func parse(commandLine name: String) throws -> CongestionAlgorithm {
        let lowered = name.lowercased()
        if let algorithm = allCases.first(where: { $0.commandLineName == lowered }) ?? CongestionAlgorithm(rawValue: lowered) {
            return algorithm
        }
        throw ValidationError("bad --congestion '\(name)': one of \(commandLineNames) (reno is newreno)")
    }

    /// The controllers named by repeated `--congestion` options, each a name or a comma list,
    /// in the order given without repeats; every controller when `values` is empty.
    static func parse(commandLineList values: [String]) throws -> [CongestionAlgorithm] {
        guard !values.isEmpty else { return allCases.map { $0 } }
        var chosen: [CongestionAlgorithm] = []
        for name in values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let algorithm = try parse(commandLine: String(name))
            if !chosen.contains(algorithm) { chosen.append(algorithm) }
        }
        return chosen
    }
}

/// `--congestion NAME` for a command whose stack otherwise keeps its default controller (`serve`, `fetch`).
struct CongestionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "TCP congestion control of every connection: \(CongestionAlgorithm.commandLineNames) "
            + "(default \(TCPSocketOptions().congestion.commandLineName)).",
        valueName: "NAME"))
    var congestion: String?

    func validate() throws {
        if let congestion { _ = try CongestionAlgorithm.parse(commandLine: congestion) }
    }

    /// The controller asked for, or nil to keep the stack's default.
    var algorithm: CongestionAlgorithm? {
        congestion.flatMap { try? CongestionAlgorithm.parse(commandLine: $0) }
    }
}
