// Happy Eyeballs v2 (RFC 8305) on a simulated clock: each test pins down one
// timing rule — §3 (AAAA and A in parallel, the 50 ms resolution delay), §4
// (interleaving, IPv6 first, late addresses join), §5 (the 250 ms connection
// attempt delay, the first connection wins, the others are closed) — and the
// errors reported when everything fails.

import NetStackCore
import NetStackWire
import Testing

private func ms(_ value: Int64) -> Instant { .milliseconds(value) }
private let v6a = IPAddress.v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
private let v6b = IPAddress.v6(IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2))
private let v4a = IPAddress.v4(IPv4Address(192, 0, 2, 1))
private let v4b = IPAddress.v4(IPv4Address(198, 51, 100, 1))

@Suite("Happy Eyeballs: resolution (RFC 8305 §3)")
struct HappyEyeballsResolutionTests {
    @Test("nothing starts before any answer, and there is no deadline to wait for")
    func waitsForAnswers() {
        var race = HappyEyeballs(start: ms(0))
        #expect(race.poll(now: ms(0)).isEmpty)
        #expect(race.nextDeadline == nil)
        #expect(race.poll(now: ms(5000)).isEmpty)
    }

    @Test("a positive AAAA answer starts an IPv6 attempt at once, A still pending")
    func aaaaFirstConnectsAtOnce() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.aaaa, [v6a], now: ms(10))
        #expect(race.poll(now: ms(10)) == [.connect(v6a)])
    }

    @Test("an A answer first waits 50 ms for AAAA: at 49 ms nothing, at 50 ms IPv4 starts")
    func resolutionDelayExpires() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.a, [v4a], now: ms(10))
        #expect(race.poll(now: ms(10)).isEmpty)
        #expect(race.nextDeadline == ms(60))
        #expect(race.poll(now: ms(59)).isEmpty)
        #expect(race.poll(now: ms(60)) == [.connect(v4a)])
    }

    @Test("AAAA arriving within the resolution delay goes first, IPv4 after 250 ms")
    func aaaaWithinResolutionDelay() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.a, [v4a], now: ms(10))
        #expect(race.poll(now: ms(10)).isEmpty)
        race.answered(.aaaa, [v6a], now: ms(40))
        #expect(race.poll(now: ms(40)) == [.connect(v6a)])
        #expect(race.nextDeadline == ms(290))
        #expect(race.poll(now: ms(289)).isEmpty)
        #expect(race.poll(now: ms(290)) == [.connect(v4a)])
    }

    @Test("a negative AAAA answer ends the resolution delay at once")
    func negativeAAAAEndsTheDelay() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.a, [v4a], now: ms(10))
        #expect(race.poll(now: ms(10)).isEmpty)
        race.answered(.aaaa, [], now: ms(20))
        #expect(race.poll(now: ms(20)) == [.connect(v4a)])
    }

    @Test("a failed AAAA lookup before A: IPv4 starts with the A answer, no delay")
    func failedAAAAThenA() {
        var race = HappyEyeballs(start: ms(0))
        race.resolutionFailed(.aaaa, .nameNotFound, now: ms(5))
        #expect(race.poll(now: ms(5)).isEmpty)
        race.answered(.a, [v4a], now: ms(8))
        #expect(race.poll(now: ms(8)) == [.connect(v4a)])
    }

    @Test("AAAA after the resolution delay joins the list: next attempt is IPv6")
    func lateAAAAJoins() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.a, [v4a, v4b], now: ms(0))
        #expect(race.poll(now: ms(50)) == [.connect(v4a)])
        race.answered(.aaaa, [v6a], now: ms(100))
        #expect(race.poll(now: ms(100)).isEmpty)
        #expect(race.poll(now: ms(300)) == [.connect(v6a)])
        #expect(race.poll(now: ms(550)) == [.connect(v4b)])
    }

    @Test("both lookups failing ends the race with both errors")
    func unresolved() {
        var race = HappyEyeballs(start: ms(0))
        race.resolutionFailed(.aaaa, .noAddress, now: ms(1))
        race.resolutionFailed(.a, .nameNotFound, now: ms(2))
        #expect(race.poll(now: ms(2)).isEmpty)
        #expect(race.outcome == .unresolved(aaaa: .noAddress, a: .nameNotFound))
    }
}

@Suite("Happy Eyeballs: order and attempts (RFC 8305 §4, §5)")
struct HappyEyeballsAttemptTests {
    /// Both families answered at time 0 and sorted.
    private func twoByTwo() -> HappyEyeballs {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.aaaa, [v6a, v6b], now: ms(0))
        race.answered(.a, [v4a, v4b], now: ms(0))
        return race
    }

    @Test("families interleave, IPv6 first, one attempt every 250 ms")
    func interleavesEvery250ms() {
        var race = twoByTwo()
        var started: [(Int64, IPAddress)] = []
        for time in stride(from: Int64(0), through: 1000, by: 1) {
            for case let .connect(address) in race.poll(now: ms(time)) { started.append((time, address)) }
        }
        #expect(started.map(\.0) == [0, 250, 500, 750])
        #expect(started.map(\.1) == [v6a, v4a, v6b, v4b])
    }

    @Test("a failed attempt starts the next one at once instead of waiting the delay")
    func failureStartsNext() {
        var race = twoByTwo()
        #expect(race.poll(now: ms(0)) == [.connect(v6a)])
        race.attemptFailed(v6a, .connectionRefused, now: ms(30))
        #expect(race.poll(now: ms(30)) == [.connect(v4a)])
        #expect(race.nextDeadline == ms(280))
    }

    @Test("the first connection wins; attempts still in flight are cancelled, no more start")
    func firstConnectionWins() {
        var race = twoByTwo()
        _ = race.poll(now: ms(0))
        _ = race.poll(now: ms(250))
        #expect(race.inFlight == [v6a, v4a])
        race.attemptConnected(v4a, now: ms(260))
        #expect(race.outcome == .connected(v4a))
        #expect(race.poll(now: ms(260)) == [.cancel(v6a)])
        #expect(race.poll(now: ms(2000)).isEmpty)
        #expect(race.nextDeadline == nil)
        // A late success of the loser changes nothing.
        race.attemptConnected(v6a, now: ms(270))
        #expect(race.outcome == .connected(v4a))
    }

    @Test("every attempt failing reports each address's error in order")
    func allFail() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.aaaa, [v6a], now: ms(0))
        race.answered(.a, [v4a], now: ms(0))
        #expect(race.poll(now: ms(0)) == [.connect(v6a)])
        race.attemptFailed(v6a, .networkUnreachable, now: ms(1))
        #expect(race.poll(now: ms(1)) == [.connect(v4a)])
        race.attemptFailed(v4a, .connectionRefused, now: ms(2))
        #expect(race.poll(now: ms(2)).isEmpty)
        #expect(race.outcome == .allAttemptsFailed([
            .init(address: v6a, error: .networkUnreachable), .init(address: v4a, error: .connectionRefused),
        ]))
    }

    @Test("with AAAA failed and A pending, IPv6 failures wait for the A answer")
    func waitsForTheOtherFamily() {
        var race = HappyEyeballs(start: ms(0))
        race.answered(.aaaa, [v6a], now: ms(0))
        #expect(race.poll(now: ms(0)) == [.connect(v6a)])
        race.attemptFailed(v6a, .hostUnreachable, now: ms(5))
        #expect(race.poll(now: ms(5)).isEmpty)
        #expect(race.outcome == nil)
        race.answered(.a, [v4a], now: ms(40))
        #expect(race.poll(now: ms(40)) == [.connect(v4a)])
    }

    @Test("other timings are honoured: 100 ms attempt delay, 20 ms resolution delay")
    func customTiming() {
        var timing = HappyEyeballs.Timing()
        timing.connectionAttemptDelay = .milliseconds(100)
        timing.resolutionDelay = .milliseconds(20)
        var race = HappyEyeballs(start: ms(0), timing: timing)
        race.answered(.a, [v4a, v4b], now: ms(0))
        #expect(race.poll(now: ms(19)).isEmpty)
        #expect(race.poll(now: ms(20)) == [.connect(v4a)])
        #expect(race.poll(now: ms(119)).isEmpty)
        #expect(race.poll(now: ms(120)) == [.connect(v4b)])
    }

    @Test("the trace says which family won and why")
    func traceExplains() {
        var race = twoByTwo()
        _ = race.poll(now: ms(0))
        race.attemptConnected(v6a, now: ms(3))
        #expect(race.trace.contains("+0 ms  addresses sorted: IPv6 first (RFC 8305 §4)"))
        #expect(race.trace.contains("+0 ms  connecting to IPv6 2001:db8::1 (first attempt)"))
        #expect(race.trace.last == "+3 ms  IPv6 2001:db8::1 connected first (attempt 1 of 1 started) and wins")
    }
}
