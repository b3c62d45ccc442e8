// Corked output (Host.withOutputCorked): a driver runs each application turn corked, so that
// the writes of one turn leave together — full segments, and with segmentation offload one
// super-segment instead of a full one plus a short tail per write.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("Corked output")
struct OutputCorkTests {
    /// A connected pair (A's client to B's port 80, no offload), A's socket with TCP_NODELAY so that
    /// nothing but corking can hold a small write back.
    static func connected() throws -> (pair: OffloadPair, client: Int32, server: Int32) {
        let pair = OffloadPair(aOffload: false, bOffload: false)
        let listener = pair.b.socket(.stream)
        try pair.b.bind(listener, to: Endpoint(.any, 80))
        try pair.b.listen(listener, backlog: 4)
        let client = pair.a.socket(.stream)
        try pair.a.setOption(client, .noDelay(true))
        try pair.a.connect(client, to: Endpoint(pair.bAddress, 80), now: pair.now)
        for _ in 0..<20 { pair.step() }
        let (server, _) = try pair.b.accept(listener)
        pair.sentByA.removeAll()
        pair.receivedByB.removeAll()
        return (pair, client, server)
    }

    static func dataLengths(_ packets: [[UInt8]]) -> [Int] {
        packets.map { SegmentSummary($0).length }.filter { $0 > 0 }
    }

    @Test("three writes in one corked scope leave as one segment; uncorked, as three")
    func smallWritesCoalesce() throws {
        let bytes = [UInt8](repeating: 0x61, count: 100)
        let (corked, client, _) = try Self.connected()
        var leftEarly = true
        try corked.a.withOutputCorked { () throws in
            for _ in 0..<3 { _ = try bytes.withUnsafeBytes { raw in try corked.a.send(client, raw, now: corked.now) } }
            // Nothing left A while the scope was open.
            leftEarly = corked.a.takeFrame(from: InterfaceID(0), { Array($0) }) != nil
        }
        #expect(!leftEarly)
        corked.step()
        #expect(Self.dataLengths(corked.receivedByB) == [300])

        let (plain, plainClient, _) = try Self.connected()
        for _ in 0..<3 { _ = try bytes.withUnsafeBytes { raw in try plain.a.send(plainClient, raw, now: plain.now) } }
        plain.step()
        #expect(Self.dataLengths(plain.receivedByB) == [100, 100, 100])
    }

    @Test("a close inside the scope sends the data and the FIN; the peer reads all and then end of stream")
    func closeInsideScope() throws {
        let (pair, client, server) = try Self.connected()
        let bytes = [UInt8](repeating: 0x62, count: 1000)
        try pair.a.withOutputCorked { () throws in
            _ = try bytes.withUnsafeBytes { raw in try pair.a.send(client, raw, now: pair.now) }
            try pair.a.close(client, now: pair.now)
        }
        for _ in 0..<5 { pair.step() }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let first = try buffer.withUnsafeMutableBytes { raw in try pair.b.recv(server, into: raw, now: pair.now) }
        #expect(first == 1000)
        let end = try buffer.withUnsafeMutableBytes { raw in try pair.b.recv(server, into: raw, now: pair.now) }
        #expect(end == 0)
    }

    @Test("an abort inside the scope after a write resets the connection and sends no data")
    func abortInsideScope() throws {
        let (pair, client, server) = try Self.connected()
        try pair.a.setOption(client, .linger(.zero))
        let bytes = [UInt8](repeating: 0x63, count: 500)
        try pair.a.withOutputCorked { () throws in
            _ = try bytes.withUnsafeBytes { raw in try pair.a.send(client, raw, now: pair.now) }
            try pair.a.close(client, now: pair.now)  // SO_LINGER 0: RST, the buffer dropped
        }
        for _ in 0..<3 { pair.step() }
        #expect(pair.receivedByB.contains { SegmentSummary($0).flags & TCPFlags.rst.rawValue != 0 })
        #expect(Self.dataLengths(pair.receivedByB).isEmpty)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(throws: NetError.self) {
            _ = try buffer.withUnsafeMutableBytes { raw in try pair.b.recv(server, into: raw, now: pair.now) }
        }
    }

    @Test("with TSO6, an application-limited sender's writes corked per round leave in far fewer super-segments, the stream intact")
    func corkedWritesFillSuperSegments() throws {
        // A 128 KiB send buffer the network empties every round: the application's writes, not ACKs,
        // start each round's sending. Uncorked, every 10,000-byte write leaves as its own short
        // super-segment (7 segments of 1,428 bytes); corked, a round's writes fill super-segments of
        // 45 segments (64,260 bytes, the most a 64 KiB IPv6 packet holds).
        let data = pattern(4 << 20)
        let plain = OffloadPair(aOffload: true, bOffload: false, ipv6: true)
        #expect(try plain.transfer(data, chunk: 10_000, sendBuffer: 128 << 10) == data)
        let corked = OffloadPair(aOffload: true, bOffload: false, ipv6: true)
        #expect(try corked.transfer(data, chunk: 10_000, corked: true, sendBuffer: 128 << 10) == data)

        func packets(_ pair: OffloadPair) -> [Int] {
            pair.sentByA.map { SegmentSummary($0.packet).length }.filter { $0 > 0 }
        }
        let plainCount = packets(plain).count, corkedCount = packets(corked).count
        #expect(corkedCount * 3 < plainCount, "data packets: corked \(corkedCount), uncorked \(plainCount)")
        // Most bytes leave in super-segments of at least 44 segments (uncorked: 7).
        let inLarge = packets(corked).filter { $0 >= 44 * 1428 }.reduce(0, +)
        #expect(inLarge * 10 > data.count * 7, "bytes in super-segments of 44 or more segments: \(inLarge)")
        #expect(corked.b.statistics.tcpInErrors == 0)
        // Corking packs segments; it never adds any (uncorked, a write's small tail may leave on
        // its own, once per round trip, as Nagle in Minshall's form allows).
        // …and corked, nearly every segment is full: at most 1 % more than the fewest the data needs.
        let fewest = (data.count + 1427) / 1428
        #expect(corked.a.statistics.tcpOutSegments <= plain.a.statistics.tcpOutSegments)
        #expect(corked.a.statistics.tcpOutSegments <= fewest + fewest / 100, "corked: \(corked.a.statistics.tcpOutSegments), fewest: \(fewest)")
    }

    @Test("ACKs processed in a corked poll release new data when the scope ends, not one burst per ACK")
    func acksInCorkedPoll() throws {
        let (pair, client, server) = try Self.connected()
        let bytes = [UInt8](repeating: 0x64, count: 200_000)
        _ = try bytes.withUnsafeBytes { raw in try pair.a.send(client, raw, now: pair.now) }  // more than cwnd
        var toB: [[UInt8]] = []
        while let packet = pair.a.takeFrame(from: InterfaceID(0), { Array($0) }) { toB.append(packet) }
        #expect(toB.count >= 10, "the initial window: \(toB.count) segments")
        for packet in toB { pair.b.receive(packet, on: InterfaceID(0), now: pair.now) }
        pair.b.poll(now: pair.now)
        var acks: [[UInt8]] = []
        while let packet = pair.b.takeFrame(from: InterfaceID(0), { Array($0) }) { acks.append(packet) }
        #expect(acks.count >= 5, "B's ACKs: \(acks.count)")

        var sentInside = 0
        pair.a.withOutputCorked {
            for ack in acks { pair.a.receive(ack, on: InterfaceID(0), now: pair.now) }
            pair.a.poll(now: pair.now)
            while pair.a.takeFrame(from: InterfaceID(0), { _ in () }) != nil { sentInside += 1 }
        }
        #expect(sentInside == 0, "nothing leaves while corked")
        var after: [[UInt8]] = []
        while let packet = pair.a.takeFrame(from: InterfaceID(0), { Array($0) }) { after.append(packet) }
        // Slow start: what the ACKs released — at least the acknowledged window again — leaves at the end.
        #expect(after.count >= toB.count, "after the scope: \(after.count)")
        #expect(after.allSatisfy { SegmentSummary($0).length > 0 })
        _ = server
    }

    @Test("an ACK owed at once is not corked: a receiver's poll inside the scope sends it")
    func owedAckIsNotCorked() throws {
        let (pair, client, _) = try Self.connected()
        let bytes = [UInt8](repeating: 0x65, count: 4 * 1448)
        _ = try bytes.withUnsafeBytes { raw in try pair.a.send(client, raw, now: pair.now) }
        var toB: [[UInt8]] = []
        while let packet = pair.a.takeFrame(from: InterfaceID(0), { Array($0) }) { toB.append(packet) }
        var ackedInside = 0
        pair.b.withOutputCorked {
            for packet in toB { pair.b.receive(packet, on: InterfaceID(0), now: pair.now) }
            pair.b.poll(now: pair.now)
            while pair.b.takeFrame(from: InterfaceID(0), { _ in () }) != nil { ackedInside += 1 }
        }
        // RFC 5681 §4.2: at least one ACK for every second full-sized segment, corked or not.
        #expect(ackedInside >= 1)
    }

    @Test("with offload, a window-limited sender with a big flight sends whole super-segments only; the rest waits for the next ACK")
    func shortSuperSegmentWaitsForTheNextAck() throws {
        let pair = OffloadPair(aOffload: true, bOffload: true, pacing: false)
        let listener = pair.b.socket(.stream)
        try pair.b.setOption(listener, .receiveBuffer(8 << 20))
        try pair.b.bind(listener, to: Endpoint(.any, 80))
        try pair.b.listen(listener, backlog: 4)
        let client = pair.a.socket(.stream)
        try pair.a.setOption(client, .sendBuffer(4 << 20))
        try pair.a.connect(client, to: Endpoint(pair.bAddress, 80), now: pair.now)
        for _ in 0..<20 { pair.step() }
        let (server, _) = try pair.b.accept(listener)
        let data = pattern(48 << 20)
        var sent = 0, received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        func write() {
            while sent < data.count {
                let n = data[sent...].withUnsafeBytes { (try? pair.a.send(client, $0, now: pair.now)) ?? 0 }
                if n == 0 { break }
                sent += n
            }
        }
        func read() {
            while true {
                let count = buffer.withUnsafeMutableBytes { (try? pair.b.recv(server, into: $0, now: pair.now)) ?? 0 }
                if count <= 0 { break }
                received += buffer[0..<count]
            }
        }
        let full = 45 * 1448  // the most a 64 KiB IPv4 packet holds
        func cwnd() -> Int { pair.a.tcpConnectionInfo().first { $0.state == .established }?.cwnd ?? 0 }
        // Lockstep rounds until the window holds more than three super-segments.
        for _ in 0..<400 where cwnd() < 3 * full + 2 * 1448 {
            write()
            pair.step()
            read()
        }
        #expect(cwnd() >= 3 * full + 2 * 1448, "cwnd \(cwnd())")
        // Then ACK by ACK, as they trickle in on a real link: B takes A's super-segments whole and ACKs
        // each; A gets one ACK at a time, and what it sends at each is recorded.
        var acks: [[UInt8]] = []
        var lengths: [Int] = []
        for _ in 0..<3000 where received.count < data.count {
            if acks.isEmpty {
                while let packet = pair.b.takeFrame(from: InterfaceID(0), { Array($0) }) { acks.append(packet) }
            }
            if !acks.isEmpty { pair.a.receive(acks.removeFirst(), on: InterfaceID(0), now: pair.now) }
            pair.now = pair.now + .microseconds(50)
            pair.a.poll(now: pair.now)
            write()
            while let (packet, size) = pair.a.takeFrameSegments(from: InterfaceID(0), { (Array($0), $1) }) {
                let length = SegmentSummary(packet).length
                if length > 0 && sent < data.count { lengths.append(length) }  // the stream's end may be short
                packet.withUnsafeBytes { _ = pair.b.receive($0, on: InterfaceID(0), now: pair.now, checksumTrusted: size > 0) }
            }
            pair.b.poll(now: pair.now)
            read()
            pair.b.poll(now: pair.now)
        }
        // Uncapped, the window's growth and the ACKs of earlier short ones left a short super-segment at
        // nearly every ACK (1,706 of 1,917 when this was written); capped, they wait until they make a full one.
        let short = lengths.filter { $0 != full }
        #expect(lengths.count > 100)
        #expect(short.count * 20 < lengths.count, "short super-segments: \(short.count) of \(lengths.count): \(short.map { $0 / 1448 })")
        #expect(received.count == data.count)
        #expect(received == data)
    }

    @Test("with TSO6, a streaming sender whose writes do not end on super-segment boundaries sends whole super-segments; each tail waits for the flight's ACK")
    func streamingTailsWaitForTheFlightsAck() throws {
        // The HTTP server's pattern: 64 KiB writes into a 256 KiB send buffer, corked per turn, and a
        // peer that ACKs each super-segment at once. 65,536 is 45 IPv6 segments of 1,428 and 1,276
        // bytes: without the wait, each round's last super-segment was a short one (1 to 4 segments).
        let data = pattern(16 << 20)
        let pair = OffloadPair(aOffload: true, bOffload: true, ipv6: true, pacing: false)
        pair.stepInterval = .microseconds(100)  // a round trip of a few hundred µs, as over TAP
        #expect(try pair.transfer(data, chunk: 65_536, corked: true) == data)
        let lengths = pair.sentByA.map { SegmentSummary($0.packet).length }.filter { $0 > 0 }.dropLast()
        // The second half: past slow start and the window's growth, which leave short ones of their own.
        let steady = lengths.suffix(lengths.count / 2)
        let short = steady.filter { $0 != 45 * 1428 }
        #expect(steady.count > 100)
        // Before the wait: 70 of 184, tails of 9 and 11 segments after each round's full ones.
        #expect(short.count * 50 < steady.count, "short super-segments: \(short.count) of \(steady.count): \(short.map { $0 / 1428 })")
    }

    @Test("with TSO6 on a path with a round trip over a millisecond, a streaming sender's tails leave with their burst")
    func streamingTailsLeaveOnALongPath() throws {
        let data = pattern(8 << 20)
        let pair = OffloadPair(aOffload: true, bOffload: true, ipv6: true, pacing: false)
        pair.stepInterval = .milliseconds(2)
        #expect(try pair.transfer(data, chunk: 65_536, corked: true) == data)
        let lengths = pair.sentByA.map { SegmentSummary($0.packet).length }.filter { $0 > 0 }.dropLast()
        let steady = lengths.suffix(lengths.count / 2)
        // Waiting would cost a round trip per response: the tails go at once.
        #expect(steady.filter { $0 != 45 * 1428 }.count * 10 > steady.count)
    }

    @Test("with TSO6, a response that fills less than half the send buffer leaves at once, its tail included")
    func smallResponseIsNotHeld() throws {
        let pair = OffloadPair(aOffload: true, bOffload: true, ipv6: true, pacing: false)
        let listener = pair.b.socket(.stream)
        try pair.b.bind(listener, to: Endpoint(IPv6Address.unspecified, 80))
        try pair.b.listen(listener, backlog: 4)
        let client = pair.a.socket(.stream)
        try pair.a.setOption(client, .noDelay(true))  // so that Nagle does not hold the last partial segment
        try pair.a.connect(client, to: Endpoint(pair.bAddress, 80), now: pair.now)
        for _ in 0..<20 { pair.step() }
        let server = try pair.b.accept(listener).0
        // Grow the window past the response with a few round trips of bulk data first, read by B.
        let warm = pattern(1 << 20)
        var sent = 0, read = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<400 where read < warm.count {
            sent += warm[sent...].withUnsafeBytes { (try? pair.a.send(client, $0, now: pair.now)) ?? 0 }
            pair.step()
            read += buffer.withUnsafeMutableBytes { (try? pair.b.recv(server, into: $0, now: pair.now)) ?? 0 }
        }
        #expect(read == warm.count)
        for _ in 0..<20 { pair.step() }
        pair.sentByA.removeAll()
        // 75,000 bytes (the window takes about 59 segments): one 45-segment super-segment and an
        // 8-segment tail, with nothing in flight.
        let response = pattern(75_000)
        let taken = pair.a.withOutputCorked {
            response.withUnsafeBytes { (try? pair.a.send(client, $0, now: pair.now)) ?? 0 }
        }
        #expect(taken == response.count)
        var lengths: [Int] = []
        while let (packet, _) = pair.a.takeFrameSegments(from: InterfaceID(0), { (Array($0), $1) }) {
            lengths.append(SegmentSummary(packet).length)
        }
        #expect(lengths.filter { $0 > 0 } == [64_260, 10_740], "sent before any ACK: \(lengths)")
    }
}
