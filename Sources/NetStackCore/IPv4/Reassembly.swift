import NetStackWire

/// Limits on fragment reassembly (RFC 791 §3.2, RFC 1122 §3.3.2).
public struct ReassemblyConfig: Sendable {
    /// A datagram still incomplete after this long is dropped (Linux: 30 s).
    public var timeout: Duration = .seconds(30)
    /// Bytes of fragments held for one source address.
    public var maxBytesPerSource = 256 * 1024
    /// Bytes of fragments held in all.
    public var maxBytesTotal = 4 * 1024 * 1024

    public init() {}
}

/// Why a fragment was not kept.
public enum ReassemblyDrop: Sendable, Equatable {
    /// It overlaps data already received (RFC 5722's rule, applied to IPv4): the whole datagram goes.
    case overlap
    /// Keeping it would pass the per-source or total memory bound.
    case memoryLimit
    /// It disagrees with the length a last fragment announced.
    case inconsistent
}

/// Puts fragmented datagrams back together.
///
/// Fragments are keyed by (source, destination, protocol, identification).
/// Each datagram keeps its received byte ranges sorted; any overlap drops it.
/// Memory is bounded per source and in total, and every datagram has a deadline.
public struct Reassembler: Sendable {
    struct Key: Hashable { var source: IPv4Address, destination: IPv4Address, proto: UInt8, id: UInt16 }

    struct Datagram {
        var header: IPv4Header
        var data: [UInt8] = []
        var ranges: [Range<Int>] = []
        var totalLength: Int?
        var deadline: Instant
        var bytes = 0
        /// The first fragment's bytes (header and data), quoted by a reassembly-timeout ICMP error.
        var firstFragment: [UInt8]?
    }

    public var config: ReassemblyConfig
    private var datagrams: [Key: Datagram] = [:]
    private var bytesBySource: [IPv4Address: Int] = [:]
    private var bytesTotal = 0

    public init(config: ReassemblyConfig = ReassemblyConfig()) { self.config = config }

    /// Datagrams being reassembled.
    public var inProgress: Int { datagrams.count }

    /// The result of adding a fragment.
    enum Outcome {
        case incomplete
        case complete(header: IPv4Header, payload: [UInt8])
        case dropped(ReassemblyDrop)
    }

    /// Adds one fragment (`header` parsed, `payload` its data).
    mutating func add(header: IPv4Header, payload: UnsafeRawBufferPointer, packet: UnsafeRawBufferPointer,
                      now: Instant) -> Outcome {
        let key = Key(source: header.source, destination: header.destination, proto: header.protocol.rawValue,
                      id: header.identification)
        let start = header.fragmentOffset, end = start + payload.count
        guard bytesTotal + payload.count <= config.maxBytesTotal,
              bytesBySource[header.source, default: 0] + payload.count <= config.maxBytesPerSource else {
            discard(key)
            return .dropped(.memoryLimit)
        }
        var datagram = datagrams[key] ?? Datagram(header: header, deadline: now + config.timeout)
        if !header.moreFragments {
            if let known = datagram.totalLength, known != end { discard(key); return .dropped(.inconsistent) }
            if let last = datagram.ranges.last, last.upperBound > end { discard(key); return .dropped(.inconsistent) }
            datagram.totalLength = end
        } else if let known = datagram.totalLength, end > known || payload.count % 8 != 0 {
            discard(key)
            return .dropped(.inconsistent)
        }
        let position = datagram.ranges.firstIndex { $0.lowerBound >= start } ?? datagram.ranges.count
        let overlapsBefore = position > 0 && datagram.ranges[position - 1].upperBound > start
        let overlapsAfter = position < datagram.ranges.count && datagram.ranges[position].lowerBound < end
        if overlapsBefore || overlapsAfter || payload.isEmpty {
            discard(key)
            return .dropped(.overlap)
        }
        datagram.ranges.insert(start..<end, at: position)
        if datagram.data.count < end { datagram.data.append(contentsOf: repeatElement(0, count: end - datagram.data.count)) }
        datagram.data.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[start..<end]).copyMemory(from: payload) }
        if start == 0 {
            datagram.header = header
            datagram.firstFragment = Array(packet)
        }
        datagram.bytes += payload.count
        bytesTotal += payload.count
        bytesBySource[header.source, default: 0] += payload.count

        datagrams[key] = datagram
        if let total = datagram.totalLength, datagram.ranges.first?.lowerBound == 0, isContiguous(datagram.ranges, to: total) {
            discard(key)  // frees every byte counted, the last fragment's included
            var whole = datagram.header
            whole.moreFragments = false
            whole.fragmentOffset = 0
            whole.totalLength = whole.headerLength + total
            return .complete(header: whole, payload: Array(datagram.data[0..<total]))
        }
        return .incomplete
    }

    private func isContiguous(_ ranges: [Range<Int>], to total: Int) -> Bool {
        var reach = 0
        for range in ranges {
            guard range.lowerBound == reach else { return false }
            reach = range.upperBound
        }
        return reach == total
    }

    private mutating func discard(_ key: Key) {
        guard let datagram = datagrams.removeValue(forKey: key) else { return }
        bytesTotal -= datagram.bytes
        let left = (bytesBySource[key.source] ?? 0) - datagram.bytes
        bytesBySource[key.source] = left > 0 ? left : nil
    }

    /// Drops datagrams whose time is up; returns the first fragment of each
    /// that had one (an ICMP "reassembly time exceeded" quotes it, RFC 792).
    mutating func expire(now: Instant) -> (count: Int, firstFragments: [[UInt8]]) {
        let expired = datagrams.filter { $0.value.deadline <= now }
        var firsts: [[UInt8]] = []
        // Sorted on a total order: dictionary order differs between processes, and runs must repeat exactly.
        let ordered = expired.sorted {
            ($0.value.deadline, $0.key.source, $0.key.destination, $0.key.id, $0.key.proto)
                < ($1.value.deadline, $1.key.source, $1.key.destination, $1.key.id, $1.key.proto)
        }
        for (key, datagram) in ordered {
            if let first = datagram.firstFragment { firsts.append(first) }
            discard(key)
        }
        return (expired.count, firsts)
    }

    /// The earliest reassembly deadline.
    public func nextDeadline() -> Instant? { datagrams.values.map(\.deadline).min() }
}
