import ArgumentParser
import Glibc
import NetStackCore
import NetStackRuntime

/// `netstack tunnel`: every TCP connection and UDP flow arriving on a TUN device is relayed to its
/// original destination through the host's own sockets.
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
            namespace. SIGINT or SIGTERM closes every flow with FIN and exits 0. Example, then moving \
            tun0 into the client's namespace `c`:
              netstack tunnel --tun tun0 --address 198.51.100.1/24 --direct --outbound-interface eth0
              ip link set tun0 netns c
              ip -n c addr add 198.51.100.2/24 dev tun0; ip -n c link set tun0 up
              ip -n c route add default dev tun0
            """
    )

    @Option(name: .long, help: ArgumentHelp("The TUN device NAME (it must exist: ip tuntap add dev NAME mode tun).", valueName: "NAME"))
    var tun: String

    @Option(name: .long, help: ArgumentHelp("The stack's own address and prefix on the TUN, e.g. 198.51.100.1/24.", valueName: "A.B.C.D/P"))
    var address: String

    @Flag(name: .long, help: "Reach destinations through the host's own sockets (the default, and for now the only way).")
    var direct = false

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

    func validate() throws {
        if tun.isEmpty || tun.utf8.count > 15 { throw ValidationError("bad --tun '\(tun)': an interface name of 1 to 15 bytes") }
        _ = try parseInterfaceAddress(address)
        if let outboundInterface, outboundInterface.isEmpty || outboundInterface.utf8.count > 15 {
            throw ValidationError("bad --outbound-interface '\(outboundInterface)': an interface name of 1 to 15 bytes")
        }
        if !(1...1_000_000).contains(maxFlows) { throw ValidationError("bad --max-flows \(maxFlows): 1 to 1000000") }
        if !(1...86_400).contains(udpTimeout) { throw ValidationError("bad --udp-timeout \(udpTimeout): 1 to 86400 seconds") }
    }

    func run() throws {
        let (ip, prefix) = try parseInterfaceAddress(address)
        if let outboundInterface, if_nametoindex(outboundInterface) == 0 {
            throw CommandFailure("no such interface '\(outboundInterface)' for --outbound-interface")
        }
        raiseDescriptorLimit(toward: maxFlows + 256)
        var configuration = RuntimeConfiguration(deviceName: tun, deviceKind: .tun, address: ip, prefixLength: prefix)
        configuration.controlPath = control
        configuration.pcapPath = pcap
        var relay = TunnelRelayConfig()
        relay.outboundInterface = outboundInterface
        relay.maxFlows = maxFlows
        relay.udpIdleTimeout = .seconds(udpTimeout)
        let runtime = try StackRuntime(configuration)
        let program = try runtime.withHost { host, _ throws -> TunnelRelay in
            do { return try TunnelRelay(host: host, interface: runtime.interface, config: relay) } catch {
                throw CommandFailure("cannot intercept on \(tun): \(error)")
            }
        }
        runtime.start(program)
        print("ready tun \(runtime.device.name) \(address) tunnel direct"
              + (outboundInterface.map { " via \($0)" } ?? "") + " max-flows \(maxFlows)")
        fflush(nil)
        try runtime.run()
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
