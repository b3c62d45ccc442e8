import Foundation
import NetStackCore
import NetStackRuntime
import NetStackTestSupport
import NetStackWire
import Testing

/// The runtime's async sockets, used from several tasks at once, against the
/// Linux kernel on the other side of a TAP device in a namespace this test
/// creates (and always deletes). Root only: CI runs as root.
@Suite(.serialized, .enabled(if: getuid() == 0, "needs root: creates a network namespace and a TAP device"))
struct AsyncSocketsOverTAPTests {
    /// A namespace with a persistent tap0: kernel side 192.0.2.1/24, NetStack 192.0.2.2/24.
    final class Lab {
        let name = "nsrt-\(getpid())-\(UInt32.random(in: 0...UInt32.max) % 100_000)"

        init() throws {
            try sh("ip netns add \(name)")
            try sh("ip -n \(name) link set lo up")
            try sh("ip netns exec \(name) sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
            try sh("ip -n \(name) tuntap add dev tap0 mode tap")
            try sh("ip -n \(name) addr add 192.0.2.1/24 dev tap0")
            try sh("ip -n \(name) link set tap0 up")
        }

        deinit {
            // Every process started in the namespace goes with it.
            _ = try? sh("ip netns pids \(name) | xargs -r kill -9; ip netns del \(name)")
        }

        /// Starts `command` inside the namespace in the background (detached; killed by deinit).
        func spawn(_ command: String) throws {
            let quoted = command.replacingOccurrences(of: "'", with: "'\\''")
            try sh("ip netns exec \(name) sh -c '\(quoted)' >/dev/null 2>&1 &")
        }

        func runtime() throws -> StackRuntime {
            var configuration = RuntimeConfiguration(deviceName: "tap0", deviceKind: .tap,
                                                     address: IPv4Address(192, 0, 2, 2), prefixLength: 24)
            configuration.namespacePath = "/var/run/netns/\(name)"
            let runtime = try StackRuntime(configuration)
            runtime.runInBackground()
            return runtime
        }
    }

    /// Runs `command` with /bin/sh and waits for it (Glibc's system(): no Foundation
    /// Process, whose waitUntilExit can hang when a background grandchild lives on).
    static func sh(_ command: String) throws {
        let status = system(command)
        guard status == 0 else { throw ShellError(command: command, status: status) }
    }

    struct ShellError: Error { var command: String; var status: Int32 }

    /// Seeded bytes, different per stream.
    static func payload(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: splitMix64(&state)) }
    }

    /// Connects, writes `data`, half-closes and reads everything back.
    static func echo(_ runtime: StackRuntime, _ data: [UInt8]) async throws -> [UInt8] {
        let stream = try await runtime.connect(to: Endpoint(IPv4Address(192, 0, 2, 1), 7000))
        async let written: Void = {
            try await stream.write(data)
            try await stream.shutdownWrite()
        }()
        var received: [UInt8] = []
        while true {
            let chunk = try await stream.read()
            if chunk.isEmpty { break }
            received += chunk
        }
        try await written
        await stream.close()
        return received
    }

    @Test(.timeLimit(.minutes(2)))
    func fourTasksExchangeDataWithAKernelEchoServerAtOnce() async throws {
        let lab = try Lab()
        try lab.spawn("exec python3 -c \"\(Self.echoServer)\"")
        let runtime = try lab.runtime()
        defer {
            runtime.requestStop()
            runtime.waitForStop()
        }
        try await Task.sleep(for: .milliseconds(500))
        let results = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<Self.taskCount {
                group.addTask {
                    let data = Self.payload(Self.payloadSize, seed: UInt64(index + 1))
                    return (index, try await Self.echo(runtime, data) == data)
                }
            }
            var intact: [Int: Bool] = [:]
            for try await (index, ok) in group { intact[index] = ok }
            return intact
        }
        #expect(results == Dictionary(uniqueKeysWithValues: (0..<Self.taskCount).map { ($0, true) }))
    }

    @Test(.timeLimit(.minutes(1)))
    func aKernelClientIsAcceptedAndItsBytesArrive() async throws {
        let lab = try Lab()
        let runtime = try lab.runtime()
        defer {
            runtime.requestStop()
            runtime.waitForStop()
        }
        let listener = try await runtime.listen(port: 8000)
        try lab.spawn("head -c 300000 /dev/urandom > /tmp/\(lab.name).bin && python3 -c \"\(Self.sender(lab.name))\"")
        let stream = try await listener.accept()
        #expect(stream.remote.address == .v4(IPv4Address(192, 0, 2, 1)))
        var received: [UInt8] = []
        while true {
            let chunk = try await stream.read()
            if chunk.isEmpty { break }
            received += chunk
        }
        await stream.close()
        await listener.close()
        let sent = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/tmp/\(lab.name).bin")))
        try? FileManager.default.removeItem(atPath: "/tmp/\(lab.name).bin")
        #expect(received.count == 300_000)
        #expect(received == sent)
    }

    @Test(.timeLimit(.minutes(1)))
    func aClosedPortIsRefused() async throws {
        let lab = try Lab()
        let runtime = try lab.runtime()
        defer {
            runtime.requestStop()
            runtime.waitForStop()
        }
        await #expect(throws: NetError.connectionRefused) {
            _ = try await runtime.connect(to: Endpoint(IPv4Address(192, 0, 2, 1), 9))
        }
    }

    static let taskCount = Int(ProcessInfo.processInfo.environment["NS_TASKS"] ?? "") ?? 4
    static let payloadSize = Int(ProcessInfo.processInfo.environment["NS_BYTES"] ?? "") ?? 1 << 20

    /// A threaded kernel echo server on 192.0.2.1:7000 (python3, standard library only).
    static let echoServer = """
        import socketserver
        class H(socketserver.BaseRequestHandler):
            def handle(self):
                while True:
                    b = self.request.recv(65536)
                    if not b: break
                    self.request.sendall(b)
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer(('192.0.2.1', 7000), H).serve_forever()
        """.replacingOccurrences(of: "\"", with: "\\\"")

    /// Sends a file to NetStack's listener, retrying until the listener is there.
    static func sender(_ name: String) -> String {
        """
        import socket, time
        data = open('/tmp/\(name).bin', 'rb').read()
        for i in range(100):
            try:
                s = socket.create_connection(('192.0.2.2', 8000), timeout=5); break
            except OSError: time.sleep(0.1)
        s.sendall(data); s.close()
        """
    }
}
