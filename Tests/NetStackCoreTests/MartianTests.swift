// Input validation like Linux's (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7): datagrams
// from a wire whose source no host may have, or that is ours, are dropped and
// counted before any protocol sees them — so no broadcast or multicast source
// is ever answered, and the land attack cannot make the host talk to itself.
// Plus the bound on the loopback path and the "poll reaches quiescence" invariant.

import NetStackCore
import NetStackWire
import Testing

/// A SYN (or any flags) from `source` to `destination`, in a frame to A's MAC address.
private func tcpFrame(from source: Endpoint, to destination: Endpoint, flags: TCPFlags = .syn) -> [UInt8] {
    let header = TCPHeader(sourcePort: source.port, destinationPort: destination.port, sequenceNumber: 1000,
                           flags: flags, window: 65535)
    var segment = [UInt8](repeating: 0, count: header.headerLength)
    segment.withUnsafeMutableBytes {
        header.emit(into: $0, payloadLength: 0, source: source.address, destination: destination.address)
    }
    return Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(source.ipv4!, destination.ipv4!, .tcp),
                         segment)
}

/// An echo request from `source` to A.
private func echoFrame(from source: IPv4Address) -> [UInt8] {
    Build.ipFrame(to: Lab.macA, from: Lab.macR0, Build.ipHeader(source, Lab.ipA, .icmp),
                  Build.icmp(.echoRequest(identifier: 7, sequence: 1), [1, 2, 3, 4]))
}

/// Sources no datagram from a wire may carry, as seen by A (192.0.2.1/24).
private let martians: [IPv4Address] = [
    Lab.ipA,                     // our own
    IPv4Address(192, 0, 2, 255),  // our network's directed broadcast
    .broadcast,                  // limited broadcast
    IPv4Address(224, 0, 0, 1),    // multicast
    IPv4Address(239, 1, 2, 3),
    .any,
    IPv4Address(127, 0, 0, 1),
    IPv4Address(240, 0, 0, 1),
]

/// Polls `host` at the fixed time `now` until it is quiescent (no deadline, or one
/// later than now); returns the polls it took, or nil if `limit` polls did not get there.
private func pollsToQuiescence(_ host: Host, at now: Instant, limit: Int = 10) -> Int? {
    for polls in 0...limit {
        if let deadline = host.nextDeadline(), deadline <= now {
            if polls == limit { return nil }
            host.poll(now: now)
        } else {
            return polls
        }
    }
    return nil
}

@Suite("IP input: martian sources")
struct MartianTests {
    @Test("an echo request from a martian source gets no reply and is counted", arguments: martians)
    func echoNotAnswered(source: IPv4Address) throws {
        let host = makeHost("A", [.a])
        host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
        host.feed(echoFrame(from: source))
        #expect(host.sent().isEmpty)
        #expect(host.statistics.inMartianSources == 1)
        #expect(host.statistics.icmpInMessages == 0)
        #expect(host.statisticsReport().contains("    1 martian source packets dropped\n"))
        // The same request from a real neighbour is answered.
        host.feed(echoFrame(from: Lab.ipR0))
        #expect(host.sent().count == 1)
    }

    @Test("a SYN from a broadcast or multicast source to a listening port gets no SYN-ACK",
          arguments: [IPv4Address(192, 0, 2, 255), .broadcast, IPv4Address(224, 0, 0, 5)])
    func synNotAnswered(source: IPv4Address) throws {
        let host = makeHost("A", [.a])
        let listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(.any, 80))
        try host.listen(listener, backlog: 8)
        host.feed(tcpFrame(from: Endpoint(source, 40000), to: Endpoint(Lab.ipA, 80)))
        #expect(host.sent().isEmpty)
        #expect(host.statistics.inMartianSources == 1)
        #expect(host.statistics.tcpInSegments == 0)
    }

    @Test("a segment from a broadcast or multicast source to a closed port gets no RST",
          arguments: [IPv4Address(192, 0, 2, 255), .broadcast, IPv4Address(224, 0, 0, 5)])
    func noResetToBroadcast(source: IPv4Address) throws {
        let host = makeHost("A", [.a])
        host.feed(tcpFrame(from: Endpoint(source, 40000), to: Endpoint(Lab.ipA, 81), flags: .ack))
        #expect(host.sent().isEmpty)
        #expect(host.statistics.tcpResetsSent == 0)
        #expect(host.statistics.inMartianSources == 1)
    }

    @Test("a datagram from a broadcast or multicast source never reaches a UDP echo socket",
          arguments: [IPv4Address(192, 0, 2, 255), .broadcast, IPv4Address(224, 0, 0, 5)])
    func udpEchoNotAnswered(source: IPv4Address) throws {
        let host = makeHost("A", [.a])
        let echo = host.udpOpen()
        try host.udpBind(echo, port: 7)
        host.feed(Build.udpFrame(to: Lab.macA, from: Lab.macR0, Endpoint(source, 7), Endpoint(Lab.ipA, 7), [1, 2]))
        #expect(host.udpReceive(echo) == nil, "nothing for an echo service to answer")
        #expect(host.statistics.inMartianSources == 1)
    }

    @Test("land attack: a SYN from our own address and listening port to itself is dropped; polling at a fixed time goes quiet")
    func landSYN() throws {
        let host = makeHost("A", [.a])
        let listener = host.socket(.stream)
        try host.bind(listener, to: Endpoint(.any, 80))
        try host.listen(listener, backlog: 8)
        let now = Instant.s(1)
        host.receive(tcpFrame(from: Endpoint(Lab.ipA, 80), to: Endpoint(Lab.ipA, 80)), on: eth0, now: now)
        let polls = pollsToQuiescence(host, at: now)
        #expect(polls != nil && polls! <= 2, "quiescent after \(polls.map(String.init) ?? "more than 10") polls")
        #expect(host.statistics.inMartianSources == 1)
        #expect(host.statistics.tcpInSegments == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("land attack on UDP echo: (own address, 7) → (own address, 7) is dropped; an echo loop never starts")
    func landUDPEcho() throws {
        let host = makeHost("A", [.a])
        let echo = host.udpOpen()
        try host.udpBind(echo, port: 7)
        let now = Instant.s(1)
        host.receive(Build.udpFrame(to: Lab.macA, from: Lab.macR0, Endpoint(Lab.ipA, 7), Endpoint(Lab.ipA, 7), [0x42]),
                     on: eth0, now: now)
        // An echo service: whatever arrives goes back to where it came from.
        var polls = 0
        while let deadline = host.nextDeadline(), deadline <= now, polls < 10 {
            host.poll(now: now)
            while let datagram = host.udpReceive(echo) {
                try host.udpSend(echo, datagram.payload, to: datagram.source, now: now)
            }
            polls += 1
        }
        #expect(polls <= 2)
        #expect(host.nextDeadline().map { $0 > now } ?? true)
        #expect(host.statistics.inMartianSources == 1)
        #expect(host.statistics.udpInDatagrams == 0)
    }

    @Test("a datagram the host sends itself is not a martian: a ping to our own address is answered")
    func loopbackIsNotMartian() throws {
        let host = makeHost("A", [.a])
        let ping = try host.openPing(identifier: 9)
        try host.ping(ping, to: Lab.ipA, sequence: 1, now: .zero)
        for _ in 0..<3 { host.poll(now: .zero) }
        #expect(host.takePingResults(ping).count == 1)
        #expect(host.statistics.inMartianSources == 0)
    }
}

@Suite("Loopback: bounded work per poll")
struct LoopbackBoundTests {
    @Test("one poll handles only the datagrams queued when it started: a ping to ourselves takes two")
    func newDatagramsWaitForNextPoll() throws {
        let host = makeHost("A", [.a])
        let ping = try host.openPing(identifier: 9)
        try host.ping(ping, to: Lab.ipA, sequence: 1, now: .zero)
        host.poll(now: .zero)  // the request: its reply is queued, not handled in the same poll
        #expect(host.takePingResults(ping).isEmpty)
        #expect(host.nextDeadline() == .zero, "the reply waits, so the host asks to be polled now")
        host.poll(now: .zero)
        #expect(host.takePingResults(ping).count == 1)
        #expect(host.nextDeadline() == nil)
    }

    @Test("the loopback queue is bounded: datagrams beyond the limit are dropped and counted")
    func queueBounded() throws {
        let host = makeHost("A", [.a]) { $0.loopbackQueueLimit = 100 }
        let receiver = host.udpOpen()
        try host.udpBind(receiver, port: 9)
        let sender = host.udpOpen()
        for _ in 0..<150 { try host.udpSend(sender, [UInt8](repeating: 1, count: 100), to: Endpoint(Lab.ipA, 9), now: .zero) }
        #expect(host.statistics.loopbackDropped == 50)
        #expect(host.statisticsReport().contains("    50 packets to self dropped (loopback queue full)\n"))
        host.poll(now: .zero)
        #expect(host.udpQueuedDatagrams(receiver) == 100)
        #expect(host.nextDeadline() == nil)
        // Space is reused: another round fits again.
        for _ in 0..<100 { try host.udpSend(sender, [UInt8](repeating: 2, count: 1400), to: Endpoint(Lab.ipA, 9), now: .zero) }
        #expect(host.statistics.loopbackDropped == 50)
    }
}
