public import NetStackCore

/// One end of a ``Link``: a node and the port of it the cable plugs into.
public struct LinkEndpoint {
    /// The node at this end.
    public let node: any FrameNode
    /// The node's port the link is plugged into.
    public let port: PortID

    /// An endpoint at `port` of `node`.
    public init(node: any FrameNode, port: PortID) {
        self.node = node
        self.port = port
    }
}

/// What crossed one direction of a ``Link``.
public struct LinkCounters: Hashable, Sendable {
    /// Frames offered to the link (lost and queue-dropped ones included).
    public var frames = 0
    /// Bytes in those frames.
    public var bytes = 0
    /// Frame copies handed to the receiving end (duplicates count twice).
    public var delivered = 0
    /// Frames lost on the wire (random loss and `dropFrames`).
    public var lost = 0
    /// Frames dropped before the wire because the queue was full (`LinkConfig.queueLimit`).
    public var queueDropped = 0
    /// Frames delivered twice.
    public var duplicated = 0
    /// Frames held back by the reorder delay.
    public var reordered = 0
    /// Frame copies that arrived with at least one flipped bit.
    public var corrupted = 0
    /// Bits flipped in all copies.
    public var bitsFlipped = 0

    /// All zero.
    public init() {}
}

/// A full-duplex point-to-point cable between two node ports.
///
/// Each direction is independent: its own ``LinkConfig``, its own random
/// stream, its own counters. Within a direction frames are serialized one
/// after another at the line rate (a frame cannot start before the previous
/// one has finished), waiting in a drop-tail queue as deep as
/// ``LinkConfig/queueLimit`` allows, then travel for the propagation delay ±
/// jitter, then the impairments apply. The link does not deliver anything itself: it tells
/// its driver when each copy arrives and the driver schedules it. A class
/// because both the driver and the nodes' ports refer to the same cable.
public final class Link {
    /// A name for traces ("h1-sw0").
    public let name: String
    /// The `a` end.
    public let a: LinkEndpoint
    /// The `b` end.
    public let b: LinkEndpoint
    /// Told about every loss, corruption, duplication and reordering; nil costs nothing.
    public var observer: ((DeviceEvent) -> Void)?
    /// Records every frame as it is put on the link (both directions), FCS stripped.
    /// Several links may share one tap. Recording never draws randomness, so a
    /// tap never changes what the link does.
    public var tap: PcapTap?

    private var directions: [DirectionState]

    /// A cable from `a` to `b`, both directions configured with `config`.
    /// `random` seeds the impairments; each direction gets its own stream split from it.
    public init(name: String, a: LinkEndpoint, b: LinkEndpoint, config: LinkConfig = .ideal, random: SeededRandom) {
        self.name = name
        self.a = a
        self.b = b
        directions = [
            DirectionState(config: config, random: random.split(index: 0)),
            DirectionState(config: config, random: random.split(index: 1)),
        ]
    }

    /// The endpoint frames travelling in `direction` arrive at.
    public func receiver(_ direction: LinkDirection) -> LinkEndpoint { direction == .aToB ? b : a }

    /// The endpoint frames travelling in `direction` leave from.
    public func sender(_ direction: LinkDirection) -> LinkEndpoint { direction == .aToB ? a : b }

    /// The configuration of one direction.
    public func config(_ direction: LinkDirection) -> LinkConfig { directions[direction.index].config }

    /// Changes the configuration of `direction`, or of both when nil; frames
    /// already on the wire keep the fate they were given.
    public func configure(_ direction: LinkDirection? = nil, _ change: (inout LinkConfig) -> Void) {
        for d in LinkDirection.allCases where direction == nil || direction == d {
            change(&directions[d.index].config)
        }
    }

    /// What has crossed `direction` so far.
    public func counters(_ direction: LinkDirection) -> LinkCounters { directions[direction.index].counters }

    /// Starts recording into a new tap (replacing any) and returns it.
    @discardableResult
    public func startCapture(snapLength: Int = 65535) -> PcapTap {
        let tap = PcapTap(snapLength: snapLength)
        self.tap = tap
        return tap
    }

    /// Puts `frame` on the wire in `direction` at `now` and reports each copy
    /// that will arrive, with its arrival time, through `deliver` (none when
    /// lost or dropped by a full queue, two when duplicated). Costs one copy of the frame per corrupted
    /// copy, a few random draws per impairment switched on, and for bit errors
    /// a draw per flipped bit (geometric skipping, not a draw per bit).
    public func transmit(
        _ frame: [UInt8], direction: LinkDirection, now: Instant,
        deliver: (_ arrival: Instant, _ frame: [UInt8]) -> Void
    ) {
        var d = directions[direction.index]
        defer { directions[direction.index] = d }
        let config = d.config
        d.sent += 1
        let number = d.sent
        d.counters.frames += 1
        d.counters.bytes += frame.count

        // Drop-tail: the frame finds the queue full and never reaches the wire,
        // so it takes no line time and draws no randomness.
        if let limit = config.queueLimit, config.byteCount(in: d.busyUntil - now) + frame.count > limit {
            d.counters.queueDropped += 1
            observer?(.linkLost(link: name, direction: direction, length: frame.count))
            return
        }
        let start = max(now, d.busyUntil)
        let end = start + config.serializationTime(byteCount: frame.count)
        d.busyUntil = end
        tap?.record(frame, at: start, now: now, stripFCS: config.fcs)

        // Every random draw happens for every frame, in a fixed order, so the
        // deterministic faults (dropFrames, corruptFrames) never shift the streams.
        var arrival = end + config.propagationDelay
        if config.jitter > .zero {
            arrival = max(end, arrival + .nanoseconds(d.random.symmetric(config.jitter.nanoseconds)))
        }
        let randomLoss = d.random.chance(config.loss)
        let duplicated = d.random.chance(config.duplicate)
        let reordered = d.random.chance(config.reorder)
        let bits = frame.count * 8
        let flips = BitErrors.positions(bitCount: bits, rate: config.bitErrorRate, random: &d.random)
        let duplicateFlips = duplicated
            ? BitErrors.positions(bitCount: bits, rate: config.bitErrorRate, random: &d.random) : []

        arrival = max(arrival, d.lastArrival)
        if randomLoss || config.dropFrames.contains(number) {
            d.counters.lost += 1
            observer?(.linkLost(link: name, direction: direction, length: frame.count))
            return
        }
        if reordered {
            arrival = arrival + config.reorderDelay
            d.counters.reordered += 1
            observer?(.linkReordered(link: name, direction: direction, length: frame.count, delay: config.reorderDelay))
        } else {
            d.lastArrival = arrival
        }
        var firstFlips = flips
        let forcedBit = frame.count / 2 * 8 + 7
        if config.corruptFrames.contains(number), !frame.isEmpty, !flips.contains(forcedBit) {
            firstFlips.append(forcedBit)
        }
        deliverCopy(frame, flips: firstFlips, at: arrival, direction: direction, state: &d, deliver: deliver)
        if duplicated {
            d.counters.duplicated += 1
            observer?(.linkDuplicated(link: name, direction: direction, length: frame.count))
            deliverCopy(frame, flips: duplicateFlips, at: arrival, direction: direction, state: &d, deliver: deliver)
        }
    }

    private func deliverCopy(
        _ frame: [UInt8], flips: [Int], at arrival: Instant, direction: LinkDirection,
        state d: inout DirectionState, deliver: (Instant, [UInt8]) -> Void
    ) {
        d.counters.delivered += 1
        guard !flips.isEmpty else { return deliver(arrival, frame) }
        var copy = frame
        BitErrors.flip(flips, in: &copy)
        d.counters.corrupted += 1
        d.counters.bitsFlipped += flips.count
        observer?(.linkCorrupted(link: name, direction: direction, bitsFlipped: flips.count))
        deliver(arrival, copy)
    }

    private struct DirectionState {
        var config: LinkConfig
        var random: SeededRandom
        /// When the last frame finishes serializing; the next one starts no earlier.
        var busyUntil = Instant.zero
        /// Arrival of the last frame not reordered; jitter never lets a frame arrive before it.
        var lastArrival = Instant.zero
        /// Frames sent so far, the number of the last one.
        var sent = 0
        var counters = LinkCounters()
    }
}

extension LinkDirection {
    fileprivate var index: Int { self == .aToB ? 0 : 1 }
}
