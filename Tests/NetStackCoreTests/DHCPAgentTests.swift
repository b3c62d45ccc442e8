// The DHCP agent on a host with no address yet: its DISCOVER leaves from
// 0.0.0.0:68 to 255.255.255.255:67 in an Ethernet broadcast, a broadcast OFFER
// reaches it on port 68, and the ACK configures the address, the default
// route and the resolver's nameservers; stopping it sends the RELEASE.

import NetStackCore
import NetStackWire
import Testing

private let clientMAC = MACAddress(0x02, 0, 0, 0, 0x0d, 0x01)
private let serverMAC = MACAddress(0x02, 0, 0, 0, 0x0d, 0xfe)
private let server = IPv4Address(192, 0, 2, 1)
private let leased = IPv4Address(192, 0, 2, 110)

/// The IPv4 header, UDP header and DHCP message of an Ethernet frame the host sent.
private func dhcpFrame(_ frame: [UInt8]) throws -> (ethernet: EthernetHeader, ip: IPv4Header, udp: UDPHeader, dhcp: DHCPMessage) {
    try frame.withUnsafeBytes { bytes in
        let ethernet = try EthernetHeader.parse(bytes)
        let ipBytes = UnsafeRawBufferPointer(rebasing: bytes[EthernetHeader.length...])
        let ip = try IPv4Header.parse(ipBytes)
        let udpBytes = UnsafeRawBufferPointer(rebasing: ipBytes[ip.headerLength..<ip.totalLength])
        let udp = try UDPHeader.parse(udpBytes, source: ip.source, destination: ip.destination)
        let dhcp = try DHCPMessage.parse(UnsafeRawBufferPointer(rebasing: udpBytes[UDPHeader.headerLength..<udp.length]))
        return (ethernet, ip, udp, dhcp)
    }
}

/// A host whose agent went through DISCOVER, OFFER, REQUEST and ACK with the scripted server at
/// time zero and is checking the address with ARP probes, its sent frames drained.
private func acknowledgedAgent(seed: UInt64) throws -> (Host, DHCPAgent) {
    let host = makeHost("client", [Port("eth0", clientMAC, nil)])
    let agent = DHCPAgent(interface: eth0, mac: clientMAC, seed: seed)
    agent.run(on: host, now: .zero)
    let discover = try dhcpFrame(try #require(host.sent().first)).dhcp
    host.feed(serverFrame(.offer, to: discover))
    agent.run(on: host, now: .zero)
    let request = try dhcpFrame(try #require(host.sent().first)).dhcp
    host.feed(serverFrame(.ack, to: request))
    agent.run(on: host, now: .zero)
    host.drain()
    return (host, agent)
}

/// A host whose agent went through DISCOVER, OFFER, REQUEST and ACK with the scripted
/// server and holds the lease, its sent frames drained.
private func boundAgent(seed: UInt64) throws -> (Host, DHCPAgent) {
    let (host, agent) = try acknowledgedAgent(seed: seed)
    // The ARP check (two probes a second apart, then a second of silence).
    for second in 1...2 {
        host.poll(now: .seconds(Double(second)))
        agent.run(on: host, now: .seconds(Double(second)))
    }
    try #require(agent.lease?.address == leased)
    host.drain()
    return (host, agent)
}

/// dnsmasq-like reply of `type` to `request`, broadcast (the client asked with the BROADCAST flag).
private func serverFrame(_ type: DHCPMessageType, to request: DHCPMessage) -> [UInt8] {
    var reply = DHCPMessage(op: DHCPMessage.bootReply, transactionID: request.transactionID, clientMAC: request.clientMAC)
    reply.broadcast = true
    reply.messageType = type
    reply.serverIdentifier = server
    reply.yourAddress = leased
    reply.leaseTime = 120
    reply.subnetMask = IPv4Address(255, 255, 255, 0)
    reply.routers = [server]
    reply.dnsServers = [IPv4Address(192, 0, 2, 53)]
    return Build.udpFrame(to: .broadcast, from: serverMAC, Endpoint(server, 67), Endpoint(.broadcast, 68), reply.encoded)
}

@Suite("DHCP agent on a host")
struct DHCPAgentTests {
    @Test("from no address to a lease: DISCOVER from 0.0.0.0 broadcast, OFFER and ACK received, address, route and DNS set")
    func acquiresLease() throws {
        let host = makeHost("client", [Port("eth0", clientMAC, nil)])
        let agent = DHCPAgent(interface: eth0, mac: clientMAC, seed: 9)
        agent.run(on: host, now: .zero)
        let discover = try dhcpFrame(try #require(host.sent().first))
        #expect(discover.ethernet.destination == .broadcast)
        #expect(discover.ip.source == .any)
        #expect(discover.ip.destination == .broadcast)
        #expect(discover.udp.sourcePort == 68 && discover.udp.destinationPort == 67)
        #expect(discover.dhcp.messageType == .discover)

        host.feed(serverFrame(.offer, to: discover.dhcp), at: .milliseconds(5))
        agent.run(on: host, now: .milliseconds(5))
        let request = try dhcpFrame(try #require(host.sent().first))
        #expect(request.ip.source == .any)
        #expect(request.dhcp.messageType == .request)
        #expect(request.dhcp.requestedAddress == leased)

        host.feed(serverFrame(.ack, to: request.dhcp), at: .milliseconds(10))
        agent.run(on: host, now: .milliseconds(10))
        // Before using it, ARP probes ask whether anyone holds the address (RFC 5227: sender 0.0.0.0).
        let probe = try #require(host.sent().first)
        #expect(Array(probe[12..<14]) == [0x08, 0x06])
        let probed = try probe.withUnsafeBytes { try ARPPacket.parse(UnsafeRawBufferPointer(rebasing: $0[14...])) }
        #expect(probed.senderIP == .any && probed.targetIP == leased && probed.operation == .request)
        #expect(agent.lease == nil && !host.isLocal(leased))
        for second in 1...2 {
            host.poll(now: .milliseconds(Int64(10 + 1000 * second)))
            agent.run(on: host, now: .milliseconds(Int64(10 + 1000 * second)))
        }
        #expect(agent.lease?.address == leased)
        #expect(host.isLocal(leased))
        #expect(host.routes.peek(IPv4Address(203, 0, 113, 9))?.gateway == server)
        #expect(host.resolverConfig.nameservers == [.v4(IPv4Address(192, 0, 2, 53))])
        // The gratuitous ARP of the new address.
        let announcement = try #require(host.sent().first)
        #expect(Array(announcement[12..<14]) == [0x08, 0x06])

        // The server's MAC is not known: the RELEASE waits for ARP, whose reply comes to the
        // leased address, so the address stays until the RELEASE has left or the grace is over.
        agent.stop(on: host, now: .seconds(3))
        #expect(agent.isReleasing)
        #expect(host.isLocal(leased))
        agent.run(on: host, now: .seconds(3) + DHCPAgent.releaseGrace)
        #expect(!agent.isReleasing)
        #expect(!host.isLocal(leased))
        #expect(host.resolverConfig.nameservers.isEmpty)
    }

    @Test("an ARP reply for the offered address during the check makes the agent DECLINE it and leave it unassigned")
    func declinesConflictingAddress() throws {
        let (host, agent) = try acknowledgedAgent(seed: 12)
        // Another station holds the address and answers the probe.
        let holder = MACAddress(0x02, 0, 0, 0, 0x0d, 0x77)
        host.feed(Build.arp(.reply, senderMAC: holder, senderIP: leased, targetMAC: clientMAC, targetIP: .any, to: clientMAC),
                  at: .milliseconds(200))
        agent.run(on: host, now: .milliseconds(200))
        let decline = try #require(host.sent().lazy.compactMap { try? dhcpFrame($0) }.first)
        #expect(decline.dhcp.messageType == .decline && decline.dhcp.requestedAddress == leased)
        #expect(decline.ip.source == .any && decline.ip.destination == .broadcast)
        for second in 1...3 {
            host.poll(now: .seconds(Double(second)))
            agent.run(on: host, now: .seconds(Double(second)))
        }
        #expect(agent.lease == nil && !host.isLocal(leased))
    }

    @Test("stopping a bound agent sends the RELEASE unicast to the server from the leased address")
    func releaseOnStop() throws {
        let (host, agent) = try boundAgent(seed: 10)
        // The server asks for the leased address by ARP (as the kernel does before a ping):
        // its MAC is then known, so the RELEASE leaves at once.
        host.feed(Build.arp(.request, senderMAC: serverMAC, senderIP: server, targetIP: leased, to: .broadcast))
        _ = host.sent()
        agent.stop(on: host, now: .seconds(3))
        let frames = host.sent()
        let message = try #require(frames.lazy.compactMap { try? dhcpFrame($0) }.first, "sent: \(frames.count) frames")
        #expect(message.dhcp.messageType == .release)
        #expect(message.ip.source == leased)
        #expect(message.ip.destination == server)
        #expect(message.dhcp.clientAddress == leased)
        #expect(!agent.isReleasing)
        #expect(!host.isLocal(leased))
    }

    @Test("a RELEASE waiting for ARP leaves when the server's MAC is learnt, and then the address goes")
    func releaseAfterARP() throws {
        let (host, agent) = try boundAgent(seed: 11)
        agent.stop(on: host, now: .milliseconds(3100))
        let asked = host.sent()
        #expect(asked.count == 1 && Array(asked[0][12..<14]) == [0x08, 0x06], "an ARP request for the server")
        host.feed(Build.arp(.reply, senderMAC: serverMAC, senderIP: server, targetMAC: clientMAC, targetIP: leased,
                            to: clientMAC), at: .milliseconds(101))
        let release = try #require(host.sent().lazy.compactMap { try? dhcpFrame($0) }.first)
        #expect(release.dhcp.messageType == .release)
        #expect(release.ethernet.destination == serverMAC)
        agent.run(on: host, now: .milliseconds(101))
        #expect(!agent.isReleasing)
        #expect(!host.isLocal(leased))
    }
}
