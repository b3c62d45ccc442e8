public import NetStackCore

/// Why an HTTP exchange failed: a URL that cannot be fetched, a response that
/// breaks HTTP/1.1's syntax (RFC 9112), or a connection that ended badly.
/// `description` is one line, fit for a command's error message.
public enum HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL cannot be parsed, with the reason.
    case malformedURL(String)
    /// Only `http://` URLs are fetched; the scheme given.
    case unsupportedScheme(String)
    /// The status line is not `HTTP/1.x NNN reason`.
    case malformedStatusLine
    /// A header line breaks the field syntax (RFC 9112 §5, RFC 9110 §5).
    case malformedHeader
    /// The response head is longer than the parser accepts (or has too many fields).
    case headTooLarge
    /// A status code outside 100…599.
    case badStatus(Int)
    /// Content-Length is not a number, or several disagree (RFC 9112 §6.3).
    case malformedContentLength
    /// A chunk-size line, or the CRLF after a chunk, is malformed (RFC 9112 §7.1).
    case malformedChunk
    /// The connection ended before the body did: `received` of `expected` bytes
    /// (`expected` nil for a chunked body).
    case bodyTooShort(expected: Int?, received: Int)
    /// The connection ended before a complete response head arrived.
    case connectionClosedEarly
    /// The peer reset the connection (ECONNRESET).
    case connectionReset
    /// Nothing happened for longer than the timeout allows (or TCP gave up, ETIMEDOUT).
    case timedOut
    /// Any other socket error: refused, unreachable, …
    case network(NetError)
    /// The application was stopped before the exchange finished.
    case cancelled

    /// The HTTP view of a socket error.
    public init(_ error: NetError) {
        switch error {
        case .connectionReset: self = .connectionReset
        case .timedOut: self = .timedOut
        default: self = .network(error)
        }
    }

    public var description: String {
        switch self {
        case let .malformedURL(reason): "malformed URL: \(reason)"
        case let .unsupportedScheme(scheme): "unsupported URL scheme '\(scheme)' (only http:// is supported)"
        case .malformedStatusLine: "malformed response: bad status line"
        case .malformedHeader: "malformed response: bad header field"
        case .headTooLarge: "malformed response: header section too large"
        case let .badStatus(code): "malformed response: status code \(code) out of range"
        case .malformedContentLength: "malformed response: bad Content-Length"
        case .malformedChunk: "malformed response: bad chunked encoding"
        case let .bodyTooShort(expected?, received):
            "connection closed after \(received) of \(expected) body bytes"
        case let .bodyTooShort(nil, received): "connection closed after \(received) body bytes, inside a chunk"
        case .connectionClosedEarly: "connection closed before a complete response head"
        case .connectionReset: "connection reset by peer"
        case .timedOut: "timed out"
        case let .network(error): error.description
        case .cancelled: "cancelled"
        }
    }
}
