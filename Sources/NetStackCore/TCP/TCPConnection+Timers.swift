import NetStackWire

extension TCPConnection {
    /// The earliest time `handleTimers` has work, or `now`-like urgency when
    /// something is ready to send (the host then calls `output` at once).
    func nextDeadline() -> Instant? {
        if isFinished { return nil }
        var deadline = earliest(retransmitDeadline, delayedAckDeadline)
        deadline = earliest(deadline, persistDeadline)
        deadline = earliest(deadline, keepAliveDeadline)
        deadline = earliest(deadline, timeWaitDeadline)
        deadline = earliest(deadline, corkDeadline)
        deadline = earliest(deadline, orphaned ? finWait2Deadline : nil)
        deadline = earliest(deadline, bufferReleaseDeadline)
        deadline = earliest(deadline, rackDeadline)
        deadline = earliest(deadline, tlpDeadline)
        deadline = earliest(deadline, pacingDeadline)
        return earliest(deadline, userTimeoutDeadline)
    }

    /// When TCP_USER_TIMEOUT gives up on unacknowledged data, if set.
    private var userTimeoutDeadline: Instant? {
        guard let limit = options.userTimeout, let since = unackedSince else { return nil }
        return since + limit
    }

    /// Runs every timer that is due at `now`.
    func handleTimers(now: Instant) {
        if let deadline = userTimeoutDeadline, deadline <= now, state.isSynchronized || state == .synSent {
            // Like running out of retransmissions: the path is presumed dead, so no RST (as Linux).
            finish(error: .timedOut)
            return
        }
        if let deadline = retransmitDeadline, deadline <= now { retransmissionTimeout(now: now) }
        if isFinished { return }
        if let deadline = rackDeadline, deadline <= now { rackTimerExpired(now: now) }
        if let deadline = tlpDeadline, deadline <= now { probeTimerExpired(now: now) }
        if let deadline = delayedAckDeadline, deadline <= now {
            delayedAckDeadline = nil
            if segmentsSinceAck > 0 { ackNow = true }
        }
        if let deadline = persistDeadline, deadline <= now {
            persistDeadline = nil
            if sndWnd == 0 && orphaned && persistBackoff >= config.maxRetransmissions {
                // Nobody will read the answer: like Linux's tcp_orphan_retries, give up.
                finish(error: .timedOut)
                return
            }
            if sndWnd == 0 {
                probePending = true
                persistBackoff += 1
                windowProbesSent += 1
            } else {
                swsOverride = true
            }
        }
        handlePacingTimer(now: now)
        if let deadline = bufferReleaseDeadline, deadline <= now {
            bufferReleaseDeadline = nil
            sendBuffer.releaseIfEmpty()
            receiveBuffer.releaseIfEmpty()
            transmissions.releaseIfEmpty()
            accountBuffers()
        }
        if let deadline = corkDeadline, deadline <= now {
            corkDeadline = nil
            corkExpired = true
        }
        if let deadline = keepAliveDeadline, deadline <= now {
            if !options.keepAlive || !state.isSynchronized {
                keepAliveDeadline = nil
            } else if keepAliveProbesSent >= options.keepAliveCount {
                resetPending = true
                finish(error: .timedOut)
                return
            } else {
                probePending = true
                keepAliveProbesSent += 1
                keepAliveDeadline = now + options.keepAliveInterval
            }
        }
        if let deadline = finWait2Deadline, deadline <= now, orphaned, state == .finWait2 {
            finish(error: nil)
            return
        }
        if let deadline = timeWaitDeadline, deadline <= now, state == .timeWait {
            finish(error: nil)
        }
    }

    /// RFC 6298 §5.4–5.7: resend from SND.UNA, back the timer off, and shrink the
    /// congestion window to one segment (RFC 5681 §3.1). After too many tries
    /// the connection is aborted with ETIMEDOUT.
    private func retransmissionTimeout(now: Instant) {
        retransmitDeadline = nil
        let limit = state.isSynchronized ? config.maxRetransmissions : config.synRetries
        guard consecutiveTimeouts < limit else {
            finish(error: softError ?? .timedOut)
            return
        }
        consecutiveTimeouts += 1
        rtt.backoff()
        rttTimedSeq = nil
        if state == .synSent || state == .synReceived || !synAcknowledged {
            // Our SYN is not acknowledged yet (possibly closed early, in FIN_WAIT_1): resend it.
            synPending = true
            totalRetransmissions += 1
            retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds)
            return
        }
        guard sndMax > sndUna else { return }
        // The first timeout of this data keeps what to restore if it proves spurious (RFC 3522),
        // or, without timestamps, starts F-RTO (RFC 5682 step 1) to find out.
        if timestampsEnabled, consecutiveTimeouts == 1 { armUndo(retransmitTS: timestamp(now), hole: sndUna) }
        frtoStep = frtoMayStart ? 1 : 0
        frtoUndo = frtoStep == 1 ? congestion : nil
        // Everything unSACKed is about to be marked lost: BBR's inflight after the marking is 0.
        congestion.onRetransmissionTimeout(flightSize: flightSize, inFlight: 0, now: now)
        // RFC 8985 §6.3: after a timeout everything outstanding and not SACKed is lost;
        // the go-back-N below resends it record by record.
        beginAck()
        let lostBefore = transmissions.lostBytes
        transmissions.markAllLost()
        lostTotal += transmissions.lostBytes - lostBefore
        inTimeoutRecovery = true
        tlpDeadline = nil
        tlpEndSeq = nil
        tlpPending = false
        rackDeadline = nil
        dsackUndo = nil
        inRecovery = false
        duplicateAcks = 0
        recover = sndMax  // RFC 6582 §4: no fast retransmit for what was sent before the timeout
        sndNxt = sndUna
        retransmitDeadline = Instant(nanoseconds: now.nanoseconds &+ rtt.rtoNanoseconds)
    }
}
