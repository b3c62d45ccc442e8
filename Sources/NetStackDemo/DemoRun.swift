import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackServices
import NetStackSimulator

/// One run of the demo: the network, its servers, the narration, and the
/// steps of the story (in the `DemoRun+…` files), run one after another.
///
/// The browser is the `client` host of ``TwoLANNetwork`` (named "browser"
/// here). The story drives it from outside, calling its socket library
/// between runs of the simulator — the way an application calls the kernel —
/// and the simulator carries every frame, at 100 Mbit/s per cable.
final class DemoRun {
    let options: DemoOptions
    let narrator: Narrator
    let net: TwoLANNetwork
    let capture: DemoCapture
    let storyteller: TCPStoryteller
    var result = DemoResult()
    /// What did not complete, in the run's language for the narration (`result.problems` has them in English).
    var problems: [Phrase] = []
    /// The deterministic faults, armed by the steps.
    var faults: [WireFault] = []
    /// The narration and tables for the HTML page, when it is asked for.
    let pageLog: PageLog?

    var simulator: Simulator { net.simulator }
    var browser: Host { net.client.host }
    var server: Host { net.server.host }

    /// The web server's name, in the DNS server's zone.
    static let serverName = "www.example.test"
    static let httpPort: UInt16 = 80
    static let echoPort: UInt16 = 7
    /// The browser's receive buffer: small enough that its window is seen to fill and open.
    static let receiveBuffer = 32_768
    /// The browser reads (renders) at most this much per `readInterval`: slower than the link.
    static let readChunk = 8_192
    static let readInterval: Duration = .milliseconds(1)
    /// Lookups the browser tries before giving up on the name.
    static let lookupAttempts = 3
    /// Simulated time the transfer may take: with `--loss`, TCP's backed-off timers can need minutes.
    static let transferLimit: Duration = .seconds(3600)
    /// The data segment toward the browser that noise damages (counted on the hub → browser cable).
    static let corruptedSegment = 10
    /// The UDP step: datagrams sent, their spacing, and the one lost on a cable.
    static let datagramCount = 5
    static let datagramSpacing: Duration = .milliseconds(20)
    static let droppedDatagram = 3

    init(_ options: DemoOptions, output: @escaping (String) -> Void) {
        self.options = options
        let pageLog = options.html ? PageLog() : nil
        self.pageLog = pageLog
        let sink: (String) -> Void = pageLog.map { log in { line in log.add(line); output(line) } } ?? output
        narrator = Narrator(verbosity: options.verbosity, language: options.language, color: options.color, width: options.width,
                            pause: options.pause, output: sink)
        let seed = options.seed
        var cable = LinkConfig.fastEthernet
        cable.loss = min(max(options.loss, 0), DemoOptions.maximumLoss)
        let mtu = min(max(options.mss, DemoOptions.mssRange.lowerBound), DemoOptions.mssRange.upperBound) + 40
        net = TwoLANNetwork(seed: seed, lanAMTU: mtu, lanBMTU: mtu, cable: cable) { config in
            // Each host's secrets (ISNs, DNS ids, ports) from the seed, so another seed is another run.
            config.randomSeed = Self.mix(seed, config.name)
            if config.name == "client" { config.name = "browser" }
        }
        capture = DemoCapture(net)
        if let pageLog {
            pageLog.clock = { [unowned net] in net.simulator.now.nanoseconds }
            pageLog.hosts = net.hosts.map(\.host)
            narrator.onHeading = { [unowned pageLog] title in pageLog.beginStep(title) }
        }
        storyteller = TCPStoryteller(browser: "browser")
        observe()
    }

    /// Runs every step in order and returns what happened.
    func run() -> DemoResult {
        introduce()
        powerOn()
        let page = startServers()
        let fd = step1Socket()
        let address = step2Resolve()
        var connected = false
        if let address { connected = step3Connect(fd, to: address) }
        if connected {
            step4And5Transfer(fd, page: page)
            step6Close(fd)
            showLadder()
        } else {
            problem(.problemNoConnection)
        }
        step7UDP()
        showTables()
        showCounters()
        capture.take()
        result.capture = capture.browserView()
        result.networkCapture = capture.network()
        if let pageLog { result.html = makePage(pageLog) }
        return result
    }

    // MARK: Setting up

    /// Tells the narrator about every stack event, device event and frame.
    private func observe() {
        for node in net.hosts {
            let host = node.host
            host.observer = { [unowned self] event in
                let time = clock()
                for narration in storyteller.narrate(event, host: host, now: simulator.now) {
                    narrator.tell(narration, node: host.name, time: time)
                }
                if let narration = Narration(event, host: host) { narrator.tell(narration, node: host.name, time: time) }
            }
        }
        let deviceObserver: (DeviceEvent) -> Void = { [unowned self] event in
            capture.linkReported(event)
            for fault in faults { _ = fault.linkReported(event) }
            guard let narration = Narration(event, cable: Self.describeCable) else { return }
            let node: String = switch event {
            case .hubRepeated: "hub"
            case .linkCorrupted, .linkLost, .linkDuplicated, .linkReordered: "cable"
            default: "switch"
            }
            narrator.tell(narration, node: node, time: clock())
        }
        net.hub.observer = deviceObserver
        net.switch_.observer = deviceObserver
        for cable in net.cables { cable.observer = deviceObserver }
        // The stack reports state changes made by arriving segments late or not at all: look after every poll.
        for node in [net.client, net.server] {
            node.applications.append { [unowned self] host, now in
                for narration in storyteller.noticeStates(host, now: now) { narrator.tell(narration, node: host.name, time: clock()) }
            }
        }
        simulator.observer = { [unowned self] event in
            if case let .transmitted(node, _, link, length, _) = event {
                capture.willTransmit(node: node, linkName: link)
                for fault in faults { fault.willTransmit(node: node, linkName: link, length: length) }
            }
        }
    }

    /// The virtual time, right-aligned for the narration's first column.
    func clock() -> String { padLeft(simulator.now.description, 10) }

    /// "hub → browser" for the cable `client-hub` in the direction b→a.
    static func describeCable(_ name: String, _ direction: LinkDirection) -> String {
        let ends = name.split(separator: "-").map { $0 == "client" ? "browser" : String($0) }
        guard ends.count == 2 else { return name }
        return direction == .aToB ? "\(ends[0]) → \(ends[1])" : "\(ends[1]) → \(ends[0])"
    }

    /// The title and the picture of the network.
    private func introduce() {
        narrator.heading(narrator.say(.title, "\(options.seed)"), Self.diagram + "\n" + narrator.say(.diagramLegend).indented(by: 2))
        let loss: PhraseArg = options.loss > 0 ? .plain(Self.percent(options.loss)) : ""
        let mtu: PhraseArg = options.mss != 1460 ? "\(options.mss + 40)" : ""
        if options.loss > 0 || options.mss != 1460 { narrator.text(narrator.say(.settings, loss, mtu, "\(options.mss)")) }
    }

    /// Addresses configured, gratuitous ARPs sent: told as one line.
    private func powerOn() {
        narrator.heading(Phrase(.powerOnHeading), Phrase(.powerOnExplanation))
        narrator.muted = true
        simulator.run(for: .milliseconds(10))
        narrator.muted = false
        narrator.detail("           " + narrator.say(.powerOnEvents, "\(narrator.mutedCount)"))
    }

    /// The DNS server, the web server with its page, and the UDP echo service.
    /// Returns the page.
    private func startServers() -> [UInt8] {
        let page = DemoPage.make()
        result.pageServed = page
        result.pageServedSHA256 = SHA256.hex(page)
        browser.resolverConfig.nameservers = [.v4(TwoLANNetwork.dnsAddress)]
        do {
            net.dns.run(try DNSServer(host: net.dns.host, zone: [
                Self.serverName: .a([TwoLANNetwork.serverAddress], ttl: 300),
                "example.test": .a([TwoLANNetwork.serverAddress], ttl: 300),
            ]))
            let web = try HTTPServer(host: server, port: Self.httpPort, content: InMemoryContent(["/index.html": page]))
            // Patient, so that a transfer slowed by --loss is not cut off by the server.
            web.idleTimeout = Self.transferLimit
            web.lingerTimeout = Self.transferLimit
            net.server.run(web)
            net.server.run(try UDPEchoService(host: server, port: Self.echoPort))
        } catch {
            problem(.problemServerFailed, .plain(error.symbol))
        }
        return page
    }

    // MARK: Running the network

    /// Runs the network until `done()` holds or `limit` of simulated time has
    /// passed, event by event. Returns whether `done()` holds.
    @discardableResult
    func run(within limit: Duration, until done: () -> Bool) -> Bool {
        let deadline = simulator.now + limit
        // Bounded by the deadline and by an event budget far above any step's needs.
        for _ in 0..<5_000_000 {
            if done() { return true }
            guard simulator.step(until: deadline) else { break }
        }
        if !done() { simulator.run(until: deadline) }
        return done()
    }

    /// Records a step that did not complete: in English in the result, and for the narration's list at the end.
    func problem(_ kind: PhraseKind, _ args: PhraseArg...) {
        let phrase = Phrase(kind, arguments: args)
        problems.append(phrase)
        result.problems.append(phrase.text(.english))
    }

    /// Lets `duration` of simulated time pass (frames in flight land, timers run).
    func settle(_ duration: Duration = .milliseconds(2)) {
        simulator.run(for: duration)
    }

    /// The state of the browser's connection to the web server, if it has one.
    func browserConnection(_ local: Endpoint?) -> TCPConnectionInfo? {
        browser.tcpConnectionInfo().first { $0.local == local && $0.remote.port == Self.httpPort }
    }

    // MARK: Helpers

    /// The HTML page from this run's own frames, narration and tables.
    private func makePage(_ log: PageLog) -> [UInt8] {
        log.finish()
        var owners: [MACAddress: String] = [:]
        for (node, name) in [(net.client, "client"), (net.laptop, "laptop"), (net.router, "router"), (net.server, "server"), (net.dns, "dns")] {
            for adapter in node.host.adapters { owners[adapter.mac] = name }
        }
        return DemoHTMLPage.make(PageInput(
            title: log.steps.first?.title ?? "NetStack demo", language: options.language,
            browserCable: capture.browserCableRecords(), cables: capture.cableRecords(), owners: owners, log: log,
            signalBytes: result.signalBytes))
    }

    /// A 64-bit seed for host `name` derived from the run's seed (FNV-1a, then SplitMix64's finaliser).
    static func mix(_ seed: UInt64, _ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var z = hash ^ (seed &* 0x9e37_79b9_7f4a_7c15)
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// "15.9 ms" or "12.3 s".
    static func formatDuration(_ duration: Duration) -> String {
        let micros = duration.nanoseconds / 1000
        if micros < 1_000_000 { return "\(micros / 1000).\(micros % 1000 / 100) ms" }
        return "\(micros / 1_000_000).\(micros % 1_000_000 / 100_000) s"
    }

    /// "1%" or "2.5%".
    static func percent(_ fraction: Double) -> String {
        let tenths = Int((fraction * 1000).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }

    /// 100000 → "100,000".
    static func grouped(_ number: Int) -> String {
        let digits = String(number.magnitude)
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return (number < 0 ? "-" : "") + text
    }

    /// The network drawn (the legend beneath it is worded per language).
    static let diagram = """
          browser 192.0.2.10 ──┐                                     ┌── server 198.51.100.10  (web, UDP echo)
          laptop  192.0.2.20 ── hub ── router 192.0.2.1 | 198.51.100.1 ── switch
                                                                     └── dns    198.51.100.53  (DNS)
        """
}

extension String {
    /// Every line of the text preceded by `count` spaces.
    func indented(by count: Int) -> String {
        let indent = String(repeating: " ", count: count)
        return split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 }.joined(separator: "\n")
    }
}
