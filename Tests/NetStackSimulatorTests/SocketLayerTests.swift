import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackTestSupport
import NetStackWire
import Synchronization
import Testing

/// The two-LAN network: stack 0 is the client, stack 3 the server. `limit`: the driver's virtual-time bound.
private func network(limit: Duration = .seconds(3600)) -> AsyncNetwork {
    AsyncNetwork(limit: limit) {
        let net = TwoLANNetwork(seed: 3)
        return (net.simulator, net.hosts)
    }
}

/// Whether `fd` still names a socket on the stack's host.
private func isOpen(_ fd: Int32, on stack: SimulatedStack) async -> Bool {
    await stack.perform { host, _ in (try? host.poll(fd)) != nil }
}

@Suite("The shared async socket layer on a simulated network", .timeLimit(.minutes(2)))
struct SocketLayerTests {
    @Test("cancelling a task blocked in accept throws CancellationError and leaves the listener accepting")
    func cancelledAcceptKeepsListener() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7)
        let blocked = Task { try await listener.accept() }
        try await Task.sleep(for: .milliseconds(50))  // real time: let the task park
        blocked.cancel()
        await #expect(throws: CancellationError.self) { _ = try await blocked.value }
        async let accepted = listener.accept()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
        let peer = try await accepted
        #expect(peer.remote == Endpoint(TwoLANNetwork.clientAddress, try #require(try await connection.localPort())))
        await connection.close()
        await peer.close()
        await listener.close()
    }

    @Test("cancelling a blocked UDP receive throws CancellationError; the socket still receives")
    func cancelledReceive() async throws {
        let network = network()
        let socket = try await network.stack(3).udpSocket(port: 5000)
        let blocked = Task { try await socket.receive() }
        try await Task.sleep(for: .milliseconds(50))
        blocked.cancel()
        await #expect(throws: CancellationError.self) { _ = try await blocked.value }
        let sender = try await network.stack(0).udpSocket()
        try await sender.send(Array("late".utf8), to: Endpoint(TwoLANNetwork.serverAddress, 5000))
        #expect(try await socket.receive().bytes == Array("late".utf8))
    }

    @Test("a TCPStream dropped without close closes its descriptor: the peer reads end of stream", .timeLimit(.minutes(1)))
    func droppedStreamCloses() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7)
        async let accepted = listener.accept()
        var fd: Int32 = -1
        do {
            let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
            fd = connection.descriptor
            try await connection.write(Array("bye".utf8))
            #expect(await isOpen(fd, on: client))
        }
        let peer = try await accepted
        var received: [UInt8] = []
        for try await chunk in peer.inbound { received += chunk }  // ends at the FIN the release sent
        #expect(received == Array("bye".utf8))
        #expect(await isOpen(fd, on: client) == false, "the descriptor went with the stream")
        await peer.close()
    }

    @Test("a writer blocks while the peer does not read, and finishes once it does (backpressure)")
    func writerWaitsForReader() async throws {
        let network = network(limit: .seconds(30 * 86_400))  // zero-window probes go on while the reader waits
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 9)
        async let accepted = listener.accept()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 9))
        let peer = try await accepted
        var stream = ByteStream(seed: 5)
        var data = [UInt8](repeating: 0, count: 1 << 20)  // beyond both buffers (256 KiB each)
        data.withUnsafeMutableBytes { stream.fill($0) }
        let payload = data
        let finished = Flag()
        let writer = Task {
            try await connection.write(payload)
            finished.set()
            try await connection.shutdownWrite()
        }
        // Wait (bounded, in real time) until the send buffer is full: the writer is then parked.
        var space = -1
        for _ in 0..<1000 where space != 0 {
            try await Task.sleep(for: .milliseconds(10))
            space = await client.perform { host, _ in host.sendSpace(connection.descriptor) }
        }
        #expect(space == 0)
        #expect(!finished.isSet, "1 MiB cannot fit while nobody reads")
        var received = 0
        var hash = SHA256()
        for try await chunk in peer.inbound {
            received += chunk.count
            hash.update(chunk)
        }
        try await writer.value
        #expect(finished.isSet)
        #expect(received == data.count)
        #expect(hash.finalize() == { var all = SHA256(); all.update(data); return all.finalize() }())
        await connection.close()
        await peer.close()
    }

    @Test("a UDP datagram goes out and its echo comes back to the sender's port")
    func udpRoundTrip() async throws {
        let network = network()
        let server = try await network.stack(3).udpSocket(port: 7)
        async let echoed: Void = {
            let (bytes, source) = try await server.receive()
            try await server.send(bytes.reversed(), to: source)
        }()
        let client = try await network.stack(0).udpSocket()
        try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
        try await client.send(Array("ping".utf8))
        let (reply, from) = try await client.receive()
        try await echoed
        #expect(reply == Array("gnip".utf8))
        #expect(from == Endpoint(TwoLANNetwork.serverAddress, 7))
        await client.close()
        await server.close()
    }

    @Test("a receive blocked on a connected UDP socket wakes with ECONNREFUSED when the port is closed", .timeLimit(.minutes(1)))
    func udpReceiveWakesOnICMPError() async throws {
        let network = network()
        let client = try await network.stack(0).udpSocket()
        try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 9999))
        let reply = Task { try await client.receive() }
        try await Task.sleep(for: .milliseconds(50))  // real time: let the receive park first
        try await client.send(Array("anyone?".utf8))
        await #expect(throws: NetError.connectionRefused) { _ = try await reply.value }
        await client.close()
    }

    @Test("after a half-close the peer's inbound sequence ends, and it can still answer")
    func halfCloseEndsInbound() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7)
        async let served: Int = {
            let peer = try await listener.accept()
            var count = 0
            for try await chunk in peer.inbound { count += chunk.count }  // ends at the client's FIN
            try await peer.write(Array("got \(count)".utf8))
            await peer.close()
            return count
        }()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
        try await connection.write([UInt8](repeating: 1, count: 10_000))
        try await connection.shutdownWrite()
        var answer: [UInt8] = []
        for try await chunk in connection.inbound { answer += chunk }
        #expect(try await served == 10_000)
        #expect(answer == Array("got 10000".utf8))
        await connection.close()
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

extension TCPStream {
    /// The local port, for checking what the peer saw.
    func localPort() async throws -> UInt16? {
        try await driver.perform { [descriptor] host, _ throws(NetError) in try host.endpoints(descriptor).local?.port }
    }
}
