// IP identification per RFC 6864 and RFC 7739 §5.3: per destination, keyed,
// unpredictable across destinations; atomic datagrams carry 0.

import NetStackCore
import NetStackWire
import Testing

private let x = IPv4Address(192, 0, 2, 50)
private let y = IPv4Address(192, 0, 2, 60)

/// The IDs of `count` UDP datagrams A sends alternately to x and y.
private func identifications(seed: UInt64 = 0x4e65_7453_7461_636b, count: Int = 20) throws -> (x: [UInt16], y: [UInt16]) {
    let host = makeHost("A", [.a]) { $0.randomSeed = seed }
    host.addStaticARP(x, mac: Lab.macR0, interface: eth0)
    host.addStaticARP(y, mac: Lab.macOther, interface: eth0)
    let socket = host.udpOpen()
    for _ in 0..<count {
        try host.udpSend(socket, [1], to: Endpoint(x, 9), now: .zero)
        try host.udpSend(socket, [1], to: Endpoint(y, 9), now: .zero)
    }
    let headers = try host.sent().map { try Frame($0).ip() }
    return (headers.filter { $0.destination == x }.map(\.identification),
            headers.filter { $0.destination == y }.map(\.identification))
}

@Suite("IP identification (RFC 6864, RFC 7739)")
struct IPIdentificationTests {
    @Test("two destinations do not share a sequence: each advances on its own by small random steps")
    func perDestination() throws {
        let (ids, others) = try identifications()
        for sequence in [ids, others] {
            let steps = zip(sequence, sequence.dropFirst()).map { $1 &- $0 }
            #expect(steps.allSatisfy { (1...8).contains($0) }, "steps \(steps)")
            #expect(Set(steps).count > 1, "the steps vary")
        }
        // A global counter interleaves them (y = x + 1 each time); here they are unrelated.
        let gaps = zip(ids, others).map { $1 &- $0 }
        #expect(!gaps.allSatisfy { $0 < 16 })
    }

    @Test("an observer of one destination's IDs cannot predict another's: they depend on the host's secret")
    func unpredictable() throws {
        let first = try identifications(seed: 1)
        let second = try identifications(seed: 2)
        // Without the secret, another destination's IDs are not x's plus anything fixed.
        #expect(first.y[0] &- first.x[0] != second.y[0] &- second.x[0])
        #expect(first.x != second.x)
    }

    @Test("an atomic datagram (DF set, not fragmented) carries ID 0 (RFC 6864 §4.1)")
    func atomicZero() throws {
        let host = makeHost("A", [.a])
        host.addStaticARP(x, mac: Lab.macR0, interface: eth0)
        let ping = try host.openPing(identifier: 3)
        try host.ping(ping, to: x, sequence: 1, dontFragment: true, now: .zero)
        try host.ping(ping, to: x, sequence: 2, now: .zero)
        let headers = try host.sent().map { try Frame($0).ip() }
        #expect(headers.map(\.identification).first == 0)
        #expect(headers.map(\.dontFragment) == [true, false])
        #expect(headers[1].identification != 0 || headers[0].identification == 0)
    }
}
