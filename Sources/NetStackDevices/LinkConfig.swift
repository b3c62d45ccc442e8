/// What a ``Link`` does to the frames crossing it in one direction: how fast
/// it carries them, how long they travel, and which impairments it applies.
///
/// Probabilities are per frame except ``bitErrorRate`` (per bit). A link draws
/// random numbers only for the impairments that are switched on, so an
/// ``ideal`` link is exact and consumes no randomness.
public struct LinkConfig: Hashable, Sendable {
    /// Line rate; a frame of `n` bytes occupies the wire for `8n / bitsPerSecond`
    /// seconds (FCS included where carried; preamble and inter-frame gap are not
    /// modelled). nil: frames take no time to put on the wire.
    public var bitsPerSecond: Int?
    /// Time from the end of transmission to the end of arrival.
    public var propagationDelay: Duration
    /// Each frame's delay varies uniformly within ±`jitter` (never below zero).
    /// Jitter alone never reorders: a frame never arrives before the one sent before it.
    public var jitter: Duration
    /// Probability that a frame is lost.
    public var loss: Double
    /// Probability that a frame arrives twice.
    public var duplicate: Double
    /// Probability that a frame is held back by an extra ``reorderDelay``,
    /// so that frames sent after it can arrive first.
    public var reorder: Double
    /// How long a reordered frame is held back.
    public var reorderDelay: Duration
    /// Probability that any one bit arrives flipped. Flips land anywhere in the
    /// frame, FCS included, so a receiver that checks the FCS catches them.
    public var bitErrorRate: Double
    /// Frames on this link end with the 4-byte Ethernet FCS; captures strip it.
    public var fcs: Bool
    /// Frame numbers (1 is the first frame sent in a direction) to corrupt with
    /// exactly one flipped bit (the low bit of the middle byte): a deterministic
    /// fault for tests and demos, independent of the random impairments.
    public var corruptFrames: Set<Int>
    /// Frame numbers (1 is the first frame sent in a direction) to lose, deterministically.
    public var dropFrames: Set<Int>
    /// The bottleneck queue in front of the wire, in bytes: a frame is dropped
    /// (drop-tail) when the bytes still waiting to be serialized — the rest of
    /// the frame on the wire and those queued behind it — plus its own length
    /// exceed this. nil: unlimited, every frame waits its turn however long the
    /// queue. Needs ``bitsPerSecond``; without a line rate nothing ever waits.
    public var queueLimit: Int?

    /// A link with the given properties; every parameter defaults to "perfect".
    public init(
        bitsPerSecond: Int? = nil, propagationDelay: Duration = .zero, jitter: Duration = .zero,
        loss: Double = 0, duplicate: Double = 0, reorder: Double = 0, reorderDelay: Duration = .zero,
        bitErrorRate: Double = 0, fcs: Bool = false, corruptFrames: Set<Int> = [], dropFrames: Set<Int> = [],
        queueLimit: Int? = nil
    ) {
        self.bitsPerSecond = bitsPerSecond
        self.propagationDelay = propagationDelay
        self.jitter = jitter
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.reorderDelay = reorderDelay
        self.bitErrorRate = bitErrorRate
        self.fcs = fcs
        self.corruptFrames = corruptFrames
        self.dropFrames = dropFrames
        self.queueLimit = queueLimit
    }

    /// Instant, lossless, in order, no FCS.
    public static let ideal = LinkConfig()

    /// A 100 Mbit/s Ethernet cable of a few metres: 100 Mbit/s, 1 µs, FCS carried.
    public static let fastEthernet = LinkConfig(bitsPerSecond: 100_000_000, propagationDelay: .microseconds(1), fcs: true)

    /// The time `byteCount` bytes occupy the wire at ``bitsPerSecond``, rounded
    /// up to a whole nanosecond (zero when the rate is nil or not positive).
    public func serializationTime(byteCount: Int) -> Duration {
        guard let rate = bitsPerSecond, rate > 0 else { return .zero }
        let bits = Int64(byteCount) * 8
        let (whole, rest) = (bits * 1_000_000_000).quotientAndRemainder(dividingBy: Int64(rate))
        return .nanoseconds(whole + (rest > 0 ? 1 : 0))
    }

    /// The bytes the line carries in `duration` at ``bitsPerSecond``, rounded
    /// up (zero when the rate is nil or not positive, or `duration` not positive).
    public func byteCount(in duration: Duration) -> Int {
        guard let rate = bitsPerSecond, rate > 0, duration > .zero else { return 0 }
        let (bits, overflow) = duration.nanoseconds.multipliedReportingOverflow(by: Int64(rate))
        guard !overflow else { return Int.max }
        let (bytes, rest) = bits.quotientAndRemainder(dividingBy: 8_000_000_000)
        return Int(bytes) + (rest > 0 ? 1 : 0)
    }
}
