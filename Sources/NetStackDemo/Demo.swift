import NetStackWire
public import NetStackCore
import NetStackDevices
import NetStackSimulator

/// Settings of one demo run.
public struct DemoOptions: Sendable {
    /// Seeds all randomness: the same seed gives the same run, byte for byte.
    public var seed: UInt64 = 1
    public var verbosity: Verbosity = .normal
    /// ANSI colours (only when printing to a terminal).
    public var color = false
    public init() {}
}

/// What a demo run did, for the caller and for tests.
public struct DemoResult: Sendable {
    /// Every frame sent on every cable, as a classic pcap file.
    public var capture: [UInt8]
    /// The datagram the client sent to the echo service, and what came back (nil if nothing).
    public var sentPayload: [UInt8]
    public var echoedPayload: [UInt8]?
    /// What each ping brought back, by sequence number.
    public var pingResults: [PingResult]
    /// Frames dropped by FCS checks in adapters and the switch.
    public var fcsDrops: Int
    /// ARP requests sent by all hosts.
    public var arpRequests: Int
    /// Frames each device sent, in device order.
    public var framesSent: [(device: String, frames: Int)]
}

/// The chapter's journey on the two-LAN network, run on the real stack and narrated.
public enum Demo {
    /// Runs the story, writing the narration line by line to `output`.
    public static func run(_ options: DemoOptions, output: @escaping (String) -> Void) -> DemoResult {
        let narrator = Narrator(verbosity: options.verbosity, color: options.color, output: output)
        let net = TwoLANNetwork(seed: options.seed)
        let tap = net.captureAll()
        let simulator = net.simulator
        func clock() -> String {
            let text = simulator.now.description
            return String(repeating: " ", count: max(0, 10 - text.count)) + text
        }
        for node in net.hosts {
            let host = node.host
            host.observer = { event in
                if let narration = Narration(event, host: host) { narrator.tell(narration, node: host.name, time: clock()) }
            }
        }
        let deviceObserver: (DeviceEvent) -> Void = { event in
            guard let narration = Narration(event) else { return }
            let node: String = switch event {
            case .hubRepeated: "hub"
            case .linkCorrupted, .linkLost: "cable"
            default: "switch"
            }
            narrator.tell(narration, node: node, time: clock())
        }
        net.hub.observer = deviceObserver
        net.switch_.observer = deviceObserver
        for cable in net.cables { cable.observer = deviceObserver }

        narrator.heading("NetStack demo — the chapter's journey on a simulated network (seed \(options.seed))",
                         Self.diagram)
        narrator.heading("0. Power on",
                         "Each host configures its address: a connected route appears in its routing table, and a gratuitous ARP announces the address to the LAN.")
        narrator.muted = true
        simulator.run(for: .milliseconds(10))
        narrator.muted = false
        narrator.text("           (\(narrator.mutedCount) events while the hosts announced themselves; the story starts now)")

        let sentPayload = Array("Hello from the client, over UDP".utf8)
        narrator.heading("1. The application sends a UDP datagram to the server's echo service (198.51.100.10:7)",
                         "Every layer of the chapter, in order: socket library → UDP → IP routing → ARP → Ethernet → LAN adapter → hub → router → switch → the server's adapter → IP → UDP → application. The caches are empty, so ARP must ask first. The laptop on the hub hears everything and keeps only what is addressed to it.")
        do { try net.server.startUDPEcho(port: 7) } catch { narrator.text("echo service failed: \(error)") }
        let client = net.client.host
        let socket = client.udpOpen()
        do {
            try client.udpSend(socket, sentPayload, to: Endpoint(TwoLANNetwork.serverAddress, 7), now: simulator.now)
        } catch { narrator.text("sendto failed: \(error)") }
        simulator.kick(net.client)
        simulator.run(for: .milliseconds(50))
        let echoed = client.udpReceive(socket)?.payload
        narrator.flushRepeats()
        narrator.text(echoed == sentPayload
            ? "   The echo came back: \(echoed?.count ?? 0) bytes, identical."
            : "   No echo came back.")

        narrator.heading("2. Ping: ICMP echo across the router",
                         "The ARP caches are warm now: no more broadcasts, frames go straight to the known MAC addresses.")
        var pingResults: [PingResult] = []
        let ping = try? client.openPing(identifier: 0x4e53)
        func sendPing(_ sequence: UInt16) {
            guard let ping else { return }
            try? client.ping(ping, to: TwoLANNetwork.serverAddress, sequence: sequence, now: simulator.now)
            simulator.kick(net.client)
            simulator.run(for: .seconds(1))
            pingResults += client.takePingResults(ping)
        }
        sendPing(1)

        narrator.heading("3. Noise on the cable: a frame damaged in transit",
                         "The next frame the hub sends toward the router has one bit flipped on the cable. The router's LAN adapter recomputes the CRC-32, finds it differs from the FCS, and drops the frame. ICMP, like UDP, recovers nothing: that ping is simply lost. The one after it gets through.")
        // The router is end a of its cable to the hub: frames toward it travel b→a.
        let sentSoFar = net.routerLANACable.counters(.bToA).frames
        net.routerLANACable.configure(.bToA) { $0.corruptFrames = [sentSoFar + 1] }
        sendPing(2)
        sendPing(3)
        narrator.flushRepeats()
        for result in pingResults {
            switch result {
            case let .reply(from, sequence, ttl, bytes, rtt):
                narrator.text("   \(bytes + 8) bytes from \(from): icmp_seq=\(sequence) ttl=\(ttl) time=\(formatMilliseconds(rtt))")
            case let .error(from, sequence, message):
                narrator.text("   From \(from) icmp_seq=\(sequence) \(ICMPv4Header(message))")
            }
        }
        let answered = Set(pingResults.compactMap { if case let .reply(_, seq, _, _, _) = $0 { seq } else { nil } })
        narrator.text("   3 packets transmitted, \(answered.count) received, \((3 - answered.count) * 100 / 3)% packet loss")

        narrator.heading("4. The hosts' tables")
        for node in net.hosts {
            narrator.text("")
            narrator.text("\(node.name)$ route")
            narrator.text(node.host.routeTable())
            narrator.text("\(node.name)$ arp")
            narrator.text(node.host.arpTable(now: simulator.now))
        }
        narrator.text("")
        narrator.text("switch MAC table:")
        for entry in net.switch_.macTable(now: simulator.now) {
            narrator.text("  \(entry.mac)  port \(entry.port)")
        }

        narrator.heading("5. Counters")
        var framesSent: [(String, Int)] = []
        var fcsDrops = net.switch_.counters.fcsDrops, arpRequests = 0
        for node in net.hosts {
            let host = node.host
            for adapter in host.adapters {
                let c = adapter.counters
                narrator.text("  \(host.name) \(adapter.name): sent \(c.txPackets) frames, received \(c.rxPackets), FCS errors \(c.rxCRCErrors), ignored by MAC filter \(c.rxFiltered), interrupts \(c.interrupts)")
                fcsDrops += c.rxCRCErrors
            }
            arpRequests += host.statistics.arpRequestsSent
            framesSent.append((host.name, host.adapters.reduce(0) { $0 + $1.counters.txPackets }))
        }
        let hubFrames = net.hub.counters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("hub", hubFrames))
        let switchFrames = net.switch_.portCounters.reduce(0) { $0 + $1.framesOut }
        framesSent.append(("switch", switchFrames))
        narrator.text("  hub: repeated \(hubFrames) frames; switch: sent \(switchFrames) frames (\(net.switch_.counters.forwarded) switched, \(net.switch_.counters.flooded) flooded), FCS drops \(net.switch_.counters.fcsDrops)")
        narrator.text("  router: forwarded \(net.router.host.statistics.forwarded) datagrams")
        narrator.text("  ARP requests: \(arpRequests); frames dropped by FCS checks: \(fcsDrops)")

        simulator.run(for: .milliseconds(1))
        return DemoResult(capture: tap.takeBytes(), sentPayload: sentPayload, echoedPayload: echoed,
                          pingResults: pingResults, fcsDrops: fcsDrops, arpRequests: arpRequests,
                          framesSent: framesSent)
    }

    static let diagram = """
          client 192.0.2.10 ──┐                                     ┌── server 198.51.100.10
          laptop 192.0.2.20 ── hub ── router 192.0.2.1 | 198.51.100.1 ── switch
                                                                    └── dns    198.51.100.53
          LAN A 192.0.2.0/24 (a hub repeats every frame)   LAN B 198.51.100.0/24 (a switch learns MACs)
        """
}
