import Glibc
@testable import NetStackRuntime
import Testing

@Suite struct ControlSocketTests {
    func temporaryPath() -> String { "/tmp/netstack-control-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock" }

    @Test func aRequestGetsTheAnswerForItsLine() throws {
        let path = temporaryPath()
        let server = try ControlServer(path: path)
        // The client blocks in read until the server answers; serve from another thread.
        let thread = Thread {
            var tries = 0
            while tries < 5000, server.serve({ request in "you asked: \(request)\n" }) == 0 {
                tries += 1
                usleep(1000)
            }
        }
        thread.start()
        let answer = try controlRequest(path: path, "route")
        thread.join()
        #expect(answer == "you asked: route\n")
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
