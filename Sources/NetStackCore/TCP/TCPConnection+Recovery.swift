// Loss recovery on the transmission records: delivery-rate sampling
// (draft-ietf-ccwg-bbr §4.5, after draft-cheng-iccrg-delivery-rate-estimation),
// RACK-TLP loss detection (RFC 8985), Proportional Rate Reduction (RFC 9937),
// and D-SACK-based undo (RFC 2883, RFC 3708). The state lives in
// TCPConnection's "Loss detection (RFC 8985)" section; the ACK path
// (`processAck`), the output path and the timers call in here.
//
// Every per-ACK function is allocation-free. Costs are stated per function;
// the one walk that can exceed the records an ACK covers is RACK's loss scan
// (O(records sent before RACK.xmit_ts that are still outstanding)), which in
// steady state stops at the first record and in recovery walks the holes
// below the highest delivered segment, jumping over each SACKed run.

import NetStackWire

extension TCPConnection {
    // MARK: Flight

    /// RFC 6675's pipe from running counts: bytes sent and not acknowledged,
    /// minus the SACKed and the lost ones, plus retransmissions in flight
    /// (Linux's packets_out − (sacked_out + lost_out) + retrans_out, in bytes). O(1).
    var inFlight: Int {
        max(0, flightSize - transmissions.sackedBytes - transmissions.lostBytes + transmissions.retransmittedBytes)
    }

    // MARK: Sending

    /// Records a data segment [start, end) handed out at `now` (RFC 8985 §6.1,
    /// draft-ietf-ccwg-bbr §4.5.2's per-packet snapshot): a new record for new
    /// data, or the resent record marked retransmitted. O(1) for new data,
    /// O(log records) for a retransmission.
    func noteTransmission(start: SequenceNumber, end: SequenceNumber, now: Instant) {
        guard end > start else { return }
        let nowNs = now.nanoseconds
        if transmissions.isEmpty || inFlight == 0 {
            // Nothing in flight: the rate clock starts here (draft §4.5.2.2).
            firstSentNanoseconds = nowNs
            deliveredNanoseconds = nowNs
        }
        var snapshot = TransmissionRecord(start: start, end: end, sentNanoseconds: nowNs)
        snapshot.delivered = deliveredTotal
        snapshot.deliveredNanoseconds = deliveredNanoseconds
        snapshot.firstSentNanoseconds = firstSentNanoseconds
        snapshot.lost = lostTotal
        snapshot.isAppLimited = appLimitedUntil != 0
        if inRecovery { prrOut += end - start }
        if let last = transmissions.last, start < last.end {
            // A retransmission: mark every record that starts inside [start, end).
            var index = transmissions.firstIndex(endingAfter: start)
            while index < transmissions.count, transmissions[index].start < end {
                // The peer holds a SACKed record: resending it puts nothing in flight.
                if transmissions[index].flags.contains(.sacked) {
                    index += 1
                    continue
                }
                snapshot.txInFlight = inFlight + transmissions[index].length
                transmissions.markRetransmitted(index, now: nowNs, snapshot: snapshot)
                if inRecovery {
                    recoveryRetransmissionsUndetected += 1
                    if episodeRetransmitLow == episodeRetransmitHigh || start < episodeRetransmitLow { episodeRetransmitLow = start }
                    episodeRetransmitHigh = .latest(episodeRetransmitHigh, end)
                }
                index += 1
            }
            return
        }
        snapshot.txInFlight = inFlight + (end - start)
        let allocated = transmissions.allocatedBytes
        transmissions.append(snapshot)
        if transmissions.allocatedBytes != allocated { accountBuffers() }  // the ring grew (rarely)
    }

    /// The longest segment that may start at `seq` below SND.MAX so that a
    /// resend stays aligned with the record there (one record per segment). O(log records).
    func alignedLength(at seq: SequenceNumber) -> Int {
        let index = transmissions.firstIndex(endingAfter: seq)
        guard index < transmissions.count else { return .max }
        return transmissions[index].end - seq
    }

    /// C.app_limited (draft §4.5.2.3): the application has nothing more to
    /// send, the window is not full and nothing lost waits to be resent, so
    /// the samples until what is in flight now is delivered measure the
    /// application, not the path. O(1).
    /// BBR's ProbeRTT asks for the same mark while it holds the flight down
    /// (draft-ietf-ccwg-bbr §5.3.4.4): its low rate is its own doing.
    func noteApplicationLimited() {
        let mark = max(deliveredTotal + inFlight, 1)
        // Already marked up to here (a receiver that sends nothing asks on every segment): no change either way.
        if appLimitedUntil == mark { return }
        if congestion.wantsAppLimitedMark {
            appLimitedUntil = mark
            return
        }
        guard unsentBytes < sendMSS, inFlight < congestion.cwnd, transmissions.lostBytes == 0 else { return }
        appLimitedUntil = mark
    }

    // MARK: The ACK

    /// Starts the per-ACK accounting (call before any delivery is noted). O(1).
    func beginAck() {
        ackSample = RateSample()
        ackSample.priorInFlight = inFlight
        ackHasPrior = false
        ackLowestOriginal = nil
        rackFackBeforeAck = rackFack
    }

    /// `record` (the one at `index`) was delivered by this ACK (cumulatively or by SACK):
    /// counts it, takes the rate snapshot of the most recently sent record
    /// delivered (draft §4.5.2.4, "UpdateRateSample"), notes what F-RTO asks of
    /// the ACK (RFC 5682 step 3), and advances RACK (RFC 8985 §6.2 steps 2–3).
    /// The caller removes or marks it; `markSampled` false spares the write for a
    /// record about to be removed. O(1).
    func noteDelivered(_ record: TransmissionRecord, at index: Int, length: Int, now: Instant, echo: UInt32?,
                       markSampled: Bool = true) {
        deliveredTotal += length
        deliveredNanoseconds = now.nanoseconds
        ackSample.newlyAcked += length
        if !record.flags.contains(.everRetransmitted), ackLowestOriginal.map({ record.start < $0 }) ?? true {
            ackLowestOriginal = record.start
        }
        if !record.flags.contains(.sampled) {
            if !ackHasPrior || record.delivered > ackSample.priorDelivered {
                ackHasPrior = true
                ackSample.priorDelivered = record.delivered
                ackPriorDeliveredNanoseconds = record.deliveredNanoseconds
                ackSample.isAppLimited = record.isAppLimited
                ackSample.txInFlight = record.txInFlight
                ackPriorLost = record.lost
                ackSendIntervalNanoseconds = record.sentNanoseconds - record.firstSentNanoseconds
                firstSentNanoseconds = record.sentNanoseconds
                ackSample.rttNanoseconds = record.flags.contains(.everRetransmitted)
                    ? -1 : now.nanoseconds - record.sentNanoseconds
            }
            if markSampled { transmissions.markSampled(index) }
        }
        rackAdvance(record, now: now, echo: echo)
    }

    /// RFC 8985 §6.2 steps 2 and 3 for one delivered segment. O(1).
    private func rackAdvance(_ record: TransmissionRecord, now: Instant, echo: UInt32?) {
        let rtt = now.nanoseconds - record.sentNanoseconds
        if record.flags.contains(.everRetransmitted) {
            // Step 2: the ACK may answer the original, not the retransmission. With
            // timestamps an echo older than the retransmission says so; without, an
            // RTT below the minimum does.
            if let echo, Int32(bitPattern: echo &- timestamp(Instant(nanoseconds: record.sentNanoseconds))) < 0 { return }
            if let minimum = minRTTNanoseconds, rtt < minimum { return }
        } else {
            minRTTNanoseconds = min(minRTTNanoseconds ?? rtt, max(rtt, 0))
            // Step 3: delivered below the highest delivered before this ACK, never resent: reordered.
            if record.end < rackFackBeforeAck { rackReorderingSeen = true }
        }
        if record.end > rackFack { rackFack = record.end }
        rackRTTNanoseconds = max(rtt, 0)
        if let xmit = rackXmitNanoseconds,
           !(record.sentNanoseconds > xmit || (record.sentNanoseconds == xmit && record.end > rackEndSeq)) { return }
        rackXmitNanoseconds = record.sentNanoseconds
        rackEndSeq = record.end
    }

    /// Applies one ACK's SACK blocks to the records and the scoreboard,
    /// block by block: only the parts no earlier block covered are walked, so
    /// the cost is O(ranges + log records + records newly SACKed) per block.
    /// Returns the bytes of the records newly SACKed (RFC 9937's share of
    /// DeliveredData): counted from the records, not the scoreboard, which
    /// forgets ranges past 32 (and would count a forgotten range twice, or a
    /// range beyond the 32nd not at all) and counts parts of records that
    /// stay outstanding. Blocks below SND.UNA, beyond SND.MAX or reversed are
    /// skipped (the scoreboard's rules). No allocation.
    func applySACK(_ blocks: TCPSACKBlocks, now: Instant, echo: UInt32?) -> Int {
        var newly = 0
        for block in blocks {
            let low = block.left - sndUna, high = block.right - sndUna
            guard low >= 0, high > low, high <= sndMax - sndUna else { continue }
            scoreboard.forEachUncovered(from: block.left, to: block.right) { gapStart, gapEnd in
                var index = transmissions.firstIndex(endingAfter: gapStart)
                while index < transmissions.count {
                    let record = transmissions[index]
                    if record.start >= gapEnd { break }
                    // Only whole records are SACKed: a block ending inside one leaves it outstanding.
                    if record.start >= block.left, record.end <= block.right, !record.flags.contains(.sacked) {
                        noteDelivered(record, at: index, length: record.length, now: now, echo: echo)
                        transmissions.markSacked(index)
                        newly += record.length
                    }
                    index += 1
                }
            }
            _ = scoreboard.update(blocks: CollectionOfOne((start: block.left, end: block.right)),
                                  snaUna: sndUna, sndNxt: sndMax)
        }
        return newly
    }

    /// A cumulative ACK to `ack`: removes the records it covers, noting those
    /// not SACKed before as delivered (a record split by `ack` is trimmed).
    /// O(records removed).
    func removeAcknowledgedRecords(upTo ack: SequenceNumber, now: Instant, echo: UInt32?) {
        while let first = transmissions.isEmpty ? nil : transmissions[0], first.start < ack {
            let covered = SequenceNumber.earliest(first.end, ack) - first.start
            let removed = first.end <= ack
            if !first.flags.contains(.sacked) {
                noteDelivered(first, at: 0, length: covered, now: now, echo: echo, markSampled: !removed)
            }
            if removed {
                transmissions.removeFirst()
            } else {
                transmissions.trimFirst(to: ack)
                break
            }
        }
    }

    // MARK: D-SACK (RFC 2883, RFC 3708)

    /// Recognises a D-SACK (RFC 2883 §4: the first block lies below the
    /// cumulative ACK, or inside the second block), counts it, and — RFC 3708
    /// §3 — when every retransmission of the last fast recovery has been
    /// reported duplicate, undoes its reduction. Returns whether the first
    /// block was a D-SACK believed.
    ///
    /// Forgery: a block is believed only if it lies inside the span this
    /// recovery retransmitted, no wider than the flight the peer could hold,
    /// and is not the block last counted; so a blind or lying peer cannot
    /// reach undo without reporting each retransmission. O(1).
    func processDSACK(_ blocks: TCPSACKBlocks, ack: SequenceNumber, now: Instant) -> Bool {
        guard let first = blocks.first, first.right > first.left else { return false }
        var duplicate = first.left < ack
        if !duplicate, blocks.count > 1 {
            let second = blocks[1]
            duplicate = second.left <= first.left && first.right <= second.right
        }
        guard duplicate else { return false }
        // RFC 5961's window for ACKs: nothing unsent, nothing older than the largest window.
        guard first.right <= sndMax, first.left >= sndUna - max(maxSndWnd, 1) else { return false }
        dsacksReceived += 1
        guard let saved = dsackUndo, recoveryRetransmissionsUndetected > 0,
              episodeRetransmitLow <= first.left, first.right <= episodeRetransmitHigh,
              lastDSACKCounted != first else { return true }
        lastDSACKCounted = first
        let segments = max(1, (first.right - first.left + sendMSS - 1) / max(sendMSS, 1))
        recoveryRetransmissionsUndetected = max(0, recoveryRetransmissionsUndetected - segments)
        if recoveryRetransmissionsUndetected == 0 {
            // RFC 3708 §3 / RFC 4015: every retransmission was needless; restore the window.
            undoneByDSACK += 1
            undoHole = nil
            undoSpuriousReduction(saved.cwnd > congestion.cwnd || inRecovery ? saved : congestion, now: now)
        }
        return true
    }

    // MARK: RACK loss detection (RFC 8985 §6.2 steps 4–5)

    /// RACK.reo_wnd (RFC 8985 §6.2 step 4): 0 when no reordering was seen and
    /// the sender is in recovery or DupThresh segments are SACKed; else
    /// min(reo_wnd_mult × min_RTT / 4, SRTT) — with min_RTT taken as at least
    /// SRTT / 4. The RFC scales the window with the path's delay through
    /// min_RTT; on a path that reorders by letting some packets skip its delay
    /// (netem's reordering, a multipath tunnel) min_RTT is near zero, and a
    /// window of a quarter of it would call every late packet lost. O(1).
    var rackReorderWindowNanoseconds: Int64 {
        if !rackReorderingSeen {
            if inRecovery || inTimeoutRecovery { return 0 }
            if sackEnabled ? transmissions.sackedBytes >= dupThresh * sendMSS : duplicateAcks >= dupThresh { return 0 }
        }
        guard var minimum = minRTTNanoseconds else { return 0 }
        if let srtt = rtt.srttNanoseconds { minimum = max(minimum, srtt / 4) }
        let window = minimum / 4 * Int64(rackReorderMultiplier)
        return min(window, rtt.srttNanoseconds ?? window)
    }

    /// The current reordering window (`netstat --verbose`). O(1).
    var rackReorderWindow: Duration { .nanoseconds(rackReorderWindowNanoseconds) }

    /// RFC 8985 §6.2 step 4's D-SACK part: widen the window once per round
    /// trip that brought a D-SACK, and keep it for 16 recoveries. O(1).
    func rackNoteDSACK() {
        if let round = rackDSACKRound, sndUna >= round { rackDSACKRound = nil }
        guard rackDSACKRound == nil else { return }
        rackDSACKRound = sndMax
        rackReorderMultiplier = min(rackReorderMultiplier + 1, 64)
        rackReorderPersist = 16
    }

    /// A recovery (fast or RTO) ended: after 16 without a D-SACK the window
    /// goes back to one quarter of min RTT (RFC 8985 §6.2 step 4). O(1).
    func rackRecoveryEnded() {
        rackReorderPersist -= 1
        if rackReorderPersist <= 0 { rackReorderMultiplier = 1 }
    }

    /// RFC 8985 §6.2 step 5, RACK_detect_loss: every outstanding segment sent
    /// before RACK.xmit_ts (or at it with a lower end) whose deadline
    /// xmit_ts + RACK.rtt + reo_wnd has passed is lost; the latest deadline
    /// not yet passed arms the reorder timer. Returns the bytes newly marked lost.
    ///
    /// The scan runs in sequence order and stops at the first never-resent
    /// record sent after RACK.xmit_ts: new data goes out in sequence order, so
    /// every later record was sent later still. A run of SACKed records is
    /// jumped over in one binary search, with the scoreboard's range as the
    /// hint (Linux keeps SACKed segments off its time-sorted list for the same
    /// reason): in recovery with a small MSS most records below RACK.fack are
    /// SACKed, and walking them on every ACK made recovery quadratic. A
    /// record inside a range but not itself SACKed (a block boundary inside
    /// it: the peer holds all its bytes) is skipped too. The ranges are looked
    /// up with a cursor that moves up with the scan, so SACKed records beyond
    /// the scoreboard's 32 ranges (a jittery path SACKs segments one by one)
    /// cost a flag test each. O(holes' records + SACKed islands + ranges +
    /// SACKed runs × log records).
    @discardableResult
    func rackDetectLoss(now: Instant) -> Int {
        guard let xmit = rackXmitNanoseconds else { return 0 }
        // The steady state, answered without the scoreboard's copy: the oldest record is not
        // SACKed, lost or ever resent, and went out after RACK.xmit_ts — the scan stops there.
        if transmissions.isEmpty {
            rackDeadline = nil
            return 0
        }
        let oldest = transmissions[0]
        if oldest.flags.isDisjoint(with: [.sacked, .lost, .everRetransmitted]),
           oldest.sentNanoseconds > xmit || (oldest.sentNanoseconds == xmit && oldest.end > rackEndSeq) {
            rackRecordsScanned += 1
            rackDeadline = nil
            return 0
        }
        let reorderWindow = rackReorderWindowNanoseconds
        var newlyLost = 0, timeout: Int64 = 0
        var index = 0
        let board = scoreboard  // one copy of the inline ranges per scan, not one per record
        var rangeCursor = 0
        while index < transmissions.count {
            let record = transmissions[index]
            rackRecordsScanned += 1
            if record.flags.contains(.sacked) {
                if let end = board.end(ofRangeHolding: record.start, cursor: &rangeCursor) {
                    index = max(index + 1, transmissions.firstIndex(endingAfter: end))
                } else {
                    index += 1
                }
                continue
            }
            defer { index += 1 }
            if record.flags.contains(.lost) && !record.flags.contains(.retransmitted) { continue }
            let sentBefore = record.sentNanoseconds < xmit || (record.sentNanoseconds == xmit && record.end <= rackEndSeq)
            if !sentBefore {
                if record.flags.contains(.everRetransmitted) { continue }
                break
            }
            let remaining = record.sentNanoseconds &+ rackRTTNanoseconds &+ reorderWindow &- now.nanoseconds
            if remaining <= 0 {
                if transmissions.markLost(index) {
                    newlyLost += record.length
                    rackLossesMarked += 1
                }
            } else {
                timeout = max(timeout, remaining)
            }
        }
        rackDeadline = timeout > 0 ? Instant(nanoseconds: now.nanoseconds &+ timeout) : nil
        if newlyLost > 0 { noteLost(newlyLost) }
        return newlyLost
    }

    /// Without SACK the lowest outstanding segment is lost after DupThresh
    /// duplicates or a partial ACK (RFC 5681 §3.2, RFC 6582 §3.2 step 5, as
    /// RFC 8985 §6 allows). O(1).
    func markFirstLost() {
        guard !transmissions.isEmpty, transmissions.markLost(0) else { return }
        noteLost(transmissions[0].length)
    }

    /// The start of the lowest record marked lost and not resent, if any. O(records below it).
    var firstLostSequence: SequenceNumber? {
        guard transmissions.lostUnsentBytes > 0 else { return nil }
        for index in 0..<transmissions.count {
            let record = transmissions[index]
            if record.flags.contains(.lost) && !record.flags.contains(.retransmitted) { return record.start }
        }
        return nil
    }

    /// Counts newly lost bytes (C.lost, the sample's newly_lost) and asks for their retransmission. O(1).
    private func noteLost(_ bytes: Int) {
        lostTotal += bytes
        ackSample.newlyLost += bytes
        retransmitHolePending = true
    }

    /// The reorder timer fired (RFC 8985 §6.3): detect losses again, and start
    /// fast recovery if some were found. O(records scanned).
    func rackTimerExpired(now: Instant) {
        rackDeadline = nil
        beginAck()
        if rackDetectLoss(now: now) > 0 {
            if !inRecovery && !inTimeoutRecovery { enterRecovery(now: now) }
            if inRecovery { prrStep(delivered: 0, safeAck: false) }
        }
        finishRateSample(now: now)
    }

    // MARK: PRR (RFC 9937)

    /// Starts PRR at the start of recovery (RFC 9937 §5): RecoverFS counts the
    /// flight less what was SACKed before this ACK, plus what this ACK
    /// cumulatively acknowledged. O(1).
    func prrStart(unaBeforeAck: SequenceNumber, newlySacked: Int) {
        prrDelivered = 0
        prrOut = 0
        recoverFS = max(sndMax - unaBeforeAck - (transmissions.sackedBytes - newlySacked), 1)
    }

    /// One ACK in recovery (RFC 9937 §5): proportional reduction while pipe >
    /// ssthresh, then PRR-CRB (PRR-SSRB on a safe ACK: SND.UNA advanced and no
    /// new loss), at least one segment when recovery starts; cwnd = pipe + sndcnt. O(1).
    func prrStep(delivered: Int, safeAck: Bool) {
        guard congestion.usesProportionalRateReduction, inRecovery else { return }
        if delivered == 0 && prrOut > 0 { return }
        prrDelivered += delivered
        let pipe = inFlight
        let sendCount = ProportionalRateReduction.sendCount(
            prrDelivered: prrDelivered, prrOut: prrOut, recoverFS: recoverFS, pipe: pipe,
            ssthresh: congestion.ssthresh, delivered: delivered, safeAck: safeAck, mss: sendMSS)
        congestion.setRecoveryWindow(pipe + sendCount)
    }

    // MARK: Rate sample

    /// Completes this ACK's rate sample (draft §4.5.2.4, "GenerateRateSample")
    /// and hands it to the controller if the ACK delivered or marked lost
    /// anything. O(1).
    func finishRateSample(now: Instant) {
        guard ackSample.newlyAcked > 0 || ackSample.newlyLost > 0 else { return }
        if appLimitedUntil != 0 && deliveredTotal > appLimitedUntil { appLimitedUntil = 0 }
        ackSample.totalDelivered = deliveredTotal
        ackSample.totalLost = lostTotal
        ackSample.inFlight = inFlight
        if ackHasPrior {
            ackSample.delivered = deliveredTotal - ackSample.priorDelivered
            ackSample.lost = lostTotal - ackPriorLost
            let ackElapsed = now.nanoseconds - ackPriorDeliveredNanoseconds
            let interval = max(ackSendIntervalNanoseconds, ackElapsed)
            // An interval below min RTT would overstate the rate (Linux's tcp_rate_gen).
            if interval > 0, interval >= (minRTTNanoseconds ?? 0) {
                ackSample.intervalNanoseconds = interval
                ackSample.deliveryRate = Int(Double(ackSample.delivered) * 1e9 / Double(interval))
                maximumDeliveryRate = max(maximumDeliveryRate, ackSample.deliveryRate)
            }
        }
        congestion.onRateSample(ackSample, now: now)
    }

    // MARK: Tail loss probe (RFC 8985 §7)

    /// Arms the probe timeout (RFC 8985 §7.2) after new data went out or an
    /// ACK advanced SND.UNA: PTO = 2·SRTT (+ the delayed-ACK allowance when one
    /// segment is in flight), no later than the RTO; only with SACK, outside
    /// recovery, with nothing SACKed (RFC 8985 §7.2: a hole below SACKed data is
    /// RACK's to find, by its reorder timer), and while no probe is outstanding. O(1).
    func armProbeTimer(now: Instant) {
        guard sackEnabled, !inRecovery, !inTimeoutRecovery, tlpEndSeq == nil, sndMax > sndUna,
              transmissions.sackedBytes == 0, let srtt = rtt.srttNanoseconds else {
            tlpDeadline = nil
            return
        }
        var pto = 2 * srtt
        if flightSize <= sendMSS { pto += Self.worstCaseDelayedAckNanoseconds }
        var deadline = Instant(nanoseconds: now.nanoseconds &+ max(pto, 1_000_000))
        if let rto = retransmitDeadline, rto < deadline { deadline = rto }
        tlpDeadline = deadline
    }

    /// WCDelAckT of RFC 8985 §7.2: 200 ms.
    static let worstCaseDelayedAckNanoseconds: Int64 = 200_000_000

    /// The probe timer fired (RFC 8985 §7.3): one probe goes out with the next
    /// output, unless since it was armed recovery started or data was SACKed
    /// (§7.2's conditions, which a SACK-only ACK does not re-check). O(1).
    func probeTimerExpired(now: Instant) {
        tlpDeadline = nil
        guard sackEnabled, tlpEndSeq == nil, sndMax > sndUna, !inRecovery, !inTimeoutRecovery,
              transmissions.sackedBytes == 0 else { return }
        tlpPending = true
    }

    /// RFC 8985 §7.4 on each ACK while a probe is outstanding: an ACK
    /// past TLP.end_seq for a retransmitted probe without a D-SACK for it means
    /// the probe repaired a loss — reduce cwnd once (enter and leave recovery);
    /// a D-SACK, or a pure duplicate ACK, means nothing was lost. O(1).
    func tlpProcessAck(ack: SequenceNumber, isPureDuplicate: Bool, dsack: Bool, now: Instant) {
        guard let end = tlpEndSeq else { return }
        if ack < end {
            return
        }
        if !tlpIsRetransmission || dsack {
            tlpEndSeq = nil
        } else if ack > end {
            tlpEndSeq = nil
            tailLossProbeRecoveries += 1
            guard !inRecovery else { return }
            congestion.enterFastRecovery(flightSize: flightSize, now: now)
            congestion.endRecovery(now: now)
        } else if isPureDuplicate {
            tlpEndSeq = nil
        }
    }
}

/// The arithmetic of Proportional Rate Reduction (RFC 9937 §5), apart from
/// the connection so it can be checked against the RFC on its own.
enum ProportionalRateReduction {
    /// sndcnt for one ACK in recovery, in bytes, rounded up to whole segments
    /// (as Linux counts PRR in packets; prr_out absorbs the overshoot):
    ///
    ///     if pipe > ssthresh:  sndcnt = ⌈prr_delivered × ssthresh / RecoverFS⌉ − prr_out
    ///     else:                sndcnt = min(ssthresh − pipe,
    ///                                       max(prr_delivered − prr_out, DeliveredData) + (safeACK ? SMSS : 0))
    ///     if prr_out = 0 and sndcnt = 0:  sndcnt = SMSS   (the fast retransmit)
    ///
    /// `delivered` is this ACK's DeliveredData. O(1), no overflow for byte counts below 2³¹.
    static func sendCount(prrDelivered: Int, prrOut: Int, recoverFS: Int, pipe: Int, ssthresh: Int,
                          delivered: Int, safeAck: Bool, mss: Int) -> Int {
        let mss = max(mss, 1)
        var sendCount: Int
        if pipe > ssthresh {
            let recoverFS = max(recoverFS, 1)
            sendCount = (prrDelivered * ssthresh + recoverFS - 1) / recoverFS - prrOut
        } else {
            sendCount = max(prrDelivered - prrOut, delivered)
            if safeAck { sendCount += mss }  // PRR-SSRB once recovery is making progress
            sendCount = min(ssthresh - pipe, sendCount)
        }
        sendCount = max(sendCount, 0)
        if prrOut == 0 && sendCount == 0 { sendCount = mss }
        return (sendCount + mss - 1) / mss * mss
    }
}
