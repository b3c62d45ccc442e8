public import NetStackCore

/// A port number on a ``FrameNode``, from 0 to `portCount - 1`.
public typealias PortID = Int

/// Anything that frames enter and leave by numbered ports: a host's LAN adapters, a hub, a switch.
///
/// A node is sans-I/O, like the stack core: it owns no clock and no thread.
/// Its driver (the simulator, a runtime) hands it frames and the current
/// time, polls it for frames to send, and asks when to poll it next.
/// Nodes are classes because links refer to them by identity.
public protocol FrameNode: AnyObject {
    /// A short name for traces and captures ("h1", "sw0").
    var name: String { get }
    /// How many ports the node has; ports are numbered `0..<portCount`.
    var portCount: Int { get }
    /// A frame arrives on `port`: the bytes as on the wire (ending in the 4-byte FCS where the link carries it).
    func receive(_ frame: [UInt8], on port: PortID, now: Instant)
    /// Runs whatever is due at `now` and hands out the frames to send, each with the port it leaves by.
    func poll(now: Instant, transmit: (PortID, [UInt8]) -> Void)
    /// When `poll` must run next even if nothing arrives; nil for "only when a frame arrives".
    func nextDeadline() -> Instant?
}

/// Frames and bytes through one port of a hub or a switch.
public struct PortCounters: Hashable, Sendable {
    /// Frames that arrived on the port.
    public var framesIn = 0
    /// Bytes in the frames that arrived on the port.
    public var bytesIn = 0
    /// Frames sent out of the port.
    public var framesOut = 0
    /// Bytes in the frames sent out of the port.
    public var bytesOut = 0

    /// All zero.
    public init() {}
}
