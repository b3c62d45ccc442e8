import Synchronization

/// A TUN-like device fed and drained by the application: the shape of a
/// NetworkExtension packet flow (`NEPacketTunnelFlow`), or of any app that gets
/// IP packets from somewhere other than a kernel device.
///
/// Inbound, the application calls ``deliver(_:version:)-(UnsafeRawBufferPointer,_)``
/// (or the batch form) from any thread: the packet is copied into a bounded
/// queue of preallocated slots and the loop is woken through an eventfd — only
/// when the queue was empty, so a batch costs one system call. Outbound, the
/// runtime calls `output` with each packet the stack sends and its IP version
/// (from the first nibble of the header), with the runtime's lock held: on its
/// loop thread, or on a thread inside `StackRuntime.withHost` whose socket calls
/// sent it — never two calls at once. `output` must not call back into the same
/// runtime (its lock is held), and the bytes are valid only during the call: copy
/// them (e.g. into `Data`) to keep them. No allocation per packet on either side.
/// A full queue drops the packet and counts it.
public final class CallbackDevice: PacketDevice {
    /// What to do with each packet the stack sends (one call at a time, with the runtime's lock held).
    public typealias Output = @Sendable (_ packet: UnsafeRawBufferPointer, _ version: IPVersion) -> Void

    /// A name for messages and the stack's interface (`utun` by default).
    public let name: String
    /// Always ``DeviceKind/tun``: a packet flow carries bare IP packets.
    public var kind: DeviceKind { .tun }
    /// The largest packet accepted and sent.
    public let mtu: Int
    private let inbound: PacketRing
    private let output: Output
    private let counters = FlowCounters()

    /// A device whose outbound packets go to `output`. Up to `capacity` inbound
    /// packets wait (default: 256, fewer for a large MTU); memory: capacity × MTU bytes, allocated here.
    public init(name: String = "utun", mtu: Int = 1500, capacity: Int? = nil, output: @escaping Output) throws(RuntimeError) {
        guard (68...65_535).contains(mtu) else { throw RuntimeError("bad MTU \(mtu): must be 68 to 65535") }
        let slots = capacity ?? PacketRing.defaultCapacity(slotSize: mtu)
        guard (1...65_536).contains(slots) else { throw RuntimeError("bad queue capacity \(slots): must be 1 to 65536") }
        self.name = name
        self.mtu = mtu
        self.output = output
        inbound = try PacketRing(capacity: slots, slotSize: mtu)
    }

    // MARK: The application's side (any thread)

    /// Queues one inbound IP packet for the stack (one copy, no allocation); returns
    /// false when it was dropped: the queue is full, the packet is empty or larger
    /// than the MTU, its first nibble is neither 4 nor 6, or it differs from `version`
    /// (what the flow said; nil: trust the header).
    @discardableResult
    public func deliver(_ packet: UnsafeRawBufferPointer, version: IPVersion? = nil) -> Bool {
        guard let actual = IPVersion(packet: packet), version == nil || version == actual else {
            counters.malformedIn.add(1, ordering: .relaxed)
            return false
        }
        return inbound.push(packet)
    }

    /// Queues one inbound IP packet held in an array; see ``deliver(_:version:)-(UnsafeRawBufferPointer,_)``.
    @discardableResult
    public func deliver(_ packet: [UInt8], version: IPVersion? = nil) -> Bool {
        packet.withUnsafeBytes { deliver($0, version: version) }
    }

    /// Queues a batch of inbound packets, as `readPackets` hands them over; `versions`,
    /// when given, holds one version per packet (extra packets are checked against their
    /// header only). Returns how many were queued.
    @discardableResult
    public func deliver(contentsOf packets: some Sequence<[UInt8]>, versions: [IPVersion]? = nil) -> Int {
        var queued = 0
        for (index, packet) in packets.enumerated() {
            let version = versions.flatMap { index < $0.count ? $0[index] : nil }
            if deliver(packet, version: version) { queued += 1 }
        }
        return queued
    }

    // MARK: The loop's side

    /// The eventfd that is readable while inbound packets wait.
    public var fd: Int32 { inbound.readiness.fd }

    /// Takes the oldest inbound packet (one copy, no allocation).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> Int { inbound.pop(into: buffer) }

    /// Hands one outbound packet to `output` with its IP version; a packet with neither
    /// 4 nor 6 in its first nibble is dropped and counted. Never fails.
    public func send(_ frame: UnsafeRawBufferPointer) -> Int {
        guard let version = IPVersion(packet: frame) else {
            counters.malformedOut.add(1, ordering: .relaxed)
            return 0
        }
        output(frame, version)
        return 0
    }

    // MARK: Counters

    /// What the device has counted so far (a snapshot; any thread).
    public var statistics: Statistics {
        let ring = inbound.counters
        return Statistics(queued: ring.pushed, dropped: ring.dropped + ring.oversized,
                          malformed: counters.malformedIn.load(ordering: .relaxed),
                          unsentMalformed: counters.malformedOut.load(ordering: .relaxed))
    }

    /// The callback device's counters.
    public struct Statistics: Sendable, Equatable {
        /// Inbound packets queued for the stack.
        public var queued: Int
        /// Inbound packets dropped: the queue was full, or the packet was empty or larger than the MTU.
        public var dropped: Int
        /// Inbound packets dropped because their first nibble was not 4 or 6, or not the version given.
        public var malformed: Int
        /// Outbound packets not handed to `output` because their first nibble was not 4 or 6.
        public var unsentMalformed: Int

        /// Counters with these values (for comparisons).
        public init(queued: Int, dropped: Int, malformed: Int, unsentMalformed: Int) {
            self.queued = queued
            self.dropped = dropped
            self.malformed = malformed
            self.unsentMalformed = unsentMalformed
        }
    }
}

/// Relaxed counters the application's threads and the loop update without the ring's lock.
private final class FlowCounters: Sendable {
    let malformedIn = Atomic<Int>(0)
    let malformedOut = Atomic<Int>(0)
}
