import NetStackCore

/// A connection held in ``ConnectionSlots``: its descriptor and when a byte last moved.
protocol SlotConnection: AnyObject {
    var fd: Int32 { get }
    /// When a byte was last read or written (or the connection accepted).
    var lastProgress: Instant { get set }
    /// Evicted at the limit this turn: closed, leaving the list at the end of `acceptAll`.
    var evicted: Bool { get set }
}

/// The accepting, limiting and idle expiry the simple TCP services (echo,
/// discard) share. At most `maxConnections` are held. At the limit, while
/// clients wait to be accepted, connections with no progress for at least
/// `idleBeforeEviction` are aborted to make room, the longest idle first (one
/// scan per turn, one eviction per client accepted); a client that still finds
/// no room is reset at once. A connection with no progress for `idleTimeout`
/// is aborted. Not thread-safe: the stack's thread owns it.
final class ConnectionSlots<Connection: SlotConnection> {
    var maxConnections = 1024
    var idleTimeout: Duration = .seconds(30)
    var idleBeforeEviction: Duration = .seconds(1)
    private(set) var connections: [Connection] = []
    private(set) var connectionsAccepted = 0
    private(set) var connectionsRefused = 0
    private(set) var idleTimeouts = 0
    private(set) var idleDroppedAtLimit = 0
    private(set) var connectionsClosed = 0
    /// The earliest idle deadline among the connections after the last `serviceAll`.
    private(set) var nextDeadline: Instant?
    /// This turn's eviction candidates, longest idle first (kept to reuse the storage).
    private var candidates: [Connection] = []

    init() {}

    /// Accepts what waits on `listener` (at most 1024 per turn), evicting idle
    /// connections for the clients that find the slots full; `make` wraps a new
    /// descriptor, `release` frees what an evicted connection holds (not its descriptor).
    func acceptAll(_ listener: Int32, _ host: Host, now: Instant, make: (Int32) -> Connection,
                   release: (Connection) -> Void) {
        var evictedCount = 0
        var scanned = false
        var nextVictim = 0
        for _ in 0..<1024 {
            guard let (fd, _) = try? host.accept(listener) else { break }
            if connections.count - evictedCount >= maxConnections {
                if !scanned {
                    collectCandidates(now: now)
                    scanned = true
                }
                guard nextVictim < candidates.count else {
                    connectionsRefused += 1
                    abortConnection(fd, host, now: now)
                    continue
                }
                let victim = candidates[nextVictim]
                nextVictim += 1
                idleDroppedAtLimit += 1
                close(victim, host, now: now, abort: true, release: release)
                victim.evicted = true
                evictedCount += 1
            }
            connectionsAccepted += 1
            let connection = make(fd)
            connection.lastProgress = now
            connections.append(connection)
        }
        candidates.removeAll(keepingCapacity: true)
        if evictedCount > 0 { connections.removeAll { $0.evicted } }
    }

    /// Aborts the connections idle for `idleTimeout`, gives the others a turn
    /// with `serve` (false: finished, closed here with a FIN), and finds the next deadline.
    func serviceAll(_ host: Host, now: Instant, release: (Connection) -> Void, serve: (Connection) -> Bool) {
        nextDeadline = nil
        var i = 0
        while i < connections.count {
            let c = connections[i]
            if c.lastProgress + idleTimeout <= now {
                idleTimeouts += 1
                close(c, host, now: now, abort: true, release: release)
            } else if serve(c) {
                let deadline = c.lastProgress + idleTimeout
                if nextDeadline.map({ deadline < $0 }) ?? true { nextDeadline = deadline }
                i += 1
                continue
            } else {
                close(c, host, now: now, abort: false, release: release)
            }
            connections.swapAt(i, connections.count - 1)
            connections.removeLast()
        }
    }

    /// Closes every connection (FIN; RST where unread data remains).
    func closeAll(_ host: Host, now: Instant, release: (Connection) -> Void) {
        for c in connections { close(c, host, now: now, abort: false, release: release) }
        connections.removeAll()
        nextDeadline = nil
    }

    /// The connections idle for at least `idleBeforeEviction`, longest idle first. O(n) plus the sort.
    private func collectCandidates(now: Instant) {
        candidates.removeAll(keepingCapacity: true)
        for c in connections where now - c.lastProgress >= idleBeforeEviction { candidates.append(c) }
        candidates.sort { $0.lastProgress < $1.lastProgress }
    }

    private func close(_ c: Connection, _ host: Host, now: Instant, abort: Bool, release: (Connection) -> Void) {
        if abort {
            abortConnection(c.fd, host, now: now)
        } else {
            try? host.close(c.fd, now: now)
        }
        release(c)
        connectionsClosed += 1
    }
}

/// Closes `fd` with a reset (SO_LINGER 0): for connections refused, evicted or timed out.
func abortConnection(_ fd: Int32, _ host: Host, now: Instant) {
    try? host.setOption(fd, .linger(.zero))
    try? host.close(fd, now: now)
}
