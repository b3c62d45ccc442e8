import ArgumentParser
import Glibc
import NetStackCore
import NetStackRuntime
import NetStackServices
import NetStackWire

/// `netstack ping`: ICMP echo through NetStack on a TAP/TUN device, printed like iputils ping.
struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ping a host through NetStack on a TAP or TUN device (output like iputils ping).",
        discussion: "Exits 0 when at least one reply came, 1 when none did, 2 on other errors."
    )

    @OptionGroup var device: DeviceOptions

    @OptionGroup var offload: OffloadOptions

    @OptionGroup var busyPoll: BusyPollOptions

    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after COUNT requests (default: until interrupted).", valueName: "COUNT"))
    var count: Int?

    @Option(name: .customShort("i"), help: ArgumentHelp("Seconds between requests (at least 0.01).", valueName: "INTERVAL"))
    var interval: Double = 1

    @Option(name: .customShort("s"), help: ArgumentHelp("Payload bytes per request.", valueName: "SIZE"))
    var size: Int = 56

    @Option(name: .long, help: ArgumentHelp("The DNS server for a host name.", valueName: "IP"))
    var dns: String?

    @Argument(help: "The address (or name, with --dns) to ping.")
    var destination: String

    func validate() throws {
        if let count, count < 1 { throw ValidationError("bad count \(count): must be at least 1") }
        if !(interval >= 0.01 && interval <= 3600) { throw ValidationError("bad interval \(interval): 0.01 to 3600 seconds") }
        if !(0...65_507).contains(size) { throw ValidationError("bad size \(size): 0 to 65507 bytes") }
        if let dns, IPv4Address(dns) == nil { throw ValidationError("malformed DNS server address '\(dns)'") }
        if IPv4Address(destination) == nil, dns == nil {
            throw ValidationError("'\(destination)' is not an IPv4 address (give --dns IP to resolve names)")
        }
    }

    func run() throws {
        var configuration = try device.configuration()
        configuration.offload = try offload.mode()
        configuration.dhcp?.narrate = offload.verbose
        configuration.busyPoll = try busyPoll.duration()
        if let dns = dns.flatMap({ IPv4Address($0) }) { configuration.host.resolver.nameservers = [dns] }
        let runtime = try StackRuntime(configuration)
        offload.report(runtime)
        let resolved = try resolve(runtime)
        let session = try runtime.withHost { host, now in
            do {
                return try PingSession(host: host, destination: resolved, count: count,
                                       interval: .nanoseconds(Int64(interval * 1e9)), payloadLength: size,
                                       identifier: UInt16(truncatingIfNeeded: getpid()), now: now) { line in
                    print(line)
                    fflush(nil)
                }
            } catch { throw ValidationError("ping: \(error)") }
        }
        runtime.start(session)
        try runtime.run { _, _ in session.finished }
        runtime.releaseLease()
        if let error = session.sendError {
            throw CommandFailure("ping: connect: \(error.description.split(separator: ":").last.map { $0.dropFirst() } ?? "")")
        }
        if session.received == 0 { Glibc.exit(1) }
    }

    /// The destination's address: a literal, or asked of the DNS server through the stack.
    private func resolve(_ runtime: StackRuntime) throws -> IPv4Address {
        if let literal = IPv4Address(destination) { return literal }
        let id = try runtime.withHost { host, now in try host.resolve(destination, now: now) }
        var state: ResolutionState = .pending
        try runtime.run { host, _ in
            state = host.resolution(id) ?? .failed(.timedOut)
            return state != .pending
        }
        switch state {
        case let .resolved(answer):
            guard let address = answer.addresses.first?.ipv4 else { throw CommandFailure("ping: \(destination): no address") }
            return address
        case let .failed(error): throw CommandFailure("ping: \(destination): \(error)")
        default: throw CommandFailure("ping: \(destination): no address")
        }
    }
}

