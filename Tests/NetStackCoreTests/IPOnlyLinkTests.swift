import NetStackCore
import NetStackWire
import Testing

/// A point-to-point IP link (what a TUN device carries): frames are bare IPv4
/// packets, with no MAC header, no ARP and no FCS.
@Suite struct IPOnlyLinkTests {
    /// Two hosts joined by an IP-only link, 192.0.2.1 ↔ 192.0.2.2.
    final class Pair {
        let a: Host, b: Host
        var now = Instant.zero
        var carried: [[UInt8]] = []

        init() {
            a = makeIPOnlyHost("a", last: 1, seed: testSeed)
            b = makeIPOnlyHost("b", last: 2, seed: testSeed + 1)
        }

        /// Moves frames both ways until both hosts are quiet, advancing the clock 1 ms a round.
        func run(rounds: Int = 50) {
            for _ in 0..<rounds {
                var moved = false
                for (from, to) in [(a, b), (b, a)] {
                    while let frame = from.takeFrame(from: InterfaceID(0), { Array($0) }) {
                        carried.append(frame)
                        to.receive(frame, on: InterfaceID(0), now: now)
                        moved = true
                    }
                }
                now = now + .milliseconds(1)
                a.poll(now: now)
                b.poll(now: now)
                if !moved && a.takeFrame(from: InterfaceID(0), { _ in }) == nil { break }
            }
        }
    }

    @Test func assigningAnAddressSendsNoGratuitousARP() {
        let pair = Pair()
        pair.run()
        #expect(pair.carried.isEmpty)
    }

    @Test func pingCrossesWithoutARPAndFramesAreBareIPv4Packets() throws {
        let pair = Pair()
        let socket = try pair.a.openPing(identifier: 7)
        try pair.a.ping(socket, to: IPv4Address(192, 0, 2, 2), sequence: 1, payloadLength: 56, now: pair.now)
        pair.run()
        let results = pair.a.takePingResults(socket)
        #expect(results.count == 1)
        guard case let .reply(from, sequence, _, _, _)? = results.first else {
            Issue.record("no echo reply: \(results)")
            return
        }
        #expect(from == IPv4Address(192, 0, 2, 2) && sequence == 1)
        // Exactly the request and the reply crossed, each an 84-byte IPv4 packet starting with version 4.
        #expect(pair.carried.count == 2)
        for frame in pair.carried {
            #expect(frame.count == 84)
            #expect(frame[0] >> 4 == 4)
            #expect(try frame.withUnsafeBytes { try IPv4Header.parse($0) }.totalLength == 84)
        }
        #expect(pair.a.arpTable(now: pair.now).split(separator: "\n").count <= 1)
    }

    @Test func tcpConnectsAndCarriesDataOverAnIPOnlyLink() throws {
        let pair = Pair()
        let listener = pair.b.socket(.stream)
        try pair.b.bind(listener, to: Endpoint(.any, 80))
        try pair.b.listen(listener, backlog: 4)
        let client = pair.a.socket(.stream)
        try pair.a.connect(client, to: Endpoint(IPv4Address(192, 0, 2, 2), 80), now: pair.now)
        pair.run()
        let (server, _) = try pair.b.accept(listener)
        let message = Array("hello over tun".utf8)
        _ = try message.withUnsafeBytes { try pair.a.send(client, $0, now: pair.now) }
        pair.run()
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try pair.b.recv(server, into: $0, now: pair.now) }
        #expect(Array(buffer[0..<count]) == message)
    }

    @Test func shortAndOversizedPacketsAreCountedAsErrors() {
        let pair = Pair()
        #expect(pair.b.receive([UInt8](repeating: 0x45, count: 10), on: InterfaceID(0), now: pair.now) == .runt)
        #expect(pair.b.receive([UInt8](repeating: 0x45, count: 1501), on: InterfaceID(0), now: pair.now) == .oversized)
        #expect(pair.b.adapters[0].counters.rxErrors == 2)
    }
}
