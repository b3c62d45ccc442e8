// `netstack bench`: how fast the per-byte work of the stack runs on this
// machine — the Internet checksum every IPv4 packet pays (RFC 1071) and the
// CRC-32 every frame on a simulated wire pays (IEEE 802.3 FCS). A quick look;
// the package-benchmark suite under Benchmarks/ is the careful measurement.

import ArgumentParser
import NetStackWire

/// `netstack bench checksum|crc32 [--seconds S]`.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure checksum and CRC-32 throughput (use `swift run -c release netstack bench …`).",
        discussion: """
            Times one function over a 1500-byte buffer (a full Ethernet payload) and a \
            64 KiB buffer, each for --seconds, and prints GB/s (10^9 bytes per second) \
            and the time per 1500-byte frame. Debug builds are many times slower: build \
            with -c release for numbers worth comparing.
            """,
        subcommands: [BenchTCP.self, BenchRR.self, BenchLossy.self, BenchConnections.self, BenchTunnel.self, BenchChecksum.self, BenchCRC32.self]
    )
}

/// Options shared by the bench subcommands.
struct BenchOptions: ParsableArguments {
    @Option(help: "Seconds to spend timing each buffer size.")
    var seconds: Double = 1

    func validate() throws {
        guard seconds > 0, seconds <= 3600 else {
            throw ValidationError("--seconds must be in (0, 3600]")
        }
    }
}

/// `netstack bench checksum`: the RFC 1071 Internet checksum.
struct BenchChecksum: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checksum",
        abstract: "Time the Internet checksum (RFC 1071) over 1500 B and 64 KiB."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        ThroughputTimer.report("Internet checksum (RFC 1071)", seconds: options.seconds) {
            UInt32(InternetChecksum.checksum($0))
        }
    }
}

/// `netstack bench crc32`: the IEEE 802.3 CRC-32 (Ethernet FCS).
struct BenchCRC32: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crc32",
        abstract: "Time the Ethernet CRC-32 (IEEE 802.3 FCS) over 1500 B and 64 KiB."
    )

    @OptionGroup var options: BenchOptions

    func run() {
        ThroughputTimer.report("CRC-32 (IEEE 802.3)", seconds: options.seconds) {
            CRC32.checksum($0)
        }
    }
}

/// Times a function over buffers with the monotonic clock.
enum ThroughputTimer {
    /// Buffer sizes measured: a full Ethernet payload and a 64 KiB send.
    static let sizes = [1500, 65536]

    /// Measures `work` over each buffer size for `seconds` and prints one line per size.
    static func report(_ title: String, seconds: Double, _ work: (UnsafeRawBufferPointer) -> UInt32) {
        #if DEBUG
        print("note: debug build; for meaningful numbers use `swift run -c release netstack bench …`")
        #endif
        print(title)
        for size in sizes {
            let (bytesPerSecond, runs) = measure(size: size, seconds: seconds, work)
            let label = size % 1024 == 0 ? "\(size / 1024) KiB" : "\(size) B"
            let nsPerFrame = 1500 / bytesPerSecond * 1e9
            print("  \(pad(label, 8)) \(pad(fixed(bytesPerSecond / 1e9, 2), 7)) GB/s"
                + "  \(pad(fixed(nsPerFrame, 1), 8)) ns per 1500-byte frame  (\(runs) runs)")
        }
    }

    /// Bytes per second of `work` over a `size`-byte buffer, and how many runs were timed.
    static func measure(
        size: Int, seconds: Double, _ work: (UnsafeRawBufferPointer) -> UInt32
    ) -> (bytesPerSecond: Double, runs: Int) {
        var buffer = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 251 &+ 17) }
        var sink: UInt32 = 0
        return buffer.withUnsafeMutableBytes { raw in
            // A byte near the end changes before each run, so the optimiser cannot hoist the work
            // out of the loop; near the end, so the store has retired before the work reads it.
            func runs(_ count: Int, from first: Int) {
                for i in first..<(first + count) {
                    raw[size - 1 - (i & 7)] &+= 1
                    sink ^= work(UnsafeRawBufferPointer(raw))
                }
            }
            let clock = ContinuousClock()
            // Warm caches and tables, and find a batch that takes about a millisecond.
            var batch = 1
            while clock.measure({ runs(batch, from: 0) }) < .milliseconds(1), batch < 1 << 30 { batch *= 2 }
            let budget = Duration.nanoseconds(Int64(seconds * 1e9))
            var total = 0
            let start = clock.now
            var elapsed = Duration.zero
            while elapsed < budget {
                runs(batch, from: total)
                total += batch
                elapsed = clock.now - start
            }
            Sink.value ^= sink
            return (Double(total) * Double(size) / inSeconds(elapsed), total)
        }
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// Where results go so the optimiser must compute them; never read.
private enum Sink {
    nonisolated(unsafe) static var value: UInt32 = 0
}
