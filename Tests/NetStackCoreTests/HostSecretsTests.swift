// Where a host's secrets come from (HostSecrets.swift): the OS's random source
// unless a seed is given (RFC 6528 §3 asks for a key of at least 128 bits), and
// what they choose: ISNs, SYN cookies, and ephemeral ports by RFC 6056
// Algorithm 4 (§3.3.4).

@testable import NetStackCore
import NetStackWire
import Testing

/// A with its gateway known: connections to any address leave at once.
private func hostA(seed: UInt64?, _ configure: (inout HostConfig) -> Void = { _ in }) -> Host {
    let host = makeHost("A", [.a]) {
        $0.randomSeed = seed
        configure(&$0)
    }
    host.setDefaultGateway(Lab.ipR0, interface: eth0)
    host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
    return host
}

/// Connects a new descriptor from `localPort` (0: an ephemeral port) to `remote`
/// and returns the SYN's source port and sequence number.
private func connect(_ host: Host, from localPort: UInt16 = 0, to remote: Endpoint,
                     at now: Instant = .zero) throws -> (port: UInt16, isn: UInt32) {
    let fd = host.socket(.stream)
    if localPort != 0 { try host.bind(fd, to: Endpoint(.any, localPort)) }
    try host.connect(fd, to: remote, now: now)
    let frames = host.sent()
    try #require(frames.count == 1)
    let ip = try Frame(frames[0]).ip()
    let segment = try Frame(frames[0]).ipPayload()
    let syn = try segment.withUnsafeBytes { try TCPHeader.parse($0, source: ip.source, destination: ip.destination) }
    return (syn.sourcePort, syn.sequenceNumber.rawValue)
}

private let server1 = Endpoint(Lab.ipB, 80)
private let server2 = Endpoint(IPv4Address(203, 0, 113, 7), 443)

@Suite("Host secrets: from the OS unless seeded")
struct HostSecretsTests {
    @Test("two hosts with a default HostConfig choose different ISNs for the same 4-tuple at the same time")
    func defaultSecretsDiffer() throws {
        #expect(HostConfig(name: "x").randomSeed == nil, "no constant default seed")
        let first = try connect(hostA(seed: nil), from: 40_000, to: server1)
        let second = try connect(hostA(seed: nil), from: 40_000, to: server1)
        #expect(first.isn != second.isn)
    }

    @Test("two hosts with the same explicit seed choose the same ISN and port; another seed, others")
    func seededSecretsRepeat() throws {
        let first = try connect(hostA(seed: 42), to: server1)
        #expect(try connect(hostA(seed: 42), to: server1) == first)
        let other = try connect(hostA(seed: 43), to: server1)
        #expect(other.isn != first.isn && other.port != first.port)
    }

    @Test("every purpose has its own 128-bit key; unseeded keys differ from host to host, seeded ones repeat")
    func keysPerPurpose() {
        let purposes: [HostSecrets.Purpose] = [.initialSequenceNumbers, .synCookies, .resolver, .ephemeralPorts,
                                               .ipIdentification, .challengeAcks, .udpPorts]
        let seeded = HostSecrets(seed: 1)
        let keys = purposes.map { seeded.key($0) }
        #expect(Set(keys.map(\.0)).count == purposes.count && Set(keys.map(\.1)).count == purposes.count)
        #expect(keys.allSatisfy { $0.0 != $0.1 })
        #expect(purposes.map { HostSecrets(seed: 1).key($0).0 } == keys.map(\.0))
        #expect(HostSecrets(seed: 2).key(.synCookies) != seeded.key(.synCookies))
        let random1 = HostSecrets(seed: nil), random2 = HostSecrets(seed: nil)
        #expect(random1.key(.synCookies) != random2.key(.synCookies))
        #expect(random1.key(.initialSequenceNumbers) != random2.key(.initialSequenceNumbers))
        // SYN cookies keyed from the OS: the same SYN gets another cookie on another host.
        let local = Endpoint(Lab.ipA, 80), remote = Endpoint(Lab.ipB, 40_000)
        let cookie1 = SYNCookies(secret: random1.key(.synCookies))
            .make(local: local, remote: remote, peerISN: SequenceNumber(rawValue: 1), mss: 1460, now: .zero)
        let cookie2 = SYNCookies(secret: random2.key(.synCookies))
            .make(local: local, remote: remote, peerISN: SequenceNumber(rawValue: 1), mss: 1460, now: .zero)
        #expect(cookie1 != cookie2)
    }
}

@Suite("Ephemeral ports (RFC 6056 Algorithm 4)")
struct EphemeralPortTests {
    @Test("connections to one destination take consecutive ports whatever was opened to another in between")
    func otherDestinationsNotRevealed() throws {
        // The same seed twice: one host also connects to server2 between its two connections to server1.
        let quiet = hostA(seed: 5), busy = hostA(seed: 5)
        let q1 = try connect(quiet, to: server1).port, q2 = try connect(quiet, to: server1).port
        let b1 = try connect(busy, to: server1).port
        let toOther = try connect(busy, to: server2).port
        let b2 = try connect(busy, to: server1).port
        #expect([b1, b2] == [q1, q2], "what server1 sees does not depend on connections to server2")
        #expect(b2 == b1 + 1 || (b1 == 60999 && b2 == 32768))
        // A counter shared by all destinations would have put server2's connection between the two.
        #expect(toOther != b1 + 1)
        #expect([b1, b2, toOther].allSatisfy { (32768...60999).contains($0) })
    }

    @Test("the offset depends on the destination: ten destinations start at ten unrelated ports")
    func offsetPerDestination() throws {
        let host = hostA(seed: 9)
        let ports = try (1...10).map { try connect(host, to: Endpoint(IPv4Address(203, 0, 113, UInt8($0)), 80)).port }
        #expect(Set(ports).count == 10)
        #expect(ports.allSatisfy { (32768...60999).contains($0) })
        // A sequential allocator would have handed out a run of ten.
        #expect(ports.max()! - ports.min()! > 9)
    }

    @Test("a port in use is skipped for the next one; every port of a small range is used once, then EADDRNOTAVAIL")
    func collisionsSkipped() throws {
        let probe = hostA(seed: 11)
        let chosen = try connect(probe, to: server1).port
        // Its twin listens on the port it would choose: the connection takes the next one.
        let twin = hostA(seed: 11)
        let listener = twin.socket(.stream)
        try twin.bind(listener, to: Endpoint(.any, chosen))
        try twin.listen(listener, backlog: 1)
        let next = try connect(twin, to: server1).port
        #expect(next != chosen)
        #expect(next == (chosen == 60999 ? 32768 : chosen + 1))

        let small = hostA(seed: 12) { $0.udp.ephemeralPorts = 40000...40007 }
        let ports = try (0..<8).map { _ in try connect(small, to: server1).port }
        #expect(Set(ports) == Set(40000...40007))
        let fd = small.socket(.stream)
        #expect(throws: NetError.addressNotAvailable) { try small.connect(fd, to: server1, now: .zero) }
        // Another destination may reuse them: the 4-tuples differ.
        #expect((40000...40007).contains(try connect(small, to: server2).port))
    }
}
