import NetStackWire
import NetStackCore

// What the demo remembers of each TCP flow so it can tell a segment's role
// ("a retransmission", "a duplicate ACK", "fills the hole") and print
// sequence numbers counted from each side's initial sequence number, the way
// Wireshark shows them. It watches the stacks' events; it changes nothing.

/// A TCP segment as the demo tells it.
struct SegmentView {
    /// What the segment does, as far as the sender's side can tell.
    enum Role: Equatable {
        case syn, synAck, data, retransmission, ack, duplicateAck, windowUpdate, zeroWindow, probe, fin, rst
    }

    var role: Role
    var header: TCPHeader
    /// Sequence number counted from the sender's ISN (the SYN is 0, the first data byte 1).
    var seq: Int
    /// Acknowledgment number counted from the receiver's ISN; nil without ACK.
    var ack: Int?
    var length: Int
    /// The window in bytes: the field shifted by the sender's window scale (never in a SYN).
    var window: Int
    /// The window scale in force for this segment's window field (0 in a SYN).
    var windowShift: UInt8
    /// SACK blocks, counted from the receiver's ISN: [left, right).
    var sack: [(left: Int, right: Int)]

    /// The last sequence number the segment occupies plus one (SYN and FIN count one each).
    var end: Int { seq + length + (header.flags.contains(.syn) ? 1 : 0) + (header.flags.contains(.fin) ? 1 : 0) }
}

/// What a received segment's data did at the receiver.
enum ArrivalRole: Equatable {
    /// No data: a pure ACK, SYN or FIN.
    case control
    /// The next expected bytes.
    case inOrder
    /// Bytes beyond a hole: kept aside.
    case outOfOrder(expected: Int)
    /// Bytes that filled the hole before the out-of-order ones; `upTo` is what is now contiguous.
    case fillsHole(upTo: Int)
    /// Bytes the receiver already had.
    case duplicate
}

/// Segment roles and relative numbers for every flow the demo's hosts use.
final class TCPFlowTracker {
    /// One direction of a connection: what its sender has sent and what its receiver has got.
    fileprivate struct Flow {
        var iss: SequenceNumber?
        /// The window scale this side asked for in its SYN (nil: none offered).
        var offeredShift: UInt8?
        /// One past the highest sequence number sent (relative).
        var highestSent = 0
        var lastAck: Int?
        var lastWindow: Int?
        /// Byte ranges the receiver holds (relative), merged and sorted; the SYN is byte 0.
        var received: [Range<Int>] = [0..<1]
        /// Duplicate ACKs the sender has received for `duplicateAckNumber`.
        var duplicateAcks = 0
        var duplicateAckNumber: Int?
        /// Highest ACK the sender received, and the window that came with the last ACK.
        var highestAckReceived: Int?
        var lastWindowReceived: Int?
        /// When the sender last received an ACK.
        var lastAckArrival: Instant?
    }

    fileprivate struct FlowKey: Hashable {
        var from: Endpoint
        var to: Endpoint
    }

    private var flows: [FlowKey: Flow] = [:]

    /// A segment `from` sent `to`: its role and numbers. Call once per segment, in order.
    func sent(_ header: TCPHeader, length: Int, from: Endpoint, to: Endpoint) -> SegmentView {
        let key = FlowKey(from: from, to: to)
        var flow = flows[key] ?? Flow()
        let flags = header.flags
        if flags.contains(.syn) {
            flow.iss = header.sequenceNumber
            flow.offeredShift = header.options.windowScale
        }
        let reverse = flows[FlowKey(from: to, to: from)]
        var view = makeView(header, length: length, flow: flow, reverse: reverse)
        let hadData = length > 0 || flags.contains(.fin)
        if flags.contains(.rst) {
            view.role = .rst
        } else if flags.contains(.syn) {
            view.role = flags.contains(.ack) ? .synAck : .syn
        } else if hadData && view.seq < flow.highestSent {
            view.role = .retransmission
        } else if flags.contains(.fin) {
            view.role = .fin
        } else if length > 0 {
            view.role = .data
        } else if view.seq < flow.highestSent {
            view.role = .probe
        } else if view.window == 0 {
            view.role = .zeroWindow
        } else if let ack = view.ack, ack == flow.lastAck {
            view.role = view.window > (flow.lastWindow ?? 0) ? .windowUpdate : .duplicateAck
        } else {
            view.role = .ack
        }
        flow.highestSent = max(flow.highestSent, view.end)
        if flags.contains(.ack) {
            flow.lastAck = view.ack
            flow.lastWindow = view.window
        }
        flows[key] = flow
        return view
    }

    /// A segment that arrived at `to` from `from` (before TCP acts on it): its
    /// numbers and what its data does there. Duplicate ACKs are counted.
    func received(_ header: TCPHeader, length: Int, from: Endpoint, to: Endpoint, now: Instant)
        -> (view: SegmentView, arrival: ArrivalRole, duplicateAcks: Int) {
        let key = FlowKey(from: from, to: to)
        var flow = flows[key] ?? Flow()
        let reverseKey = FlowKey(from: to, to: from)
        var reverse = flows[reverseKey] ?? Flow()
        var view = makeView(header, length: length, flow: flow, reverse: reverse)
        view.role = header.flags.contains(.syn) ? (header.flags.contains(.ack) ? .synAck : .syn)
            : length > 0 ? .data : header.flags.contains(.fin) ? .fin : .ack

        var arrival = ArrivalRole.control
        if length > 0 {
            arrival = flow.record(view.seq..<(view.seq + length))
        }
        flows[key] = flow

        // At the data's sender (the other direction): count duplicate ACKs the
        // way RFC 5681 §2 defines them (same ACK, same window, no data, data
        // outstanding), and, as with SACK, those that bring news of what arrived.
        var duplicates = 0
        if let ack = view.ack, !header.flags.contains(.syn) {
            reverse.lastAckArrival = now
            let isDuplicate = length == 0 && !header.flags.contains(.fin) && ack == reverse.highestAckReceived
                && reverse.highestSent > ack && (view.window == reverse.lastWindowReceived || !view.sack.isEmpty)
            if isDuplicate {
                reverse.duplicateAcks += 1
                duplicates = reverse.duplicateAcks
            } else if ack > (reverse.highestAckReceived ?? Int.min) {
                reverse.highestAckReceived = ack
                reverse.duplicateAcks = 0
            }
            reverse.lastWindowReceived = view.window
        }
        flows[reverseKey] = reverse
        return (view, arrival, duplicates)
    }

    /// Whether a retransmission `from → to` at `now` answers an ACK that arrived
    /// at this instant (fast retransmit and recovery) rather than a timer (RTO).
    func retransmissionFollowsAck(from: Endpoint, to: Endpoint, now: Instant) -> Bool {
        flows[FlowKey(from: from, to: to)]?.lastAckArrival == now
    }

    /// The receiver's next expected byte on `from → to` (relative), once data has flowed.
    func expected(from: Endpoint, to: Endpoint) -> Int? {
        flows[FlowKey(from: from, to: to)]?.received.first.map(\.upperBound)
    }

    private func makeView(_ header: TCPHeader, length: Int, flow: Flow, reverse: Flow?) -> SegmentView {
        let iss = flow.iss ?? header.sequenceNumber
        let peerISS = reverse?.iss
        let ack: Int? = header.flags.contains(.ack) ? peerISS.map { header.acknowledgmentNumber - $0 } : nil
        // Scaling applies after the handshake, when both sides offered it (RFC 7323 §2.2).
        var shift: UInt8 = 0
        if !header.flags.contains(.syn), let mine = flow.offeredShift, reverse?.offeredShift != nil { shift = mine }
        let sack = header.options.sackBlocks.map { block in
            (left: peerISS.map { block.left - $0 } ?? 0, right: peerISS.map { block.right - $0 } ?? 0)
        }
        return SegmentView(role: .ack, header: header, seq: header.sequenceNumber - iss, ack: ack, length: length,
                           window: Int(header.window) << Int(shift), windowShift: shift, sack: sack)
    }
}

extension TCPFlowTracker.Flow {
    /// Adds `range` to the bytes received and says what it did.
    fileprivate mutating func record(_ range: Range<Int>) -> ArrivalRole {
        let expectedBefore = received.first.map(\.upperBound) ?? 1
        let hadHole = received.count > 1
        if range.upperBound <= expectedBefore { return .duplicate }
        var merged = received + [range]
        merged.sort { $0.lowerBound < $1.lowerBound }
        var result: [Range<Int>] = []
        for piece in merged {
            if let last = result.last, piece.lowerBound <= last.upperBound {
                result[result.count - 1] = last.lowerBound..<max(last.upperBound, piece.upperBound)
            } else {
                result.append(piece)
            }
        }
        received = result
        if range.lowerBound > expectedBefore { return .outOfOrder(expected: expectedBefore) }
        let expectedNow = received.first.map(\.upperBound) ?? range.upperBound
        return hadHole && expectedNow > range.upperBound ? .fillsHole(upTo: expectedNow) : .inOrder
    }
}
