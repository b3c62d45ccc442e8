import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackWire
import Testing

@Suite("Hub")
struct HubTests {
    @Test("a frame arriving on one port goes out every other port, unchanged")
    func repeatsToAllOtherPorts() {
        let hub = Hub(name: "hub", portCount: 4)
        let frame = ethernetFrame(to: mac(9), from: mac(1))
        hub.receive(frame, on: 1, now: .zero)
        var sent: [(PortID, [UInt8])] = []
        hub.poll(now: .zero) { sent.append(($0, $1)) }
        #expect(sent.map(\.0) == [0, 2, 3])
        #expect(sent.allSatisfy { $0.1 == frame })
        #expect(hub.counters[1].framesIn == 1 && hub.counters[1].framesOut == 0)
        #expect(hub.counters[0].framesOut == 1 && hub.counters[0].bytesOut == frame.count)
        hub.poll(now: .zero) { _, _ in Issue.record("a frame went out twice") }
        #expect(hub.nextDeadline() == nil)
    }

    @Test("a hub repeats corrupted frames as they are: it checks nothing")
    func repeatsBadFCS() {
        let hub = Hub(name: "hub", portCount: 2)
        var frame = ethernetFrame(to: mac(2), from: mac(1), fcs: true)
        frame[20] ^= 0x10
        #expect(!fcsVerifies(frame))
        hub.receive(frame, on: 0, now: .zero)
        hub.receive([0x01, 0x02], on: 1, now: .zero)
        var sent: [(PortID, [UInt8])] = []
        hub.poll(now: .zero) { sent.append(($0, $1)) }
        #expect(sent.map(\.0) == [1, 0])
        #expect(sent.map(\.1) == [frame, [0x01, 0x02]])
    }

    @Test("the observer hears which ports a frame was repeated to")
    func observerNarrates() {
        let hub = Hub(name: "hub0", portCount: 3)
        var events: [DeviceEvent] = []
        hub.observer = { events.append($0) }
        hub.receive(ethernetFrame(to: mac(2), from: mac(1)), on: 2, now: .zero)
        #expect(events == [.hubRepeated(hub: "hub0", inPort: 2, outPorts: [0, 1], length: 64)])
        #expect(events[0].description == "hub0: repeated 64 bytes from port 2 to ports 0,1")
    }

    @Test("in a simulated network every other station on the hub hears a frame")
    func stationsShareTheHub() {
        let sim = Simulator(seed: 1)
        let hub = Hub(name: "hub", portCount: 3)
        let stations = (0..<3).map { Recorder(name: "h\($0)") }
        for (port, station) in stations.enumerated() {
            sim.connect(station, 0, hub, port, config: LinkConfig(propagationDelay: .microseconds(1)))
        }
        let frame = ethernetFrame(to: mac(2), from: mac(1))
        stations[0].outbox = [(0, frame)]
        sim.kick(stations[0])
        sim.runUntilIdle(limit: .seconds(1))
        #expect(stations[0].frames.isEmpty)
        #expect(stations[1].frames == [frame] && stations[2].frames == [frame])
        #expect(stations[1].arrivals.first?.time == Instant(nanoseconds: 2_000))
    }
}
