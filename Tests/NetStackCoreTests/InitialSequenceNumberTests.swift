// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
// M a 4-microsecond timer (RFC 9293 §3.4.1: 250 000 ticks per second).

@testable import NetStackCore
import NetStackWire
import Testing

private let secret: (UInt64, UInt64) = (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210)
private let client = Endpoint(IPv4Address(192, 0, 2, 1), 40_000)
private let server = Endpoint(IPv4Address(198, 51, 100, 1), 80)

@Suite("Initial sequence numbers (RFC 6528)")
struct InitialSequenceNumberTests {
    let generator = ISNGenerator(secret: secret)

    @Test("the same 4-tuple advances 250 000 per second: one tick every 4 µs")
    func advancesWithTime() {
        let t0 = Instant.seconds(12.5)
        let first = generator.isn(local: client, remote: server, now: t0)
        // RFC 9293 §3.4.1: the low-order bit is incremented about every 4 microseconds.
        #expect(generator.isn(local: client, remote: server, now: t0 + .microseconds(4)) - first == 1)
        #expect(generator.isn(local: client, remote: server, now: t0 + .microseconds(3)) - first == 0)
        #expect(generator.isn(local: client, remote: server, now: t0 + .seconds(1)) - first == 250_000)
        #expect(generator.isn(local: client, remote: server, now: t0 + .seconds(2)) - first == 500_000)
        #expect(generator.isn(local: client, remote: server, now: t0 + .milliseconds(1)) - first == 250)
    }

    @Test("the timer wraps modulo 2³² (about every 4.77 hours) and keeps advancing")
    func wrapsAround() {
        // 2³² ticks × 4 µs = 17 179.869184 s; one tick later the ISN is one more than at the start.
        let t0 = Instant.seconds(100)
        let wrapped = t0 + .microseconds(4 * 4_294_967_296)
        #expect(generator.isn(local: client, remote: server, now: wrapped)
            == generator.isn(local: client, remote: server, now: t0))
        #expect(generator.isn(local: client, remote: server, now: wrapped + .microseconds(4))
            - generator.isn(local: client, remote: server, now: t0) == 1)
    }

    @Test("steps evenly across the time origin too")
    func evenAcrossZero() {
        let atZero = generator.isn(local: client, remote: server, now: .zero)
        #expect(generator.isn(local: client, remote: server, now: Instant(nanoseconds: -1)) - atZero == -1)
        #expect(generator.isn(local: client, remote: server, now: Instant(nanoseconds: -4_000)) - atZero == -1)
        #expect(generator.isn(local: client, remote: server, now: Instant(nanoseconds: -4_001)) - atZero == -2)
    }

    @Test("each element of the 4-tuple changes the ISN")
    func tuplesDiffer() {
        let now = Instant.seconds(3)
        let base = generator.isn(local: client, remote: server, now: now)
        let variants = [
            (Endpoint(IPv4Address(192, 0, 2, 2), 40_000), server),
            (Endpoint(client.address, 40_001), server),
            (client, Endpoint(IPv4Address(198, 51, 100, 2), 80)),
            (client, Endpoint(server.address, 81)),
            (server, client),  // the reverse direction is another tuple
        ]
        for (local, remote) in variants {
            #expect(generator.isn(local: local, remote: remote, now: now) != base, "\(local) → \(remote)")
        }
    }

    @Test("ISNs of neighbouring ports are far apart (F is a keyed hash, not a counter)")
    func neighboursUnrelated() {
        // With a 32-bit F, two tuples land within 65 536 of each other with probability 2⁻¹⁵;
        // among 100 neighbouring ports, at most a handful would by chance.
        let now = Instant.seconds(3)
        var close = 0
        var previous = generator.isn(local: Endpoint(client.address, 50_000), remote: server, now: now)
        for port in UInt16(50_001)...50_100 {
            let isn = generator.isn(local: Endpoint(client.address, port), remote: server, now: now)
            if abs(isn - previous) < 65_536 { close += 1 }
            previous = isn
        }
        #expect(close <= 1)
    }

    @Test("different secrets give different ISNs for the same tuple and time")
    func secretsDiffer() {
        let now = Instant.seconds(3)
        let other = ISNGenerator(secret: (secret.0, secret.1 ^ 0x8000_0000_0000_0000))
        #expect(other.isn(local: client, remote: server, now: now) != generator.isn(local: client, remote: server, now: now))
        let another = ISNGenerator(secret: (secret.0 &+ 1, secret.1))
        #expect(another.isn(local: client, remote: server, now: now) != generator.isn(local: client, remote: server, now: now))
    }

    @Test("the same inputs always give the same ISN (no hidden state)")
    func deterministic() {
        let now = Instant.seconds(42)
        let copy = ISNGenerator(secret: secret)
        #expect(copy.isn(local: client, remote: server, now: now) == generator.isn(local: client, remote: server, now: now))
    }
}
