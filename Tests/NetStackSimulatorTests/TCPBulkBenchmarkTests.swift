// The `netstack bench tcp` workload: two hosts back to back in one process,
// where every ACK crosses in the round its segment went (min RTT 0). Before
// send-buffer growth was bounded by the measured bandwidth-delay product, CUBIC's
// cwnd and the buffers grew until one round's burst overran the receiver's
// 256-frame ring (64 slots of 64 KiB with receive coalescing): drops, retransmissions and a
// larger working set per segment.

import NetStackCore
import NetStackSimulator
import Testing

@Suite("netstack bench tcp workload")
struct TCPBulkBenchmarkTests {
    @Test("a bulk transfer between two in-process hosts overruns no ring and enters no loss recovery, frame by frame or coalesced",
          arguments: [CongestionAlgorithm.cubic, .bbr], [false, true])
    func noRingOverruns(_ congestion: CongestionAlgorithm, coalescing: Bool) throws {
        let bench = try TCPBulkBenchmark(congestion: congestion, coalescing: coalescing)
        bench.transfer(64 << 20)
        #expect(bench.bytesReceived == 64 << 20)
        #expect(bench.receiver.adapters[0].counters.rxMissed == 0 && bench.sender.adapters[0].counters.rxMissed == 0)
        #expect(bench.sender.adapters[0].counters.txDropped == 0)
        let loss = bench.sender.tcpLossStatistics
        #expect(loss.sackRecoveries == 0 && loss.rackLossesMarked == 0)
        let info = try #require(bench.sender.tcpConnectionInfo().first { $0.state == .established })
        #expect(info.sendBufferSize == 256 << 10, "min RTT 0: a measured BDP of 0 gives no reason to grow")
    }

    @Test("with receive coalescing the receiver ACKs once per glued run, not once per two segments, and every byte arrives intact",
          arguments: [false, true])
    func coalescingACKsPerRun(_ ipv6: Bool) throws {
        let bench = try TCPBulkBenchmark(ipv6: ipv6, verifying: true)
        bench.transfer(8 << 20)
        let segments = bench.segments
        #expect(bench.bytesReceived == 8 << 20 && bench.corruptBytes == 0)
        #expect(segments.receiver * 10 < segments.sender, "\(segments.receiver) ACKs for \(segments.sender) segments")
        #expect(bench.receiver.adapters[0].counters.rxMissed == 0 && bench.sender.adapters[0].counters.rxMissed == 0)
        #expect(bench.sender.tcpLossStatistics.rackLossesMarked == 0)

        let perFrame = try TCPBulkBenchmark(ipv6: ipv6, coalescing: false, verifying: true)
        perFrame.transfer(8 << 20)
        #expect(perFrame.bytesReceived == 8 << 20 && perFrame.corruptBytes == 0)
        #expect(perFrame.segments.receiver * 5 > perFrame.segments.sender * 2, "one ACK per two segments, near enough")
    }

    @Test("the IPv6 bulk transfer carries every byte over IPv6, none over IPv4, overrunning no ring")
    func ipv6Transfer() throws {
        let bench = try TCPBulkBenchmark(ipv6: true)
        bench.transfer(16 << 20)
        #expect(bench.bytesReceived == 16 << 20)
        #expect(bench.sender.statistics.ip6OutRequests > (16 << 20) / 1500)
        #expect(bench.sender.statistics.outRequests == 0 && bench.receiver.statistics.outRequests == 0)
        #expect(bench.receiver.adapters[0].counters.rxMissed == 0)
        #expect(bench.sender.statistics.ip6OutDiscards == 0)
    }
}
