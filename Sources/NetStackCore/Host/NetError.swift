/// Errors the stack reports to applications, named and numbered like POSIX
/// `errno` values on Linux so that they read the same as the kernel's.
public enum NetError: Int32, Error, Sendable, CustomStringConvertible {
    case permissionDenied = 13          // EACCES
    case wouldBlock = 11                // EAGAIN
    case invalidArgument = 22           // EINVAL
    case badDescriptor = 9              // EBADF
    case messageTooLong = 90            // EMSGSIZE
    case addressInUse = 98              // EADDRINUSE
    case addressNotAvailable = 99       // EADDRNOTAVAIL
    case networkUnreachable = 101       // ENETUNREACH
    case connectionReset = 104          // ECONNRESET
    case noBufferSpace = 105            // ENOBUFS
    case notConnected = 107             // ENOTCONN
    case timedOut = 110                 // ETIMEDOUT
    case connectionRefused = 111        // ECONNREFUSED
    case hostUnreachable = 113          // EHOSTUNREACH
    case brokenPipe = 32                // EPIPE
    case protocolUnreachable = 92       // ENOPROTOOPT (as Linux maps ICMP protocol unreachable)

    /// The `errno` symbol, e.g. `ECONNREFUSED`.
    public var symbol: String {
        switch self {
        case .permissionDenied: "EACCES"
        case .wouldBlock: "EAGAIN"
        case .invalidArgument: "EINVAL"
        case .badDescriptor: "EBADF"
        case .messageTooLong: "EMSGSIZE"
        case .addressInUse: "EADDRINUSE"
        case .addressNotAvailable: "EADDRNOTAVAIL"
        case .networkUnreachable: "ENETUNREACH"
        case .connectionReset: "ECONNRESET"
        case .noBufferSpace: "ENOBUFS"
        case .notConnected: "ENOTCONN"
        case .timedOut: "ETIMEDOUT"
        case .connectionRefused: "ECONNREFUSED"
        case .hostUnreachable: "EHOSTUNREACH"
        case .brokenPipe: "EPIPE"
        case .protocolUnreachable: "ENOPROTOOPT"
        }
    }

    public var description: String {
        let text: String = switch self {
        case .permissionDenied: "Permission denied"
        case .wouldBlock: "Resource temporarily unavailable"
        case .invalidArgument: "Invalid argument"
        case .badDescriptor: "Bad file descriptor"
        case .messageTooLong: "Message too long"
        case .addressInUse: "Address already in use"
        case .addressNotAvailable: "Cannot assign requested address"
        case .networkUnreachable: "Network is unreachable"
        case .connectionReset: "Connection reset by peer"
        case .noBufferSpace: "No buffer space available"
        case .notConnected: "Transport endpoint is not connected"
        case .timedOut: "Connection timed out"
        case .connectionRefused: "Connection refused"
        case .hostUnreachable: "No route to host"
        case .brokenPipe: "Broken pipe"
        case .protocolUnreachable: "Protocol not available"
        }
        return "\(symbol): \(text)"
    }

    /// The error an ICMP destination-unreachable code means to a sender (RFC 1122 §4.1.3.3).
    public static func fromUnreachable(code: UInt8) -> NetError {
        switch code {
        case 0, 6, 9, 11: .networkUnreachable
        case 2: .protocolUnreachable
        case 3: .connectionRefused
        case 4: .messageTooLong
        case 13: .permissionDenied
        default: .hostUnreachable
        }
    }
}
