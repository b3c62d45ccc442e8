import ArgumentParser
import NetStackCore
import NetStackRuntime
import NetStackSimulator
import CAllocationCounter
#if canImport(Glibc)
import Glibc
#endif

/// `netstack bench tcp`: bulk TCP between two stacks in one process.
struct BenchTCP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp",
        abstract: "Bulk TCP transfer between two NetStack stacks in one process (run with `swift run -c release`).",
        discussion: """
            Two hosts joined back to back in memory, MTU 1500, every IP and TCP checksum computed and \
            verified, data copied into the send buffer and out of the receive buffer. Each host glues the \
            in-order TCP segments of one delivery into one of up to 64 KiB before TCP sees them, as \
            `serve` does for a batch read from a TAP or TUN device without offload (receive coalescing, \
            software GRO: one ACK per glued segment); --no-receive-coalescing hands TCP every frame \
            (one ACK per two segments). Reports throughput, \
            segments per second, CPU time per segment and heap allocations per segment (counted by \
            interposing malloc in this executable; Benchmarks/ has the same workload under package-benchmark).

            --ipv6 runs the same transfer over IPv6 too (2001:db8::1 to 2001:db8::2, static neighbour \
            entries, DAD off), IPv4 and IPv6 runs alternating in one process, and prints the two medians \
            side by side with their IPv6/IPv4 ratios and each run pair's throughputs. --ipv6-only runs \
            IPv6 alone (for profiling its path).
            """
    )

    @Option(help: "Bytes to transfer (suffixes K, M, G).")
    var bytes: String = "1G"

    @Option(help: "Interface MTU.")
    var mtu: Int = 1500

    @Option(help: ArgumentHelp("Congestion control: \(CongestionAlgorithm.commandLineNames).", valueName: "NAME"))
    var congestion: String = TCPSocketOptions().congestion.commandLineName

    @Option(help: "Runs; the median is reported.")
    var runs: Int = 3

    @Flag(help: "After each run, print the frames the receive rings dropped, the sender's retransmissions and its final cwnd.")
    var statistics = false

    @Flag(help: "Run over IPv6 as well, alternating with IPv4, and print both side by side with IPv6/IPv4 ratios.")
    var ipv6 = false

    @Flag(help: "Run over IPv6 only (the IPv4 report's layout).")
    var ipv6Only = false

    @Flag(inversion: .prefixedNo, help: "Glue each delivery's in-order TCP segments before TCP input (software GRO), as serve does on a TAP or TUN device.")
    var receiveCoalescing = true

    /// One run's measurements.
    struct RunResult {
        var seconds: Double
        var cpu: Double
        var segments: Int
        var acks: Int
        var allocations: UInt64
        var packets: Int { segments + acks }
    }

    func validate() throws {
        guard parseByteSize(bytes) != nil else { throw ValidationError("--bytes: expected a size like 100M or 1G, got '\(bytes)'") }
        guard (576...65_535).contains(mtu) else { throw ValidationError("--mtu must be between 576 and 65535") }
        _ = try CongestionAlgorithm.parse(commandLine: congestion)
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be between 1 and 50") }
        guard !(ipv6 && ipv6Only) else { throw ValidationError("--ipv6 and --ipv6-only exclude each other") }
    }

    func run() throws {
        guard let total = parseByteSize(bytes) else { return }
        let algorithm = try CongestionAlgorithm.parse(commandLine: congestion)
        var results: [RunResult] = [], results6: [RunResult] = []
        for _ in 0..<runs {
            // Alternating, so that a burst of load on the machine falls on both families alike.
            if !ipv6Only { results.append(try measure(total, algorithm, ipv6: false, run: results.count + 1)) }
            if ipv6 || ipv6Only { results6.append(try measure(total, algorithm, ipv6: true, run: results6.count + 1)) }
        }
        if ipv6 {
            printSideBySide(total, algorithm, results, results6)
            return
        }
        let median = Self.median(ipv6Only ? results6 : results)
        let rate = Double(total) / median.seconds
        let packets = median.packets
        print("netstack bench tcp: \(total) bytes, MTU \(mtu), \(algorithm.commandLineName), median of \(runs)"
            + (ipv6Only ? ", IPv6" : "") + (receiveCoalescing ? "" : ", no receive coalescing"))
        print("  throughput   \(fixed(rate * 8 / 1e9, 2)) Gbit/s (\(fixed(rate / 1e6, 0)) MB/s)")
        print("  segments     \(median.segments) data, \(median.acks) ACK; \(fixed(Double(packets) / median.seconds, 0)) segments/s")
        print("  CPU          \(fixed(median.cpu, 3)) s (\(fixed(median.cpu * Double(1 << 30) / Double(total), 3)) s per GiB), "
            + "\(fixed(median.cpu * 1e6 / Double(max(1, packets)), 3)) µs per segment")
        print("  heap         \(median.allocations) allocations during the transfer, "
            + "\(fixed(Double(median.allocations) / Double(max(1, packets)), 4)) per segment")
    }

    /// One transfer of `total` bytes after an 8 MiB warm-up, over IPv4 or IPv6.
    func measure(_ total: Int, _ algorithm: CongestionAlgorithm, ipv6: Bool, run: Int) throws -> RunResult {
        let bench = try TCPBulkBenchmark(mtu: mtu, congestion: algorithm, ipv6: ipv6, coalescing: receiveCoalescing)
        // Warm-up: slow start and the buffers' growth (with one ACK per glued run, slow start's
        // 2·SMSS per ACK takes longer than 1 MiB to fill the send buffer).
        bench.transfer(8 << 20)
        let before = bench.segments, cpuBefore = cpuSeconds()
        let allocationsBefore = netstack_allocation_count()
        let clock = ContinuousClock(), start = clock.now
        bench.transfer(total)
        let elapsed = clock.now - start
        let allocations = netstack_allocation_count() - allocationsBefore
        let cpu = cpuSeconds() - cpuBefore
        let after = bench.segments
        if statistics { printStatistics(bench, run: run) }
        return RunResult(seconds: inSeconds(elapsed), cpu: cpu, segments: after.sender - before.sender,
                         acks: after.receiver - before.receiver, allocations: allocations)
    }

    /// The run with the median wall time.
    static func median(_ results: [RunResult]) -> RunResult {
        results.sorted { $0.seconds < $1.seconds }[results.count / 2]
    }

    /// The `--ipv6` report: both families' medians in columns, the IPv6/IPv4 ratio beside each
    /// row, then every run pair's throughputs (the spread says how noisy the machine was).
    func printSideBySide(_ total: Int, _ algorithm: CongestionAlgorithm, _ results: [RunResult], _ results6: [RunResult]) {
        let v4 = Self.median(results), v6 = Self.median(results6)
        func gbits(_ r: RunResult) -> Double { Double(total) * 8 / 1e9 / r.seconds }
        func perSecond(_ r: RunResult) -> Double { Double(r.packets) / r.seconds }
        func microseconds(_ r: RunResult) -> Double { r.cpu * 1e6 / Double(max(1, r.packets)) }
        func allocations(_ r: RunResult) -> Double { Double(r.allocations) / Double(max(1, r.packets)) }
        func row(_ name: String, _ a: String, _ b: String, _ ratio: String) -> String {
            func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(1, width - text.count)) }
            return "  " + pad(name, 18) + pad(a, 14) + pad(b, 14) + ratio
        }
        func ratio(_ a: Double, _ b: Double) -> String { a > 0 ? fixed(b / a, 3) : "—" }
        print("netstack bench tcp: \(total) bytes, MTU \(mtu), \(algorithm.commandLineName), median of \(runs) per family, "
            + "IPv4 and IPv6 runs alternating" + (receiveCoalescing ? "" : ", no receive coalescing"))
        print(row("", "IPv4", "IPv6", "IPv6/IPv4"))
        print(row("throughput Gbit/s", fixed(gbits(v4), 2), fixed(gbits(v6), 2), ratio(gbits(v4), gbits(v6))))
        print(row("segments/s", fixed(perSecond(v4), 0), fixed(perSecond(v6), 0), ratio(perSecond(v4), perSecond(v6))))
        print(row("data segments", "\(v4.segments)", "\(v6.segments)", ratio(Double(v4.segments), Double(v6.segments))))
        print(row("CPU µs/segment", fixed(microseconds(v4), 3), fixed(microseconds(v6), 3),
                  ratio(microseconds(v4), microseconds(v6))))
        print(row("heap allocations", "\(v4.allocations)", "\(v6.allocations)", ""))
        print(row("  per segment", fixed(allocations(v4), 4), fixed(allocations(v6), 4), ""))
        let pairs = zip(results, results6).map { "\(fixed(gbits($0), 2))/\(fixed(gbits($1), 2))" }
        print("  runs, IPv4/IPv6 Gbit/s: " + pairs.joined(separator: "  "))
    }
}

extension BenchTCP {
    /// One run's loss picture: ring overruns and transmit-queue drops on both hosts
    /// (`ip -s link`'s missed and TX dropped), the
    /// sender's retransmissions, recoveries and final congestion window (`ss -ti`).
    func printStatistics(_ bench: TCPBulkBenchmark, run: Int) {
        let missed = (bench.receiver.adapters[0].counters.rxMissed, bench.sender.adapters[0].counters.rxMissed)
        let queueDrops = (bench.sender.adapters[0].counters.txDropped, bench.receiver.adapters[0].counters.txDropped)
        let loss = bench.sender.tcpLossStatistics
        let info = bench.sender.tcpConnectionInfo().first { $0.state == .established }
        print("  run \(run): ring overruns \(missed.0) data, \(missed.1) ACK; transmit queue drops \(queueDrops.0) data, "
            + "\(queueDrops.1) ACK; retransmissions \(info?.retransmissions ?? 0); "
            + "recoveries \(loss.sackRecoveries), RACK losses \(loss.rackLossesMarked), probes \(loss.lossProbes); "
            + "cwnd \(info?.cwnd ?? 0) B, send queue \(info?.sendQueue ?? 0) B, peer window \(info?.sendWindow ?? 0) B")
        if let info {
            let rtt = info.minRTT.map { "\($0.nanoseconds / 1000) µs" } ?? "none"
            print("    send buffer \(info.sendBufferSize) B; min RTT \(rtt), max delivery rate "
                + "\(fixed(Double(info.maximumDeliveryRate) * 8 / 1e9, 2)) Gbit/s")
        }
    }
}

/// `value` with `decimals` digits after the point (no Foundation needed).
func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = String(scaled / Int(scale))
    guard decimals > 0 else { return whole }
    let fraction = String(scaled % Int(scale))
    return whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
}

/// A duration in seconds, as a `Double`.
func inSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// CPU time of this process (user + system), seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
