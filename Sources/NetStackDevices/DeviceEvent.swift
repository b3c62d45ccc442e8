public import NetStackWire

/// The direction a frame crosses a ``Link``: from its `a` end to its `b` end, or back.
public enum LinkDirection: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// From endpoint `a` to endpoint `b`.
    case aToB
    /// From endpoint `b` to endpoint `a`.
    case bToA

    /// The other direction.
    public var reversed: LinkDirection { self == .aToB ? .bToA : .aToB }

    /// `a→b` or `b→a`.
    public var description: String { self == .aToB ? "a→b" : "b→a" }
}

/// Something a hub, switch or link did to a frame, reported to its `observer`
/// so a demo can narrate it. Reporting costs one closure call and nothing when
/// no observer is set.
public enum DeviceEvent: Hashable, Sendable, CustomStringConvertible {
    /// A hub copied a frame from `inPort` to every port in `outPorts`.
    case hubRepeated(hub: String, inPort: PortID, outPorts: [PortID], length: Int)
    /// A switch saw `mac` as a source on `port` for the first time (or after it aged out).
    case switchLearned(switch: String, mac: MACAddress, port: PortID)
    /// A switch saw a known `mac` as a source on a different port than before.
    case switchMoved(switch: String, mac: MACAddress, from: PortID, to: PortID)
    /// A switch forgot `mac` because no frame came from it within the aging time.
    case switchAged(switch: String, mac: MACAddress, port: PortID)
    /// A switch sent a frame for `mac` out of the one port it learned `mac` on.
    case switchForwarded(switch: String, mac: MACAddress, inPort: PortID, outPort: PortID)
    /// A switch sent a frame for an unknown, broadcast or multicast `mac` out of every other port.
    case switchFlooded(switch: String, mac: MACAddress, inPort: PortID, outPorts: [PortID])
    /// A switch dropped a frame for `mac` because `mac` lives on the port it came in by.
    case switchFiltered(switch: String, mac: MACAddress, port: PortID)
    /// A switch dropped a frame whose FCS did not verify.
    case switchFCSDrop(switch: String, port: PortID, length: Int)
    /// A switch dropped a frame too short to hold an Ethernet header (and FCS, where expected).
    case switchRunt(switch: String, port: PortID, length: Int)
    /// A link lost a frame.
    case linkLost(link: String, direction: LinkDirection, length: Int)
    /// A link flipped `bitsFlipped` bits in a frame.
    case linkCorrupted(link: String, direction: LinkDirection, bitsFlipped: Int)
    /// A link delivered a frame twice.
    case linkDuplicated(link: String, direction: LinkDirection, length: Int)
    /// A link held a frame back by `delay`, letting later frames overtake it.
    case linkReordered(link: String, direction: LinkDirection, length: Int, delay: Duration)

    /// One line of narration, e.g. `sw0: learned 02:00:00:00:00:01 on port 1`.
    public var description: String {
        switch self {
        case let .hubRepeated(hub, inPort, outPorts, length):
            "\(hub): repeated \(length) bytes from port \(inPort) to ports \(Self.list(outPorts))"
        case let .switchLearned(name, mac, port): "\(name): learned \(mac) on port \(port)"
        case let .switchMoved(name, mac, from, to): "\(name): \(mac) moved from port \(from) to port \(to)"
        case let .switchAged(name, mac, port): "\(name): forgot \(mac) on port \(port) (aged out)"
        case let .switchForwarded(name, mac, inPort, outPort):
            "\(name): forwarded frame for \(mac) from port \(inPort) to port \(outPort)"
        case let .switchFlooded(name, mac, inPort, outPorts):
            "\(name): flooded frame for \(mac) from port \(inPort) to ports \(Self.list(outPorts))"
        case let .switchFiltered(name, mac, port): "\(name): filtered frame for \(mac) (already on port \(port))"
        case let .switchFCSDrop(name, port, length): "\(name): dropped \(length)-byte frame on port \(port): bad FCS"
        case let .switchRunt(name, port, length): "\(name): dropped \(length)-byte runt on port \(port)"
        case let .linkLost(link, direction, length): "\(link) \(direction): lost \(length)-byte frame"
        case let .linkCorrupted(link, direction, bits): "\(link) \(direction): flipped \(bits) bit\(bits == 1 ? "" : "s")"
        case let .linkDuplicated(link, direction, length): "\(link) \(direction): duplicated \(length)-byte frame"
        case let .linkReordered(link, direction, length, delay):
            "\(link) \(direction): held \(length)-byte frame back by \(delay)"
        }
    }

    private static func list(_ ports: [PortID]) -> String {
        ports.isEmpty ? "(none)" : ports.map(String.init).joined(separator: ",")
    }
}
