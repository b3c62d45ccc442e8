import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire
import Testing

/// `RuntimeConfiguration.busyPoll`: the loop spins (epoll_wait without sleeping) only for the
/// configured time after a frame crossed the device, never when it is zero, and still answers.
/// A seqpacket socket pair adopted as a TUN device stands in for the device (no root).
@Suite(.timeLimit(.minutes(1)))
struct BusyPollTests {
    typealias Support = DeviceTestSupport

    /// A runtime on one end of a socket pair (the test holds the other, with a 5 s read timeout).
    static func runtime(busyPoll: Duration) throws -> (StackRuntime, testEnd: Int32) {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends) == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(ends[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var configuration = RuntimeConfiguration(device: .adopted(fd: ends[0], kind: .tun), address: Support.second, prefixLength: 24)
        configuration.busyPoll = busyPoll
        return (Support.start(try StackRuntime(configuration)), ends[1])
    }

    /// Sends an echo request down `fd` and returns the sequence number of the reply that came back.
    static func ping(_ fd: Int32, sequence: UInt16) -> UInt16? {
        let request = Support.echoRequest(from: Support.first, to: Support.second, identifier: 7, sequence: sequence)
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return nil }
        var reply = [UInt8](repeating: 0, count: 2048)
        let count = reply.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, case .echoReply(7, let answered)? = Support.icmp(in: Array(reply[0..<count]))?.message else { return nil }
        return answered
    }

    @Test func withBusyPollingOffTheLoopNeverSpinsAndStillAnswers() throws {
        let (runtime, testEnd) = try Self.runtime(busyPoll: .zero)
        defer { close(testEnd) }
        defer { Support.stop(runtime) }
        for sequence in 1...3 as ClosedRange<UInt16> { #expect(Self.ping(testEnd, sequence: sequence) == sequence) }
        usleep(20_000)
        #expect(runtime.busyPolls == 0)
    }

    @Test func theLoopSpinsOnlyWithinTheBusyPollTimeAfterTheLastFrameThenSleeps() throws {
        let (runtime, testEnd) = try Self.runtime(busyPoll: .milliseconds(20))
        defer { close(testEnd) }
        defer { Support.stop(runtime) }
        usleep(50_000)
        #expect(runtime.busyPolls == 0, "no frame has crossed yet: nothing to spin for")
        for sequence in 1...3 as ClosedRange<UInt16> { #expect(Self.ping(testEnd, sequence: sequence) == sequence) }
        usleep(100_000)  // well past 20 ms after the last reply
        let spun = runtime.busyPolls
        #expect(spun > 0, "the loop spun after the frames")
        usleep(100_000)
        #expect(runtime.busyPolls == spun, "and stopped spinning 20 ms after the last one")
        #expect(runtime.framesIn == 3 && runtime.framesOut == 3)
    }

    @Test(arguments: [Duration.microseconds(-1), .seconds(1) + .nanoseconds(1)])
    func aBusyPollTimeOutsideZeroToOneSecondIsRefusedInOneLine(busyPoll: Duration) throws {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        var configuration = RuntimeConfiguration(device: .adopted(fd: ends[0], kind: .tun), address: Support.second, prefixLength: 24)
        configuration.busyPoll = busyPoll
        do {
            _ = try StackRuntime(configuration)
            Issue.record("\(busyPoll) was accepted")
        } catch {
            #expect(error.description.hasPrefix("bad busy-poll time "))
            #expect(error.description.hasSuffix(": zero to one second"))
        }
    }
}
