import Testing
import NetStackCore
import NetStackSimulator

/// Small transfers: the debug build moves about 2 MiB of simulated TCP per second.
@Suite("netstack bench lossy: the engine")
struct LossyBenchmarkTests {
    private static let lossy = LossyScenario(congestion: .newReno, loss: 0.05, rtt: .milliseconds(2), reorder: 0)

    @Test("the same seed gives the same result, another seed another")
    func seeded() throws {
        let one = try LossyBenchmark(bytes: 256 << 10, seed: 7).run(Self.lossy)
        let again = try LossyBenchmark(bytes: 256 << 10, seed: 7).run(Self.lossy)
        let other = try LossyBenchmark(bytes: 256 << 10, seed: 8).run(Self.lossy)
        #expect(one == again)
        #expect(one.randomLosses > 0)
        #expect(one.elapsed != other.elapsed || one.senderSegments != other.senderSegments || one.randomLosses != other.randomLosses)
        for result in [one, other] { #expect(result.completed && result.intact) }
    }

    @Test("goodput never exceeds the link's capacity, nor the share of it that is payload",
          arguments: [(0.0, 2), (0.0, 20), (0.01, 2), (0.0, 100)] as [(Double, Int)])
    func goodputBelowCapacity(loss: Double, rttMilliseconds: Int) throws {
        let scenario = LossyScenario(congestion: .cubic, loss: loss, rtt: .milliseconds(rttMilliseconds), reorder: 0)
        let result = try LossyBenchmark(bytes: 512 << 10, seed: 3).run(scenario)
        #expect(result.completed && result.intact)
        #expect(result.goodput > 0)
        #expect(result.goodput <= result.maximumGoodput)
        #expect(result.maximumGoodput < result.capacity && result.capacity == 100e6)
        // The payload can cross no faster than its frames: 1448 of every 1514 bytes at 100 Mbit/s.
        #expect(result.elapsed >= .nanoseconds(Int64(Double(result.bytes) * 1514 / 1448 * 8 / 100e6 * 1e9)))
    }

    @Test("without loss on the 2 ms path a transfer reaches most of the capacity")
    func cleanShortPathFillsTheLink() throws {
        let scenario = LossyScenario(congestion: .cubic, loss: 0, rtt: .milliseconds(2), reorder: 0)
        let result = try LossyBenchmark(bytes: 4 << 20, seed: 1).run(scenario)
        #expect(result.completed && result.intact)
        #expect(result.goodput >= 0.6 * result.maximumGoodput, "goodput \(result.goodput)")
    }

    @Test("an unfinished transfer stops at the time limit and reports what arrived")
    func timeLimit() throws {
        var benchmark = LossyBenchmark(bytes: 64 << 20, seed: 1)
        benchmark.timeLimit = .milliseconds(200)
        let result = try benchmark.run(LossyScenario(congestion: .cubic, loss: 0, rtt: .milliseconds(20), reorder: 0))
        #expect(!result.completed && result.intact)
        #expect(result.elapsed == .milliseconds(200))
        #expect(result.delivered > 0 && result.goodput == Double(result.delivered) * 8 / 0.2)
    }

    @Test("the default grid is the issue's: every controller × loss 0, 0.1%, 1%, 5% × RTT 2, 20, 100 ms × reordering none, 25%")
    func grid() {
        let rows = LossyBenchmark.grid()
        #expect(rows.count == CongestionAlgorithm.allCases.count * 4 * 3 * 2)
        #expect(Set(rows).count == rows.count)
        for algorithm in CongestionAlgorithm.allCases {
            for loss in [0, 0.001, 0.01, 0.05] {
                for rtt in [2, 20, 100] {
                    for reorder in [0, 0.25] {
                        #expect(rows.contains(LossyScenario(congestion: algorithm, loss: loss, rtt: .milliseconds(rtt), reorder: reorder)))
                    }
                }
            }
        }
    }

    @Test("the Mathis bound is MSS/RTT·√(3/2)/√p, and there is none without loss")
    func mathis() throws {
        let benchmark = LossyBenchmark()
        // 1448-byte MSS, 100 ms, p = 1%: 11,584 bits / 0.1 s × 1.2247449 / 0.1 = 1,418,744.5 bit/s.
        let bound = try #require(benchmark.mathisBound(loss: 0.01, rtt: .milliseconds(100)))
        #expect(abs(bound - 1_418_744.5) < 1)
        #expect(benchmark.mathisBound(loss: 0, rtt: .milliseconds(100)) == nil)
    }

    @Test("the bottleneck queue is one bandwidth-delay product, at least 64 KiB")
    func queue() {
        let benchmark = LossyBenchmark()
        #expect(benchmark.queueLimit(rtt: .milliseconds(100)) == 1_250_000)
        #expect(benchmark.queueLimit(rtt: .milliseconds(20)) == 250_000)
        #expect(benchmark.queueLimit(rtt: .milliseconds(2)) == 65_536)
        let config = benchmark.linkConfig(for: LossyScenario(congestion: .cubic, loss: 0.01, rtt: .milliseconds(20), reorder: 0.25))
        #expect(config.propagationDelay == .milliseconds(10) && config.loss == 0.01 && config.reorder == 0.25)
        #expect(config.queueLimit == 250_000 && config.bitsPerSecond == 100_000_000)
    }
}
