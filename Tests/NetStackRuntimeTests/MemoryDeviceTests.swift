import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire
import Testing

/// The in-memory pair: a link between two ends in one process, no root needed.
@Suite(.timeLimit(.minutes(1)))
struct MemoryDeviceTests {
    typealias Support = DeviceTestSupport

    @Test func framesWrittenOnOneEndAreReadOnTheOtherInOrder() throws {
        let (a, b) = try MemoryDevice.pair(kind: .tun)
        #expect(a.write([0x45, 1, 2]))
        #expect(a.write([0x45, 3]))
        #expect(b.write([0x45, 9]))
        #expect(b.read() == [0x45, 1, 2])
        #expect(b.read() == [0x45, 3])
        #expect(b.read() == nil)
        #expect(a.read() == [0x45, 9])
    }

    @Test func tasksParkedOnARuntimeFailWhenItStopsAndLaterCallsFailAtOnce() async throws {
        let (a, _) = try MemoryDevice.pair(kind: .tun)
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(a), address: Support.second,
                                                                           prefixLength: 24)))
        let listener = try await runtime.listen(port: 7)
        let blocked = Task { try await listener.accept() }
        try await Task.sleep(for: .milliseconds(100))  // real time: let the task park
        runtime.requestStop()
        runtime.waitForStop()
        await #expect(throws: RuntimeError.self) { _ = try await blocked.value }
        await #expect(throws: RuntimeError.self) { _ = try await listener.accept() }
    }

    @Test func aFullQueueDropsAndCountsInsteadOfGrowing() throws {
        let (a, b) = try MemoryDevice.pair(kind: .tun, mtu: 100, capacity: 4)
        let accepted = (0..<7).filter { a.write([UInt8(0x40 | $0)]) }.count
        #expect(accepted == 4)
        #expect(b.dropped == 3)
        #expect(b.waiting == 4)
        #expect(!a.write([UInt8](repeating: 0x45, count: 101)), "bigger than the MTU")
        #expect(!a.write([]), "empty")
        #expect(b.oversized == 2)
        #expect((0..<5).compactMap { _ in b.read()?.first } == [0x40, 0x41, 0x42, 0x43])
    }

    @Test func theReadinessDescriptorIsReadableExactlyWhileFramesWait() throws {
        let (a, b) = try MemoryDevice.pair(kind: .tap)
        func readable() -> Bool {
            var entry = pollfd(fd: b.fd, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 0) == 1
        }
        #expect(!readable())
        a.write([UInt8](repeating: 1, count: 60))
        a.write([UInt8](repeating: 2, count: 60))
        #expect(readable())
        _ = b.read()
        _ = b.read()
        #expect(b.read() == nil)
        #expect(!readable(), "found empty: the eventfd is cleared")
    }

    @Test func aRuntimeOnOneEndAnswersAnEchoRequestWrittenOnTheOther() throws {
        let (stackEnd, testEnd) = try MemoryDevice.pair(kind: .tun)
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(stackEnd), address: Support.second, prefixLength: 24)))
        defer { Support.stop(runtime) }
        #expect(runtime.device.name == "mem0")
        testEnd.write(Support.echoRequest(from: Support.first, to: Support.second, identifier: 7, sequence: 1))
        var reply: [UInt8]?
        _ = Support.eventually { reply = testEnd.read(); return reply != nil }
        let parsed = try #require(reply.flatMap(Support.icmp(in:)))
        #expect(parsed.header.source == Support.second && parsed.header.destination == Support.first)
        #expect(parsed.message == .echoReply(identifier: 7, sequence: 1))
    }

    @Test func twoRuntimesOnATAPPairPingAndExchangeTCPBytes() throws {
        let (left, right) = try MemoryDevice.pair(kind: .tap)
        let a = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(left), address: Support.first, prefixLength: 24)))
        let b = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(right), address: Support.second, prefixLength: 24)))
        defer { Support.stop(a, b) }
        #expect(try Support.ping(Support.second, from: a) == [1, 2, 3])
        let data = Support.payload(300_000, seed: 11)
        #expect(try Support.transfer(data, from: a, to: b, at: Support.second) == data)
        #expect(left.dropped == 0 && right.dropped == 0)
    }
}
