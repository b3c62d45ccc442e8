public import NetStackWire

// Happy Eyeballs version 2 (RFC 8305): connecting to a name with addresses of
// both families without waiting on a broken one. Sections to read: §3 (ask
// AAAA and A at once; after a first A answer wait the Resolution Delay for
// AAAA), §4 (interleave the families, IPv6 first), §5 (start the next attempt
// after the Connection Attempt Delay; the first connection wins, the others
// are cancelled). Sans-I/O: the caller starts the lookups and the attempts,
// reports what happened with the time, and asks ``HappyEyeballs/poll(now:)``
// what to do next and ``HappyEyeballs/nextDeadline`` when to ask again.

/// The RFC 8305 race to connect to a name's addresses: a small state machine
/// with time passed in, so that every timing rule can be tested on a simulated clock.
///
/// Usage: start an AAAA and an A lookup; report each with ``answered(_:_:now:)``
/// or ``resolutionFailed(_:_:now:)``; after every report and at
/// ``nextDeadline``, call ``poll(now:)`` and carry out its actions (open a
/// connection to an address, close one that lost); report each attempt with
/// ``attemptConnected(_:now:)`` or ``attemptFailed(_:_:now:)``. The race ends
/// when ``outcome`` is set. Each call costs O(addresses); nothing here allocates
/// per packet (it runs once per connection, not per segment).
public struct HappyEyeballs: Sendable {
    /// The RFC 8305 delays.
    public struct Timing: Sendable, Equatable {
        /// How long to wait for AAAA after a positive A answer came first (§3, recommended 50 ms).
        public var resolutionDelay: Duration = .milliseconds(50)
        /// How long an attempt has alone before the next one starts (§5, recommended 250 ms).
        public var connectionAttemptDelay: Duration = .milliseconds(250)

        /// The recommended values: 50 ms and 250 ms.
        public init() {}
    }

    /// What the caller must do now.
    public enum Action: Sendable, Equatable {
        /// Start a connection attempt to this address.
        case connect(IPAddress)
        /// Close the attempt to this address: another one won.
        case cancel(IPAddress)
    }

    /// How the race ended.
    public enum Outcome: Sendable, Equatable {
        /// A connection to this address completed first.
        case connected(IPAddress)
        /// Both lookups failed or found nothing: their errors (AAAA's, then A's).
        case unresolved(aaaa: ResolverError, a: ResolverError)
        /// Every address was tried and every attempt failed, in the order they failed.
        case allAttemptsFailed([AttemptFailure])
    }

    /// One failed attempt.
    public struct AttemptFailure: Sendable, Equatable {
        /// The address tried.
        public var address: IPAddress
        /// Why the attempt failed.
        public var error: NetError

        /// A failure from its parts.
        public init(address: IPAddress, error: NetError) {
            self.address = address
            self.error = error
        }
    }

    private enum Lookup: Equatable {
        case pending
        case answered([IPAddress])
        case failed(ResolverError)

        var isDone: Bool { self != .pending }
    }

    /// The timing in force.
    public let timing: Timing
    /// When the race started (the lookups left).
    public let start: Instant
    private var aaaa = Lookup.pending
    private var a = Lookup.pending
    /// When a positive A answer arrived while AAAA was still pending: the Resolution Delay runs from here.
    private var aAnsweredWhileWaiting: Instant?
    /// Whether attempts may start: the sorted list exists (§4).
    private var sorted = false
    /// Addresses not tried yet, per family, in the order the answers gave them.
    private var waiting6: [IPAddress] = []
    private var waiting4: [IPAddress] = []
    /// The family of the next attempt: IPv6 first, then alternating (§4, First Address Family Count 1).
    private var nextIsIPv6 = true
    /// Attempts started and not finished, oldest first.
    public private(set) var inFlight: [IPAddress] = []
    /// Every address tried, in the order attempts started.
    public private(set) var tried: [IPAddress] = []
    private var failures: [AttemptFailure] = []
    /// When the next attempt may start: the last start plus the Connection Attempt Delay.
    private var nextAttemptAt: Instant?
    private var cancelsDue: [IPAddress] = []
    /// The race's end, once known.
    public private(set) var outcome: Outcome?
    /// What happened and why, one line each, with milliseconds since ``start``: what `--verbose` prints.
    public private(set) var trace: [String] = []

    /// A race whose AAAA and A lookups both left at `start`.
    public init(start: Instant, timing: Timing = Timing()) {
        self.start = start
        self.timing = timing
    }

    // MARK: Reports

    /// The lookup of `type` found `addresses` (in the answer's order; those of
    /// the other family are ignored). An empty list counts as "no address".
    public mutating func answered(_ type: AddressRecordType, _ addresses: [IPAddress], now: Instant) {
        let mine = addresses.filter(type.matches)
        note(now, "\(type) answered: " + (mine.isEmpty ? "no address" : mine.map(\.description).joined(separator: ", ")))
        setLookup(type, mine.isEmpty ? .failed(.noAddress) : .answered(mine), now: now)
    }

    /// The lookup of `type` failed.
    public mutating func resolutionFailed(_ type: AddressRecordType, _ error: ResolverError, now: Instant) {
        note(now, "\(type) failed: \(error)")
        setLookup(type, .failed(error), now: now)
    }

    /// The attempt to `address` completed its handshake.
    public mutating func attemptConnected(_ address: IPAddress, now: Instant) {
        guard outcome == nil, inFlight.contains(address) else { return }
        inFlight.removeAll { $0 == address }
        cancelsDue = inFlight
        inFlight = []
        outcome = .connected(address)
        let family = address.isIPv4 ? "IPv4" : "IPv6"
        let losers = cancelsDue.isEmpty ? "" : "; closing " + cancelsDue.map(\.description).joined(separator: ", ")
        note(now, "\(family) \(address) connected first (attempt \(tried.firstIndex(of: address)! + 1) of "
             + "\(tried.count) started) and wins\(losers)")
    }

    /// The attempt to `address` failed (refused, unreachable, timed out). The
    /// next address is tried at once: the delay only gives a live attempt its head start.
    public mutating func attemptFailed(_ address: IPAddress, _ error: NetError, now: Instant) {
        guard outcome == nil, inFlight.contains(address) else { return }
        inFlight.removeAll { $0 == address }
        failures.append(AttemptFailure(address: address, error: error))
        nextAttemptAt = now
        note(now, "\(address) failed: \(error)")
    }

    // MARK: Decisions

    /// What to do at `now`: attempts to start, losers to close. Call after every
    /// report and whenever ``nextDeadline`` has come.
    public mutating func poll(now: Instant) -> [Action] {
        if outcome != nil {
            defer { cancelsDue = [] }
            return cancelsDue.map { .cancel($0) }
        }
        if !sorted { sortIfReady(now: now) }
        var actions: [Action] = []
        if sorted, nextAttemptAt.map({ now >= $0 }) ?? true, let address = takeNext() {
            let why = tried.isEmpty ? "first attempt" : inFlight.isEmpty ? "previous attempts failed"
                : "\(milliseconds(timing.connectionAttemptDelay)) ms connection attempt delay passed"
            inFlight.append(address)
            tried.append(address)
            nextAttemptAt = now + timing.connectionAttemptDelay
            note(now, "connecting to \(address.isIPv4 ? "IPv4" : "IPv6") \(address) (\(why))")
            actions.append(.connect(address))
        }
        checkFailure(now: now)
        return actions
    }

    /// When ``poll(now:)`` has something to do without any report: the end of the
    /// Resolution Delay, or of the Connection Attempt Delay while addresses wait. nil when only reports can move the race.
    public var nextDeadline: Instant? {
        guard outcome == nil else { return nil }
        if !sorted { return aAnsweredWhileWaiting.map { $0 + timing.resolutionDelay } }
        guard !waiting6.isEmpty || !waiting4.isEmpty else { return nil }
        return nextAttemptAt
    }

    // MARK: Inside

    private mutating func setLookup(_ type: AddressRecordType, _ state: Lookup, now: Instant) {
        guard outcome == nil else { return }
        if type == .aaaa {
            guard aaaa == .pending else { return }
            aaaa = state
        } else {
            guard a == .pending else { return }
            a = state
            if case .answered = state, aaaa == .pending { aAnsweredWhileWaiting = now }
        }
        // Addresses arriving after attempts began join the list (§4), in their family's queue.
        if sorted, case let .answered(addresses) = state { enqueue(addresses) }
    }

    /// §3: start as soon as AAAA has addresses; with only A, once AAAA has
    /// failed or the Resolution Delay has passed since the A answer.
    private mutating func sortIfReady(now: Instant) {
        let ready: String?
        switch (aaaa, a) {
        case (.answered, _): ready = "IPv6 first (RFC 8305 §4)"
        case (.failed, .answered): ready = "no IPv6 address: IPv4 at once"
        case (.pending, .answered):
            guard let since = aAnsweredWhileWaiting, now >= since + timing.resolutionDelay else { return }
            ready = "no AAAA answer within the \(milliseconds(timing.resolutionDelay)) ms resolution delay"
        default: ready = nil
        }
        guard let ready else { return }
        sorted = true
        if case let .answered(addresses) = aaaa { enqueue(addresses) }
        if case let .answered(addresses) = a { enqueue(addresses) }
        note(now, "addresses sorted: \(ready)")
    }

    private mutating func enqueue(_ addresses: [IPAddress]) {
        for address in addresses where !tried.contains(address) && !waiting6.contains(address) && !waiting4.contains(address) {
            if address.isIPv4 { waiting4.append(address) } else { waiting6.append(address) }
        }
    }

    /// The next address by §4's interleaving: one of the family whose turn it is, else of the other.
    private mutating func takeNext() -> IPAddress? {
        let preferIPv6 = nextIsIPv6 ? !waiting6.isEmpty : waiting4.isEmpty
        if preferIPv6, !waiting6.isEmpty {
            nextIsIPv6 = false
            return waiting6.removeFirst()
        }
        guard !waiting4.isEmpty else { return nil }
        nextIsIPv6 = true
        return waiting4.removeFirst()
    }

    private mutating func checkFailure(now: Instant) {
        guard outcome == nil, aaaa.isDone, a.isDone else { return }
        if case let .failed(errorAAAA) = aaaa, case let .failed(errorA) = a {
            outcome = .unresolved(aaaa: errorAAAA, a: errorA)
            note(now, "no address of either family")
        } else if sorted, inFlight.isEmpty, waiting6.isEmpty, waiting4.isEmpty {
            outcome = .allAttemptsFailed(failures)
            note(now, "every address failed")
        }
    }

    private func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    private mutating func note(_ now: Instant, _ text: String) {
        trace.append("+\(milliseconds(now - start)) ms  \(text)")
    }
}
