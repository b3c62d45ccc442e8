import ArgumentParser
import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire

/// `netstack tunnel`: every TCP connection and UDP flow arriving on a TUN device is relayed to its
/// original destination through the host's own sockets, directly or through a SOCKS5 proxy.
struct TunnelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tunnel",
        abstract: "Relay every TCP connection and UDP flow arriving on a TUN device to its original destination.",
        discussion: """
            NetStack terminates whatever arrives on the TUN, whatever its destination, and reaches that \
            destination through the host's own sockets (--direct, the default), bound to \
            --outbound-interface when given so that relayed traffic cannot loop back into the TUN. A \
            destination's refusal reaches the client as a refusal (RST; ICMP unreachable when the network \
            fails or the connect times out after 10 s). Prints a line beginning with `ready`; after that \
            it works from its open descriptor alone, so the TUN may be moved into another network \
            namespace. SIGINT or SIGTERM closes every flow with FIN and exits 0. \
            With --socks5 HOST:PORT, destinations are reached through that SOCKS5 proxy instead (RFC 1928: \
            CONNECT for TCP, one UDP ASSOCIATE per UDP flow); HOST is resolved once at start; with \
            --socks5-user the password comes from the environment variable NETSTACK_SOCKS5_PASSWORD \
            (RFC 1929); --outbound-interface then binds the sockets to the proxy. The proxy's refusal \
            reaches the client as a refusal; a proxy that cannot be reached or rejects the credentials \
            refuses every flow, said once on stderr. Example, then moving tun0 into the client's namespace `c`:
              netstack tunnel --tun tun0 --address 198.51.100.1/24 --direct --outbound-interface eth0
              ip link set tun0 netns c
              ip -n c addr add 198.51.100.2/24 dev tun0; ip -n c link set tun0 up
              ip -n c route add default dev tun0
            """
    )

    @Option(name: .long, help: ArgumentHelp("The TUN device NAME (it must exist: ip tuntap add dev NAME mode tun).", valueName: "NAME"))
    var tun: String?

    @Option(name: .customLong("tun-fd"), help: ArgumentHelp(
        "Adopt the inherited descriptor N instead: an open TUN device, as a VPN app or a parent process hands it over.",
        valueName: "N"))
    var tunFD: Int32?

    @Option(name: .long, help: ArgumentHelp("The stack's own address and prefix on the TUN, e.g. 198.51.100.1/24.", valueName: "A.B.C.D/P"))
    var address: String

    @Flag(name: .long, help: "Reach destinations through the host's own sockets (the default).")
    var direct = false

    @Option(name: .long, help: ArgumentHelp(
        "Reach destinations through the SOCKS5 proxy at HOST:PORT (HOST an IPv4 address or a name resolved once at start).",
        valueName: "HOST:PORT"))
    var socks5: String?

    @Option(name: .customLong("socks5-user"), help: ArgumentHelp(
        "Authenticate to the SOCKS5 proxy as NAME (RFC 1929); the password comes from NETSTACK_SOCKS5_PASSWORD.",
        valueName: "NAME"))
    var socks5User: String?

    @Option(name: .customLong("outbound-interface"), help: ArgumentHelp(
        "Bind every upstream socket to interface IF (SO_BINDTODEVICE), so relayed traffic cannot loop into the TUN.",
        valueName: "IF"))
    var outboundInterface: String?

    @Option(name: .customLong("max-flows"), help: ArgumentHelp(
        "Most flows relayed at once, TCP and UDP together; beyond it TCP is refused (RST) and UDP dropped (default 10000).",
        valueName: "N"))
    var maxFlows: Int = 10_000

    @Option(name: .customLong("udp-timeout"), help: ArgumentHelp(
        "Seconds a UDP flow may stay idle before it and its upstream socket are closed (default 60).", valueName: "SECONDS"))
    var udpTimeout: Int = 60

    @Option(name: .long, help: ArgumentHelp("Answer `netstack netstat|route|arp --control PATH` on this Unix socket.", valueName: "PATH"))
    var control: String?

    @Option(name: .long, help: ArgumentHelp("Write every packet the stack sends and receives on the TUN to FILE (pcap).", valueName: "FILE"))
    var pcap: String?

    @OptionGroup var offload: OffloadOptions

    @OptionGroup var busyPoll: BusyPollOptions

    func validate() throws {
        guard (tun == nil) != (tunFD == nil) else { throw ValidationError("give exactly one of --tun NAME or --tun-fd N") }
        if let tun, tun.isEmpty || tun.utf8.count > 15 { throw ValidationError("bad --tun '\(tun)': an interface name of 1 to 15 bytes") }
        if let tunFD, tunFD < 0 { throw ValidationError("bad --tun-fd \(tunFD): a descriptor number, 0 or more") }
        _ = try parseInterfaceAddress(address)
        if let outboundInterface, outboundInterface.isEmpty || outboundInterface.utf8.count > 15 {
            throw ValidationError("bad --outbound-interface '\(outboundInterface)': an interface name of 1 to 15 bytes")
        }
        if socks5 != nil && direct { throw ValidationError("--direct and --socks5 exclude each other") }
        if let socks5 { _ = try parseProxySpec(socks5) }
        if socks5User != nil && socks5 == nil { throw ValidationError("--socks5-user needs --socks5") }
        _ = try proxyCredentials()
        if !(1...1_000_000).contains(maxFlows) { throw ValidationError("bad --max-flows \(maxFlows): 1 to 1000000") }
        if !(1...86_400).contains(udpTimeout) { throw ValidationError("bad --udp-timeout \(udpTimeout): 1 to 86400 seconds") }
    }

    func run() throws {
        let (ip, prefix) = try parseInterfaceAddress(address)
        if let outboundInterface, if_nametoindex(outboundInterface) == 0 {
            throw CommandFailure("no such interface '\(outboundInterface)' for --outbound-interface")
        }
        raiseDescriptorLimit(toward: maxFlows + 256)
        let device: DeviceSource = tunFD.map { .adopted(fd: $0, kind: .tun) } ?? .named(tun ?? "", kind: .tun)
        var configuration = RuntimeConfiguration(device: device, address: ip, prefixLength: prefix)
        configuration.controlPath = control
        configuration.pcapPath = pcap
        configuration.offload = try offload.mode()
        configuration.dhcp?.narrate = offload.verbose
        configuration.busyPoll = try busyPoll.duration()
        var relay = TunnelRelayConfig()
        relay.outboundInterface = outboundInterface
        if let socks5 {
            let (host, port) = try parseProxySpec(socks5)
            let address = try resolveProxyHost(host)
            relay.socks5 = Socks5Proxy(endpoint: Endpoint(address, port), credentials: try proxyCredentials())
        }
        relay.maxFlows = maxFlows
        relay.udpIdleTimeout = .seconds(udpTimeout)
        let runtime = try StackRuntime(configuration)
        offload.report(runtime)
        let program = try runtime.withHost { host, _ throws -> TunnelRelay in
            do { return try TunnelRelay(host: host, interface: runtime.interface, config: relay) } catch {
                throw CommandFailure("cannot intercept on \(runtime.device.name): \(error)")
            }
        }
        runtime.start(program)
        let upstream = relay.socks5.map { "socks5 \($0.endpoint)" + ($0.credentials == nil ? "" : " user \(socks5User ?? "")") }
        print("ready tun \(runtime.device.name) \(address) tunnel \(upstream ?? "direct")"
              + (outboundInterface.map { " via \($0)" } ?? "") + " max-flows \(maxFlows)")
        fflush(nil)
        try runtime.run()
    }

    /// `HOST:PORT` split at its last colon; throws a one-line error when either part is missing or the port is not 1 to 65535.
    private func parseProxySpec(_ spec: String) throws -> (host: String, port: UInt16) {
        guard let colon = spec.lastIndex(of: ":"), colon != spec.startIndex,
              let port = UInt16(spec[spec.index(after: colon)...]), port != 0 else {
            throw ValidationError("bad --socks5 '\(spec)': expected HOST:PORT, e.g. 192.0.2.1:1080")
        }
        return (String(spec[..<colon]), port)
    }

    /// An IPv4 literal as is; a name through the host's resolver (getaddrinfo, IPv4), once. O(one lookup).
    private func resolveProxyHost(_ host: String) throws -> IPv4Address {
        if let literal = IPv4Address(host) { return literal }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0, let address = list?.pointee.ai_addr else {
            throw CommandFailure("cannot resolve the --socks5 host '\(host)': \(String(cString: gai_strerror(status)))")
        }
        let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
        return IPv4Address(rawValue: UInt32(bigEndian: raw))
    }

    /// The credentials of --socks5-user and NETSTACK_SOCKS5_PASSWORD, or nil without a user;
    /// throws a one-line error for a user without a password, or either empty or over 255 bytes.
    private func proxyCredentials() throws -> Socks5Credentials? {
        guard let socks5User else { return nil }
        guard let password = getenv("NETSTACK_SOCKS5_PASSWORD").map({ String(cString: $0) }), !password.isEmpty else {
            throw ValidationError("--socks5-user needs the password in the environment variable NETSTACK_SOCKS5_PASSWORD")
        }
        guard let credentials = Socks5Credentials(user: socks5User, password: password) else {
            throw ValidationError("bad --socks5-user or NETSTACK_SOCKS5_PASSWORD: each 1 to 255 bytes (RFC 1929)")
        }
        return credentials
    }

    /// Raises the soft limit on open descriptors toward `wanted` (each relayed
    /// flow holds one upstream socket), as far as the hard limit allows.
    private func raiseDescriptorLimit(toward wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(wanted) else { return }
        limit.rlim_cur = min(limit.rlim_max, rlim_t(wanted))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
