import ArgumentParser
import NetStackSimulator
import CAllocationCounter
#if canImport(Glibc)
import Glibc
#endif

/// `netstack bench rr`: request/response round trips between two stacks in one process.
struct BenchRR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rr",
        abstract: "TCP request/response round trips between two NetStack stacks in one process (run with `swift run -c release`).",
        discussion: """
            netperf's TCP_RR in memory: a client sends --size bytes over one TCP connection, the server \
            reads them and answers with as many, --count times. Reports microseconds per round trip (wall \
            and CPU) and heap allocations per round trip. Beside it, from the same run, the Linux kernel \
            doing the same over loopback in one thread (write, read, write, read on a connected pair of \
            TCP sockets with TCP_NODELAY): the kernel's stack and four system calls per round trip.
            """
    )

    @Option(help: "Bytes in each request and each response.")
    var size: Int = 1

    @Option(help: "Round trips per run.")
    var count: Int = 200_000

    @Option(help: "Runs; the median is reported.")
    var runs: Int = 3

    func validate() throws {
        guard (1...65_536).contains(size) else { throw ValidationError("--size must be between 1 and 65536") }
        guard (1...100_000_000).contains(count) else { throw ValidationError("--count must be between 1 and 100000000") }
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be between 1 and 50") }
    }

    func run() throws {
        var netstack: [(wall: Double, cpu: Double, allocations: UInt64)] = []
        var kernel: [Double] = []
        for _ in 0..<runs {
            let bench = try TCPRoundTripBenchmark(size: size)
            bench.run(1_000)  // warm-up: buffers and caches
            let cpuBefore = cpuSeconds(), allocationsBefore = netstack_allocation_count()
            let clock = ContinuousClock(), start = clock.now
            let done = bench.run(count)
            let wall = inSeconds(clock.now - start)
            guard done == count else { throw ValidationError("only \(done) of \(count) round trips completed") }
            netstack.append((wall, cpuSeconds() - cpuBefore, netstack_allocation_count() - allocationsBefore))
            if let seconds = KernelLoopbackRR.measure(size: size, count: count) { kernel.append(seconds) }
        }
        netstack.sort { $0.wall < $1.wall }
        kernel.sort()
        let median = netstack[netstack.count / 2]
        let perTrip = median.wall * 1e6 / Double(count)
        print("netstack bench rr: \(size)-byte request and response, \(count) round trips, median of \(runs)")
        print("  netstack     \(fixed(perTrip, 3)) µs per round trip (\(fixed(Double(count) / median.wall, 0)) per second), "
            + "CPU \(fixed(median.cpu * 1e6 / Double(count), 3)) µs")
        print("  heap         \(median.allocations) allocations, \(fixed(Double(median.allocations) / Double(count), 4)) per round trip")
        if kernel.isEmpty {
            print("  kernel       loopback TCP unavailable here")
        } else {
            let kernelPerTrip = kernel[kernel.count / 2] * 1e6 / Double(count)
            print("  kernel       \(fixed(kernelPerTrip, 3)) µs per round trip over loopback, one thread, same run "
                + "(netstack/kernel \(fixed(perTrip / kernelPerTrip, 2)))")
        }
    }
}

/// The kernel's TCP doing the same round trips over 127.0.0.1 in one thread.
enum KernelLoopbackRR {
    /// Seconds for `count` round trips of `size` bytes; nil if loopback TCP fails.
    static func measure(size: Int, count: Int) -> Double? {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { return nil }
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(listener, generic, length) == 0 && listen(listener, 1) == 0
                    && getsockname(listener, generic, &length) == 0
            }
        }
        guard bound else { return nil }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard client >= 0 else { return nil }
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        guard connected else { return nil }
        let server = accept(listener, nil, nil)
        guard server >= 0 else { return nil }
        defer { close(server) }
        var on: Int32 = 1
        for fd in [client, server] {
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        var buffer = [UInt8](repeating: 1, count: size)
        /// Moves exactly `size` bytes; false on an error.
        func transfer(_ fd: Int32, writing: Bool) -> Bool {
            var done = 0
            while done < size {
                let n = buffer.withUnsafeMutableBytes { bytes in
                    writing ? write(fd, bytes.baseAddress! + done, size - done) : read(fd, bytes.baseAddress! + done, size - done)
                }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        let clock = ContinuousClock(), start = clock.now
        for _ in 0..<count {
            guard transfer(client, writing: true), transfer(server, writing: false),
                  transfer(server, writing: true), transfer(client, writing: false) else { return nil }
        }
        return inSeconds(clock.now - start)
    }
}
