import NetStackWire
public import NetStackCore
public import NetStackDevices

/// One cell of the `netstack bench lossy` grid: a congestion controller on a
/// path with a given random loss, round-trip time and share of reordered frames.
public struct LossyScenario: Hashable, Sendable {
    /// The sender's congestion control (the receiver's does not matter: it sends only ACKs).
    public var congestion: CongestionAlgorithm
    /// Probability that a frame is lost, the same in both directions (like netem on both sides of a relay).
    public var loss: Double
    /// The round-trip propagation delay: half of it each way, before queueing and serialization.
    public var rtt: Duration
    /// Share of frames, in both directions, held back by ``LossyBenchmark/reorderDelay`` so later ones overtake them.
    public var reorder: Double

    /// A scenario with the given controller and path.
    public init(congestion: CongestionAlgorithm, loss: Double, rtt: Duration, reorder: Double) {
        self.congestion = congestion
        self.loss = loss
        self.rtt = rtt
        self.reorder = reorder
    }
}

/// What one bulk transfer of a ``LossyScenario`` achieved, in virtual time.
public struct LossyResult: Hashable, Sendable {
    /// The path and controller measured.
    public var scenario: LossyScenario
    /// Bytes the sender was to transfer.
    public var bytes: Int
    /// Bytes the receiving application read (and checked) before the end.
    public var delivered: Int
    /// Virtual time from `connect` to the last byte read, or the time limit when the transfer did not finish.
    public var elapsed: Duration
    /// Every byte asked for arrived within the time limit.
    public var completed: Bool { delivered == bytes }
    /// Every byte read equalled the byte sent at that offset.
    public var intact: Bool
    /// TCP segments the sender sent: data, retransmissions, and the handshake's.
    public var senderSegments: Int
    /// Full-size segments the data needs at the least: `bytes` / `payloadPerSegment`, rounded up.
    public var minimumSegments: Int
    /// Frames the bottleneck's drop-tail queue dropped, data direction.
    public var queueDrops: Int
    /// Frames the link lost at random, data direction.
    public var randomLosses: Int
    /// The line rate, bits per second.
    public var capacity: Double
    /// The most goodput the line allows: ``capacity`` times the share of a full frame that is payload.
    public var maximumGoodput: Double
    /// The Mathis et al. bound for this loss rate, bits per second; nil without loss.
    public var mathisBound: Double?

    /// Application bytes delivered per second of virtual time, in bits per second.
    public var goodput: Double {
        let seconds = Double(elapsed.nanoseconds) / 1e9
        return seconds > 0 ? Double(delivered) * 8 / seconds : 0
    }
}

/// `netstack bench lossy`: the goodput of one bulk TCP transfer across a
/// simulated bottleneck with random loss, delay and reordering, per congestion
/// controller, in virtual time and seeded — so the same code gives the same
/// table on every machine, and any change in it is the code's doing.
///
/// The path: two hosts on one full-duplex `Link` at ``linkRate`` (MTU
/// ``mtu``, no FCS), each direction with half the RTT of propagation delay,
/// a drop-tail queue of ``queueLimit(rtt:)`` bytes in front of the wire, and the
/// scenario's loss and reordering in both directions, as netem on both sides of a relay
/// does. A reordered frame is held back by ``reorderDelay`` after its turn, so the frames
/// sent in that time (at 100 Mbit/s and 3 ms, about 25 full-size frames) overtake it.
/// Both sockets get ``bufferSize`` send and receive buffers (set with `setOption` before
/// the handshake) so the window never limits the 100 ms × 100 Mbit/s rows.
///
/// The sender writes a seeded byte pattern; the receiver compares every byte it reads
/// with the pattern at that offset, so a transfer that delivers corrupted or misplaced
/// data is reported as not ``LossyResult/intact``.
///
/// Costs: one simulator run per scenario, its work proportional to the frames
/// sent (a 16 MiB transfer is about 12,000 data frames and their ACKs), plus a
/// byte comparison per byte received; wall time a fraction of a second per
/// 16 MiB row in a release build. Each run builds its own simulator and hosts,
/// so runs share nothing.
public struct LossyBenchmark: Sendable {
    /// Bytes each transfer carries.
    public var bytes: Int
    /// The seed of the simulator (losses, reordering) and of the hosts (sequence numbers, ports).
    public var seed: UInt64
    /// The bottleneck's line rate, bits per second.
    public var linkRate: Int = 100_000_000
    /// The interfaces' IP MTU.
    public var mtu: Int = 1500
    /// Virtual time after which an unfinished transfer stops and reports what it delivered.
    public var timeLimit: Duration = .seconds(600)
    /// SO_SNDBUF and SO_RCVBUF of both sockets, or nil for the stack's defaults.
    public var bufferSize: Int? = 4 << 20
    /// How long a reordered frame is held back.
    public var reorderDelay: Duration = .milliseconds(3)

    /// The loss rates: none, 0.1%, 1%, 5%.
    public static let losses: [Double] = [0, 0.001, 0.01, 0.05]
    /// The round-trip times: LAN-like, regional, intercontinental.
    public static let rtts: [Duration] = [.milliseconds(2), .milliseconds(20), .milliseconds(100)]
    /// The reordering: none, and a quarter of the frames.
    public static let reorders: [Double] = [0, 0.25]

    /// A benchmark of `bytes` per transfer, seeded with `seed`.
    public init(bytes: Int = 16 << 20, seed: UInt64 = 1) {
        self.bytes = bytes
        self.seed = seed
    }

    /// Every combination of the given controllers, RTTs, reorderings and losses,
    /// controller outermost and loss innermost (the order the table prints).
    public static func grid(
        congestion: [CongestionAlgorithm] = CongestionAlgorithm.allCases, losses: [Double] = losses,
        rtts: [Duration] = rtts, reorders: [Double] = reorders
    ) -> [LossyScenario] {
        congestion.flatMap { algorithm in
            rtts.flatMap { rtt in
                reorders.flatMap { reorder in
                    losses.map { LossyScenario(congestion: algorithm, loss: $0, rtt: rtt, reorder: reorder) }
                }
            }
        }
    }

    /// Payload bytes of a full-size segment: the MTU less the IPv4 and TCP
    /// headers and the 12 bytes of the timestamp option (RFC 7323 §3) every segment carries.
    public var payloadPerSegment: Int { mtu - 20 - 20 - 12 }

    /// Bytes of a full-size frame on the wire: the payload, 52 bytes of IPv4, TCP and timestamps, 14 of Ethernet.
    public var frameBytes: Int { mtu + 14 }

    /// The bottleneck's queue for a path of round-trip time `rtt`: one
    /// bandwidth-delay product (the classic rule for sizing a router buffer),
    /// at least 64 KiB so the shortest path still holds a burst of ~40 frames.
    public func queueLimit(rtt: Duration) -> Int {
        max(LinkConfig(bitsPerSecond: linkRate).byteCount(in: rtt), 64 << 10)
    }

    /// The configuration of both directions of the link for `scenario`.
    public func linkConfig(for scenario: LossyScenario) -> LinkConfig {
        LinkConfig(bitsPerSecond: linkRate, propagationDelay: scenario.rtt / 2, loss: scenario.loss,
                   reorder: scenario.reorder, reorderDelay: scenario.reorder > 0 ? reorderDelay : .zero,
                   queueLimit: queueLimit(rtt: scenario.rtt))
    }

    /// The Mathis et al. bound on a Reno-style flow's throughput at loss rate
    /// `p` (Mathis, Semke, Mahdavi, Ott 1997): MSS / RTT · √(3/2) / √p, in bits
    /// per second, with MSS = ``payloadPerSegment``; nil for p = 0 (no bound).
    public func mathisBound(loss p: Double, rtt: Duration) -> Double? {
        guard p > 0 else { return nil }
        let seconds = Double(rtt.nanoseconds) / 1e9
        return Double(payloadPerSegment * 8) / seconds * (1.5).squareRoot() / p.squareRoot()
    }

    /// Runs one transfer of ``bytes`` across the path of `scenario` and reports it.
    /// Throws only when the hosts cannot set up their sockets.
    public func run(_ scenario: LossyScenario) throws(NetError) -> LossyResult {
        let transfer = try LossyTransfer(benchmark: self, scenario: scenario)
        transfer.run()
        let counters = transfer.link.counters(.aToB)
        return LossyResult(
            scenario: scenario, bytes: bytes, delivered: transfer.delivered,
            elapsed: transfer.finished.map { $0 - .zero } ?? timeLimit, intact: transfer.intact,
            senderSegments: transfer.sender.host.statistics.tcpOutSegments,
            minimumSegments: (bytes + payloadPerSegment - 1) / payloadPerSegment,
            queueDrops: counters.queueDropped, randomLosses: counters.lost,
            capacity: Double(linkRate), maximumGoodput: Double(linkRate) * Double(payloadPerSegment) / Double(frameBytes),
            mathisBound: mathisBound(loss: scenario.loss, rtt: scenario.rtt))
    }
}

/// The seeded byte pattern of a transfer: byte `i` is `table[i % period]`, read
/// from a table long enough that any chunk up to `chunk` bytes starting below
/// `period` is one contiguous slice. The period, a prime, shares no factor with
/// segment or buffer sizes, so a chunk delivered at the wrong offset does not match.
struct BytePattern {
    static let period = 65_521
    static let chunk = 256 * 1024
    let table: [UInt8]

    init(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var bytes = [UInt8](repeating: 0, count: Self.period + Self.chunk)
        for i in 0..<Self.period { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
        for i in Self.period..<bytes.count { bytes[i] = bytes[i - Self.period] }
        table = bytes
    }

    /// The pattern from byte `offset` on, up to `count` (≤ `chunk`) bytes.
    func withBytes<R>(at offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let start = offset % Self.period
        return table.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<start + min(count, Self.chunk)])) }
    }

    /// Whether `bytes` equal the pattern at `offset` (`bytes.count` ≤ `chunk`).
    func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        withBytes(at: offset, count: bytes.count) { expected in expected.elementsEqual(bytes) }
    }
}

/// One transfer of a ``LossyBenchmark``: the simulator, the two hosts, the
/// sending and the checking application.
final class LossyTransfer {
    let simulator: Simulator
    let sender: HostNode
    let receiver: HostNode
    let link: Link
    private let bytes: Int
    private let limit: Instant
    private let pattern: BytePattern
    private(set) var written = 0
    private(set) var delivered = 0
    private(set) var intact = true
    /// When the receiver read the last byte.
    private(set) var finished: Instant?
    private var accepted: Int32?
    private var sink = [UInt8](repeating: 0, count: BytePattern.chunk)

    init(benchmark: LossyBenchmark, scenario: LossyScenario) throws(NetError) {
        bytes = benchmark.bytes
        limit = .zero + benchmark.timeLimit
        pattern = BytePattern(seed: benchmark.seed)
        simulator = Simulator(seed: benchmark.seed)
        func host(_ name: String, _ last: UInt8) -> HostNode {
            var config = HostConfig(name: name)
            config.randomSeed = benchmark.seed &* 0x9E37_79B9 &+ UInt64(last)
            config.tcp.socketDefaults.congestion = scenario.congestion
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last), mtu: benchmark.mtu, fcs: false))
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: InterfaceID(0), now: .zero)
            host.addStaticARP(IPv4Address(192, 0, 2, 3 - last), mac: MACAddress(2, 0, 0, 0, 0, 3 - last), interface: InterfaceID(0))
            return HostNode(host)
        }
        sender = host("sender", 1)
        receiver = host("receiver", 2)
        link = simulator.connect(sender, 0, receiver, 0, config: benchmark.linkConfig(for: scenario), name: "bottleneck")

        let listener = receiver.host.socket(.stream)
        let client = sender.host.socket(.stream)
        if let size = benchmark.bufferSize {
            for (host, fd) in [(receiver.host, listener), (sender.host, client)] {
                try host.setOption(fd, .sendBuffer(size))
                try host.setOption(fd, .receiveBuffer(size))
            }
        }
        try receiver.host.bind(listener, to: Endpoint(.any, 5001))
        try receiver.host.listen(listener, backlog: 1)
        sender.applications.append { [unowned self] host, now in write(host, client, now) }
        receiver.applications.append { [unowned self] host, now in
            if accepted == nil, let (fd, _) = try? host.accept(listener) { accepted = fd }
            if let fd = accepted { read(host, fd, now) }
        }
        try sender.host.connect(client, to: Endpoint(IPv4Address(192, 0, 2, 2), 5001), now: .zero)
    }

    /// Writes the pattern while the socket takes it, as an event-driven application does.
    private func write(_ host: Host, _ fd: Int32, _ now: Instant) {
        while written < bytes, (try? host.poll(fd))?.contains(.writable) == true {
            let n = pattern.withBytes(at: written, count: bytes - written) { chunk in try? host.send(fd, chunk, now: now) }
            guard let n, n > 0 else { return }
            written += n
        }
    }

    /// Reads what arrived and checks it against the pattern.
    private func read(_ host: Host, _ fd: Int32, _ now: Instant) {
        sink.withUnsafeMutableBytes { buffer in
            while delivered < bytes, let n = try? host.recv(fd, into: buffer, now: now), n > 0 {
                if intact, !pattern.matches(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: delivered) { intact = false }
                delivered += n
            }
        }
        if delivered >= bytes, finished == nil { finished = now }
    }

    /// Runs the simulator in 50 ms slices until the last byte is read or the time limit passes.
    func run() {
        while finished == nil, simulator.now < limit {
            if simulator.run(until: min(simulator.now + .milliseconds(50), limit)) == .eventLimit { return }
        }
    }
}
