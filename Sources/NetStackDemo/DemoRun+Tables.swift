import NetStackCore
import NetStackDevices

// The end of the run: each host's tables in the chapter's formats, and the counters.

extension DemoRun {
    /// `netstat`, `route` and `arp` of every host, and the switch's MAC table.
    func showTables() {
        narrator.heading("The hosts' tables at the end",
                         "The same views the chapter shows with netstat, route and arp. TIME_WAIT still holds the browser's old connection; the ARP entries learned along the way are kept for 60 s.")
        for node in net.hosts {
            let host = node.host
            narrator.text("")
            narrator.text("\(host.name)$ netstat")
            narrator.text(host.netstat())
            narrator.text("\(host.name)$ route")
            narrator.text(host.routeTable())
            narrator.text("\(host.name)$ arp")
            narrator.text(host.arpTable(now: simulator.now))
        }
        narrator.text("")
        narrator.text("switch MAC table (learned from source addresses):")
        for entry in net.switch_.macTable(now: simulator.now) {
            narrator.text("  \(entry.mac)  port \(entry.port)")
        }
    }

    /// Frames per device, FCS drops, retransmissions, ARP requests.
    func showCounters() {
        narrator.heading("Counters")
        var framesSent: [(String, Int)] = []
        var fcsDrops = net.switch_.counters.fcsDrops, arpRequests = 0
        narrator.text("  device          frames sent  received  FCS errors  not for me (MAC filter)  interrupts")
        for node in net.hosts {
            let host = node.host
            for adapter in host.adapters {
                let c = adapter.counters
                narrator.text("  " + padded("\(host.name) \(adapter.name)", 14) + padLeft(String(c.txPackets), 13)
                              + padLeft(String(c.rxPackets), 10) + padLeft(String(c.rxCRCErrors), 12)
                              + padLeft(String(c.rxFiltered), 25) + padLeft(String(c.interrupts), 12))
                fcsDrops += c.rxCRCErrors
            }
            arpRequests += host.statistics.arpRequestsSent
            framesSent.append((host.name, host.adapters.reduce(0) { $0 + $1.counters.txPackets }))
        }
        let hubFrames = net.hub.counters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("hub", hubFrames))
        let switchFrames = net.switch_.portCounters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("switch", switchFrames))
        let lostOnCables = net.cables.reduce(0) { $0 + $1.counters(.aToB).lost + $1.counters(.bToA).lost }
        let damaged = net.cables.reduce(0) { $0 + $1.counters(.aToB).corrupted + $1.counters(.bToA).corrupted }
        narrator.text("  hub: repeated \(hubFrames) frames out of its ports (every frame to every other port)")
        narrator.text("  switch: sent \(switchFrames) frames — \(net.switch_.counters.forwarded) to one learned port, \(net.switch_.counters.flooded) flooded; FCS drops \(net.switch_.counters.fcsDrops)")
        narrator.text("  router: forwarded \(net.router.host.statistics.forwarded) datagrams between the LANs")
        narrator.text("  cables: \(damaged) frame\(damaged == 1 ? "" : "s") damaged, \(lostOnCables) lost")
        narrator.text("  frames dropped by FCS checks: \(fcsDrops)")
        narrator.text("  TCP retransmissions: \(storyteller.retransmissions.count) (duplicate ACKs \(storyteller.duplicateAcksSent), window updates \(storyteller.windowUpdatesSent), zero windows \(storyteller.zeroWindowsSent))")
        narrator.text("  ARP requests: \(arpRequests); DNS queries: \(browser.resolverStatistics.queriesSent + browser.resolverStatistics.retransmissions)")
        result.fcsDrops = fcsDrops
        result.arpRequests = arpRequests
        result.framesSent = framesSent
        if !result.problems.isEmpty {
            narrator.text("")
            narrator.text("Did not complete:")
            for problem in result.problems { narrator.text("  - " + problem) }
        }
    }
}
