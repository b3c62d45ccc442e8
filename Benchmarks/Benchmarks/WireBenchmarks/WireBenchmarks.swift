// Throughput of the per-byte work every frame pays: the Internet checksum
// (RFC 1071, every IPv4/ICMP/UDP/TCP packet) and the Ethernet CRC-32
// (IEEE 802.3 FCS, every frame on a simulated wire), over a full-size
// Ethernet payload (1500 B) and over 64 KiB (a large TCP send, a GSO-sized buffer).
//
// `throughput` is iterations per second; multiply by the buffer size for bytes
// per second (the README has the arithmetic and recent figures).

import Benchmark
import NetStackWire

/// Deterministic, non-constant bytes: a constant buffer could flatter a branchy loop.
private func filler(_ count: Int) -> [UInt8] {
    var state: UInt32 = 0x1234_5678
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

private let sizes: [(name: String, bytes: Int)] = [("1500 B", 1500), ("64 KiB", 65536)]

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )
    ipv6Benchmarks()

    for (name, count) in sizes {
        let data = filler(count)
        // 64 KiB calls are long enough to time one by one; more, shorter samples
        // keep a busy machine's interruptions out of the median.
        let configuration = Benchmark.Configuration(scalingFactor: count > 4096 ? .one : .kilo)

        Benchmark("InternetChecksum \(name)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations {
                    blackHole(InternetChecksum.checksum(raw))
                }
            }
        }

        Benchmark("CRC32 \(name)", configuration: configuration) { benchmark in
            data.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations {
                    blackHole(CRC32.checksum(raw))
                }
            }
        }
    }
}
