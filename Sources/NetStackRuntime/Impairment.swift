import NetStackCore
public import NetStackDevices

/// The `--impair` option: the simulator's link impairments applied to a real
/// device, e.g. `loss=5%,delay=10ms,jitter=3ms,reorder=25%,duplicate=1%,rate=100mbit,seed=7`.
/// (This machine's kernel has no netem, so NetStack impairs its own wire.)
public struct ImpairmentSpec: Sendable, Equatable {
    /// The impairments, the same in both directions.
    public var link: LinkConfig
    /// Seeds the random draws: the same seed makes the same choices for the same frames.
    public var seed: UInt64

    /// No impairment.
    public init(link: LinkConfig = .ideal, seed: UInt64 = 1) {
        self.link = link
        self.seed = seed
    }

    /// Parses the option's text; throws one line naming the bad part.
    public static func parse(_ text: String) throws(RuntimeError) -> ImpairmentSpec {
        var spec = ImpairmentSpec()
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw RuntimeError("bad --impair item '\(item)': expected key=value")
            }
            let (key, value) = (parts[0].lowercased(), parts[1].lowercased())
            switch key {
            case "loss": spec.link.loss = try probability(value, key)
            case "duplicate": spec.link.duplicate = try probability(value, key)
            case "reorder": spec.link.reorder = try probability(value, key)
            case "corrupt", "ber": spec.link.bitErrorRate = try probability(value, key)
            case "delay": spec.link.propagationDelay = try duration(value, key)
            case "jitter": spec.link.jitter = try duration(value, key)
            case "rate": spec.link.bitsPerSecond = try rate(value)
            case "seed":
                guard let seed = UInt64(value) else { throw RuntimeError("bad --impair seed '\(value)'") }
                spec.seed = seed
            default:
                throw RuntimeError("unknown --impair key '\(key)' (loss, delay, jitter, reorder, duplicate, corrupt, rate, seed)")
            }
        }
        // A reordered frame is held back by one more delay (at least 1 ms), so it
        // arrives after frames sent behind it — netem's reordering seen from the receiver.
        spec.link.reorderDelay = max(spec.link.propagationDelay, .milliseconds(1))
        return spec
    }

    /// True when frames pass untouched: the runtime then skips the impairment path entirely.
    public var isIdeal: Bool {
        link.loss == 0 && link.duplicate == 0 && link.reorder == 0 && link.bitErrorRate == 0
            && link.propagationDelay == .zero && link.jitter == .zero && link.bitsPerSecond == nil
    }

    private static func probability(_ text: String, _ key: String) throws(RuntimeError) -> Double {
        let percent = text.hasSuffix("%")
        guard let number = Double(percent ? String(text.dropLast()) : text), number.isFinite else {
            throw RuntimeError("bad --impair \(key) '\(text)': expected a percentage like 5%")
        }
        let value = percent ? number / 100 : number
        guard (0...1).contains(value) else { throw RuntimeError("bad --impair \(key) '\(text)': must be 0–100%") }
        return value
    }

    private static func duration(_ text: String, _ key: String) throws(RuntimeError) -> Duration {
        let units: [(String, Double)] = [("us", 1e-6), ("ms", 1e-3), ("s", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number >= 0, number <= 60 / scale {
                return .nanoseconds(Int64(number * scale * 1e9))
            }
            break
        }
        throw RuntimeError("bad --impair \(key) '\(text)': expected a duration like 10ms (0 to 60 s)")
    }

    private static func rate(_ text: String) throws(RuntimeError) -> Int {
        let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let number = Double(text.dropLast(suffix.count)), number >= 1e3 / scale, number * scale <= 1e12 {
                return Int(number * scale)
            }
            break
        }
        throw RuntimeError("bad --impair rate '\(text)': expected a rate like 100mbit (1kbit to 1000gbit)")
    }
}

/// The impaired wire between the device and the stack: a simulator ``Link``
/// whose two directions carry frames the device received (toward the stack)
/// and frames the stack sent (toward the device), with a time-ordered queue of
/// copies still "on the wire". Each frame costs one copy; only used with `--impair`.
final class ImpairedWire {
    enum Direction { case towardStack, towardDevice }

    private let link: Link
    private var inFlight = ArrivalHeap()

    init(_ spec: ImpairmentSpec) {
        let ends = WireEnd()
        link = Link(name: "impaired", a: LinkEndpoint(node: ends, port: 0), b: LinkEndpoint(node: ends, port: 1),
                    config: spec.link, random: SeededRandom(seed: spec.seed))
    }

    /// Puts a frame on the wire at `now`; its surviving copies come out of `due`.
    func transmit(_ frame: UnsafeRawBufferPointer, _ direction: Direction, now: Instant) {
        link.transmit(Array(frame), direction: direction == .towardStack ? .aToB : .bToA, now: now) { arrival, copy in
            inFlight.push(Arrival(direction: direction, frame: copy), at: arrival)
        }
    }

    /// When the next copy arrives, if any is on the wire.
    var nextArrival: Instant? { inFlight.firstTime }

    /// Hands every copy that has arrived by `now` to `deliver`, in arrival order.
    func due(now: Instant, _ deliver: (Direction, [UInt8]) -> Void) {
        while let time = inFlight.firstTime, time <= now, let arrival = inFlight.pop() {
            deliver(arrival.direction, arrival.frame)
        }
    }

    /// Frames lost on the way, both directions.
    var lost: Int { link.counters(.aToB).lost + link.counters(.bToA).lost }

    struct Arrival {
        var direction: Direction
        var frame: [UInt8]
    }

    /// A min-heap by (arrival time, order sent): NetStackCore's ``DeadlineHeap``.
    struct ArrivalHeap {
        private var heap = DeadlineHeap<Arrival>()
        var firstTime: Instant? { heap.firstDeadline }

        mutating func push(_ item: Arrival, at time: Instant) { heap.push(item, at: time) }

        mutating func pop() -> Arrival? { heap.popFirst() }
    }

    /// The link's two ends; the runtime moves frames itself, so the node does nothing.
    private final class WireEnd: FrameNode {
        var name: String { "device" }
        var portCount: Int { 2 }
        func receive(_ frame: [UInt8], on port: PortID, now: Instant) {}
        func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void) {}
        func nextDeadline() -> Instant? { nil }
    }
}
