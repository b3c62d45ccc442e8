// The DHCPv4 client state machine (RFC 2131 §4.4) against a scripted server:
// the four-message exchange, NAK, retransmission timing, T1 renew (unicast),
// T2 rebind (broadcast), expiry, release, and replies that must be ignored.

import NetStackCore
import NetStackWire
import Testing

private let mac = MACAddress(0x02, 0, 0, 0, 0x0d, 0x01)
private let server = IPv4Address(192, 0, 2, 1)
private let leased = IPv4Address(192, 0, 2, 110)

/// A server's reply of `type` to `request`, with dnsmasq's options for a 120 s lease.
private func reply(_ type: DHCPMessageType, to request: DHCPMessage, from id: IPv4Address = server,
                   lease: UInt32 = 120) -> DHCPMessage {
    var message = DHCPMessage(op: DHCPMessage.bootReply, transactionID: request.transactionID, clientMAC: request.clientMAC)
    message.flags = request.flags
    message.messageType = type
    message.serverIdentifier = id
    guard type != .nak else { return message }
    message.yourAddress = leased
    message.leaseTime = lease
    message.renewalTime = lease / 2
    message.rebindingTime = lease * 7 / 8
    message.subnetMask = IPv4Address(255, 255, 255, 0)
    message.routers = [server]
    message.dnsServers = [IPv4Address(192, 0, 2, 53)]
    return message
}

/// The messages among `actions`, with where they go.
private func sent(_ actions: [DHCPClient.Action]) -> [(message: DHCPMessage, to: IPv4Address)] {
    actions.compactMap { if case let .send(message, to) = $0 { (message, to) } else { nil } }
}

private func configured(_ actions: [DHCPClient.Action]) -> DHCPLease? {
    actions.lazy.compactMap { if case let .configure(lease) = $0 { lease } else { nil } }.first
}

private func deconfigured(_ actions: [DHCPClient.Action]) -> Bool {
    actions.contains { if case .deconfigure = $0 { true } else { false } }
}

/// A client taken through DISCOVER, OFFER, REQUEST, ACK at time zero; returns the client and the last REQUEST.
private func boundClient() throws -> DHCPClient {
    var client = DHCPClient(mac: mac, seed: 7)
    let discover = try #require(sent(client.start(now: .zero)).first).message
    let request = try #require(sent(client.receive(reply(.offer, to: discover), now: .zero)).first).message
    _ = client.receive(reply(.ack, to: request), now: .zero)
    // Two ARP probes a second apart, then a second of silence: the address is free.
    _ = client.poll(now: .seconds(1))
    _ = client.poll(now: .seconds(2))
    try #require(client.state == .bound)
    return client
}

@Suite("DHCP client state machine")
struct DHCPClientTests {
    @Test("DISCOVER, OFFER, REQUEST, ACK: broadcasts from INIT, then BOUND with the lease's address, router and DNS")
    func fourMessageExchange() throws {
        var client = DHCPClient(mac: mac, seed: 1, hostName: "netstack")
        let first = sent(client.start(now: .zero))
        let discover = try #require(first.first)
        #expect(first.count == 1)
        #expect(discover.to == .broadcast)
        #expect(discover.message.messageType == .discover)
        #expect(discover.message.op == DHCPMessage.bootRequest)
        #expect(discover.message.broadcast)
        #expect(discover.message.clientAddress == .any)
        #expect(discover.message.clientIdentifier == [1, 2, 0, 0, 0, 0x0d, 1])
        #expect(discover.message.hostName == "netstack")
        #expect(client.state == .selecting)

        let afterOffer = client.receive(reply(.offer, to: discover.message), now: .seconds(1))
        let request = try #require(sent(afterOffer).first)
        #expect(client.state == .requesting)
        #expect(request.to == .broadcast)
        #expect(request.message.messageType == .request)
        #expect(request.message.transactionID == discover.message.transactionID)
        #expect(request.message.requestedAddress == leased)
        #expect(request.message.serverIdentifier == server)
        #expect(request.message.clientAddress == .any)
        #expect(request.message.seconds == 1)

        let afterAck = client.receive(reply(.ack, to: request.message), now: .seconds(1))
        // RFC 2131 §4.4.1: the address is checked with ARP probes before it is used.
        #expect(client.state == .checking && configured(afterAck) == nil)
        #expect(afterAck.contains(.probe(leased)))
        #expect(client.poll(now: .seconds(2)).contains(.probe(leased)))
        let lease = try #require(configured(client.poll(now: .seconds(3))))
        #expect(client.state == .bound)
        #expect(lease.address == leased)
        #expect(lease.prefixLength == 24)
        #expect(lease.routers == [server])
        #expect(lease.dnsServers == [IPv4Address(192, 0, 2, 53)])
        #expect(lease.renewAt == .seconds(61))
        #expect(lease.rebindAt == .seconds(106))
        #expect(lease.expiresAt == .seconds(121))
        #expect(client.nextDeadline == .seconds(61))
    }

    @Test("an address someone answers for during the ARP check is declined, and DISCOVER starts again after 10 s")
    func declinesAddressInUse() throws {
        var client = DHCPClient(mac: mac, seed: 3)
        let discover = try #require(sent(client.start(now: .zero)).first).message
        let request = try #require(sent(client.receive(reply(.offer, to: discover), now: .zero)).first).message
        _ = client.receive(reply(.ack, to: request), now: .zero)
        #expect(client.addressBeingChecked == leased)
        #expect(client.addressConflict(IPv4Address(192, 0, 2, 111), now: .milliseconds(300)).isEmpty)
        let actions = client.addressConflict(leased, now: .milliseconds(500))
        let decline = try #require(sent(actions).first)
        #expect(decline.to == .broadcast && decline.message.messageType == .decline)
        #expect(decline.message.requestedAddress == leased && decline.message.serverIdentifier == server)
        #expect(decline.message.clientAddress == .any)
        #expect(configured(actions) == nil && client.lease == nil && client.state == .selecting)
        #expect(client.poll(now: .seconds(10)).isEmpty)
        let next = sent(client.poll(now: .milliseconds(10_500)))
        #expect(next.first?.message.messageType == .discover)
    }

    @Test("DISCOVER is retransmitted after 4, 8, 16, 32, 64, 64 s, each within ±1 s (RFC 2131 §4.1)")
    func discoverBackoff() throws {
        for seed in [1, 2, 3] as [UInt64] {
            var client = DHCPClient(mac: mac, seed: seed)
            var now = Instant.zero
            let xid = try #require(sent(client.start(now: now)).first).message.transactionID
            for base in [4, 8, 16, 32, 64, 64] as [Int64] {
                let deadline = try #require(client.nextDeadline)
                let delay = deadline.nanoseconds - now.nanoseconds
                #expect((base - 1) * 1_000_000_000 <= delay && delay <= (base + 1) * 1_000_000_000)
                #expect(sent(client.poll(now: deadline - .milliseconds(1))).isEmpty, "nothing before the deadline")
                let again = sent(client.poll(now: deadline))
                #expect(again.count == 1)
                #expect(again.first?.message.messageType == .discover)
                #expect(again.first?.message.transactionID == xid)
                now = deadline
            }
        }
    }

    @Test("a NAK to the REQUEST sends the client back to INIT: a fresh DISCOVER with a new xid")
    func nakRestarts() throws {
        var client = DHCPClient(mac: mac, seed: 2)
        let discover = try #require(sent(client.start(now: .zero)).first).message
        let request = try #require(sent(client.receive(reply(.offer, to: discover), now: .zero)).first).message
        let actions = client.receive(reply(.nak, to: request), now: .seconds(1))
        let restart = try #require(sent(actions).first)
        #expect(actions.contains(.event(.nakReceived(server: server))))
        #expect(restart.message.messageType == .discover)
        #expect(restart.message.transactionID != discover.transactionID)
        #expect(client.state == .selecting)
        #expect(client.lease == nil)
    }

    @Test("replies with another xid, chaddr, op, type or server are ignored and counted")
    func wrongRepliesIgnored() throws {
        var client = DHCPClient(mac: mac, seed: 3)
        let discover = try #require(sent(client.start(now: .zero)).first).message
        var wrongXID = reply(.offer, to: discover)
        wrongXID.transactionID &+= 1
        var wrongMAC = reply(.offer, to: discover)
        wrongMAC.clientMAC = MACAddress(0x02, 0, 0, 0, 0x0d, 0x02)
        var wrongOp = reply(.offer, to: discover)
        wrongOp.op = DHCPMessage.bootRequest
        var noServer = reply(.offer, to: discover)
        noServer.serverIdentifier = nil
        let ackInSelecting = reply(.ack, to: discover)
        for message in [wrongXID, wrongMAC, wrongOp, noServer, ackInSelecting] {
            #expect(sent(client.receive(message, now: .seconds(1))).isEmpty)
        }
        #expect(client.ignoredReplies == 5)
        #expect(client.state == .selecting)
        // An ACK from a server other than the one asked, while REQUESTING.
        let request = try #require(sent(client.receive(reply(.offer, to: discover), now: .seconds(1))).first).message
        #expect(configured(client.receive(reply(.ack, to: request, from: IPv4Address(192, 0, 2, 2)), now: .seconds(1))) == nil)
        #expect(client.ignoredReplies == 6)
        #expect(client.state == .requesting)
    }

    @Test("at T1 the client renews by unicast to its server with ciaddr set; the ACK extends the lease")
    func renewAtT1() throws {
        var client = try boundClient()
        #expect(sent(client.poll(now: .seconds(59))).isEmpty)
        let renew = try #require(sent(client.poll(now: .seconds(60))).first)
        #expect(client.state == .renewing)
        #expect(renew.to == server)
        #expect(renew.message.messageType == .request)
        #expect(renew.message.clientAddress == leased)
        #expect(!renew.message.broadcast)
        #expect(renew.message.requestedAddress == nil)
        #expect(renew.message.serverIdentifier == nil)
        let actions = client.receive(reply(.ack, to: renew.message), now: .seconds(60))
        #expect(client.state == .bound)
        #expect(configured(actions) == nil, "an unchanged lease is not configured again")
        #expect(client.lease?.expiresAt == .seconds(180))
        #expect(client.nextDeadline == .seconds(120))
    }

    @Test("unanswered, the renewal gives way at T2 to a broadcast rebind, and at expiry the address goes")
    func rebindThenExpire() throws {
        var client = try boundClient()
        let renew = try #require(sent(client.poll(now: .seconds(60))).first)
        #expect(renew.to == server)
        // RENEWING retransmits no sooner than 60 s (§4.4.5): capped at T2, 105 s.
        #expect(client.nextDeadline == .seconds(105))
        let rebind = try #require(sent(client.poll(now: .seconds(105))).first)
        #expect(client.state == .rebinding)
        #expect(rebind.to == .broadcast)
        #expect(rebind.message.clientAddress == leased)
        #expect(rebind.message.transactionID != renew.message.transactionID)
        #expect(client.nextDeadline == .seconds(120))
        let expiry = client.poll(now: .seconds(120))
        #expect(expiry.contains(.event(.leaseExpired(address: leased))))
        #expect(deconfigured(expiry))
        #expect(client.lease == nil)
        #expect(client.state == .selecting)
        #expect(sent(expiry).first?.message.messageType == .discover)
    }

    @Test("a rebind ACK from another server is taken, and the lease then renews with that server")
    func rebindAckFromOtherServer() throws {
        var client = try boundClient()
        _ = client.poll(now: .seconds(60))
        let rebind = try #require(sent(client.poll(now: .seconds(105))).first).message
        let other = IPv4Address(192, 0, 2, 2)
        _ = client.receive(reply(.ack, to: rebind, from: other), now: .seconds(106))
        #expect(client.state == .bound)
        #expect(client.lease?.server == other)
    }

    @Test("a NAK while renewing removes the address and starts over")
    func nakWhileRenewing() throws {
        var client = try boundClient()
        let renew = try #require(sent(client.poll(now: .seconds(60))).first).message
        let actions = client.receive(reply(.nak, to: renew), now: .seconds(60))
        #expect(deconfigured(actions))
        #expect(client.state == .selecting)
    }

    @Test("release sends RELEASE by unicast to the server with ciaddr, removes the address, and stops")
    func releaseOnExit() throws {
        var client = try boundClient()
        let actions = client.release(now: .seconds(10))
        let release = try #require(sent(actions).first)
        #expect(release.to == server)
        #expect(release.message.messageType == .release)
        #expect(release.message.clientAddress == leased)
        #expect(release.message.serverIdentifier == server)
        #expect(deconfigured(actions))
        #expect(client.state == .released)
        #expect(client.nextDeadline == nil)
        #expect(client.poll(now: .seconds(100)).isEmpty)
    }

    @Test("four unanswered REQUESTs send the client back to DISCOVER")
    func requestGivesUp() throws {
        var client = DHCPClient(mac: mac, seed: 4)
        let discover = try #require(sent(client.start(now: .zero)).first).message
        _ = client.receive(reply(.offer, to: discover), now: .zero)
        var types: [DHCPMessageType] = []
        for _ in 0..<4 {
            let deadline = try #require(client.nextDeadline)
            types += sent(client.poll(now: deadline)).compactMap(\.message.messageType)
        }
        #expect(types == [.request, .request, .request, .discover])
    }
}
