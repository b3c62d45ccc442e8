import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackWire
import Testing

@Suite("Simulator: time and events")
struct SimulatorEventTests {
    @Test("actions run in time order, and in scheduling order at equal times")
    func eventsInTimeOrder() {
        let sim = Simulator(seed: 1)
        var log: [String] = []
        sim.schedule(at: .milliseconds(3)) { log.append("c@\(sim.now.nanoseconds)") }
        sim.schedule(at: .milliseconds(1)) { log.append("a@\(sim.now.nanoseconds)") }
        sim.schedule(at: .milliseconds(3)) { log.append("d@\(sim.now.nanoseconds)") }
        sim.schedule(at: .milliseconds(2)) {
            log.append("b@\(sim.now.nanoseconds)")
            sim.schedule(after: .milliseconds(1)) { log.append("e@\(sim.now.nanoseconds)") }
        }
        #expect(sim.run(until: .milliseconds(10)) == .reachedTime)
        #expect(log == ["a@1000000", "b@2000000", "c@3000000", "d@3000000", "e@3000000"])
        #expect(sim.now == .milliseconds(10))
    }

    @Test("run(until:) stops at the time given and leaves later events pending")
    func runUntilStopsOnTime() {
        let sim = Simulator(seed: 1)
        var ran = false
        sim.schedule(at: .seconds(2)) { ran = true }
        sim.run(for: .seconds(1))
        #expect(!ran && sim.now == .seconds(1) && sim.pendingEventCount == 1)
        sim.run(for: .seconds(1))
        #expect(ran)
    }

    @Test("a frame crosses a simulated link at the exact serialization plus propagation time")
    func deliveryTimeThroughSimulator() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a"), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0, config: LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1)))
        a.timed = [(.zero, 0, [UInt8](repeating: 1, count: 1000)), (.zero, 0, [UInt8](repeating: 2, count: 1000))]
        #expect(sim.runUntilIdle(limit: .seconds(1)) == .idle)
        #expect(b.arrivals.map(\.time.nanoseconds) == [1_800_000, 2_600_000])
        #expect(sim.now == Instant(nanoseconds: 2_600_000))
    }

    @Test("a node is polled at its deadline, and not before")
    func wakesAtDeadline() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a"), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0)
        a.timed = [(.milliseconds(5), 0, [1]), (.milliseconds(7), 0, [2])]
        sim.runUntilIdle(limit: .seconds(1))
        #expect(b.arrivals.map(\.time) == [.milliseconds(5), .milliseconds(7)])
        #expect(a.polls == [.zero, .milliseconds(5), .milliseconds(7)])
    }

    @Test("an earlier deadline supersedes a later one already scheduled")
    func earlierDeadlineWins() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a"), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0)
        a.timed = [(.milliseconds(10), 0, [1])]
        sim.run(until: .milliseconds(1))
        a.timed.insert((.milliseconds(4), 0, [0]), at: 0)
        sim.kick(a)
        sim.runUntilIdle(limit: .seconds(1))
        #expect(b.arrivals.map(\.time) == [.milliseconds(4), .milliseconds(10)])
    }

    @Test("work given to a node between runs is picked up: kick sends at once, a new deadline on the next run")
    func kickAndRefresh() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a"), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0, config: LinkConfig(propagationDelay: .microseconds(10)))
        sim.run(until: .milliseconds(3))
        a.outbox = [(0, [7])]
        sim.kick(a)
        #expect(sim.pendingEventCount == 1)
        a.timed = [(.milliseconds(4), 0, [8])]
        sim.runUntilIdle(limit: .seconds(1))
        #expect(b.arrivals.map(\.time.nanoseconds) == [3_010_000, 4_010_000])
    }

    @Test("after an action every node is polled at that time")
    func actionsPollNodes() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a"), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0)
        sim.schedule(at: .milliseconds(2)) { a.outbox = [(0, [42])] }
        sim.runUntilIdle(limit: .seconds(1))
        #expect(b.arrivals == [Recorder.Arrival(frame: [42], port: 0, time: .milliseconds(2))])
    }

    @Test("frames sent out of a port with no link are dropped and counted")
    func unconnectedPortDrops() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a", portCount: 2), b = Recorder(name: "b")
        sim.connect(a, 0, b, 0)
        var events: [String] = []
        sim.observer = { events.append($0.description) }
        a.outbox = [(1, [1, 2, 3]), (5, [4])]
        sim.kick(a)
        #expect(sim.unconnectedDrops == 2)
        #expect(events.first == "0.000000s a port 1: dropped 3 bytes (no link)")
        #expect(sim.link(at: a, port: 0) === sim.links.first && sim.link(at: a, port: 1) == nil)
    }

    @Test("runUntilIdle stops at the limit while a node keeps a deadline")
    func idleVersusLimit() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a")
        sim.add(a)
        #expect(sim.runUntilIdle(limit: .seconds(1)) == .idle)
        a.fixedDeadline = .seconds(5)
        #expect(sim.runUntilIdle(limit: .seconds(2)) == .reachedTime)
        #expect(sim.now == .seconds(2))
    }

    @Test("a node that always wants to run now cannot spin forever")
    func eventLimitBoundsSpinning() {
        let sim = Simulator(seed: 1)
        let a = Recorder(name: "a")
        a.fixedDeadline = .zero
        sim.add(a)
        sim.maxEventsPerRun = 1000
        #expect(sim.runUntilIdle(limit: .seconds(1)) == .eventLimit)
        #expect(sim.now == .zero && a.polls.count == 1000)
    }
}

/// Two stations on a switch over lossy, jittery, bit-flipping links: station
/// 1 sends 200 numbered UDP frames, station 2 echoes each one back. Returns
/// the capture of every link and what each station received.
private func echoNetwork(seed: UInt64, tapped: Bool = true) -> (pcap: [UInt8], received: [[UInt8]]) {
    let sim = Simulator(seed: seed)
    let sw = LearningSwitch(name: "sw", portCount: 2, fcs: true)
    let h1 = Recorder(name: "h1"), h2 = Recorder(name: "h2")
    h2.onReceive = { node, frame, _, _ in
        guard fcsVerifies(frame) else { return }
        node.outbox.append((0, udpFrame(id: UInt16(frame[18]) << 8 | UInt16(frame[19]), to: mac(1), from: mac(2), fcs: true)))
    }
    let config = LinkConfig(bitsPerSecond: 100_000_000, propagationDelay: .microseconds(50), jitter: .microseconds(20),
                            loss: 0.05, duplicate: 0.02, reorder: 0.02, reorderDelay: .microseconds(300),
                            bitErrorRate: 2e-5, fcs: true)
    let tap = PcapTap()
    for link in [sim.connect(h1, 0, sw, 0, config: config), sim.connect(h2, 0, sw, 1, config: config)] where tapped {
        link.tap = tap
    }
    h1.timed = (0..<200).map { n in (Instant(nanoseconds: Int64(n) * 100_000), 0, udpFrame(id: UInt16(n), to: mac(2), from: mac(1), fcs: true)) }
    sim.runUntilIdle(limit: .seconds(10))
    return (tap.takeBytes(), h1.frames + h2.frames)
}

@Suite("Simulator: determinism")
struct SimulatorDeterminismTests {
    @Test("the same seed gives an identical capture twice; another seed a different one")
    func sameSeedSameCapture() throws {
        let first = echoNetwork(seed: 2024), second = echoNetwork(seed: 2024), other = echoNetwork(seed: 2025)
        #expect(first.pcap == second.pcap)
        #expect(first.received == second.received)
        #expect(first.pcap != other.pcap)
        let records = try PcapReader.parse(first.pcap)
        #expect(records.count > 300)
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.nanoseconds <= $1.nanoseconds })
    }

    @Test("capturing never changes what happens on the network")
    func tapDoesNotPerturb() {
        #expect(echoNetwork(seed: 7, tapped: true).received == echoNetwork(seed: 7, tapped: false).received)
    }

    @Test("links get independent random streams fixed by the seed and the link's index")
    func linkStreamsIndependent() {
        let config = LinkConfig(loss: 0.5)
        func lossPattern(_ sim: Simulator, _ link: Link) -> [Int] {
            transmitAll(link, (0..<64).map { (sim.now, [UInt8($0)]) }).map { Int($0.1[0]) }
        }
        let s1 = Simulator(seed: 3), s2 = Simulator(seed: 3)
        let l1a = s1.connect(Recorder(name: "x"), 0, Recorder(name: "y"), 0, config: config)
        let l1b = s1.connect(Recorder(name: "x"), 0, Recorder(name: "y"), 0, config: config)
        let l2a = s2.connect(Recorder(name: "p"), 0, Recorder(name: "q"), 0, config: config)
        let l2b = s2.connect(Recorder(name: "p"), 0, Recorder(name: "q"), 0, config: config)
        let pattern1b = lossPattern(s1, l1b)
        #expect(lossPattern(s1, l1a) == lossPattern(s2, l2a))
        #expect(pattern1b == lossPattern(s2, l2b))
        #expect(pattern1b != lossPattern(s2, s2.links[0]))
    }
}
