public import NetStackWire

/// What came back for a ping.
public enum PingResult: Sendable, Equatable {
    /// An echo reply: who answered, the sequence number, its TTL, payload size and round-trip time.
    case reply(from: IPv4Address, sequence: UInt16, ttl: UInt8, bytes: Int, rtt: Duration)
    /// An ICMP error about one of our echo requests (TTL exceeded, unreachable …), or a
    /// local failure (ARP got no answer: from is our own address, as Linux's ping shows).
    case error(from: IPv4Address, sequence: UInt16, message: ICMPv4Message)
    /// An ICMPv6 echo reply (RFC 4443 §4.2): who answered, the sequence number, its hop limit,
    /// payload size and round-trip time.
    case reply6(from: IPv6Address, sequence: UInt16, hopLimit: UInt8, bytes: Int, rtt: Duration)
    /// An ICMPv6 error about one of our echo requests, or a local failure (neighbour
    /// discovery got no answer: from is our own address).
    case error6(from: IPv6Address, sequence: UInt16, message: ICMPv6Message)
}

/// A handle on a ping (ICMP echo) socket of one ``Host``.
public struct PingSocket: Hashable, Sendable {
    public let identifier: UInt16
}

/// Open ping sockets: send times per sequence number (bounded), and results.
struct PingTable {
    struct State {
        var sent: [UInt16: Instant] = [:]
        var results: [PingResult] = []
    }
    static let maxOutstanding = 1024
    static let maxResults = 1024
    private(set) var sockets: [UInt16: State] = [:]

    mutating func open(identifier: UInt16) throws(NetError) -> PingSocket {
        guard sockets[identifier] == nil else { throw .addressInUse }
        sockets[identifier] = State()
        return PingSocket(identifier: identifier)
    }

    mutating func close(_ socket: PingSocket) { sockets[socket.identifier] = nil }

    mutating func recordSend(_ socket: PingSocket, sequence: UInt16, now: Instant) {
        guard var state = sockets[socket.identifier] else { return }
        if state.sent.count >= Self.maxOutstanding, let oldest = state.sent.min(by: { $0.value < $1.value })?.key {
            state.sent[oldest] = nil
        }
        state.sent[sequence] = now
        sockets[socket.identifier] = state
    }

    /// Records a reply; returns the round-trip time, or nil when no socket waits for it.
    mutating func recordReply(identifier: UInt16, sequence: UInt16, from: IPv4Address, ttl: UInt8, bytes: Int,
                              now: Instant) -> Duration? {
        recordReply(identifier: identifier, sequence: sequence, now: now) { rtt in
            .reply(from: from, sequence: sequence, ttl: ttl, bytes: bytes, rtt: rtt)
        }
    }

    /// Records an ICMPv6 echo reply, as ``recordReply(identifier:sequence:from:ttl:bytes:now:)`` does.
    mutating func recordReply6(identifier: UInt16, sequence: UInt16, from: IPv6Address, hopLimit: UInt8, bytes: Int,
                               now: Instant) -> Duration? {
        recordReply(identifier: identifier, sequence: sequence, now: now) { rtt in
            .reply6(from: from, sequence: sequence, hopLimit: hopLimit, bytes: bytes, rtt: rtt)
        }
    }

    private mutating func recordReply(identifier: UInt16, sequence: UInt16, now: Instant,
                                      result: (Duration) -> PingResult) -> Duration? {
        guard var state = sockets[identifier] else { return nil }
        let rtt = state.sent.removeValue(forKey: sequence).map { now - $0 } ?? .zero
        if state.results.count < Self.maxResults { state.results.append(result(rtt)) }
        sockets[identifier] = state
        return rtt
    }

    mutating func recordError(identifier: UInt16, sequence: UInt16, from: IPv4Address, message: ICMPv4Message) {
        record(.error(from: from, sequence: sequence, message: message), identifier: identifier)
    }

    mutating func recordError6(identifier: UInt16, sequence: UInt16, from: IPv6Address, message: ICMPv6Message) {
        record(.error6(from: from, sequence: sequence, message: message), identifier: identifier)
    }

    private mutating func record(_ result: PingResult, identifier: UInt16) {
        guard var state = sockets[identifier], state.results.count < Self.maxResults else { return }
        state.results.append(result)
        sockets[identifier] = state
    }

    mutating func takeResults(_ socket: PingSocket) -> [PingResult] {
        guard var state = sockets[socket.identifier] else { return [] }
        defer { state.results = []; sockets[socket.identifier] = state }
        return state.results
    }
}
