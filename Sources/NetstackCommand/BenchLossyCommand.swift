import ArgumentParser
import NetStackCore
import NetStackRuntime
import NetStackSimulator
#if canImport(Glibc)
import Glibc
#endif

/// `netstack bench lossy`: goodput of one bulk transfer per controller across a
/// simulated lossy, delayed, reordering 100 Mbit/s bottleneck, in virtual time.
struct BenchLossy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lossy",
        abstract: "Goodput per congestion controller on a simulated lossy 100 Mbit/s path (deterministic, virtual time).",
        discussion: """
            Two stacks joined by one simulated 100 Mbit/s link, MTU 1500, each direction with half the RTT of \
            propagation delay, a drop-tail queue of one bandwidth-delay product (at least 64 KiB), and the row's \
            random loss and reordering in both directions (a reordered frame is held back 3 ms, so about 25 \
            full-size frames overtake it). One connection per row sends --bytes; the receiver checks every \
            byte. Goodput is bytes read per second of virtual time from connect() to the last byte, so the \
            table depends only on the code and --seed, not on the machine. Beside it: the link's capacity and \
            the Mathis bound MSS/RTT·√(3/2)/√p (— for no loss), and the segments sent over the fewest the data \
            needs. A row marked * did not finish within --time-limit: its goodput is that of what arrived. \
            Socket buffers are --buffer (default 4M), set before the handshake; --buffer auto leaves them to \
            auto-tuning (256 KiB growing to 4 MiB send, 6 MiB receive).
            """
    )

    @Option(help: "Bytes per transfer (suffixes K, M, G).")
    var bytes: String = "16M"

    @Option(help: "Seed of the losses, the reordering and the hosts.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp(
        "Controllers to measure, repeatable or a comma list: \(CongestionAlgorithm.commandLineNames) (default all).",
        valueName: "NAME"))
    var congestion: [String] = []

    @Option(help: ArgumentHelp("Loss rates, a comma list of fractions or percentages (default 0,0.1%,1%,5%).", valueName: "LIST"))
    var loss: String?

    @Option(help: ArgumentHelp("Round-trip times in milliseconds, a comma list (default 2,20,100).", valueName: "LIST"))
    var rtt: String?

    @Option(help: ArgumentHelp("Reordered shares, a comma list of fractions or percentages (default 0,25%).", valueName: "LIST"))
    var reorder: String?

    @Option(name: .customLong("time-limit"), help: ArgumentHelp(
        "Virtual seconds a transfer may take before it stops and reports what arrived.", valueName: "S"))
    var timeLimit: Int = 600

    @Option(help: ArgumentHelp("SO_SNDBUF and SO_RCVBUF of both sockets (suffixes K, M), or auto for auto-tuning.",
                               valueName: "SIZE"))
    var buffer: String = "4M"

    func validate() throws {
        guard let total = parseByteSize(bytes), (1 << 10...1 << 32).contains(total) else {
            throw ValidationError("--bytes: expected a size from 1K to 4G, like 16M, got '\(bytes)'")
        }
        _ = try CongestionAlgorithm.parse(commandLineList: congestion)
        _ = try grid()
        guard (1...86_400).contains(timeLimit) else { throw ValidationError("--time-limit must be 1 to 86400 seconds") }
        guard buffer == "auto" || parseByteSize(buffer).map({ (4 << 10...1 << 30).contains($0) }) == true else {
            throw ValidationError("--buffer: expected auto or a size from 4K to 1G, like 4M, got '\(buffer)'")
        }
    }

    func run() throws {
        guard let total = parseByteSize(bytes) else { return }
        var benchmark = LossyBenchmark(bytes: total, seed: seed)
        benchmark.timeLimit = .seconds(timeLimit)
        benchmark.bufferSize = buffer == "auto" ? nil : parseByteSize(buffer)
        let scenarios = try grid()
        #if DEBUG
        print("note: debug build; the table is the same, only slower (use `swift run -c release netstack bench lossy`)")
        #endif
        print("netstack bench lossy: \(total) bytes per transfer, \(benchmark.linkRate / 1_000_000) Mbit/s bottleneck, "
            + "MTU \(benchmark.mtu), seed \(seed), virtual time")
        let header = ["controller", "rtt", "reorder", "loss", "goodput", "capacity", "Mathis bound", "sent/min"]
        let widths = [10, 7, 7, 6, 13, 10, 13, 8]
        print(row(header, widths))
        let clock = ContinuousClock(), start = clock.now
        var unfinished = 0, corrupted = 0
        for scenario in scenarios {
            let result = try benchmark.run(scenario)
            if !result.completed { unfinished += 1 }
            if !result.intact { corrupted += 1 }
            let mark = result.intact ? (result.completed ? "" : "*") : " CORRUPTED"
            print(row([
                scenario.congestion.commandLineName, "\(scenario.rtt.nanoseconds / 1_000_000) ms",
                scenario.reorder == 0 ? "none" : percent(scenario.reorder), percent(scenario.loss),
                megabits(result.goodput) + mark, megabits(result.capacity),
                result.mathisBound.map(megabits) ?? "—",
                fixed(Double(result.senderSegments) / Double(max(1, result.minimumSegments)), 2),
            ], widths))
            fflush(nil)  // each row as it is measured
        }
        print("goodput, capacity and bound in Mbit/s; the most goodput 1500-byte frames allow is "
            + megabits(Double(benchmark.linkRate) * Double(benchmark.payloadPerSegment) / Double(benchmark.frameBytes)))
        if unfinished > 0 { print("* did not finish in \(timeLimit) s of virtual time: goodput of the bytes that arrived") }
        print("wall time \(fixed(inSeconds(clock.now - start), 1)) s")
        if corrupted > 0 { throw CommandFailure("\(corrupted) transfer(s) delivered bytes that differ from those sent") }
    }

    /// The scenarios the options select, controller outermost.
    private func grid() throws -> [LossyScenario] {
        LossyBenchmark.grid(
            congestion: try CongestionAlgorithm.parse(commandLineList: congestion),
            losses: try loss.map { try probabilities($0, option: "--loss") } ?? LossyBenchmark.losses,
            rtts: try rtt.map(milliseconds) ?? LossyBenchmark.rtts,
            reorders: try reorder.map { try probabilities($0, option: "--reorder") } ?? LossyBenchmark.reorders)
    }

    /// "0,0.1%,0.05": probabilities in 0..<1, given as fractions or as percentages.
    private func probabilities(_ list: String, option: String) throws -> [Double] {
        try list.split(separator: ",", omittingEmptySubsequences: false).map { item in
            let isPercent = item.hasSuffix("%")
            guard let value = Double(isPercent ? item.dropLast() : item), value.isFinite else {
                throw ValidationError("bad \(option) '\(list)': a comma list like 0,0.1%,1%")
            }
            let p = isPercent ? value / 100 : value
            guard (0..<1).contains(p) else { throw ValidationError("bad \(option) '\(list)': each value in 0 to 99.9%") }
            return p
        }
    }

    /// "2,20,100": round-trip times in whole milliseconds, 1 to 10000.
    private func milliseconds(_ list: String) throws -> [Duration] {
        try list.split(separator: ",", omittingEmptySubsequences: false).map { item in
            guard let ms = Int(item.hasSuffix("ms") ? item.dropLast(2) : item), (1...10_000).contains(ms) else {
                throw ValidationError("bad --rtt '\(list)': a comma list of milliseconds from 1 to 10000, like 2,20,100")
            }
            return .milliseconds(ms)
        }
    }

    private func row(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).enumerated().map { index, pair in
            let (text, width) = pair
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return index < 4 ? text + padding : padding + text
        }.joined(separator: "  ")
    }

    private func megabits(_ bitsPerSecond: Double) -> String { fixed(bitsPerSecond / 1e6, 1) }

    /// "0%", "0.1%", "25%".
    private func percent(_ p: Double) -> String {
        let value = p * 100
        return (value == value.rounded() ? String(Int(value)) : fixed(value, value * 10 == (value * 10).rounded() ? 1 : 2)) + "%"
    }
}
