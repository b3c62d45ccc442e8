import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire
import Synchronization
import Testing

/// The callback device: packets in through `deliver` from any thread, out through a
/// closure on the loop thread with their IP version — a NetworkExtension-style packet flow.
@Suite(.timeLimit(.minutes(1)))
struct CallbackDeviceTests {
    typealias Support = DeviceTestSupport

    @Test func echoRequestsDeliveredFromSeveralThreadsAreAnsweredThroughTheClosure() throws {
        let log = OutputLog()
        let device = try CallbackDevice(mtu: 1500) { packet, version in log.record(packet, version) }
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(device), address: Support.second, prefixLength: 24)))
        defer { Support.stop(runtime) }
        #expect(runtime.device.kind == .tun)
        // Four threads, eight requests each, delivered while the loop runs.
        let threads = (0..<4).map { thread in
            LoopThreadForTest {
                for sequence in 0..<8 {
                    let request = Support.echoRequest(from: Support.first, to: Support.second,
                                                      identifier: UInt16(100 + thread), sequence: UInt16(sequence))
                    device.deliver(request, version: .v4)
                    usleep(200)
                }
            }
        }
        threads.forEach { $0.join() }
        #expect(Support.eventually { log.all.count >= 32 })
        let replies = log.all.compactMap { entry -> ICMPv4Message? in
            #expect(entry.version == .v4)
            return Support.icmp(in: entry.bytes)?.message
        }
        let expected = (0..<4).flatMap { thread in (0..<8).map { ICMPv4Message.echoReply(identifier: UInt16(100 + thread), sequence: UInt16($0)) } }
        #expect(Set(replies.map { "\($0)" }) == Set(expected.map { "\($0)" }))
        #expect(device.statistics.queued == 32 && device.statistics.dropped == 0)
    }

    @Test func aPacketWhoseVersionDiffersFromTheFlowsIsDroppedAndCounted() throws {
        let device = try CallbackDevice { _, _ in }
        var v6 = [UInt8](repeating: 0, count: 40)
        v6[0] = 0x60
        #expect(!device.deliver(v6, version: .v4))
        #expect(device.deliver(v6, version: .v6))
        #expect(device.deliver(v6))
        #expect(!device.deliver([0x10, 0, 0, 0]), "neither 4 nor 6")
        #expect(!device.deliver([UInt8]()))
        #expect(device.deliver(contentsOf: [v6, v6, [0x45]], versions: [.v6, .v4]) == 2)
        #expect(device.statistics == CallbackDevice.Statistics(queued: 4, dropped: 0, malformed: 4, unsentMalformed: 0))
    }

    @Test func aFullInboundQueueDropsAndCounts() throws {
        let device = try CallbackDevice(mtu: 100, capacity: 2) { _, _ in }
        let packet: [UInt8] = [0x45] + [UInt8](repeating: 0, count: 19)
        #expect((0..<5).filter { _ in device.deliver(packet) }.count == 2)
        #expect(!device.deliver([0x45] + [UInt8](repeating: 0, count: 100)), "bigger than the MTU")
        #expect(device.statistics.dropped == 4)
    }

    @Test func twoRuntimesWiredThroughTheirCallbacksExchangeTCPBytes() throws {
        // Each runtime's output is delivered to the other from its loop thread: the deliver side runs on a foreign thread.
        let logA = OutputLog(), logB = OutputLog()
        let peers = Mutex<(a: CallbackDevice?, b: CallbackDevice?)>((nil, nil))
        let deviceA = try CallbackDevice(name: "flowA") { packet, version in
            logA.record(packet, version)
            peers.withLock { $0.b }?.deliver(packet, version: version)
        }
        let deviceB = try CallbackDevice(name: "flowB") { packet, version in
            logB.record(packet, version)
            peers.withLock { $0.a }?.deliver(packet, version: version)
        }
        peers.withLock { $0 = (deviceA, deviceB) }
        defer { peers.withLock { $0 = (nil, nil) } }
        let a = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(deviceA), address: Support.first, prefixLength: 24)))
        let b = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(deviceB), address: Support.second, prefixLength: 24)))
        defer { Support.stop(a, b) }
        #expect(try Support.ping(Support.second, from: a) == [1, 2, 3])
        let data = Support.payload(200_000, seed: 5)
        #expect(try Support.transfer(data, from: a, to: b, at: Support.second) == data)
        let sent = logA.all + logB.all
        #expect(sent.count > 100)
        #expect(sent.allSatisfy { $0.version == .v4 && $0.bytes.first.map { $0 >> 4 } == 4 })
    }
}

/// A thread running one closure, joined by the test (Foundation-free).
final class LoopThreadForTest: @unchecked Sendable {
    // @unchecked: `handle` is written once, before `join`.
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<LoopThreadForTest>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
    }

    func join() { pthread_join(handle, nil) }
}
