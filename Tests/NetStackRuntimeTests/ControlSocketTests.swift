import Glibc
@testable import NetStackRuntime
import NetStackCore
import Testing

@Suite struct ControlSocketTests {
    func temporaryPath() -> String { "/tmp/netstack-control-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }

    /// Serves on this thread until `done` (at most 5 s of real time), with `now` from the monotonic clock.
    func serve(_ server: ControlServer, until done: () -> Bool) {
        let clock = MonotonicClock()
        for _ in 0..<5000 where !done() {
            server.serve(now: clock.now()) { ControlProtocol.answer($0) { "table \($0.rawValue)\n" } }
            usleep(1000)
        }
    }

    /// A connected client socket, non-blocking, that has sent `bytes`.
    func connectClient(_ path: String, sending bytes: [UInt8] = []) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
        return fd
    }

    /// What a non-blocking client has received so far, and whether the server closed.
    func received(_ fd: Int32) -> (text: String, closed: Bool) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count > 0 { bytes += buffer[0..<count]; continue }
            // A server that closes with the client's excess bytes unread resets the connection.
            return (String(decoding: bytes, as: UTF8.self), count == 0 || errno == ECONNRESET)
        }
    }

    @Test func aRequestGetsTheAnswerForItsLine() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        // The client blocks in read until the server answers; it runs on another thread.
        nonisolated(unsafe) var answer = ""
        let thread = Thread { answer = (try? controlRequest(path: path, "netstat --statistics")) ?? "failed" }
        thread.start()
        serve(server) { server.answered == 1 }
        thread.join()
        #expect(answer == "table netstat -s\n")
    }

    @Test func theSocketFileIsOwnerOnlyWhateverTheUmask() throws {
        let path = temporaryPath()
        let old = umask(0)
        let server = try ControlServer(path: path)
        umask(old)
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        _ = server
    }

    @Test func aSilentClientNeitherBlocksTheServerNorHoldsItPastItsDeadline() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        let silent = connectClient(path)
        defer { close(silent) }
        let clock = MonotonicClock()
        let start = clock.now()
        server.serve(now: start) { _ in "never asked\n" }
        server.serve(now: start) { _ in "never asked\n" }
        #expect(clock.now() - start < .milliseconds(50), "serve must not wait for a client")
        #expect(server.clientCount == 1)
        // Another client is answered while the silent one is still connected.
        let asking = connectClient(path, sending: Array("route\n".utf8))
        defer { close(asking) }
        serve(server) { server.answered == 1 }
        #expect(received(asking) == ("table route\n", true))
        // Past the per-request bound the silent client is cut off.
        #expect(server.nextDeadline != nil)
        server.serve(now: clock.now() + server.requestTimeout + .milliseconds(1)) { _ in "" }
        #expect(server.timedOut == 1 && server.clientCount == 0)
        #expect(received(silent).closed)
    }

    @Test func anOverlongRequestGetsOneErrorLine() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        let client = connectClient(path, sending: [UInt8](repeating: UInt8(ascii: "a"), count: 1000))
        defer { close(client) }
        serve(server) { server.answered == 1 }
        let answer = received(client)
        #expect(answer.text.hasPrefix("error: request longer than 256 bytes"))
        #expect(answer.text.filter { $0 == "\n" }.count == 1 && answer.closed)
    }

    @Test func runningOutOfDescriptorsPausesTheListenerInsteadOfSpinning() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        var calls = 0
        server.acceptCall = { _ in
            calls += 1
            errno = EMFILE
            return -1
        }
        let client = connectClient(path, sending: Array("arp\n".utf8))
        defer { close(client) }
        let now = Instant(nanoseconds: 1_000_000_000)
        server.serve(now: now) { _ in "" }
        #expect(calls == 1 && server.acceptFailures == 1)
        #expect(server.nextDeadline == now + server.acceptPause)
        // The connection still waits, but the listener is not watched: no accept, and the set is not ready.
        for _ in 0..<100 { server.serve(now: now + .milliseconds(10)) { _ in "" } }
        #expect(calls == 1)
        var probe = pollfd(fd: server.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&probe, 1, 0) == 0, "the server's epoll set must not be ready during the pause")
        // After the pause, with descriptors again, the waiting client is served.
        server.acceptCall = ControlServer.systemAccept
        server.serve(now: now + server.acceptPause) { ControlProtocol.answer($0) { "table \($0.rawValue)\n" } }
        serve(server) { server.answered == 1 }
        #expect(received(client) == ("table arp\n", true))
    }

    @Test func clientsBeyondTheLimitAreClosedAtOnce() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        server.maxClients = 1
        let first = connectClient(path)
        let second = connectClient(path)
        defer { close(first); close(second) }
        server.serve(now: Instant(nanoseconds: 0)) { _ in "" }
        #expect(server.clientCount == 1 && server.refused == 1)
    }

    @Test func noServerIsOneLineNamingThePath() {
        let path = temporaryPath()
        do {
            _ = try controlRequest(path: path, "arp")
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains(path))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func aStaleSocketFileIsReplacedButARegularFileIsNot() throws {
        let path = temporaryPath()
        do { _ = try ControlServer(path: path) }  // leaves nothing behind (deinit unlinks)
        #expect(access(path, F_OK) != 0)
        let fd = open(path, O_CREAT | O_WRONLY, 0o600)
        close(fd)
        defer { unlink(path) }
        #expect(throws: RuntimeError.self) { try ControlServer(path: path) }
    }
}

/// A minimal pthread wrapper so the test needs no Foundation.
final class Thread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<Thread>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, box)
    }
    func join() { pthread_join(handle, nil) }
}

