public import NetStackCore
import NetStackDevices

/// The socket library over Swift concurrency, for stacks on a simulated network.
///
/// The actor owns the simulator and every host on it, so no stack is ever
/// touched from two threads: Swift 6 checks this at compile time. Socket calls
/// are `async`: one that would block (connect, accept, a write into a full
/// send buffer, a read from an empty receive buffer) registers a waiter and
/// suspends. A driver task runs the simulation one event at a time, yielding
/// between events so that woken tasks run at the virtual time their event
/// happened; after each event it resumes every waiter whose socket became ready.
/// When nothing waits, or nothing is scheduled (the network is idle until a task
/// gives a host work), the driver stops; virtual time is bounded by `limit`.
///
/// The real-time runtime (the TAP/TUN issue) drives the same calls from its
/// event loop instead of the simulator's.
public actor AsyncNetwork {
    let simulator: Simulator
    let nodes: [HostNode]
    private var waiters: [Waiter] = []
    private var driving = false
    /// The driver gives up (failing every waiter with ETIMEDOUT) past this much virtual time.
    private let limit: Duration

    struct Waiter {
        let node: Int
        let descriptor: Int32
        let events: PollEvents
        let continuation: CheckedContinuation<Void, any Error>
        let id: Int
    }
    private var nextWaiterID = 0

    /// Takes ownership of a network built by `build` (run inside the actor, so the
    /// hosts never escape it). `limit` bounds how far the driver runs virtual time.
    public init(limit: Duration = .seconds(3600), build: @Sendable () -> (Simulator, [HostNode])) {
        let (simulator, nodes) = build()
        self.simulator = simulator
        self.nodes = nodes
        self.limit = limit
    }

    /// The socket API of host number `index` (in the order `build` returned them).
    public nonisolated func stack(_ index: Int) -> AsyncStack { AsyncStack(network: self, node: index) }

    /// The current virtual time.
    public var now: Instant { simulator.now }

    /// Runs `body` on host `node` at the current time, then lets it send what it wants to.
    func withHost<R>(_ node: Int, _ body: (Host, Instant) throws(NetError) -> R) throws(NetError) -> R {
        let result = try body(nodes[node].host, simulator.now)
        simulator.kick(nodes[node])
        if !waiters.isEmpty { startDriver() }
        return result
    }

    /// Suspends until `descriptor` of host `node` is ready for `events` (or has an error).
    func wait(node: Int, descriptor: Int32, for events: PollEvents) async throws {
        if let ready = try? nodes[node].host.poll(descriptor), !ready.isDisjoint(with: events.union(.error)) { return }
        let id = nextWaiterID
        nextWaiterID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(Waiter(node: node, descriptor: descriptor, events: events, continuation: continuation, id: id))
                startDriver()
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    private func cancelWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        waiter.continuation.resume(throwing: CancellationError())
    }

    private func startDriver() {
        guard !driving else { return }
        driving = true
        Task { await self.drive() }
    }

    /// The driver: one simulator event at a time, waking ready waiters in between.
    private func drive() async {
        let deadline = simulator.now + limit
        while !waiters.isEmpty {
            wakeReady()
            // Let the woken tasks run (they may write, read, or wait again) before time moves.
            for _ in 0..<4 { await Task.yield() }
            if waiters.isEmpty { break }
            wakeReady()
            if waiters.isEmpty { break }
            guard simulator.now < deadline else {
                for waiter in waiters { waiter.continuation.resume(throwing: NetError.timedOut) }
                waiters.removeAll()
                break
            }
            if !simulator.step(until: deadline) {
                if simulator.pendingEventCount > 0 {
                    // Only events past the limit remain: nothing the waiters wait for can come in time.
                    for waiter in waiters { waiter.continuation.resume(throwing: NetError.timedOut) }
                    waiters.removeAll()
                }
                // Otherwise nothing is scheduled at all: the network is idle until some task gives a
                // host work (`withHost` restarts the driver) or a waiter is cancelled.
                break
            }
        }
        driving = false
    }

    /// Resumes every waiter whose socket is ready now (a closed descriptor counts as ready: the call will say why).
    private func wakeReady() {
        var index = 0
        while index < waiters.count {
            let waiter = waiters[index]
            let ready = (try? nodes[waiter.node].host.poll(waiter.descriptor)) ?? [.error]
            if !ready.isDisjoint(with: waiter.events.union([.error, .hangUp])) {
                waiters.remove(at: index)
                waiter.continuation.resume()
            } else {
                index += 1
            }
        }
    }
}
