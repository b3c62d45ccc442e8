// Send- and receive-buffer auto-tuning: unless the application fixed SO_SNDBUF
// or SO_RCVBUF, a connection's buffers grow toward `TCPConfig.sendBufferMaximum`
// and `TCPConfig.receiveBufferMaximum` as the path's bandwidth-delay product
// requires, so a long fat path is limited by neither (issue 10 item 6).
//
// Read: Linux's tcp_sndbuf_expand and tcp_should_expand_sndbuf (net/ipv4/tcp_input.c:
// about 2 × cwnd, only while the application is held up by a full buffer) and
// its Dynamic Right-Sizing, tcp_rcv_space_adjust with tcp_rcv_rtt_measure and
// tcp_rcv_rtt_measure_ts (once per receiver RTT, the buffer becomes about
// twice what the application read in that RTT). Buffers only grow here, never
// under memory pressure (`underMemoryPressure`, Linux's tcp_under_memory_pressure),
// and a window once advertised never shrinks (RFC 9293 §3.8.6.2.2): growth only
// adds space. Capacity is a limit, not storage: the rings still grow only as
// data is held (see `SendBuffer` and `ReceiveBuffer`).

import NetStackWire

extension TCPConnection {
    /// The most the receive buffer may become: its capacity if SO_RCVBUF was set, else
    /// at least `TCPConfig.receiveBufferMaximum`. The window scale offered in the SYN
    /// (at connect) or SYN-ACK (when the peer's SYN arrives) is computed from this
    /// (RFC 7323 §2.3), so that growth can be advertised later: once offered, the shift
    /// does not change, even if SO_RCVBUF changes this before the handshake ends. O(1).
    var receiveBufferCeiling: Int {
        options.receiveBufferLocked ? receiveBuffer.capacity : max(receiveBuffer.capacity, config.receiveBufferMaximum)
    }

    /// Grows the send buffer's capacity, unless SO_SNDBUF was set or the host is under
    /// memory pressure, when growth would help: the application found it full
    /// (`sendBufferFilled`, Linux's SOCK_NOSPACE) and the peer's window would take more
    /// than the buffer holds. The bound is the smaller of 2 × cwnd (Linux's
    /// tcp_sndbuf_expand) and 2 × the largest bandwidth-delay product measured
    /// (`maximumDeliveryRate` × `minRTTNanoseconds`) plus the bytes held for holes
    /// (SACKed or marked lost: they stay buffered until the holes below them are
    /// repaired), at most `TCPConfig.sendBufferMaximum`: a window and the next one
    /// queued, but no more than the path has shown it can carry, so a cwnd that grows
    /// past what the path delivers (a loss-based controller on a path that does not
    /// drop) does not take the buffer with it. Before any rate sample there is no
    /// bound, and no growth. Steps of less than a quarter are skipped, so the ring's
    /// reallocations stay few. Called at the start of every `output`. O(1); allocates nothing.
    func tuneSendBuffer() {
        guard sendBufferFilled, !options.sendBufferLocked, state.sendsData else { return }
        let capacity = sendBuffer.capacity
        guard sndWnd > sendBuffer.count, capacity < config.sendBufferMaximum, maximumDeliveryRate > 0,
              let minRTT = minRTTNanoseconds else { return }
        // Double: rate × RTT can pass 2⁶³ (bytes/s × ns).
        let bandwidthDelay = Double(maximumDeliveryRate) * Double(minRTT) / 1e9
        // Without the held bytes a lossy path's recovery starves the flight (BBR lost a fifth
        // of its goodput in `netstack bench lossy --buffer auto`).
        let pathBound = 2 * bandwidthDelay + Double(transmissions.sackedBytes + transmissions.lostBytes)
        let step = Double(capacity + capacity / 4)
        // The path's bound first: the usual answer (no growth) then reads no controller state.
        guard pathBound >= step, !underMemoryPressure else { return }
        let bound = min(pathBound, Double(2 * congestion.cwnd), Double(config.sendBufferMaximum))
        guard bound >= step else { return }
        // Growing never fails and moves no byte.
        _ = sendBuffer.resize(capacity: Int(bound))
        sendBufferFilled = false
    }

    /// The application read `count` bytes: counts them and, once per receiver RTT,
    /// lets `tuneReceiveBuffer` size the buffer from what was read. O(1).
    func noteApplicationRead(_ count: Int, now: Instant) {
        bytesRead &+= count
        tuneReceiveBuffer(now: now)
    }

    /// Linux's tcp_rcv_space_adjust (Dynamic Right-Sizing): when at least one receiver
    /// RTT has passed since the measurement started and the application read more than
    /// in the previous one, the receive buffer grows to 2 × the bytes read plus 16
    /// segments for reordering, and further by the growth seen (the sender may be in
    /// slow start, doubling per RTT), at most `TCPConfig.receiveBufferMaximum`; then a
    /// new measurement starts. Not with SO_RCVBUF set, nor under memory pressure. O(1).
    func tuneReceiveBuffer(now: Instant) {
        let nowNanoseconds = now.nanoseconds
        guard receiveSpaceStartNanoseconds != Int64.min else {
            // The first read: start measuring from the initial window (Linux's
            // tcp_init_buffer_space: min(window, 10 segments)).
            receiveSpace = min(receiveBuffer.capacity, 10 * announcedMSS)
            startReceiveSpaceMeasurement(now: nowNanoseconds)
            return
        }
        guard receiverRTTNanoseconds > 0,
              nowNanoseconds - receiveSpaceStartNanoseconds >= receiverRTTNanoseconds else { return }
        let copied = bytesRead - receiveSpaceStartRead
        if copied > receiveSpace {
            if !options.receiveBufferLocked && !underMemoryPressure {
                let maximum = config.receiveBufferMaximum
                var window = min(2 * copied + 16 * announcedMSS, maximum)
                if receiveSpace > 0 {
                    window += 2 * min(window * (copied - receiveSpace) / receiveSpace, maximum)
                }
                let target = min(window, maximum)
                if target > receiveBuffer.capacity { receiveBuffer.raiseCapacity(to: target) }
            }
            receiveSpace = copied
        }
        startReceiveSpaceMeasurement(now: nowNanoseconds)
    }

    /// Starts counting the bytes read from `now` (nanoseconds). O(1).
    private func startReceiveSpaceMeasurement(now: Int64) {
        receiveSpaceStartRead = bytesRead
        receiveSpaceStartNanoseconds = now
    }

    /// In-order data arrived (RCV.NXT advanced): takes receiver RTT samples, as
    /// Linux's tcp_rcv_rtt_measure and tcp_rcv_rtt_measure_ts do, both feeding one
    /// estimate: always the time a window's worth of data took to arrive (nanosecond
    /// precision, but an upper bound, so it only ever lowers the estimate), and with
    /// timestamps the time since the TSval the segment echoes, smoothed with gain 1/8
    /// when it is 2 ticks or more; 0 or 1 tick only says the RTT is about a tick or less,
    /// so it is taken as 1 ms that may lower the estimate and never raises it. O(1).
    func measureReceiverRTT(_ header: TCPHeader, payloadLength: Int, now: Instant) {
        if let seq = receiverRTTSeq, rcvNxt >= seq {
            addReceiverRTTSample(max(now.nanoseconds - receiverRTTStartNanoseconds, 1), upperBound: true)
            receiverRTTSeq = nil
        }
        if receiverRTTSeq == nil {
            receiverRTTSeq = rcvNxt + max(rcvAdvertisedEdge - rcvNxt, 1)
            receiverRTTStartNanoseconds = now.nanoseconds
        }
        guard timestampsEnabled, payloadLength > 0, let ts = header.options.timestamps, ts.echo != 0 else { return }
        let elapsed = timestamp(now) &- ts.echo
        guard elapsed < 1 << 31 else { return }
        // 0 or 1 tick says only "about a tick or less": smoothed in, it would drag a
        // sub-millisecond estimate (from the window measurement) up toward 1 ms.
        addReceiverRTTSample(Int64(max(elapsed, 1)) * 1_000_000, upperBound: elapsed <= 1)
    }

    /// Folds one receiver RTT sample (nanoseconds) into the estimate: an upper bound
    /// only lowers it; a timestamp sample is smoothed with gain 1/8. O(1).
    private func addReceiverRTTSample(_ sample: Int64, upperBound: Bool) {
        if receiverRTTNanoseconds == 0 {
            receiverRTTNanoseconds = sample
        } else if upperBound {
            receiverRTTNanoseconds = min(receiverRTTNanoseconds, sample)
        } else {
            receiverRTTNanoseconds = (7 * receiverRTTNanoseconds + sample) / 8
        }
    }
}
