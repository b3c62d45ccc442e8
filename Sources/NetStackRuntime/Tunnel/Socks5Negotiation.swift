// One SOCKS5 negotiation on a non-blocking socket to the proxy: connect,
// greeting, optional username/password, request, reply. Each call moves as
// far as the socket allows and says what to wait for next, so the relay's
// loop never blocks on a proxy; the relay's connect deadline bounds the whole.

import Glibc
import NetStackCore
import NetStackWire

/// Why a negotiation with the proxy failed.
enum Socks5Failure: Equatable {
    /// Connecting to the proxy, or talking to it, failed with this error.
    case proxyUnreachable(KernelSocketError)
    /// The proxy closed the connection, or answered something that is not SOCKS5.
    case protocolError
    /// The proxy accepted none of the methods offered, or rejected the credentials.
    case authenticationRejected
    /// The proxy answered the request with this failure.
    case replied(Socks5ReplyCode)

    /// How the client's attempt is refused: as the proxy's reply says, else an RST.
    var refusal: FlowRefusal {
        if case let .replied(code) = self { return code.refusal }
        return .reset
    }
}

/// What a negotiation waits for, or how it ended.
enum Socks5Progress: Equatable {
    /// Watch the socket for these events, then call `advance` again.
    case waiting(DescriptorEvents)
    /// The proxy carries the connection (CONNECT) or relays datagrams (UDP ASSOCIATE) for it;
    /// BND.ADDR/BND.PORT when IPv4.
    case succeeded(bound: Endpoint?)
    case failed(Socks5Failure)
}

/// A SOCKS5 client negotiation on `socket` (already connecting to the proxy).
/// Holds at most one outgoing message (≤ 513 bytes) and one incoming (≤ 262 bytes). O(1) per call.
final class Socks5Negotiation {
    private enum Step { case connecting, sending, readingMethod, readingAuthentication, readingReply, done }

    let socket: KernelSocket
    private let command: Socks5Command
    private let destination: Socks5Address
    private let port: UInt16
    private let credentials: Socks5Credentials?
    private var step = Step.connecting
    /// The step after the message being sent.
    private var afterSending = Step.done
    private var outgoing: [UInt8] = []
    private var sent = 0
    private var incoming: [UInt8] = []

    init(socket: KernelSocket, command: Socks5Command, destination: Socks5Address, port: UInt16,
         credentials: Socks5Credentials?) {
        self.socket = socket
        self.command = command
        self.destination = destination
        self.port = port
        self.credentials = credentials
    }

    /// Moves the negotiation on after `events` on the socket.
    func advance(_ events: DescriptorEvents) -> Socks5Progress {
        if step == .connecting {
            guard !events.isDisjoint(with: [.writable, .error, .hangUp]) else { return .waiting(.writable) }
            if let error = socket.takeError() { return finish(.failed(.proxyUnreachable(error))) }
            send(Socks5.greeting(offeringUserPassword: credentials != nil), then: .readingMethod)
        }
        while true {
            switch step {
            case .connecting, .done:
                return .failed(.protocolError)
            case .sending:
                while sent < outgoing.count {
                    let result = outgoing[sent...].withUnsafeBytes { socket.write($0) }
                    switch result {
                    case let .success(count): sent += count
                    case let .failure(error):
                        return error.wouldBlock ? .waiting(.writable) : finish(.failed(.proxyUnreachable(error)))
                    }
                }
                step = afterSending
                incoming.removeAll(keepingCapacity: true)
            case .readingMethod:
                if let progress = read(upTo: 2) { return progress }
                switch Socks5.selectedMethod(incoming) {
                case Socks5.noAuthentication?:
                    send(Socks5.request(command, destination, port: port), then: .readingReply)
                case Socks5.userPassword? where credentials != nil:
                    send(Socks5.userPasswordRequest(credentials!), then: .readingAuthentication)
                case nil: return finish(.failed(.protocolError))
                default: return finish(.failed(.authenticationRejected))
                }
            case .readingAuthentication:
                if let progress = read(upTo: 2) { return progress }
                switch Socks5.authenticationSucceeded(incoming) {
                case true?: send(Socks5.request(command, destination, port: port), then: .readingReply)
                case false?: return finish(.failed(.authenticationRejected))
                case nil: return finish(.failed(.protocolError))
                }
            case .readingReply:
                // The reply's length depends on its ATYP: read its head, then exactly the rest.
                guard let length = Socks5.replyLength(incoming) else { return finish(.failed(.protocolError)) }
                if let progress = read(upTo: length) { return progress }
                guard Socks5.replyLength(incoming) == incoming.count else { continue }
                guard let reply = Socks5.reply(incoming) else { return finish(.failed(.protocolError)) }
                guard reply.code == .succeeded else { return finish(.failed(.replied(reply.code))) }
                return finish(.succeeded(bound: reply.bound))
            }
        }
    }

    private func send(_ message: [UInt8], then next: Step) {
        outgoing = message
        sent = 0
        step = .sending
        afterSending = next
    }

    /// Reads until `incoming` holds `total` bytes: nil once it does, else what to report.
    private func read(upTo total: Int) -> Socks5Progress? {
        while incoming.count < total {
            let result = withUnsafeTemporaryAllocation(byteCount: Socks5.longestReply, alignment: 1) { buffer in
                let wanted = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(total - incoming.count)])
                let result = socket.read(into: wanted)
                if case let .success(count) = result { incoming += wanted[0..<count] }
                return result
            }
            switch result {
            case .success(0): return finish(.failed(.protocolError))
            case .success: continue
            case let .failure(error):
                return error.wouldBlock ? .waiting(.readable) : finish(.failed(.proxyUnreachable(error)))
            }
        }
        return nil
    }

    private func finish(_ progress: Socks5Progress) -> Socks5Progress {
        step = .done
        outgoing = []
        incoming = []
        return progress
    }
}
