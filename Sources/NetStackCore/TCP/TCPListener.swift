/// A listening socket's queues (RFC 9293 §3.10.7.2; the two queues of Linux's listen()).
///
/// Half-open connections (SYN received, SYN-ACK sent) wait in `halfOpen`,
/// bounded by the stack's SYN backlog — past it, SYN cookies answer instead, so
/// a SYN flood cannot fill the queue. Connections whose handshake completed
/// wait in `acceptQueue` for `accept()`, bounded by the backlog.
final class TCPListener {
    let id: Int
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

    init(id: Int, local: Endpoint, backlog: Int, options: TCPSocketOptions) {
        self.id = id
        self.local = local
        self.backlog = max(1, backlog)
        self.options = options
    }
}

/// Identifies a connection by its 4-tuple, the key of demultiplexing.
struct ConnectionKey: Hashable {
    var local: Endpoint
    var remote: Endpoint
}
