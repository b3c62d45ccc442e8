/// Something that drives a ``Host`` and lets tasks use it: the real-time
/// runtime (a lock and an event loop) or the simulator (an actor and virtual time).
///
/// The async sockets (``TCPStream``, ``TCPListener``, ``UDPSocket``) are written
/// once against this protocol. Each of their calls is a short non-blocking
/// BSD-style call made through ``perform(_:)``; a call that would block parks
/// its task with ``waitUntilReady(_:for:)`` until the driver sees the
/// descriptor's readiness change (``SocketWaiters`` holds the parked tasks per
/// descriptor), then tries again.
public protocol StackDriver: Sendable {
    /// Runs `body` with the host and the current instant, with exclusive use of
    /// the host, then lets the host send what `body` made it send and wakes the
    /// tasks whose descriptors became ready. Keep `body` short: the stack waits meanwhile.
    /// Cost: on the real-time runtime, one lock acquisition, which blocks the calling
    /// thread (not just the task) while the loop holds the lock for a turn.
    func perform<R: Sendable, E: Error>(_ body: @Sendable (Host, Instant) throws(E) -> R) async throws(E) -> R

    /// Suspends until `descriptor` is ready for `events`, has an error or hang-up,
    /// or is closed (the retried call says why); returns at once if it already is.
    /// Throws `CancellationError` when the task is cancelled (its waiter is removed),
    /// or another error when the driver gives up (a `NetError` at the simulator's time
    /// limit; the runtime's error when its loop has ended: device gone, or stopped).
    func waitUntilReady(_ descriptor: Int32, for events: PollEvents) async throws

    /// Suspends until resolution `id` is no longer pending. Throws
    /// `CancellationError` when the task is cancelled (the caller cancels the lookup).
    func waitForResolution(_ id: ResolutionID) async throws

    /// Closes `descriptor` soon, from any context and without blocking or
    /// suspending: what a socket's `deinit` calls when it was not closed.
    func release(_ descriptor: Int32)
}
