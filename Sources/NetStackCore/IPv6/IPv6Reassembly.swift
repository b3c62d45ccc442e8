// IPv6 reassembly. RFCs to read: RFC 8200 §4.5 (the fragment header and the reassembly
// rules), RFC 5722 (an overlap discards the whole datagram), RFC 6946 (atomic fragments),
// RFC 7112 (the first fragment carries the whole header chain), RFC 4443 §3.3 and §3.4 (the
// errors the caller sends). Same shape as the IPv4 `Reassembler` (IPv4/Reassembly.swift):
// pieces sorted by offset, memory and ages kept by the same `ReassemblyLedger`, the oldest evicted first.

public import NetStackWire

extension ReassemblyConfig {
    /// The IPv6 limits: 60 s to complete a datagram (RFC 8200 §4.5; Linux's ip6frag_time), and
    /// the IPv4 memory bounds (Linux's ip6frag_high_thresh is 4 MiB too).
    public static var ipv6: ReassemblyConfig {
        var config = ReassemblyConfig()
        config.timeout = .seconds(60)
        return config
    }
}

/// Why ``IPv6Reassembler`` dropped a fragment without asking for an ICMPv6 error.
public enum IPv6ReassemblyDrop: Sendable, Equatable {
    /// It overlaps data held, with other bytes or another extent: the whole datagram is
    /// discarded (RFC 5722), and its later fragments with it until its timeout.
    case overlap
    /// A fragment of a datagram discarded for an overlap that has not timed out yet (RFC 5722 §4:
    /// the datagram "and any constituent fragments" are discarded).
    case discardedDatagram
    /// The same bytes at the same offset as a fragment held: this copy goes, the datagram stays
    /// (RFC 8200 §4.5 allows it; an exact duplicate is what a network that duplicates makes).
    case duplicate
    /// It alone costs more than a memory bound.
    case memoryLimit
    /// It contradicts the datagram (a second, different end; data past the end; a whole
    /// datagram past 65,535 bytes once the first fragment's headers are known), carries no
    /// data, or is malformed (no fragment header where the chain leads, lengths past the bytes).
    case inconsistent
}

/// What the caller does with a fragment after ``IPv6Reassembler/add(_:now:)``.
public enum IPv6ReassemblyOutcome: Sendable, Equatable {
    /// Held until its datagram completes or times out: nothing to do.
    case held
    /// An atomic fragment (offset 0, M clear; RFC 6946): process the packet at once as an
    /// unfragmented one, its next header in the 8-byte fragment header at
    /// `fragmentHeaderOffset`. The queue was not touched, even one with the same identification.
    case atomic(fragmentHeaderOffset: Int)
    /// The datagram is whole, `length` bytes: write it with
    /// ``IPv6Reassembler/assembleCompleted(into:)`` before the next ``IPv6Reassembler/add(_:now:)``.
    case complete(length: Int)
    /// Dropped; count it, send nothing.
    case dropped(IPv6ReassemblyDrop)
    /// Dropped; send the fragment's source an ICMPv6 parameter problem quoting this fragment, with
    /// `code` and `pointer` (bytes from the start of the IPv6 header): code 0 at the payload
    /// length (4) for a fragment with M set whose data is not a multiple of 8 bytes, code 0 at
    /// the fragment offset field for one that would make the datagram longer than 65,535 bytes
    /// (RFC 8200 §4.5); code 3, pointer 0, for a first fragment that does not hold the whole
    /// header chain up to and including the upper-layer header (RFC 7112 §5). The datagram the
    /// fragment belongs to, if any, is kept.
    case parameterProblem(code: ICMPv6ParameterProblemCode, pointer: Int)
}

/// Puts fragmented IPv6 datagrams back together (RFC 8200 §4.5) under the hardened rules.
///
/// Fragments are keyed by (source, destination, identification). A datagram keeps its
/// fragments as pieces sorted by offset, the first one whole (its unfragmentable part becomes
/// the datagram's, and an ICMPv6 time exceeded quotes it); the caller writes the datagram out
/// once, when the last hole fills (``assembleCompleted(into:)``).
///
/// - Overlap (RFC 5722): any fragment that overlaps data held discards the datagram. Its key
///   stays as a tombstone that drops later fragments of it (``IPv6ReassemblyDrop/discardedDatagram``)
///   until the datagram's timeout, so the rest of an attack cannot start a fresh datagram.
/// - Exact duplicates are dropped and the datagram kept (RFC 8200 §4.5 allows it). Linux
///   (inet_frag_queue_insert) is looser: it ignores any fragment inside a range it holds, even
///   with other bytes; here other bytes are an overlap.
/// - Memory is charged as held: each piece's bytes plus ``pieceOverhead``, each datagram
///   ``datagramOverhead``. The per-source bound applies to the source's /64, not the address:
///   one host owns a whole /64 and can send from any address in it. When a fragment would pass
///   a bound, the oldest datagrams are evicted to make room — first the arriving /64's own when
///   it is over its share, then the oldest of all — so a flood costs a legitimate datagram at
///   most one eviction, never a refusal.
///
/// Deadlines sit in a ``DeadlineHeap``: the next one is O(1), expiry O(log n) per datagram.
public struct IPv6Reassembler: Sendable {
    struct Key: Hashable, Sendable { var source: IPv6Address, destination: IPv6Address, id: UInt32 }

    /// The unit of the per-source bound: the source's /64 prefix (its high 64 bits).
    typealias SourcePrefix = UInt64

    /// Bytes charged per piece beyond its data: the array header and bookkeeping.
    public static let pieceOverhead = 64
    /// Bytes charged per datagram: its table entry and heap entries.
    public static let datagramOverhead = 192

    /// One fragment's bytes: the data only, or the whole packet for the first fragment (`dataStart` > 0).
    struct Piece {
        var offset: Int
        var bytes: [UInt8]
        var dataStart: Int
        var end: Int { offset + bytes.count - dataStart }
    }

    /// Where the first fragment's fragment header sits, and which Next Header field named it.
    struct FirstLayout {
        var fragmentHeaderOffset: Int
        var nextHeaderField: Int
        var nextHeader: IPProtocol
    }

    struct Datagram {
        var pieces: [Piece] = []
        /// Bytes of the fragmentable part, known once the last fragment came.
        var fragmentableLength: Int?
        var received = 0
        var charge = IPv6Reassembler.datagramOverhead
        var first: FirstLayout?
        /// Discarded for an overlap: a tombstone that drops the rest until the deadline.
        var discarded = false
    }

    /// The limits; change them between calls if needed.
    public var config: ReassemblyConfig
    private var datagrams: [Key: Datagram] = [:]
    /// Bytes held per /64 and in all, and the datagrams' ages.
    private var ledger = ReassemblyLedger<Key, SourcePrefix>()
    /// The datagram the last ``add(_:now:)`` completed, waiting for ``assembleCompleted(into:)``.
    private var completed: [Piece] = []
    private var completedLayout: (first: FirstLayout, length: Int)?
    /// Datagrams (and tombstones) evicted for room, since the start.
    public private(set) var evictions = 0

    /// An empty reassembler with `config`'s bounds (by default ``ReassemblyConfig/ipv6``).
    public init(config: ReassemblyConfig = .ipv6) { self.config = config }

    /// Datagrams being reassembled, tombstones of discarded ones included. O(1).
    public var inProgress: Int { datagrams.count }

    /// Bytes charged for what is held, overhead included; never above `config.maxBytesTotal`. O(1).
    public var bytesHeld: Int { ledger.bytesTotal }

    /// The earliest deadline, when ``expire(now:timeExceeded:)`` has work. O(1).
    public func nextDeadline() -> Instant? { ledger.nextDeadline }

    /// Adds one fragment: `packet` is a whole IPv6 packet from its fixed header on (bytes after
    /// its payload length, link padding, are ignored) with a Fragment header in its
    /// unfragmentable part — see ``fragmentHeaderOffset(in:)``.
    ///
    /// Costs one allocation of the fragment's size when it is held, none otherwise; O(log n)
    /// in datagrams held plus O(log p) in the datagram's pieces (O(p) to insert).
    public mutating func add(_ packet: UnsafeRawBufferPointer, now: Instant) -> IPv6ReassemblyOutcome {
        guard let found = Self.locateFragmentHeader(packet) else { return .dropped(.inconsistent) }
        let fragmentHeaderOffset = found.fragmentHeaderOffset, fragment = found.fragment
        if fragment.isAtomic { return .atomic(fragmentHeaderOffset: fragmentHeaderOffset) }
        let packetEnd = found.header.totalLength, dataStart = fragmentHeaderOffset + IPv6FragmentHeader.length
        let data = UnsafeRawBufferPointer(rebasing: packet[dataStart..<packetEnd])
        let start = fragment.fragmentOffset, end = start + data.count
        if fragment.moreFragments && data.count % 8 != 0 {
            return .parameterProblem(code: .erroneousHeaderField, pointer: 4)
        }
        if fragmentHeaderOffset - IPv6Header.length + end > 65_535 {
            return .parameterProblem(code: .erroneousHeaderField, pointer: fragmentHeaderOffset + 2)
        }
        if start == 0 && !Self.holdsHeaderChain(packet, from: dataStart, to: packetEnd, first: fragment.nextHeader) {
            return .parameterProblem(code: .incompleteHeaderChain, pointer: 0)
        }
        guard !data.isEmpty else { return .dropped(.inconsistent) }

        let key = Key(source: found.header.source, destination: found.header.destination, id: fragment.identification)
        let prefix = key.source.high
        if let datagram = datagrams[key] {
            if datagram.discarded { return .dropped(.discardedDatagram) }
            switch Self.conflict(datagram, start: start, end: end, moreFragments: fragment.moreFragments, data: data) {
            case .duplicate?: return .dropped(.duplicate)
            case .overlap?:
                tombstone(key)
                return .dropped(.overlap)
            case .inconsistent?:
                discard(key)
                return .dropped(.inconsistent)
            case nil: break
            }
        }
        let isNew = datagrams[key] == nil
        let cost = (start == 0 ? packetEnd : data.count) + Self.pieceOverhead + (isNew ? Self.datagramOverhead : 0)
        guard cost <= config.maxBytesPerSource, cost <= config.maxBytesTotal else {
            discard(key)
            return .dropped(.memoryLimit)
        }
        makeRoom(for: cost, prefix: prefix, keeping: key)
        if ledger.bytes(of: prefix) + cost > config.maxBytesPerSource || ledger.bytesTotal + cost > config.maxBytesTotal {
            // Only the datagram this fragment joins is left to give room: it is the one too big.
            discard(key)
            return .dropped(.memoryLimit)
        }

        var datagram = datagrams.removeValue(forKey: key) ?? newDatagram(key, now: now)
        if !fragment.moreFragments { datagram.fragmentableLength = end }
        let piece = start == 0
            ? Piece(offset: 0, bytes: Array(UnsafeRawBufferPointer(rebasing: packet[..<packetEnd])), dataStart: dataStart)
            : Piece(offset: start, bytes: Array(data), dataStart: 0)
        datagram.pieces.insert(piece, at: Self.insertionIndex(datagram.pieces, start))
        if start == 0 {
            datagram.first = FirstLayout(fragmentHeaderOffset: fragmentHeaderOffset, nextHeaderField: found.nextHeaderField,
                                         nextHeader: fragment.nextHeader)
        }
        datagram.received += data.count
        ledger.charge(prefix, cost)
        datagram.charge += isNew ? cost - Self.datagramOverhead : cost

        if let total = datagram.fragmentableLength, datagram.received == total, let first = datagram.first {
            // No overlaps and every byte up to the end: the pieces tile [0, total).
            let length = first.fragmentHeaderOffset + total
            datagrams[key] = datagram
            guard length - IPv6Header.length <= 65_535 else {
                // The first fragment's headers were longer than the others': the whole is too long.
                discard(key)
                return .dropped(.inconsistent)
            }
            completed = datagram.pieces
            completedLayout = (first, length)
            discard(key)
            return .complete(length: length)
        }
        datagrams[key] = datagram
        return .held
    }

    /// Writes the datagram that the last ``add(_:now:)`` completed into `buffer` and returns its
    /// length: the first fragment's unfragmentable part with the payload length set and the Next
    /// Header that named the Fragment header now naming what followed it, then every piece's data
    /// — the Fragment header gone. One copy of each byte, no allocation.
    /// Precondition: the last `add` returned `.complete(length)` and `buffer` holds `length` bytes.
    public mutating func assembleCompleted(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let (first, length) = completedLayout else { preconditionFailure("no completed IPv6 datagram to assemble") }
        precondition(buffer.count >= length, "the buffer needs \(length) bytes for the reassembled datagram")
        let base = first.fragmentHeaderOffset
        completed[0].bytes.withUnsafeBytes { bytes in
            UnsafeMutableRawBufferPointer(rebasing: buffer[..<base]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<base]))
        }
        buffer.storeBE16(UInt16(length - IPv6Header.length), at: 4)
        buffer[first.nextHeaderField] = first.nextHeader.rawValue
        for piece in completed {
            piece.bytes.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: buffer[(base + piece.offset)..<(base + piece.end)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[piece.dataStart...]))
            }
        }
        completed.removeAll(keepingCapacity: true)
        completedLayout = nil
        return length
    }

    /// Drops datagrams whose time is up, oldest first, and returns how many incomplete
    /// datagrams went (tombstones of discarded ones leave silently and are not counted). For each
    /// one whose first fragment had arrived, calls `timeExceeded` with that fragment's whole
    /// packet: the caller sends its source an ICMPv6 time exceeded, code 1 (fragment reassembly
    /// time exceeded), quoting it (RFC 8200 §4.5). O(log n) per datagram dropped; no allocation.
    @discardableResult
    public mutating func expire(now: Instant, timeExceeded: (UnsafeRawBufferPointer) -> Void = { _ in }) -> Int {
        var count = 0
        while let key = ledger.due(by: now) {
            guard let datagram = datagrams[key] else { continue }
            if !datagram.discarded {
                count += 1
                if datagram.first != nil, let first = datagram.pieces.first { first.bytes.withUnsafeBytes(timeExceeded) }
            }
            discard(key)
        }
        return count
    }

    // MARK: - Reading the fragment

    /// The offset of the Fragment header in `packet`'s unfragmentable part (after the IPv6
    /// header, a hop-by-hop header first, destination options and routing headers), nil when
    /// there is none or the packet is malformed. Unlike a walk of the whole chain it does not
    /// look past the Fragment header, so a first fragment that cuts the chain short still
    /// reaches ``add(_:now:)``, which answers it (RFC 7112). O(headers), no allocation.
    public static func fragmentHeaderOffset(in packet: UnsafeRawBufferPointer) -> Int? {
        locateFragmentHeader(packet)?.fragmentHeaderOffset
    }

    /// The IPv6 header, the Fragment header, where it sits and the Next Header field naming it.
    private static func locateFragmentHeader(_ packet: UnsafeRawBufferPointer)
        -> (header: IPv6Header, fragment: IPv6FragmentHeader, fragmentHeaderOffset: Int, nextHeaderField: Int)? {
        guard let header = try? IPv6Header.parse(packet) else { return nil }
        let end = header.totalLength
        var next = header.nextHeader, offset = IPv6Header.length, field = 6
        for _ in 0..<IPv6ExtensionHeaders.defaultMaximumHeaderCount {
            switch next {
            case .ipv6Fragment:
                guard offset + IPv6FragmentHeader.length <= end,
                      let fragment = try? IPv6FragmentHeader.parse(UnsafeRawBufferPointer(rebasing: packet[offset..<end]))
                else { return nil }
                return (header, fragment, offset, field)
            case .ipv6HopByHop where offset == IPv6Header.length, .ipv6DestinationOptions, .ipv6Routing:
                guard offset + 2 <= end else { return nil }
                let length = (Int(packet[offset + 1]) + 1) * 8
                guard offset + length <= end else { return nil }
                field = offset
                next = IPProtocol(rawValue: packet[offset])
                offset += length
            default:
                return nil
            }
        }
        return nil
    }

    /// True when the header chain from `start` (its first header `first`) to the upper-layer
    /// header, that header included, lies within `start..<end` (RFC 7112 §5). The upper-layer
    /// header's size is known for TCP (20), UDP (8) and ICMPv6 (8), as Linux checks
    /// (ipv6_frag_thdr_truncated); others count as 0 bytes. A chain longer than the walker's cap
    /// passes: the walk after reassembly refuses it.
    private static func holdsHeaderChain(_ packet: UnsafeRawBufferPointer, from start: Int, to end: Int,
                                         first: IPProtocol) -> Bool {
        var next = first, offset = start
        for _ in 0..<IPv6ExtensionHeaders.defaultMaximumHeaderCount {
            let length: Int
            switch next {
            case .ipv6HopByHop, .ipv6DestinationOptions, .ipv6Routing, .authenticationHeader:
                guard offset + 2 <= end else { return false }
                length = next == .authenticationHeader ? (Int(packet[offset + 1]) + 2) * 4 : (Int(packet[offset + 1]) + 1) * 8
            case .ipv6Fragment:
                length = IPv6FragmentHeader.length
            case .tcp:
                return offset + 20 <= end
            case .udp, .icmpv6:
                return offset + 8 <= end
            default:
                return offset <= end
            }
            guard offset + length <= end else { return false }
            next = IPProtocol(rawValue: packet[offset])
            offset += length
        }
        return true
    }

    // MARK: - Pieces

    /// Why a fragment cannot join a datagram.
    private enum Conflict { case duplicate, overlap, inconsistent }

    /// The index of the first piece that starts after `start`. O(log p).
    private static func insertionIndex(_ pieces: [Piece], _ start: Int) -> Int {
        var low = 0, high = pieces.count
        while low < high {
            let middle = (low + high) / 2
            if pieces[middle].offset > start { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Why `[start, end)` cannot join `datagram`, or nil if it can.
    private static func conflict(_ datagram: Datagram, start: Int, end: Int, moreFragments: Bool,
                                 data: UnsafeRawBufferPointer) -> Conflict? {
        let position = insertionIndex(datagram.pieces, start)
        if position > 0 {
            let held = datagram.pieces[position - 1]
            if held.offset == start && held.end == end
                && held.bytes.withUnsafeBytes({ $0[held.dataStart...].elementsEqual(data) }) {
                return .duplicate
            }
        }
        if !moreFragments {
            if let known = datagram.fragmentableLength, known != end { return .inconsistent }
            if let last = datagram.pieces.last, last.end > end { return .inconsistent }
        } else if let known = datagram.fragmentableLength, end > known {
            return .inconsistent
        }
        if position > 0 && datagram.pieces[position - 1].end > start { return .overlap }
        if position < datagram.pieces.count && datagram.pieces[position].offset < end { return .overlap }
        return nil
    }

    // MARK: - Memory and age

    private mutating func newDatagram(_ key: Key, now: Instant) -> Datagram {
        ledger.open(key, group: key.source.high, deadline: now + config.timeout)
        return Datagram()
    }

    /// Turns a datagram into a tombstone: its pieces go, its key and deadline stay, charged
    /// ``datagramOverhead`` only.
    private mutating func tombstone(_ key: Key) {
        guard let charge = datagrams[key]?.charge else { return }
        ledger.release(key.source.high, charge - Self.datagramOverhead)
        datagrams[key]!.pieces = []
        datagrams[key]!.first = nil
        datagrams[key]!.discarded = true
        datagrams[key]!.charge = Self.datagramOverhead
    }

    /// Evicts datagrams, oldest first, until `cost` more bytes fit: the /64's own while it
    /// would pass its bound, then anyone's while the total would. `keeping` (the datagram the
    /// fragment joins) is never chosen.
    private mutating func makeRoom(for cost: Int, prefix: SourcePrefix, keeping: Key) {
        while let victim = ledger.victim(for: cost, group: prefix, keeping: keeping,
                                         maxGroupBytes: config.maxBytesPerSource, maxTotalBytes: config.maxBytesTotal) {
            evictions += 1
            discard(victim)
        }
    }

    private mutating func discard(_ key: Key) {
        guard let datagram = datagrams.removeValue(forKey: key) else { return }
        ledger.close(key, group: key.source.high, bytes: datagram.charge)
    }
}
