public import NetStackCore
public import NetStackWire

/// `ping` as a program on the stack's thread: sends an echo request every
/// `interval`, reports each reply or error as a line formatted like iputils
/// ping, and ends with its statistics. Costs one dictionary entry per
/// outstanding request (in the core's ping table).
public final class PingSession: StackApplication {
    /// Whom we ping, over IPv4 (ICMP) or IPv6 (ICMPv6).
    public let destination: IPAddress
    /// Requests sent, replies received, ICMP errors received.
    public private(set) var transmitted = 0, received = 0, errors = 0
    /// True once every request has been sent and answered or given up on.
    public private(set) var finished = false
    /// Set when the very first request could not be sent (no route, …): the session
    /// ended at once, like iputils' "ping: connect: Network is unreachable".
    public private(set) var sendError: NetError?
    /// Round-trip times of the replies, in order.
    public private(set) var roundTrips: [Duration] = []

    private let socket: PingSocket
    private let count: Int?
    private let interval: Duration
    private let payloadLength: Int
    private let linger: Duration
    private let output: (String) -> Void
    private var nextSend: Instant
    private var firstSend: Instant?
    private var lastSend: Instant?
    private var answered: Set<UInt16> = []

    /// Starts pinging at `now`: `count` requests (nil: until ``stop(on:now:)``), one per
    /// `interval`, each carrying `payloadLength` bytes; after the last one, waits up to
    /// `linger` for replies. `output` receives each line to print (without newline).
    public convenience init(host: Host, destination: IPv4Address, count: Int?, interval: Duration = .seconds(1),
                            payloadLength: Int = 56, linger: Duration = .seconds(4), identifier: UInt16, now: Instant,
                            output: @escaping (String) -> Void) throws(NetError) {
        try self.init(host: host, destination: .v4(destination), count: count, interval: interval,
                      payloadLength: payloadLength, linger: linger, identifier: identifier, now: now, output: output)
    }

    /// Starts pinging an address of either family, as above (iputils' `ping -6` lines for IPv6).
    public init(host: Host, destination: IPAddress, count: Int?, interval: Duration = .seconds(1),
                payloadLength: Int = 56, linger: Duration = .seconds(4), identifier: UInt16, now: Instant,
                output: @escaping (String) -> Void) throws(NetError) {
        socket = try host.openPing(identifier: identifier)
        self.destination = destination
        self.count = count
        self.interval = interval
        self.payloadLength = payloadLength
        self.linger = linger
        self.output = output
        nextSend = now
        if destination.isIPv4 {
            output("PING \(destination) (\(destination)) \(payloadLength)(\(payloadLength + 28)) bytes of data.")
        } else {
            output("PING \(destination) (\(destination)) \(payloadLength) data bytes")
        }
    }

    public var nextWakeup: Instant? {
        if finished { return nil }
        if let count, transmitted >= count { return (lastSend ?? nextSend) + linger }
        return nextSend
    }

    public func run(on host: Host, now: Instant) {
        guard !finished else { return }
        for result in host.takePingResults(socket) { report(result, localAddress: host.addresses.first?.address) }
        if count.map({ transmitted < $0 }) ?? true, now >= nextSend {
            transmitted += 1
            if firstSend == nil { firstSend = now }
            lastSend = now
            nextSend = now + interval
            do {
                switch destination {
                case let .v4(v4):
                    try host.ping(socket, to: v4, sequence: UInt16(truncatingIfNeeded: transmitted),
                                  payloadLength: payloadLength, now: now)
                case let .v6(v6):
                    try host.ping(socket, to: v6, sequence: UInt16(truncatingIfNeeded: transmitted),
                                  payloadLength: payloadLength, now: now)
                }
            } catch {
                if transmitted == 1 {
                    sendError = error
                    finished = true
                    host.closePing(socket)
                    return
                }
                errors += 1
                output("ping: sendmsg: \(error.description.split(separator: ":").last.map { $0.dropFirst() } ?? "")")
            }
        }
        if let count, transmitted >= count {
            let allAnswered = answered.count + errors >= count
            if allAnswered || now >= (lastSend ?? now) + linger { finish(on: host) }
        }
    }

    public func stop(on host: Host, now: Instant) {
        if !finished { finish(on: host) }
    }

    private func finish(on host: Host) {
        finished = true
        host.closePing(socket)
        for line in summary() { output(line) }
    }

    private func report(_ result: PingResult, localAddress: IPv4Address?) {
        switch result {
        case let .reply(from, sequence, ttl, bytes, rtt):
            report(reply: "\(bytes + 8) bytes from \(from): icmp_seq=\(sequence) ttl=\(ttl) time=\(Self.milliseconds(rtt)) ms",
                   sequence: sequence, rtt: rtt)
        case let .error(from, sequence, message):
            errors += 1
            output("From \(from) icmp_seq=\(sequence) \(Self.errorText(message))")
        case let .reply6(from, sequence, hopLimit, bytes, rtt):
            report(reply: "\(bytes + 8) bytes from \(from): icmp_seq=\(sequence) ttl=\(hopLimit) time=\(Self.milliseconds(rtt)) ms",
                   sequence: sequence, rtt: rtt)
        case let .error6(from, sequence, message):
            errors += 1
            output("From \(from) icmp_seq=\(sequence) \(Self.errorText6(message))")
        }
    }

    private func report(reply line: String, sequence: UInt16, rtt: Duration) {
        guard answered.insert(sequence).inserted else {
            output(line + " (DUP!)")
            return
        }
        received += 1
        roundTrips.append(rtt)
        output(line)
    }

    /// The closing lines, as iputils prints them.
    public func summary() -> [String] {
        var lines = ["", "--- \(destination) ping statistics ---"]
        let loss = transmitted == 0 ? 0 : (transmitted - received) * 100 / transmitted
        let span = (firstSend != nil && lastSend != nil) ? lastSend! - firstSend! : .zero
        let elapsed = Int(span.components.seconds * 1000 + span.components.attoseconds / 1_000_000_000_000_000)
        lines.append("\(transmitted) packets transmitted, \(received) received"
            + (errors > 0 ? ", +\(errors) errors" : "") + ", \(loss)% packet loss, time \(elapsed)ms")
        if !roundTrips.isEmpty {
            let values = roundTrips.map { Double($0.components.seconds) * 1e3 + Double($0.components.attoseconds) / 1e15 }
            let mean = values.reduce(0, +) / Double(values.count)
            let meanSquare = values.reduce(0) { $0 + $1 * $1 } / Double(values.count)
            let deviation = (max(0, meanSquare - mean * mean)).squareRoot()
            lines.append("rtt min/avg/max/mdev = " + [values.min()!, mean, values.max()!, deviation]
                .map { Self.format($0) }.joined(separator: "/") + " ms")
        }
        return lines
    }

    static func milliseconds(_ duration: Duration) -> String {
        format(Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15)
    }

    /// Three decimals, like iputils ("0.045").
    static func format(_ value: Double) -> String {
        let thousandths = Int((value * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// iputils' wording of an ICMPv6 error.
    static func errorText6(_ message: ICMPv6Message) -> String {
        switch message {
        case let .destinationUnreachable(code):
            switch ICMPv6UnreachableCode(rawValue: code) {
            case .noRoute: "Destination unreachable: No route"
            case .administrativelyProhibited: "Destination unreachable: Administratively prohibited"
            case .address: "Destination unreachable: Address unreachable"
            case .port: "Destination unreachable: Port unreachable"
            default: "Destination unreachable: Unknown code \(code)"
            }
        case let .packetTooBig(mtu): "Packet too big: mtu=\(mtu)"
        case let .timeExceeded(code): code == 0 ? "Time exceeded: Hop limit" : "Time exceeded: Defragmentation failure"
        case let .parameterProblem(code, pointer): "Parameter problem: code \(code) at \(pointer)"
        default: ICMPv6Header(message).description
        }
    }

    static func errorText(_ message: ICMPv4Message) -> String {
        switch message {
        case let .destinationUnreachable(code, _):
            switch UnreachableCode(rawValue: code) {
            case .network: "Destination Net Unreachable"
            case .host: "Destination Host Unreachable"
            case .protocol: "Destination Protocol Unreachable"
            case .port: "Destination Port Unreachable"
            case .fragmentationNeeded: "Frag needed"
            default: "Destination Unreachable (code \(code))"
            }
        case let .timeExceeded(code): code == 0 ? "Time to live exceeded" : "Frag reassembly time exceeded"
        default: ICMPv4Header(message).description
        }
    }
}
