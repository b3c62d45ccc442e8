public import NetStackCore
import Synchronization

/// The async sockets (`TCPStream`, `TCPListener`, `UDPSocket`) over a running
/// ``StackRuntime``, for tasks outside the stack's thread: `connect(to:)`,
/// `listen(port:)`, `udpSocket(port:)` and `resolve(_:)` come from `StackDriver`.
///
/// Each call takes the runtime's lock for one non-blocking socket call. A call
/// that would block (EAGAIN) parks its task under its descriptor; after each
/// turn the loop polls only the descriptors the stack listed as changed and
/// resumes their ready waiters. Reads hand over everything buffered at once, so
/// a bulk transfer costs one wake-up per batch of segments, not per segment,
/// and nothing is allocated per packet on the stack's side. Cancellation and
/// `deinit` never take the lock: they queue a request and wake the loop.
extension StackRuntime: StackDriver {
    /// Runs `body` with the stack under the runtime's lock; see ``withHost(_:)``.
    public func perform<R: Sendable, E: Error>(_ body: @Sendable (Host, Instant) throws(E) -> R) async throws(E) -> R {
        try withHost(body)
    }

    /// Parks the task until `descriptor` is ready for `events`; see `StackDriver.waitUntilReady(_:for:)`.
    public func waitUntilReady(_ descriptor: Int32, for events: PollEvents) async throws {
        try await wait(for: .descriptor(descriptor), events: events)
    }

    /// Parks the task until resolution `id` ends.
    public func waitForResolution(_ id: ResolutionID) async throws {
        try await wait(for: .resolution(id), events: [])
    }

    /// Queues `descriptor` to be closed by the loop's next turn (or the next ``withHost(_:)``).
    public func release(_ descriptor: Int32) {
        enqueue { $0.releases.append(descriptor) }
    }

    private func wait(for key: SocketWaiters.Key, events: PollEvents) async throws {
        let id = SocketWaiters.makeID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                park(key, for: events, id: id, continuation)
            }
        } onCancel: {
            enqueue { $0.cancellations.append((id, key)) }
        }
    }
}

/// Cancellations and releases waiting for the runtime's lock.
struct SocketRequests: Sendable {
    var cancellations: [(id: Int, key: SocketWaiters.Key)] = []
    var releases: [Int32] = []

    var isEmpty: Bool { cancellations.isEmpty && releases.isEmpty }
}
