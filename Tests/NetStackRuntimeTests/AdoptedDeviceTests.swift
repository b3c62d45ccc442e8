import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire
import Testing

/// Adopting a descriptor someone else opened: a packet socket (no root) and a
/// TUN descriptor in a namespace the test creates (root), and the one-line refusals.
@Suite(.timeLimit(.minutes(1)))
struct AdoptedDeviceTests {
    typealias Support = DeviceTestSupport

    /// The error `body` throws, else nil.
    static func refusal(_ body: () throws(RuntimeError) -> AdoptedDevice) -> String? {
        do { _ = try body() } catch { return error.description }
        return nil
    }

    @Test func aClosedDescriptorIsRefusedInOneLine() throws {
        let fd = open("/dev/null", O_RDWR)
        close(fd)
        let message = try #require(Self.refusal { () throws(RuntimeError) in try AdoptedDevice(adopting: fd, kind: .tun) })
        #expect(message == "descriptor \(fd) is not open")
        #expect(throws: RuntimeError.self) {
            try StackRuntime(RuntimeConfiguration(device: .adopted(fd: fd, kind: .tun), address: Support.second, prefixLength: 24))
        }
    }

    @Test func descriptorsThatCannotCarryFramesAreRefusedAndLeftOpen() throws {
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        var stream: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &stream) == 0)
        let readOnly = open("/dev/null", O_RDONLY)
        let notTun = open("/dev/null", O_RDWR)
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { (pipeEnds + stream + [readOnly, notTun, udp]).forEach { close($0) } }
        let cases: [(Int32, String)] = [
            (pipeEnds[0], "is not open for reading and writing"),
            (readOnly, "is not open for reading and writing"),
            (stream[0], "is a stream socket: frames need a datagram or seqpacket socket"),
            (udp, "is a network socket: frames need a local (AF_UNIX) socket"),
            (notTun, "is a character device but not a TUN/TAP descriptor"),
        ]
        for (fd, reason) in cases {
            let message = try #require(Self.refusal { () throws(RuntimeError) in try AdoptedDevice(adopting: fd, kind: .tun) })
            #expect(message == "descriptor \(fd) \(reason)")
            #expect(!message.contains("\n"))
            #expect(fcntl(fd, F_GETFD) >= 0, "a refused descriptor stays the caller's")
        }
    }

    @Test func anAdoptedSeqpacketSocketCarriesPingsAndItsPeerClosingEndsTheRun() throws {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends) == 0)
        let (stackEnd, testEnd) = (ends[0], ends[1])
        var closed = false
        defer { if !closed { close(testEnd) } }
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .adopted(fd: stackEnd, kind: .tun),
                                                                           address: Support.second, prefixLength: 24)))
        defer { Support.stop(runtime) }
        #expect(runtime.device.name == "fd \(stackEnd)" && runtime.device.fd == stackEnd && runtime.device.mtu == 1500)
        #expect(fcntl(stackEnd, F_GETFL) & O_NONBLOCK != 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(testEnd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        for sequence in 1...3 as ClosedRange<UInt16> {
            let request = Support.echoRequest(from: Support.first, to: Support.second, identifier: 9, sequence: sequence)
            #expect(request.withUnsafeBytes { write(testEnd, $0.baseAddress, $0.count) } == request.count)
            var reply = [UInt8](repeating: 0, count: 2048)
            let count = reply.withUnsafeMutableBytes { read(testEnd, $0.baseAddress, $0.count) }
            #expect(count > 0)
            #expect(Support.icmp(in: Array(reply[0..<max(0, count)]))?.message == .echoReply(identifier: 9, sequence: sequence))
        }
        close(testEnd)
        closed = true
        runtime.waitForStop()
        let failure = try #require(runtime.failure)
        #expect(failure.description.hasPrefix("TUN device fd \(stackEnd) "))
    }

    @Test func anEmptyDatagramOnAnAdoptedDatagramSocketIsDroppedNotTheEndOfTheDevice() throws {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &ends) == 0)
        let (stackEnd, testEnd) = (ends[0], ends[1])
        defer { close(testEnd) }
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .adopted(fd: stackEnd, kind: .tun),
                                                                           address: Support.second, prefixLength: 24)))
        defer { Support.stop(runtime) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(testEnd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        for _ in 0..<3 { #expect(write(testEnd, "", 0) == 0) }
        let request = Support.echoRequest(from: Support.first, to: Support.second, identifier: 4, sequence: 1)
        #expect(request.withUnsafeBytes { write(testEnd, $0.baseAddress, $0.count) } == request.count)
        var reply = [UInt8](repeating: 0, count: 2048)
        let count = reply.withUnsafeMutableBytes { read(testEnd, $0.baseAddress, $0.count) }
        #expect(count > 0)
        #expect(Support.icmp(in: Array(reply[0..<max(0, count)]))?.message == .echoReply(identifier: 4, sequence: 1))
        #expect(runtime.failure == nil)
    }

    @Test func twoRuntimesOnTheEndsOfADatagramSocketPairAdoptedAsTAPPingAcrossARP() throws {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &ends) == 0)
        var left = RuntimeConfiguration(device: .adopted(fd: ends[0], kind: .tap), address: Support.first, prefixLength: 24)
        left.mtu = 1400
        let a = Support.start(try StackRuntime(left))
        let b = Support.start(try StackRuntime(RuntimeConfiguration(device: .adopted(fd: ends[1], kind: .tap),
                                                                     address: Support.second, prefixLength: 24)))
        defer { Support.stop(a, b) }
        #expect(a.device.kind == .tap && a.device.mtu == 1400 && b.device.mtu == 1500)
        #expect(try Support.ping(Support.second, from: a) == [1, 2, 3])
        let arp = b.withHost { host, now in host.arpTable(now: now) }
        #expect(arp.contains("192.0.2.1"), "b learned a's MAC with ARP: \(arp)")
    }
}

/// A TUN descriptor opened in a namespace this test creates (and always deletes),
/// handed to the runtime as a bare descriptor; the kernel there pings the stack.
@Suite(.serialized, .timeLimit(.minutes(1)), .enabled(if: getuid() == 0, "needs root: creates a network namespace and a TUN device"))
struct AdoptedTUNDeviceTests {
    typealias Support = DeviceTestSupport

    /// A namespace with a persistent tun0 (MTU 1400): kernel side 192.0.2.1/24.
    final class Lab {
        let name = "nsdev-\(getpid())-\(UInt32.random(in: 0...UInt32.max) % 100_000)"
        var path: String { "/var/run/netns/\(name)" }

        init() throws {
            do {
                try Self.sh("ip netns add \(name)")
                try Self.sh("ip -n \(name) link set lo up")
                try Self.sh("ip -n \(name) tuntap add dev tun0 mode tun")
                try Self.sh("ip -n \(name) link set tun0 mtu 1400")
                try Self.sh("ip -n \(name) addr add 192.0.2.1/24 dev tun0")
                try Self.sh("ip -n \(name) link set tun0 up")
            } catch {
                _ = system("ip netns del \(name) 2>/dev/null")
                throw error
            }
        }

        deinit { _ = system("ip netns pids \(name) | xargs -r kill -9; ip netns del \(name)") }

        /// A bare descriptor for tun0, as another process would hand it over: opened, then duplicated.
        func tunDescriptor() throws -> Int32 {
            let device = try TunTapDevice(name: "tun0", kind: .tun, namespacePath: path)
            return dup(device.fd)
        }

        static func sh(_ command: String) throws {
            let status = system(command)
            guard status == 0 else { throw AsyncSocketsOverTAPTests.ShellError(command: command, status: status) }
        }
    }

    @Test func anAdoptedTUNDescriptorFromAnotherNamespaceIsPingedByTheKernel() throws {
        let lab = try Lab()
        let fd = try lab.tunDescriptor()
        #expect(fd >= 0)
        let runtime = Support.start(try StackRuntime(RuntimeConfiguration(device: .adopted(fd: fd, kind: .tun),
                                                                           address: Support.second, prefixLength: 24)))
        defer { Support.stop(runtime) }
        // The name and MTU come from the device in its own namespace, where this process is not.
        #expect(runtime.device.name == "tun0" && runtime.device.mtu == 1400)
        #expect(system("ip netns exec \(lab.name) ping -c 3 -i 0.2 -W 2 -q 192.0.2.2 >/dev/null") == 0)
    }

    @Test func aTUNDescriptorAdoptedAsTAPIsRefusedNamingTheDevice() throws {
        let lab = try Lab()
        let fd = try lab.tunDescriptor()
        defer { close(fd) }
        let message = try #require(AdoptedDeviceTests.refusal { () throws(RuntimeError) in try AdoptedDevice(adopting: fd, kind: .tap) })
        #expect(message == "descriptor \(fd) is the TUN device tun0, not a TAP device")
    }
}
