import NetStackWire

/// A reset the host must send on the connection's behalf, outside its sequence space.
struct ResetReply: Equatable {
    var sequence: SequenceNumber
    /// When set, the RST also carries ACK with this number.
    var acknowledgment: SequenceNumber?
}

extension TCPConnection {
    /// RFC 7323 §5.5: after 24 days without a segment, TS.Recent is no longer trusted (nanoseconds).
    static let pawsIdleLimit: Int64 = 24 * 24 * 3600 * 1_000_000_000

    /// A passive open: a SYN reached a listener (RFC 9293 §3.10.7.2). Records
    /// the peer's options and queues our SYN-ACK.
    func acceptSYN(_ header: TCPHeader, iss: SequenceNumber, mss: Int, now: Instant) {
        self.iss = iss
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        recover = iss  // RFC 6582 §3.2 step 1
        rackFack = iss  // sequence order is modular: RACK.fack must start inside this space
        irs = header.sequenceNumber
        rcvNxt = header.sequenceNumber + 1
        rcvAdvertisedEdge = rcvNxt
        announcedMSS = mss
        negotiate(header.options, now: now)
        sndWnd = Int(header.window)  // never scaled in a SYN (RFC 7323 §2.2)
        maxSndWnd = sndWnd
        sndWl1 = header.sequenceNumber
        state = .synReceived
        synPending = true
        lastActivity = now
    }

    /// Applies the options of the peer's SYN: MSS (RFC 9293 §3.7.1), window
    /// scale (RFC 7323 §2), timestamps (§3), SACK-permitted (RFC 2018).
    func negotiate(_ peer: TCPOptions, now: Instant) {
        peerMSS = Int(peer.mss ?? 536)
        if config.windowScaling, let shift = peer.windowScale {
            sndScale = min(shift, TCPOptions.maximumWindowScale)
            // An active open keeps the shift its SYN offered, whatever the receive buffer became
            // since (SO_RCVBUF after connect): the peer scales our windows by that one.
            if state != .synSent { rcvScale = Self.windowShift(for: receiveBufferCeiling) }
        } else {
            sndScale = 0
            rcvScale = 0
        }
        timestampsEnabled = config.timestamps && peer.timestamps != nil
        if let ts = peer.timestamps, timestampsEnabled {
            tsRecent = ts.value
            tsRecentAge = now
        }
        sackEnabled = config.sack && peer.sackPermitted
        sendMSS = max(64, min(peerMSS, announcedMSS) - (timestampsEnabled ? 12 : 0))
        // A lost SYN or SYN-ACK: one segment to start with (RFC 5681 §3.1), and RTO 3 s (RFC 6298 §5.7).
        let synLost = totalRetransmissions > 0
        congestion.setMSS(sendMSS, synRetransmitted: synLost)
        if synLost && rtt.srtt == nil { rtt.reinitializeAfterSYNTimeout() }
    }

    /// SEGMENT ARRIVES in every state but LISTEN and CLOSED (RFC 9293 §3.10.7.3–3.10.7.4,
    /// with RFC 5961's defences and RFC 7323's PAWS). Returns an RST for the host
    /// to send when the rules call for one outside this connection's sequence space.
    func input(_ header: TCPHeader, payload: UnsafeRawBufferPointer, now: Instant) -> ResetReply? {
        lastActivity = now
        keepAliveProbesSent = 0
        if options.keepAlive, state.isSynchronized {
            keepAliveDeadline = Instant(nanoseconds: now.nanoseconds &+ keepAliveIdleNanoseconds)
        }
        if state == .synSent { return synSentInput(header, now: now) }

        var flags = header.flags
        var seq = header.sequenceNumber
        var data = payload
        var fin = flags.contains(.fin)
        if state == .synReceived, flags.contains(.syn), seq == irs {
            if passive && !flags.contains(.ack) {
                synPending = true  // the peer lost our SYN-ACK and sent its SYN again
                return nil
            }
            // Simultaneous open (RFC 9293 Figure 8): the peer's SYN-ACK repeats the SYN
            // already received; what is new is its ACK of ours. Take the SYN off.
            seq += 1
            flags.remove(.syn)
        }

        // PAWS (RFC 7323 §5.3): a segment older than TS.Recent is a duplicate —
        // unless it is a duplicate ACK the network reordered (`isDisorderedAck`).
        var disorderedAck = false
        if timestampsEnabled, !flags.contains(.rst), let ts = header.options.timestamps,
           Int32(bitPattern: ts.value &- tsRecent) < 0, now.nanoseconds - tsRecentAge.nanoseconds < Self.pawsIdleLimit {
            disorderedAck = isDisorderedAck(header, flags: flags, seq: seq, length: data.count, timestamp: ts.value)
            if !disorderedAck {
                noteDuplicate(seq: seq, length: data.count)
                answerInvalid(carriesData: !data.isEmpty || fin, syn: flags.contains(.syn), now: now)
                return nil
            }
        }

        // First: is the segment in the window (RFC 9293 §3.10.7.4, the four cases)?
        let window = receiveWindowForAcceptance()
        let length = data.count + (flags.contains(.syn) ? 1 : 0) + (fin ? 1 : 0)
        if !acceptable(seq: seq, length: length, window: window) {
            if !flags.contains(.rst) && !flags.contains(.syn) { noteDuplicate(seq: seq, length: data.count) }
            if !flags.contains(.rst) { answerInvalid(carriesData: length > 0, syn: flags.contains(.syn), now: now) }
            if state == .timeWait && flags.contains(.fin) { timeWaitDeadline = now + config.msl + config.msl }
            return nil
        }

        // Second: RST (RFC 5961 §3.2: only an exact match resets; in-window gets a challenge ACK).
        if flags.contains(.rst) {
            if seq != rcvNxt {
                challengeAckPending = true
                return nil
            }
            switch state {
            case .synReceived:
                finish(error: passive ? nil : .connectionRefused)
            case .timeWait:
                break  // RFC 1337: TIME_WAIT is not cut short by a reset.
            case .closing, .lastAck:
                finish(error: nil)
            default:
                finish(error: .connectionReset)
            }
            return nil
        }

        // Fourth: the SYN bit (RFC 9293 §3.10.7.4). A half-open connection from a
        // listener goes back to LISTEN (here: it is dropped; the listener remains);
        // otherwise RFC 5961 §4: a challenge ACK, never a reset.
        if flags.contains(.syn) {
            if state == .synReceived && passive {
                finish(error: nil)
                return nil
            }
            challengeAckPending = true
            return nil
        }

        // Fifth: the ACK field.
        guard flags.contains(.ack) else { return nil }
        let ack = header.acknowledgmentNumber
        if state == .synReceived {
            guard sndUna < ack && ack <= sndNxt else {
                return ResetReply(sequence: ack, acknowledgment: nil)
            }
            state = .established
            sndWnd = Int(header.window) << Int(sndScale)
            maxSndWnd = max(maxSndWnd, sndWnd)
            sndWl1 = seq
            sndWl2 = ack
            if options.keepAlive { keepAliveDeadline = now + options.keepAliveIdle }
        }
        // RFC 5961 §5.2: an ACK for data never sent, or older than the largest window, is suspect.
        if ack > sndMax || ack < sndUna - max(maxSndWnd, 1) {
            challengeAckPending = true
            return nil
        }
        processAck(header, ack: ack, dataLength: data.count, windowMayUpdate: !disorderedAck, now: now)
        if isFinished { return nil }
        updateTSRecent(header, seq: seq, now: now)

        // Our FIN acknowledged?
        if let finSeq, sndUna > finSeq {
            switch state {
            case .finWait1:
                state = .finWait2
                finWait2Deadline = now + config.finWait2Timeout
            case .closing:
                enterTimeWait(now: now)
            case .lastAck:
                finish(error: nil)
                return nil
            default:
                break
            }
        }
        if state == .timeWait {
            if fin { ackNow = true; timeWaitDeadline = now + config.msl + config.msl }
            return nil
        }

        let rcvNxtBefore = rcvNxt
        // Seventh: the data. Trim what lies before RCV.NXT or past the window.
        if !data.isEmpty || fin {
            if !state.receivesData {
                data = UnsafeRawBufferPointer(rebasing: data[0..<0])
                fin = fin && state.receivesData
            }
            let before = rcvNxt - seq
            if before > 0 {
                let cut = min(before, data.count)
                noteDuplicate(seq: seq, length: cut)
                data = UnsafeRawBufferPointer(rebasing: data[cut...])
                seq += cut
            }
            if !data.isEmpty { receive(data, at: seq) }
            if fin {
                peerFinSeq = seq + data.count
                if seq + data.count != rcvNxt { ackNow = true }  // a FIN past a hole: tell the sender now (RFC 5681 §4.2)
            }
        }

        if rcvNxt != rcvNxtBefore { measureReceiverRTT(header, payloadLength: data.count, now: now) }

        // Eighth: the FIN, once everything before it has arrived.
        if let finAt = peerFinSeq, !peerFinReceived, finAt == rcvNxt {
            peerFinReceived = true
            rcvNxt += 1
            ackNow = true
            switch state {
            case .synReceived, .established:
                state = .closeWait
            case .finWait1:
                // Our FIN is not acknowledged yet: simultaneous close.
                state = .closing
            case .finWait2:
                enterTimeWait(now: now)
            default:
                break
            }
        }
        return nil
    }

    /// SYN-SENT (RFC 9293 §3.10.7.3): waiting for the peer's SYN.
    private func synSentInput(_ header: TCPHeader, now: Instant) -> ResetReply? {
        let flags = header.flags
        let ack = header.acknowledgmentNumber
        let ackAcceptable = flags.contains(.ack) && sndUna < ack && ack <= sndNxt
        if flags.contains(.ack), !ackAcceptable {
            return flags.contains(.rst) ? nil : ResetReply(sequence: ack, acknowledgment: nil)
        }
        if flags.contains(.rst) {
            if ackAcceptable { finish(error: .connectionRefused) }
            return nil
        }
        guard flags.contains(.syn) else { return nil }
        irs = header.sequenceNumber
        rcvNxt = header.sequenceNumber + 1
        rcvAdvertisedEdge = rcvNxt  // nothing promised in this sequence space yet
        negotiate(header.options, now: now)
        synPending = false
        if ackAcceptable {
            sndUna = ack
            synAcknowledged = true
            if let rttTimedSeq, ack > rttTimedSeq, consecutiveTimeouts == 0 { rtt.addSample(now - rttTimedAt) }
            rttTimedSeq = nil
            consecutiveTimeouts = 0
            sndWnd = Int(header.window)  // a SYN's window is never scaled (RFC 7323 §2.2)
            maxSndWnd = sndWnd
            sndWl1 = header.sequenceNumber
            sndWl2 = ack
            state = .established
            retransmitDeadline = nil
            ackNow = true
            if options.keepAlive { keepAliveDeadline = now + options.keepAliveIdle }
        } else {
            // Simultaneous open: both sides sent SYNs.
            state = .synReceived
            sndWnd = Int(header.window)
            synPending = true
        }
        return nil
    }

    /// The window used by the acceptability test: what we advertised, at least zero.
    private func receiveWindowForAcceptance() -> Int { max(0, rcvAdvertisedEdge - rcvNxt) }

    /// RFC 2883 §4: the next ACK's first SACK block reports the part of a segment
    /// that lies before RCV.NXT — data received twice — so the sender can tell a
    /// needless retransmission. Only with SACK in use; the latest duplicate wins. O(1).
    private func noteDuplicate(seq: SequenceNumber, length: Int) {
        guard sackEnabled, length > 0, seq < rcvNxt else { return }
        let end = seq + length
        pendingDSACK = TCPSACKBlock(left: seq, right: end < rcvNxt ? end : rcvNxt)
    }

    /// RFC 9293 §3.10.7.4's acceptability test (Table 6).
    private func acceptable(seq: SequenceNumber, length: Int, window: Int) -> Bool {
        switch (length, window) {
        case (0, 0): return seq == rcvNxt
        case (0, _): return seq.isWithin(start: rcvNxt, length: window)
        case (_, 0): return false
        default:
            let last = seq + (length - 1)
            return seq.isWithin(start: rcvNxt, length: window) || last.isWithin(start: rcvNxt, length: window)
        }
    }

    /// A segment failing PAWS that is only a pure ACK overtaken by a later one: no
    /// data, no SYN or FIN, SEG.SEQ = RCV.NXT, SEG.ACK at most SND.UNA and no older
    /// than the largest window (RFC 5961 §5.2), a window whose edge does not pass ours,
    /// and a TSval at most one RTO (in milliseconds) older than TS.Recent.
    ///
    /// Linux's tcp_disordered_ack accepts such an ACK only when SEG.ACK = SND.UNA;
    /// NetStack also takes the older ones, for their SACK blocks alone (the caller
    /// keeps the window; SND.UNA, TS.Recent and the RTT cannot move back). On a path
    /// that reorders ACKs, a receiver with many holes reports each block in only a
    /// few ACKs (three blocks fit beside timestamps); dropping the overtaken ones
    /// loses that report, and RACK then resends data the peer holds. Measured on
    /// 06_lossy's `light` link: a third of all ACKs arrived overtaken, and most of
    /// the retransmissions were spurious. Such an ACK can move nothing a fresh
    /// duplicate ACK could not, so it gives a forger nothing new. O(1).
    private func isDisorderedAck(_ header: TCPHeader, flags: TCPFlags, seq: SequenceNumber, length: Int,
                                 timestamp value: UInt32) -> Bool {
        let ack = header.acknowledgmentNumber
        guard flags.contains(.ack), !flags.contains(.syn), !flags.contains(.fin), length == 0, seq == rcvNxt,
              ack <= sndUna, ack >= sndUna - max(maxSndWnd, 1) else { return false }
        // The window it offered ends no further than the one taken (nor is zero).
        let window = Int(header.window) << Int(sndScale)
        let widens = seq > sndWl1 || window == 0 || (ack + window) - (sndUna + sndWnd) > 0
        let replayWindow = max(rtt.rtoNanoseconds / 1_000_000, 1)
        return !widens && Int64(tsRecent &- value) <= replayWindow
    }

    /// RFC 7323 §4.3: TS.Recent follows the segment that holds the left window edge.
    private func updateTSRecent(_ header: TCPHeader, seq: SequenceNumber, now: Instant) {
        guard timestampsEnabled, let ts = header.options.timestamps else { return }
        let stale = now.nanoseconds - tsRecentAge.nanoseconds > Self.pawsIdleLimit  // RFC 7323 §5.5: TS.Recent no longer valid
        if (stale || Int32(bitPattern: ts.value &- tsRecent) >= 0) && seq <= lastAckSent {
            tsRecent = ts.value
            tsRecentAge = now
        }
    }

    /// Stores in-window data (in place when out of order) and decides how soon to ACK
    /// (RFC 9293 §3.8.6.3: at least every second full segment, immediately when out of order).
    private func receive(_ data: UnsafeRawBufferPointer, at seq: SequenceNumber) {
        let offset = seq - rcvNxt
        // Bytes past the window last advertised are cut off (RFC 9293 §3.10.7.4): under memory
        // pressure that window is smaller than the buffer's free space, and storage must not grow past it.
        let inWindow = max(0, rcvAdvertisedEdge - seq)
        let data = data.count > inWindow ? UnsafeRawBufferPointer(rebasing: data[..<inWindow]) : data
        let hadGap = receiveBuffer.outOfOrderBytes > 0
        if sackEnabled && offset > 0 && receiveBuffer.holds(offset: offset, count: data.count) {
            pendingDSACK = TCPSACKBlock(left: seq, right: seq + data.count)  // RFC 2883 §4: a duplicate above a hole
        }
        let allocated = receiveBuffer.allocatedBytes
        let (accepted, advanced) = receiveBuffer.write(at: offset, data)
        if advanced > 0 { rcvNxt += advanced }
        if receiveBuffer.allocatedBytes != allocated { accountBuffers() }
        if !accepted && offset > 0 && offset < receiveBuffer.freeSpace { outOfOrderRefused += 1 }
        if !accepted || offset > 0 || hadGap {
            ackNow = true  // out of order, or a hole filled: tell the sender at once (and SACK)
            return
        }
        segmentsSinceAck += 1
        // A super-segment (offload) carries at least two full segments' worth: ACK it now.
        if segmentsSinceAck >= 2 || data.count > announcedMSS { ackNow = true }
    }
}
