import NetStackWire

extension TCPConnection {
    /// Processes SEG.ACK in a synchronized state (RFC 9293 §3.10.7.4 "fifth"):
    /// frees acknowledged data, takes an RTT sample (RFC 6298, RFC 7323 §4),
    /// updates the send window, and runs loss recovery — SACK and D-SACK
    /// processing, DupThresh, RACK-TLP (RFC 8985) and fast recovery with PRR (RFC 9937).
    ///
    /// `windowMayUpdate` is false for a duplicate ACK accepted out of order
    /// despite PAWS: it carries an older window than the one already taken.
    func processAck(_ header: TCPHeader, ack: SequenceNumber, dataLength: Int, windowMayUpdate: Bool, now: Instant) {
        // Nothing outstanding and nothing new (the ACK field of the data a receiver that sends
        // nothing is given): only the window can change. The loss and rate machinery below
        // would find nothing to do, at some hundred instructions per segment.
        if ack == sndUna, sndMax == sndUna, transmissions.isEmpty, !inRecovery, !inTimeoutRecovery,
           frtoStep == 0, tlpEndSeq == nil, header.options.sackBlocks.isEmpty {
            updateSendWindow(header, ack: ack, windowMayUpdate: windowMayUpdate)
            if sndWnd == 0 { consecutiveTimeouts = 0 }
            rackDeadline = nil
            return
        }
        let previousWindow = sndWnd
        let unaBefore = sndUna
        let echo = timestampsEnabled ? header.options.timestamps.map(\.echo) : nil
        beginAck()
        var newlySacked = 0
        var dsack = false
        if sackEnabled, !header.options.sackBlocks.isEmpty {
            dsack = processDSACK(header.options.sackBlocks, ack: ack, now: now)
            newlySacked = applySACK(header.options.sackBlocks, now: now, echo: echo)
        }
        updateSendWindow(header, ack: ack, windowMayUpdate: windowMayUpdate)

        var delivered = newlySacked
        var isPureDuplicate = false
        if ack > sndUna {
            delivered += acknowledge(upTo: ack, header: header, echo: echo, now: now)
        } else {
            // An answer to a probe of a zero window: the peer is alive, so the connection must
            // stay open however long the window stays shut (RFC 1122 §4.2.2.17).
            if sndWnd == 0 && ack == sndUna { consecutiveTimeouts = 0 }
            // A duplicate ACK (RFC 5681 §2): no data, same window, data outstanding.
            let isDuplicate = ack == sndUna && dataLength == 0 && !header.flags.contains(.syn)
                && !header.flags.contains(.fin) && sndWnd == previousWindow && sndMax > sndUna
            isPureDuplicate = isDuplicate && newlySacked == 0
            if isDuplicate || newlySacked > 0 {
                duplicateAcks += 1
                if isDuplicate && header.options.sackBlocks.isEmpty {
                    // RFC 9937 §5: without SACK each duplicate ACK delivered at most one segment,
                    // and together no more than was sent above the first hole (as Linux's
                    // tcp_limit_reno_sacked): duplicated or forged ACKs cannot inflate PRR's budget.
                    let credit = min(sendMSS, max(0, flightSize - max(transmissions.lostBytes, sendMSS) - duplicateAckCredit))
                    delivered += credit
                    duplicateAckCredit += credit
                    if !inRecovery && !inTimeoutRecovery && duplicateAcks >= dupThresh && sndUna > recover {
                        // RFC 5681 §3.2 / RFC 6582 §3.2 step 2: DupThresh marks the first segment lost.
                        markFirstLost()
                    }
                }
            }
        }
        if frtoStep > 0 {
            frtoProcessAck(advanced: sndUna > unaBefore, isDuplicate: isPureDuplicate || newlySacked > 0, now: now)
        }
        if dsack { rackNoteDSACK() }
        tlpProcessAck(ack: ack, isPureDuplicate: isPureDuplicate, dsack: dsack, now: now)

        // RFC 8985 §6.2 step 5, then fast recovery if anything is lost.
        let lostBefore = ackSample.newlyLost
        rackDetectLoss(now: now)
        let enteringRecovery = !inRecovery && !inTimeoutRecovery && transmissions.lostBytes > 0
        if enteringRecovery {
            enterRecovery(now: now)
            prrStart(unaBeforeAck: unaBefore, newlySacked: newlySacked)
        }
        if inRecovery {
            prrStep(delivered: delivered, safeAck: sndUna > unaBefore && ackSample.newlyLost == lostBefore)
        }
        finishRateSample(now: now)
        // Lost records wait for `retransmitLost` (not while F-RTO probes with new data, RFC 5682 §2.b).
        if transmissions.lostUnsentBytes > 0 && frtoStep != 2 { retransmitHolePending = true }
        if sndUna > unaBefore && !inRecovery { armProbeTimer(now: now) }
        if transmissions.isEmpty { rackDeadline = nil }
    }

    /// The send window from `header` (RFC 9293 §3.10.7.4: only from a newer segment). O(1).
    @inline(__always)
    private func updateSendWindow(_ header: TCPHeader, ack: SequenceNumber, windowMayUpdate: Bool) {
        let seq = header.sequenceNumber
        if windowMayUpdate, sndWl1 < seq || (sndWl1 == seq && sndWl2 <= ack) {
            sndWnd = Int(header.window) << Int(sndScale)
            sndWl1 = seq
            sndWl2 = ack
            maxSndWnd = max(maxSndWnd, sndWnd)
            if sndWnd > 0 { persistDeadline = nil; persistBackoff = 0 }
        }
    }

    /// A cumulative ACK that advances SND.UNA. Returns the data bytes it
    /// delivered that no SACK or duplicate ACK had already reported (RFC 9937's share of DeliveredData).
    private func acknowledge(upTo ack: SequenceNumber, header: TCPHeader, echo: UInt32?, now: Instant) -> Int {
        let acked = ack - sndUna
        let sackedBefore = transmissions.sackedBytes
        removeAcknowledgedRecords(upTo: ack, now: now, echo: echo)
        // SACKed bytes that the cumulative ACK now covers were already counted when SACKed.
        let alreadyDelivered = sackedBefore - transmissions.sackedBytes
        var dataAcked = acked
        // SYN and FIN occupy sequence numbers but no buffer space.
        if !synAcknowledged {
            dataAcked -= 1
            synAcknowledged = true
        }
        if let finSeq, ack > finSeq { dataAcked -= 1 }
        dataAcked = max(0, min(dataAcked, sendBuffer.count))
        sendBuffer.removeFirst(dataAcked)
        let flightBefore = flightSize
        sndUna = ack
        if sndNxt < sndUna { sndNxt = sndUna }
        scoreboard.cumulativeAck(ack)
        duplicateAcks = 0
        consecutiveTimeouts = 0
        var delivered = max(acked - alreadyDelivered, 0)
        do {
            let credited = min(duplicateAckCredit, delivered)
            duplicateAckCredit -= credited
            delivered -= credited
        }

        // RTT: from the echoed timestamp, or from the timed segment (never a retransmitted one: Karn).
        // In nanoseconds: Duration arithmetic is 128-bit, and this runs on every ACK.
        var sample: Int64?
        if timestampsEnabled, let ts = header.options.timestamps, ts.echo != 0 {
            let elapsed = timestamp(now) &- ts.echo
            if elapsed < 1 << 31 { sample = Int64(elapsed) * 1_000_000 }
        } else if let timed = rttTimedSeq, ack > timed {
            sample = now.nanoseconds &- rttTimedAt.nanoseconds
            rttTimedSeq = nil
        }
        if let sample { rtt.addSample(nanoseconds: max(sample, 1_000)) }

        if let hole = undoHole, ack > hole {
            undoHole = nil
            if timestampsEnabled, let ts = header.options.timestamps, ts.echo != 0,
               Int32(bitPattern: ts.echo &- undoRetransmitTS) < 0 {
                undoneByTimestamps += 1
                undoSpuriousReduction(undoCongestion, now: now)
            }
        }

        if inTimeoutRecovery && ack >= recover {
            inTimeoutRecovery = false
            rackRecoveryEnded()
            if !congestion.usesProportionalRateReduction { congestion.exitRecovery(flightSize: flightSize, now: now) }
        }
        if inRecovery {
            if ack >= recover {
                inRecovery = false
                rackRecoveryEnded()
                if congestion.usesProportionalRateReduction {
                    congestion.endRecovery(now: now)  // RFC 9937 §5: cwnd = ssthresh
                } else {
                    congestion.exitRecovery(flightSize: flightSize, now: now)
                }
            } else if !sackEnabled {
                // A partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too; resend it.
                markFirstLost()
            }
        } else {
            congestion.onAck(newlyAcked: acked, flightSize: flightBefore, srttNanoseconds: rtt.srttNanoseconds, now: now)
        }

        // RFC 6298 §5.2/5.3: stop the timer when everything is acknowledged, else restart it.
        if sndUna >= sndMax {
            retransmitDeadline = nil
            unackedSince = nil
        } else {
            retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds)
            unackedSince = now
        }
        return delivered
    }

    /// Arms Eifel's check (RFC 3522): the congestion state now, the TSval the
    /// retransmission of `hole` carries. O(size of the controller's state).
    func armUndo(retransmitTS: UInt32, hole: SequenceNumber) {
        undoCongestion = congestion
        undoRetransmitTS = retransmitTS
        undoHole = hole
    }

    /// The ACK covering a retransmitted hole echoes the original's timestamp: the
    /// original arrived, late, so the path reordered rather than dropped it. Restore
    /// the window from before the reduction (RFC 4015 §3.2's "undo") and leave recovery.
    func undoSpuriousReduction(_ saved: CongestionControl, now: Instant) {
        spuriousRetransmissions += 1
        congestion.undo(restoring: saved, now: now)
        // The segments marked lost were not (Linux's full undo clears them too): otherwise this
        // same ACK's loss detection would start the recovery just undone over again.
        transmissions.clearLost()
        if inTimeoutRecovery { sndNxt = sndMax }  // the go-back-N resend is needless too
        if inRecovery { rackRecoveryEnded() }
        inRecovery = false
        inTimeoutRecovery = false
        dsackUndo = nil
        retransmitHolePending = false
        // DupThresh stays 3: raising it with the reordering seen (as Linux does) needs
        // time-based loss detection (RACK, RFC 8985) beside it, or every real loss in a
        // small window becomes a timeout — the lossy soak showed exactly that.
    }

    /// The start of fast recovery once a segment is marked lost (RFC 5681 §3.2,
    /// RFC 8985 §6.2, RFC 9937 §5): ssthresh from the controller, `recover` =
    /// SND.MAX (RFC 6582 §3.2 step 2), PRR's state reset.
    func enterRecovery(now: Instant) {
        // Eifel watches the first segment resent: with RACK that need not be the one at SND.UNA.
        if timestampsEnabled { armUndo(retransmitTS: timestamp(now), hole: firstLostSequence ?? sndUna) }
        dsackUndo = congestion
        recoveryRetransmissionsUndetected = 0
        episodeRetransmitLow = sndUna
        episodeRetransmitHigh = sndUna
        lastDSACKCounted = nil
        if sackEnabled { sackRecoveries += 1 } else { renoRecoveries += 1 }
        inRecovery = true
        recover = sndMax
        congestion.enterFastRecovery(flightSize: flightSize, inFlight: inFlight, now: now)
        // PRR (RFC 9937) sets cwnd from the first ACK on; until then, room for the fast retransmit.
        if congestion.usesProportionalRateReduction { congestion.setRecoveryWindow(inFlight + sendMSS) }
        prrDelivered = 0
        prrOut = 0
        recoverFS = max(flightSize - transmissions.sackedBytes, 1)
        retransmitHolePending = true
        rttTimedSeq = nil
        tlpDeadline = nil
    }
}
