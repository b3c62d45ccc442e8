// ARP (RFC 826) as the stack runs it: answering, learning, the pending queue,
// retries and giving up, expiry and refresh, gratuitous announcements.
// Golden frames: arp-icmp-echo.pcap (A asks for R) and icmp-port-unreachable.pcap
// (R's unicast re-check of A and A's reply).

import NetStackCore
import NetStackWire
import Testing

private let nowhere = IPv4Address(192, 0, 2, 99)

/// A UDP socket of `host` bound to `port`.
private func socket(_ host: Host, port: UInt16 = 5000) throws -> UDPSocketID {
    let socket = host.udpOpen()
    try host.udpBind(socket, port: port)
    return socket
}

/// The broadcast "who has `target`? tell `sender`" a host with `mac` sends, as it goes on the wire.
private func request(for target: IPv4Address, from sender: IPv4Address, _ mac: MACAddress) -> [UInt8] {
    padded(Build.arp(.request, senderMAC: mac, senderIP: sender, targetIP: target, to: .broadcast))
}

@Suite("ARP: answering and learning")
struct ARPAnswerTests {
    @Test("Linux's request for 192.0.2.254 gets the reply Linux sent (arp-icmp-echo #1 → #2)")
    func replyMatchesLinux() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1))
        // The capture was taken on a veth, where Linux sends the 42-byte frame
        // unpadded (padding is the NIC's job); NetStack's adapter pads to 60 bytes.
        #expect(host.sent() == [padded(try captured("arp-icmp-echo", 2))])
        #expect(host.statistics.arpRepliesSent == 1)
    }

    @Test("a NetStack host asking for its gateway sends the request Linux sent (arp-icmp-echo #1)")
    func requestMatchesLinux() throws {
        let host = makeHost("A", [.a])
        host.setDefaultGateway(Lab.ipR0, interface: eth0)
        try host.udpSend(try socket(host), [1, 2, 3], to: Endpoint(IPv4Address(198, 51, 100, 1), 9), now: .zero)
        #expect(host.sent() == [padded(try captured("arp-icmp-echo", 1))])
        #expect(host.statistics.arpRequestsSent == 1)
    }

    @Test("a request for another address gets no reply, and its sender is not learned")
    func otherTargetIgnored() throws {
        let host = makeHost("R", [.r0])
        var frame = try captured("arp-icmp-echo", 1)
        frame.replaceSubrange(38..<42, with: [192, 0, 2, 77])
        host.feed(frame)
        #expect(host.sent().isEmpty)
        #expect(host.statistics.arpRepliesSent == 0)
        #expect(host.arpCache.entry(Lab.ipA, now: .zero) == nil)
    }

    @Test("a request for the address of another interface is not answered on this one")
    func otherInterfaceAddressIgnored() throws {
        let host = makeRouter()
        host.feed(Build.arp(.request, senderMAC: Lab.macA, senderIP: Lab.ipA, targetIP: Lab.ipR1, to: .broadcast))
        #expect(host.sent(on: eth0).isEmpty)
        #expect(host.sent(on: eth1).isEmpty)
        #expect(host.statistics.arpRepliesSent == 0)
    }

    @Test("the sender of a request targeted at us is learned: the next packet goes straight out")
    func learnsFromRequest() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1), at: .s(2))
        _ = host.sent()
        let entry = try #require(host.arpCache.entry(Lab.ipA, now: .s(2)))
        #expect(entry.mac == Lab.macA)
        #expect(entry.interface == eth0)
        #expect(entry.state == .complete(expires: .s(62)))
        try host.udpSend(try socket(host), [7], to: Endpoint(Lab.ipA, 9), now: .s(3))
        let frames = try host.sent().map(Frame.init)
        try #require(frames.count == 1)
        #expect(frames[0].ethernet.destination == Lab.macA)
        #expect(try frames[0].udp().payload == [7])
    }

    @Test("packets queued while resolving leave, in order, when the reply comes (arp-icmp-echo #2)")
    func queuedPacketsSentOnReply() throws {
        let host = makeHost("A", [.a])
        let udp = try socket(host)
        try host.udpSend(udp, [1], to: Endpoint(Lab.ipR0, 9), now: .zero)
        try host.udpSend(udp, [2], to: Endpoint(Lab.ipR0, 9), now: .milliseconds(1))
        #expect(host.sent().count == 1, "one request for both packets")
        #expect(host.statistics.arpRequestsSent == 1)
        host.feed(try captured("arp-icmp-echo", 2), at: .milliseconds(5))
        let frames = try host.sent().map(Frame.init)
        #expect(frames.map(\.ethernet.destination) == [Lab.macR0, Lab.macR0])
        #expect(try frames.map { try $0.udp().payload } == [[1], [2]])
        #expect(host.arpCache.entry(Lab.ipR0, now: .milliseconds(5))?.state == .complete(expires: .milliseconds(60_005)))
    }

    @Test("RFC 826 merge: any ARP packet from a known sender updates its entry, even when not for us")
    func mergeUpdatesExistingEntry() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1), at: .zero)
        host.drain()
        let moved = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x02)
        host.feed(Build.arp(.request, senderMAC: moved, senderIP: Lab.ipA, targetIP: IPv4Address(192, 0, 2, 77),
                            to: .broadcast), at: .s(10))
        #expect(host.sent().isEmpty, "not for us: no reply")
        #expect(host.arpCache.entry(Lab.ipA, now: .s(10))?.mac == moved)
        #expect(host.arpCache.entry(Lab.ipA, now: .s(10))?.state == .complete(expires: .s(70)))
        try host.udpSend(try socket(host), [7], to: Endpoint(Lab.ipA, 9), now: .s(11))
        #expect(try host.sent().map { try Frame($0).ethernet.destination } == [moved])
    }

    @Test("a gratuitous announcement updates a known host's entry but adds no unknown host")
    func gratuitousFromOthers() throws {
        let host = makeHost("R", [.r0])
        host.feed(try captured("arp-icmp-echo", 1))
        host.drain()
        let moved = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x02)
        host.feed(Build.arp(.request, senderMAC: moved, senderIP: Lab.ipA, targetIP: Lab.ipA, to: .broadcast))
        #expect(host.arpCache.lookup(Lab.ipA, now: .zero) == moved)
        let stranger = IPv4Address(192, 0, 2, 50)
        host.feed(Build.arp(.request, senderMAC: Lab.macOther, senderIP: stranger, targetIP: stranger, to: .broadcast))
        #expect(host.arpCache.entry(stranger, now: .zero) == nil)
        #expect(host.sent().isEmpty)
    }

    @Test("a permanent entry is not changed by ARP traffic")
    func permanentEntryKept() throws {
        let host = makeHost("R", [.r0])
        host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        host.feed(Build.arp(.reply, senderMAC: Lab.macOther, senderIP: Lab.ipA, targetMAC: Lab.macR0,
                            targetIP: Lab.ipR0, to: Lab.macR0))
        #expect(host.arpCache.entry(Lab.ipA, now: .s(1000))?.state == .permanent)
        #expect(host.arpCache.lookup(Lab.ipA, now: .s(1000)) == Lab.macA)
    }

    @Test("a malformed ARP packet is counted and dropped")
    func malformed() throws {
        let host = makeHost("R", [.r0])
        var frame = try captured("arp-icmp-echo", 1)
        frame[18] = 16  // hardware address length 16
        host.feed(frame)
        #expect(host.statistics.arpMalformed == 1)
        #expect(host.adapters[0].counters.rxDropped == 1)
        #expect(host.sent().isEmpty)
    }
}

@Suite("ARP: retries and giving up")
struct ARPRetryTests {
    @Test("exactly 3 requests go out, 1 s apart; the 4th second gives up")
    func threeRequestsThenGiveUp() throws {
        let host = makeHost("A", [.a])
        try host.udpSend(try socket(host), [1], to: Endpoint(nowhere, 9), now: .zero)
        var requests = host.sent().map { (time: Instant.zero, frame: $0) }
        requests += host.run(until: .s(2.999))
        #expect(requests.map(\.time) == [.zero, .s(1), .s(2)])
        #expect(requests.allSatisfy { $0.frame == request(for: nowhere, from: Lab.ipA, Lab.macA) })
        #expect(host.statistics.arpResolutionFailures == 0)
        #expect(host.nextDeadline() == .s(3))
        #expect(host.run(until: .s(10)).isEmpty, "no fourth request")
        #expect(host.statistics.arpRequestsSent == 3)
        #expect(host.statistics.arpResolutionFailures == 1)
        #expect(host.arpCache.entry(nowhere, now: .s(10)) == nil)
    }

    @Test("a UDP sender whose packet was dropped gets EHOSTUNREACH from udpTakeError, once")
    func udpTakeErrorAfterFailure() throws {
        let host = makeHost("A", [.a])
        let udp = try socket(host)
        try host.udpSend(udp, [1], to: Endpoint(nowhere, 9), now: .zero)
        _ = host.run(until: .s(2.5))
        #expect(host.udpTakeError(udp) == nil, "still resolving")
        _ = host.run(until: .s(3))
        #expect(host.udpTakeError(udp) == .hostUnreachable)
        #expect(host.udpTakeError(udp) == nil)
    }

    @Test("the next udpSend throws EHOSTUNREACH once; the one after starts a fresh resolution")
    func udpSendThrowsAfterFailure() throws {
        let host = makeHost("A", [.a])
        let udp = try socket(host)
        try host.udpSend(udp, [1], to: Endpoint(nowhere, 9), now: .zero)
        _ = host.run(until: .s(3))
        #expect(throws: NetError.hostUnreachable) { try host.udpSend(udp, [2], to: Endpoint(nowhere, 9), now: .s(4)) }
        #expect(host.sent().isEmpty, "the failing call sends nothing")
        try host.udpSend(udp, [3], to: Endpoint(nowhere, 9), now: .s(5))
        #expect(host.sent() == [request(for: nowhere, from: Lab.ipA, Lab.macA)])
    }

    @Test("a ping to an address that never answers ARP gets host unreachable from our own address")
    func pingAfterFailure() throws {
        let host = makeHost("A", [.a])
        let ping = try host.openPing(identifier: 7)
        try host.ping(ping, to: nowhere, sequence: 1, now: .zero)
        _ = host.run(until: .s(3))
        #expect(host.takePingResults(ping) == [
            .error(from: Lab.ipA, sequence: 1, message: .destinationUnreachable(code: 1, nextHopMTU: 0)),
        ])
    }

    @Test("a forwarded packet whose next hop never answers earns its source an ICMP host unreachable")
    func forwardedPacketAfterFailure() throws {
        let router = makeRouter()
        router.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        let datagram = try captured("udp-echo", 1)  // A → B, UDP to port 7
        router.feed(datagram, on: eth0, at: .zero)
        let requests = router.sent(on: eth1).map { (time: Instant.zero, frame: $0) } + router.run(until: .s(3), on: eth1)
        #expect(requests.map(\.time) == [.zero, .s(1), .s(2)])
        #expect(requests.allSatisfy { $0.frame == request(for: Lab.ipB, from: Lab.ipR1, Lab.macR1) })

        let errors = try router.sent(on: eth0).map(Frame.init)
        try #require(errors.count == 1)
        let ip = try errors[0].ip()
        #expect(errors[0].ethernet.destination == Lab.macA)
        #expect(ip.source == Lab.ipR0)
        #expect(ip.destination == Lab.ipA)
        let icmp = try errors[0].icmp()
        #expect(icmp.header.message == .destinationUnreachable(code: 1, nextHopMTU: 0))
        // The quote is the datagram as it waited to leave: TTL already decremented.
        var forwarded = Array(datagram[14...])
        forwarded[8] = 63
        fixIPChecksum(&forwarded, at: 0)
        #expect(icmp.data == forwarded)
        #expect(router.statistics.arpResolutionFailures == 1)
    }

    @Test("the pending queue keeps the newest pendingPerAddress packets; the older are dropped and counted")
    func pendingQueueBounded() throws {
        let host = makeHost("A", [.a]) { $0.arp.pendingPerAddress = 3 }
        let udp = try socket(host)
        for n in UInt8(1)...5 { try host.udpSend(udp, [n], to: Endpoint(Lab.ipR0, 9), now: .zero) }
        #expect(host.sent().count == 1)
        #expect(host.statistics.outDiscards == 2)
        host.feed(try captured("arp-icmp-echo", 2), at: .milliseconds(1))
        #expect(try host.sent().map { try Frame($0).udp().payload } == [[3], [4], [5]])
    }

    @Test("a datagram in more fragments than pendingPerAddress still arrives when its next hop is first resolved")
    func fragmentsOutnumberPendingQueue() throws {
        // A 3,000-byte echo over MTU 1000 is four fragments, all queued at once behind one
        // ARP request. Dropping the oldest loses the first fragment, so the datagram can
        // never be reassembled: the first large ping to a new neighbour always fails.
        // (Linux bounds the queue in bytes, unres_qlen_bytes = 212,992; its docs call the
        // old 3-packet limit one that "may cause unexpected packet loss".)
        var a = Port.a, r = Port.r0
        a.mtu = 1000
        r.mtu = 1000
        let hostA = makeHost("A", [a]), hostR = makeHost("R", [r])
        let wires = Wires()
        wires.connect(hostA, eth0, hostR, eth0)
        let ping = try hostA.openPing(identifier: 1)
        try hostA.ping(ping, to: Lab.ipR0, sequence: 1, payloadLength: 3000, now: .zero)
        wires.settle(at: .zero)
        #expect(hostA.statistics.outDiscards == 0)
        #expect(hostR.statistics.reassemblyOK == 1)
        #expect(hostA.takePingResults(ping).count == 1)
    }

    @Test("pendingTotal bounds all queues together: packets for other addresses are evicted first")
    func pendingTotalBounded() throws {
        let host = makeHost("A", [.a]) {
            $0.arp.pendingTotal = 4
            $0.arp.pendingPerAddress = 3
        }
        let udp = try socket(host)
        let x = IPv4Address(192, 0, 2, 10), y = IPv4Address(192, 0, 2, 20)
        for n in UInt8(1)...3 { try host.udpSend(udp, [n], to: Endpoint(x, 9), now: .zero) }
        for n in UInt8(4)...6 { try host.udpSend(udp, [n], to: Endpoint(y, 9), now: .zero) }
        #expect(host.statistics.outDiscards == 2)
        host.drain()
        host.feed(Build.arp(.reply, senderMAC: Lab.macOther, senderIP: x, targetMAC: Lab.macA, targetIP: Lab.ipA, to: Lab.macA))
        #expect(try host.sent().map { try Frame($0).udp().payload } == [[3]])
        let macY = MACAddress(0x02, 0, 0, 0, 0x0c, 0x20)
        host.feed(Build.arp(.reply, senderMAC: macY, senderIP: y, targetMAC: Lab.macA, targetIP: Lab.ipA, to: Lab.macA))
        #expect(try host.sent().map { try Frame($0).udp().payload } == [[4], [5], [6]])
    }

    @Test("pendingPerAddress is configurable")
    func pendingQueueConfigurable() throws {
        let host = makeHost("A", [.a]) { $0.arp.pendingPerAddress = 1 }
        let udp = try socket(host)
        for n in UInt8(1)...3 { try host.udpSend(udp, [n], to: Endpoint(Lab.ipR0, 9), now: .zero) }
        #expect(host.statistics.outDiscards == 2)
        host.drain()
        host.feed(try captured("arp-icmp-echo", 2), at: .milliseconds(1))
        #expect(try host.sent().map { try Frame($0).udp().payload } == [[3]])
    }

    @Test("maxRequests and retryInterval are configurable")
    func retriesConfigurable() throws {
        let host = makeHost("A", [.a]) {
            $0.arp.maxRequests = 5
            $0.arp.retryInterval = .milliseconds(200)
        }
        try host.udpSend(try socket(host), [1], to: Endpoint(nowhere, 9), now: .zero)
        #expect(host.sent().count == 1)
        let times = [Instant.zero] + host.run(until: .s(5)).map(\.time)
        #expect(times == [.zero, .milliseconds(200), .milliseconds(400), .milliseconds(600), .milliseconds(800)])
        #expect(host.statistics.arpResolutionFailures == 1)
    }
}

@Suite("ARP: expiry, refresh, announcements")
struct ARPLifetimeTests {
    /// R with A learned at time zero from A's request (arp-icmp-echo #1).
    private func routerKnowingA(_ configure: (inout HostConfig) -> Void = { _ in }) throws -> Host {
        let host = makeHost("R", [.r0], configure: configure)
        host.feed(try captured("arp-icmp-echo", 1), at: .zero)
        host.drain()
        return host
    }

    @Test("an entry expires after 60 s; using it then sends a fresh broadcast request")
    func expiryThenFreshRequest() throws {
        let host = try routerKnowingA()
        let udp = try socket(host)
        try host.udpSend(udp, [1], to: Endpoint(Lab.ipA, 9), now: .s(50))
        #expect(try host.sent().map { try Frame($0).ethernet.etherType } == [.ipv4])
        #expect(host.arpCache.lookup(Lab.ipA, now: .s(59.999)) == Lab.macA)
        #expect(host.arpCache.lookup(Lab.ipA, now: .s(60)) == nil)
        try host.udpSend(udp, [2], to: Endpoint(Lab.ipA, 9), now: .s(60))
        #expect(host.sent() == [request(for: Lab.ipA, from: Lab.ipR0, Lab.macR0)])
    }

    @Test("the lifetime is configurable, and the expired entry leaves the cache at its deadline")
    func lifetimeConfigurable() throws {
        let host = try routerKnowingA { $0.arp.entryLifetime = .seconds(10) }
        #expect(host.nextDeadline() == .s(10))
        host.poll(now: .s(10))
        #expect(host.arpCache.allEntries.isEmpty)
        #expect(host.nextDeadline() == nil)
    }

    @Test("an entry used with less than 5 s left is refreshed by a unicast request, as Linux does (icmp-port-unreachable #1)")
    func refreshByUnicastRequest() throws {
        let host = try routerKnowingA()
        let udp = try socket(host)
        try host.udpSend(udp, [1], to: Endpoint(Lab.ipA, 9), now: .s(55))
        #expect(host.sent().count == 1, "exactly 5 s left: no refresh yet")
        try host.udpSend(udp, [2], to: Endpoint(Lab.ipA, 9), now: .s(56))
        let frames = host.sent()
        try #require(frames.count == 2)
        // Linux's re-check of A: a request unicast to the cached MAC, target MAC zero.
        #expect(frames[0] == padded(try captured("icmp-port-unreachable", 1)))
        #expect(try Frame(frames[1]).udp().payload == [2], "the packet itself still leaves at once")
        try host.udpSend(udp, [3], to: Endpoint(Lab.ipA, 9), now: .s(57))
        #expect(host.sent().count == 1, "one refresh request at a time")
        // A's reply (icmp-port-unreachable #2) renews the entry for 60 s from now.
        host.feed(try captured("icmp-port-unreachable", 2), at: .s(57.5))
        #expect(host.arpCache.entry(Lab.ipA, now: .s(57.5))?.state == .complete(expires: .s(117.5)))
        try host.udpSend(udp, [4], to: Endpoint(Lab.ipA, 9), now: .s(100))
        #expect(host.sent().count == 1)
    }

    @Test("assigning an address announces it with a gratuitous ARP request")
    func gratuitousOnAssign() throws {
        let host = makeHost("R", [.r0, .r1], keepAnnouncements: true)
        let expected0: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe, 0x08, 0x06,
                                  0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
                                  0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe, 192, 0, 2, 254,
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 192, 0, 2, 254]
        #expect(host.sent(on: eth0) == [padded(expected0)])
        let announcement = try #require(host.sent(on: eth1).first)
        let packet = try Frame(announcement).arp()
        #expect(packet.isGratuitous)
        #expect(packet.senderIP == Lab.ipR1 && packet.senderMAC == Lab.macR1 && packet.targetMAC == .zero)
    }

    @Test("a host neither answers nor learns its own address from a gratuitous ARP")
    func ownAnnouncementIgnored() throws {
        let host = makeHost("R", [.r0])
        host.feed(Build.arp(.request, senderMAC: Lab.macOther, senderIP: Lab.ipR0, targetIP: Lab.ipR0, to: .broadcast))
        #expect(host.sent().isEmpty)
        #expect(host.arpCache.allEntries.isEmpty)
    }
}

@Suite("ARP cache: bound and on-link learning")
struct ARPBoundTests {
    private func request(from sender: IPv4Address, mac: MACAddress) -> [UInt8] {
        Build.arp(.request, senderMAC: mac, senderIP: sender, targetIP: Lab.ipA, to: .broadcast)
    }

    private func neighbour(_ index: Int) -> (IPv4Address, MACAddress) {
        (IPv4Address(192, 0, 2, UInt8(10 + index)), MACAddress(0x02, 0, 0, 0, 0x0d, UInt8(index)))
    }

    @Test("the cache holds at most maxEntries; new senders evict, never a permanent entry")
    func bounded() throws {
        let host = makeHost("A", [.a]) { $0.arp.maxEntries = 16 }
        host.addStaticARP(Lab.ipR0, mac: Lab.macR0, interface: eth0)
        for index in 0..<40 {
            let (ip, mac) = neighbour(index)
            host.feed(request(from: ip, mac: mac), at: .milliseconds(Int64(index)))
        }
        #expect(host.arpCache.count == 16)
        #expect(host.statistics.arpEvictions == 25)
        #expect(host.arpCache.entry(Lab.ipR0, now: .s(1))?.state == .permanent)
        #expect(host.arpCache.entry(neighbour(39).0, now: .s(1)) != nil, "the newest is kept")
        #expect(host.arpCache.entry(neighbour(0).0, now: .s(1)) == nil, "the oldest went first")
        let report = host.statisticsReport()
        #expect(report.contains("    25 entries evicted\n"))
        #expect(report.contains("    16 entries now\n"))
    }

    @Test("an entry in use outlives unused ones when the cache is full")
    func usedKept() throws {
        let host = makeHost("A", [.a]) { $0.arp.maxEntries = 8 }
        for index in 0..<8 {
            let (ip, mac) = neighbour(index)
            host.feed(request(from: ip, mac: mac), at: .milliseconds(Int64(index)))
        }
        host.drain()
        let socket = host.udpOpen()
        try host.udpSend(socket, [1], to: Endpoint(neighbour(0).0, 9), now: .milliseconds(10))  // uses the oldest
        for index in 8..<12 {
            let (ip, mac) = neighbour(index)
            host.feed(request(from: ip, mac: mac), at: .milliseconds(Int64(index + 10)))
        }
        #expect(host.arpCache.entry(neighbour(0).0, now: .s(1)) != nil)
        #expect(host.arpCache.entry(neighbour(1).0, now: .s(1)) == nil)
        #expect(host.statistics.arpEvictions == 4)
    }

    @Test("a sender outside the interface's networks is not learned, and is counted")
    func offLinkIgnored() throws {
        let host = makeHost("A", [.a])
        let stranger = IPv4Address(203, 0, 113, 9)
        host.feed(request(from: stranger, mac: Lab.macOther))
        #expect(host.arpCache.entry(stranger, now: .zero) == nil)
        #expect(host.arpCache.count == 0)
        #expect(host.statistics.arpOffLinkIgnored == 1)
        #expect(host.statisticsReport().contains("    1 off-link senders ignored\n"))
    }

    @Test("deadlines come from a heap: the next one is the earliest entry's, and expiry removes exactly the due ones")
    func deadlines() throws {
        let host = makeHost("A", [.a])
        for index in 0..<5 {
            let (ip, mac) = neighbour(index)
            host.feed(request(from: ip, mac: mac), at: .s(Double(index)))
        }
        host.drain()
        #expect(host.nextDeadline() == .s(60))
        host.poll(now: .s(62))
        #expect(host.arpCache.count == 2)
        #expect(host.nextDeadline() == .s(63))
    }
}
