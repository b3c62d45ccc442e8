// The `netstack bench rr` workload: a client and a server in one process trading
// requests and responses over one TCP connection, each side's data carrying the
// ACK of what it last received.

import NetStackCore
import NetStackSimulator
import Testing

@Suite("netstack bench rr workload")
struct TCPRoundTripBenchmarkTests {
    @Test("a round trip of one-segment messages is two segments: each side's data carries its ACK", arguments: [1, 1448])
    func twoSegmentsPerRoundTrip(size: Int) throws {
        let bench = try TCPRoundTripBenchmark(size: size)
        let framesBefore = bench.framesMoved
        let segmentsBefore = bench.client.statistics.tcpOutSegments + bench.server.statistics.tcpOutSegments
        #expect(bench.run(1_000) == 1_000)
        let segments = bench.client.statistics.tcpOutSegments + bench.server.statistics.tcpOutSegments - segmentsBefore
        // A delayed-ACK timer may fire now and then; one pure ACK per hundred round trips at most.
        #expect(segments >= 2_000 && segments <= 2_010, "\(segments) segments for 1000 round trips of \(size) bytes")
        #expect(bench.framesMoved - framesBefore == segments)
        #expect(bench.client.tcpConnectionInfo().map(\.retransmissions).reduce(0, +) == 0)
    }

    @Test("messages of several segments arrive whole, round trip after round trip")
    func multiSegmentMessages() throws {
        let bench = try TCPRoundTripBenchmark(size: 4_000)
        #expect(bench.run(500) == 500)
        #expect(bench.client.tcpConnectionInfo().map(\.retransmissions).reduce(0, +) == 0)
    }
}
