public import NetStackWire

/// Runs a ``DHCPClient`` on a host's interface as a ``StackApplication``: a UDP
/// socket on port 68 (broadcast allowed) carries its messages, and its leases are
/// applied to the host (address, default route, nameservers). `stop` releases the lease.
///
/// Works on an Ethernet (TAP) interface; before it has an address the host sends its
/// broadcasts from 0.0.0.0 out of the first interface. A class: the driver and its owner share it.
public final class DHCPAgent: StackApplication {
    /// The state machine it drives (state, lease, ignored replies).
    public private(set) var client: DHCPClient
    /// The interface whose address the lease sets.
    public let interface: InterfaceID
    /// Called with each event (for `--verbose`), on the stack's thread.
    public var onEvent: ((DHCPEvent) -> Void)?
    /// Datagrams on port 68 that did not parse as DHCP.
    public private(set) var malformedReplies = 0
    private var socket: UDPSocketID?
    private var started = false
    /// A released lease whose address stays until the RELEASE has left: while ARP still asks
    /// for the server, its reply is addressed to the leased address.
    private var retiring: (lease: DHCPLease, since: Instant)?
    /// Longest a released address waits for the RELEASE to leave (ARP's three tries).
    public static let releaseGrace = Duration.seconds(3)
    private var buffer = [UInt8](repeating: 0, count: 1_500)

    /// An agent for `interface` of a host whose MAC there is `mac`; `seed` as for ``DHCPClient``.
    public init(interface: InterfaceID, mac: MACAddress, seed: UInt64, hostName: String? = nil) {
        self.interface = interface
        client = DHCPClient(mac: mac, seed: seed, hostName: hostName)
    }

    /// The lease in use, if any.
    public var lease: DHCPLease? { client.lease }

    /// The client's next timer, the end of a release's grace, or now before the first turn.
    public var nextWakeup: Instant? {
        if let retiring { return retiring.since + Self.releaseGrace }
        return started ? client.nextDeadline : .zero
    }

    /// True from `stop` until the RELEASE has left (or ``releaseGrace`` has passed) and the address is gone.
    public var isReleasing: Bool { retiring != nil }

    /// First turn: opens port 68 and broadcasts the DISCOVER. Then: hands the client every
    /// datagram from port 67 (those that do not parse are counted), and runs its timers.
    public func run(on host: Host, now: Instant) {
        if retiring != nil { return settleRelease(on: host, now: now) }
        if !started {
            started = true
            let socket = host.udpOpen()
            host.udpSetBroadcast(socket, true)
            do { try host.udpBind(socket, port: DHCPMessage.clientPort) } catch {
                onEvent?(.replyIgnored(reason: "cannot bind port 68: \(error)"))
                return
            }
            self.socket = socket
            perform(client.start(now: now), on: host, now: now)
        }
        guard let socket else { return }
        while let datagram = host.udpReceive(socket) {
            guard datagram.source.port == DHCPMessage.serverPort else { continue }
            let parsed = datagram.payload.withUnsafeBytes { try? DHCPMessage.parse($0) }
            guard let message = parsed else {
                malformedReplies += 1
                continue
            }
            perform(client.receive(message, now: now), on: host, now: now)
        }
        if let checked = client.addressBeingChecked, host.takeAddressConflict(checked) {
            perform(client.addressConflict(checked, now: now), on: host, now: now)
        }
        perform(client.poll(now: now), on: host, now: now)
        if client.addressBeingChecked == nil { host.endAddressProbe() }
    }

    /// Sends the RELEASE (§4.4.6) and stops the client. The address is removed once the
    /// RELEASE has left: at once when the server's (or the router's) MAC is known, else
    /// on a later turn when ARP has found it, or after ``releaseGrace``.
    public func stop(on host: Host, now: Instant) {
        for action in client.release(now: now) {
            if case let .deconfigure(lease) = action { retiring = (lease, now) } else { perform([action], on: host, now: now) }
        }
        if let socket { host.udpClose(socket) }
        socket = nil
        settleRelease(on: host, now: now)
    }

    private func settleRelease(on host: Host, now: Instant) {
        guard let (lease, since) = retiring else { return }
        let hop = lease.network.contains(lease.server) ? lease.server : lease.routers.first ?? lease.server
        guard host.arpCache.lookup(hop, now: now) != nil || now >= since + Self.releaseGrace else { return }
        host.removeLease(lease, from: interface)
        retiring = nil
    }

    private func perform(_ actions: [DHCPClient.Action], on host: Host, now: Instant) {
        for action in actions {
            switch action {
            case let .send(message, destination):
                guard let socket else { continue }
                let length = buffer.withUnsafeMutableBytes { message.emit(into: $0) }
                // A failure (no route yet) is retried by the client's own retransmission.
                buffer.withUnsafeBytes { bytes in
                    try? host.udpSend(socket, UnsafeRawBufferPointer(rebasing: bytes[0..<length]),
                                      to: Endpoint(destination, DHCPMessage.serverPort), now: now)
                }
            case let .configure(lease): host.applyLease(lease, to: interface, now: now)
            case let .deconfigure(lease): host.removeLease(lease, from: interface)
            case let .probe(address): host.probeAddress(address, on: interface, now: now)
            case let .event(event): onEvent?(event)
            }
        }
    }
}
