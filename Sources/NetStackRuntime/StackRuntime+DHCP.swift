import Glibc
import NetStackCore
public import NetStackWire

/// How a runtime takes its address from DHCP (`--address dhcp`).
public struct DHCPSettings: Sendable {
    /// How long the initializer waits for a lease before it fails.
    public var timeout: Duration = .seconds(30)
    /// Write each DHCP event (DISCOVER sent, OFFER, REQUEST, ACK, renew …) to standard error (`--verbose`).
    public var narrate = false
    /// Option 12 in DISCOVER and REQUEST, when set.
    public var hostName: String?

    public init() {}
}

extension StackRuntime {
    /// Runs a `DHCPAgent` on the stack until it is BOUND (the loop runs on the calling
    /// thread meanwhile), and leaves it running: it renews at T1, rebinds at T2, and
    /// releases the lease when the runtime stops. Throws one line when no lease came
    /// within `settings.timeout` or the loop stopped first.
    func acquireLease(_ settings: DHCPSettings) throws(RuntimeError) {
        var random = SystemRandomNumberGenerator()
        let (mac, startedAt) = withHost { host, now in (host.adapters[interface.index].mac, now) }
        let agent = DHCPAgent(interface: interface, mac: mac, seed: random.next(), hostName: settings.hostName)
        if settings.narrate {
            agent.onEvent = { event in
                let line = "netstack: \(event)\n"
                _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
        start(agent)
        dhcpAgent = agent
        let deadline = startedAt + settings.timeout
        try run { _, now in agent.lease != nil || now >= deadline }
        guard agent.lease != nil else {
            if clock.now() < deadline { throw RuntimeError("stopped while waiting for a DHCP lease on \(device.name)") }
            throw RuntimeError("no DHCP lease on \(device.name) within \(settings.timeout) (\(agent.client.ignoredReplies) replies ignored)")
        }
    }

    /// Gives the DHCP lease back (RELEASE) for a command that ends on its own (`ping`, `fetch`):
    /// runs the loop until the RELEASE has left — ARP may first have to find the server — or
    /// `DHCPAgent.releaseGrace` has passed. Does nothing without a lease; `serve` and `tunnel`
    /// release when they are stopped (SIGINT/SIGTERM).
    public func releaseLease() {
        guard let agent = dhcpAgent, agent.lease != nil else { return }
        withHost { host, now in agent.stop(on: host, now: now) }
        try? run { _, _ in !agent.isReleasing }
    }

    /// The address the stack has on its interface now (a DHCP lease's, or the configured one).
    public var currentAddress: (address: IPv4Address, prefixLength: Int)? {
        withHost { host, _ in
            host.addresses.first { $0.interface == interface }.map { ($0.address, $0.network.prefixLength) }
        }
    }
}
