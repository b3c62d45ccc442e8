import NetStackCore
import NetStackDevices

// The end of the run: each host's tables in the chapter's formats, and the counters.

extension DemoRun {
    /// `netstat`, `route` and `arp` of every host, and the switch's MAC table;
    /// when quiet, one line per host instead, so that the run fits a screen.
    func showTables() {
        narrator.heading(Phrase(.tablesHeading), Phrase(ipv6 ? .tablesExplanation6 : .tablesExplanation))
        let macTable = net.switch_.macTable(now: simulator.now)
        guard narrator.tellsEvents else {
            for node in net.hosts {
                let host = node.host
                let sockets = host.netstat().split(separator: "\n").dropFirst(2)
                if ipv6 {
                    narrator.text("  " + narrator.say(.hostSummary6, .plain(host.name), "\(Self.rows(host.routeTable6() ?? "", header: 2))",
                                                      "\(host.neighborEntries6.count)", "\(sockets.count)",
                                                      "\(sockets.filter { $0.hasSuffix("TIME_WAIT") }.count)"))
                    continue
                }
                narrator.text("  " + narrator.say(.hostSummary, .plain(host.name), "\(Self.rows(host.routeTable(), header: 2))",
                                                  "\(Self.rows(host.arpTable(now: simulator.now), header: 1))", "\(sockets.count)",
                                                  "\(sockets.filter { $0.hasSuffix("TIME_WAIT") }.count)"))
            }
            narrator.text("  " + narrator.say(.switchSummary, "\(macTable.count)"))
            return
        }
        for node in net.hosts {
            let host = node.host
            narrator.text("")
            narrator.text("\(host.name)$ netstat")
            narrator.text(host.netstat())
            if ipv6 {
                narrator.text("\(host.name)$ route -6")
                narrator.text(host.routeTable6() ?? "")
                narrator.text("\(host.name)$ ip -6 neigh")
                narrator.text(host.neighborTable6())
                continue
            }
            narrator.text("\(host.name)$ route")
            narrator.text(host.routeTable())
            narrator.text("\(host.name)$ arp")
            narrator.text(host.arpTable(now: simulator.now))
        }
        narrator.text("")
        narrator.text(narrator.say(.switchTableTitle))
        for entry in macTable {
            narrator.text("  \(entry.mac)  port \(entry.port)")
        }
    }

    /// The rows of a text table below its `header` lines.
    static func rows(_ table: String, header: Int) -> Int {
        max(0, table.split(separator: "\n").count - header)
    }

    /// Frames per device, FCS drops, retransmissions, ARP requests.
    func showCounters() {
        narrator.heading(Phrase(.countersHeading))
        var framesSent: [(String, Int)] = []
        var fcsDrops = net.switch_.counters.fcsDrops, arpRequests = 0, ndpSolicitations = 0
        narrator.detail("  device          frames sent  received  FCS errors  not for me (MAC filter)  interrupts")
        for node in net.hosts {
            let host = node.host
            for adapter in host.adapters {
                let c = adapter.counters
                narrator.detail("  " + padded("\(host.name) \(adapter.name)", 14) + padLeft(String(c.txPackets), 13)
                              + padLeft(String(c.rxPackets), 10) + padLeft(String(c.rxCRCErrors), 12)
                              + padLeft(String(c.rxFiltered), 25) + padLeft(String(c.interrupts), 12))
                fcsDrops += c.rxCRCErrors
            }
            arpRequests += host.statistics.arpRequestsSent
            ndpSolicitations += host.statistics.ndpNeighborSolicitsSent
            framesSent.append((host.name, host.adapters.reduce(0) { $0 + $1.counters.txPackets }))
        }
        let hubFrames = net.hub.counters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("hub", hubFrames))
        let switchFrames = net.switch_.portCounters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("switch", switchFrames))
        let lostOnCables = net.cables.reduce(0) { $0 + $1.counters(.aToB).lost + $1.counters(.bToA).lost }
        let damaged = net.cables.reduce(0) { $0 + $1.counters(.aToB).corrupted + $1.counters(.bToA).corrupted }
        if !narrator.tellsEvents {
            // Quiet: the per-adapter table becomes one line of frames sent per device.
            let list = framesSent.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            narrator.text("  " + narrator.say(.framesSentSummary, .plain(list)))
        }
        let counters: [Phrase] = [
            Phrase(.hubCounter, "\(hubFrames)"),
            Phrase(.switchCounter, "\(switchFrames)", "\(net.switch_.counters.forwarded)", "\(net.switch_.counters.flooded)",
                   "\(net.switch_.counters.fcsDrops)"),
            Phrase(.routerCounter, "\(ipv6 ? net.router.host.statistics.ip6Forwarded : net.router.host.statistics.forwarded)"),
            Phrase(.cableCounter, "\(damaged)", "\(lostOnCables)"),
            Phrase(.fcsCounter, "\(fcsDrops)"),
            Phrase(.tcpCounter, "\(storyteller.retransmissions.count)", "\(storyteller.duplicateAcksSent)",
                   "\(storyteller.windowUpdatesSent)", "\(storyteller.zeroWindowsSent)"),
            Phrase(ipv6 ? .ndpDNSCounter : .arpDNSCounter, "\(ipv6 ? ndpSolicitations : arpRequests)",
                   "\(browser.resolverStatistics.queriesSent + browser.resolverStatistics.retransmissions)"),
        ]
        // Quiet: the hub's count is already on the line of frames sent.
        for counter in counters where narrator.tellsEvents || counter.kind != .hubCounter {
            narrator.text("  " + narrator.say(counter))
        }
        result.fcsDrops = fcsDrops
        result.arpRequests = arpRequests
        result.ndpSolicitations = ndpSolicitations
        result.framesSent = framesSent
        if !result.problems.isEmpty {
            narrator.text("")
            narrator.text(narrator.say(.didNotComplete))
            for problem in problems { narrator.text("  - " + narrator.say(problem)) }
        }
    }
}
