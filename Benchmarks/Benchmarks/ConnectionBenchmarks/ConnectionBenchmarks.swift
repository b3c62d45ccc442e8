// Many TCP connections between two NetStack hosts in one process (the
// `netstack bench connections` workload, `ConnectionPair` in NetStackSimulator):
// back to back in memory, virtual clock, both ends of every connection counted.
//
// - "Connections setup+teardown": one sample is 1000 full cycles — connect,
//   handshake, accept, close both ends, TIME_WAIT waited out on the virtual
//   clock — and the tables report per connection (scalingFactor .kilo).
// - "Connections 10,000 idle established": one sample opens 10,000 connections
//   on a fresh pair and lets them go idle. The memory metrics are for all
//   10,000, both ends, printed unscaled: `Malloc / free Δ (bytes)` / 10,000 is
//   the heap bytes requested per connection and still held, `Malloc / free Δ`
//   / 10,000 the live allocations per connection. (Scaling factors are powers
//   of 1000, so the library cannot divide by 10,000 itself; and glibc's
//   mallinfo2, which a custom per-connection metric would need, is not visible
//   from Swift.)

import Benchmark
import NetStackSimulator

/// Idle connections held in the memory benchmark.
let idleConnections = 10_000

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "Connections setup+teardown",
        configuration: .init(
            // Not .cpuTotal: getrusage ticks every 10 ms, longer than a sample.
            metrics: [.wallClock, .throughput, .mallocCountTotal],
            timeUnits: .nanoseconds,
            scalingFactor: .kilo,
            maxDuration: .seconds(5),
            maxIterations: 1000
        )
    ) { benchmark in
        let pair = ConnectionPair(connections: benchmark.scaledIterations.count)
        try pair.cycle(1000)  // warm-up: tables and pools at their working size
        benchmark.startMeasurement()
        try pair.cycle(benchmark.scaledIterations.count)
        benchmark.stopMeasurement()
    }

    Benchmark(
        "Connections 10,000 idle established",
        configuration: .init(
            metrics: [.wallClock, .memoryLeakedBytes, .mallocFreeDelta],
            timeUnits: .milliseconds,
            units: [.memoryLeakedBytes: .count, .mallocFreeDelta: .count],  // every digit, to divide by 10,000
            maxDuration: .seconds(5),
            maxIterations: 20
        )
    ) { benchmark in
        let pair = ConnectionPair(connections: idleConnections)
        benchmark.startMeasurement()
        let (clients, servers) = try pair.open(idleConnections)
        pair.idle(for: .seconds(5))  // buffer-release timers and delayed ACKs run out
        benchmark.stopMeasurement()
        try pair.close(clients: clients, servers: servers)
    }
}
