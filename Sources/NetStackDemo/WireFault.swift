import NetStackCore
import NetStackDevices
import NetStackSimulator

/// One deterministic fault on one cable: the `n`-th frame a node sends onto
/// it that passes a length test is corrupted (one bit flipped) or lost.
///
/// The simulator reports each frame just before the link carries it, so the
/// fault sets the link's `corruptFrames` or `dropFrames` to that frame's
/// number at that moment. A corruption the link's own random loss swallows
/// does not count: the fault then takes the next matching frame, so the
/// demo's FCS drop happens even with `--loss`.
final class WireFault {
    enum Kind { case corrupt, drop }

    let kind: Kind
    let link: Link
    let direction: LinkDirection
    /// The node whose frames are counted (the sender in `direction`).
    let sender: String
    /// Which frames count, by length on the wire (FCS included).
    let matches: (Int) -> Bool
    /// Matching frames to let pass before the fault strikes.
    let skip: Int
    /// Counting only while armed.
    var armed = false
    /// Set once the fault has struck (the frame's number in its direction).
    private(set) var struck: Int?
    /// Called once, when the fault strikes, before the link's own report of it.
    var onStrike: (() -> Void)?

    private var seen = 0
    private var pending: Int?

    init(_ kind: Kind, on link: Link, direction: LinkDirection, skip: Int = 0, matches: @escaping (Int) -> Bool) {
        self.kind = kind
        self.link = link
        self.direction = direction
        self.sender = link.sender(direction).node.name
        self.skip = skip
        self.matches = matches
    }

    /// Sees a frame `node` is about to put on the link named `linkName`.
    func willTransmit(node: String, linkName: String, length: Int) {
        guard armed, struck == nil, pending == nil, node == sender, linkName == link.name, matches(length) else { return }
        seen += 1
        guard seen > skip else { return }
        let number = link.counters(direction).frames + 1
        pending = number
        switch kind {
        case .corrupt: link.configure(direction) { $0.corruptFrames = [number] }
        case .drop: link.configure(direction) { $0.dropFrames = [number] }
        }
    }

    /// Sees what the link did; returns true when this was the fault striking.
    ///
    /// The first loss or corruption the link reports in `direction` after the
    /// fault set its frame number is about that frame: nothing else crosses the
    /// link between the simulator's report and the link's. (The link's
    /// configuration is left as set: its frame numbers only grow.)
    func linkReported(_ event: DeviceEvent) -> Bool {
        guard pending != nil else { return false }
        switch (kind, event) {
        case (.corrupt, .linkCorrupted(link.name, direction, _)), (.drop, .linkLost(link.name, direction, _)):
            struck = pending
            pending = nil
            armed = false
            onStrike?()
            return true
        case (.corrupt, .linkLost(link.name, direction, _)):
            // The random loss took the frame first: the next matching frame gets the fault.
            pending = nil
            return false
        default:
            return false
        }
    }
}
