import NetStackWire

/// Limits on fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2).
public struct ReassemblyConfig: Sendable {
    /// A datagram still incomplete after this long is dropped (Linux: 30 s).
    public var timeout: Duration = .seconds(30)
    /// Bytes of fragments held for one source address, overhead included.
    public var maxBytesPerSource = 256 * 1024
    /// Bytes of fragments held in all, overhead included (Linux's ipfrag_high_thresh: 4 MiB).
    public var maxBytesTotal = 4 * 1024 * 1024

    public init() {}
}

/// Why a fragment was not kept.
public enum ReassemblyDrop: Sendable, Equatable {
    /// It overlaps data already received (RFC 5722's rule, applied to IPv4): the whole datagram goes.
    case overlap
    /// It alone costs more than the per-source memory bound.
    case memoryLimit
    /// It disagrees with the length a last fragment announced, or ends past 65,535 bytes.
    case inconsistent
}

/// Puts fragmented datagrams back together.
///
/// Fragments are keyed by (source, destination, protocol, identification).
/// Each datagram keeps its fragments as pieces sorted by offset — no buffer
/// sized to the end offset, no copy of what came before — and the host puts
/// them together once, when the last hole fills (`assembleCompleted(header:into:)`).
/// Any overlap drops the datagram.
///
/// Memory is charged as held: each piece's bytes plus ``pieceOverhead``, each
/// datagram ``datagramOverhead``. When a fragment would pass a bound, the
/// oldest incomplete datagrams are evicted to make room — first the arriving
/// source's own when it is over its share, then the oldest of all — so a
/// flood of junk costs a legitimate datagram at most one eviction, never a
/// refusal. Deadlines sit in a ``DeadlineHeap``: the next one is O(1), expiry
/// O(log n) per datagram.
public struct Reassembler: Sendable {
    struct Key: Hashable, Sendable { var source: IPv4Address, destination: IPv4Address, proto: UInt8, id: UInt16 }

    /// Bytes charged per piece beyond its data: the array header and bookkeeping.
    public static let pieceOverhead = 64
    /// Bytes charged per datagram: its table entry, header and heap entry.
    public static let datagramOverhead = 192

    /// One fragment's bytes. The first fragment keeps its IP header in front
    /// (`dataStart` > 0), for the ICMP error that quotes it on timeout.
    struct Piece {
        var offset: Int
        var bytes: [UInt8]
        var dataStart: Int
        var end: Int { offset + bytes.count - dataStart }
    }

    struct Datagram {
        var header: IPv4Header
        var pieces: [Piece] = []
        var totalLength: Int?
        var received = 0
        var charge = Reassembler.datagramOverhead
        var hasFirst = false
    }

    public var config: ReassemblyConfig
    private var datagrams: [Key: Datagram] = [:]
    /// Bytes held per source and in all, and the datagrams' ages.
    private var ledger = ReassemblyLedger<Key, IPv4Address>()
    /// The completed datagram waiting for ``assembleCompleted(header:into:)``.
    private var completed: [Piece] = []
    /// Incomplete datagrams evicted for room, since the start.
    public private(set) var evictions = 0

    public init(config: ReassemblyConfig = ReassemblyConfig()) { self.config = config }

    /// Datagrams being reassembled.
    public var inProgress: Int { datagrams.count }

    /// Bytes charged for the fragments held, overhead included.
    public var bytesHeld: Int { ledger.bytesTotal }

    /// The result of adding a fragment.
    enum Outcome {
        case incomplete
        /// The datagram is whole: its header (offset 0, no MF, full length);
        /// ``assembleCompleted(header:into:)`` writes its bytes.
        case complete(IPv4Header)
        case dropped(ReassemblyDrop)
    }

    /// Adds one fragment (`header` parsed, `payload` its data, `packet` header and data).
    /// Costs one allocation of the fragment's size; O(log n) plus the datagram's piece count.
    mutating func add(header: IPv4Header, payload: UnsafeRawBufferPointer, packet: UnsafeRawBufferPointer,
                      now: Instant) -> Outcome {
        let key = Key(source: header.source, destination: header.destination, proto: header.protocol.rawValue,
                      id: header.identification)
        let start = header.fragmentOffset, end = start + payload.count
        if payload.isEmpty {
            discard(key)
            return .dropped(.overlap)
        }
        guard end + IPv4Header.minimumLength <= 65_535 else {
            discard(key)
            return .dropped(.inconsistent)
        }
        let isNew = datagrams[key] == nil
        let cost = (start == 0 ? packet.count : payload.count) + Self.pieceOverhead + (isNew ? Self.datagramOverhead : 0)
        guard cost <= config.maxBytesPerSource, cost <= config.maxBytesTotal else {
            discard(key)
            return .dropped(.memoryLimit)
        }
        // Check the fragment against what is held before evicting anything for it.
        if let datagram = datagrams[key] {
            if let reason = conflict(datagram, start: start, end: end, moreFragments: header.moreFragments) {
                discard(key)
                return .dropped(reason)
            }
        } else if header.moreFragments && payload.count % 8 != 0 {
            return .dropped(.inconsistent)
        }
        makeRoom(for: cost, source: header.source, keeping: key)
        if ledger.bytes(of: header.source) + cost > config.maxBytesPerSource || ledger.bytesTotal + cost > config.maxBytesTotal {
            // Only the datagram this fragment joins is left to give room: it is the one too big.
            discard(key)
            return .dropped(.memoryLimit)
        }

        var datagram = datagrams.removeValue(forKey: key) ?? newDatagram(header, now: now)
        if !header.moreFragments { datagram.totalLength = end }
        let position = datagram.pieces.firstIndex { $0.offset > start } ?? datagram.pieces.count
        let piece = start == 0 ? Piece(offset: 0, bytes: Array(packet), dataStart: header.headerLength)
            : Piece(offset: start, bytes: Array(payload), dataStart: 0)
        datagram.pieces.insert(piece, at: position)
        if start == 0 {
            datagram.header = header
            datagram.hasFirst = true
        }
        datagram.received += payload.count
        ledger.charge(header.source, cost)
        datagram.charge += isNew ? cost - Self.datagramOverhead : cost

        if let total = datagram.totalLength, datagram.received == total {
            // No overlaps and every byte up to the end: the pieces tile [0, total).
            ledger.close(key, group: key.source, bytes: datagram.charge)
            var whole = datagram.header
            whole.moreFragments = false
            whole.fragmentOffset = 0
            whole.totalLength = whole.headerLength + total
            completed = datagram.pieces
            return .complete(whole)
        }
        datagrams[key] = datagram
        return .incomplete
    }

    /// Writes the datagram that the last ``add`` completed into `buffer`: `header`
    /// then the pieces' data. Returns its length. One copy of each byte, no allocation.
    mutating func assembleCompleted(header: IPv4Header, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        header.emit(into: buffer)
        let base = header.headerLength
        for piece in completed {
            piece.bytes.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: buffer[(base + piece.offset)..<(base + piece.end)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[piece.dataStart...]))
            }
        }
        completed.removeAll(keepingCapacity: true)
        return header.totalLength
    }

    /// Why `[start, end)` cannot join `datagram`, or nil if it can.
    private func conflict(_ datagram: Datagram, start: Int, end: Int, moreFragments: Bool) -> ReassemblyDrop? {
        if !moreFragments {
            if let known = datagram.totalLength, known != end { return .inconsistent }
            if let last = datagram.pieces.last, last.end > end { return .inconsistent }
        } else {
            if (end - start) % 8 != 0 { return .inconsistent }
            if let known = datagram.totalLength, end > known { return .inconsistent }
        }
        let position = datagram.pieces.firstIndex { $0.offset > start } ?? datagram.pieces.count
        if position > 0 && datagram.pieces[position - 1].end > start { return .overlap }
        if position < datagram.pieces.count && datagram.pieces[position].offset < end { return .overlap }
        return nil
    }

    private mutating func newDatagram(_ header: IPv4Header, now: Instant) -> Datagram {
        let key = Key(source: header.source, destination: header.destination, proto: header.protocol.rawValue,
                      id: header.identification)
        ledger.open(key, group: header.source, deadline: now + config.timeout)
        return Datagram(header: header)
    }

    /// Evicts incomplete datagrams, oldest first, until `cost` more bytes fit: the
    /// source's own while it would pass its bound, then anyone's while the total would.
    /// `keeping` (the datagram the fragment joins) is never chosen.
    private mutating func makeRoom(for cost: Int, source: IPv4Address, keeping: Key) {
        while let victim = ledger.victim(for: cost, group: source, keeping: keeping,
                                         maxGroupBytes: config.maxBytesPerSource, maxTotalBytes: config.maxBytesTotal) {
            evictions += 1
            discard(victim)
        }
    }

    private mutating func discard(_ key: Key) {
        guard let datagram = datagrams.removeValue(forKey: key) else { return }
        ledger.close(key, group: key.source, bytes: datagram.charge)
    }

    /// Drops datagrams whose time is up, oldest first; returns how many and the
    /// first fragment of each that had one (an ICMP "reassembly time exceeded"
    /// quotes it, RFC 792). O(log n) per datagram dropped.
    mutating func expire(now: Instant) -> (count: Int, firstFragments: [[UInt8]]) {
        var count = 0
        var firsts: [[UInt8]] = []
        while let key = ledger.due(by: now) {
            guard let datagram = datagrams[key] else { continue }
            count += 1
            if datagram.hasFirst, let first = datagram.pieces.first, first.offset == 0 { firsts.append(first.bytes) }
            discard(key)
        }
        return (count, firsts)
    }

    /// The earliest reassembly deadline. O(1).
    public func nextDeadline() -> Instant? { ledger.nextDeadline }
}
