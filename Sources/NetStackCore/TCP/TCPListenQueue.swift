import NetStackWire

/// A listening socket's queues (RFC 9293 §3.10.7.2; the two queues of Linux's listen()).
///
/// Half-open connections (SYN received, SYN-ACK sent) wait in `halfOpen`,
/// bounded by the stack's SYN backlog — past it, SYN cookies answer instead, so
/// a SYN flood cannot fill the queue. Connections whose handshake completed
/// wait in `acceptQueue` for `accept()`, bounded by the backlog.
final class TCPListenQueue {
    let id: Int
    /// The listening descriptor: its readiness changes when a connection joins `acceptQueue`.
    var descriptor: Int32?
    var local: Endpoint
    var backlog: Int
    var options: TCPSocketOptions
    var halfOpen: Set<Int> = []
    var acceptQueue: [Int] = []
    /// Handshakes completed through a SYN cookie (counted for `netstat -s`-like views and tests).
    var cookiesValidated = 0
    var cookiesSent = 0
    /// SYNs dropped because the accept queue was full.
    var overflows = 0
    /// A transparent listener (``SocketOption/transparent(_:)``): it takes connections for
    /// addresses that are not the host's, arriving on interfaces in any-destination mode;
    /// port 0 in `local` means every port.
    let transparent: Bool
    /// Offers each new connection attempt to the application before answering it
    /// (``Host/nextFlowRequest(_:)``) instead of completing the handshake itself.
    var intercepts = false
    /// Connection attempts waiting to be offered, oldest first (their state is in `TCPTable.pendingFlows`).
    var flowQueue: [ConnectionKey] = []
    /// Attempts held for this listener, offered or not: at most `backlog`.
    var pendingFlowCount = 0

    init(id: Int, local: Endpoint, backlog: Int, options: TCPSocketOptions, transparent: Bool = false) {
        self.id = id
        self.local = local
        self.backlog = max(1, backlog)
        self.options = options
        self.transparent = transparent
    }
}

extension TCPListenQueue {
    /// True when a connection to `destination` is this listener's (as Linux binds): a listener on
    /// 0.0.0.0 takes every IPv4 address, one on `::` every address of both families unless
    /// `v6Only` (RFC 3493 §5.3), one on an address that address alone.
    func accepts(_ destination: IPAddress) -> Bool { local.address.accepts(destination, v6Only: options.v6Only) }
}

/// Identifies a connection by its 4-tuple, the key of demultiplexing.
struct ConnectionKey: Hashable {
    var local: Endpoint
    var remote: Endpoint
}
