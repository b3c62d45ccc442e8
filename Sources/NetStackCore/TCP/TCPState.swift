/// The states of a TCP connection (RFC 9293 §3.3.2, Figure 5).
public enum TCPState: Sendable, Equatable, CustomStringConvertible {
    case closed, listen, synSent, synReceived, established
    case finWait1, finWait2, closeWait, closing, lastAck, timeWait

    /// The name `netstat` prints: `ESTABLISHED`, `TIME_WAIT` …
    public var description: String {
        switch self {
        case .closed: "CLOSED"
        case .listen: "LISTEN"
        case .synSent: "SYN_SENT"
        case .synReceived: "SYN_RECV"
        case .established: "ESTABLISHED"
        case .finWait1: "FIN_WAIT1"
        case .finWait2: "FIN_WAIT2"
        case .closeWait: "CLOSE_WAIT"
        case .closing: "CLOSING"
        case .lastAck: "LAST_ACK"
        case .timeWait: "TIME_WAIT"
        }
    }

    /// True once the handshake has completed (RFC 9293's "synchronized" states).
    public var isSynchronized: Bool {
        switch self {
        case .closed, .listen, .synSent, .synReceived: false
        default: true
        }
    }

    /// True in the states where data from the peer is still accepted.
    var receivesData: Bool { self == .established || self == .finWait1 || self == .finWait2 }

    /// True in the states where this side may still send data.
    var sendsData: Bool { self == .established || self == .closeWait }
}
