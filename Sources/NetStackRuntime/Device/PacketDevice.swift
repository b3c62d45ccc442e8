import Glibc
public import NetStackWire

/// What a packet device carries.
public enum DeviceKind: Sendable, Equatable {
    /// Ethernet frames (TAP): the stack runs ARP and builds MAC headers.
    case tap
    /// Bare IP packets (TUN): the kind of device VPN and proxy apps use.
    case tun

    /// "TAP" or "TUN", for messages.
    var label: String { self == .tap ? "TAP" : "TUN" }
}

/// Where a ``StackRuntime``'s frames come from and go to: a Linux TAP or TUN
/// device by name (``TunTapDevice``), a descriptor handed over by another
/// process (``AdoptedDevice``), an in-memory pair (``MemoryDevice``), or an
/// application's packet flow (``CallbackDevice``).
///
/// The loop needs three things of a device: a descriptor that epoll reports
/// readable while frames wait (the device itself, or an eventfd), a way to read
/// one frame into the loop's buffer, and a way to write one frame. A protocol
/// rather than an enum: each kind keeps its own state in its own small file, an
/// application can bring its own device without touching the runtime, and the
/// per-frame cost is one witness-table call (no allocation, no switch). Class-bound:
/// a device owns a descriptor or a queue that the runtime and the application share.
///
/// Conformances must be safe to use from the loop thread while other threads
/// hold the device (the in-memory and callback devices take frames from any thread).
public protocol PacketDevice: AnyObject, Sendable {
    /// A name for messages and the stack's interface (`tap0`, `fd 5`, `mem0`).
    var name: String { get }
    /// Whether frames are Ethernet frames (TAP) or bare IP packets (TUN).
    var kind: DeviceKind { get }
    /// The descriptor the loop waits on: readable (level-triggered) while a frame
    /// can be received. EPOLLERR/EPOLLHUP on it end the run as a device failure.
    var fd: Int32 { get }
    /// The largest IP packet the device carries (bytes, no link header).
    var mtu: Int { get }

    /// Reads one frame into `buffer` (at least 65,600 bytes): its length (> 0),
    /// 0 when none is waiting, or -errno when the device failed or is gone (see
    /// ``failure(_:)``). Called on the loop thread only; must not block or allocate.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int

    /// Writes one frame: 0 when sent or lost as on a wire (a full queue, a frame
    /// too big), -errno when the device is gone. Called with the runtime's lock held —
    /// on the loop thread, or on a thread inside `withHost` flushing what it made the
    /// stack send — so never concurrently with itself; must not block or allocate.
    func send(_ frame: UnsafeRawBufferPointer) -> Int

    /// The one-line reason an error code from ``receive(into:)`` or ``send(_:)`` ends the run.
    func failure(_ code: Int32) -> RuntimeError

    /// Whether frames cross with a virtio-net header (segmentation offload granted):
    /// then ``receive(into:header:)`` may return TCP super-segments of up to 64 KiB and
    /// ``send(_:header:)`` may be given them. False by default.
    var offload: Bool { get }

    /// Like ``receive(into:)``, also reporting the frame's virtio-net header (`VirtioNetHeader.plain`
    /// on a device without offload). Must not block or allocate.
    func receive(into buffer: UnsafeMutableRawBufferPointer, header: inout VirtioNetHeader) -> Int

    /// Like ``send(_:)``, with the virtio-net header that says what the kernel is to finish
    /// (a partial checksum, segmentation). A device without offload gets only `.plain` headers.
    func send(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Int
}

extension PacketDevice {
    /// No offload: frames are whole and checksummed.
    public var offload: Bool { false }

    /// ``receive(into:)`` with a plain header.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, header: inout VirtioNetHeader) -> Int {
        header = .plain
        return receive(into: buffer)
    }

    /// ``send(_:)``; the header is plain on a device without offload.
    public func send(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader) -> Int { send(frame) }
}

extension PacketDevice {
    /// "TUN device tun0 is gone (…)" for the codes that mean the device went away, else "… failed: …".
    public func failure(_ code: Int32) -> RuntimeError {
        let device = "\(kind.label) device \(name)"
        switch code {
        case EBADFD, ENODEV, ENXIO, EPIPE, ECONNRESET, ECONNREFUSED, ENOTCONN:
            return RuntimeError("\(device) is gone (\(errorText(code)))")
        default: return RuntimeError.system("\(device) failed", errno: code)
        }
    }
}

/// The IP version of a packet on a TUN-like link, from the first nibble of its header.
public enum IPVersion: UInt8, Sendable, Equatable {
    /// IPv4 (first nibble 4).
    case v4 = 4
    /// IPv6 (first nibble 6).
    case v6 = 6

    /// The version a packet's first byte announces; nil for an empty packet or another nibble.
    @inline(__always)
    public init?(packet: UnsafeRawBufferPointer) {
        guard !packet.isEmpty else { return nil }
        self.init(rawValue: packet[0] >> 4)
    }
}

/// One read(2) of a packet descriptor, with the ``PacketDevice/receive(into:)``
/// conventions: EAGAIN/EINTR → 0; end of file → -EIO (a tun read never ends; a
/// packet socket's peer has closed).
@inline(__always)
func receivePacket(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    let count = read(fd, buffer.baseAddress, buffer.count)
    if count > 0 { return count }
    if count == 0 { return -Int(EIO) }
    let code = errno
    return code == EAGAIN || code == EINTR ? 0 : -Int(code)
}

/// One write(2) of a packet descriptor, with the ``PacketDevice/send(_:)``
/// conventions: only the codes that mean the device (or a socket's peer) is gone are errors.
@inline(__always)
func sendPacket(_ fd: Int32, _ frame: UnsafeRawBufferPointer) -> Int {
    if write(fd, frame.baseAddress, frame.count) >= 0 { return 0 }
    return sendFailure(errno)
}

/// What a failed write's `code` means under the ``PacketDevice/send(_:)`` conventions.
@inline(__always)
func sendFailure(_ code: Int32) -> Int {
    switch code {
    case EBADFD, ENODEV, ENXIO, EBADF, EPIPE, ECONNRESET, ENOTCONN: return -Int(code)
    default: return 0
    }
}
