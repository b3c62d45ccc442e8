import Glibc
import NetStackCore
import NetStackRuntime
import NetStackWire
import Synchronization

/// Helpers shared by the packet-device tests: hand-made packets, bounded waiting,
/// and a TCP transfer between two runtimes through the stack's BSD-style calls.
enum DeviceTestSupport {
    static let first = IPv4Address(192, 0, 2, 1)
    static let second = IPv4Address(192, 0, 2, 2)

    /// An IPv4 ICMP echo request from `source` to `destination` with `payload` bytes of data.
    static func echoRequest(from source: IPv4Address, to destination: IPv4Address,
                            identifier: UInt16, sequence: UInt16, payload: Int = 32) -> [UInt8] {
        let icmpLength = ICMPv4Header.length + payload
        var packet = [UInt8](repeating: 0, count: IPv4Header.minimumLength + icmpLength)
        packet.withUnsafeMutableBytes { buffer in
            IPv4Header(source: source, destination: destination, protocol: .icmp, payloadLength: icmpLength).emit(into: buffer)
            let icmp = UnsafeMutableRawBufferPointer(rebasing: buffer[IPv4Header.minimumLength...])
            for i in ICMPv4Header.length..<icmp.count { icmp[i] = UInt8(truncatingIfNeeded: i) }
            ICMPv4Header(.echoRequest(identifier: identifier, sequence: sequence)).emit(into: icmp)
        }
        return packet
    }

    /// The ICMP message and addresses of an IPv4 packet, nil when it is not a valid ICMP one.
    static func icmp(in packet: [UInt8]) -> (header: IPv4Header, message: ICMPv4Message)? {
        packet.withUnsafeBytes { bytes in
            guard let header = try? IPv4Header.parse(bytes), header.protocol == .icmp,
                  let icmp = try? ICMPv4Header.parse(UnsafeRawBufferPointer(rebasing: bytes[header.headerLength..<header.totalLength]))
            else { return nil }
            return (header, icmp.message)
        }
    }

    /// Polls `condition` every millisecond until it holds or `seconds` pass; whether it held.
    static func eventually(within seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = MonotonicClock().now() + .milliseconds(Int64(seconds * 1000))
        while MonotonicClock().now() < deadline {
            if try condition() { return true }
            usleep(1000)
        }
        return try condition()
    }

    /// Starts `runtime` on its own thread; call `stop` when done.
    static func start(_ runtime: StackRuntime) -> StackRuntime {
        runtime.runInBackground()
        return runtime
    }

    static func stop(_ runtimes: StackRuntime...) {
        for runtime in runtimes {
            runtime.requestStop()
            runtime.waitForStop()
        }
    }

    /// Pings `destination` from `runtime` `count` times; the sequence numbers answered.
    static func ping(_ destination: IPv4Address, from runtime: StackRuntime, count: Int = 3) throws -> Set<UInt16> {
        let socket = try runtime.withHost { host, _ throws(NetError) in try host.openPing(identifier: 0x4E53) }
        defer { runtime.withHost { host, _ in host.closePing(socket) } }
        var answered: Set<UInt16> = []
        for sequence in 1...UInt16(count) {
            try runtime.withHost { host, now throws(NetError) in try host.ping(socket, to: destination, sequence: sequence, now: now) }
            _ = eventually(within: 3) {
                for case let .reply(from, sequence, _, _, _) in runtime.withHost({ host, _ in host.takePingResults(socket) })
                where from == destination { answered.insert(sequence) }
                return answered.contains(sequence)
            }
        }
        return answered
    }

    /// Seeded bytes.
    static func payload(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: splitMix64(&state)) }
    }

    /// Sends `data` over one TCP connection from `client` to a listener on `server`
    /// (at `address`, port 7000), half-closes, and returns what the server read
    /// before end of stream. Bounded: gives up after 30 s.
    static func transfer(_ data: [UInt8], from client: StackRuntime, to server: StackRuntime, at address: IPv4Address) throws -> [UInt8] {
        let listener = try server.withHost { host, _ throws(NetError) -> Int32 in
            let fd = host.socket(.stream)
            try host.bind(fd, to: Endpoint(.any, 7000))
            try host.listen(fd, backlog: 4)
            return fd
        }
        let socket = try client.withHost { host, now throws(NetError) -> Int32 in
            let fd = host.socket(.stream)
            do throws(NetError) { try host.connect(fd, to: Endpoint(address, 7000), now: now) } catch .wouldBlock {}
            return fd
        }
        var accepted: Int32?
        var sent = 0, shut = false, ended = false
        var received: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)
        defer { buffer.deallocate() }
        let finished = try eventually(within: 30) {
            if accepted == nil {
                accepted = try? server.withHost { host, _ throws(NetError) in try host.accept(listener).descriptor }
            }
            try client.withHost { host, now throws(NetError) in
                guard try host.poll(socket).contains(.writable) else { return }
                while sent < data.count {
                    let count = try? data.withUnsafeBytes { bytes throws(NetError) in
                        try host.send(socket, UnsafeRawBufferPointer(rebasing: bytes[sent...]), now: now)
                    }
                    guard let count, count > 0 else { break }
                    sent += count
                }
                if sent == data.count, !shut {
                    try host.shutdown(socket, .write, now: now)
                    shut = true
                }
            }
            if let accepted {
                try server.withHost { host, now throws(NetError) in
                    while true {
                        let count: Int
                        do throws(NetError) {
                            count = try host.recv(accepted, into: buffer, now: now)
                        } catch .wouldBlock { break }
                        if count == 0 { ended = true; break }
                        received += UnsafeRawBufferPointer(rebasing: buffer[0..<count])
                    }
                }
            }
            return ended
        }
        client.withHost { host, now in try? host.close(socket, now: now) }
        server.withHost { host, now in
            if let accepted { try? host.close(accepted, now: now) }
            try? host.close(listener, now: now)
        }
        return finished ? received : []
    }
}

/// Counts what a callback device's output closure saw, per IP version.
final class OutputLog: Sendable {
    private let packets = Mutex<[(bytes: [UInt8], version: IPVersion)]>([])

    func record(_ packet: UnsafeRawBufferPointer, _ version: IPVersion) {
        let copy = [UInt8](packet)
        packets.withLock { $0.append((copy, version)) }
    }

    var all: [(bytes: [UInt8], version: IPVersion)] { packets.withLock { $0 } }
}
