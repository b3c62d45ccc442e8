public import NetStackCore
public import NetStackDevices

/// Makes a `Host` (one stack) a `FrameNode`: port *i* is the host's interface *i*.
///
/// Applications run on the host's own schedule: after every poll of the stack,
/// each application gets a turn (read its sockets, answer), and whatever it
/// sent leaves with the same poll — the way a user-space program driven by
/// the stack's event loop behaves, and deterministic.
public final class HostNode: FrameNode {
    /// The stack this node carries.
    public let host: Host
    /// Called after each poll of the stack, with the current time.
    public var applications: [(Host, Instant) -> Void] = []
    /// Times the applications asked to be woken at (e.g. the next ping); the earliest wins.
    public var wakeups: [Instant] = []
    /// Programs given a turn after each poll, after `applications`.
    public private(set) var programs: [any StackApplication] = []

    public init(_ host: Host) { self.host = host }

    public var name: String { host.name }
    public var portCount: Int { host.adapters.count }

    public func receive(_ frame: [UInt8], on port: PortID, now: Instant) {
        host.receive(frame, on: InterfaceID(port), now: now)
    }

    public func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void) {
        host.poll(now: now)
        wakeups.removeAll { $0 <= now }
        for application in applications { application(host, now) }
        for program in programs { program.run(on: host, now: now) }
        for interface in host.interfaces {
            while let frame = host.takeFrame(from: interface, { Array($0) }) { transmit(interface.index, frame) }
        }
    }

    public func nextDeadline() -> Instant? {
        ([host.nextDeadline(), wakeups.min()] + programs.map(\.nextWakeup)).compactMap { $0 }.min()
    }

    /// Starts running `program` on this host: it gets a turn after every poll.
    public func run(_ program: any StackApplication) { programs.append(program) }
}

extension HostNode {
    /// Runs a UDP echo service (RFC 862) on `port`: every datagram goes back to its sender.
    /// Returns the socket.
    @discardableResult
    public func startUDPEcho(port: UInt16 = 7) throws(NetError) -> UDPSocketID {
        let socket = host.udpOpen()
        try host.udpBind(socket, port: port)
        applications.append { host, now in
            while let datagram = host.udpReceive(socket) {
                try? host.udpSend(socket, datagram.payload, to: datagram.source, now: now)
            }
        }
        return socket
    }
}
