// The TCP timer queue: one keyed min-heap for retransmission (RFC 6298),
// delayed-ACK, persist, keep-alive and TIME-WAIT timers. Expected firing
// orders are worked by hand, or come from a sorted reference list.

@testable import NetStackCore
import Testing

/// A key like the connection's: which connection, which timer.
private struct TimerKey: Hashable, CustomStringConvertible {
    enum Kind: Hashable { case retransmission, delayedACK, persist, timeWait }
    var connection: Int
    var kind: Kind
    var description: String { "\(connection).\(kind)" }
}

/// Connection `connection`'s retransmission timer.
private func rto(_ connection: Int) -> TimerKey { TimerKey(connection: connection, kind: .retransmission) }
/// `value` milliseconds after the origin.
private func ms(_ value: Int64) -> Instant { .milliseconds(value) }

extension TimerQueue {
    /// The keys `popExpired` hands out at `now`, in order.
    fileprivate mutating func expired(at now: Instant) -> [Key] {
        var keys: [Key] = []
        popExpired(now: now) { keys.append($0) }
        return keys
    }
}

@Suite("TCP timer queue")
struct TimerQueueTests {
    @Test("timers fire earliest first, equal deadlines in the order they were scheduled")
    func firingOrder() {
        var timers = TimerQueue<TimerKey>()
        timers.schedule(rto(1), at: ms(30))
        timers.schedule(rto(2), at: ms(10))
        timers.schedule(rto(3), at: ms(10))
        timers.schedule(rto(4), at: ms(20))
        #expect(timers.count == 4)
        #expect(timers.nextDeadline == ms(10))
        // At 25 ms: 2 and 3 (10 ms, scheduled in that order), then 4 (20 ms); 1 (30 ms) waits.
        #expect(timers.expired(at: ms(25)) == [rto(2), rto(3), rto(4)])
        #expect(timers.nextDeadline == ms(30))
        #expect(timers.expired(at: ms(29)) == [])
        // A deadline equal to now has expired (deadline ≤ now).
        #expect(timers.expired(at: ms(30)) == [rto(1)])
        #expect(timers.nextDeadline == nil)
        #expect(timers.isEmpty)
    }

    @Test("rescheduling replaces the timer: the old deadline never fires")
    func rescheduleReplaces() {
        // RFC 6298 (5.3): on an ACK for new data, restart the timer so it expires after RTO.
        var timers = TimerQueue<TimerKey>()
        timers.schedule(rto(1), at: ms(1000))
        timers.schedule(rto(1), at: ms(1200))
        timers.schedule(rto(1), at: ms(1400))
        #expect(timers.count == 1)
        #expect(timers.deadline(of: rto(1)) == ms(1400))
        #expect(timers.nextDeadline == ms(1400))
        #expect(timers.expired(at: ms(1399)) == [])
        #expect(timers.expired(at: ms(5000)) == [rto(1)])
        #expect(timers.deadline(of: rto(1)) == nil, "a fired timer is gone")
        // Rescheduled to an earlier deadline, too.
        timers.schedule(rto(2), at: ms(500))
        timers.schedule(rto(2), at: ms(100))
        #expect(timers.nextDeadline == ms(100))
        #expect(timers.expired(at: ms(100)) == [rto(2)])
        #expect(timers.expired(at: ms(1000)) == [])
    }

    @Test("a timer rescheduled to the same deadline moves behind the others at that deadline")
    func rescheduleTies() {
        var timers = TimerQueue<TimerKey>()
        timers.schedule(rto(1), at: ms(10))
        timers.schedule(rto(2), at: ms(10))
        timers.schedule(rto(1), at: ms(10))
        #expect(timers.expired(at: ms(10)) == [rto(2), rto(1)])
    }

    @Test("cancel stops a timer; cancelling a key without one does nothing")
    func cancel() {
        var timers = TimerQueue<TimerKey>()
        let delayedACK = TimerKey(connection: 1, kind: .delayedACK)
        timers.schedule(delayedACK, at: ms(200))  // RFC 9293 §3.8.6.3: an ACK delayed at most 0.5 s
        timers.schedule(rto(1), at: ms(1000))
        timers.cancel(delayedACK)
        #expect(timers.deadline(of: delayedACK) == nil)
        #expect(timers.nextDeadline == ms(1000))
        timers.cancel(delayedACK)
        timers.cancel(TimerKey(connection: 9, kind: .persist))
        #expect(timers.count == 1)
        timers.cancel(rto(1))
        #expect(timers.nextDeadline == nil)
        #expect(timers.storageCount == 0)
        #expect(timers.expired(at: ms(10_000)) == [])
    }

    @Test("popFirstExpired lets the handler re-arm a timer, as the retransmission timer backs off")
    func rearmFromHandler() {
        // RFC 6298 (5.5)–(5.6): on expiry, double RTO and restart the timer.
        var timers = TimerQueue<TimerKey>()
        timers.schedule(rto(1), at: ms(1000))
        var fired: [Instant] = []
        var rtoMs: Int64 = 1000
        for now in stride(from: Int64(0), through: 20_000, by: 500) {
            while let key = timers.popFirstExpired(now: ms(now)) {
                fired.append(ms(now))
                rtoMs *= 2
                timers.schedule(key, at: ms(now + rtoMs))
            }
        }
        // Expiries at 1 s, then 1 + 2 = 3 s, 3 + 4 = 7 s, 7 + 8 = 15 s; next would be 31 s.
        #expect(fired == [ms(1000), ms(3000), ms(7000), ms(15_000)])
        #expect(timers.nextDeadline == ms(31_000))
    }

    @Test("a long run of reschedules keeps the heap within twice the live timers")
    func storageBounded() {
        var timers = TimerQueue<TimerKey>(reservingCapacity: 4)
        var random = SplitMix64(state: 7)
        var now: Int64 = 0
        for step in 0..<100_000 {
            // Three connections, each resetting its retransmission timer on every ACK.
            now += 1
            timers.schedule(rto(step % 3), at: ms(now + Int64.random(in: 200...1200, using: &random)))
            #expect(timers.storageCount <= 2 * timers.count)
        }
        #expect(timers.count == 3)
        #expect(timers.storageCount <= 6)
        // Many timers, all but one cancelled: the heap shrinks with them.
        for connection in 0..<1000 { timers.schedule(rto(connection), at: ms(now + Int64(connection))) }
        for connection in 1..<1000 { timers.cancel(rto(connection)) }
        #expect(timers.count == 1)
        #expect(timers.storageCount <= 2)
        #expect(timers.expired(at: ms(now + 1000)) == [rto(0)])
        #expect(timers.storageCount == 0)
    }

    @Test("random schedules, reschedules, cancels and expiries match a sorted list", arguments: [1, 2, 3] as [UInt64])
    func randomAgainstSortedList(seed: UInt64) {
        var random = SplitMix64(state: seed)
        var timers = TimerQueue<TimerKey>()
        // Reference: key → (deadline, scheduling order); expiry sorts by both.
        var model: [TimerKey: (deadline: Int64, order: Int)] = [:]
        var order = 0
        var now: Int64 = 0
        let keyCount = [3, 40, 400][Int(seed) % 3]
        for _ in 0..<5000 {
            let key = TimerKey(connection: Int.random(in: 0..<keyCount, using: &random),
                               kind: [.retransmission, .delayedACK, .persist, .timeWait].randomElement(using: &random)!)
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<55:
                let deadline = now + Int64.random(in: 0...300, using: &random)
                timers.schedule(key, at: ms(deadline))
                model[key] = (deadline, order)
                order += 1
            case 55..<70:
                timers.cancel(key)
                model[key] = nil
            case 70..<85:
                #expect(timers.deadline(of: key) == model[key].map { ms($0.deadline) })
            default:
                now += Int64.random(in: 0...60, using: &random)
                let due = model.filter { $0.value.deadline <= now }
                    .sorted { ($0.value.deadline, $0.value.order) < ($1.value.deadline, $1.value.order) }
                #expect(timers.expired(at: ms(now)) == due.map(\.key))
                for (key, _) in due { model[key] = nil }
            }
            #expect(timers.count == model.count)
            #expect(timers.nextDeadline == model.values.map(\.deadline).min().map(ms))
            #expect(timers.storageCount <= 2 * model.count)
        }
    }
}
