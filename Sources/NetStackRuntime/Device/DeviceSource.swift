/// Which device a ``StackRuntime`` attaches to (``RuntimeConfiguration/device``).
public enum DeviceSource: Sendable {
    /// The existing TAP or TUN device with this name, opened through `/dev/net/tun`
    /// (inside ``RuntimeConfiguration/namespacePath`` when set): a ``TunTapDevice``.
    case named(String, kind: DeviceKind)
    /// A descriptor handed over by another process or the platform: an ``AdoptedDevice``,
    /// which owns it once its checks pass — closing it even if the runtime's setup then fails (MTU: ``RuntimeConfiguration/mtu``, else queried;
    /// ``RuntimeConfiguration/namespacePath`` is not used: the descriptor is already open).
    case adopted(fd: Int32, kind: DeviceKind)
    /// A device the caller made: a ``MemoryDevice`` end, a ``CallbackDevice``, or its own.
    case device(any PacketDevice)

    /// The device's kind, known before it is opened.
    public var kind: DeviceKind {
        switch self {
        case let .named(_, kind), let .adopted(_, kind): kind
        case let .device(device): device.kind
        }
    }

    /// Opens or adopts the device; throws one line naming what failed.
    /// `offload`: ask a named device for virtio-net offloads (the others have their own say).
    func open(namespacePath: String?, mtu: Int?, offload: Bool = false) throws(RuntimeError) -> any PacketDevice {
        switch self {
        case let .named(name, kind): try TunTapDevice(name: name, kind: kind, namespacePath: namespacePath, offload: offload)
        case let .adopted(fd, kind): try AdoptedDevice(adopting: fd, kind: kind, mtu: mtu)
        case let .device(device): device
        }
    }
}

extension RuntimeConfiguration {
    /// The device's name: the one given for a named device, `fd N` for an adopted
    /// descriptor, the device's own otherwise. Setting it selects the named device
    /// of the same kind (what `init(deviceName:deviceKind:address:prefixLength:)` did).
    public var deviceName: String {
        get {
            switch device {
            case let .named(name, _): name
            case let .adopted(fd, _): "fd \(fd)"
            case let .device(device): device.name
            }
        }
        set { device = .named(newValue, kind: device.kind) }
    }

    /// TAP or TUN. Setting it changes the kind of a named device or an adopted
    /// descriptor; a device the caller made keeps its own kind.
    public var deviceKind: DeviceKind {
        get { device.kind }
        set {
            switch device {
            case let .named(name, _): device = .named(name, kind: newValue)
            case let .adopted(fd, _): device = .adopted(fd: fd, kind: newValue)
            case .device: break
            }
        }
    }
}

/// Whether to move TCP super-segments across the device (virtio-net headers with
/// TSO and checksum offload, `--offload`).
public enum OffloadMode: String, Sendable, CaseIterable {
    /// One frame per system call, every checksum computed and checked (the default, in the library
    /// and on the command line: a packet-socket reader of the device cannot take a super-segment).
    case off
    /// Ask for offload; where the device refuses, fall back to ``off`` and say so.
    case on
    /// Ask for offload; where the device refuses, fall back quietly (`--verbose` says why).
    case auto
}
