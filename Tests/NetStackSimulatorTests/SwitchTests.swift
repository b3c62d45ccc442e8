import NetStackCore
import NetStackDevices
import NetStackWire
import Testing

/// Feeds `frame` into `port` of the switch at `now` and returns the ports it leaves by.
private func switched(_ sw: LearningSwitch, _ frame: [UInt8], on port: PortID, at now: Instant = .zero) -> [PortID] {
    sw.receive(frame, on: port, now: now)
    var out: [PortID] = []
    sw.poll(now: now) { port, sent in
        #expect(sent == frame, "a switch forwards frames unchanged")
        out.append(port)
    }
    return out
}

@Suite("Learning switch: forwarding")
struct SwitchForwardingTests {
    @Test("an unknown destination is flooded to every port but the ingress one, and the source is learned")
    func floodsUnknownAndLearns() {
        let sw = LearningSwitch(name: "sw", portCount: 4)
        #expect(switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 1) == [0, 2, 3])
        #expect(sw.port(for: mac(1), now: .zero) == 1)
        #expect(sw.counters.flooded == 1 && sw.counters.learned == 1)
    }

    @Test("once the destination is learned, frames go out of its port only")
    func forwardsKnown() {
        let sw = LearningSwitch(name: "sw", portCount: 4)
        _ = switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 1)
        #expect(switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 3) == [1])
        #expect(switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 1) == [3])
        #expect(sw.counters.forwarded == 2)
        #expect(sw.portCounters[3].framesOut == 2 && sw.portCounters[0].framesOut == 1)
    }

    @Test("broadcast and multicast are flooded even from a known station")
    func floodsBroadcastAndMulticast() {
        let sw = LearningSwitch(name: "sw", portCount: 3)
        _ = switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 0)
        #expect(switched(sw, ethernetFrame(to: .broadcast, from: mac(1)), on: 0) == [1, 2])
        let multicast = MACAddress(0x01, 0x00, 0x5E, 0x00, 0x00, 0x01)
        #expect(switched(sw, ethernetFrame(to: multicast, from: mac(2)), on: 2) == [0, 1])
        #expect(sw.counters.flooded == 3)
    }

    @Test("a frame for a station on its own ingress port is filtered")
    func filtersSamePort() {
        let sw = LearningSwitch(name: "sw", portCount: 3)
        _ = switched(sw, ethernetFrame(to: mac(9), from: mac(1)), on: 2)
        _ = switched(sw, ethernetFrame(to: mac(9), from: mac(2)), on: 2)
        #expect(switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 2) == [])
        #expect(sw.counters.filtered == 1)
    }

    @Test("a multicast source address is never learned")
    func ignoresGroupSource() {
        let sw = LearningSwitch(name: "sw", portCount: 2)
        _ = switched(sw, ethernetFrame(to: mac(1), from: .broadcast), on: 0)
        #expect(sw.macTable(now: .zero).isEmpty)
    }

    @Test("a station that moves is found on its new port")
    func stationMoves() {
        let sw = LearningSwitch(name: "sw", portCount: 3)
        var events: [DeviceEvent] = []
        sw.observer = { events.append($0) }
        _ = switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 0)
        _ = switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 2)
        #expect(switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 1) == [2])
        #expect(sw.counters.moved == 1)
        #expect(events.contains(.switchMoved(switch: "sw", mac: mac(1), from: 0, to: 2)))
    }

    @Test("the observer narrates learning, flooding and forwarding in order")
    func observerNarrates() {
        let sw = LearningSwitch(name: "sw0", portCount: 3)
        var events: [DeviceEvent] = []
        sw.observer = { events.append($0) }
        _ = switched(sw, ethernetFrame(to: mac(2), from: mac(1)), on: 0)
        _ = switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 1)
        #expect(events == [
            .switchLearned(switch: "sw0", mac: mac(1), port: 0),
            .switchFlooded(switch: "sw0", mac: mac(2), inPort: 0, outPorts: [1, 2]),
            .switchLearned(switch: "sw0", mac: mac(2), port: 1),
            .switchForwarded(switch: "sw0", mac: mac(1), inPort: 1, outPort: 0),
        ])
        #expect(events[0].description == "sw0: learned 02:00:00:00:00:01 on port 0")
    }
}

@Suite("Learning switch: table and checks")
struct SwitchTableTests {
    @Test("entries age out after the aging time and the destination is flooded again")
    func agesOut() {
        let sw = LearningSwitch(name: "sw", portCount: 3, agingTime: .seconds(10))
        var events: [DeviceEvent] = []
        sw.observer = { events.append($0) }
        _ = switched(sw, ethernetFrame(to: mac(9), from: mac(1)), on: 0, at: .zero)
        #expect(switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 1, at: .seconds(9.999)) == [0])
        #expect(sw.macTable(now: .seconds(10)).map(\.mac) == [mac(2)])
        #expect(switched(sw, ethernetFrame(to: mac(1), from: mac(2)), on: 1, at: .seconds(10)) == [0, 2])
        #expect(sw.counters.aged == 1)
        #expect(events.contains(.switchAged(switch: "sw", mac: mac(1), port: 0)))
    }

    @Test("the default aging time is 300 s and traffic from a station refreshes its entry")
    func defaultAgingAndRefresh() {
        let sw = LearningSwitch(name: "sw", portCount: 2)
        #expect(sw.agingTime == .seconds(300))
        for second in stride(from: 0, through: 600, by: 200) {
            _ = switched(sw, ethernetFrame(to: mac(9), from: mac(1)), on: 0, at: .seconds(Double(second)))
        }
        #expect(sw.port(for: mac(1), now: .seconds(899)) == 0)
        #expect(sw.port(for: mac(1), now: .seconds(900)) == nil)
        #expect(sw.counters.learned == 1 && sw.counters.aged == 0)
    }

    @Test("the MAC table lists address, port and age, sorted by port")
    func macTableView() {
        let sw = LearningSwitch(name: "sw", portCount: 4)
        _ = switched(sw, ethernetFrame(to: mac(9), from: mac(3)), on: 2, at: .seconds(1))
        _ = switched(sw, ethernetFrame(to: mac(9), from: mac(1)), on: 0, at: .seconds(2))
        #expect(sw.macTable(now: .seconds(5)) == [
            MACTableEntry(mac: mac(1), port: 0, age: .seconds(3)),
            MACTableEntry(mac: mac(3), port: 2, age: .seconds(4)),
        ])
        #expect(sw.nextDeadline() == nil)
    }

    @Test("with FCS checking on, a frame with a bad FCS is dropped and counted; a good one passes")
    func dropsBadFCS() {
        let sw = LearningSwitch(name: "sw", portCount: 2, fcs: true)
        var events: [DeviceEvent] = []
        sw.observer = { events.append($0) }
        let good = ethernetFrame(to: mac(2), from: mac(1), fcs: true)
        var bad = good
        bad[30] ^= 0x01
        #expect(switched(sw, bad, on: 0) == [])
        #expect(sw.counters.fcsDrops == 1)
        #expect(sw.macTable(now: .zero).isEmpty, "nothing is learned from a damaged frame")
        #expect(events == [.switchFCSDrop(switch: "sw", port: 0, length: 68)])
        #expect(switched(sw, good, on: 0) == [1])
    }

    @Test("frames too short for a header (and FCS, when expected) are dropped as runts")
    func dropsRunts() {
        let plain = LearningSwitch(name: "sw", portCount: 2)
        #expect(switched(plain, [UInt8](repeating: 0x02, count: 13), on: 0) == [])
        #expect(switched(plain, ethernetFrame(to: mac(2), from: mac(1), length: 14), on: 0) == [1])
        #expect(plain.counters.runts == 1)
        let checking = LearningSwitch(name: "sw", portCount: 2, fcs: true)
        #expect(switched(checking, ethernetFrame(to: mac(2), from: mac(1), length: 14), on: 0) == [])
        #expect(checking.counters.runts == 1)
    }

    @Test("a full table learns no more addresses, and those are flooded to")
    func tableCapacity() {
        let sw = LearningSwitch(name: "sw", portCount: 3, tableCapacity: 2)
        for n: UInt8 in 1...3 { _ = switched(sw, ethernetFrame(to: .broadcast, from: mac(n)), on: Int(n) - 1) }
        #expect(sw.macTable(now: .zero).count == 2)
        #expect(sw.counters.tableFull == 1)
        #expect(switched(sw, ethernetFrame(to: mac(3), from: mac(1)), on: 0) == [1, 2])
    }
}
