import NetStackCore
import NetStackDevices
import NetStackWire
import Testing

@Suite("Link timing")
struct LinkTimingTests {
    @Test("1000 bytes at 10 Mbit/s over 1 ms arrive after exactly 1.8 ms")
    func serializationPlusPropagation() {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1)))
        let arrivals = transmitAll(link, [(.zero, [UInt8](repeating: 0, count: 1000))])
        #expect(arrivals.map(\.0) == [Instant(nanoseconds: 1_800_000)])
    }

    @Test("back-to-back frames queue behind each other at the line rate")
    func backToBackFramesSerialize() {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1)))
        let frame = [UInt8](repeating: 0, count: 1000)
        let arrivals = transmitAll(link, [(.zero, frame), (.zero, frame), (Instant(nanoseconds: 100_000), frame)])
        #expect(arrivals.map(\.0.nanoseconds) == [1_800_000, 2_600_000, 3_400_000])
    }

    @Test("a frame sent after the line went idle starts at once")
    func idleLineStartsImmediately() {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1)))
        let frame = [UInt8](repeating: 0, count: 1000)
        let arrivals = transmitAll(link, [(.zero, frame), (.milliseconds(5), frame)])
        #expect(arrivals.map(\.0.nanoseconds) == [1_800_000, 6_800_000])
    }

    @Test("the two directions of a link are independent")
    func fullDuplex() {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1)))
        let frame = [UInt8](repeating: 0, count: 1000)
        let forward = transmitAll(link, [(.zero, frame)], direction: .aToB)
        let backward = transmitAll(link, [(.zero, frame)], direction: .bToA)
        #expect(forward.map(\.0) == backward.map(\.0))
        #expect(link.counters(.aToB).frames == 1 && link.counters(.bToA).frames == 1)
    }

    @Test("without a line rate only the propagation delay counts")
    func noBandwidthMeansNoSerialization() {
        let link = testLink(LinkConfig(propagationDelay: .microseconds(5)))
        let frame = [UInt8](repeating: 0, count: 1500)
        let arrivals = transmitAll(link, [(.zero, frame), (.zero, frame)])
        #expect(arrivals.map(\.0.nanoseconds) == [5_000, 5_000])
        #expect(transmitAll(testLink(.ideal), [(.milliseconds(3), frame)]).map(\.0) == [.milliseconds(3)])
    }

    @Test("jitter spreads delays uniformly within its bound")
    func jitterBounded() {
        let link = testLink(LinkConfig(propagationDelay: .milliseconds(10), jitter: .milliseconds(2)), seed: 7)
        // Frames 5 ms apart: farther apart than the jitter's span, so none waits for another.
        let sends = (0..<2000).map { (Instant(nanoseconds: Int64($0) * 5_000_000), [UInt8(truncatingIfNeeded: $0)]) }
        let delays = zip(sends, transmitAll(link, sends)).map { ($1.0 - $0.0).nanoseconds }
        #expect(delays.allSatisfy { (8_000_000...12_000_000).contains($0) })
        #expect(delays.filter { $0 < 9_000_000 }.count > 400)
        #expect(delays.filter { $0 > 11_000_000 }.count > 400)
        let mean = Double(delays.reduce(0, +)) / Double(delays.count)
        #expect(abs(mean - 10_000_000) < 100_000)
    }

    @Test("jitter alone never reorders frames")
    func jitterKeepsOrder() {
        let link = testLink(LinkConfig(propagationDelay: .milliseconds(10), jitter: .milliseconds(2)), seed: 7)
        let sends = (0..<2000).map { (Instant(nanoseconds: Int64($0) * 100_000), [UInt8(truncatingIfNeeded: $0)]) }
        let arrivals = transmitAll(link, sends)
        #expect(arrivals.map(\.1) == sends.map(\.1))
        #expect(zip(arrivals, arrivals.dropFirst()).allSatisfy { $0.0 <= $1.0 })
        #expect(zip(sends, arrivals).allSatisfy { $1.0 - $0.0 <= .milliseconds(12) })
    }

    @Test("a full drop-tail queue drops the frames that do not fit, and takes them again once it drains")
    func queueLimitDropsTail() {
        // 1000-byte frames at 10 Mbit/s take 800 µs each. With 2500 bytes of queue, the third
        // frame offered at once finds 2000 bytes waiting and does not fit; 800 µs later the
        // first has left, 1000 bytes wait, and a frame fits again.
        let config = LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1), queueLimit: 2500)
        let link = testLink(config)
        let frame = [UInt8](repeating: 0, count: 1000)
        let sends: [(Instant, [UInt8])] = [(.zero, frame), (.zero, frame), (.zero, frame), (.zero, frame),
                                           (Instant(nanoseconds: 800_000), frame)]
        let arrivals = transmitAll(link, sends)
        #expect(arrivals.map(\.0.nanoseconds) == [1_800_000, 2_600_000, 3_400_000])
        #expect(link.counters(.aToB).queueDropped == 2)
        #expect(link.counters(.aToB).frames == 5 && link.counters(.aToB).lost == 0)
    }

    @Test("without a queue limit every frame waits its turn however deep the queue")
    func noQueueLimitKeepsEverything() {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000))
        let frame = [UInt8](repeating: 0, count: 1000)
        let arrivals = transmitAll(link, Array(repeating: (Instant.zero, frame), count: 100))
        #expect(arrivals.count == 100 && link.counters(.aToB).queueDropped == 0)
        #expect(arrivals.last?.0.nanoseconds == 80_000_000)
    }
}

@Suite("Link impairments")
struct LinkImpairmentTests {
    /// 4000 numbered frames through a link; returns the arrivals.
    func run(_ config: LinkConfig, seed: UInt64, length: Int = 64) -> (Link, [(Instant, [UInt8])]) {
        let link = testLink(config, seed: seed)
        let sends = (0..<4000).map { n in
            (Instant(nanoseconds: Int64(n) * 1_000_000), [UInt8(n >> 8), UInt8(n & 0xFF)] + [UInt8](repeating: 0x5A, count: length - 2))
        }
        return (link, transmitAll(link, sends))
    }

    @Test("loss happens at about the configured rate, the same way for the same seed")
    func lossRate() {
        let (link, arrivals) = run(LinkConfig(loss: 0.1), seed: 42)
        #expect((320...480).contains(link.counters(.aToB).lost))
        #expect(arrivals.count == 4000 - link.counters(.aToB).lost)
        let (_, again) = run(LinkConfig(loss: 0.1), seed: 42)
        #expect(again.map(\.1) == arrivals.map(\.1))
        let (_, other) = run(LinkConfig(loss: 0.1), seed: 43)
        #expect(other.map(\.1) != arrivals.map(\.1))
    }

    @Test("duplication delivers about the configured share of frames twice")
    func duplicationRate() {
        let (link, arrivals) = run(LinkConfig(duplicate: 0.05), seed: 5)
        let duplicated = link.counters(.aToB).duplicated
        #expect((120...280).contains(duplicated))
        #expect(arrivals.count == 4000 + duplicated)
        #expect(run(LinkConfig(duplicate: 0.05), seed: 5).1.map(\.1) == arrivals.map(\.1))
    }

    @Test("reordering holds frames back so later ones overtake them")
    func reorderingRate() {
        let config = LinkConfig(propagationDelay: .milliseconds(1), reorder: 0.05, reorderDelay: .microseconds(2500))
        let (link, arrivals) = run(config, seed: 9)
        let reordered = link.counters(.aToB).reordered
        #expect((120...280).contains(reordered))
        // Deliver in arrival order and count frames that arrive after a higher-numbered one.
        let order = arrivals.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map { Int($0.element.1[0]) << 8 | Int($0.element.1[1]) }
        let overtaken = zip(order, order.dropFirst()).filter { $0 > $1 }.count
        // A held frame is overtaken unless the frames after it were held too (or it was the last).
        #expect(overtaken <= reordered && overtaken >= reordered * 8 / 10)
        #expect(run(config, seed: 9).1.map(\.0) == arrivals.map(\.0))
    }

    @Test("bit errors land at about the configured rate and every one breaks the FCS")
    func bitErrorsBreakFCS() {
        let link = testLink(LinkConfig(bitErrorRate: 1e-4, fcs: true), seed: 3)
        let sends = (0..<3000).map { n in
            (Instant(nanoseconds: Int64(n) * 1_000_000), ethernetFrame(to: mac(2), from: mac(1), length: 996, fill: UInt8(n & 0xFF), fcs: true))
        }
        let arrivals = transmitAll(link, sends)
        let counters = link.counters(.aToB)
        // 8000 bits × 1e-4 = 0.8 flips per frame: about 2400 in all, 55 % of frames hit.
        #expect((2150...2650).contains(counters.bitsFlipped))
        #expect((1500...1800).contains(counters.corrupted))
        var changed = 0
        for ((_, sent), (_, got)) in zip(sends, arrivals) {
            if sent != got { changed += 1 }
            #expect(fcsVerifies(got) == (sent == got))
        }
        #expect(changed == counters.corrupted)
    }

    @Test("corruptFrames flips exactly one bit in exactly the frames named")
    func corruptExactlyFrameN() {
        let link = testLink(LinkConfig(fcs: true, corruptFrames: [3]))
        let sends = (0..<6).map { (Instant.zero, ethernetFrame(to: mac(2), from: mac(1), fill: UInt8($0), fcs: true)) }
        let arrivals = transmitAll(link, sends)
        #expect(arrivals.map { fcsVerifies($0.1) } == [true, true, false, true, true, true])
        let diff = zip(sends[2].1, arrivals[2].1).map { ($0 ^ $1).nonzeroBitCount }.reduce(0, +)
        #expect(diff == 1)
        #expect(link.counters(.aToB).corrupted == 1)
        // Counted per direction: the other direction's third frame is hit too.
        let back = transmitAll(link, sends, direction: .bToA)
        #expect(back.map { fcsVerifies($0.1) } == [true, true, false, true, true, true])
    }

    @Test("dropFrames loses exactly the frames named without shifting the random faults")
    func dropExactlyFrameN() {
        let (_, plain) = run(LinkConfig(loss: 0.2), seed: 11)
        let (link, dropped) = run(LinkConfig(loss: 0.2, dropFrames: [1, 2, 3, 4, 5]), seed: 11)
        let expected = plain.filter { (Int($0.1[0]) << 8 | Int($0.1[1])) >= 5 }
        #expect(dropped.map(\.1) == expected.map(\.1))
        #expect(link.counters(.aToB).lost == 4000 - expected.count)
    }

    @Test("an observer hears of every impairment")
    func observerSeesImpairments() {
        let link = testLink(LinkConfig(loss: 0.1, duplicate: 0.1, reorder: 0.1, reorderDelay: .milliseconds(1), bitErrorRate: 1e-3))
        var events: [DeviceEvent] = []
        link.observer = { events.append($0) }
        _ = transmitAll(link, (0..<500).map { _ in (Instant.zero, [UInt8](repeating: 0, count: 100)) })
        let c = link.counters(.aToB)
        func count(_ match: (DeviceEvent) -> Bool) -> Int { events.filter(match).count }
        #expect(count { if case .linkLost = $0 { true } else { false } } == c.lost)
        #expect(count { if case .linkDuplicated = $0 { true } else { false } } == c.duplicated)
        #expect(count { if case .linkReordered = $0 { true } else { false } } == c.reordered)
        #expect(count { if case .linkCorrupted = $0 { true } else { false } } == c.corrupted)
        #expect(c.lost > 0 && c.duplicated > 0 && c.reordered > 0 && c.corrupted > 0)
    }
}

@Suite("SeededRandom")
struct SeededRandomTests {
    @Test("the same seed gives the same sequence, another seed another")
    func reproducible() {
        var a = SeededRandom(seed: 1), b = SeededRandom(seed: 1), c = SeededRandom(seed: 2)
        let x = (0..<100).map { _ in a.next() }
        #expect(x == (0..<100).map { _ in b.next() })
        #expect(x != (0..<100).map { _ in c.next() })
    }

    @Test("split streams depend only on the index and differ from each other")
    func splitIsPure() {
        var root = SeededRandom(seed: 99)
        var s3 = root.split(index: 3), s3again = root.split(index: 3), s4 = root.split(index: 4)
        let x = s3.next()
        #expect(x == s3again.next())
        #expect(x != s4.next())
        #expect(x != root.next())
    }

    @Test("unit doubles fall in 0..<1 and average about one half")
    func unitDoubles() {
        var r = SeededRandom(seed: 5)
        let values = (0..<10_000).map { _ in r.unitDouble() }
        #expect(values.allSatisfy { (0..<1).contains($0) })
        #expect(abs(values.reduce(0, +) / 10_000 - 0.5) < 0.02)
        #expect((0..<1000).allSatisfy { _ in (-3...3).contains(r.symmetric(3)) })
    }
}
