public import NetStackCore
import NetStackWire

/// A capture point shared by any number of links: records frames into one
/// classic pcap file (link type 1, Ethernet without FCS).
///
/// Links record each frame when it starts onto the wire, which may be later
/// than the moment it was handed over (the link was busy) — so records can
/// come in out of time order. The tap holds them back until no earlier frame
/// can still come (a link never starts a frame before `now`), then writes
/// them in time order, ties in the order recorded. A class so that several
/// links can write into one file. Costs one copy per frame into a pending
/// list, then one copy into the writer.
public final class PcapTap {
    private var writer: PcapWriter
    /// Frames not yet written, sorted by (time, sequence).
    private var pending: [(nanoseconds: Int64, sequence: Int, frame: [UInt8])] = []
    private var sequence = 0

    /// A tap keeping at most `snapLength` bytes of each frame.
    public init(snapLength: Int = 65535) {
        writer = PcapWriter(snapLength: snapLength)
    }

    /// Frames recorded so far.
    public var frameCount: Int { writer.frameCount + pending.count }

    /// Records `frame`, which starts onto the wire at `start`, reported at `now`
    /// (`start` ≥ `now`). With `stripFCS` the last four bytes are left out,
    /// since pcap's Ethernet link type carries frames without FCS.
    public func record(_ frame: [UInt8], at start: Instant, now: Instant, stripFCS: Bool) {
        let body = stripFCS ? Array(frame.dropLast(EthernetFCS.length)) : frame
        var index = pending.endIndex
        while index > pending.startIndex, pending[index - 1].nanoseconds > start.nanoseconds { index -= 1 }
        pending.insert((start.nanoseconds, sequence, body), at: index)
        sequence += 1
        flush(before: now)
    }

    /// Writes out every pending frame that started at or before `now`: no frame recorded later can precede them.
    public func flush(before now: Instant) {
        var written = 0
        for record in pending where record.nanoseconds <= now.nanoseconds {
            writer.append(record.frame, nanoseconds: record.nanoseconds)
            written += 1
        }
        if written > 0 { pending.removeFirst(written) }
    }

    /// Every byte of the file not taken yet (the 24-byte header first, the
    /// first time), including all pending frames; later calls continue the file.
    public func takeBytes() -> [UInt8] {
        for record in pending { writer.append(record.frame, nanoseconds: record.nanoseconds) }
        pending.removeAll()
        return writer.takeBytes()
    }
}
