/// A program that runs on the stack's own thread, the way the simulator's hosts
/// and the TAP runtime drive applications: after every poll of the stack the
/// driver gives each application a turn, and whatever it sends leaves with that
/// same poll. No thread hop per packet, and deterministic under the simulator.
///
/// An application uses the socket library's non-blocking calls (`accept`,
/// `recv`, `send` throwing EAGAIN) and must never block. A class, because the
/// driver and its owner both refer to the same running program.
public protocol StackApplication: AnyObject {
    /// Takes a turn: reads what arrived, answers, sends. Called after each poll of `host`.
    func run(on host: Host, now: Instant)
    /// When the application needs a turn even if no frame arrives (a timeout, the
    /// next ping); nil when only traffic can give it work.
    var nextWakeup: Instant? { get }
    /// The driver is shutting down (SIGINT/SIGTERM): close listeners and
    /// connections gracefully (FIN), stop sending new work.
    func stop(on host: Host, now: Instant)
}

extension StackApplication {
    public var nextWakeup: Instant? { nil }
    public func stop(on host: Host, now: Instant) {}
}

/// A service whose counters (connections refused by its limits, timeouts …)
/// belong in `netstack netstat --statistics`, after the stack's own sections.
public protocol ServiceStatisticsReporting: AnyObject {
    /// Lines of the form `    <count> <what>`, each ending in a newline, naming the service.
    var statisticsReport: String { get }
}
