public import NetStackWire

/// Identifies one of a host's interfaces (its LAN adapters) by position.
public struct InterfaceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: InterfaceID, b: InterfaceID) -> Bool { a.index < b.index }
    public var description: String { "if\(index)" }
}

/// What an adapter's frames carry.
public enum LinkMedium: Sendable, Equatable {
    /// Ethernet II frames: MAC header, ARP to find next hops (a LAN, a TAP device).
    case ethernet
    /// Bare IP packets on a point-to-point link: no MAC header, no ARP, no FCS
    /// (a TUN device, the way VPN and proxy apps see the network).
    case ipOnly
}

/// How a LAN adapter is set up.
public struct AdapterConfig: Sendable {
    /// The adapter's name, as `ip link` would show it (`eth0`).
    public var name: String
    /// The hardware address the receive filter answers to.
    public var mac: MACAddress
    /// Largest IP packet the link carries (bytes after the MAC header).
    public var mtu: Int = 1500
    /// Whether frames on the attached link carry the 4-byte FCS: the adapter
    /// appends it when sending and checks it when receiving. TAP links carry none.
    public var fcs: Bool = true
    /// Accept every frame, whatever its destination MAC.
    public var promiscuous: Bool = false
    /// Receive-ring slots: frames that can wait for the driver.
    public var receiveRing: Int = 256
    /// Transmit-queue slots.
    public var transmitQueue: Int = 1024
    /// Ethernet frames, or bare IP packets (then `mac`, `fcs` and `promiscuous` do not apply).
    public var medium: LinkMedium = .ethernet
    /// Segmentation offload (a TAP/TUN device with virtio-net headers): frames may carry
    /// IP packets of up to 65,535 bytes whatever the MTU — TCP super-segments the other
    /// side cuts or has glued — and TCP may send such super-segments. Off by default:
    /// a packet longer than the MTU is then a giant, dropped and counted. On, the receive ring's
    /// slots hold 64 KiB each (at most 64 of them), and super-segments wait in a transmit queue
    /// of their own (128 × 64 KiB) beside the ordinary one.
    public var segmentationOffload: Bool = false
    /// For a driver that glues segments itself before the adapter: a frame received as
    /// `coalesced` (in-order TCP segments glued into one) may carry an IP packet of up to 65,535
    /// bytes whatever the MTU; any other frame is held to the MTU, and TCP still sends segments
    /// of one MTU. The receive ring then holds 64 KiB slots, as with ``segmentationOffload``. Off
    /// by default. (The adapter glues by itself with ``receiveCoalescing``.)
    public var largeReceive: Bool = false

    /// Receive coalescing in the adapter (LRO): consecutive in-order TCP data segments of one
    /// connection that arrive between two drains of the ring are glued, as they are stored, into
    /// one segment of up to 64 KiB in one slot (the package's `ReceiveCoalescer` has the rules), so TCP input
    /// and its ACK decision run once per run (RFC 5681's ACK for every two full segments then
    /// covers the run at once, as Linux's receiver does after GRO). Each frame's checksums are
    /// verified as it is glued (the stack does not sum them again); a frame that cannot be glued
    /// is stored as it came, and a frame longer than the MTU is still a giant. The receive ring
    /// then holds 64 KiB slots, at most 64 of them whatever ``receiveRing`` says (4 MiB), as with
    /// ``segmentationOffload``: every frame that is not glued takes a whole slot. Off by default.
    public var receiveCoalescing: Bool = false

    /// Whether the receive ring takes IP packets longer than the MTU (``segmentationOffload``,
    /// ``largeReceive`` or ``receiveCoalescing``).
    var receivesLarge: Bool { segmentationOffload || largeReceive || receiveCoalescing }

    public init(name: String, mac: MACAddress, mtu: Int = 1500, fcs: Bool = true) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.fcs = fcs
    }
}

/// What the adapter did with a frame that arrived from the wire.
public enum AdapterVerdict: Sendable, Equatable {
    /// Stored in the receive ring; an interrupt is pending.
    case accepted
    /// Shorter than a MAC header (plus FCS).
    case runt
    /// Longer than the MTU allows (a "giant"): a length error, like a runt.
    case oversized
    /// The FCS did not match: bits were damaged on the way.
    case fcsMismatch
    /// Addressed to another adapter.
    case filtered(MACAddress)
    /// The receive ring was full.
    case ringOverflow
}

/// The LAN adapter (NIC) model of the chapter.
///
/// Receiving: the signal has been turned back into bits (the frame bytes); the
/// adapter checks the FCS, applies its MAC filter, stores the frame in its
/// buffer memory (a bounded ring) and raises an interrupt. The driver later
/// drains the ring and hands each frame to the protocol stack.
/// Sending: frames from the stack are padded to 60 bytes, get their FCS when
/// the link carries one, and wait in the transmit queue until the wire takes them.
public struct LANAdapter: Sendable {
    public private(set) var config: AdapterConfig
    public internal(set) var counters = AdapterCounters()
    /// True between a frame arriving and the driver draining the ring.
    public private(set) var interruptPending = false
    var receiveRing: FrameRing
    var transmitQueue: FrameRing
    /// With segmentation offload: the frames longer than a transmit slot (super-segments), each
    /// standing in ``transmitQueue`` as an empty entry marked ``largeFrame``, so the order holds.
    /// 128 slots of 64 KiB (8 MiB), beside 1,024 slots of one MTU each.
    var largeTransmitQueue: FrameRing?
    /// The mark of a transmit entry whose frame waits in ``largeTransmitQueue``.
    static let largeFrame = UInt32.max
    /// The boundary a TCP payload starts on in its transmit slot: a cache line.
    static let payloadAlignment = 64
    /// With ``AdapterConfig/receiveCoalescing``: the run being glued in the receive ring's newest slot.
    private var coalescer: ReceiveCoalescer?
    /// The longest frame (FCS included) the ordinary transmit queue takes: MAC header, MTU, FCS.
    /// Its slots are longer, for the payload alignment's headroom, but the link is not.
    private let longestTransmitFrame: Int

    /// An adapter with empty rings.
    public init(_ config: AdapterConfig) {
        var config = config
        if config.medium == .ipOnly { config.fcs = false }
        self.config = config
        let slot = EthernetHeader.length + max(config.mtu, EthernetHeader.minimumFrameLength) + EthernetFCS.length
        let large = EthernetHeader.length + 65_535 + EthernetFCS.length
        // Transmit slots have room to start a frame up to 63 bytes in (``send``'s payload
        // alignment), and are a whole number of cache lines, so every slot starts on one.
        func aligned(_ size: Int) -> Int { (size + 2 * Self.payloadAlignment - 1) / Self.payloadAlignment * Self.payloadAlignment }
        receiveRing = FrameRing(capacity: config.receivesLarge ? min(config.receiveRing, 64) : config.receiveRing,
                                slotSize: config.receivesLarge ? large : slot)
        transmitQueue = FrameRing(capacity: config.transmitQueue, slotSize: aligned(slot))
        longestTransmitFrame = slot
        if config.segmentationOffload { largeTransmitQueue = FrameRing(capacity: 128, slotSize: aligned(large)) }
        if config.receiveCoalescing {
            coalescer = ReceiveCoalescer(ipOffset: config.medium == .ethernet ? EthernetHeader.length : 0, mtu: config.mtu)
        }
    }

    /// Frames received that receive coalescing glued onto the segment before them (each spared
    /// the stack a pass through IP and TCP input); 0 without ``AdapterConfig/receiveCoalescing``.
    public var framesCoalesced: Int { coalescer?.framesMerged ?? 0 }
    /// Glued runs (of two frames or more) closed.
    var runsCoalesced: Int { coalescer?.runsClosed ?? 0 }
    /// Whether the receive ring's newest slot holds a run still open to more frames.
    var receiveRunOpen: Bool { coalescer?.isOpen(in: receiveRing) ?? false }

    public var name: String { config.name }
    public var mac: MACAddress { config.mac }
    public var mtu: Int { config.mtu }
    /// Longest frame the adapter takes, without FCS: MAC header plus MTU (at least 60 bytes),
    /// or plus 65,535 with segmentation offload or, for frames glued before it, ``AdapterConfig/largeReceive``
    /// (the adapter's own coalescing takes frames of one MTU and glues them in its ring).
    public var maxFrameLength: Int {
        let large = config.segmentationOffload || config.largeReceive
        return max(linkHeaderLength + (large ? 65_535 : config.mtu), EthernetHeader.minimumFrameLength)
    }

    /// Whether super-segments longer than the MTU cross this adapter (``AdapterConfig/segmentationOffload``).
    public var segmentationOffload: Bool { config.segmentationOffload }

    /// Bytes in front of the IP datagram in each frame: 14 on Ethernet, none on an IP-only link.
    public var linkHeaderLength: Int { config.medium == .ethernet ? EthernetHeader.length : 0 }

    /// Turns promiscuous mode on or off.
    public mutating func setPromiscuous(_ on: Bool) { config.promiscuous = on }

    /// Ethernet, or bare IP packets.
    public var medium: LinkMedium { config.medium }

    /// A frame arrives from the wire. Costs one CRC-32 pass when the link
    /// carries an FCS, and one copy into the ring. `checksumTrusted`: the device
    /// vouched for the transport checksum (virtio-net NEEDS_CSUM or DATA_VALID), kept with the frame.
    /// `coalesced`: glued TCP segments, which ``AdapterConfig/largeReceive`` lets past the MTU.
    mutating func receive(_ frame: UnsafeRawBufferPointer, checksumTrusted: Bool = false,
                          coalesced: Bool = false) -> AdapterVerdict {
        let mark: UInt32 = checksumTrusted ? 1 : 0
        let longestPacket = config.segmentationOffload || (coalesced && config.largeReceive) ? 65_535 : config.mtu
        if config.medium == .ipOnly { return receivePacket(frame, mark: mark, longest: longestPacket) }
        let trailer = config.fcs ? EthernetFCS.length : 0
        guard frame.count >= EthernetHeader.length + trailer else {
            counters.rxErrors += 1
            return .runt
        }
        guard frame.count - trailer <= max(EthernetHeader.length + longestPacket, EthernetHeader.minimumFrameLength) else {
            counters.rxErrors += 1
            return .oversized
        }
        if config.fcs, !EthernetFCS.verify(frame) {
            counters.rxErrors += 1
            counters.rxCRCErrors += 1
            return .fcsMismatch
        }
        let destination = MACAddress(rawValue: UInt64(frame.be16(0)) << 32 | UInt64(frame.be32(2)))
        guard destination == config.mac || destination.isBroadcast || destination.isMulticast || config.promiscuous else {
            counters.rxFiltered += 1
            return .filtered(destination)
        }
        let body = UnsafeRawBufferPointer(rebasing: frame[0..<(frame.count - trailer)])
        guard store(body, mark: mark) else {
            counters.rxMissed += 1
            return .ringOverflow
        }
        if destination.isMulticast { counters.rxMulticast += 1 }
        counters.rxPackets += 1
        counters.rxBytes += frame.count
        if !interruptPending { counters.interrupts += 1 }
        interruptPending = true
        return .accepted
    }

    /// An IP packet arrives on a point-to-point link: only its length is checked here.
    private mutating func receivePacket(_ packet: UnsafeRawBufferPointer, mark: UInt32, longest: Int) -> AdapterVerdict {
        guard packet.count >= IPv4Header.minimumLength else {
            counters.rxErrors += 1
            return .runt
        }
        guard packet.count <= longest else {
            counters.rxErrors += 1
            return .oversized
        }
        guard store(packet, mark: mark) else {
            counters.rxMissed += 1
            return .ringOverflow
        }
        counters.rxPackets += 1
        counters.rxBytes += packet.count
        if !interruptPending { counters.interrupts += 1 }
        interruptPending = true
        return .accepted
    }

    /// Puts a frame that passed the checks into the receive ring: through the coalescer when
    /// there is one. False when the ring had no room.
    @inline(__always)
    private mutating func store(_ frame: UnsafeRawBufferPointer, mark: UInt32) -> Bool {
        guard coalescer != nil else { return receiveRing.push(frame, mark: mark) }
        return coalescer!.store(frame, mark: mark, in: &receiveRing)
    }

    /// Ends the receive run being glued, if any (its headers rewritten): the driver calls this
    /// before it reads the ring, which holds only finished frames afterwards. O(headers).
    mutating func closeReceiveRun() {
        guard coalescer != nil else { return }
        coalescer!.close(in: &receiveRing)
    }

    /// The oldest received frame (FCS already removed), read in place by the driver.
    func peekReceived() -> UnsafeRawBufferPointer? { receiveRing.peek() }

    /// Whether the device vouched for the oldest received frame's transport checksum.
    var receivedChecksumTrusted: Bool { receiveRing.peekMark() != 0 }

    /// The driver is done with the oldest frame. Clears the interrupt when the ring is empty.
    mutating func dropReceived() {
        receiveRing.dropOldest()
        if receiveRing.isEmpty { interruptPending = false }
    }

    /// Queues a frame for the wire: `fill` writes `length` bytes (MAC header
    /// onwards); the adapter pads to 60 bytes and appends the FCS if the link
    /// carries one. Returns the FCS appended (nil without), or throws when the queue is full.
    /// `mark`: a super-segment's segment size (segmentation offload), kept with the frame;
    /// a frame longer than a transmit slot waits in ``largeTransmitQueue``. The frame is placed
    /// in its slot so that what follows its first `headersLength` bytes (a TCP payload) starts on
    /// a 64-byte boundary, whatever the headers' length: every copy and checksum of the payload
    /// (the send buffer's into the frame, the wire's or the device's out of it) then runs over
    /// the same alignment for IPv6's 20 more header bytes as for IPv4 (unaligned, IPv6's copies
    /// cost 18 % more in `bench tcp`).
    @discardableResult
    mutating func send(length: Int, mark: UInt32 = 0, headersLength: Int = 0,
                       _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> (queued: Bool, fcs: UInt32?) {
        let padded = config.medium == .ethernet ? max(length, EthernetHeader.minimumFrameLength) : length
        let total = padded + (config.fcs ? EthernetFCS.length : 0)
        var fcs: UInt32?
        let useFCS = config.fcs
        func write(_ buffer: UnsafeMutableRawBufferPointer) {
            fill(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]))
            if padded > length {
                UnsafeMutableRawBufferPointer(rebasing: buffer[length..<padded]).initializeMemory(as: UInt8.self, repeating: 0)
            }
            if useFCS {
                let value = EthernetFCS.compute(UnsafeRawBufferPointer(rebasing: buffer[0..<padded]))
                for i in 0..<4 { buffer[padded + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
                fcs = value
            }
        }
        let queued: Bool
        let headroom = (Self.payloadAlignment - headersLength % Self.payloadAlignment) % Self.payloadAlignment
        if total > longestTransmitFrame {
            // Longer than the link takes: a super-segment's queue, or (without one) no room, as ever.
            if largeTransmitQueue != nil, !transmitQueue.isFull {
                queued = largeTransmitQueue?.push(length: total, mark: mark, headroom: headroom, write) ?? false
                if queued { transmitQueue.push(length: 0, mark: Self.largeFrame) { _ in } }
            } else {
                queued = false
            }
        } else {
            queued = transmitQueue.push(length: total, mark: mark, headroom: headroom, write)
        }
        if queued {
            counters.txPackets += 1
            counters.txBytes += total
        } else {
            counters.txDropped += 1
        }
        return (queued, fcs)
    }

    /// Hands the oldest queued frame (as sent on the wire) and its segment size to `body`: 0 for a
    /// frame as it goes on the wire, else a TCP super-segment for the device to cut every that many
    /// bytes. Nil when none is queued.
    mutating func takeTransmittedSegments<R>(_ body: (UnsafeRawBufferPointer, Int) throws -> R) rethrows -> R? {
        guard !transmitQueue.isEmpty else { return nil }
        if transmitQueue.peekMark() == Self.largeFrame {
            transmitQueue.dropOldest()
            return try largeTransmitQueue?.popMarked { frame, mark in try body(frame, Int(mark)) } ?? nil
        }
        return try transmitQueue.popMarked { frame, mark in try body(frame, Int(mark)) }
    }

    /// Frames waiting in the transmit queue.
    public var transmitBacklog: Int { transmitQueue.count }
}
