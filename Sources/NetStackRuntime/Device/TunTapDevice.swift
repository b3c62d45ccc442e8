import CNetStackShim
import Glibc

/// What a Linux tun/tap device carries.
public enum DeviceKind: Sendable, Equatable {
    /// Ethernet frames (TAP): the stack runs ARP and builds MAC headers.
    case tap
    /// Bare IP packets (TUN): the kind of device VPN and proxy apps use.
    case tun
}

/// A Linux TAP or TUN device, opened non-blocking through `/dev/net/tun`.
///
/// Frames carry no FCS and no packet-information header (IFF_NO_PI). Each
/// `receive` or `send` is one system call (about 1 µs here). A device created
/// by opening disappears when it is closed unless it was made persistent
/// beforehand (`ip tuntap add`).
public final class TunTapDevice: @unchecked Sendable {
    // @unchecked: the descriptor is immutable; reads and writes of one fd from
    // several threads are safe in the kernel, and the runtime serialises them anyway.

    /// The interface name the kernel gave the device.
    public let name: String
    /// TAP or TUN.
    public let kind: DeviceKind
    /// The open descriptor.
    public let fd: Int32
    /// The device's MTU as the kernel reports it (bytes of IP packet).
    public let mtu: Int

    /// Opens the existing device `name` (made with `ip tuntap add`), inside
    /// the network namespace at `namespacePath` when given (`/var/run/netns/NAME`).
    /// Throws a one-line reason: no /dev/net/tun, no permission, busy, wrong kind.
    public init(name: String, kind: DeviceKind, namespacePath: String? = nil) throws(RuntimeError) {
        guard !name.isEmpty, name.utf8.count < 16, !name.contains("/") else {
            throw RuntimeError("invalid device name '\(name)' (1 to 15 characters, no '/')")
        }
        var actual = [CChar](repeating: 0, count: 16)
        var mtu: Int32 = 1500
        let result = namespacePath.map { ns_tun_open_in($0, name, kind == .tap ? 1 : 0, &actual, &mtu) }
            ?? ns_tun_open_in(nil, name, kind == .tap ? 1 : 0, &actual, &mtu)
        guard result >= 0 else {
            let code = -result
            let device = "\(kind == .tap ? "TAP" : "TUN") device '\(name)'"
            switch code {
            case ENXIO:
                throw RuntimeError("no such device '\(name)' (create it first: ip tuntap add dev \(name) mode \(kind == .tap ? "tap" : "tun"))")
            case ENOENT where namespacePath != nil: throw RuntimeError("no network namespace at \(namespacePath!)")
            case ENOENT, ENODEV: throw RuntimeError("cannot open /dev/net/tun: \(errorText(code)) (is the tun module available?)")
            case EPERM, EACCES: throw RuntimeError("\(device): permission denied (run as root or with CAP_NET_ADMIN)")
            case EBUSY: throw RuntimeError("\(device) is busy: another program has it open")
            case EINVAL: throw RuntimeError("\(device) exists but is not a \(kind == .tap ? "TAP" : "TUN") device")
            default: throw RuntimeError.system(device, errno: code)
            }
        }
        fd = result
        self.kind = kind
        self.name = actual.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.mtu = Int(mtu)
    }

    deinit { close(fd) }

    /// Reads one frame into `buffer`: its length, or nil when none is waiting (EAGAIN).
    @inline(__always)
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = read(fd, buffer.baseAddress, buffer.count)
        return count > 0 ? count : nil
    }

    /// Writes one frame; false when the kernel refused it (the frame is lost, as on a wire).
    @inline(__always)
    @discardableResult
    func send(_ frame: UnsafeRawBufferPointer) -> Bool {
        write(fd, frame.baseAddress, frame.count) == frame.count
    }
}
