import Glibc
import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackTestSupport

/// The two-LAN network under an AsyncNetwork: stack 0 is the client, stack 3 the server.
private func network(seed: UInt64 = 1, cable: LinkConfig = .fastEthernet) -> AsyncNetwork {
    AsyncNetwork {
        let net = TwoLANNetwork(seed: seed, cable: cable)
        return (net.simulator, net.hosts)
    }
}

@Suite("The socket library over Swift concurrency")
struct AsyncSocketTests {
    @Test("connect and accept are async; an echo round trip returns the same bytes")
    func echoRoundTrip() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7)
        async let served: Void = {
            let connection = try await listener.accept()
            for try await chunk in connection.inbound { try await connection.write(chunk) }
            await connection.close()
        }()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
        #expect(await connection.state() == .established)
        let message = Array("hello over async TCP".utf8)
        try await connection.write(message)
        var echoed: [UInt8] = []
        while echoed.count < message.count { echoed += try await connection.read() }
        #expect(echoed == message)
        try await connection.shutdownWrite()
        #expect(try await connection.read().isEmpty, "the server closed after our FIN")
        try await served
        await connection.close()
    }

    @Test("a task held off its thread between two socket calls still acts at the same virtual instant")
    func preemptedTaskActsOnTime() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7000)
        async let served: Void = {
            let connection = try await listener.accept()
            _ = try await connection.read()
            try await connection.write(Array("ok\n".utf8))
            // The thread blocked 4 ms between the write and the close, as the OS preempting it on
            // a loaded machine would: the driver must not jump virtual time past the close meanwhile.
            usleep(4_000)
            await connection.close()
        }()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7000))
        try await connection.write(Array("hi\n".utf8))
        var reply: [UInt8] = []
        for try await chunk in connection.inbound { reply += chunk }
        let answered = await network.now
        #expect(reply == Array("ok\n".utf8))
        #expect(answered < .seconds(1), "the end of the reply came at \(answered) of virtual time")
        try await served
        await connection.close()
        await listener.close()
    }

    @Test("a 2 MiB write through a lossy path waits for send-buffer room and arrives intact (SHA-256)")
    func backpressuredTransfer() async throws {
        let lossy = LinkConfig(bitsPerSecond: 100_000_000, propagationDelay: .microseconds(100), loss: 0.02, fcs: true)
        let network = network(seed: 4, cable: lossy)
        let client = network.stack(0), server = network.stack(3)
        var stream = ByteStream(seed: 9)
        var data = [UInt8](repeating: 0, count: 2 << 20)
        data.withUnsafeMutableBytes { stream.fill($0) }
        let expected = SHA256.hex(data)
        let listener = try await server.listen(port: 9)
        async let received: String = {
            let connection = try await listener.accept()
            var hash = SHA256()
            var total = 0
            for try await chunk in connection.inbound {
                hash.update(chunk)
                total += chunk.count
            }
            await connection.close()
            #expect(total == 2 << 20)
            return hash.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 9))
        try await connection.write(data)  // far more than the 256 KiB send buffer: must wait for ACKs
        await connection.close()
        #expect(try await received == expected)
    }

    @Test("connecting to a closed port throws ECONNREFUSED")
    func refused() async throws {
        let network = network()
        await #expect(throws: NetError.connectionRefused) {
            _ = try await network.stack(0).connect(to: Endpoint(TwoLANNetwork.serverAddress, 81))
        }
    }

    @Test("cancelling a task blocked in a read aborts the connection: the peer sees a reset")
    func cancellationAborts() async throws {
        let network = network()
        let client = network.stack(0), server = network.stack(3)
        let listener = try await server.listen(port: 7)
        async let accepted = listener.accept()
        let connection = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7))
        let peer = try await accepted
        let reader = Task { try await connection.read() }
        try await Task.sleep(for: .milliseconds(50))  // real time: let the reader block
        reader.cancel()
        await #expect(throws: CancellationError.self) { _ = try await reader.value }
        await #expect(throws: NetError.connectionReset) {
            for try await _ in peer.inbound {}
        }
    }
}
