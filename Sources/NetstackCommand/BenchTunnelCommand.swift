import ArgumentParser
import NetStackCore
import NetStackRuntime
import NetStackSimulator
import CAllocationCounter

/// `netstack bench tunnel`: transparent termination between two stacks in one
/// process — throughput of one flow and of many, memory per idle flow, flows per second.
struct BenchTunnel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Intercepted flows through a simulated TUN, two stacks in one process (run with `swift run -c release`).",
        discussion: """
            A client host reaches addresses in 203.0.113.0/24 through an IP-only link (a simulated TUN, \
            packets handed across in memory, virtual clock) to a tunnel host whose interface takes every \
            destination and intercepts every TCP attempt; an in-process application on the tunnel host \
            accepts each flow and is the destination itself (a sink for upload, a source for download), \
            standing in for `netstack tunnel`'s upstream sockets (TunnelBenchmark in NetStackSimulator). \
            Reports: throughput of one flow and of --flows flows at once (median of --runs, with heap \
            allocations per segment, counted by interposing malloc in this executable); memory per idle \
            flow with --idle flows open — heap (glibc mallinfo2) for both hosts, then the tunnel host's \
            share alone, measured after the client host and all its connections are freed; RSS \
            (/proc/self/statm) for both hosts only, since freed heap is not given back to the system; the \
            rate of opening flows (connect, interception, accept, handshake) and of full open+close cycles.
            """
    )

    @Option(help: "Bytes per throughput measurement (suffixes K, M, G): one flow carries them all, --flows flows share them.")
    var bytes: String = "256M"

    @Option(help: "Concurrent flows for the aggregate throughput.")
    var flows: Int = 100

    @Option(help: "Directions measured: upload, download or both.")
    var direction: String = "both"

    @Option(help: "Runs per throughput measurement; the median is reported.")
    var runs: Int = 3

    @Option(help: "Idle flows held open for the memory measurement.")
    var idle: Int = 10_000

    @Option(help: "Flows opened and closed for the open+close rate.")
    var cycles: Int = 20_000

    @Option(help: ArgumentHelp("Congestion control of both hosts: \(CongestionAlgorithm.commandLineNames).", valueName: "NAME"))
    var congestion: String = TCPSocketOptions().congestion.commandLineName

    /// The controller `--congestion` names (valid once `validate()` passed).
    private var algorithm: CongestionAlgorithm { (try? CongestionAlgorithm.parse(commandLine: congestion)) ?? .cubic }

    func validate() throws {
        guard let total = parseByteSize(bytes), (1 << 16...1 << 34).contains(total) else {
            throw ValidationError("--bytes: expected a size from 64K to 16G, like 256M, got '\(bytes)'")
        }
        guard (1...2000).contains(flows) else { throw ValidationError("--flows must be in 1...2000") }
        guard total / flows >= 1024 else { throw ValidationError("--bytes must give each of --flows at least 1 KiB") }
        guard direction == "both" || TunnelDirection(rawValue: direction) != nil else {
            throw ValidationError("--direction must be upload, download or both")
        }
        guard (1...20).contains(runs) else { throw ValidationError("--runs must be in 1...20") }
        guard (1...200_000).contains(idle) else { throw ValidationError("--idle must be in 1...200000") }
        guard (1...200_000).contains(cycles) else { throw ValidationError("--cycles must be in 1...200000") }
        _ = try CongestionAlgorithm.parse(commandLine: congestion)
    }

    func run() throws {
        guard let total = parseByteSize(bytes) else { return }
        let directions = TunnelDirection(rawValue: direction).map { [$0] } ?? TunnelDirection.allCases
        #if DEBUG
        print("note: debug build; for meaningful numbers use `swift run -c release netstack bench tunnel`")
        #endif
        print("netstack bench tunnel: client -> simulated TUN (MTU 1500) -> tunnel host intercepting every destination, "
            + "in-memory destinations, one process, \(algorithm.commandLineName)")
        try idleMemory()  // first, while the process's heap and RSS hold nothing else
        try rates()
        for count in Set([1, flows]).sorted() {
            for way in directions { try throughput(way, flows: count, bytes: total) }
        }
    }

    /// One row: the median of `runs` transfers of `bytes` over `count` fresh flows.
    private func throughput(_ way: TunnelDirection, flows count: Int, bytes: Int) throws {
        var results: [(result: TunnelTransferResult, cpu: Double, allocations: UInt64)] = []
        for _ in 0..<runs {
            let bench = TunnelBenchmark(congestion: algorithm)
            let pairs = try bench.open(count)
            _ = bench.transfer(way, over: pairs, bytesPerFlow: max(1024, min(1 << 20, bytes / count / 4)))  // warm-up
            let cpuBefore = cpuSeconds(), allocationsBefore = netstack_allocation_count()
            let result = bench.transfer(way, over: pairs, bytesPerFlow: bytes / count)
            results.append((result, cpuSeconds() - cpuBefore, netstack_allocation_count() - allocationsBefore))
        }
        results.sort { $0.result.elapsed < $1.result.elapsed }
        let median = results[results.count / 2]
        let seconds = inSeconds(median.result.elapsed), rate = Double(median.result.bytes) / seconds
        let label = "\(count) flow\(count == 1 ? "" : "s"), \(way.rawValue)"
        print("  \(pad(label, 22))  \(fixed(rate * 8 / 1e9, 2)) Gbit/s (\(fixed(rate / 1e6, 0)) MB/s), "
            + "\(fixed(Double(median.result.segments) / seconds, 0)) segments/s, "
            + "\(fixed(median.cpu * 1e6 / Double(max(1, median.result.segments)), 3)) µs CPU and "
            + "\(fixed(Double(median.allocations) / Double(max(1, median.result.segments)), 4)) allocations per segment"
            + (median.result.complete ? "" : "  [INCOMPLETE: \(median.result.bytes) of \(median.result.wanted) bytes]"))
    }

    /// Heap and RSS per idle flow: both hosts, then the tunnel host alone.
    private func idleMemory() throws {
        let bench = TunnelBenchmark(congestion: algorithm)
        let heapBefore = Double(netstack_heap_in_use()), rssBefore = Double(residentBytes())
        let clock = ContinuousClock(), start = clock.now
        _ = try bench.open(idle)
        let openSeconds = inSeconds(clock.now - start)
        bench.idle(for: .seconds(5))  // buffer-release timers and delayed ACKs run out
        let heap = Double(netstack_heap_in_use()) - heapBefore
        let rss = Double(residentBytes()) - rssBefore
        bench.replaceClient()
        let tunnelHeap = Double(netstack_heap_in_use()) - heapBefore
        let n = Double(idle)
        print("  idle flows              \(idle) established, idle: heap \(fixed(heap / 1_048_576, 1)) MiB both hosts "
            + "(\(fixed(heap / n, 0)) B per flow); tunnel host \(fixed(tunnelHeap / n, 0)) B per flow, "
            + "client host \(fixed((heap - tunnelHeap) / n, 0)) B")
        print("  idle RSS                \(fixed(rss / 1_048_576, 1)) MiB both hosts: \(fixed(rss / n, 0)) B per flow")
        print("  opened                  \(idle) flows in \(fixed(openSeconds, 2)) s: \(fixed(n / openSeconds, 0)) flows/s "
            + "(connect, intercept, accept, handshake; batches of 1000)")
    }

    /// Full open+close cycles per second.
    private func rates() throws {
        let bench = TunnelBenchmark(congestion: algorithm)
        let clock = ContinuousClock(), start = clock.now
        let cpuBefore = cpuSeconds()
        try bench.cycle(cycles)
        let seconds = inSeconds(clock.now - start), cpu = cpuSeconds() - cpuBefore
        print("  open+close              \(cycles) flows in \(fixed(seconds, 2)) s: \(fixed(Double(cycles) / seconds, 0)) flows/s "
            + "(\(fixed(cpu * 1e6 / Double(cycles), 1)) µs CPU each; client closes first, TIME_WAIT run out per batch)")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
