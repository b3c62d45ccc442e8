// The host's own sockets, for the relay's upstream side: non-blocking,
// close-on-exec, optionally bound to one interface so that relayed traffic
// cannot be routed back into the TUN it came from. Thin Glibc wrappers that
// return errno values instead of throwing, as the relay handles each code.

import Glibc
import NetStackCore
import NetStackWire

/// A non-blocking IPv4 socket of the host's kernel: its descriptor, and the calls the relay makes on it.
struct KernelSocket {
    let fd: Int32

    /// A new non-blocking TCP (`stream`) or UDP socket, bound to `interface` (SO_BINDTODEVICE) when given;
    /// or the errno of the failing call.
    static func open(stream: Bool, interface: String?) -> Result<KernelSocket, KernelSocketError> {
        let type = (stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return .failure(KernelSocketError(errno)) }
        if let interface {
            let result = interface.withCString { name in
                setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, socklen_t(strlen(name) + 1))
            }
            if result != 0 {
                let code = errno
                Glibc.close(fd)
                return .failure(KernelSocketError(code))
            }
        }
        return .success(KernelSocket(fd: fd))
    }

    /// Starts connecting to `remote`: nil when connected or in progress (EINPROGRESS), else the error.
    func connect(to remote: Endpoint) -> KernelSocketError? {
        var address = sockaddr_in(remote)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result == 0 { return nil }
        let code = errno
        return code == EINPROGRESS || code == EINTR ? nil : KernelSocketError(code)
    }

    /// getsockopt(SO_ERROR): the outcome of a non-blocking connect (nil: connected), cleared by reading it.
    func takeError() -> KernelSocketError? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return KernelSocketError(errno) }
        return code == 0 ? nil : KernelSocketError(code)
    }

    /// recv(): bytes read (> 0), 0 at end of stream, or the error (EAGAIN when nothing waits).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, KernelSocketError> {
        let count = Glibc.recv(fd, buffer.baseAddress, buffer.count, 0)
        return count >= 0 ? .success(count) : .failure(KernelSocketError(errno))
    }

    /// send() without SIGPIPE: bytes taken, or the error (EAGAIN when the socket buffer is full).
    func write(_ bytes: UnsafeRawBufferPointer) -> Result<Int, KernelSocketError> {
        let count = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        return count >= 0 ? .success(count) : .failure(KernelSocketError(errno))
    }

    /// sendto() without SIGPIPE, for an unconnected UDP socket: bytes taken, or the error.
    func write(_ bytes: UnsafeRawBufferPointer, to remote: Endpoint) -> Result<Int, KernelSocketError> {
        var address = sockaddr_in(remote)
        let count = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return count >= 0 ? .success(count) : .failure(KernelSocketError(errno))
    }

    /// recvfrom(): a datagram's length and its IPv4 source, or the error (EAGAIN when nothing waits).
    func readFrom(into buffer: UnsafeMutableRawBufferPointer) -> Result<(count: Int, source: Endpoint), KernelSocketError> {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length)
            }
        }
        guard count >= 0 else { return .failure(KernelSocketError(errno)) }
        let source = Endpoint(IPv4Address(rawValue: UInt32(bigEndian: address.sin_addr.s_addr)), UInt16(bigEndian: address.sin_port))
        return .success((count, source))
    }

    /// shutdown(SHUT_WR): a FIN once what was written has gone.
    func shutdownWrite() { _ = Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// close(); with `reset`, SO_LINGER zero first, so the peer gets an RST instead of a FIN.
    func close(reset: Bool = false) {
        if reset {
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        }
        Glibc.close(fd)
    }
}

/// An errno from a kernel socket call.
struct KernelSocketError: Error, Equatable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }

    var wouldBlock: Bool { code == EAGAIN || code == EWOULDBLOCK || code == EINTR }

    /// How an intercepted connection attempt is refused when connecting upstream failed this way:
    /// a refusal stays a refusal (RST), an unreachable network or host the matching ICMP error.
    var refusal: FlowRefusal {
        switch code {
        case ECONNREFUSED: .reset
        case ENETUNREACH, ENONET: .networkUnreachable
        case EACCES, EPERM: .administrativelyProhibited
        default: .hostUnreachable  // EHOSTUNREACH, EHOSTDOWN, ETIMEDOUT and the rest
        }
    }

    var description: String { String(cString: strerror(code)) }
}

extension sockaddr_in {
    /// The IPv4 socket address of `endpoint`.
    init(_ endpoint: Endpoint) {
        self.init()
        sin_family = sa_family_t(AF_INET)
        sin_port = endpoint.port.bigEndian
        sin_addr.s_addr = endpoint.address.rawValue.bigEndian
    }
}
