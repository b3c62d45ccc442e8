import CNetStackShim
import Glibc

/// A Linux TAP or TUN device by name, opened non-blocking through `/dev/net/tun`.
///
/// Frames carry no FCS and no packet-information header (IFF_NO_PI). Each
/// `receive` or `send` is one system call (about 1 µs here), with no allocation.
/// A device created by opening disappears when it is closed unless it was made
/// persistent beforehand (`ip tuntap add`).
public final class TunTapDevice: PacketDevice {
    // Sendable: every stored property is immutable; reads and writes of one fd from
    // several threads are safe in the kernel, and the runtime serialises them anyway.

    /// The interface name the kernel gave the device.
    public let name: String
    /// TAP or TUN.
    public let kind: DeviceKind
    /// The open descriptor (closed when the device is released).
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
            let device = "\(kind.label) device '\(name)'"
            switch code {
            case ENXIO:
                throw RuntimeError("no such device '\(name)' (create it first: ip tuntap add dev \(name) mode \(kind == .tap ? "tap" : "tun"))")
            case ENOENT where namespacePath != nil: throw RuntimeError("no network namespace at \(namespacePath!)")
            case ENOENT, ENODEV: throw RuntimeError("cannot open /dev/net/tun: \(errorText(code)) (is the tun module available?)")
            case EPERM, EACCES: throw RuntimeError("\(device): permission denied (run as root or with CAP_NET_ADMIN)")
            case EBUSY: throw RuntimeError("\(device) is busy: another program has it open")
            case EINVAL: throw RuntimeError("\(device) exists but is not a \(kind.label) device")
            default: throw RuntimeError.system(device, errno: code)
            }
        }
        fd = result
        self.kind = kind
        self.name = actual.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.mtu = Int(mtu)
    }

    deinit { close(fd) }

    /// Reads one frame (one read(2)): its length, 0 when none is waiting (EAGAIN,
    /// EINTR), or -errno when the device failed or is gone (EBADFD after `ip link del`, EIO …).
    @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int { receivePacket(fd, into: buffer) }

    /// Writes one frame (one write(2)): 0 when written or lost as on a wire (the kernel's
    /// queue is full, the frame too big, the link is down — EIO), -errno when the device
    /// is gone (EBADFD after `ip link del`, ENODEV, ENXIO).
    @inline(__always)
    public func send(_ frame: UnsafeRawBufferPointer) -> Int { sendPacket(fd, frame) }
}
