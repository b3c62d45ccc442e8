public import NetStackCore
import NetStackDevices

/// What the simulator knows about one node.
struct NodeState {
    let node: any FrameNode
    /// The link on each port, nil where nothing is plugged in.
    var ports: [Attachment?]
    /// The wake-up currently scheduled; a wake event for another time is stale.
    var wakeAt: Instant?
}

/// A port's link, the direction frames sent out of the port travel, and the node at the other end.
struct Attachment {
    let link: Int
    let direction: LinkDirection
    let receiver: Int
}

/// Something due at a point in virtual time.
enum Event {
    case deliver(node: Int, port: PortID, frame: [UInt8])
    case wake(node: Int)
    case action(() -> Void)
}

extension Simulator {
    /// Processes every event due up to and including `time`, then sets the clock to `time`.
    @discardableResult
    public func run(until time: Instant) -> RunOutcome {
        let outcome = process(until: time)
        if outcome == .eventLimit { return outcome }
        now = max(now, time)
        return .reachedTime
    }

    /// Runs for `duration` of virtual time; see ``run(until:)``.
    @discardableResult
    public func run(for duration: Duration) -> RunOutcome {
        run(until: now + duration)
    }

    /// Runs until nothing is left to do — no event pending and no node with a
    /// deadline — leaving the clock at the last event, or until `limit`,
    /// leaving it at `limit`.
    @discardableResult
    public func runUntilIdle(limit: Instant) -> RunOutcome {
        let outcome = process(until: limit)
        if outcome == .idle || outcome == .eventLimit { return outcome }
        now = max(now, limit)
        return .reachedTime
    }

    /// Runs events due by `limit`. Returns `.idle` when the queue ran dry (after
    /// checking every node for a deadline), `.reachedTime` when the next event
    /// is later than `limit`.
    private func process(until limit: Instant) -> RunOutcome {
        // Outside code may have given nodes work since the last run without a kick.
        refreshDeadlines()
        var budget = maxEventsPerRun
        while true {
            if queue.isEmpty {
                refreshDeadlines()
                if queue.isEmpty { return .idle }
            }
            guard let next = queue.nextTime, next <= limit else { return .reachedTime }
            guard budget > 0 else { return .eventLimit }
            budget -= 1
            guard let entry = queue.pop() else { return .idle }
            now = max(now, entry.time)
            eventsProcessed += 1
            dispatch(entry.payload, scheduledFor: entry.time)
        }
    }

    /// When the next event is due (refreshing the nodes' deadlines first), or nil
    /// when nothing is scheduled. For drivers that treat a jump in time with care
    /// (``AsyncNetwork``). O(nodes) when the queue is empty, else O(1).
    public func nextEventTime() -> Instant? {
        if queue.isEmpty { refreshDeadlines() }
        return queue.nextTime
    }

    /// Processes the one next event, if it is due by `limit`. Returns false when
    /// nothing is left to do by then (no event, no node deadline) — for drivers
    /// that must look around between events (``AsyncNetwork``).
    public func step(until limit: Instant) -> Bool {
        if queue.isEmpty { refreshDeadlines() }
        guard let next = queue.nextTime, next <= limit, let entry = queue.pop() else { return false }
        now = max(now, entry.time)
        eventsProcessed += 1
        dispatch(entry.payload, scheduledFor: entry.time)
        return true
    }

    private func dispatch(_ event: Event, scheduledFor time: Instant) {
        switch event {
        case let .deliver(i, port, frame):
            let node = nodeStates[i].node
            observer?(.delivered(node: node.name, port: port, length: frame.count, time: now))
            node.receive(frame, on: port, now: now)
            poll(i)
        case let .wake(i):
            // A wake-up superseded by an earlier one is stale: the earlier poll rescheduled.
            guard nodeStates[i].wakeAt == time else { return }
            nodeStates[i].wakeAt = nil
            poll(i)
        case let .action(action):
            action()
            for i in nodeStates.indices { poll(i) }
        }
    }

    /// Polls node `i` at `now`, sends what it hands out, and schedules its next wake-up.
    func poll(_ i: Int) {
        let node = nodeStates[i].node
        node.poll(now: now) { port, frame in send(frame, from: i, port: port) }
        scheduleWake(i)
    }

    private func send(_ frame: [UInt8], from i: Int, port: PortID) {
        let state = nodeStates[i]
        guard state.ports.indices.contains(port), let attachment = state.ports[port] else {
            unconnectedDrops += 1
            observer?(.unconnected(node: state.node.name, port: port, length: frame.count, time: now))
            return
        }
        let link = links[attachment.link]
        observer?(.transmitted(node: state.node.name, port: port, link: link.name, length: frame.count, time: now))
        let receiver = attachment.receiver
        let receiverPort = link.receiver(attachment.direction).port
        link.transmit(frame, direction: attachment.direction, now: now) { arrival, copy in
            queue.push(.deliver(node: receiver, port: receiverPort, frame: copy), at: arrival)
        }
    }

    /// Schedules a wake-up at node `i`'s deadline when it is earlier than the one pending.
    private func scheduleWake(_ i: Int) {
        guard let deadline = nodeStates[i].node.nextDeadline() else { return }
        let time = max(deadline, now)
        if let pending = nodeStates[i].wakeAt, pending <= time { return }
        nodeStates[i].wakeAt = time
        queue.push(.wake(node: i), at: time)
    }

    private func refreshDeadlines() {
        for i in nodeStates.indices { scheduleWake(i) }
    }
}
