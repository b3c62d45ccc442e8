import NetStackWire
import NetStackCore

/// Builds the ladder diagram of one connection from what its two ends sent and
/// received: an arrow per segment sent, marked lost when the other end's TCP
/// never saw it (a cable does not reorder, so arrivals match sends in order),
/// with the states each end entered as notes.
final class LadderRecorder {
    /// The left end (the browser) and the right end (the server).
    let left: Endpoint, right: Endpoint
    private let origin: Instant
    private var arrows: [LadderArrow] = []
    /// Per arrow: the relative sequence number and data length of its segment.
    private var segments: [(seq: Int, length: Int)] = []
    /// Segments on their way, per direction (true: left to right), oldest first.
    private var inFlight: [Bool: [(index: Int, key: SegmentKey)]] = [true: [], false: []]
    /// A state to note on the next arrow an end sends (true: the left end).
    private var pendingNote: [Bool: String] = [:]
    /// The arrow whose arrival an end saw last, and when.
    private var lastArrival: [Bool: (index: Int, time: Instant)] = [:]
    private var lastEventWasArrival: [Bool: Bool] = [:]

    /// What identifies a segment between its sending and its arrival.
    private struct SegmentKey: Equatable {
        var seq: SequenceNumber, ack: SequenceNumber, flags: TCPFlags, length: Int, window: UInt16, timestamp: UInt32?
        init(_ header: TCPHeader, _ length: Int) {
            seq = header.sequenceNumber
            ack = header.acknowledgmentNumber
            flags = header.flags
            self.length = length
            window = header.window
            timestamp = header.options.timestamps?.value
        }
    }

    /// A recorder for the connection between `left` and `right`, times counted from `origin`.
    init(left: Endpoint, right: Endpoint, origin: Instant) {
        self.left = left
        self.right = right
        self.origin = origin
    }

    /// Whether `local ↔ remote` is this connection (seen from either end); true for the left end.
    func side(local: Endpoint, remote: Endpoint) -> Bool? {
        if local == left && remote == right { return true }
        if local == right && remote == left { return false }
        return nil
    }

    /// An end sent a segment, labelled `label`; `note` is printed beside the sender's lifeline.
    func sent(_ header: TCPHeader, length: Int, relativeSeq: Int, fromLeft: Bool, label: String, note: String? = nil,
              at time: Instant) {
        var arrow = LadderArrow(time: time - origin, fromLeft: fromLeft, label: label)
        if let state = pendingNote.removeValue(forKey: fromLeft) ?? note {
            if fromLeft { arrow.leftNote = state } else { arrow.rightNote = state }
        }
        arrows.append(arrow)
        segments.append((relativeSeq, length))
        inFlight[fromLeft, default: []].append((arrows.count - 1, SegmentKey(header, length)))
        lastEventWasArrival[fromLeft] = false
    }

    /// An end's TCP saw a segment arrive: it matches the oldest one on its way;
    /// the ones sent before it that never arrived were lost.
    func arrived(_ header: TCPHeader, length: Int, atLeft: Bool, at time: Instant) {
        let direction = !atLeft
        let key = SegmentKey(header, length)
        guard let queue = inFlight[direction], let position = queue.firstIndex(where: { $0.key == key }) else { return }
        for entry in queue[..<position] { arrows[entry.index].lost = true }
        lastArrival[atLeft] = (queue[position].index, time)
        inFlight[direction] = Array(queue[(position + 1)...])
        lastEventWasArrival[atLeft] = true
    }

    /// An end entered `state`: noted on the arrow whose arrival caused it (the
    /// end's last event, at this same instant), else on the next arrow it sends.
    func entered(_ state: TCPState, atLeft: Bool, at time: Instant) {
        let name = state.description
        if lastEventWasArrival[atLeft] == true, let arrival = lastArrival[atLeft], arrival.time == time {
            if atLeft { arrows[arrival.index].leftNote = name } else { arrows[arrival.index].rightNote = name }
        } else {
            pendingNote[atLeft] = name
        }
    }

    /// Notes `note` on the next arrow an end sends, unless a state is to be noted there.
    func noteNextSent(_ note: String, fromLeft: Bool) {
        if pendingNote[fromLeft] == nil { pendingNote[fromLeft] = note }
    }

    /// The diagram so far; segments still on their way when `finished` count as lost.
    func diagram(leftName: String, rightName: String, finished: Bool) -> LadderDiagram {
        var result = arrows
        if finished {
            for entries in inFlight.values { for entry in entries { result[entry.index].lost = true } }
        }
        return LadderDiagram(left: leftName, right: rightName, arrows: result)
    }

    /// The data segments (relative sequence number, length) an end sent that
    /// the other end's TCP never received; those still on their way count when `finished`.
    func lostDataSegments(fromLeft: Bool, finished: Bool) -> [(seq: Int, length: Int)] {
        let unarrived = finished ? Set(inFlight.values.joined().map(\.index)) : []
        return arrows.indices.filter { index in
            arrows[index].fromLeft == fromLeft && segments[index].length > 0 && (arrows[index].lost || unarrived.contains(index))
        }.map { segments[$0] }
    }
}
