import CNetStackShim
import Glibc
public import NetStackWire

/// A Linux TAP or TUN device by name, opened non-blocking through `/dev/net/tun`.
///
/// Frames carry no FCS and no packet-information header (IFF_NO_PI). Each
/// `receive` or `send` is one system call (about 1 µs here), with no allocation.
/// With offload granted (``offload``), every frame crosses behind a 10-byte
/// `VirtioNetHeader` (IFF_VNET_HDR, TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6): one readv(2)
/// or writev(2) then moves a TCP super-segment of up to 64 KiB.
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
    /// Whether frames cross with a virtio-net header and may be TCP super-segments.
    public let offload: Bool
    /// Why offload was asked for and not granted (the kernel's refusal), else nil.
    public let offloadRefusal: String?
    /// The header of the frame being read (bytes 0..<16) and written (16..<32): apart, so a
    /// read and a write never share one, though the runtime's lock serialises them anyway.
    private nonisolated(unsafe) let headerScratch: UnsafeMutableRawBufferPointer

    /// Opens the existing device `name` (made with `ip tuntap add`), inside
    /// the network namespace at `namespacePath` when given (`/var/run/netns/NAME`).
    /// Throws a one-line reason: no /dev/net/tun, no permission, busy, wrong kind.
    /// `offload`: ask for virtio-net headers and TSO; when the kernel refuses, the device
    /// is opened without them and ``offloadRefusal`` says why.
    public init(name: String, kind: DeviceKind, namespacePath: String? = nil, offload: Bool = false) throws(RuntimeError) {
        guard !name.isEmpty, name.utf8.count < 16, !name.contains("/") else {
            throw RuntimeError("invalid device name '\(name)' (1 to 15 characters, no '/')")
        }
        var actual = [CChar](repeating: 0, count: 16)
        var mtu: Int32 = 1500
        var granted: Int32 = offload ? 1 : 0
        let result = namespacePath.map { ns_tun_open_in($0, name, kind == .tap ? 1 : 0, &actual, &mtu, &granted) }
            ?? ns_tun_open_in(nil, name, kind == .tap ? 1 : 0, &actual, &mtu, &granted)
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
        self.offload = granted > 0
        offloadRefusal = granted < 0 ? "the kernel refused virtio-net offload: \(errorText(-granted))" : nil
        headerScratch = .allocate(byteCount: 32, alignment: 8)
        headerScratch.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        close(fd)
        headerScratch.deallocate()
    }

    /// Reads one frame (one read(2)): its length, 0 when none is waiting (EAGAIN,
    /// EINTR), or -errno when the device failed or is gone (EBADFD after `ip link del`, EIO …).
    /// With offload, the frame's virtio-net header is read and dropped.
    @inline(__always)
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard offload else { return receivePacket(fd, into: buffer) }
        var header = VirtioNetHeader.plain
        return receive(into: buffer, header: &header)
    }

    /// One read(2) (one readv(2) with offload: the header apart, the frame at the start of
    /// `buffer`), with the ``receive(into:)`` conventions; `header` is the frame's virtio-net header.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, header: inout VirtioNetHeader) -> Int {
        guard offload else {
            header = .plain
            return receivePacket(fd, into: buffer)
        }
        let count = withVectors(UnsafeRawBufferPointer(rebasing: headerScratch[0..<VirtioNetHeader.length]), UnsafeRawBufferPointer(buffer)) { readv(fd, $0, 2) }
        if count > VirtioNetHeader.length {
            header = VirtioNetHeader.View(unchecked: UnsafeRawBufferPointer(headerScratch)).header
            return count - VirtioNetHeader.length
        }
        if count >= 0 { return count == 0 ? -Int(EIO) : 0 }  // a header alone: nothing to hand on
        let code = errno
        return code == EAGAIN || code == EINTR ? 0 : -Int(code)
    }

    /// Writes one frame (one write(2)): 0 when written or lost as on a wire (the kernel's
    /// queue is full, the frame too big, the link is down — EIO), -errno when the device
    /// is gone (EBADFD after `ip link del`, ENODEV, ENXIO).
    /// With offload, behind a plain virtio-net header.
    @inline(__always)
    public func send(_ frame: UnsafeRawBufferPointer) -> Int { send(frame, header: .plain) }

    /// One write(2) (one writev(2) of the header and the frame with offload), with the
    /// ``send(_:)`` conventions. Without offload the header is not sent (it must be plain).
    public func send(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Int {
        guard offload else { return sendPacket(fd, frame) }
        let outgoing = UnsafeMutableRawBufferPointer(rebasing: headerScratch[16..<(16 + VirtioNetHeader.length)])
        header.emit(into: outgoing)
        let written = withVectors(UnsafeRawBufferPointer(outgoing), frame) { writev(fd, $0, 2) }
        return written >= 0 ? 0 : sendFailure(errno)
    }
}

/// Two iovecs on the stack for readv/writev (no allocation).
@inline(__always)
private func withVectors(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
                         _ body: (UnsafePointer<iovec>) -> Int) -> Int {
    var vectors = (iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
                   iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count))
    return withUnsafePointer(to: &vectors) { $0.withMemoryRebound(to: iovec.self, capacity: 2, body) }
}
