// The cost of RACK's per-ACK loss scan (RFC 8985 §6.2 step 5) in recovery
// with a small MSS: a thousand 100-byte records outstanding, nearly all SACKed.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("RACK: the loss scan's cost")
struct RACKScanTests {
    /// An established SACK connection with `records` 100-byte records sent at time 0.
    private func connection(records: Int) -> TCPConnection {
        let c = TCPConnection(id: 1, local: Endpoint(IPv4Address(192, 0, 2, 1), 40000),
                              remote: Endpoint(IPv4Address(192, 0, 2, 2), 80), options: TCPSocketOptions(),
                              config: TCPConfig(), passive: false, now: .zero)
        c.state = .established
        c.synAcknowledged = true
        c.sackEnabled = true
        c.iss = 1000
        c.sndUna = 1001
        c.sendMSS = 100
        c.rtt.addSample(.milliseconds(100))
        for k in 0..<records {
            let start = c.sndUna + 100 * k
            c.transmissions.append(TransmissionRecord(start: start, end: start + 100, sentNanoseconds: 0))
        }
        c.sndMax = c.sndUna + 100 * records
        c.sndNxt = c.sndMax
        return c
    }

    /// One ACK's SACK blocks, applied as `processAck` does.
    private func sack(_ c: TCPConnection, _ blocks: [(Int, Int)], at now: Instant) {
        var options = TCPSACKBlocks()
        for (left, right) in blocks { options.append(TCPSACKBlock(left: c.sndUna + left, right: c.sndUna + right)) }
        c.beginAck()
        _ = c.applySACK(options, now: now, echo: nil)
    }

    @Test("the scan jumps over SACKed runs: each ACK in recovery looks at the holes, not at every SACKed record")
    func scanSkipsSACKedRuns() {
        let c = connection(records: 1000)
        let now = Instant(nanoseconds: 100_000_000)
        // Records 0 and 500 are lost; the rest arrived.
        sack(c, [(100, 50_000), (50_100, 100_000)], at: now)
        c.rackDetectLoss(now: now)
        #expect(c.transmissions[0].flags.contains(.lost))
        #expect(c.transmissions[500].flags.contains(.lost))
        #expect(c.transmissions.lostBytes == 200)
        // Every further ACK of the recovery scans again.
        let before = c.rackRecordsScanned
        for k in 1...10 { c.rackDetectLoss(now: now + .milliseconds(k)) }
        let perScan = Double(c.rackRecordsScanned - before) / 10
        #expect(perScan <= 8, "\(perScan) records per scan")
    }

    @Test("a hundred one-record SACK islands, past the scoreboard's 32 ranges: every hole between them is found lost")
    func holesBeyondTheScoreboardsRanges() {
        let c = connection(records: 200)
        let now = Instant(nanoseconds: 100_000_000)
        // The odd records arrive, one SACK block each (four per ACK, as the option holds): the even
        // ones are holes, and the scoreboard keeps only the lowest 32 ranges.
        let islands = stride(from: 1, to: 200, by: 2).map { (100 * $0, 100 * $0 + 100) }
        for first in stride(from: 0, to: islands.count, by: 4) {
            sack(c, Array(islands[first..<min(first + 4, islands.count)]), at: now)
        }
        #expect(c.scoreboard.ranges.count == 32)
        c.rackDetectLoss(now: now)
        for k in 0..<200 {
            #expect(c.transmissions[k].flags.contains(k % 2 == 0 ? .lost : .sacked), "record \(k)")
        }
        #expect(c.transmissions.lostBytes == 100 * 100)
    }

    @Test("a resent hole is still found lost again once later-sent data is SACKed")
    func lostRetransmissionFoundPastSACKedRuns() {
        let c = connection(records: 1000)
        var now = Instant(nanoseconds: 100_000_000)
        sack(c, [(100, 50_000), (50_100, 99_900)], at: now)
        c.rackDetectLoss(now: now)
        #expect(c.transmissions.lostBytes == 200)
        // Both holes resent at 100 ms (the last record, sent at 0 after RACK.end_seq, is not yet due).
        c.noteTransmission(start: c.sndUna, end: c.sndUna + 100, now: now)
        c.noteTransmission(start: c.sndUna + 50_000, end: c.sndUna + 50_100, now: now)
        now = now + .milliseconds(150)
        // New data sent at 110 ms is SACKed at 250 ms: RACK.xmit_ts is past both resends, lost too.
        let start = c.sndMax
        c.noteTransmission(start: start, end: start + 100, now: Instant(nanoseconds: 110_000_000))
        c.sndMax = start + 100
        sack(c, [(100, 50_000), (50_100, 100_100)], at: now)
        let lost = c.rackDetectLoss(now: now)
        #expect(lost == 200)
    }
}
