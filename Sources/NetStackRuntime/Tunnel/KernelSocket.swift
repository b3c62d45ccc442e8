// The host's own sockets, for the relay's upstream side: non-blocking,
// close-on-exec, optionally bound to one interface so that relayed traffic
// cannot be routed back into the TUN it came from. Thin Glibc wrappers that
// return errno values instead of throwing, as the relay handles each code.

import Glibc
import NetStackCore
import NetStackWire

/// A non-blocking IPv4 or IPv6 socket of the host's kernel: its descriptor, and the calls the relay makes on it.
struct KernelSocket {
    let fd: Int32

    /// A new non-blocking TCP (`stream`) or UDP socket, bound to `interface` (SO_BINDTODEVICE) when given;
    /// or the errno of the failing call.
    /// `ipv6`: an AF_INET6 socket (for an IPv6 peer), else AF_INET.
    static func open(stream: Bool, interface: String?, ipv6: Bool = false) -> Result<KernelSocket, KernelSocketError> {
        let type = (stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue))
            | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, type, 0)
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
        let result = withSocketAddress(remote) { Glibc.connect(fd, $0, $1) }
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
        let count = withSocketAddress(remote) { Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), $0, $1) }
        return count >= 0 ? .success(count) : .failure(KernelSocketError(errno))
    }

    /// recvfrom(): a datagram's length and its source (IPv4 or IPv6), or the error (EAGAIN when nothing waits).
    func readFrom(into buffer: UnsafeMutableRawBufferPointer) -> Result<(count: Int, source: Endpoint), KernelSocketError> {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length)
            }
        }
        guard count >= 0 else { return .failure(KernelSocketError(errno)) }
        return .success((count, Endpoint(address)))
    }

    /// Calls `body` with `endpoint` as a socket address of its family and that address's length.
    private func withSocketAddress<R>(_ endpoint: Endpoint, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch endpoint.address {
        case let .v4(v4):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = endpoint.port.bigEndian
            address.sin_addr.s_addr = v4.rawValue.bigEndian
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case let .v6(v6):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
                bytes.storeBytes(of: v6.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                bytes.storeBytes(of: v6.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
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

extension Endpoint {
    /// The endpoint a kernel socket address holds (AF_INET or AF_INET6; an IPv4-mapped IPv6
    /// address stays IPv6).
    init(_ storage: sockaddr_storage) {
        var storage = storage
        if storage.ss_family == sa_family_t(AF_INET6) {
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            let (high, low) = withUnsafeBytes(of: address.sin6_addr) {
                (UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(IPv6Address(high: high, low: low), UInt16(bigEndian: address.sin6_port))
        } else {
            let address = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            self.init(IPv4Address(rawValue: UInt32(bigEndian: address.sin_addr.s_addr)), UInt16(bigEndian: address.sin_port))
        }
    }
}
