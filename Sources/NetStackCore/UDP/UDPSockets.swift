import NetStackWire

/// A handle on a UDP socket of one ``Host``.
public struct UDPSocketID: Hashable, Sendable, CustomStringConvertible {
    public let id: Int
    public var description: String { "udp#\(id)" }
}

/// A datagram waiting in a socket's receive queue.
public struct UDPDatagram: Sendable, Equatable {
    public var source: Endpoint
    public var destination: Endpoint
    public var payload: [UInt8]
}

/// Limits for UDP sockets.
public struct UDPConfig: Sendable {
    /// Bytes of payload a socket's receive queue holds (Linux's default rmem is 208 KiB).
    public var receiveBufferBytes = 212_992
    /// Datagrams a receive queue holds.
    public var receiveQueueDatagrams = 256
    /// Ports handed out by an implicit bind (Linux's ip_local_port_range).
    public var ephemeralPorts: ClosedRange<UInt16> = 32768...60999
    public init() {}
}

/// The UDP socket table (RFC 768): bound ports, bounded receive queues, and the
/// errors ICMP reported for each socket. Lookup by port is one hash probe.
struct UDPSocketTable {
    struct State {
        var local: Endpoint?
        /// The peer of a connected socket (connect()): only it may report ICMP errors.
        var remote: Endpoint?
        var queue: [UDPDatagram] = []
        var queuedBytes = 0
        var pendingError: NetError?
        var allowBroadcast = false
        /// The descriptor holding the socket (`socket(.datagram)`), whose readiness a datagram changes.
        var descriptor: Int32?
    }

    var config: UDPConfig
    private(set) var sockets: [Int: State] = [:]
    private var byPort: [UInt16: Int] = [:]
    private var nextID = 1
    private var ephemeralPorts: EphemeralPorts

    /// A table whose implicit binds pick ports keyed with `portKey` (a host secret).
    init(config: UDPConfig, portKey: (UInt64, UInt64)) {
        self.config = config
        ephemeralPorts = EphemeralPorts(key: portKey)
    }

    mutating func open() -> UDPSocketID {
        defer { nextID += 1 }
        sockets[nextID] = State()
        return UDPSocketID(id: nextID)
    }

    mutating func bind(_ socket: UDPSocketID, address: IPAddress, port: UInt16) throws(NetError) {
        guard var state = sockets[socket.id] else { throw .badDescriptor }
        guard state.local == nil else { throw .invalidArgument }
        var chosen = port
        if chosen == 0 {
            guard let free = ephemeralPort() else { throw .addressInUse }
            chosen = free
        } else if byPort[chosen] != nil {
            throw .addressInUse
        }
        state.local = Endpoint(address, chosen)
        sockets[socket.id] = state
        byPort[chosen] = socket.id
    }

    /// A free port of the ephemeral range, from a keyed pseudorandom start (RFC 6056 §3.3.1).
    private mutating func ephemeralPort() -> UInt16? {
        let byPort = byPort
        return ephemeralPorts.port(in: config.ephemeralPorts) { byPort[$0] == nil }
    }

    /// Records `remote` as the socket's peer (connect()); nil disconnects.
    mutating func connect(_ socket: UDPSocketID, to remote: Endpoint?) {
        update(socket) { $0.remote = remote }
    }

    mutating func close(_ socket: UDPSocketID) {
        guard let state = sockets.removeValue(forKey: socket.id) else { return }
        if let port = state.local?.port, byPort[port] == socket.id { byPort[port] = nil }
    }

    func state(_ socket: UDPSocketID) -> State? { sockets[socket.id] }

    mutating func update(_ socket: UDPSocketID, _ change: (inout State) -> Void) {
        guard var state = sockets[socket.id] else { return }
        change(&state)
        sockets[socket.id] = state
    }

    /// The socket that takes datagrams for `port` sent to `address`.
    func socket(forPort port: UInt16, address: IPAddress) -> UDPSocketID? {
        guard let id = byPort[port], let local = sockets[id]?.local else { return nil }
        guard local.address.accepts(address, v6Only: false) || (local.address.isIPv4 && address.ipv4?.isLimitedBroadcast == true)
        else { return nil }
        return UDPSocketID(id: id)
    }

    /// The socket an ICMP error quoting a datagram from `source` to `destination`
    /// is for: a connected socket bound to `source`'s port (and address, unless
    /// bound to any) whose peer is `destination` — as Linux, which reports errors
    /// to unconnected sockets only with IP_RECVERR. nil otherwise. One hash probe.
    func socket(forErrorFrom source: Endpoint, to destination: Endpoint) -> UDPSocketID? {
        guard let id = byPort[source.port], let state = sockets[id], let local = state.local,
              state.remote == destination, local.address.accepts(source.address, v6Only: false) else { return nil }
        return UDPSocketID(id: id)
    }

    /// Queues a datagram; false when the queue is full (the datagram is dropped, as Linux does).
    mutating func deliver(_ datagram: UDPDatagram, to socket: UDPSocketID) -> Bool {
        guard var state = sockets[socket.id] else { return false }
        guard state.queue.count < config.receiveQueueDatagrams,
              state.queuedBytes + datagram.payload.count <= config.receiveBufferBytes else { return false }
        state.queue.append(datagram)
        state.queuedBytes += datagram.payload.count
        sockets[socket.id] = state
        return true
    }

    mutating func receive(_ socket: UDPSocketID) -> UDPDatagram? {
        guard var state = sockets[socket.id], !state.queue.isEmpty else { return nil }
        let datagram = state.queue.removeFirst()
        state.queuedBytes -= datagram.payload.count
        sockets[socket.id] = state
        return datagram
    }
}
