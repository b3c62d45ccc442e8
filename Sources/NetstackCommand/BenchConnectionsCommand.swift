import ArgumentParser
import NetStackCore
import NetStackWire
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
            --cycles full connect/handshake/accept/close/close cycles.
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
            print("  TIME_WAIT        \(bench.client.statisticsCount("connections in TIME_WAIT")) client connections; "
                + "heap \(fixed(timeWait / Double(max(1, count)), 0)) B per connection left")
        }
        // Setup + teardown rate.
        do {
            let bench = ConnectionPair(connections: cycles)
            let batch = 1000
            var done = 0
            let clock = ContinuousClock(), start = clock.now
            let cpuBefore = cpuSeconds()
            while done < cycles {
                let n = min(batch, cycles - done)
                let (clients, servers) = try bench.open(n)
                try bench.close(clients: clients, servers: servers)
                done += n
                bench.idle(for: .seconds(1))
            }
            let seconds = inSeconds(clock.now - start), cpu = cpuSeconds() - cpuBefore
            print("  setup+teardown   \(cycles) connections in \(fixed(seconds, 2)) s: "
                + "\(fixed(Double(cycles) / seconds, 0)) connections/s (\(fixed(cpu * 1e6 / Double(cycles), 1)) µs CPU each, "
                + "in batches of \(batch))")
        }
    }
}

/// A client and a server host back to back, servers listening on ports 5001…,
/// one per 25,000 connections (so the client's ephemeral ports suffice).
final class ConnectionPair {
    let client: Host
    let server: Host
    private var listeners: [Int32] = []
    private var now = Instant.zero
    private static let serverAddress = IPv4Address(192, 0, 2, 2)
    private var opened = 0

    init(connections: Int) {
        func makeHost(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.randomSeed = UInt64(last)
            config.tcp.maxConnections = 1 << 20
            config.tcp.maxTimeWait = 1 << 20
            let host = Host(config)
            var adapter = AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last), mtu: 1500, fcs: false)
            adapter.receiveRing = 4096  // a batch of 1000 handshakes arrives at once
            adapter.transmitQueue = 4096
            host.addInterface(adapter)
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            return host
        }
        client = makeHost("client", 1)
        server = makeHost("server", 2)
        client.addStaticARP(Self.serverAddress, mac: MACAddress(2, 0, 0, 0, 0, 2), interface: InterfaceID(0))
        server.addStaticARP(IPv4Address(192, 0, 2, 1), mac: MACAddress(2, 0, 0, 0, 0, 1), interface: InterfaceID(0))
        for i in 0..<max(1, (connections + 24_999) / 25_000) {
            let fd = server.socket(.stream)
            try? server.bind(fd, to: Endpoint(.any, UInt16(5001 + i)))
            try? server.listen(fd, backlog: 4096)
            listeners.append(fd)
        }
        pump()
    }

    /// Polls both hosts and carries frames until nothing moves; the virtual clock moves 100 µs.
    func pump() {
        now = now + .microseconds(100)
        for _ in 0..<1000 {
            client.poll(now: now)
            server.poll(now: now)
            var moved = 0
            while client.takeFrame(from: InterfaceID(0), { server.receive($0, on: InterfaceID(0), now: now) }) != nil { moved += 1 }
            while server.takeFrame(from: InterfaceID(0), { client.receive($0, on: InterfaceID(0), now: now) }) != nil { moved += 1 }
            if moved == 0 { return }
        }
    }

    /// Opens `n` connections in batches of 1000 (connect, handshake, accept). Returns both ends' descriptors.
    func open(_ n: Int) throws -> (clients: [Int32], servers: [Int32]) {
        var clients: [Int32] = [], servers: [Int32] = []
        clients.reserveCapacity(n)
        servers.reserveCapacity(n)
        while clients.count < n {
            let batch = min(1000, n - clients.count)
            for _ in 0..<batch {
                let port = UInt16(5001 + opened / 25_000 % listeners.count)
                opened += 1
                let fd = client.socket(.stream)
                try client.connect(fd, to: Endpoint(Self.serverAddress, port), now: now)
                clients.append(fd)
            }
            pump()
            for listener in listeners {
                while let (fd, _) = try? server.accept(listener) { servers.append(fd) }
            }
        }
        guard servers.count == n else { throw BenchError.handshakesIncomplete(servers.count, n) }
        return (clients, servers)
    }

    /// Closes the client ends, then the server ends, in batches.
    func close(clients: [Int32], servers: [Int32]) throws {
        for start in stride(from: 0, to: clients.count, by: 1000) {
            for fd in clients[start..<min(start + 1000, clients.count)] { try client.close(fd, now: now) }
            pump()
            for fd in servers[start..<min(start + 1000, servers.count)] { try server.close(fd, now: now) }
            pump()
        }
    }

    /// Lets virtual time pass, running every timer due.
    func idle(for duration: Duration) {
        let end = now + duration
        var rounds = 0
        while rounds < 10_000, let next = [client.nextDeadline(), server.nextDeadline()].compactMap({ $0 }).min(), next <= end {
            now = max(now, next)
            pump()
            rounds += 1
        }
        now = end
        pump()
    }
}

enum BenchError: Error, CustomStringConvertible {
    case handshakesIncomplete(Int, Int)
    var description: String {
        switch self {
        case let .handshakesIncomplete(done, wanted): "only \(done) of \(wanted) handshakes completed"
        }
    }
}

extension Host {
    /// The count on the `netstat -s` line ending in `what`, or 0.
    func statisticsCount(_ what: String) -> Int {
        for line in statisticsReport().split(separator: "\n") where line.hasSuffix(what) {
            if let number = line.split(separator: " ").first.flatMap({ Int($0) }) { return number }
        }
        return 0
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
