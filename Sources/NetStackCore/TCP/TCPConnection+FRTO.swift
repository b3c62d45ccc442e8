// F-RTO (RFC 5682 §2, the basic algorithm): after a retransmission timeout on
// a connection without timestamps (where Eifel detection cannot work), send
// new data rather than more retransmissions on the first ACK that advances
// SND.UNA; if the next ACK advances SND.UNA too, it acknowledged data that
// was sent only once, before the timeout — the timeout was spurious, and the
// reduction is undone as RFC 4015 responds to Eifel. SACK connections use
// the same basic algorithm (the SACK-enhanced variant of §3 is not built).

import NetStackWire

extension TCPConnection {
    /// RFC 5682 §2 steps 2 and 3 for one ACK after the timeout's retransmission;
    /// `deliveredOriginal`: the ACK delivered a segment that was never sent twice. O(1),
    /// except the undo, which takes back the loss marks, O(records).
    func frtoProcessAck(advanced: Bool, deliveredOriginal: Bool, isDuplicate: Bool, now: Instant) {
        switch frtoStep {
        case 1:
            // Step 2: a duplicate ACK, or one acknowledging everything sent, ends F-RTO (2.a).
            // New data means bytes past SND.MAX (after a timeout SND.NXT is back at SND.UNA).
            let newData = sendBuffer.count - (sndMax - sndUna)
            guard advanced, sndUna < recover, newData > 0 else {
                if advanced || isDuplicate { endFRTO() }
                return
            }
            // Step 2.b: new data instead of retransmissions (up to two segments, as cwnd allows).
            sndNxt = sndMax
            frtoStep = 2
        case 2:
            if advanced && !deliveredOriginal {
                // Only segments sent more than once (a tail loss probe, an earlier recovery's
                // retransmissions) are acknowledged: the ACK may answer a retransmission, so it
                // proves nothing spurious (Linux's FLAG_ORIG_SACK_ACKED). The recovery goes on.
                endFRTO()
            } else if advanced {
                // Step 3.b: original transmissions acknowledged: the timeout was spurious.
                if let saved = frtoUndo {
                    undoneByFRTO += 1
                    transmissions.clearLost()
                    undoSpuriousReduction(saved, now: now)
                }
                endFRTO()
            } else if isDuplicate {
                // Step 3.a: the timeout was genuine; resend what is lost, starting now.
                endFRTO()
                frtoForceRetransmit = true
                retransmitHolePending = true
            }
        default:
            endFRTO()
        }
    }

    /// Leaves F-RTO. O(1).
    private func endFRTO() {
        frtoStep = 0
        frtoUndo = nil
    }
}
