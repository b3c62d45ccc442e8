import Glibc
@testable import NetStackRuntime
import Testing

/// The watcher's registrations in an epoll set, seen through epoll_wait: tokens
/// carry the program's tag and the descriptor; an empty interest is silent.
@Suite struct DescriptorWatcherTests {
    /// A non-blocking pipe: (read end, write end).
    func makePipe() -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        return (ends[0], ends[1])
    }

    /// What one non-blocking wait reports.
    func ready(_ epoll: inout Epoll) -> [(token: UInt64, events: DescriptorEvents)] {
        var found: [(UInt64, DescriptorEvents)] = []
        epoll.wait(timeoutNanoseconds: 0) { found.append(($0, DescriptorEvents(epoll: $1))) }
        return found
    }

    @Test("a watched descriptor comes back with the program's tag and its number, only when asked for")
    func tokensAndInterest() throws {
        var epoll = try Epoll()
        let watcher = DescriptorWatcher(epoll: epoll.fd, tag: 3)
        let (reader, writer) = makePipe()
        defer { close(reader); close(writer) }
        try watcher.watch(reader, for: .readable)
        #expect(ready(&epoll).isEmpty, "nothing written yet")
        var byte: UInt8 = 1
        #expect(write(writer, &byte, 1) == 1)
        let events = ready(&epoll)
        #expect(events.count == 1)
        #expect(events.first?.token == (3 << 32 | UInt64(reader)))
        #expect(events.first?.events == .readable)

        try watcher.watch(reader, for: [])
        #expect(ready(&epoll).isEmpty, "an empty interest is out of the epoll set")
        #expect(watcher.interest(reader) == [])
        #expect(watcher.count == 1)

        try watcher.watch(reader, for: .readable)
        #expect(ready(&epoll).count == 1, "watched again: still readable")
        watcher.unwatch(reader)
        #expect(ready(&epoll).isEmpty)
        #expect(watcher.count == 0)
    }

    @Test("a closed descriptor cannot be watched: the epoll_ctl error is thrown")
    func badDescriptor() throws {
        let epoll = try Epoll()
        let watcher = DescriptorWatcher(epoll: epoll.fd, tag: 1)
        #expect(throws: RuntimeError.self) { try watcher.watch(987_654, for: .readable) }
        #expect(watcher.interest(987_654) == nil)
    }
}
