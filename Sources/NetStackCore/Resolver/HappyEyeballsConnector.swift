public import NetStackWire

/// Connects to `name:port` with Happy Eyeballs v2 (RFC 8305) on the stack's own
/// thread: starts the AAAA and A lookups together, carries out what
/// ``HappyEyeballs`` decides (non-blocking connects, closing the losers), and
/// ends with one connected TCP descriptor or the reasons none connected.
///
/// Drive it like a ``StackApplication``: ``run(on:now:)`` after each poll of
/// the host and at ``nextWakeup``. An address literal (`192.0.2.1`,
/// `2001:db8::1`) is tried alone, with no lookup. Cost: two lookups, one
/// socket per attempt; each turn is O(addresses).
public final class HappyEyeballsConnector {
    /// How the connection ended.
    public enum Result: Sendable, Equatable {
        /// Connected: the descriptor (now the caller's to use and close) and the address that won.
        case connected(descriptor: Int32, address: IPAddress)
        /// No address connected; `reason` is one line.
        case failed(reason: String)
    }

    /// The name (or literal) asked for.
    public let name: String
    /// The TCP port connected to.
    public let port: UInt16
    /// The race: its ``HappyEyeballs/trace`` says what happened and why.
    public private(set) var race: HappyEyeballs
    /// The end, once known.
    public private(set) var result: Result?
    private var lookups: [(type: AddressRecordType, id: ResolutionID)] = []
    private var attempts: [(address: IPAddress, descriptor: Int32)] = []

    /// Starts the lookups (or takes the literal). Throws when the resolver cannot
    /// start a lookup (`ENOBUFS`, `EADDRINUSE`).
    public init(host: Host, name: String, port: UInt16, now: Instant,
                timing: HappyEyeballs.Timing = HappyEyeballs.Timing()) throws(NetError) {
        self.name = name
        self.port = port
        race = HappyEyeballs(start: now, timing: timing)
        if let literal = IPAddress(name) {
            race.answered(literal.isIPv4 ? .a : .aaaa, [literal], now: now)
            race.answered(literal.isIPv4 ? .aaaa : .a, [], now: now)
        } else {
            // AAAA first (§3), then A; both out before any answer can come.
            for type in [AddressRecordType.aaaa, .a] {
                do throws(NetError) {
                    lookups.append((type, try host.resolve(name, type: type, now: now)))
                } catch {
                    for lookup in lookups { host.cancelResolution(lookup.id) }
                    throw error
                }
            }
        }
        run(on: host, now: now)
    }

    /// The lookups still pending: what a waiting task waits on.
    var pendingLookups: [ResolutionID] { lookups.map(\.id) }
    /// The descriptors of the attempts in flight: what a waiting task waits on.
    var attemptDescriptors: [Int32] { attempts.map(\.descriptor) }

    /// When a turn is due without traffic: the race's next delay.
    public var nextWakeup: Instant? { result == nil ? race.nextDeadline : nil }

    /// Reads the lookups and the attempts, then carries out the race's decisions.
    public func run(on host: Host, now: Instant) {
        guard result == nil else { return }
        readLookups(host, now: now)
        readAttempts(host, now: now)
        // Each pass starts at most one attempt, and a pass that starts none ends the loop.
        while result == nil {
            let actions = race.poll(now: now)
            guard !actions.isEmpty else { break }
            for action in actions { carryOut(action, host, now: now) }
        }
        finishIfDecided(host, now: now)
    }

    /// Gives up: cancels the lookups and closes every attempt.
    public func cancel(on host: Host, now: Instant) {
        for lookup in lookups { host.cancelResolution(lookup.id) }
        lookups = []
        for attempt in attempts { try? host.close(attempt.descriptor, now: now) }
        attempts = []
        if result == nil { result = .failed(reason: "cancelled") }
    }

    private func readLookups(_ host: Host, now: Instant) {
        lookups.removeAll { lookup in
            switch host.resolution(lookup.id) {
            case .pending?: return false
            case let .resolved(answer)?: race.answered(lookup.type, answer.addresses, now: now)
            case let .failed(error)?: race.resolutionFailed(lookup.type, error, now: now)
            case nil: race.resolutionFailed(lookup.type, .timedOut, now: now)
            }
            _ = host.takeResolution(lookup.id)
            return true
        }
    }

    private func readAttempts(_ host: Host, now: Instant) {
        // Failed attempts are closed and forgotten; the winner and the losers are handled once decided.
        attempts.removeAll { attempt in
            let events = (try? host.poll(attempt.descriptor)) ?? .error
            if events.contains(.error) {
                let error = ((try? host.takeError(attempt.descriptor)) ?? nil) ?? .connectionRefused
                race.attemptFailed(attempt.address, error, now: now)
                try? host.close(attempt.descriptor, now: now)
                return true
            }
            if events.contains(.writable) { race.attemptConnected(attempt.address, now: now) }
            return false
        }
    }

    private func carryOut(_ action: HappyEyeballs.Action, _ host: Host, now: Instant) {
        switch action {
        case let .connect(address):
            let descriptor = host.socket(.stream)
            do throws(NetError) {
                // Non-blocking: the handshake goes on in the host's polls.
                try host.connect(descriptor, to: Endpoint(address, port), now: now)
                attempts.append((address, descriptor))
            } catch {
                // Refused at once (no route, no port): the race moves on to the next address now.
                try? host.close(descriptor, now: now)
                race.attemptFailed(address, error, now: now)
            }
        case let .cancel(address):
            for attempt in attempts where attempt.address == address { try? host.close(attempt.descriptor, now: now) }
            attempts.removeAll { $0.address == address }
        }
    }

    private func finishIfDecided(_ host: Host, now: Instant) {
        switch race.outcome {
        case nil: return
        case let .connected(address)?:
            for action in race.poll(now: now) { carryOut(action, host, now: now) }
            guard let winner = attempts.first(where: { $0.address == address }) else {
                result = .failed(reason: "connection to \(address) lost")
                return
            }
            attempts = []
            result = .connected(descriptor: winner.descriptor, address: address)
        case let .unresolved(aaaa, a)?:
            result = .failed(reason: a == aaaa ? "cannot resolve \(name): \(a)"
                              : "cannot resolve \(name): \(a) (A), \(aaaa) (AAAA)")
        case let .allAttemptsFailed(failures)?:
            let each = failures.map { "\(Endpoint($0.address, port)): \($0.error)" }.joined(separator: "; ")
            result = .failed(reason: "cannot connect to \(name): \(each)")
        }
    }
}
