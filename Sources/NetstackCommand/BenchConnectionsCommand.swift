import ArgumentParser
import NetStackSimulator
import CAllocationCounter
#if canImport(Glibc)
import Glibc
#endif

/// `netstack bench connections`: memory per idle connection and the rate of
/// connection setup and teardown, between two stacks in one process.
struct BenchConnections: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Memory per idle TCP connection and setup+teardown rate, two stacks in one process.",
        discussion: """
            Opens --count connections from a client host to a server host (joined back to back \
            in memory, virtual clock), leaves them established and idle, and reports the heap \
            growth (glibc mallinfo2) and resident-set growth (/proc/self/statm) per connection — \
            both ends, sockets and every table included. Then closes them all (the client first, \
            so its side enters TIME_WAIT), reports the heap per TIME_WAIT connection, and times \
            --cycles full connect/handshake/accept/close/close cycles, each batch of 1000 waiting out \
            TIME_WAIT on the virtual clock (ConnectionPair in NetStackSimulator; Benchmarks/ has the \
            same workload under package-benchmark).
            """
    )

    @Option(help: "Concurrent idle connections to open.")
    var count: Int = 100_000

    @Option(help: "Connections to set up and tear down for the rate.")
    var cycles: Int = 50_000

    func validate() throws {
        guard (1...400_000).contains(count) else { throw ValidationError("--count must be in 1...400000") }
        guard (1...400_000).contains(cycles) else { throw ValidationError("--cycles must be in 1...400000") }
    }

    func run() throws {
        // Idle connections: memory.
        do {
            let bench = ConnectionPair(connections: count)
            let heapBefore = netstack_heap_in_use(), rssBefore = residentBytes()
            let clock = ContinuousClock(), start = clock.now
            let (clients, servers) = try bench.open(count)
            let openSeconds = inSeconds(clock.now - start)
            bench.idle(for: .seconds(5))  // buffer-release timers and delayed ACKs run out
            let heap = Double(netstack_heap_in_use()) - Double(heapBefore)
            let rss = Double(residentBytes()) - Double(rssBefore)
            print("netstack bench connections: \(count) concurrent established idle connections (two hosts, one process)")
            print("  heap growth      \(fixed(heap / 1_048_576, 1)) MiB: \(fixed(heap / Double(count), 0)) B per connection "
                + "(both ends), \(fixed(heap / Double(2 * count), 0)) B per end")
            print("  RSS growth       \(fixed(rss / 1_048_576, 1)) MiB: \(fixed(rss / Double(count), 0)) B per connection (both ends)")
            print("  opened in        \(fixed(openSeconds, 2)) s (\(fixed(Double(count) / openSeconds, 0)) connections/s, setup only)")
            try bench.close(clients: clients, servers: servers)
            let timeWait = Double(netstack_heap_in_use()) - Double(heapBefore)
            print("  TIME_WAIT        \(bench.clientTimeWaitCount) client connections; "
                + "heap \(fixed(timeWait / Double(max(1, count)), 0)) B per connection left")
        }
        // Setup + teardown rate.
        do {
            let bench = ConnectionPair(connections: cycles)
            let clock = ContinuousClock(), start = clock.now
            let cpuBefore = cpuSeconds()
            try bench.cycle(cycles)
            let seconds = inSeconds(clock.now - start), cpu = cpuSeconds() - cpuBefore
            print("  setup+teardown   \(cycles) connections in \(fixed(seconds, 2)) s: "
                + "\(fixed(Double(cycles) / seconds, 0)) connections/s (\(fixed(cpu * 1e6 / Double(cycles), 1)) µs CPU each, "
                + "in batches of 1000)")
        }
    }
}

/// Resident set size of this process, from /proc/self/statm (pages × page size).
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in
        withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) }
    } }) == 2 else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}
