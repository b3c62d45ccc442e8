import NetStackWire
public import NetStackCore

/// Two stacks in one process joined back to back, one sending a bulk stream to
/// the other over TCP: the `netstack bench tcp` workload.
///
/// The hosts are joined back to back in memory (one copy per frame, every
/// checksum computed and verified), MTU 1500 by default. The application copies
/// its data into the send buffer and out of the receive buffer. Virtual time advances by `tick` per round, so timers (delayed ACK,
/// RTO) behave as on a fast, lossless wire.
public final class TCPBulkBenchmark {
    public let sender: Host
    public let receiver: Host
    public let mtu: Int
    private var senderFD: Int32 = -1
    private var receiverFD: Int32?
    private let listenerFD: Int32
    private var now = Instant.zero
    private let tick: Duration
    private let chunk: [UInt8]
    private var sink = [UInt8](repeating: 0, count: 256 * 1024)
    public private(set) var bytesSent = 0
    public private(set) var bytesReceived = 0
    public private(set) var framesMoved = 0
    /// With `verifying`: received bytes that differ from what the sender wrote at their offset.
    public private(set) var corruptBytes = 0
    private let verifying: Bool

    /// Two hosts, a listener on the receiver, and a connection established: over IPv4
    /// (192.0.2.1 → 192.0.2.2), or with `ipv6` over IPv6 (2001:db8::1 → 2001:db8::2, the
    /// hosts dual-stack, DAD off, static neighbour entries). `coalescing`: each host glues the
    /// in-order segments of a delivery before TCP input (receive coalescing in the adapter), as the runtime
    /// does for a batch read from a device. `verifying`: every byte read is checked against
    /// the byte written at its offset (``corruptBytes``; a test's check, not the benchmark's).
    public init(mtu: Int = 1500, bufferSize: Int = 256 * 1024, tick: Duration = .microseconds(10),
                congestion: CongestionAlgorithm = .cubic, ipv6: Bool = false, coalescing: Bool = true,
                verifying: Bool = false) throws(NetError) {
        self.mtu = mtu
        self.verifying = verifying
        self.tick = tick
        var tcp = TCPConfig()
        tcp.socketDefaults.sendBufferSize = bufferSize
        tcp.socketDefaults.receiveBufferSize = bufferSize
        tcp.socketDefaults.congestion = congestion
        let hosts = BackToBackHosts(mtu: mtu, tcp: tcp, ipv6: ipv6, coalescing: coalescing)
        sender = hosts.first
        receiver = hosts.second
        chunk = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        listenerFD = receiver.socket(.stream)
        try receiver.bind(listenerFD, to: ipv6 ? Endpoint(IPv6Address.unspecified, 5001) : Endpoint(.any, 5001))
        try receiver.listen(listenerFD, backlog: 1)
        senderFD = sender.socket(.stream)
        let server = ipv6 ? Endpoint(BackToBackHosts.secondAddress6, 5001) : Endpoint(BackToBackHosts.secondAddress, 5001)
        try sender.connect(senderFD, to: server, now: now)
        for _ in 0..<20 where receiverFD == nil { round(sending: false) }
        guard receiverFD != nil else { throw .timedOut }
    }

    /// Moves every queued frame from `from` into `to`'s adapter.
    @inline(__always)
    private func carry(from: Host, to: Host) {
        framesMoved += BackToBackHosts.carry(from: from, to: to, now: now)
    }

    /// One round: the sender's application writes, frames cross, the receiver
    /// reads, the ACKs cross back.
    private func round(sending: Bool, limit: Int = .max) {
        now = now + tick
        if sending && bytesSent < limit {
            chunk.withUnsafeBytes { bytes in
                // Write only while poll() says there is room, as an event-driven application does.
                while bytesSent < limit, (try? sender.poll(senderFD))?.contains(.writable) == true {
                    // The stream is the chunk repeated: each write goes on from where the last one stopped.
                    let start = bytesSent % bytes.count
                    let want = min(bytes.count - start, limit - bytesSent)
                    guard let n = try? sender.send(senderFD, UnsafeRawBufferPointer(rebasing: bytes[start..<(start + want)]), now: now),
                          n > 0 else { break }
                    bytesSent += n
                }
            }
        }
        sender.poll(now: now)
        carry(from: sender, to: receiver)
        receiver.poll(now: now)
        if receiverFD == nil, let (fd, _) = try? receiver.accept(listenerFD) { receiverFD = fd }
        if let fd = receiverFD {
            sink.withUnsafeMutableBytes { buffer in
                while let n = try? receiver.recv(fd, into: buffer, now: now), n > 0 {
                    if verifying { check(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), at: bytesReceived) }
                    bytesReceived += n
                }
            }
        }
        receiver.poll(now: now)
        carry(from: receiver, to: sender)
        sender.poll(now: now)
    }

    /// Counts the bytes of `data`, read at stream offset `offset`, that differ from what was written there.
    private func check(_ data: UnsafeRawBufferPointer, at offset: Int) {
        for (index, byte) in data.enumerated() where byte != chunk[(offset + index) % chunk.count] { corruptBytes += 1 }
    }

    /// Transfers `bytes` more bytes; returns when the receiver has read them all
    /// (or after `maxRounds` rounds, a safety bound).
    public func transfer(_ bytes: Int, maxRounds: Int = 100_000_000) {
        let target = bytesReceived + bytes
        let limit = bytesSent + bytes
        var rounds = 0, progressMark = bytesReceived
        while bytesReceived < target && rounds < maxRounds {
            round(sending: true, limit: limit)
            rounds += 1
            if rounds % 1024 == 0 {
                // No progress for 1024 rounds: stalled on a timer (an RTO, a probe); jump to it.
                if bytesReceived == progressMark, let deadline = sender.nextDeadline(), deadline > now { now = deadline }
                progressMark = bytesReceived
            }
        }
    }

    /// TCP segments each host sent so far.
    public var segments: (sender: Int, receiver: Int) {
        (sender.statistics.tcpOutSegments, receiver.statistics.tcpOutSegments)
    }
}
