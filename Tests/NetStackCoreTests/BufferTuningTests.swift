// Send- and receive-buffer auto-tuning on one TCPConnection, driven directly:
// Linux's tcp_sndbuf_expand (about 2 × cwnd) and tcp_rcv_space_adjust (DRS),
// the SO_SNDBUF/SO_RCVBUF locks, and memory pressure.

@testable import NetStackCore
import NetStackWire
import Testing

/// An established connection with a 1460-byte MSS, sharing `memory`.
private func connection(config: TCPConfig = TCPConfig(), options: TCPSocketOptions = TCPSocketOptions(),
                        memory: TCPBufferMemory = TCPBufferMemory()) -> TCPConnection {
    let connection = TCPConnection(id: 1, local: Endpoint(IPv4Address(192, 0, 2, 1), 40000),
                                   remote: Endpoint(IPv4Address(192, 0, 2, 2), 80), options: options,
                                   config: config, passive: false, now: .zero, memory: memory)
    connection.state = .established
    connection.synAcknowledged = true
    connection.announcedMSS = 1460
    connection.sendMSS = 1460
    connection.congestion = CongestionControl(.cubic, mss: 1460, now: .zero)
    return connection
}

/// Grows cwnd by slow start to at least `bytes`.
private func growWindow(_ connection: TCPConnection, to bytes: Int) {
    while connection.congestion.cwnd < bytes {
        connection.congestion.onAck(newlyAcked: 2920, flightSize: connection.congestion.cwnd, rtt: nil, now: .zero)
    }
}

/// The application writes more than the send buffer holds (so it finds it full);
/// the peer advertises `peerWindow`.
private func fillSendBuffer(_ connection: TCPConnection, peerWindow: Int) {
    let bytes = [UInt8](repeating: 0x5a, count: connection.sendBuffer.freeSpace + 1)
    _ = bytes.withUnsafeBytes { try? connection.send($0, now: .zero) }
    connection.sndWnd = peerWindow
}

/// Lets the application read `bytes` at `now` (they are counted as read; the buffer is not involved).
private func read(_ connection: TCPConnection, _ bytes: Int, at milliseconds: Int64) {
    connection.noteApplicationRead(bytes, now: Instant(nanoseconds: milliseconds * 1_000_000))
}

@Suite("TCP buffer auto-tuning (one connection)")
struct BufferTuningTests {
    @Test("the send buffer grows to 2 × cwnd, at most sendBufferMaximum, when the path's BDP is larger")
    func sendBufferFollowsWindow() {
        let c = connection()
        fillSendBuffer(c, peerWindow: 8 << 20)
        c.maximumDeliveryRate = 1_250_000_000  // 10 Gbit/s × 10 ms: a BDP of 12.5 MB
        c.minRTTNanoseconds = 10_000_000
        growWindow(c, to: 400_000)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 2 * c.congestion.cwnd)
        c.sendBufferFilled = true
        growWindow(c, to: 3_000_000)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 4 << 20)
    }

    // 1 Gbit/s × 2 ms: the largest BDP measured is 125 000 000 × 0.002 = 250 000 bytes,
    // so the buffer may hold 500 000 however far cwnd has grown past it.
    @Test("the send buffer grows only when the application filled it and the peer's window allows more, up to 2 × the BDP measured")
    func sendBufferGrowthRule() {
        let c = connection()
        growWindow(c, to: 1_000_000)
        c.minRTTNanoseconds = 2_000_000
        fillSendBuffer(c, peerWindow: 1 << 20)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 256 << 10, "no rate sample yet: no bound, no growth")
        c.maximumDeliveryRate = 125_000_000
        c.sndWnd = 256 << 10
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 256 << 10, "the peer's window takes no more than the buffer holds")
        c.sndWnd = 1 << 20
        c.sendBufferFilled = false
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 256 << 10, "the application did not find it full")
        c.sendBufferFilled = true
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 500_000, "2 × BDP, not 2 × cwnd")
        #expect(!c.sendBufferFilled, "growth answers the application's wait")
        c.sendBufferFilled = true
        c.maximumDeliveryRate = 150_000_000  // 2 × BDP = 600 000: a step under a quarter
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 500_000)
        c.maximumDeliveryRate = 250_000_000  // 2 × BDP = 1 000 000
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 1_000_000)
    }

    // 2 × BDP is 500 000 as above; 100 records of 1460 bytes, 60 SACKed and 20 marked
    // lost, hold 116 800 bytes that wait for the holes below them.
    @Test("bytes SACKed or marked lost raise the bound: they wait in the buffer for the holes below them")
    func sendBufferHoldsRecovery() {
        let c = connection()
        growWindow(c, to: 1_000_000)
        c.minRTTNanoseconds = 2_000_000
        c.maximumDeliveryRate = 125_000_000
        for i in 0..<100 {
            let start = c.iss + 1 + i * 1460
            _ = c.transmissions.append(TransmissionRecord(start: start, end: start + 1460, sentNanoseconds: 0))
        }
        for i in 20..<80 { c.transmissions.markSacked(i) }
        for i in 0..<20 { c.transmissions.markLost(i) }
        fillSendBuffer(c, peerWindow: 1 << 20)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 500_000 + 80 * 1460)
    }

    @Test("a send cut short by a full buffer marks it for growth; one that fits clears the mark")
    func sendBufferFilledMark() {
        let c = connection()
        let small = [UInt8](repeating: 1, count: 1000)
        _ = small.withUnsafeBytes { try? c.send($0, now: .zero) }
        #expect(!c.sendBufferFilled)
        fillSendBuffer(c, peerWindow: 1 << 20)
        #expect(c.sendBufferFilled)
        c.sendBuffer.removeFirst(2000)  // acknowledged
        _ = small.withUnsafeBytes { try? c.send($0, now: .zero) }
        #expect(!c.sendBufferFilled)
    }

    @Test("a small window leaves the initial send buffer as it is")
    func sendBufferNeverShrinks() {
        let c = connection()
        c.tuneSendBuffer()  // 2 × IW = 29 200 < 256 KiB
        #expect(c.sendBuffer.capacity == 256 << 10)
    }

    @Test("SO_SNDBUF set: no growth")
    func lockedSendBuffer() {
        var options = TCPSocketOptions()
        options.sendBufferLocked = true
        let c = connection(options: options)
        growWindow(c, to: 1_000_000)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 256 << 10)
    }

    @Test("under memory pressure neither buffer grows")
    func noGrowthUnderPressure() {
        var config = TCPConfig()
        config.bufferMemoryPressure = 1 << 20
        let memory = TCPBufferMemory()
        memory.change(by: 2 << 20, threshold: config.bufferMemoryPressure)  // other connections hold 2 MiB
        defer { memory.change(by: -(2 << 20), threshold: config.bufferMemoryPressure) }
        let c = connection(config: config, memory: memory)
        #expect(c.underMemoryPressure)
        growWindow(c, to: 1_000_000)
        c.tuneSendBuffer()
        #expect(c.sendBuffer.capacity == 256 << 10)
        c.receiverRTTNanoseconds = 100_000_000
        read(c, 1000, at: 0)
        read(c, 1_000_000, at: 100)
        #expect(c.receiveBuffer.capacity == 256 << 10)
    }

    // Linux's tcp_rcv_space_adjust, by hand: the measurement starts from
    // 10 × 1460 = 14 600 bytes; 1 000 000 bytes read in one 100 ms receiver RTT give
    // rcvwin = 2 × 1 000 000 + 16 × 1460 = 2 023 360, grown by
    // 2 × rcvwin × (1 000 000 − 14 600) / 14 600, far past tcp_rmem[2]: 6 MiB.
    @Test("the receive buffer grows once per receiver RTT to twice what was read, and by the growth seen, up to the maximum")
    func receiveBufferDynamicRightSizing() {
        let c = connection()
        c.receiverRTTNanoseconds = 100_000_000
        read(c, 100, at: 0)  // starts the measurement
        read(c, 100_000, at: 50)
        #expect(c.receiveBuffer.capacity == 256 << 10, "less than one RTT: no adjustment")
        read(c, 100_000, at: 100)
        // 200 000 read in 100 ms: rcvwin = 400 000 + 23 360 = 423 360,
        // + 2 × 423 360 × (200 000 − 14 600) / 14 600 = 2 × 5 375 926 → capped at 6 MiB.
        #expect(c.receiveBuffer.capacity == 6 << 20)
        #expect(c.receiveSpace == 200_000)
    }

    @Test("a steady reader: the buffer settles at 2 × the bytes per RTT plus 16 segments")
    func receiveBufferSteady() {
        var config = TCPConfig()
        config.receiveBufferMaximum = 64 << 20
        let c = connection(config: config)
        c.receiverRTTNanoseconds = 100_000_000
        c.receiveSpace = 0
        read(c, 0, at: 0)
        c.receiveSpace = 300_000  // as if the previous RTT had read 300 000 bytes
        read(c, 300_001, at: 100)
        // rcvwin = 600 002 + 23 360 = 623 362, + 2 × 623 362 × 1 / 300 000 = 2 × 2 = 4 → 623 366.
        #expect(c.receiveBuffer.capacity == 623_366)
    }

    @Test("SO_RCVBUF set: no growth, and the window scale follows it")
    func lockedReceiveBuffer() {
        var options = TCPSocketOptions()
        options.receiveBufferLocked = true
        let c = connection(options: options)
        c.receiverRTTNanoseconds = 100_000_000
        read(c, 100, at: 0)
        read(c, 1_000_000, at: 100)
        #expect(c.receiveBuffer.capacity == 256 << 10)
        #expect(TCPConnection.windowShift(for: c.receiveBufferCeiling) == 3)
        #expect(TCPConnection.windowShift(for: connection().receiveBufferCeiling) == 7, "6 MiB >> 7 < 65 536")
    }

    @Test("no receiver RTT measured yet: no growth")
    func noGrowthWithoutReceiverRTT() {
        let c = connection()
        read(c, 100, at: 0)
        read(c, 1_000_000, at: 1000)
        #expect(c.receiveBuffer.capacity == 256 << 10)
    }

    @Test("the receiver RTT from timestamps: the time since the echoed TSval, smoothed by 1/8")
    func receiverRTTFromTimestamps() {
        let c = connection()
        c.timestampsEnabled = true
        c.tsOffset = 12_345  // an echo of 0 means "none" (RFC 7323 §3.2)
        var header = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 0, acknowledgmentNumber: 0,
                               flags: [.ack], window: 1000)
        header.options.timestamps = TCPTimestamps(value: 1, echo: c.timestamp(.zero))
        c.measureReceiverRTT(header, payloadLength: 1460, now: Instant(nanoseconds: 100_000_000))
        #expect(c.receiverRTTNanoseconds == 100_000_000)
        header.options.timestamps = TCPTimestamps(value: 2, echo: c.timestamp(Instant(nanoseconds: 100_000_000)))
        c.measureReceiverRTT(header, payloadLength: 1460, now: Instant(nanoseconds: 280_000_000))
        #expect(c.receiverRTTNanoseconds == (7 * 100_000_000 + 180_000_000) / 8)
    }

    @Test("a timestamp echo of 0 or 1 tick only lowers the receiver RTT estimate")
    func receiverRTTFromShortTimestamps() {
        let c = connection()
        c.timestampsEnabled = true
        c.tsOffset = 12_345
        var header = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 0, acknowledgmentNumber: 0,
                               flags: [.ack], window: 1000)
        let now = Instant(nanoseconds: 500_000_000)
        c.receiverRTTNanoseconds = 50_000  // 50 µs, from the window measurement
        header.options.timestamps = TCPTimestamps(value: 1, echo: c.timestamp(now))  // 0 ticks
        c.measureReceiverRTT(header, payloadLength: 1460, now: now)
        #expect(c.receiverRTTNanoseconds == 50_000)
        header.options.timestamps = TCPTimestamps(value: 2, echo: c.timestamp(now) &- 1)  // 1 tick
        c.measureReceiverRTT(header, payloadLength: 1460, now: now)
        #expect(c.receiverRTTNanoseconds == 50_000)
        c.receiverRTTNanoseconds = 5_000_000
        c.measureReceiverRTT(header, payloadLength: 1460, now: now)
        #expect(c.receiverRTTNanoseconds == 1_000_000, "an estimate above a tick comes down to it")
        header.options.timestamps = TCPTimestamps(value: 3, echo: c.timestamp(now) &- 2)  // 2 ticks: a sample
        c.measureReceiverRTT(header, payloadLength: 1460, now: now)
        #expect(c.receiverRTTNanoseconds == (7 * 1_000_000 + 2_000_000) / 8)
    }

    @Test("the receiver RTT without timestamps: the time a window's worth of data took, only lowering the estimate")
    func receiverRTTFromWindow() {
        let c = connection()
        let header = TCPHeader(sourcePort: 80, destinationPort: 40000, sequenceNumber: 0, acknowledgmentNumber: 0,
                               flags: [.ack], window: 1000)
        c.rcvNxt = 5000
        c.rcvAdvertisedEdge = 15_000
        c.measureReceiverRTT(header, payloadLength: 1000, now: .zero)  // starts: ends at 5000 + 10 000
        #expect(c.receiverRTTNanoseconds == 0)
        c.rcvNxt = 14_000
        c.measureReceiverRTT(header, payloadLength: 1000, now: Instant(nanoseconds: 50_000_000))
        #expect(c.receiverRTTNanoseconds == 0, "a window not yet complete")
        c.rcvNxt = 15_000
        c.rcvAdvertisedEdge = 25_000
        c.measureReceiverRTT(header, payloadLength: 1000, now: Instant(nanoseconds: 80_000_000))
        #expect(c.receiverRTTNanoseconds == 80_000_000)
        c.rcvNxt = 25_000
        c.measureReceiverRTT(header, payloadLength: 1000, now: Instant(nanoseconds: 280_000_000))
        #expect(c.receiverRTTNanoseconds == 80_000_000, "an upper bound never raises it")
    }
}
