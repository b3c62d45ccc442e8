// Send- and receive-buffer auto-tuning (issue 10 item 6) on a long fat path:
// 100 Mbit/s with 100 ms of round trip, a bandwidth-delay product of 1.25 MB,
// five times the 256 KiB buffers a connection starts with.

@testable import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackWire
import Testing

/// One host sending a bulk stream to another over a single TCP connection
/// through a 100 Mbit/s link with 50 ms of propagation delay each way.
private final class LongFatTransfer {
    static let linkRate = 100_000_000  // bits per second
    let simulator = Simulator(seed: 1)
    let sender: Host, receiver: Host
    private var senderFD: Int32 = -1
    private(set) var receiverFD: Int32?
    /// Bytes the receiving application has read, and when it had read them.
    private(set) var received = 0
    private var samples: [(time: Instant, received: Int)] = []

    /// `pinned`: SO_SNDBUF and SO_RCVBUF set to 256 KiB on both sockets before the handshake.
    init(pinned: Bool, configure: (inout TCPConfig) -> Void = { _ in }) throws {
        func host(_ name: String, _ last: UInt8) -> Host {
            var config = HostConfig(name: name)
            config.randomSeed = UInt64(last)
            configure(&config.tcp)
            let host = Host(config)
            host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, last)))
            return host
        }
        sender = host("sender", 1)
        receiver = host("receiver", 2)
        let a = HostNode(sender), b = HostNode(receiver)
        _ = simulator.connect(a, 0, b, 0, config: LinkConfig(bitsPerSecond: Self.linkRate,
                                                            propagationDelay: .milliseconds(50)))
        sender.assign(IPv4Address(192, 0, 2, 1), prefixLength: 24, to: InterfaceID(0), now: .zero)
        receiver.assign(IPv4Address(192, 0, 2, 2), prefixLength: 24, to: InterfaceID(0), now: .zero)

        let listener = receiver.socket(.stream)
        if pinned { try receiver.setOption(listener, .receiveBuffer(256 << 10)) }
        try receiver.bind(listener, to: Endpoint(.any, 5001))
        try receiver.listen(listener, backlog: 1)
        senderFD = sender.socket(.stream)
        if pinned { try sender.setOption(senderFD, .sendBuffer(256 << 10)) }
        let chunk = [UInt8](repeating: 0x5a, count: 65_536)
        var sink = [UInt8](repeating: 0, count: 65_536)
        a.applications.append { [unowned self] host, now in
            chunk.withUnsafeBytes { bytes in
                while let n = try? host.send(senderFD, bytes, now: now), n > 0 {}
            }
        }
        b.applications.append { [unowned self] host, now in
            if receiverFD == nil, let (fd, _) = try? host.accept(listener) { receiverFD = fd }
            guard let fd = receiverFD else { return }
            sink.withUnsafeMutableBytes { buffer in
                while let n = try? host.recv(fd, into: buffer, now: now), n > 0 { received += n }
            }
        }
        try sender.connect(senderFD, to: Endpoint(IPv4Address(192, 0, 2, 2), 5001), now: .zero)
        simulator.kick(a)
    }

    /// Runs until `end` (virtual time), noting the bytes read every 100 ms.
    func run(until end: Instant) {
        while simulator.now < end {
            _ = simulator.run(for: .milliseconds(100))
            samples.append((simulator.now, received))
        }
    }

    /// Goodput in bits per second between `start` and the end of the run.
    func goodput(from start: Instant) -> Double {
        guard let first = samples.first(where: { $0.time >= start }), let last = samples.last,
              last.time > first.time else { return 0 }
        let seconds = Double(last.time.nanoseconds - first.time.nanoseconds) / 1e9
        return Double(last.received - first.received) * 8 / seconds
    }

    var senderConnection: TCPConnection? { try? sender.record(senderFD).connection }
    var receiverConnection: TCPConnection? { receiverFD.flatMap { try? receiver.record($0).connection } }
}

@Suite("TCP buffer auto-tuning")
struct AutoTuningTests {
    @Test("a bulk transfer over 100 Mbit/s × 100 ms reaches > 80% of the link with auto-tuning, and far less pinned to 256 KiB")
    func longFatPath() throws {
        let tuned = try LongFatTransfer(pinned: false)
        tuned.run(until: Instant(nanoseconds: 4_000_000_000))
        let pinned = try LongFatTransfer(pinned: true)
        pinned.run(until: Instant(nanoseconds: 4_000_000_000))
        let start = Instant(nanoseconds: 2_000_000_000)
        let rate = Double(LongFatTransfer.linkRate)
        #expect(tuned.goodput(from: start) > 0.8 * rate, "\(tuned.goodput(from: start) / 1e6) Mbit/s")
        // 256 KiB per 100 ms round trip is at most 21 Mbit/s.
        #expect(pinned.goodput(from: start) < 0.25 * rate, "\(pinned.goodput(from: start) / 1e6) Mbit/s")
        let receiver = try #require(tuned.receiverConnection), sender = try #require(tuned.senderConnection)
        #expect(receiver.receiveBuffer.capacity > 1_250_000, "the receive buffer grew past the BDP")
        #expect(receiver.receiveBuffer.capacity <= TCPConfig().receiveBufferMaximum)
        #expect(sender.sendBuffer.capacity > 1_250_000, "the send buffer grew past the BDP")
        #expect(sender.sendBuffer.capacity <= TCPConfig().sendBufferMaximum)
        #expect(sender.pacingRate > 0, "paced, by default")
        // The window scale was chosen for the 6 MiB the buffer may reach: 6 MiB >> 7 fits 16 bits.
        #expect(receiver.rcvScale == 7)
    }

    @Test("SO_RCVBUF and SO_SNDBUF set explicitly stop their growth, and the window scale follows SO_RCVBUF")
    func explicitSizesAreLocked() throws {
        let pinned = try LongFatTransfer(pinned: true)
        pinned.run(until: Instant(nanoseconds: 2_000_000_000))
        let receiver = try #require(pinned.receiverConnection), sender = try #require(pinned.senderConnection)
        #expect(receiver.options.receiveBufferLocked)
        #expect(receiver.receiveBuffer.capacity == 256 << 10)
        #expect(sender.options.sendBufferLocked)
        #expect(sender.sendBuffer.capacity == 256 << 10)
        #expect(receiver.rcvScale == 3, "256 KiB >> 3 fits 16 bits (RFC 7323 §2.3)")
        #expect(pinned.received > 0)
    }

    @Test("pacing off: the same path still reaches > 80% of the link (pacing only spreads the sending)")
    func pacingOffStillFast() throws {
        let transfer = try LongFatTransfer(pinned: false) { $0.pacing = false }
        transfer.run(until: Instant(nanoseconds: 4_000_000_000))
        #expect(transfer.senderConnection?.pacingRate == 0)
        let goodput = transfer.goodput(from: Instant(nanoseconds: 2_000_000_000))
        #expect(goodput > 0.8 * Double(LongFatTransfer.linkRate), "\(goodput / 1e6) Mbit/s")
    }
}
