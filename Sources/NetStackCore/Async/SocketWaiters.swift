import Synchronization

/// The tasks a ``StackDriver`` has parked, by descriptor and by resolution.
///
/// A driver keeps one per host, touches it only with exclusive use of the host
/// (under its lock, or on its actor), and after each turn calls
/// ``wake(_:)``: that drains the host's readiness list
/// (`Host.takeReadinessChanges(into:)`) and polls only the descriptors in it
/// that have waiters — O(descriptors that changed), not O(waiters). Parking
/// turns the host's readiness tracking on. Resolutions are few and short-lived:
/// their waiters are checked on every wake while there are any.
public struct SocketWaiters {
    /// What a parked task waits for.
    public enum Key: Hashable, Sendable {
        /// A descriptor's readiness.
        case descriptor(Int32)
        /// A resolution's end.
        case resolution(ResolutionID)
    }

    struct Waiter {
        let id: Int
        let events: PollEvents
        let continuation: CheckedContinuation<Void, any Error>
    }

    private var byDescriptor: [Int32: [Waiter]] = [:]
    private var byResolution: [ResolutionID: [Waiter]] = [:]
    /// Waiter identities, unique in the process.
    private static let lastID = Atomic<Int>(0)
    /// The readiness list taken from the host (kept: no allocation per wake).
    private var changed: [Int32] = []

    /// No waiters.
    public init() { changed.reserveCapacity(256) }

    /// True when no task is parked.
    public var isEmpty: Bool { byDescriptor.isEmpty && byResolution.isEmpty }

    /// A new waiter identity, unique in the process, for the cancellation handler
    /// to name the waiter by. O(1), lock-free.
    public static func makeID() -> Int {
        lastID.add(1, ordering: .relaxed).newValue
    }

    /// Parks a task until `key` is ready (for `events`, for a descriptor) — or
    /// resumes it at once when it already is, or throws `CancellationError` when the
    /// task is already cancelled (call this from inside the continuation's closure,
    /// where the task's cancellation is visible). O(1) amortised.
    public mutating func park(_ key: Key, for events: PollEvents = [], id: Int, on host: Host,
                              _ continuation: CheckedContinuation<Void, any Error>) {
        if Task.isCancelled { return continuation.resume(throwing: CancellationError()) }
        if isReady(key, events, host) { return continuation.resume() }
        if !host.tracksReadiness { host.setTracksReadiness(true) }
        let waiter = Waiter(id: id, events: events, continuation: continuation)
        switch key {
        case let .descriptor(fd): byDescriptor[fd, default: []].append(waiter)
        case let .resolution(resolution): byResolution[resolution, default: []].append(waiter)
        }
    }

    /// Resumes waiter `id` (parked on `key`) with `CancellationError`; nothing if it is gone already. O(waiters on `key`).
    public mutating func cancel(_ id: Int, key: Key) {
        switch key {
        case let .descriptor(fd):
            guard var list = byDescriptor[fd], let index = list.firstIndex(where: { $0.id == id }) else { return }
            list.remove(at: index).continuation.resume(throwing: CancellationError())
            byDescriptor[fd] = list.isEmpty ? nil : list
        case let .resolution(resolution):
            guard var list = byResolution[resolution], let index = list.firstIndex(where: { $0.id == id }) else { return }
            list.remove(at: index).continuation.resume(throwing: CancellationError())
            byResolution[resolution] = list.isEmpty ? nil : list
        }
    }

    /// Resumes every waiter whose descriptor the host listed as changed and is now
    /// ready, and every waiter whose resolution ended. Drains the host's list even
    /// when nothing waits. O(listed descriptors + resolution waiters), no allocation
    /// unless a waiter is resumed.
    public mutating func wake(_ host: Host) {
        host.takeReadinessChanges(into: &changed)
        defer { changed.removeAll(keepingCapacity: true) }
        if !byDescriptor.isEmpty {
            for fd in changed {
                guard let list = byDescriptor[fd] else { continue }
                let ready = Self.poll(fd, host)
                let isWoken = { (waiter: Waiter) in !ready.isDisjoint(with: waiter.events.union([.error, .hangUp])) }
                guard list.contains(where: isWoken) else { continue }
                var remaining: [Waiter] = []
                for waiter in list {
                    if isWoken(waiter) { waiter.continuation.resume() } else { remaining.append(waiter) }
                }
                byDescriptor[fd] = remaining.isEmpty ? nil : remaining
            }
        }
        if !byResolution.isEmpty {
            for (resolution, list) in byResolution where host.resolution(resolution) != .pending {
                for waiter in list { waiter.continuation.resume() }
                byResolution[resolution] = nil
            }
        }
    }

    /// Resumes every waiter with `error` (a driver that gives up). O(waiters).
    public mutating func failAll(_ error: any Error) {
        for list in byDescriptor.values { for waiter in list { waiter.continuation.resume(throwing: error) } }
        for list in byResolution.values { for waiter in list { waiter.continuation.resume(throwing: error) } }
        byDescriptor.removeAll()
        byResolution.removeAll()
    }

    private func isReady(_ key: Key, _ events: PollEvents, _ host: Host) -> Bool {
        switch key {
        case let .descriptor(fd): !Self.poll(fd, host).isDisjoint(with: events.union([.error, .hangUp]))
        case let .resolution(resolution): host.resolution(resolution) != .pending
        }
    }

    /// A closed or unknown descriptor counts as ready: the call the task retries reports the error.
    private static func poll(_ fd: Int32, _ host: Host) -> PollEvents {
        (try? host.poll(fd)) ?? [.error]
    }
}
