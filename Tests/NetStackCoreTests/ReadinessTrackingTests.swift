import NetStackCore
import NetStackWire
import Testing

/// Polls `host` a few times at `now`: enough for its own loopback traffic to settle.
private func settle(_ host: Host, now: Instant = .zero) {
    for _ in 0..<6 { host.poll(now: now) }
}

private func taken(_ host: Host) -> [Int32] {
    var listed: [Int32] = []
    host.takeReadinessChanges(into: &listed)
    return listed
}

@Suite("The readiness list: which descriptors a driver must look at")
struct ReadinessTrackingTests {
    @Test("a listener is listed when a connection waits to be accepted, the connection when data arrives, each once")
    func listenerAndConnectionListed() throws {
        let host = makeHost("A", [.a])
        host.setTracksReadiness(true)
        let listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(.any, 80))
        try host.listen(listener, backlog: 4)
        let client = host.socket(.stream)
        try host.connect(client, to: Endpoint(Lab.ipA, 80), now: .zero)
        settle(host)
        let afterHandshake = taken(host)
        #expect(afterHandshake.contains(listener) && afterHandshake.contains(client))
        #expect(Set(afterHandshake).count == afterHandshake.count, "each descriptor listed once")
        #expect(taken(host).isEmpty, "taken: nothing new")
        let (server, _) = try host.accept(listener)
        _ = taken(host)
        try [UInt8]("news".utf8).withUnsafeBytes { _ = try host.send(client, $0, now: .zero) }
        settle(host)
        #expect(taken(host).contains(server), "the receiver of the data is listed")
    }

    @Test("a UDP descriptor is listed when a datagram is queued for it; sendto/recvfrom name the peer")
    func udpListed() throws {
        let host = makeHost("A", [.a])
        host.setTracksReadiness(true)
        let receiver = host.socket(.datagram)
        try host.bind(receiver, to: Endpoint(.any, 5353))
        let sender = host.socket(.datagram)
        try [UInt8]("hello".utf8).withUnsafeBytes { try host.send(sender, $0, to: Endpoint(Lab.ipA, 5353), now: .zero) }
        settle(host)
        #expect(taken(host) == [receiver])
        var buffer = [UInt8](repeating: 0, count: 16)
        let (count, source) = try buffer.withUnsafeMutableBytes { try host.recvfrom(receiver, into: $0, now: .zero) }
        #expect(Array(buffer[0..<count]) == Array("hello".utf8))
        let senderPort = try host.endpoints(sender).local?.port
        #expect(source == Endpoint(Lab.ipA, try #require(senderPort)))
        #expect(throws: NetError.wouldBlock) {
            _ = try buffer.withUnsafeMutableBytes { try host.recvfrom(receiver, into: $0, now: .zero) }
        }
    }

    @Test("an ICMP error for a connected UDP socket lists it and makes poll report .error, as Linux's POLLERR")
    func udpErrorListedAndPolled() throws {
        let host = makeHost("A", [.a])
        host.setTracksReadiness(true)
        let socket = host.socket(.datagram)
        try host.connect(socket, to: Endpoint(Lab.ipA, 9), now: .zero)  // nobody on port 9: port unreachable
        try [UInt8]("x".utf8).withUnsafeBytes { _ = try host.send(socket, $0, now: .zero) }
        settle(host)
        #expect(taken(host) == [socket])
        #expect(try host.poll(socket) == [.error, .writable])
        var buffer = [UInt8](repeating: 0, count: 4)
        #expect(throws: NetError.connectionRefused) {
            _ = try buffer.withUnsafeMutableBytes { try host.recvfrom(socket, into: $0, now: .zero) }
        }
        #expect(try host.poll(socket) == [.writable], "reported once")
    }

    @Test("closing a descriptor lists it (its waiters must learn); nothing is listed while tracking is off")
    func closeListedAndOffMeansNothing() throws {
        let host = makeHost("A", [.a])
        let receiver = host.socket(.datagram)
        try host.bind(receiver, to: Endpoint(.any, 5353))
        let sender = host.socket(.datagram)
        try [UInt8]("x".utf8).withUnsafeBytes { try host.send(sender, $0, to: Endpoint(Lab.ipA, 5353), now: .zero) }
        settle(host)
        #expect(!host.tracksReadiness)
        #expect(taken(host).isEmpty)
        host.setTracksReadiness(true)
        try host.close(receiver, now: .zero)
        #expect(taken(host) == [receiver])
    }
}
