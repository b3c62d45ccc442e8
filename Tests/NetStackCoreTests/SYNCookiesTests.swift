// SYN cookies (RFC 4987 §3.6): the ISN of our SYN-ACK encodes a keyed hash of
// the 4-tuple and the peer's ISN, a 64-second counter and an MSS-table index.
// The completing ACK carries ack = cookie + 1 and seq = peer ISN + 1.

@testable import NetStackCore
import NetStackWire
import Testing

private let secret: (UInt64, UInt64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888)
private let server = Endpoint(IPv4Address(198, 51, 100, 1), 80)
private let client = Endpoint(IPv4Address(192, 0, 2, 1), 40_000)
private let peerISN: SequenceNumber = 0xDEAD_BEEF

@Suite("SYN cookies")
struct SYNCookiesTests {
    let cookies = SYNCookies(secret: secret)
    let t0 = Instant.seconds(64 * 1000)  // the start of a counter period

    private func make(mss: UInt16 = 1460, at now: Instant? = nil) -> SequenceNumber {
        cookies.make(local: server, remote: client, peerISN: peerISN, mss: mss, now: now ?? t0)
    }

    private func check(_ cookie: SequenceNumber, at now: Instant? = nil, local: Endpoint = server,
                       remote: Endpoint = client, peer: SequenceNumber = peerISN) -> UInt16? {
        cookies.check(local: local, remote: remote, peerISN: peer, cookie: cookie, now: now ?? t0)
    }

    @Test("a valid cookie is accepted and returns its MSS bucket")
    func validAccepted() {
        #expect(check(make(mss: 1460)) == 1460)
        #expect(check(make(mss: 536)) == 536)
    }

    @Test("the MSS is rounded down to a table entry; below 536 becomes 536")
    func mssRounding() {
        #expect(SYNCookies.mssTable == [536, 1300, 1440, 1460])
        let cases: [(UInt16, UInt16)] = [(9000, 1460), (1460, 1460), (1459, 1440), (1440, 1440), (1439, 1300),
                                         (1300, 1300), (1299, 536), (600, 536), (536, 536), (100, 536), (0, 536)]
        for (offered, encoded) in cases {
            #expect(check(make(mss: offered)) == encoded, "MSS \(offered)")
        }
    }

    @Test("a cookie lives through its own counter period and the next: from 64 s up to 128 s")
    func freshness() {
        let cookie = make(at: t0 + .seconds(10))
        #expect(check(cookie, at: t0 + .seconds(10)) == 1460)
        #expect(check(cookie, at: t0 + .seconds(63)) == 1460)
        #expect(check(cookie, at: t0 + .seconds(64)) == 1460)  // counter + 1
        #expect(check(cookie, at: t0 + .nanoseconds(128_000_000_000 - 1)) == 1460)
        #expect(check(cookie, at: t0 + .seconds(128)) == nil)  // counter + 2: two periods old
        #expect(check(cookie, at: t0 + .seconds(200)) == nil)  // counter + 3
        #expect(check(cookie, at: t0 - .seconds(1)) == nil)  // from the future
    }

    @Test("older cookies stay rejected at every later period")
    func oldNeverComesBack() {
        let cookie = make()
        for periods in 2...40 {
            #expect(check(cookie, at: t0 + .seconds(64 * periods)) == nil, "\(periods) periods later")
        }
    }

    @Test("a cookie for another 4-tuple or another peer ISN is rejected")
    func bindsTupleAndPeerISN() {
        let cookie = make()
        #expect(check(cookie, remote: Endpoint(client.address, 40_001)) == nil)
        #expect(check(cookie, remote: Endpoint(IPv4Address(192, 0, 2, 2), 40_000)) == nil)
        #expect(check(cookie, local: Endpoint(server.address, 81)) == nil)
        #expect(check(cookie, local: Endpoint(IPv4Address(198, 51, 100, 2), 80)) == nil)
        #expect(check(cookie, local: client, remote: server) == nil)
        #expect(check(cookie, peer: peerISN + 1) == nil)
        #expect(check(cookie, peer: peerISN - 1) == nil)
    }

    @Test("flipping any one bit of the cookie makes it invalid")
    func flippedBits() {
        for mss: UInt16 in [536, 1460] {
            let cookie = make(mss: mss)
            for bit in 0..<32 {
                let flipped = SequenceNumber(rawValue: cookie.rawValue ^ (1 << UInt32(bit)))
                #expect(check(flipped) == nil, "bit \(bit)")
                #expect(check(flipped, at: t0 + .seconds(64)) == nil, "bit \(bit), next period")
            }
        }
    }

    @Test("another secret does not accept our cookies")
    func secretMatters() {
        let other = SYNCookies(secret: (secret.0, secret.1 ^ 1))
        #expect(other.check(local: server, remote: client, peerISN: peerISN, cookie: make(), now: t0) == nil)
    }

    @Test("100 000 random guesses are all rejected (each passes with probability 2⁻²⁹)")
    func bruteForce() {
        var random = SplitMix64(state: 6675)
        var accepted = 0
        for _ in 0..<100_000 {
            let guess = SequenceNumber(rawValue: UInt32(truncatingIfNeeded: random.next()))
            if check(guess) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test("cookies for many tuples and times all verify (no systematic failure)")
    func manyValid() {
        var random = SplitMix64(state: 4987)
        for _ in 0..<2_000 {
            let remote = Endpoint(IPv4Address(rawValue: UInt32(truncatingIfNeeded: random.next())),
                                  UInt16(truncatingIfNeeded: random.next()))
            let peer = SequenceNumber(rawValue: UInt32(truncatingIfNeeded: random.next()))
            let made = Instant(nanoseconds: Int64(random.next() % (1 << 50)))
            let later = made + .nanoseconds(Int64(random.next() % 64_000_000_000))
            let cookie = cookies.make(local: server, remote: remote, peerISN: peer, mss: 1440, now: made)
            #expect(cookies.check(local: server, remote: remote, peerISN: peer, cookie: cookie, now: later) == 1440)
        }
    }
}
