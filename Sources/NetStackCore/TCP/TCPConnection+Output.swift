import NetStackWire

extension TCPConnection {
    /// Hands out, through `emit`, every segment the connection should send now:
    /// an RST, the SYN or SYN-ACK, retransmissions that loss recovery asks for,
    /// new data as the windows, Nagle (RFC 896), the cork and sender SWS
    /// avoidance (RFC 9293 §3.8.6.2.1) allow, the FIN, probes, and an ACK if one
    /// is owed and nothing else carried it. `allowChallengeAck` asks the host's
    /// rate limit (RFC 5961 §7).
    func output(now: Instant, allowChallengeAck: () -> Bool, emit: (OutgoingSegment) -> Void) {
        if resetPending {
            resetPending = false
            var options = TCPOptions()
            if timestampsEnabled { options.timestamps = TCPTimestamps(value: timestamp(now), echo: tsRecent) }  // RFC 7323 §3.2
            let header = TCPHeader(sourcePort: local.port, destinationPort: remote.port, sequenceNumber: sndMax,
                                   acknowledgmentNumber: rcvNxt, flags: [.rst, .ack], window: 0, options: options)
            emit(OutgoingSegment(header: header))
            return
        }
        if isFinished { return }
        updatePacingRate(now: now)
        congestion.paced = pacingRate > 0
        tuneSendBuffer()
        var ackCarried = false
        if synPending {
            synPending = false
            emit(synSegment(now: now))
            ackCarried = state != .synSent
            if sndNxt == iss { sndNxt = iss + 1 }
            sndMax = .latest(sndMax, sndNxt)
            if retransmitDeadline == nil { retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds) }
            if consecutiveTimeouts == 0 && rttTimedSeq == nil && !timestampsEnabled {
                rttTimedSeq = iss
                rttTimedAt = now
            }
        }
        if state.isSynchronized {
            if retransmitHolePending {
                retransmitHolePending = false
                retransmitLost(now: now, emit: emit)
                ackCarried = true
            }
            var sentNew = false
            // With segmentation offload, consecutive full segments go out as one super-segment
            // (each still judged by cwnd, pacing and the peer's window, and recorded on its own).
            let limit = segmentationLimit ?? 0
            if limit == 0 {
                // One segment at a time, straight out: no super-segment to hold back.
                while let segment = nextDataSegment(now: now) {
                    notePacedSend(bytes: segment.payloadLength, now: now)
                    ackCarried = true
                    sentNew = true
                    emit(segment)
                }
            } else {
                let budget = superSegmentBudget(limit: limit)
                var pending: OutgoingSegment?
                var sentBytes = 0
                while sentBytes < budget, let segment = nextDataSegment(now: now) {
                    sentBytes += segment.payloadLength
                    notePacedSend(bytes: segment.payloadLength, now: now)
                    ackCarried = true
                    sentNew = true
                    if var head = pending, head.canAbsorb(segment, mss: sendMSS, limit: limit) {
                        head.absorb(segment, mss: sendMSS)
                        pending = head
                        continue
                    }
                    if let head = pending { emit(head) }
                    pending = segment
                }
                if let head = pending { emit(head) }
            }
            if tlpPending {
                tlpPending = false
                if !sentNew, sendProbe(now: now, emit: emit) { ackCarried = true }
            }
            if sentNew && !inRecovery { armProbeTimer(now: now) }
            if unsentBytes == 0 { noteApplicationLimited() }
            endPacedOutput()
            armPersistTimerIfNeeded(now: now)
        }
        if probePending {
            probePending = false
            // A zero-window or keepalive probe: an old sequence number forces the peer to ACK (Linux's form).
            emit(makeSegment(seq: sndUna - 1, length: 0, flags: [.ack], now: now))
            ackCarried = true
        }
        if challengeAckPending {
            challengeAckPending = false
            if allowChallengeAck() { ackNow = true }
        }
        if ackNow && !ackCarried && state != .synSent && state != .closed {
            // SND.MAX, not SND.NXT: after a timeout SND.NXT moves back, and an ACK
            // numbered below what the peer already received would be unacceptable to
            // it (RFC 9293 §3.10.7.4) — its ACK field ignored, both sides stalled.
            emit(makeSegment(seq: sndMax, length: 0, flags: [.ack], now: now))
        }
        if segmentsSinceAck > 0 && delayedAckDeadline == nil {
            delayedAckDeadline = Instant(nanoseconds: now.nanoseconds &+ delayedAckNanoseconds)
        }
    }

    /// The longest smoothed RTT at which a streaming sender's short tail waits for its flight's ACK, ns.
    static let tailWaitRTTLimit: Int64 = 1_000_000

    /// With segmentation offload, how many bytes of new data this `output` may send: all it
    /// may (`Int.max`), except when more is sure to come — the window, not the data, is the
    /// limit, or the application waits on a full send buffer — with a flight big enough that
    /// ACKs keep coming. Then only whole full super-segments go, and the rest waits for the
    /// next ACK (and the writes it lets in) to fill one: Linux's tcp_tso_should_defer, without
    /// its timer, since the flight of at least two more full super-segments is what brings that
    /// ACK, and an ACK that leaves the buffer room the application does not use ends the wait.
    /// Without it, a short super-segment sent at an ACK made the next ACKs short in turn, and
    /// the pattern kept itself going. The same holds for a streaming sender that the data, not
    /// the window, limits — its send buffer at least half full, and at least one full
    /// super-segment in flight once the whole ones are sent: the tail waits for that flight's
    /// ACK (which the peer owes at once, RFC 5681's one per two full segments) and the writes
    /// it lets in. Before, 64 KiB writes, which end at no IPv6 super-segment boundary, left a
    /// short one after every burst (7 % more packets than IPv4's over TAP). Only on a path
    /// whose SRTT is under `tailWaitRTTLimit` (a TAP or TUN peer on this machine, a LAN): where
    /// a round trip is long, the wait would delay a response's last bytes by that much, and the
    /// packets saved are few. A response that fills less than half the buffer leaves at once. O(1).
    private func superSegmentBudget(limit: Int) -> Int {
        let full = (limit / sendMSS) * sendMSS
        guard full > 0, state == .established, sndNxt == sndMax, !inRecovery, !inTimeoutRecovery,
              consecutiveTimeouts == 0, !tlpSending, pacingRate == 0, congestion.cwnd >= 3 * full else { return .max }
        let usable = min(sndWnd - flightSize, congestion.cwnd - inFlight), unsent = unsentBytes
        let whole = (max(min(usable, unsent), 0) / full) * full
        let held = usable < unsent || sendSpace < sendMSS
        // A super-segment of two segments or more: its ACK is owed at once, not delayed.
        let streaming = unsent <= usable && full >= 2 * sendMSS && inFlight + whole >= full
            && 2 * sendBuffer.count >= sendBuffer.capacity && (rtt.srttNanoseconds ?? .max) < Self.tailWaitRTTLimit
        guard (held && inFlight >= 2 * full) || streaming else { return .max }
        return whole
    }

    /// The SYN (active open) or SYN-ACK (passive), with our options (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
    private func synSegment(now: Instant) -> OutgoingSegment {
        var options = TCPOptions(mss: UInt16(clamping: announcedMSS))
        let offering = state == .synSent
        if config.sack && (offering || sackEnabled) { options.sackPermitted = true }
        if config.timestamps && (offering || timestampsEnabled) {
            options.timestamps = TCPTimestamps(value: timestamp(now), echo: offering ? 0 : tsRecent)
        }
        // Our SYN offers the shift chosen at connect (`rcvScale`), retransmission or not: the peer
        // keeps the first it receives, and SO_RCVBUF set since must not change it (RFC 7323 §2.2).
        if config.windowScaling && (offering || sndScale > 0 || rcvScale > 0) { options.windowScale = rcvScale }
        let flags: TCPFlags = state == .synSent ? [.syn] : [.syn, .ack]
        let window = min(advertisableWindow(), 65_535)
        rcvAdvertisedEdge = rcvNxt + window
        let header = TCPHeader(sourcePort: local.port, destinationPort: remote.port, sequenceNumber: iss,
                               acknowledgmentNumber: state == .synSent ? 0 : rcvNxt, flags: flags,
                               window: UInt16(window), options: options)
        if state != .synSent { noteAckSent() }
        return OutgoingSegment(header: header)
    }

    /// The next new-data (or FIN) segment the send policy allows, or nil.
    private func nextDataSegment(now: Instant) -> OutgoingSegment? {
        guard state.isSynchronized, state != .timeWait else { return nil }
        if let finSeq, sndNxt > finSeq { return nil }
        if sackEnabled && sndNxt < sndMax { skipSackedData() }
        let offset = sndNxt - sndUna
        let dataOffset = offset - (synAcknowledged ? 0 : 1)
        guard dataOffset >= 0 else { return nil }  // SND.NXT on an unacknowledged SYN: that is synPending's job
        let available = sendBuffer.count - dataOffset
        let finNext = finSeq.map { sndNxt + max(available, 0) == $0 } ?? false
        guard available > 0 || finNext else { return nil }
        // RFC 3042 limited transmit: one more segment of new data on each of the first two
        // duplicate ACKs; not after a timeout, where the next segment is an old one resent (and
        // F-RTO's step 2, RFC 5682, waits for the retransmission's ACK before sending anything).
        let limited = !inRecovery && !inTimeoutRecovery && (1...2).contains(duplicateAcks) ? duplicateAcks * sendMSS : 0
        var window = sndWnd
        if window == 0 && consecutiveTimeouts > 0 && sndNxt == sndUna && sndMax > sndUna {
            // The peer shrank its window to zero under data in flight: the timeout resends
            // the head anyway, as a probe (RFC 1122 §4.2.2.17; Linux does the same).
            window = min(sendMSS, sndMax - sndUna)
        }
        // The peer's window counts from SND.UNA; cwnd limits what is in flight (RFC 6675's pipe).
        let probe = tlpSending ? sendMSS : 0
        var usable = min(window - offset, congestion.cwnd + limited + probe - inFlight)
        if available > 0 && sndNxt >= sndMax {
            // New data that cwnd itself (no limited-transmit or probe allowance) would let go
            // and the peer's window holds back: BBR's full-pipe test skips such rounds.
            let ready = min(available, sendMSS)
            if window - offset < ready && congestion.cwnd - inFlight >= ready { congestion.noteReceiveWindowLimited() }
        }
        // RFC 6298 §5.4: the timeout resends the earliest unacknowledged segment, whatever
        // the flight accounting says.
        if consecutiveTimeouts > 0 && sndNxt == sndUna && sndMax > sndUna { usable = max(usable, min(window, sendMSS)) }
        var length = min(available, sendMSS)
        if sndNxt < sndMax {
            length = min(length, alignedLength(at: sndNxt))  // resend record by record
        } else if transmissions.isFull {
            return nil  // the record bound: wait for ACKs to free records
        }
        if available > 0 {
            guard usable > 0 else { return nil }
            length = min(length, usable)
            let emptiesBuffer = length == available
            // The last data before a FIN: nothing more will be written, so neither the cork
            // nor Nagle has anything to wait for (Linux pushes at close with TCP_NAGLE_OFF).
            let carriesFIN = finNext && emptiesBuffer
            if length < sendMSS && sndNxt >= sndMax && !carriesFIN {
                if options.cork && !corkExpired { return nil }
                // Nagle (RFC 896, RFC 1122 §4.2.3.4) in Minshall's form, as Linux's
                // tcp_nagle_check: a small segment waits only while an earlier small one is
                // unacknowledged. At most one small segment per round trip, as Nagle wants, but
                // a response's tail does not wait for the whole response's ACK — nor, in loss
                // recovery, for the end of it: sent with the retransmissions, its SACK lets RACK
                // see a lost retransmission instead of waiting for the RTO.
                if let end = smallSegmentEnd, end <= sndUna { smallSegmentEnd = nil }  // acknowledged
                let smallOutstanding = smallSegmentEnd.map { $0 > sndUna && $0 <= sndMax } ?? false
                let nagleHolds = !options.noDelay && !options.cork && flightSize > 0 && smallOutstanding
                if nagleHolds && !corkExpired { return nil }
                // Sender SWS avoidance: a window-limited small segment waits for more window,
                // until the override timer says otherwise.
                if !emptiesBuffer && length < maxSndWnd / 2 && !swsOverride { return nil }
            }
        } else if sndWnd == 0 && flightSize > 0 {
            return nil  // keep the FIN for when the window opens or data is acknowledged
        }
        var flags: TCPFlags = [.ack]
        let isLast = length == available
        if isLast && length > 0 { flags.insert(.psh) }
        if isLast && finNext && length == available { flags.insert(.fin) }
        if length <= 0 && !flags.contains(.fin) { return nil }
        if length > 0 && !pacingAllowsSegment(now: now) { return nil }  // pure FINs are not paced
        let wasRetransmission = sndNxt < sndMax
        if !wasRetransmission, flightSize == 0, let last = lastDataSent {
            congestion.onIdleRestart(idle: now - last, rto: rtt.rto, now: now)
        }
        lastDataSent = now
        let segment = makeSegment(seq: sndNxt, length: max(length, 0), flags: flags, now: now)
        let segmentEnd = sndNxt + max(length, 0) + (flags.contains(.fin) ? 1 : 0)
        if synAcknowledged { noteTransmission(start: sndNxt, end: segmentEnd, now: now) }
        sndNxt = segmentEnd
        if wasRetransmission {
            totalRetransmissions += 1
        } else if !timestampsEnabled && rttTimedSeq == nil && consecutiveTimeouts == 0 {
            rttTimedSeq = segment.header.sequenceNumber
            rttTimedAt = now
        }
        if sndNxt > sndMax { sndMax = sndNxt }
        if !wasRetransmission && length > 0 && length < sendMSS { smallSegmentEnd = sndNxt }
        swsOverride = false
        if retransmitDeadline == nil { retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds) }
        if unackedSince == nil { unackedSince = now }
        if sendBuffer.count - (sndNxt - sndUna) <= 0 { corkExpired = false; corkDeadline = nil }
        return segment
    }

    /// After a timeout SND.NXT moves back; data the peer already SACKed need not go again.
    /// The records say what is SACKed (the scoreboard keeps at most 32 ranges). O(log records
    /// + SACKed records skipped). The caller checks that SACK is on and SND.NXT < SND.MAX.
    private func skipSackedData() {
        var index = transmissions.firstIndex(endingAfter: sndNxt)
        while index < transmissions.count, transmissions[index].start <= sndNxt,
              transmissions[index].flags.contains(.sacked) {
            sndNxt = .latest(sndNxt, transmissions[index].end)
            index += 1
        }
    }

    /// Resends the records marked lost (by RACK, DupThresh or a partial ACK),
    /// lowest first, while cwnd leaves room for them (PRR sets cwnd in
    /// recovery); below SND.NXT only, since after a timeout the go-back-N in
    /// `nextDataSegment` resends the rest. O(records up to the last one sent).
    private func retransmitLost(now: Instant, emit: (OutgoingSegment) -> Void) {
        var index = 0, sent = 0
        while index < transmissions.count, sent < 64 {
            let record = transmissions[index]
            if record.start >= sndNxt { break }
            index += 1
            guard record.flags.contains(.lost), !record.flags.contains(.retransmitted),
                  !record.flags.contains(.sacked) else { continue }
            let forced = sent == 0 && (inFlight == 0 || frtoForceRetransmit)
            guard congestion.cwnd - inFlight >= record.length || forced else { break }
            guard pacingAllowsSegment(now: now) else {
                retransmitHolePending = true  // the pacing wake resends the rest
                break
            }
            frtoForceRetransmit = false
            let segment = retransmission(from: record.start, to: record.end, now: now)
            emit(segment)
            notePacedSend(bytes: segment.payloadLength, now: now)
            noteTransmission(start: record.start, end: record.end, now: now)
            lastDataSent = now
            sent += 1
        }
    }

    /// The tail loss probe (RFC 8985 §7.3): one new segment if the windows
    /// allow one, else the last segment sent again; TLP.end_seq remembers the
    /// probe and the RTO is restarted. While the pacer holds data the probe
    /// waits for its wake (kept pending): resending the last segment instead
    /// would put a needless retransmission where new data was due. Returns
    /// whether a probe went out. O(1).
    private func sendProbe(now: Instant, emit: (OutgoingSegment) -> Void) -> Bool {
        guard let last = transmissions.last, !inRecovery else { return false }
        // New data may go past cwnd by one segment: the probe is allowed to (RFC 8985 §7.3).
        tlpSending = true
        let segment = nextDataSegment(now: now)
        tlpSending = false
        if segment == nil && (pacingHeld || !pacingAllowsSegment(now: now)) {
            tlpPending = true  // the pacing wake (pacingDeadline is armed) sends the probe
            return false
        }
        if let segment {
            emit(segment)
            notePacedSend(bytes: segment.payloadLength, now: now)
            tlpIsRetransmission = false
        } else {
            let segment = retransmission(from: last.start, to: last.end, now: now)
            emit(segment)
            notePacedSend(bytes: segment.payloadLength, now: now)
            noteTransmission(start: last.start, end: last.end, now: now)
            tlpIsRetransmission = true
        }
        tlpEndSeq = sndMax
        tailLossProbes += 1
        lastDataSent = now
        retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds)
        return true
    }

    /// A segment resending [from, to), with FIN if the FIN lies at its end.
    private func retransmission(from start: SequenceNumber, to end: SequenceNumber, now: Instant) -> OutgoingSegment {
        var length = end - start
        var flags: TCPFlags = [.ack]
        if let finSeq, end > finSeq {
            flags.insert(.fin)
            length -= 1
        }
        totalRetransmissions += 1
        if let timed = rttTimedSeq, timed >= start { rttTimedSeq = nil }  // Karn
        return makeSegment(seq: start, length: max(0, length), flags: flags, now: now)
    }

    /// A segment at `seq` carrying `length` bytes of the send buffer, with the
    /// current ACK, window, timestamps and SACK blocks.
    func makeSegment(seq: SequenceNumber, length: Int, flags: TCPFlags, now: Instant) -> OutgoingSegment {
        // Built in the value returned, not assembled aside and copied in: that copy stalled on
        // the stores just made. The window is set below: advertiseWindow() moves the advertised
        // edge, after the options as before.
        var segment = OutgoingSegment(header: TCPHeader(sourcePort: local.port, destinationPort: remote.port,
                                                        sequenceNumber: seq, acknowledgmentNumber: rcvNxt,
                                                        flags: flags, window: 0),
                                      payloadLength: length)
        if timestampsEnabled { segment.header.options.timestamps = TCPTimestamps(value: timestamp(now), echo: tsRecent) }
        if sackEnabled && (receiveBuffer.outOfOrderBytes > 0 || pendingDSACK != nil) {
            segment.header.options.sackBlocks = sackBlocks(room: timestampsEnabled ? 3 : 4)
        } else {
            lastSACKBlocks.removeAll()
        }
        segment.header.window = advertiseWindow()
        noteAckSent()
        let dataOffset = (seq - sndUna) - (synAcknowledged ? 0 : 1)
        segment.payloadOffset = max(0, dataOffset)
        return segment
    }

    /// The SACK blocks to send (RFC 2018 §4): first the block holding the most
    /// recently received segment (MUST), then the blocks reported most recently
    /// before (SHOULD — so a block survives the loss of a few ACKs), then the rest
    /// in sequence order. O(ranges); runs only while out-of-order data is held.
    ///
    /// A pending D-SACK block (RFC 2883 §4) goes first, once, and is not remembered as reported.
    private func sackBlocks(room: Int) -> TCPSACKBlocks {
        var blocks = TCPSACKBlocks()
        var duplicate: TCPSACKBlock?
        if let block = pendingDSACK {
            blocks.append(block)
            duplicate = block
            pendingDSACK = nil
        }
        func add(_ range: Range<Int>) {
            let block = TCPSACKBlock(left: rcvNxt + range.lowerBound, right: rcvNxt + range.upperBound)
            // The D-SACK block may repeat a block (the one holding the duplicate); the others may not.
            if blocks.count < room && !blocks.dropFirst(duplicate == nil ? 0 : 1).contains(block) { blocks.append(block) }
        }
        if let recent = receiveBuffer.mostRecentRange { add(recent) }
        let ranges = receiveBuffer.outOfOrderRanges
        for previous in lastSACKBlocks {
            let offset = previous.left - rcvNxt
            if offset >= 0, let range = ranges.first(where: { $0.contains(offset) }) { add(range) }
        }
        for range in ranges { add(range) }
        lastSACKBlocks = blocks
        if duplicate != nil {
            lastSACKBlocks = TCPSACKBlocks()
            for block in blocks.dropFirst() { lastSACKBlocks.append(block) }
        }
        return blocks
    }

    /// Records that an ACK for RCV.NXT went out.
    private func noteAckSent() {
        lastAckSent = rcvNxt
        ackNow = false
        segmentsSinceAck = 0
        delayedAckDeadline = nil
    }

    /// The window to offer (bytes): free buffer space, with receiver SWS avoidance —
    /// small increases are not offered — and never less than already promised.
    func advertisableWindow() -> Int {
        let promised = max(0, rcvAdvertisedEdge - rcvNxt)
        let limit = receiveWindowLimit
        let free = min(receiveBuffer.freeSpace, max(0, limit - receiveBuffer.readable))
        let step = max(1, min(limit / 2, announcedMSS))
        if free >= promised + step || free == limit { return free }
        return max(promised, 0)
    }

    /// The most the receive window may reach now: SO_RCVBUF, or under memory pressure
    /// only the storage already held (at least 4 KiB; Linux's tcp_clamp_window). The
    /// SWS step is taken from it too, so a jumbo MSS cannot keep a small window shut. O(1).
    var receiveWindowLimit: Int {
        guard underMemoryPressure else { return receiveBuffer.capacity }
        return min(receiveBuffer.capacity, max(receiveBuffer.allocatedBytes, SendBuffer.minimumAllocation))
    }

    /// The window field for the next segment (scaled), moving the advertised right edge.
    private func advertiseWindow() -> UInt16 {
        let offered = min(advertisableWindow(), 65_535 << Int(rcvScale))
        let field = offered >> Int(rcvScale)
        rcvAdvertisedEdge = .latest(rcvAdvertisedEdge, rcvNxt + (field << Int(rcvScale)))
        return UInt16(field)
    }

    /// With data waiting, nothing in flight and a window too small to use, no
    /// ACK will come to restart sending: with a zero window only a probe can learn
    /// that it opened (RFC 9293 §3.8.6.1); with a small one, the SWS override
    /// timer sends into it anyway (RFC 1122 §4.2.3.4). Both use the persist timer.
    private func armPersistTimerIfNeeded(now: Instant) {
        let waiting = unsentBytes > 0 || (finSeq.map { sndNxt <= $0 } ?? false)
        guard waiting, flightSize == 0, persistDeadline == nil else { return }
        // Integer nanoseconds: Duration's generic `*` looks up type metadata (and allocates) on every call.
        var interval = rtt.rtoNanoseconds
        for _ in 0..<min(persistBackoff, 10) { interval = min(interval &* 2, 60_000_000_000) }
        persistDeadline = Instant(nanoseconds: now.nanoseconds &+ max(interval, minimumRTONanoseconds))
    }
}
