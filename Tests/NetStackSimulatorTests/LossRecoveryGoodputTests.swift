import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator

/// The link of the issue's "light" row, in the simulator: 100 Mbit/s, 10 ms each
/// way (20 ms RTT), 1% random loss, no reordering.
let onePercentLossLink = LinkConfig(bitsPerSecond: 100_000_000, propagationDelay: .milliseconds(10), loss: 0.01)

@Suite("Loss recovery: goodput over a lossy link")
struct LossRecoveryGoodputTests {
    /// Runs `transfer` in 5 ms steps until both directions are done; returns the virtual seconds taken.
    private func elapsed(_ transfer: DuplexTransfer, limit: Duration) -> Double {
        let start = transfer.simulator.now
        let end = start + limit
        while !(transfer.eof[0] && transfer.eof[1]) && transfer.simulator.now < end {
            transfer.simulator.run(for: .milliseconds(5))
        }
        return Double((transfer.simulator.now - start).nanoseconds) / 1e9
    }

    @Test("4 MiB each way at 1% loss, 20 ms RTT: every byte arrives, and the goodput is reported",
          arguments: [11, 12, 13] as [UInt64])
    func onePercentLoss(seed: UInt64) throws {
        let transfer = try DuplexTransfer(seed: seed, bytes: 4 << 20, cable: onePercentLossLink)
        let seconds = elapsed(transfer, limit: .seconds(300))
        for side in 0...1 {
            #expect(transfer.received[1 - side] == transfer.bytes)
            let (sent, received) = transfer.digests(from: side)
            #expect(sent == received)
        }
        #expect(transfer.errors.isEmpty)
        let goodput = Double(transfer.bytes) / seconds / 1e6
        print("goodput seed \(seed): \(String(format: "%.2f", goodput)) MB/s per direction (\(String(format: "%.2f", seconds)) s)")
    }
}
