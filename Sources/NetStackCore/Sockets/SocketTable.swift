/// The kind of socket `socket()` creates.
public enum SocketType: Sendable {
    /// SOCK_STREAM: TCP.
    case stream
    /// SOCK_DGRAM: UDP.
    case datagram
}

/// Which directions `shutdown` closes.
public enum ShutdownHow: Sendable {
    case read, write, both
}

/// A socket option for `setOption` / `option` (setsockopt / getsockopt).
public enum SocketOption: Sendable, Equatable {
    case noDelay(Bool)                   // TCP_NODELAY
    case cork(Bool)                      // TCP_CORK
    case sendBuffer(Int)                 // SO_SNDBUF
    case receiveBuffer(Int)              // SO_RCVBUF
    case keepAlive(Bool)                 // SO_KEEPALIVE
    case keepAliveIdle(Duration)         // TCP_KEEPIDLE
    case keepAliveInterval(Duration)     // TCP_KEEPINTVL
    case keepAliveCount(Int)             // TCP_KEEPCNT
    case linger(Duration?)               // SO_LINGER
    case reuseAddress(Bool)              // SO_REUSEADDR
    case userTimeout(Duration?)          // TCP_USER_TIMEOUT
    case congestion(CongestionAlgorithm) // TCP_CONGESTION
    case broadcast(Bool)                 // SO_BROADCAST (UDP)
    case v6Only(Bool)                    // IPV6_V6ONLY: before bind (or listen)
    /// IP_TRANSPARENT: the socket may bind an address that is not the host's (port 0:
    /// every port); as a listener it takes connections arriving on interfaces in
    /// any-destination mode (``Host/setAcceptsAnyDestination(_:interface:)``). Set before `bind`.
    case transparent(Bool)
    /// For a transparent listener: offer each connection attempt, with its original
    /// destination, before answering it (``Host/nextFlowRequest(_:)``), so the
    /// application can reach the destination first and then accept or refuse.
    case interceptHandshakes(Bool)
}

/// Readiness of a descriptor, as `poll()` reports it.
public struct PollEvents: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data (or end of stream) to read, or a connection to accept.
    public static let readable = PollEvents(rawValue: 1)
    /// Room in the send buffer of a connected socket.
    public static let writable = PollEvents(rawValue: 2)
    /// An error is pending (`SO_ERROR`).
    public static let error = PollEvents(rawValue: 4)
    /// The connection is closed in both directions.
    public static let hangUp = PollEvents(rawValue: 8)

    public var description: String {
        [(PollEvents.readable, "IN"), (.writable, "OUT"), (.error, "ERR"), (.hangUp, "HUP")]
            .filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }
}

/// What one descriptor refers to: the control record the chapter calls a socket.
final class SocketRecord {
    let type: SocketType
    var options: TCPSocketOptions
    /// The address `bind` gave (TCP); UDP keeps its own in the UDP table.
    var bound: Endpoint?
    var listener: TCPListenQueue?
    var connection: TCPConnection?
    var udp: UDPSocketID?
    /// The peer `connect` set for a UDP socket.
    var udpPeer: Endpoint?
    var readShut = false
    /// In the host's readiness list (``Host/takeReadinessChanges(into:)``) since it was last taken.
    var listedReady = false
    /// IP_TRANSPARENT and handshake interception (TCP listeners).
    var transparent = false
    var intercepts = false

    init(type: SocketType, options: TCPSocketOptions) {
        self.type = type
        self.options = options
    }
}
