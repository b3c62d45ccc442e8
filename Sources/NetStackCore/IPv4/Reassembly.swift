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
        var deadline: Instant
        var charge = Reassembler.datagramOverhead
        /// Tells this datagram's heap entries from those of an earlier one under the same key.
        var serial: UInt64
        var hasFirst = false
    }

    /// What one source holds: bytes charged, datagrams, and its datagrams in
    /// creation order (with stale entries for ones gone, skipped and compacted).
    struct SourceLoad {
        var bytes = 0
        var datagrams = 0
        var ages: [(key: Key, serial: UInt64)] = []
        var head = 0
    }

    public var config: ReassemblyConfig
    private var datagrams: [Key: Datagram] = [:]
    private var loadBySource: [IPv4Address: SourceLoad] = [:]
    private var bytesTotal = 0
    /// Creation order of every datagram (its deadline), with stale entries for ones gone.
    private var byAge = DeadlineHeap<(key: Key, serial: UInt64)>()
    private var nextSerial: UInt64 = 0
    /// The completed datagram waiting for ``assembleCompleted(header:into:)``.
    private var completed: [Piece] = []
    /// Incomplete datagrams evicted for room, since the start.
    public private(set) var evictions = 0

    public init(config: ReassemblyConfig = ReassemblyConfig()) { self.config = config }

    /// Datagrams being reassembled.
    public var inProgress: Int { datagrams.count }

    /// Bytes charged for the fragments held, overhead included.
    public var bytesHeld: Int { bytesTotal }

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
        if (loadBySource[header.source]?.bytes ?? 0) + cost > config.maxBytesPerSource
            || bytesTotal + cost > config.maxBytesTotal {
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
        charge(header.source, cost)
        datagram.charge += isNew ? cost - Self.datagramOverhead : cost

        if let total = datagram.totalLength, datagram.received == total {
            // No overlaps and every byte up to the end: the pieces tile [0, total).
            release(key.source, datagram.charge)
            var whole = datagram.header
            whole.moreFragments = false
            whole.fragmentOffset = 0
            whole.totalLength = whole.headerLength + total
            completed = datagram.pieces
            tidy()
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
        let serial = nextSerial
        nextSerial &+= 1
        let key = Key(source: header.source, destination: header.destination, proto: header.protocol.rawValue,
                      id: header.identification)
        let deadline = now + config.timeout
        byAge.push((key, serial), at: deadline)
        loadBySource[header.source, default: SourceLoad()].datagrams += 1
        loadBySource[header.source]!.ages.append((key, serial))
        return Datagram(header: header, deadline: deadline, serial: serial)
    }

    /// Evicts incomplete datagrams, oldest first, until `cost` more bytes fit: the
    /// source's own while it would pass its bound, then anyone's while the total would.
    /// `keeping` (the datagram the fragment joins) is never chosen.
    private mutating func makeRoom(for cost: Int, source: IPv4Address, keeping: Key) {
        while (loadBySource[source]?.bytes ?? 0) + cost > config.maxBytesPerSource,
              let victim = oldest(of: source, except: keeping) {
            evict(victim)
        }
        var held: (deadline: Instant, order: UInt64, element: (key: Key, serial: UInt64))?
        while bytesTotal + cost > config.maxBytesTotal, let top = byAge.firstEntry {
            if !isLive(top.element) {
                byAge.popFirst()
            } else if top.element.key == keeping {
                held = top  // set aside, put back below with its place in the order
                byAge.popFirst()
            } else {
                evict(top.element.key)
            }
        }
        if let held { byAge.push(held.element, at: held.deadline, order: held.order) }
    }

    /// The oldest live datagram of `source` other than `except`. Skips (and
    /// drops) stale entries at the front; amortised O(1).
    private mutating func oldest(of source: IPv4Address, except: Key) -> Key? {
        guard var load = loadBySource[source] else { return nil }
        loadBySource[source] = nil  // edit the copy in place, without a second reference
        defer { loadBySource[source] = load }
        while load.head < load.ages.count, !isLive(load.ages[load.head]) { load.head += 1 }
        if load.head > 32 && load.head * 2 > load.ages.count {
            load.ages.removeFirst(load.head)
            load.head = 0
        }
        var index = load.head
        while index < load.ages.count {
            let entry = load.ages[index]
            if entry.key != except && isLive(entry) { return entry.key }
            index += 1
        }
        return nil
    }

    private func isLive(_ entry: (key: Key, serial: UInt64)) -> Bool { datagrams[entry.key]?.serial == entry.serial }

    private mutating func evict(_ key: Key) {
        guard datagrams[key] != nil else { return }
        evictions += 1
        discard(key)
    }

    private mutating func charge(_ source: IPv4Address, _ bytes: Int) {
        bytesTotal += bytes
        loadBySource[source, default: SourceLoad()].bytes += bytes
    }

    /// Gives back a datagram's charge when it leaves the table.
    private mutating func release(_ source: IPv4Address, _ bytes: Int) {
        bytesTotal -= bytes
        guard var load = loadBySource.removeValue(forKey: source) else { return }
        load.bytes -= bytes
        load.datagrams -= 1
        guard load.datagrams > 0 else { return }
        if load.ages.count - load.head > 2 * load.datagrams + 16 {
            // Completed datagrams left their entries behind: keep the live ones only.
            let datagrams = self.datagrams
            load.ages.removeAll { datagrams[$0.key]?.serial != $0.serial }
            load.head = 0
        }
        loadBySource[source] = load
    }

    private mutating func discard(_ key: Key) {
        guard let datagram = datagrams.removeValue(forKey: key) else { return }
        release(key.source, datagram.charge)
        tidy()
    }

    /// Drops stale heap entries from the top (so the top is a live datagram's deadline)
    /// and compacts the heap when stale entries outnumber live ones. Amortised O(log n).
    private mutating func tidy() {
        while let top = byAge.first, !isLive(top) { byAge.popFirst() }
        if byAge.count > 2 * datagrams.count + 16 {
            let live = datagrams
            byAge.removeAll { live[$0.key]?.serial != $0.serial }
        }
    }

    /// Drops datagrams whose time is up, oldest first; returns how many and the
    /// first fragment of each that had one (an ICMP "reassembly time exceeded"
    /// quotes it, RFC 792). O(log n) per datagram dropped.
    mutating func expire(now: Instant) -> (count: Int, firstFragments: [[UInt8]]) {
        var count = 0
        var firsts: [[UInt8]] = []
        while let entry = byAge.popFirst(dueBy: now) {
            guard let datagram = datagrams[entry.key], datagram.serial == entry.serial else { continue }
            count += 1
            if datagram.hasFirst, let first = datagram.pieces.first, first.offset == 0 { firsts.append(first.bytes) }
            discard(entry.key)
        }
        tidy()
        return (count, firsts)
    }

    /// The earliest reassembly deadline. O(1).
    public func nextDeadline() -> Instant? { byAge.firstDeadline }
}
