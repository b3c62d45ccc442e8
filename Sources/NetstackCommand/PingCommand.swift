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

    @OptionGroup var dnsTimeout: DNSTimeoutOption

    @Flag(name: .customShort("4"), help: "Use IPv4 only (a name resolves to its IPv4 address).")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "Use IPv6 only (ICMPv6 echo; a name resolves to its IPv6 address).")
    var ipv6Only = false

    @Argument(help: "The address (IPv4 or IPv6, or a name with --dns) to ping.")
    var destination: String

    func validate() throws {
        if let count, count < 1 { throw ValidationError("bad count \(count): must be at least 1") }
        if !(interval >= 0.01 && interval <= 3600) { throw ValidationError("bad interval \(interval): 0.01 to 3600 seconds") }
        if !(0...65_507).contains(size) { throw ValidationError("bad size \(size): 0 to 65507 bytes") }
        if ipv4Only && ipv6Only { throw ValidationError("-4 and -6 cannot be combined") }
        if let dns, IPAddress(dns) == nil { throw ValidationError("malformed DNS server address '\(dns)'") }
        if let literal = IPAddress(destination) {
            // As iputils: a literal of the other family than -4/-6 asks for is refused.
            if (ipv4Only && literal.ipv4Address == nil) || (ipv6Only && literal.ipv4Address != nil) {
                throw ValidationError("\(destination): Address family for hostname not supported")
            }
            if literal.isMulticast || literal.isUnspecified { throw ValidationError("\(destination): cannot be pinged (not unicast)") }
        } else if dns == nil {
            throw ValidationError("'\(destination)' is not an IPv4 or IPv6 address (give --dns IP to resolve names)")
        }
    }

    func run() throws {
        var configuration = try device.configuration()
        configuration.offload = try offload.mode()
        configuration.dhcp?.narrate = offload.verbose
        configuration.busyPoll = try busyPoll.duration()
        if let dns = dns.flatMap({ IPAddress($0) }) { configuration.host.resolver.nameservers = [dns] }
        try dnsTimeout.apply(to: &configuration.host.resolver)
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

    /// The destination's address: a literal, or asked of the DNS server through the stack (the
    /// first answer of the family -4/-6 asks for, else the first answer).
    private func resolve(_ runtime: StackRuntime) throws -> IPAddress {
        if let literal = IPAddress(destination) { return literal }
        // -6 asks for AAAA records (RFC 3596), otherwise A.
        let type: AddressRecordType = ipv6Only ? .aaaa : .a
        let id = try runtime.withHost { host, now in try host.resolve(destination, type: type, now: now) }
        var state: ResolutionState = .pending
        try runtime.run { host, _ in
            state = host.resolution(id) ?? .failed(.timedOut)
            return state != .pending
        }
        switch state {
        case let .resolved(answer):
            let addresses = answer.addresses
            let wanted = addresses.first { ipv4Only ? $0.ipv4Address != nil : ipv6Only ? $0.ipv4Address == nil : true }
            guard let wanted else {
                throw CommandFailure("ping: \(destination): " + (addresses.isEmpty ? "no address" : "Address family for hostname not supported"))
            }
            return wanted
        case let .failed(error): throw CommandFailure("ping: \(destination): \(error)")
        default: throw CommandFailure("ping: \(destination): no address")
        }
    }
}


extension IPAddress {
    /// The IPv4 address of an `.v4` value; nil for IPv6 (an IPv4-mapped one included: it is pinged over ICMPv6).
    fileprivate var ipv4Address: IPv4Address? {
        if case let .v4(address) = self { return address }
        return nil
    }
}
