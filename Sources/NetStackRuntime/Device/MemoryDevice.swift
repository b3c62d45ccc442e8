/// One end of an in-memory link: frames sent on one end are received on the
/// other. For tests and for two stacks in one process; needs no root and no kernel device.
///
/// Each end receives from its own bounded queue (preallocated slots,
/// one copy in and one out, no allocation per frame); a frame sent while the
/// peer's queue is full is dropped and counted in the peer's ``dropped``, as a
/// full NIC queue would. Either end can be given to a ``StackRuntime``, or driven
/// by hand with ``write(_:)-(UnsafeRawBufferPointer)`` and ``read()``.
public final class MemoryDevice: PacketDevice {
    /// This end's name (`mem0` / `mem1` by default).
    public let name: String
    /// Whether the link carries Ethernet frames or bare IP packets.
    public let kind: DeviceKind
    /// The link's IP MTU; a slot holds an MTU-sized packet plus a 14-byte MAC header on a TAP link.
    public let mtu: Int
    private let inbound: PacketRing
    private let outbound: PacketRing

    private init(name: String, kind: DeviceKind, mtu: Int, inbound: PacketRing, outbound: PacketRing) {
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Two connected ends. Each holds up to `capacity` frames waiting (default: 256,
    /// fewer for a large MTU); memory: 2 × capacity × (MTU + 14) bytes, allocated here.
    public static func pair(kind: DeviceKind = .tap, mtu: Int = 1500, capacity: Int? = nil,
                            names: (String, String) = ("mem0", "mem1")) throws(RuntimeError) -> (MemoryDevice, MemoryDevice) {
        guard (68...65_535).contains(mtu) else { throw RuntimeError("bad MTU \(mtu): must be 68 to 65535") }
        let slotSize = mtu + (kind == .tap ? 14 : 0)
        let slots = capacity ?? PacketRing.defaultCapacity(slotSize: slotSize)
        guard (1...65_536).contains(slots) else { throw RuntimeError("bad queue capacity \(slots): must be 1 to 65536") }
        let first = try PacketRing(capacity: slots, slotSize: slotSize)
        let second = try PacketRing(capacity: slots, slotSize: slotSize)
        return (MemoryDevice(name: names.0, kind: kind, mtu: mtu, inbound: first, outbound: second),
                MemoryDevice(name: names.1, kind: kind, mtu: mtu, inbound: second, outbound: first))
    }

    /// The eventfd that is readable while frames wait at this end.
    public var fd: Int32 { inbound.readiness.fd }

    /// Takes the oldest frame waiting at this end (one copy, no allocation).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int { inbound.pop(into: buffer) }

    /// Puts a frame in the peer's queue (one copy, no allocation); never fails: a full queue drops it.
    public func send(_ frame: UnsafeRawBufferPointer) -> Int {
        outbound.push(frame)
        return 0
    }

    /// Sends `frame` to the peer from any thread; false when it was dropped (queue full, empty, or bigger than MTU + header).
    @discardableResult
    public func write(_ frame: UnsafeRawBufferPointer) -> Bool { outbound.push(frame) }

    /// Sends `frame` to the peer from any thread; false when it was dropped.
    @discardableResult
    public func write(_ frame: [UInt8]) -> Bool { frame.withUnsafeBytes { outbound.push($0) } }

    /// The oldest frame waiting at this end, copied into a new array; nil when none waits.
    /// For tests and tools (it allocates); the runtime uses ``receive(into:)``.
    public func read() -> [UInt8]? {
        [UInt8](unsafeUninitializedCapacity: inbound.slotSize) { buffer, count in
            count = inbound.pop(into: UnsafeMutableRawBufferPointer(buffer))
        }.nilIfEmpty
    }

    /// Frames that reached this end while its queue was full, and were dropped.
    public var dropped: Int { inbound.counters.dropped }
    /// Frames sent to this end that were empty or too big for the link, and were dropped.
    public var oversized: Int { inbound.counters.oversized }
    /// Frames that have arrived at this end and are not yet received.
    public var waiting: Int { inbound.counters.count }
}

extension Array {
    /// Nil for an empty array.
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}
