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
            verified, data copied into the send buffer and out of the receive buffer. Reports throughput, \
            segments per second, CPU time per segment and heap allocations per segment (counted by \
            interposing malloc in this executable; Benchmarks/ has the same workload under package-benchmark).
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

    func validate() throws {
        guard parseByteSize(bytes) != nil else { throw ValidationError("--bytes: expected a size like 100M or 1G, got '\(bytes)'") }
        guard (576...65_535).contains(mtu) else { throw ValidationError("--mtu must be between 576 and 65535") }
        _ = try CongestionAlgorithm.parse(commandLine: congestion)
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be between 1 and 50") }
    }

    func run() throws {
        guard let total = parseByteSize(bytes) else { return }
        let algorithm = try CongestionAlgorithm.parse(commandLine: congestion)
        var results: [(seconds: Double, cpu: Double, segments: Int, acks: Int, allocations: UInt64)] = []
        for _ in 0..<runs {
            let bench = try TCPBulkBenchmark(mtu: mtu, congestion: algorithm)
            bench.transfer(1 << 20)  // warm-up: slow start and buffers
            let before = bench.segments, cpuBefore = cpuSeconds()
            let allocationsBefore = netstack_allocation_count()
            let clock = ContinuousClock(), start = clock.now
            bench.transfer(total)
            let elapsed = clock.now - start
            let allocations = netstack_allocation_count() - allocationsBefore
            let cpu = cpuSeconds() - cpuBefore
            let after = bench.segments
            if statistics { printStatistics(bench, run: results.count + 1) }
            results.append((inSeconds(elapsed), cpu, after.sender - before.sender, after.receiver - before.receiver, allocations))
        }
        results.sort { $0.seconds < $1.seconds }
        let median = results[results.count / 2]
        let rate = Double(total) / median.seconds
        let packets = median.segments + median.acks
        print("netstack bench tcp: \(total) bytes, MTU \(mtu), \(algorithm.commandLineName), median of \(runs)")
        print("  throughput   \(fixed(rate * 8 / 1e9, 2)) Gbit/s (\(fixed(rate / 1e6, 0)) MB/s)")
        print("  segments     \(median.segments) data, \(median.acks) ACK; \(fixed(Double(packets) / median.seconds, 0)) segments/s")
        print("  CPU          \(fixed(median.cpu, 3)) s (\(fixed(median.cpu * Double(1 << 30) / Double(total), 3)) s per GiB), "
            + "\(fixed(median.cpu * 1e6 / Double(max(1, packets)), 3)) µs per segment")
        print("  heap         \(median.allocations) allocations during the transfer, "
            + "\(fixed(Double(median.allocations) / Double(max(1, packets)), 4)) per segment")
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
