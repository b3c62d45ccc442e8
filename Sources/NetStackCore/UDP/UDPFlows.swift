// UDP flows terminated in any-destination mode: each 5-tuple a session with its
// own small queue and an idle timeout, the UDP half of a transparent proxy
// (tun2socks). The application relays each flow to its original destination
// and answers from that destination's address.

import NetStackWire

/// One UDP session arriving on an interface in any-destination mode: a client
/// endpoint talking to a destination endpoint that is not necessarily the host's.
public struct UDPFlow: Sendable, Hashable, CustomStringConvertible {
    /// Identifies the flow among the host's (never reused).
    public let id: Int
    /// The datagrams' source.
    public let client: Endpoint
    /// Their original destination: replies go out from here.
    public let destination: Endpoint

    public var description: String { "udp-flow#\(id) \(client) → \(destination)" }
}

/// Bounds and behaviour of UDP flow interception (``Host/setUDPFlowInterception(_:)``).
public struct UDPFlowConfig: Sendable {
    /// Most flows held at once; a datagram that would open one more is dropped and counted.
    public var maxFlows = 4096
    /// A flow with no datagram either way for this long is closed (and reported by ``Host/takeExpiredUDPFlows()``).
    public var idleTimeout: Duration = .seconds(60)
    /// Datagrams, and payload bytes, a flow's queue holds before further ones are dropped and counted.
    public var queueDatagrams = 64
    public var queueBytes = 64 * 1024
    /// Payload bytes all flows' queues hold together; past it datagrams are dropped and counted.
    public var totalQueueBytes = 4 << 20
    /// Full-cone behaviour: replies of a flow may come from any source endpoint
    /// (``Host/udpFlowSend(_:_:from:now:)``), not only its original destination.
    public var fullCone = false

    public init() {}
}

/// Counters of UDP flow interception.
public struct UDPFlowStatistics: Sendable, Equatable {
    public var opened = 0
    public var expired = 0
    public var refusedByLimit = 0
    public var queueDrops = 0
    public init() {}
}

/// The flows, their queues and idle deadlines. O(1) per datagram (hash lookups,
/// an array append); expiry through a deadline heap.
struct UDPFlowTable {
    struct Key: Hashable {
        var client: Endpoint
        var destination: Endpoint
    }
    struct State {
        let flow: UDPFlow
        var queue: [[UInt8]] = []
        var queuedBytes = 0
        var lastActivity: Instant
        /// In `ready` (has datagrams the application has not been told of).
        var listedReady = false
    }

    var config: UDPFlowConfig
    private(set) var flows: [Int: State] = [:]
    private var byKey: [Key: Int] = [:]
    /// Flows not yet taken by `nextNew`, oldest first.
    private var fresh: [Int] = []
    /// Flows that received datagrams since the application last asked.
    private var ready: [Int] = []
    private var expired: [UDPFlow] = []
    private var deadlines = DeadlineHeap<Int>()
    /// Payload bytes queued in all flows.
    private var totalQueued = 0
    private(set) var statistics = UDPFlowStatistics()
    private var nextID = 1

    init(config: UDPFlowConfig) { self.config = config }

    var nextDeadline: Instant? { deadlines.firstDeadline }

    /// Queues a datagram for its flow, opening the flow if new. False when dropped (limit or full queue).
    mutating func input(client: Endpoint, destination: Endpoint, payload: UnsafeRawBufferPointer, now: Instant) -> Bool {
        let key = Key(client: client, destination: destination)
        let id: Int
        if let known = byKey[key] {
            id = known
        } else {
            guard flows.count < config.maxFlows else {
                statistics.refusedByLimit += 1
                return false
            }
            id = nextID
            nextID += 1
            flows[id] = State(flow: UDPFlow(id: id, client: client, destination: destination), lastActivity: now)
            byKey[key] = id
            // Ids of flows closed before the application took them linger here; an application
            // that never asks must not let them pile up.
            if fresh.count >= 2 * config.maxFlows { fresh.removeAll { flows[$0] == nil } }
            fresh.append(id)
            deadlines.push(id, at: now + config.idleTimeout)
            statistics.opened += 1
        }
        guard var state = flows[id] else { return false }
        state.lastActivity = now
        guard state.queue.count < config.queueDatagrams, state.queuedBytes + payload.count <= config.queueBytes,
              totalQueued + payload.count <= config.totalQueueBytes else {
            statistics.queueDrops += 1
            flows[id] = state
            return false
        }
        state.queue.append(Array(payload))
        state.queuedBytes += payload.count
        totalQueued += payload.count
        if !state.listedReady {
            state.listedReady = true
            if ready.count >= 2 * config.maxFlows { ready.removeAll { flows[$0] == nil } }
            ready.append(id)
        }
        flows[id] = state
        return true
    }

    /// The oldest flow the application has not been given yet.
    mutating func nextNew() -> UDPFlow? {
        while !fresh.isEmpty {
            let id = fresh.removeFirst()
            if let state = flows[id] { return state.flow }
        }
        return nil
    }

    /// Flows that received datagrams since the last call (each once), for the application to drain.
    mutating func takeReady() -> [UDPFlow] {
        let ids = ready
        ready.removeAll(keepingCapacity: true)
        return ids.compactMap { id in
            guard var state = flows[id] else { return nil }
            state.listedReady = false
            flows[id] = state
            return state.flow
        }
    }

    mutating func receive(_ flow: UDPFlow) -> [UInt8]? {
        guard var state = flows[flow.id], !state.queue.isEmpty else { return nil }
        let payload = state.queue.removeFirst()
        state.queuedBytes -= payload.count
        totalQueued -= payload.count
        flows[flow.id] = state
        return payload
    }

    /// The flow sent something: it stays alive. False when it is gone.
    mutating func touch(_ flow: UDPFlow, now: Instant) -> Bool {
        guard flows[flow.id] != nil else { return false }
        flows[flow.id]?.lastActivity = now
        return true
    }

    mutating func close(_ flow: UDPFlow) {
        guard let state = flows.removeValue(forKey: flow.id) else { return }
        byKey[Key(client: state.flow.client, destination: state.flow.destination)] = nil
        totalQueued -= state.queuedBytes
    }

    /// Closes the flows idle for `idleTimeout`; they wait in `expired` for the application.
    mutating func expire(now: Instant) {
        while let id = deadlines.popFirst(dueBy: now) {
            guard let state = flows[id] else { continue }
            let deadline = state.lastActivity + config.idleTimeout
            if deadline > now {
                deadlines.push(id, at: deadline)
                continue
            }
            close(state.flow)
            statistics.expired += 1
            // Kept for the application to close its side; bounded if it never asks.
            if expired.count < config.maxFlows { expired.append(state.flow) }
        }
    }

    mutating func takeExpired() -> [UDPFlow] {
        defer { expired.removeAll() }
        return expired
    }

    /// Every flow, oldest first, with its queued datagrams and last activity (for netstat).
    var all: [(flow: UDPFlow, queued: Int, lastActivity: Instant)] {
        flows.values.sorted { $0.flow.id < $1.flow.id }.map { ($0.flow, $0.queue.count, $0.lastActivity) }
    }
}
