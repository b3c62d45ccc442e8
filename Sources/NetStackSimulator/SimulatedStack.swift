public import NetStackCore

/// One host of an ``AsyncNetwork`` as a `StackDriver`: open `TCPStream`,
/// `TCPListener` and `UDPSocket` on it with `connect(to:)`, `listen(port:)` and
/// `udpSocket(port:)`, look names up with `resolve(_:)`. Every call is a hop onto
/// the network's actor; a blocked call waits in virtual time.
public struct SimulatedStack: StackDriver {
    let network: AsyncNetwork
    let node: Int

    /// Runs `body` on the host on the network's actor; see `StackDriver.perform(_:)`.
    public func perform<R: Sendable, E: Error>(_ body: @Sendable (Host, Instant) throws(E) -> R) async throws(E) -> R {
        try await network.withHost(node, body)
    }

    /// Parks the task until `descriptor` is ready; throws ETIMEDOUT past the network's time limit.
    public func waitUntilReady(_ descriptor: Int32, for events: PollEvents) async throws {
        try await network.wait(node: node, for: .descriptor(descriptor), events: events)
    }

    /// Parks the task until resolution `id` ends, running virtual time meanwhile.
    public func waitForResolution(_ id: ResolutionID) async throws {
        try await network.wait(node: node, for: .resolution(id))
    }

    /// Closes `descriptor` from a task of its own (a `deinit` cannot hop onto the actor).
    public func release(_ descriptor: Int32) {
        let network = network, node = node
        Task { await network.release(descriptor, node: node) }
    }

    /// Replaces the host's resolver settings (nameservers, hosts table, timeouts).
    public func setResolverConfig(_ config: ResolverConfig) async {
        await network.setResolverConfig(config, on: node)
    }
}
