import NetStackWire

extension TCPConnection {
    /// Processes SEG.ACK in a synchronized state (RFC 9293 §3.10.7.4 "fifth"):
    /// frees acknowledged data, takes an RTT sample (RFC 6298, RFC 7323 §4),
    /// updates the send window, and runs loss recovery — duplicate ACKs and
    /// NewReno fast recovery (RFC 5681 §3.2, RFC 6582), with SACK (RFC 6675).
    func processAck(_ header: TCPHeader, ack: SequenceNumber, dataLength: Int, now: Instant) {
        let previousWindow = sndWnd
        var newlySacked = 0
        if sackEnabled, !header.options.sackBlocks.isEmpty {
            newlySacked = scoreboard.update(blocks: header.options.sackBlocks, snaUna: sndUna, sndNxt: sndMax)
        }

        // Window update (RFC 9293 §3.10.7.4: only from a newer segment).
        let seq = header.sequenceNumber
        if sndWl1 < seq || (sndWl1 == seq && sndWl2 <= ack) {
            sndWnd = Int(header.window) << Int(sndScale)
            sndWl1 = seq
            sndWl2 = ack
            maxSndWnd = max(maxSndWnd, sndWnd)
            if sndWnd > 0 { persistDeadline = nil; persistBackoff = 0 }
        }

        if ack > sndUna {
            acknowledge(upTo: ack, header: header, now: now)
            return
        }
        // An answer to a probe of a zero window: the peer is alive, so the connection must
        // stay open however long the window stays shut (RFC 1122 §4.2.2.17).
        if sndWnd == 0 && ack == sndUna { consecutiveTimeouts = 0 }
        // A duplicate ACK (RFC 5681 §2): no data, same window, data outstanding.
        let isDuplicate = ack == sndUna && dataLength == 0 && !header.flags.contains(.syn)
            && !header.flags.contains(.fin) && sndWnd == previousWindow && sndMax > sndUna
        guard isDuplicate || newlySacked > 0 else { return }
        duplicateAcks += 1
        if inRecovery {
            congestion.onDuplicateAckInRecovery()
        } else if (duplicateAcks >= dupThresh || (sackEnabled && scoreboard.isLost(sndUna, mss: sendMSS, dupThresh: dupThresh)))
                    && sndUna > recover {
            // RFC 6582 §3.2 step 2: not again for losses from before the last recovery.
            enterRecovery(now: now)
        }
    }

    /// A cumulative ACK that advances SND.UNA.
    private func acknowledge(upTo ack: SequenceNumber, header: TCPHeader, now: Instant) {
        var acked = ack - sndUna
        // SYN and FIN occupy sequence numbers but no buffer space.
        var dataAcked = acked
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

        // RTT: from the echoed timestamp, or from the timed segment (never a retransmitted one: Karn).
        var sample: Duration?
        if timestampsEnabled, let ts = header.options.timestamps, ts.echo != 0 {
            let elapsed = timestamp(now) &- ts.echo
            if elapsed < 1 << 31 { sample = .milliseconds(Int64(elapsed)) }
        } else if let timed = rttTimedSeq, ack > timed {
            sample = now - rttTimedAt
            rttTimedSeq = nil
        }
        if let sample { rtt.addSample(max(sample, .microseconds(1))) }

        if let undo, ack > undo.hole {
            self.undo = nil
            if timestampsEnabled, let ts = header.options.timestamps, ts.echo != 0,
               Int32(bitPattern: ts.echo &- undo.retransmitTS) < 0 {
                undoSpuriousReduction(undo.congestion)
            }
        }

        if inRecovery {
            if ack >= recover {
                inRecovery = false
                congestion.exitRecovery(flightSize: flightSize)
            } else {
                // A partial ACK (RFC 6582 §3.2 step 5): the next hole is lost too; resend it.
                congestion.onPartialAck(newlyAcked: acked)
                highRxt = .latest(highRxt, sndUna)
                retransmitHolePending = true
            }
        } else {
            congestion.onAck(newlyAcked: acked, flightSize: flightBefore, rtt: rtt.srtt, now: now)
        }
        acked = 0

        // RFC 6298 §5.2/5.3: stop the timer when everything is acknowledged, else restart it.
        if sndUna >= sndMax {
            retransmitDeadline = nil
            unackedSince = nil
        } else {
            retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds)
            unackedSince = now
        }
    }

    /// The ACK covering a retransmitted hole echoes the original's timestamp: the
    /// original arrived, late, so the path reordered rather than dropped it. Restore
    /// the window from before the reduction (RFC 4015 §3.2's "undo") and leave recovery.
    private func undoSpuriousReduction(_ saved: CongestionControl) {
        spuriousRetransmissions += 1
        congestion = saved
        inRecovery = false
        retransmitHolePending = false
        // DupThresh stays 3: raising it with the reordering seen (as Linux does) needs
        // time-based loss detection (RACK, RFC 8985) beside it, or every real loss in a
        // small window becomes a timeout — the lossy soak showed exactly that.
    }

    /// Fast retransmit and the start of fast recovery (RFC 5681 §3.2, RFC 6582 §3.2, RFC 6675 §5).
    private func enterRecovery(now: Instant) {
        if timestampsEnabled { undo = (congestion, timestamp(now), sndUna) }
        inRecovery = true
        recover = sndMax
        highRxt = sndUna
        congestion.enterFastRecovery(flightSize: flightSize, now: now)
        retransmitHolePending = true
        rttTimedSeq = nil
    }
}
