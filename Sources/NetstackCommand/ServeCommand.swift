import ArgumentParser
import Glibc
import NetStackCore
import NetStackRuntime
import NetStackServices
import NetStackWire

/// `netstack serve`: NetStack on a TAP/TUN device, answering ARP and ping and running services.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run NetStack on a TAP or TUN device: ARP, ping, and HTTP/echo/discard services.",
        discussion: """
            Prints a line beginning with `ready` once it accepts traffic and runs until SIGINT or SIGTERM, \
            then closes its connections with FIN, flushes the capture and exits 0. Needs root (or \
            CAP_NET_ADMIN) for the device. Example, in a namespace whose kernel side is 192.0.2.1 on tap0:
              netstack serve --tap tap0 --address 192.0.2.2/24 --http 8080 --root ./www --control /tmp/ns.sock
            """
    )

    @OptionGroup var device: DeviceOptions

    @OptionGroup var offload: OffloadOptions

    @OptionGroup var busyPoll: BusyPollOptions

    @OptionGroup var congestion: CongestionOptions

    @Option(name: .long, help: ArgumentHelp("Serve static files over HTTP/1.1 on PORT (needs --root).", valueName: "PORT"))
    var http: UInt16?

    @Option(name: .long, help: ArgumentHelp("The directory HTTP serves.", valueName: "DIR"))
    var root: String?

    @Flag(name: .long, help: "Serve files and directories whose name starts with '.' (.git, .env); refused with 404 by default.")
    var dotfiles = false

    @Option(name: .customLong("max-per-client"), help: ArgumentHelp(
        "Most HTTP connections open at once from one client address; more are reset at once (default 32).", valueName: "N"))
    var maxPerClient: Int = 32

    @Option(name: .customLong("max-connections"), help: ArgumentHelp(
        "Most connections each TCP service serves at once (default 1024).", valueName: "N"))
    var maxConnections: Int = 1024

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(
        "Seconds a connection of any TCP service may go without progress before it is closed (default 30).", valueName: "S"))
    var idleTimeout: Int = 30

    @Option(name: .customLong("max-time-wait"), help: ArgumentHelp(
        "Most TCP connections kept in TIME_WAIT; beyond it a closing connection is dropped at once and counted (default 32768).",
        valueName: "N"))
    var maxTimeWait: Int = 32_768

    @Option(name: .customLong("tcp-memory"), help: ArgumentHelp(
        "TCP buffer memory of all connections before buffers stop growing (memory pressure), like 32M (default).",
        valueName: "SIZE"))
    var tcpMemory: String = "32M"

    @Option(name: .long, help: ArgumentHelp("TCP echo service (RFC 862) on PORT.", valueName: "PORT"))
    var echo: UInt16?

    @Option(name: .long, help: ArgumentHelp("TCP discard service (RFC 863) on PORT.", valueName: "PORT"))
    var discard: UInt16?

    @Option(name: .customLong("udp-echo"), help: ArgumentHelp("UDP echo service on PORT.", valueName: "PORT"))
    var udpEcho: UInt16?

    @Option(name: .long, help: ArgumentHelp("Answer `netstack netstat|route|arp --control PATH` on this Unix socket.", valueName: "PATH"))
    var control: String?

    func validate() throws {
        if http != nil, root == nil { throw ValidationError("--http needs --root DIR") }
        if root != nil, http == nil { throw ValidationError("--root needs --http PORT") }
        let tcpPorts = [http, echo, discard].compactMap { $0 }
        if Set(tcpPorts).count != tcpPorts.count { throw ValidationError("two TCP services on the same port") }
        if tcpPorts.contains(0) || udpEcho == 0 { throw ValidationError("service ports must be 1 to 65535") }
        if !(1...65_536).contains(maxPerClient) { throw ValidationError("bad --max-per-client \(maxPerClient): 1 to 65536") }
        if !(1...1_000_000).contains(maxConnections) { throw ValidationError("bad --max-connections \(maxConnections): 1 to 1000000") }
        if !(1...86_400).contains(idleTimeout) { throw ValidationError("bad --idle-timeout \(idleTimeout): 1 to 86400 seconds") }
        if !(0...1_000_000).contains(maxTimeWait) { throw ValidationError("bad --max-time-wait \(maxTimeWait): 0 to 1000000") }
        guard let memory = parseByteSize(tcpMemory), memory >= 64 << 10 else {
            throw ValidationError("bad --tcp-memory '\(tcpMemory)': a size like 32M, at least 64K")
        }
        if dotfiles, http == nil { throw ValidationError("--dotfiles needs --http PORT") }
    }

    func run() throws {
        var configuration = try device.configuration()
        configuration.offload = try offload.mode()
        configuration.dhcp?.narrate = offload.verbose
        configuration.busyPoll = try busyPoll.duration()
        configuration.controlPath = control
        configuration.host.tcp.maxTimeWait = maxTimeWait
        if let algorithm = congestion.algorithm { configuration.host.tcp.socketDefaults.congestion = algorithm }
        configuration.host.tcp.bufferMemoryPressure = parseByteSize(tcpMemory) ?? configuration.host.tcp.bufferMemoryPressure
        let content = try root.map { root in
            do { return try DirectoryContent(root: root) } catch { throw ValidationError("--root \(root): \(error)") }
        }
        let runtime = try StackRuntime(configuration)
        offload.report(runtime)
        // With an IPv6 address the services listen on `::` (both families, as Linux's dual-stack sockets);
        // an IPv4-only stack keeps 0.0.0.0, so its `netstat` reads as before.
        let listenAddress: IPAddress = configuration.addresses6.isEmpty && !configuration.autoconfigure6
            ? .v4(.any) : .v6(.unspecified)
        var services: [String] = []
        let programs: [any StackApplication] = try runtime.withHost { host, _ in
            var programs: [any StackApplication] = []
            func start(_ name: String, _ port: UInt16, _ make: () throws(NetError) -> any StackApplication) throws {
                do { programs.append(try make()) } catch {
                    throw ValidationError(error == .addressInUse ? "port \(port) is in use" : "\(name) on port \(port): \(error)")
                }
                services.append("\(name) \(port)")
            }
            let idle = Duration.seconds(idleTimeout)
            if let http, let content {
                try start("http", http) { () throws(NetError) in
                    let server = try HTTPServer(host: host, address: listenAddress, port: http, content: content)
                    server.servesDotfiles = dotfiles
                    server.maxConnectionsPerAddress = maxPerClient
                    server.maxConnections = maxConnections
                    server.idleTimeout = idle
                    return server
                }
            }
            if let echo {
                try start("echo", echo) { () throws(NetError) in
                    let service = try TCPEchoService(host: host, address: listenAddress, port: echo)
                    service.maxConnections = maxConnections
                    service.idleTimeout = idle
                    return service
                }
            }
            if let discard {
                try start("discard", discard) { () throws(NetError) in
                    let service = try TCPDiscardService(host: host, address: listenAddress, port: discard)
                    service.maxConnections = maxConnections
                    service.idleTimeout = idle
                    return service
                }
            }
            if let udpEcho { try start("udp-echo", udpEcho) { () throws(NetError) in try UDPEchoService(host: host, address: listenAddress, port: udpEcho) } }
            return programs
        }
        for program in programs { runtime.start(program) }
        let mode = configuration.deviceKind == .tap ? "tap" : "tun"
        // The IPv4 address first (the lease's, with dhcp), then the IPv6 ones (configured, then formed by SLAAC).
        let ipv4 = runtime.currentAddress.map { "\($0.address)/\($0.prefixLength)" }
        let address = ([ipv4].compactMap { $0 } + runtime.currentAddresses6.map { "\($0.address)/\($0.prefixLength)" })
            .joined(separator: " ")
        print("ready \(mode) \(runtime.device.name) \(address)" + (services.isEmpty ? "" : " " + services.joined(separator: ", ")))
        fflush(nil)
        try runtime.run()
    }
}

/// `netstack netstat|route|arp --control PATH`: a table of the running `serve`.
struct TableCommand {
    static func fetch(_ request: String, control: String) throws {
        let answer = try controlRequest(path: control, request)
        if answer.hasPrefix("error: ") { throw ValidationError(String(answer.dropFirst(7).prefix { $0 != "\n" })) }
        // An empty table (no neighbours yet) prints nothing, as `ip -6 neigh` does.
        if !answer.isEmpty { print(answer, terminator: answer.hasSuffix("\n") ? "" : "\n") }
    }
}

struct NetstatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstat",
        abstract: "Show the sockets of a running `netstack serve`: Proto Recv-Q Send-Q Local Address Foreign Address State.")

    @Option(name: .long, help: ArgumentHelp("The control socket given to `netstack serve --control`.", valueName: "PATH"))
    var control: String

    @Flag(name: [.long, .short], help: "Add TCP detail per connection (cwnd, rtt, rto, windows …), like `ss -ti`.")
    var verbose = false

    @Flag(name: [.long, .short], help: "Show every counter per protocol instead (received, sent, dropped and why), like `netstat -s`.")
    var statistics = false

    func validate() throws {
        if verbose && statistics { throw ValidationError("--verbose and --statistics cannot be combined") }
    }

    func run() throws {
        try TableCommand.fetch(statistics ? "netstat -s" : verbose ? "netstat -v" : "netstat", control: control)
    }
}

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route", abstract: "Show the routing table of a running `netstack serve`.")

    @Option(name: .long, help: ArgumentHelp("The control socket given to `netstack serve --control`.", valueName: "PATH"))
    var control: String

    func run() throws { try TableCommand.fetch("route", control: control) }
}

struct NeighCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neigh",
        abstract: "Show the IPv6 neighbour cache of a running `netstack serve`, like `ip -6 neigh`: address dev IF lladdr MAC STATE.")

    @Option(name: .long, help: ArgumentHelp("The control socket given to `netstack serve --control`.", valueName: "PATH"))
    var control: String

    func run() throws { try TableCommand.fetch("neigh", control: control) }
}

struct ARPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arp", abstract: "Show the ARP cache of a running `netstack serve`.")

    @Option(name: .long, help: ArgumentHelp("The control socket given to `netstack serve --control`.", valueName: "PATH"))
    var control: String

    func run() throws { try TableCommand.fetch("arp", control: control) }
}
