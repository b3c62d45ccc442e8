import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator

/// Pings `destination` from the network's client once and runs the simulation for `wait`.
private func pingOnce(_ net: TwoLANNetwork, _ socket: PingSocket, to destination: IPv4Address, sequence: UInt16,
                      payload: Int = 56, ttl: UInt8? = nil, wait: Duration = .seconds(1)) -> [PingResult] {
    try? net.client.host.ping(socket, to: destination, sequence: sequence, payloadLength: payload, ttl: ttl,
                              now: net.simulator.now)
    net.simulator.kick(net.client)
    net.simulator.run(for: wait)
    return net.client.host.takePingResults(socket)
}

@Suite("Two LANs joined by a router")
struct TwoLANTests {
    @Test("each host's secrets derive from the simulator's seed: same seed, same seeds; another seed or host, others")
    func hostSeedsFromSimulatorSeed() {
        func seeds(_ seed: UInt64) -> [UInt64?] {
            let net = TwoLANNetwork(seed: seed)
            return [net.client, net.router, net.server, net.dns, net.laptop].map { $0.host.config.randomSeed }
        }
        let first = seeds(1)
        #expect(first.allSatisfy { $0 != nil })
        #expect(Set(first).count == first.count, "every host its own secrets")
        #expect(seeds(1) == first)
        #expect(Set(seeds(2)).isDisjoint(with: first))
        let overridden = TwoLANNetwork(seed: 1) { $0.randomSeed = 99 }
        #expect(overridden.client.host.config.randomSeed == 99, "configure has the last word")
    }

        @Test("a ping crosses the hub, the router and the switch and comes back")
    func pingAcross() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 0x1234)
        let results = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        #expect(results.count == 1)
        guard case let .reply(from, sequence, ttl, bytes, rtt)? = results.first else {
            Issue.record("no echo reply: \(results)")
            return
        }
        #expect(from == TwoLANNetwork.serverAddress)
        #expect(sequence == 1)
        #expect(ttl == 63, "one router on the way back decrements the server's TTL of 64")
        #expect(bytes == 56)
        #expect(rtt > .zero && rtt < .milliseconds(10))
        #expect(net.router.host.statistics.forwarded == 2)
    }

    @Test("ARP resolves each next hop once, and every host's cache shows the neighbour it talked to")
    func arpResolution() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 1)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 2)
        let now = net.simulator.now
        #expect(net.client.host.arpCache.lookup(TwoLANNetwork.routerAddressA, now: now) == MACAddress(2, 0, 0, 0, 0x0a, 0x01))
        #expect(net.router.host.arpCache.lookup(TwoLANNetwork.clientAddress, now: now) == MACAddress(2, 0, 0, 0, 0x0a, 0x0a))
        #expect(net.router.host.arpCache.lookup(TwoLANNetwork.serverAddress, now: now) == MACAddress(2, 0, 0, 0, 0x0b, 0x0a))
        #expect(net.server.host.arpCache.lookup(TwoLANNetwork.routerAddressB, now: now) == MACAddress(2, 0, 0, 0, 0x0b, 0x01))
        #expect(net.client.host.statistics.arpRequestsSent == 1, "the second ping uses the cache")
        let table = net.client.host.arpTable(now: now)
        #expect(table.contains("192.0.2.1                ether   02:00:00:00:0a:01   C                     eth0"))
    }

    @Test("ARP entries expire after their lifetime and the next packet asks again")
    func arpExpiry() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 1)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        net.simulator.run(for: .seconds(61))
        #expect(net.client.host.arpCache.lookup(TwoLANNetwork.routerAddressA, now: net.simulator.now) == nil)
        let results = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 2)
        #expect(results.count == 1)
        #expect(net.client.host.statistics.arpRequestsSent == 2)
    }

    @Test("a used ARP entry close to expiry is refreshed by a unicast request, without a cache miss")
    func arpRefresh() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 1)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        net.simulator.run(for: .seconds(56))
        var requests: [MACAddress] = []
        net.client.host.observer = { event in
            if case let .frameQueued(_, header, _, _) = event, header.etherType == .arp { requests.append(header.destination) }
        }
        let results = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 2)
        #expect(results.count == 1)
        #expect(requests == [MACAddress(2, 0, 0, 0, 0x0a, 0x01)], "a unicast refresh to the router")
        net.simulator.run(for: .seconds(30))
        #expect(net.client.host.arpCache.lookup(TwoLANNetwork.routerAddressA, now: net.simulator.now) != nil,
                "the refreshed entry lives past the original 60 s")
    }

    @Test("TTL 1 expires at the router, which answers with ICMP time exceeded")
    func ttlExpiry() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 7)
        let results = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1, ttl: 1)
        #expect(results == [.error(from: TwoLANNetwork.routerAddressA, sequence: 1, message: .timeExceeded(code: 0))])
        #expect(net.server.host.statistics.inReceives == 0)
    }

    @Test("the router fragments for a small-MTU LAN and both ends reassemble")
    func fragmentation() throws {
        let net = TwoLANNetwork(seed: 1, lanBMTU: 576)
        let socket = try net.client.host.openPing(identifier: 9)
        let results = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1, payload: 2000)
        guard case let .reply(_, _, _, bytes, _)? = results.first else {
            Issue.record("no reply: \(results)")
            return
        }
        #expect(bytes == 2000)
        // 2028 bytes: the client (MTU 1500) sends 1480 + 528 bytes of data; the router cuts the
        // first into 552 + 552 + 376 for MTU 576 and passes the second (548 bytes) as it is.
        #expect(net.client.host.statistics.fragmentsCreated == 2)
        #expect(net.router.host.statistics.fragmentsCreated == 3)
        #expect(net.server.host.statistics.reassemblyOK == 1)
        #expect(net.client.host.statistics.reassemblyOK == 1, "the server's reply was fragmented at its own MTU")
    }

    @Test("a frame corrupted on the wire is dropped by the receiving adapter's FCS check and counted")
    func corruptedFrameDropped() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 3)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        let sentBefore = net.serverCable.counters(.bToA).frames
        net.serverCable.configure(.bToA) { $0.corruptFrames = [sentBefore + 1] }
        let lost = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 2)
        #expect(lost.isEmpty, "the echo request never reached the server")
        #expect(net.server.host.adapters[0].counters.rxCRCErrors == 1)
        #expect(net.server.host.statistics.icmpInMessages == 1, "only the first request got through")
        let again = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 3)
        #expect(again.count == 1, "nobody retransmits the lost ping, but the next one works")
    }

    @Test("the switch learns where each MAC address is and floods only what it does not know")
    func switchLearning() throws {
        let net = TwoLANNetwork(seed: 1)
        let socket = try net.client.host.openPing(identifier: 3)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        let table = net.switch_.macTable(now: net.simulator.now)
        #expect(net.switch_.port(for: MACAddress(2, 0, 0, 0, 0x0b, 0x01), now: net.simulator.now) == 0)
        #expect(net.switch_.port(for: MACAddress(2, 0, 0, 0, 0x0b, 0x0a), now: net.simulator.now) == 1)
        #expect(table.count == 3, "router, server and the dns host's gratuitous ARP")
        #expect(net.switch_.counters.flooded >= 1)
        #expect(net.switch_.counters.forwarded >= 2)
        #expect(net.dns.host.adapters[0].counters.rxFiltered == 0, "the dns host never saw the unicast exchange")
    }

    @Test("the hub repeats every frame to every other port, and the laptop's MAC filter discards what is not its own")
    func hubRepeats() throws {
        let net = TwoLANNetwork(seed: 1)
        net.simulator.run(for: .milliseconds(10))
        let laptop = net.laptop.host.adapters[0].counters
        let socket = try net.client.host.openPing(identifier: 3)
        _ = pingOnce(net, socket, to: TwoLANNetwork.serverAddress, sequence: 1)
        #expect(net.hub.counters[3].framesOut == net.hub.counters[0].framesIn + net.hub.counters[1].framesIn
                    + net.hub.counters[2].framesIn, "an unplugged port still gets every frame the hub repeats")
        let after = net.laptop.host.adapters[0].counters
        // The exchange: ARP request (broadcast, accepted), ARP reply, echo request, echo reply (unicast, filtered).
        #expect(after.rxPackets - laptop.rxPackets == 1)
        #expect(after.rxFiltered - laptop.rxFiltered == 3)
        #expect(net.laptop.host.statistics.inReceives == 0)
    }

    @Test("UDP echo across the router returns the same bytes")
    func udpEcho() throws {
        let net = TwoLANNetwork(seed: 5)
        try net.server.startUDPEcho(port: 7)
        let socket = net.client.host.udpOpen()
        let message = Array("hello, udp".utf8)
        try net.client.host.udpSend(socket, message, to: Endpoint(TwoLANNetwork.serverAddress, 7), now: net.simulator.now)
        net.simulator.kick(net.client)
        net.simulator.run(for: .seconds(1))
        let reply = net.client.host.udpReceive(socket)
        #expect(reply?.payload == message)
        #expect(reply?.source == Endpoint(TwoLANNetwork.serverAddress, 7))
    }

    @Test("a datagram to a closed port earns ICMP port unreachable, reported to the connected sender once")
    func portUnreachable() throws {
        let net = TwoLANNetwork(seed: 5)
        let host = net.client.host
        let socket = host.udpOpen()
        // Only a connected socket hears of ICMP errors (as on Linux).
        host.udpConnect(socket, to: Endpoint(TwoLANNetwork.serverAddress, 9999))
        try host.udpSend(socket, [1, 2, 3], to: Endpoint(TwoLANNetwork.serverAddress, 9999), now: net.simulator.now)
        net.simulator.kick(net.client)
        net.simulator.run(for: .seconds(1))
        #expect(net.server.host.statistics.udpNoPorts == 1)
        #expect(throws: NetError.connectionRefused) {
            try host.udpSend(socket, [4], to: Endpoint(TwoLANNetwork.serverAddress, 9999), now: net.simulator.now)
        }
        #expect(throws: Never.self) {
            try host.udpSend(socket, [5], to: Endpoint(TwoLANNetwork.serverAddress, 9999), now: net.simulator.now)
        }
    }

    @Test("the same seed gives the same capture byte for byte; another seed on a lossy network does not")
    func determinism() throws {
        func capture(seed: UInt64) throws -> [UInt8] {
            let lossy = LinkConfig(bitsPerSecond: 100_000_000, propagationDelay: .microseconds(5),
                                   jitter: .microseconds(3), loss: 0.2, fcs: true)
            let net = TwoLANNetwork(seed: seed, cable: lossy)
            let tap = net.captureAll()
            try net.server.startUDPEcho()
            let socket = net.client.host.udpOpen()
            let ping = try net.client.host.openPing(identifier: 42)
            for sequence in 1...20 {
                try? net.client.host.udpSend(socket, Array(repeating: UInt8(sequence), count: 100),
                                             to: Endpoint(TwoLANNetwork.serverAddress, 7), now: net.simulator.now)
                _ = pingOnce(net, ping, to: TwoLANNetwork.serverAddress, sequence: UInt16(sequence),
                             wait: .milliseconds(300))
            }
            net.simulator.run(for: .seconds(5))
            return tap.takeBytes()
        }
        let first = try capture(seed: 77), second = try capture(seed: 77), other = try capture(seed: 78)
        #expect(first.count > 1000)
        #expect(first == second)
        #expect(first != other)
    }
}
