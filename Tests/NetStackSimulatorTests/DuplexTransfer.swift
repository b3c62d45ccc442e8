import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackTestSupport

/// A deterministic stream of bytes: the same seed gives the same bytes, produced
/// 8 at a time (so generating 100 MiB costs little next to moving it).
struct ByteStream {
    private var state: UInt64
    private var word: UInt64 = 0
    private var left = 0
    init(seed: UInt64) { state = seed | 1 }

    mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        for i in 0..<buffer.count {
            if left == 0 {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                word = state
                left = 8
            }
            buffer[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            left -= 1
        }
    }
}

/// Two hosts joined by one cable, each sending `bytes` to the other over a single
/// TCP connection at the same time, each hashing what it sent and what it received.
final class DuplexTransfer {
    let simulator: Simulator
    let a: HostNode, b: HostNode
    let cable: Link
    let bytes: Int
    private(set) var sentHash = [SHA256(), SHA256()]
    private(set) var receivedHash = [SHA256(), SHA256()]
    private(set) var sent = [0, 0]
    private(set) var received = [0, 0]
    private(set) var eof = [false, false]
    private(set) var errors: [NetError] = []
    private var fds: [Int32?] = [nil, nil]
    private var streams: [ByteStream]
    private var pending: [[UInt8]] = [[], []]
    private var closed = [false, false]

    init(seed: UInt64, bytes: Int, cable config: LinkConfig, readChunk: Int = 65_536) throws {
        self.bytes = bytes
        simulator = Simulator(seed: seed)
        func host(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.randomSeed = seed &+ UInt64(last)
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last)))
            return host
        }
        let hostA = host("a", 1), hostB = host("b", 2)
        a = HostNode(hostA)
        b = HostNode(hostB)
        streams = [ByteStream(seed: seed &* 31 &+ 1), ByteStream(seed: seed &* 31 &+ 2)]
        var wire = config
        wire.fcs = true
        cable = simulator.connect(a, 0, b, 0, config: wire, name: "a-b")
        hostA.assign(IPv4Address(192, 0, 2, 1), prefixLength: 24, to: InterfaceID(0), now: .zero)
        hostB.assign(IPv4Address(192, 0, 2, 2), prefixLength: 24, to: InterfaceID(0), now: .zero)

        let listener = hostB.socket(.stream)
        try hostB.bind(listener, to: Endpoint(.any, 5001))
        try hostB.listen(listener, backlog: 4)
        let client = hostA.socket(.stream)
        fds[0] = client
        var scratch = [UInt8](repeating: 0, count: readChunk)
        a.applications.append { [unowned self] host, now in pump(0, host, now, &scratch) }
        b.applications.append { [unowned self] host, now in
            if fds[1] == nil, let (fd, _) = try? host.accept(listener) { fds[1] = fd }
            pump(1, host, now, &scratch)
        }
        try hostA.connect(client, to: Endpoint(IPv4Address(192, 0, 2, 2), 5001), now: .zero)
        simulator.kick(a)
    }

    /// One side's application turn: write what fits, read what is there, close when done.
    private func pump(_ side: Int, _ host: Host, _ now: Instant, _ scratch: inout [UInt8]) {
        guard let fd = fds[side] else { return }
        if let error = try? host.takeError(fd), !errors.contains(error) { errors.append(error) }
        while sent[side] < bytes {
            if pending[side].isEmpty {
                pending[side] = [UInt8](repeating: 0, count: min(16_384, bytes - sent[side]))
                pending[side].withUnsafeMutableBytes { streams[side].fill($0) }
            }
            let n = pending[side].withUnsafeBytes { try? host.send(fd, $0, now: now) }
            guard let n, n > 0 else { break }
            pending[side].withUnsafeBytes { sentHash[side].update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            pending[side].removeFirst(n)
            sent[side] += n
        }
        while !eof[side] {
            let n = scratch.withUnsafeMutableBytes { try? host.recv(fd, into: $0, now: now) }
            guard let n else { break }
            if n == 0 { eof[side] = true; break }
            scratch.withUnsafeBytes { receivedHash[side].update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            received[side] += n
        }
        if sent[side] == bytes, !closed[side] {
            closed[side] = true
            try? host.shutdown(fd, .write, now: now)
        }
    }

    /// Runs until both sides have seen the other's end of stream, or `limit` of virtual time.
    func run(limit: Duration) {
        let end = simulator.now + limit
        while !(eof[0] && eof[1]) && simulator.now < end {
            simulator.run(for: .milliseconds(200))
        }
    }

    /// SHA-256 digests: what side `s` sent, and what the other side received from it.
    func digests(from side: Int) -> (sent: [UInt8], received: [UInt8]) {
        var sentCopy = sentHash[side], receivedCopy = receivedHash[1 - side]
        return (sentCopy.finalize(), receivedCopy.finalize())
    }
}
