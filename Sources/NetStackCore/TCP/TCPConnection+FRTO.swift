// F-RTO (RFC 5682): after a retransmission timeout on a connection without
// timestamps (where Eifel detection cannot work), send new data rather than
// more retransmissions on the first ACK that advances SND.UNA, and let the
// next ACK tell whether the timeout was spurious; if so the reduction is
// undone as RFC 4015 responds to Eifel.
//
// Two variants, chosen by what the connection negotiated:
// - without SACK, the basic algorithm (§2): a duplicate ACK at either step
//   means the timeout was genuine, and a second ACK that advances SND.UNA over
//   data sent only once, before the timeout, means it was spurious;
// - with SACK, the SACK-enhanced algorithm (§3): duplicate ACKs before the
//   first new ACK only feed the scoreboard, and the second ACK decides by what
//   it acknowledges, cumulatively or by SACK: data past the recovery point
//   (the new data) means genuine; data below it, sent once and not
//   acknowledged before, means spurious; a duplicate ACK acknowledging nothing
//   of the kind means genuine.
// `recover` holds RFC 5682's RecoveryPoint (SND.MAX at the timeout).

import NetStackWire

extension TCPConnection {
    /// RFC 5682 step 1's condition, checked at the timeout: the first timeout of this data,
    /// no timestamps (Eifel covers those), and no loss recovery, fast or from a timeout,
    /// still under way (its retransmissions could be acknowledged and look like originals). O(1).
    var frtoMayStart: Bool {
        !timestampsEnabled && consecutiveTimeouts == 1 && !inRecovery && !inTimeoutRecovery
    }

    /// RFC 5682 steps 2 and 3 for one ACK after the timeout's retransmission: §3's
    /// SACK-enhanced variant on SACK connections, §2's basic one otherwise. Reads what
    /// the ACK delivered from `ackLowestOriginal` and RACK.fack. O(1),
    /// except the undo, which takes back the loss marks, O(records).
    func frtoProcessAck(advanced: Bool, isDuplicate: Bool, now: Instant) {
        switch frtoStep {
        case 1:
            guard advanced else {
                // Basic step 2.a: a duplicate ACK means the timeout was genuine. SACK step 2: the
                // blocks went to the scoreboard; keep waiting for the ACK of the retransmission.
                if isDuplicate && !sackEnabled { endFRTO() }
                return
            }
            // Step 2.a: an ACK of everything sent before the timeout ends F-RTO; so does having no
            // new data the peer's window lets go (2.b's fallback). New data means bytes past
            // SND.MAX (after a timeout SND.NXT is back at SND.UNA).
            let newData = sendBuffer.count - (sndMax - sndUna)
            guard sndUna < recover, newData > 0, sndWnd > sndMax - sndUna else {
                endFRTO()
                return
            }
            // Step 2.b: new data instead of retransmissions (up to two segments, as cwnd allows).
            sndNxt = sndMax
            frtoStep = 2
        case 2:
            // Step 3: only an ACK that advances SND.UNA or a duplicate ACK decides. Basic 3.b: it
            // advanced SND.UNA over data sent only once, before the timeout.
            guard advanced || isDuplicate else { return }
            if sackEnabled ? frtoSACKSaysSpurious : (advanced && ackLowestOriginal != nil) {
                // Step 3.b: the timeout was spurious; undo as RFC 4015 responds (which takes back the loss marks).
                if let saved = frtoUndo {
                    undoneByFRTO += 1
                    undoSpuriousReduction(saved, now: now)
                }
                endFRTO()
            } else if advanced && !sackEnabled {
                // Only segments sent more than once (a tail loss probe, an earlier recovery's
                // retransmissions) are acknowledged: the ACK may answer a retransmission, so it
                // proves nothing spurious (Linux's FLAG_ORIG_SACK_ACKED). The recovery goes on.
                endFRTO()
            } else {
                // Step 3.a: the timeout was genuine; resend what is lost, starting now (nothing,
                // when the ACK already covered it all: a forced send left armed would later let a
                // fast recovery's first retransmission past cwnd).
                endFRTO()
                if transmissions.lostUnsentBytes > 0 {
                    frtoForceRetransmit = true
                    retransmitHolePending = true
                }
            }
        default:
            endFRTO()
        }
    }

    /// RFC 5682 §3 step 3: the second ACK acknowledges, cumulatively or by SACK,
    /// data below the recovery point not acknowledged before and sent only once
    /// (3.b), and nothing past it (3.a: the new data arriving while the holes stay
    /// means they were lost). "Sent only once" excludes the retransmissions the
    /// RFC does not expect here (a tail loss probe before the timeout): their ACK
    /// may answer the retransmission. O(1).
    private var frtoSACKSaysSpurious: Bool {
        // RACK.fack past the recovery point: only the new data of step 2.b lies there, sent once and
        // acknowledged no earlier than this ACK (the first since 2.b that advanced or SACKed).
        let pastRecoveryPoint = sndUna > recover || rackFack > recover
        guard !pastRecoveryPoint, let lowest = ackLowestOriginal else { return false }
        return lowest < recover
    }

    /// Leaves F-RTO. O(1).
    private func endFRTO() {
        frtoStep = 0
        frtoUndo = nil
    }
}
