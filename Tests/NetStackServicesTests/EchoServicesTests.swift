import Testing
import NetStackWire
import NetStackCore
import NetStackSimulator
import NetStackServices

@Suite("Echo and discard services over the simulator")
struct EchoServicesTests {
    @Test("TCP echo returns every byte, then closes after the client's FIN")
    func tcpEcho() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        net.start(echo, on: net.server)
        let data = testBytes(300_000, seed: 1)
        let client = try RawClient(net, port: 7, send: data)
        client.halfCloseWhenSent = true
        #expect(net.run(limit: .seconds(5)) { client.endOfStream })
        #expect(client.received.count == data.count && client.received == data)
        #expect(echo.bytesEchoed == data.count && echo.connectionsAccepted == 1 && echo.connectionsClosed == 1)
        #expect(echo.connectionCount == 0)
    }

    @Test("a client that does not read: the echo stops reading too, holding only bounded data; then all comes back")
    func tcpEchoBackpressure() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        net.start(echo, on: net.server)
        let data = testBytes(3 << 20, seed: 2)
        let client = try RawClient(net, port: 7, send: data)
        client.reading = false
        client.halfCloseWhenSent = true
        net.run(limit: .seconds(1))
        // Echoed so far: the client's receive buffer plus the echo's send buffer, at most.
        #expect(echo.bytesEchoed > 0 && echo.bytesEchoed <= 2 * 256 * 1024 + 16 * 1024)
        let echoedSoFar = echo.bytesEchoed
        net.run(limit: .seconds(1))
        #expect(echo.bytesEchoed == echoedSoFar)
        client.reading = true
        net.simulator.kick(net.client)
        #expect(net.run(limit: .seconds(10)) { client.endOfStream })
        #expect(client.received.count == data.count && sha256(client.received) == sha256(data))
    }

    @Test("several echo connections at once stay separate")
    func tcpEchoConcurrent() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        net.start(echo, on: net.server)
        let clients = try (0..<5).map { i in
            let client = try RawClient(net, port: 7, send: testBytes(20_000 + i, seed: UInt64(i)))
            client.halfCloseWhenSent = true
            return client
        }
        #expect(net.run(limit: .seconds(5)) { clients.allSatisfy(\.endOfStream) })
        for (i, client) in clients.enumerated() {
            #expect(client.received.count == 20_000 + i && client.received == testBytes(20_000 + i, seed: UInt64(i)))
        }
    }

    @Test("TCP discard counts and drops everything, then closes at the client's FIN")
    func tcpDiscard() throws {
        let net = ServiceTestNetwork()
        let discard = try TCPDiscardService(host: net.server.host, port: 9)
        net.start(discard, on: net.server)
        let client = try RawClient(net, port: 9, send: testBytes(1 << 20, seed: 3))
        client.halfCloseWhenSent = true
        #expect(net.run(limit: .seconds(5)) { client.endOfStream })
        #expect(client.received.isEmpty)
        #expect(discard.bytesDiscarded == 1 << 20 && discard.connectionsClosed == 1 && discard.connectionCount == 0)
    }

    @Test("UDP echo sends each datagram back to its sender")
    func udpEcho() throws {
        let net = ServiceTestNetwork()
        let echo = try UDPEchoService(host: net.server.host, port: 7)
        net.start(echo, on: net.server)
        let host = net.client.host
        let socket = host.udpOpen()
        try host.udpBind(socket, port: 40_000)
        let payloads: [[UInt8]] = [Array("one".utf8), [], testBytes(1400, seed: 5), testBytes(4000, seed: 6)]
        for payload in payloads {
            try host.udpSend(socket, payload, to: Endpoint(ServiceTestNetwork.serverAddress, 7), now: net.now)
        }
        net.simulator.kick(net.client)
        net.run(limit: .milliseconds(100))
        var echoed: [UDPDatagram] = []
        while let datagram = host.udpReceive(socket) { echoed.append(datagram) }
        #expect(echoed.map(\.payload) == payloads)
        #expect(echoed.allSatisfy { $0.source == Endpoint(ServiceTestNetwork.serverAddress, 7) })
        #expect(echo.datagramsEchoed == 4 && echo.bytesEchoed == 5403)
    }

    @Test("a port already taken is refused, and stop frees it")
    func portInUse() throws {
        let net = ServiceTestNetwork()
        let echo = try TCPEchoService(host: net.server.host, port: 7)
        #expect(throws: NetError.addressInUse) { try TCPDiscardService(host: net.server.host, port: 7) }
        echo.stop(on: net.server.host, now: net.now)
        _ = try TCPDiscardService(host: net.server.host, port: 7)
        let udp = try UDPEchoService(host: net.server.host, port: 7)
        #expect(throws: NetError.addressInUse) { try UDPEchoService(host: net.server.host, port: 7) }
        udp.stop(on: net.server.host, now: net.now)
        _ = try UDPEchoService(host: net.server.host, port: 7)
    }
}
