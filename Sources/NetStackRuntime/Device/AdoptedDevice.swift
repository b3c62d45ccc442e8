import CNetStackShim
import Glibc

/// A packet descriptor the runtime did not open: a TUN or TAP descriptor handed
/// over by another process (inherited across exec, passed with SCM_RIGHTS) or by
/// the platform (Android's `VpnService`), or one end of a datagram or seqpacket
/// local (AF_UNIX) socket pair that carries one frame per message; an empty
/// datagram is dropped, a network socket refused.
///
/// The device takes ownership: it sets the descriptor non-blocking and
/// close-on-exec and closes it when released — pass `dup(fd)` to keep a copy
/// (non-blocking mode belongs to the open file, so a `dup` is non-blocking too).
/// Each `receive` or `send` is one system call, with no allocation; errors that mean
/// the device or the socket's peer is gone (EBADFD, ENODEV, EPIPE …) end the run.
public final class AdoptedDevice: PacketDevice {
    /// The interface name for a tun/tap descriptor, else `fd N`.
    public let name: String
    /// TAP or TUN, as given (and checked against the device for a tun/tap descriptor).
    public let kind: DeviceKind
    /// The adopted descriptor.
    public let fd: Int32
    /// The MTU given, else the interface's (a tun/tap descriptor), else 1500.
    public let mtu: Int
    /// A socket is written with MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE.
    private let isSocket: Bool
    /// A SOCK_DGRAM socket, where a zero-length read is an empty datagram, not the end.
    private let isDatagramSocket: Bool

    /// Adopts `fd` as a device of `kind`. Checks that it is open for reading and
    /// writing, and is a tun/tap descriptor attached to an interface of that kind
    /// without packet-information headers, or a datagram/seqpacket socket; throws one
    /// line naming what is wrong otherwise (and then leaves `fd` open: the caller still owns it).
    public init(adopting fd: Int32, kind: DeviceKind, mtu: Int? = nil) throws(RuntimeError) {
        let what = "descriptor \(fd)"
        let flags = fcntl(fd, F_GETFL)
        guard fd >= 0, flags >= 0 else { throw RuntimeError("\(what) is not open") }
        guard flags & O_ACCMODE == O_RDWR else { throw RuntimeError("\(what) is not open for reading and writing") }
        if let mtu, !(68...65_535).contains(mtu) { throw RuntimeError("bad MTU \(mtu): must be 68 to 65535") }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw RuntimeError.system(what, errno: errno) }
        switch status.st_mode & S_IFMT {
        case S_IFCHR:
            var interface = [CChar](repeating: 0, count: 16)
            var tap: Int32 = 0, packetInfo: Int32 = 0
            let result = ns_tun_info(fd, &interface, &tap, &packetInfo)
            guard result == 0 else {
                throw RuntimeError(-result == EBADFD ? "\(what) is a TUN/TAP descriptor not attached to any interface"
                                                     : "\(what) is a character device but not a TUN/TAP descriptor")
            }
            let actual = interface.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let actualKind: DeviceKind = tap != 0 ? .tap : .tun
            guard actualKind == kind else { throw RuntimeError("\(what) is the \(actualKind.label) device \(actual), not a \(kind.label) device") }
            guard packetInfo == 0 else {
                throw RuntimeError("\(what) (\(actual)) carries packet-information headers: open it with IFF_NO_PI")
            }
            var queried: Int32 = 0
            if mtu == nil {
                let code = ns_tun_mtu(fd, actual, &queried)
                guard code == 0 else { throw RuntimeError("cannot read the MTU of \(actual) (\(errorText(-code))): give it") }
            }
            name = actual
            self.mtu = mtu ?? Int(queried)
            isSocket = false
            isDatagramSocket = false
        case S_IFSOCK:
            var type: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else { throw RuntimeError.system(what, errno: errno) }
            guard type == Int32(SOCK_DGRAM.rawValue) || type == Int32(SOCK_SEQPACKET.rawValue) else {
                throw RuntimeError("\(what) is a stream socket: frames need a datagram or seqpacket socket")
            }
            // Only a local (AF_UNIX) socket: on a UDP socket any host on the network could feed frames in.
            var domain: Int32 = 0
            length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 else { throw RuntimeError.system(what, errno: errno) }
            guard domain == AF_UNIX else { throw RuntimeError("\(what) is a network socket: frames need a local (AF_UNIX) socket") }
            name = "fd \(fd)"
            self.mtu = mtu ?? 1500
            isSocket = true
            isDatagramSocket = type == Int32(SOCK_DGRAM.rawValue)
        default:
            throw RuntimeError("\(what) is neither a TUN/TAP descriptor nor a datagram socket")
        }
        guard fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else { throw RuntimeError.system("\(what): making it non-blocking", errno: errno) }
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        self.fd = fd
        self.kind = kind
    }

    deinit { close(fd) }

    /// Reads one frame (one read(2)); see ``PacketDevice/receive(into:)``. End of file
    /// (a socket whose peer closed) is -EIO.
    @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let result = receivePacket(fd, into: buffer)
        // An empty datagram is not an end of file: dropped (a seqpacket socket's 0 is the peer's close).
        return isDatagramSocket && result == -Int(EIO) ? 0 : result
    }

    /// Writes one frame (one write(2)); see ``PacketDevice/send(_:)``.
    @inline(__always)
    public func send(_ frame: UnsafeRawBufferPointer) -> Int {
        guard isSocket else { return sendPacket(fd, frame) }
        if Glibc.send(fd, frame.baseAddress, frame.count, Int32(MSG_NOSIGNAL)) >= 0 { return 0 }
        let code = errno
        return code == EPIPE || code == ECONNRESET || code == ECONNREFUSED || code == ENOTCONN || code == EBADF ? -Int(code) : 0
    }
}
