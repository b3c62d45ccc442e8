import Foundation
import NetStackCore
import NetStackRuntime
import NetStackTestSupport
import NetStackWire
import Synchronization
import Testing

/// The shared async socket layer on the real-time runtime: connections from the
/// stack to itself (its own address loops back inside the stack), on a TAP device
/// in a namespace the test creates and always deletes. Root only: CI runs as root.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: creates a network namespace and a TAP device"))
struct SocketLayerOverTAPTests {
    typealias Lab = AsyncSocketsOverTAPTests.Lab
    static let own = IPv4Address(192, 0, 2, 2)

    /// A runtime on a fresh lab, stopped (and the lab deleted) after `body`.
    static func withRuntime(_ body: (StackRuntime) async throws -> Void) async throws {
        let lab = try Lab()
        let runtime = try lab.runtime()
        defer {
            runtime.requestStop()
            runtime.waitForStop()
        }
        try await body(runtime)
    }

    /// A connection from the stack to itself on `port`: (client side, server side).
    static func pair(_ runtime: StackRuntime, port: UInt16) async throws -> (TCPStream, TCPStream, TCPListener) {
        let listener = try await runtime.listen(port: port)
        async let accepted = listener.accept()
        let client = try await runtime.connect(to: Endpoint(own, port))
        return (client, try await accepted, listener)
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingABlockedReadAbortsTheConnection() async throws {
        try await Self.withRuntime { runtime in
            let (client, server, listener) = try await Self.pair(runtime, port: 9000)
            let reader = Task { try await client.read() }
            try await Task.sleep(for: .milliseconds(100))
            reader.cancel()
            await #expect(throws: CancellationError.self) { _ = try await reader.value }
            await #expect(throws: NetError.connectionReset) { for try await _ in server.inbound {} }
            await server.close()
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingABlockedAcceptLeavesTheListenerAccepting() async throws {
        try await Self.withRuntime { runtime in
            let listener = try await runtime.listen(port: 9001)
            let blocked = Task { try await listener.accept() }
            try await Task.sleep(for: .milliseconds(100))
            blocked.cancel()
            await #expect(throws: CancellationError.self) { _ = try await blocked.value }
            async let accepted = listener.accept()
            let client = try await runtime.connect(to: Endpoint(Self.own, 9001))
            let server = try await accepted
            #expect(server.remote.ipv4 == Self.own)
            await client.close()
            await server.close()
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aDroppedStreamClosesItsDescriptor() async throws {
        try await Self.withRuntime { runtime in
            let baseline = runtime.withHost { host, _ in host.tcpConnectionInfo().count }
            let listener = try await runtime.listen(port: 9002)
            var fd: Int32 = -1
            var server: TCPStream?
            do {
                async let accepted = listener.accept()
                let client = try await runtime.connect(to: Endpoint(Self.own, 9002))
                fd = client.descriptor
                server = try await accepted
                #expect(runtime.withHost { host, _ in (try? host.poll(fd)) != nil })
            }
            let peer = try #require(server)
            for try await _ in peer.inbound {}  // ends at the FIN the release sent
            #expect(runtime.withHost { host, _ in (try? host.poll(fd)) == nil }, "the descriptor went with the stream")
            await peer.close()
            await listener.close()
            // Both ends closed: once the FINs are acknowledged (bounded wait), no more connections
            // are open than before, TIME_WAIT aside.
            var open = -1
            for _ in 0..<200 {
                open = runtime.withHost { host, _ in
                    host.tcpConnectionInfo().filter { ![.timeWait, .closed].contains($0.state) }.count
                }
                if open == baseline { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(open == baseline)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aWriterBlocksUntilThePeerReads() async throws {
        try await Self.withRuntime { runtime in
            let (client, server, listener) = try await Self.pair(runtime, port: 9003)
            let data = AsyncSocketsOverTAPTests.payload(1 << 20, seed: 7)  // beyond both 256 KiB buffers
            let finished = Atomic<Int>(0)
            let writer = Task {
                try await client.write(data)
                finished.store(1, ordering: .releasing)
                try await client.shutdownWrite()
            }
            // Wait (bounded) until the send buffer is full: the writer is then parked.
            var space = -1
            for _ in 0..<1000 where space != 0 {
                try await Task.sleep(for: .milliseconds(10))
                space = runtime.withHost { host, _ in host.sendSpace(client.descriptor) }
            }
            #expect(space == 0)
            #expect(finished.load(ordering: .acquiring) == 0, "1 MiB cannot fit while nobody reads")
            var received: [UInt8] = []
            for try await chunk in server.inbound { received += chunk }
            try await writer.value
            #expect(finished.load(ordering: .acquiring) == 1)
            #expect(received == data)
            await client.close()
            await server.close()
            await listener.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aUDPDatagramMakesARoundTrip() async throws {
        try await Self.withRuntime { runtime in
            let server = try await runtime.udpSocket(port: 7007)
            async let echoed: Void = {
                let (bytes, source) = try await server.receive()
                try await server.send(bytes.reversed(), to: source)
            }()
            let client = try await runtime.udpSocket()
            try await client.send(Array("ping".utf8), to: Endpoint(Self.own, 7007))
            let (reply, from) = try await client.receive()
            try await echoed
            #expect(reply == Array("gnip".utf8))
            #expect(from == Endpoint(Self.own, 7007))
            await client.close()
            await server.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLookupWaitsForItsAnswerAndCancellingItThrows() async throws {
        try await Self.withRuntime { runtime in
            runtime.withHost { host, _ in
                var config = ResolverConfig()
                config.nameservers = [.v4(IPv4Address(192, 0, 2, 99))]  // nobody there: the query goes unanswered
                config.timeout = .milliseconds(300)
                config.attempts = 1
                config.hosts = ["self.test": [.v4(Self.own)]]
                host.resolverConfig = config
            }
            let clock = ContinuousClock()
            let start = clock.now
            await #expect(throws: ResolverError.self) { _ = try await runtime.resolve("silent.test") }
            #expect(clock.now - start >= .milliseconds(250), "the task waited for the resolver's deadline")
            runtime.withHost { host, _ in host.resolverConfig.timeout = .seconds(30) }
            let lookup = Task { try await runtime.resolve("slow.test") }
            try await Task.sleep(for: .milliseconds(100))
            lookup.cancel()
            await #expect(throws: CancellationError.self) { _ = try await lookup.value }
            // A name from the hosts table, then a connection to it.
            let listener = try await runtime.listen(port: 9004)
            async let accepted = listener.accept()
            let client = try await runtime.connect(to: "self.test", port: 9004)
            let server = try await accepted
            #expect(client.remote == Endpoint(Self.own, 9004))
            await client.close()
            await server.close()
            await listener.close()
        }
    }
}
