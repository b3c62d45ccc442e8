// Bulk TCP between two NetStack stacks in one process (the `netstack bench tcp`
// workload): MTU 1500, checksums computed and verified, data copied in and out.
// Each host's adapter glues a delivery's in-order segments (receive coalescing,
// the default of `TCPBulkBenchmark` and `netstack bench tcp`: one ACK per glued
// run). One iteration moves 1 MiB after a warm-up, so `mallocCountTotal` per
// iteration divided by the segments of 1 MiB (~725 data + ~16 ACK) is the
// heap allocations per segment in steady state — the figure that must be 0.

import Benchmark
import NetStackCore
import NetStackSimulator

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        timeUnits: .microseconds,
        maxDuration: .seconds(5),
        maxIterations: 2000
    )

    for algorithm in CongestionAlgorithm.allCases {
        Benchmark("TCP bulk 1 MiB, MTU 1500, \(algorithm.rawValue)") { benchmark in
            guard let bulk = try? TCPBulkBenchmark(congestion: algorithm) else { return }
            bulk.transfer(8 << 20)  // warm-up: slow start, buffers, timer heap
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                bulk.transfer(1 << 20)
            }
            benchmark.stopMeasurement()
        }
    }
}
