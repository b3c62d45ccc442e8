public import NetStackCore
import NetStackDevices

/// Drives a simulated network in virtual time for the async sockets
/// (`TCPStream`, `TCPListener`, `UDPSocket`), one ``SimulatedStack`` per host.
///
/// The actor owns the simulator and every host on it, so no stack is ever
/// touched from two threads: Swift 6 checks this at compile time. A socket call
/// that would block (connect, accept, a write into a full send buffer, a read
/// from an empty receive buffer, a lookup) parks its task in the host's
/// `SocketWaiters` and suspends. A driver task runs the simulation one event at
/// a time, yielding between events so that woken tasks run at the virtual time
/// their event happened; after each event it wakes the tasks whose descriptors
/// the hosts listed as changed. When nothing waits, or nothing is scheduled
/// (the network is idle until a task gives a host work), the driver stops;
/// virtual time is bounded by `limit`.
public actor AsyncNetwork {
    let simulator: Simulator
    let nodes: [HostNode]
    /// The parked tasks of each host, by descriptor.
    private var waiters: [SocketWaiters]
    private var driving = false
    /// Counts the tasks' visits to the actor (socket calls, and parked calls coming back):
    /// the driver moves time only once it has stopped changing, so every woken task has
    /// had its turn at the current instant however busy the machine's threads are.
    private var activity = 0
    /// The driver gives up (failing every waiter with ETIMEDOUT) past this much virtual time.
    private let limit: Duration

    /// Takes ownership of a network built by `build` (run inside the actor, so the
    /// hosts never escape it). `limit` bounds how far the driver runs virtual time.
    public init(limit: Duration = .seconds(3600), build: @Sendable () -> (Simulator, [HostNode])) {
        let (simulator, nodes) = build()
        self.simulator = simulator
        self.nodes = nodes
        self.limit = limit
        waiters = nodes.map { _ in SocketWaiters() }
    }

    /// The socket API of host number `index` (in the order `build` returned them).
    public nonisolated func stack(_ index: Int) -> SimulatedStack { SimulatedStack(network: self, node: index) }

    /// The current virtual time (a visit: the driver waits for the task that asks).
    public var now: Instant {
        activity &+= 1
        return simulator.now
    }

    /// Replaces the resolver settings of host `node`.
    public func setResolverConfig(_ config: ResolverConfig, on node: Int) {
        nodes[node].host.resolverConfig = config
    }

    /// Runs `body` on host `node` at the current time, then lets it send what it
    /// wants to and wakes the tasks whose descriptors became ready.
    func withHost<R, E: Error>(_ node: Int, _ body: (Host, Instant) throws(E) -> R) throws(E) -> R {
        activity &+= 1
        let result = try body(nodes[node].host, simulator.now)
        simulator.kick(nodes[node])
        wakeReady()
        if isWaiting { startDriver() }
        return result
    }

    /// Suspends until `key` of host `node` is ready; see `StackDriver.waitUntilReady(_:for:)`.
    func wait(node: Int, for key: SocketWaiters.Key, events: PollEvents = []) async throws {
        activity &+= 1
        defer { activity &+= 1 }  // back from the park: the task runs on at this instant
        let id = SocketWaiters.makeID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters[node].park(key, for: events, id: id, on: nodes[node].host, continuation)
                if isWaiting { startDriver() }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id, key: key, node: node) }
        }
    }

    /// Closes `descriptor` of host `node` (a socket released without `close`).
    func release(_ descriptor: Int32, node: Int) {
        withHost(node) { host, now in try? host.close(descriptor, now: now) }
    }

    private func cancelWaiter(_ id: Int, key: SocketWaiters.Key, node: Int) {
        waiters[node].cancel(id, key: key)
    }

    private var isWaiting: Bool { waiters.contains { !$0.isEmpty } }

    private func startDriver() {
        guard !driving else { return }
        driving = true
        Task { await self.drive() }
    }

    /// Yields in a row without a task's visit after which the driver moves time.
    static let quietYields = 16
    /// The same before time jumps over an idle stretch, where acting late would matter most.
    static let quietYieldsBeforeJump = 2048
    /// And the wall-clock time without a visit before such a jump: yields cannot see a task
    /// whose thread the OS preempted between two socket calls on a loaded machine. (Seen in CI,
    /// and in 3 of 80 runs of Examples' TwoLANTest under load here: a reply at 60 s of virtual
    /// time instead of 0.0002 s. The cost: this much wall time per jump over an idle stretch.)
    static let quietTimeBeforeJump: Duration = .milliseconds(10)

    /// The driver: one simulator event at a time, waking ready waiters in between.
    private func drive() async {
        let deadline = simulator.now + limit
        while isWaiting {
            wakeReady()
            // Let the woken tasks run (they may write, read, or wait again) before time moves:
            // until no task has visited the actor for `quietYields` yields in a row. A fixed
            // few yields were not enough on a loaded machine, where a woken task's thread may
            // not run before them, and time then jumped past what it was about to do.
            // Before a jump over an idle stretch (the next event is more than a millisecond
            // away) wait much longer: a task about to act now would otherwise act after it.
            var needed = Self.quietYields
            var quietTime = Duration.zero
            if let next = simulator.nextEventTime(), next.nanoseconds - simulator.now.nanoseconds > 1_000_000 {
                needed = Self.quietYieldsBeforeJump
                quietTime = Self.quietTimeBeforeJump
            }
            let clock = ContinuousClock()
            var seen = activity, quiet = 0, spins = 0, lastVisit = clock.now
            while (quiet < needed || clock.now - lastVisit < quietTime) && spins < 100_000 {
                if quiet < needed {
                    await Task.yield()
                } else {
                    try? await Task.sleep(for: .milliseconds(1))  // off the CPU: a preempted task's thread runs
                }
                spins += 1
                if activity != seen {
                    seen = activity
                    quiet = 0
                    lastVisit = clock.now
                } else {
                    quiet += 1
                }
            }
            wakeReady()
            if !isWaiting { break }
            guard simulator.now < deadline else {
                failAll(NetError.timedOut)
                break
            }
            if !simulator.step(until: deadline) {
                // Only events past the limit remain: nothing the waiters wait for can come in time.
                if simulator.pendingEventCount > 0 { failAll(NetError.timedOut) }
                // Otherwise nothing is scheduled at all: the network is idle until some task gives a
                // host work (`withHost` restarts the driver) or a waiter is cancelled.
                break
            }
        }
        driving = false
    }

    /// Wakes, on every host, the waiters whose descriptor the host listed as changed and is ready.
    private func wakeReady() {
        for index in waiters.indices { waiters[index].wake(nodes[index].host) }
    }

    private func failAll(_ error: NetError) {
        for index in waiters.indices { waiters[index].failAll(error) }
    }
}
