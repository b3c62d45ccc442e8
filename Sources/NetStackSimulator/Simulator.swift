public import NetStackCore
public import NetStackDevices

/// Drives many `FrameNode`s joined by `Link`s on a virtual clock, one
/// event at a time, deterministically: the same seed and the same calls give
/// the same frames, byte for byte, at the same virtual times.
///
/// Events (a frame arriving, a node's deadline, an action a test scheduled)
/// wait in a binary heap ordered by (time, order scheduled). After a node
/// receives a frame or wakes, the simulator polls it, puts the frames it sends
/// on the links of their ports, and schedules a wake-up for its next deadline.
/// Each link draws from its own random stream, derived from the seed and the
/// link's index, so captures and observers never change a run. Single-threaded
/// and not `Sendable`: create, drive and read it from one thread or task.
public final class Simulator {
    /// The seed every random stream derives from.
    public let seed: UInt64
    /// The virtual time: starts at zero, moves only forward, only while running.
    public internal(set) var now: Instant = .zero
    /// The most events one `run…` call processes before giving up, so a node
    /// that keeps asking to be woken at the same instant cannot spin forever.
    public var maxEventsPerRun = 50_000_000
    /// Events processed since the simulator was made.
    public internal(set) var eventsProcessed = 0
    /// Frames a node sent out of a port with no link plugged in.
    public internal(set) var unconnectedDrops = 0
    /// Told about every frame sent, delivered or dropped for want of a link; nil costs nothing.
    public var observer: ((SimulatorEvent) -> Void)?
    /// The links, in the order they were connected.
    public private(set) var links: [Link] = []

    let root: SeededRandom
    var nodeStates: [NodeState] = []
    private var nodeIndex: [ObjectIdentifier: Int] = [:]
    var queue = EventQueue<Event>()

    /// An empty network at time zero whose randomness all derives from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        root = SeededRandom(seed: seed)
    }

    /// The nodes, in the order they were added.
    public var nodes: [any FrameNode] { nodeStates.map(\.node) }

    /// Events waiting to run (frame arrivals, wake-ups, actions).
    public var pendingEventCount: Int { queue.count }

    /// Adds `node` (once; adding it again does nothing) and schedules a first
    /// poll at the current time, so a node with work from the start gets to it.
    public func add(_ node: any FrameNode) {
        _ = index(of: node)
    }

    /// Plugs a new link between port `portA` of `a` and port `portB` of `b`,
    /// adding the nodes if needed. The link's randomness is stream number
    /// `links.count` of the seed.
    /// - Precondition: both ports exist and have no link yet.
    @discardableResult
    public func connect(
        _ a: any FrameNode, _ portA: PortID, _ b: any FrameNode, _ portB: PortID,
        config: LinkConfig = .ideal, name: String? = nil
    ) -> Link {
        let ia = index(of: a), ib = index(of: b)
        precondition((0..<a.portCount).contains(portA), "\(a.name) has no port \(portA)")
        precondition((0..<b.portCount).contains(portB), "\(b.name) has no port \(portB)")
        precondition(nodeStates[ia].ports[portA] == nil, "\(a.name) port \(portA) already has a link")
        precondition(nodeStates[ib].ports[portB] == nil, "\(b.name) port \(portB) already has a link")
        precondition(ia != ib || portA != portB, "a link needs two different ports")
        let link = Link(
            name: name ?? "\(a.name):\(portA)-\(b.name):\(portB)",
            a: LinkEndpoint(node: a, port: portA), b: LinkEndpoint(node: b, port: portB),
            config: config, random: root.split(index: UInt64(links.count)))
        links.append(link)
        let linkIndex = links.count - 1
        nodeStates[ia].ports[portA] = Attachment(link: linkIndex, direction: .aToB, receiver: ib)
        nodeStates[ib].ports[portB] = Attachment(link: linkIndex, direction: .bToA, receiver: ia)
        return link
    }

    /// The link plugged into `port` of `node`, if any.
    public func link(at node: any FrameNode, port: PortID) -> Link? {
        guard let i = nodeIndex[ObjectIdentifier(node)], nodeStates[i].ports.indices.contains(port),
              let attachment = nodeStates[i].ports[port] else { return nil }
        return links[attachment.link]
    }

    /// Runs `action` at virtual time `time` (now, if `time` is in the past),
    /// after everything already scheduled for that time; then polls every
    /// node, in the order added, so whatever the action asked of any node
    /// (send a ping, open a connection) happens at that same time.
    public func schedule(at time: Instant, _ action: @escaping () -> Void) {
        queue.push(.action(action), at: max(time, now))
    }

    /// Runs `action` `delay` after the current virtual time; see ``schedule(at:_:)``.
    public func schedule(after delay: Duration, _ action: @escaping () -> Void) {
        schedule(at: now + delay, action)
    }

    /// Polls `node` right away, at the current virtual time, and puts what it
    /// sends on its links: for outside code that just gave the node work
    /// between runs. Adds the node if needed.
    public func kick(_ node: any FrameNode) {
        poll(index(of: node))
    }

    /// An independent random stream for the caller's own use (a host's initial
    /// sequence numbers, an application's choices), derived from the seed and
    /// `index`, and distinct from every link's stream.
    public func randomStream(_ index: UInt64) -> SeededRandom {
        root.split(index: 1 << 63 | index)
    }

    private func index(of node: any FrameNode) -> Int {
        if let i = nodeIndex[ObjectIdentifier(node)] { return i }
        let i = nodeStates.count
        nodeIndex[ObjectIdentifier(node)] = i
        nodeStates.append(NodeState(node: node, ports: Array(repeating: nil, count: max(0, node.portCount))))
        queue.push(.wake(node: i), at: now)
        nodeStates[i].wakeAt = now
        return i
    }
}

/// A frame the simulator moved, reported to ``Simulator/observer``.
public enum SimulatorEvent: Hashable, Sendable, CustomStringConvertible {
    /// `node` sent a frame out of `port` onto `link` at `time`.
    case transmitted(node: String, port: PortID, link: String, length: Int, time: Instant)
    /// A frame arrived at `port` of `node` at `time`.
    case delivered(node: String, port: PortID, length: Int, time: Instant)
    /// `node` sent a frame out of a port with no link; it was dropped.
    case unconnected(node: String, port: PortID, length: Int, time: Instant)

    /// One line, e.g. `0.001800s h2 port 0: received 1000 bytes`.
    public var description: String {
        switch self {
        case let .transmitted(node, port, link, length, time):
            "\(time) \(node) port \(port): sent \(length) bytes on \(link)"
        case let .delivered(node, port, length, time): "\(time) \(node) port \(port): received \(length) bytes"
        case let .unconnected(node, port, length, time):
            "\(time) \(node) port \(port): dropped \(length) bytes (no link)"
        }
    }
}

/// How a `run…` call ended.
public enum RunOutcome: Hashable, Sendable {
    /// The clock reached the time asked for; events after it may be pending.
    case reachedTime
    /// Nothing was left to do: no event pending and no node with a deadline.
    case idle
    /// ``Simulator/maxEventsPerRun`` events ran first; the clock stopped at the last one.
    case eventLimit
}
