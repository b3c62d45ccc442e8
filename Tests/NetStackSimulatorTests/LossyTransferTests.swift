import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackTestSupport

/// The impaired cable of the issue: 10% loss, reordering, duplication and bit errors.
let hostileCable = LinkConfig(bitsPerSecond: 1_000_000_000, propagationDelay: .milliseconds(1),
                              jitter: .microseconds(200), loss: 0.10, duplicate: 0.02, reorder: 0.05,
                              reorderDelay: .milliseconds(2), bitErrorRate: 1e-6, fcs: true)

@Suite("TCP through a hostile link")
struct LossyTransferTests {
    @Test("2 MiB each way over one connection arrive byte-identical despite loss, reordering, duplication and bit errors",
          arguments: [1, 2, 3] as [UInt64])
    func duplexSmall(seed: UInt64) throws {
        let transfer = try DuplexTransfer(seed: seed, bytes: 2 << 20, cable: hostileCable)
        transfer.run(limit: .seconds(600))
        for side in 0...1 {
            #expect(transfer.received[1 - side] == transfer.bytes, "side \(side) → \(1 - side)")
            let (sent, received) = transfer.digests(from: side)
            #expect(sent == received)
        }
        #expect(transfer.errors.isEmpty)
        #expect(transfer.cable.counters(.aToB).lost > 0 && transfer.cable.counters(.aToB).corrupted > 0)
    }
}

#if DEBUG
let isReleaseBuild = false
#else
let isReleaseBuild = true
#endif

/// The full-size run: 100 MiB each way, 20 seeds. Minutes in a release
/// build, hours in a debug one, so `scripts/test.sh` runs it with `-c release`.
@Suite("TCP soak: 100 MiB through a hostile link", .enabled(if: isReleaseBuild, "release builds only (scripts/test.sh runs them)"))
struct SoakTests {
    @Test("100 MiB each way, both directions at once, byte-identical by SHA-256", arguments: Array(1...20) as [UInt64])
    func duplex100MiB(seed: UInt64) throws {
        let transfer = try DuplexTransfer(seed: seed &* 7919, bytes: 100 << 20, cable: hostileCable)
        transfer.run(limit: .seconds(3600))
        for side in 0...1 {
            #expect(transfer.received[1 - side] == 100 << 20)
            let (sent, received) = transfer.digests(from: side)
            #expect(sent == received)
        }
        #expect(transfer.errors.isEmpty)
    }
}
