// Multicast Listener Discovery version 2 reports. RFCs to read: RFC 3810 (§5.2 report format,
// §5.2.12 record types, §5.2.13 source address, §5.2.14 destination ff02::16, §7.4 validation
// hints), RFC 2711 (the hop-by-hop router alert every MLD message carries). A host joining its
// solicited-node groups sends these before duplicate address detection (RFC 4862 §5.4.2).

/// The type of a multicast address record (RFC 3810 §5.2.12).
public enum MLDv2RecordType: UInt8, Sendable {
    /// Current state: listening to the listed sources only.
    case modeIsInclude = 1
    /// Current state: listening to everything but the listed sources.
    case modeIsExclude = 2
    /// Filter change to INCLUDE the listed sources (leaving, with none listed).
    case changeToInclude = 3
    /// Filter change to EXCLUDE the listed sources (joining, with none listed).
    case changeToExclude = 4
    /// Source-list change: these sources are now wanted.
    case allowNewSources = 5
    /// Source-list change: these sources are no longer wanted.
    case blockOldSources = 6
}

/// One multicast address record of an MLDv2 report (RFC 3810 §5.2.4).
public struct MLDv2Record: Hashable, Sendable {
    /// The record type, as a number (``MLDv2RecordType`` names the six defined ones).
    public var type: UInt8
    /// The multicast group the record is about.
    public var multicastAddress: IPv6Address
    /// The sources the record lists.
    public var sources: [IPv6Address]
    /// Length of the auxiliary data in 4-byte words: skipped when read (RFC 3810 §5.2.10), always 0 when sent.
    public var auxiliaryDataWords: UInt8 = 0

    /// A record of `type` for `multicastAddress`; a join is `.changeToExclude` with no sources.
    public init(_ type: MLDv2RecordType, multicastAddress: IPv6Address, sources: [IPv6Address] = []) {
        self.type = type.rawValue
        self.multicastAddress = multicastAddress
        self.sources = sources
    }

    /// The record's size on the wire.
    public var encodedLength: Int { 20 + 16 * sources.count + 4 * Int(auxiliaryDataWords) }
}

/// A Version 2 Multicast Listener Report (ICMPv6 type 143, RFC 3810 §5.2).
///
/// `parse` checks the checksum, hop limit 1 (RFC 3810 §5), a link-local or unspecified source
/// (§5.2.13) and that every record lies within the message. Records and source lists are
/// arrays: reports are sent and read when groups change, not per packet. The router alert
/// option of the hop-by-hop header is the caller's to check
/// (``IPv6ExtensionHeaders/routerAlert`` == 0).
public struct MLDv2Report: Hashable, Sendable, CustomStringConvertible {
    /// The multicast address records.
    public var records: [MLDv2Record]
    /// The checksum as read by `parse`; `emit` computes a fresh one.
    public var checksum: UInt16 = 0

    /// The ICMPv6 type of MLDv2 reports.
    public static let type: UInt8 = 143
    /// The hop limit MLD messages are sent with and must arrive with.
    public static let hopLimit: UInt8 = 1

    /// A report of `records`; `emit` fills in the checksum.
    public init(records: [MLDv2Record]) { self.records = records }

    /// The report's size when emitted: 8 bytes and the records.
    public var encodedLength: Int { records.reduce(8) { $0 + $1.encodedLength } }

    /// Parses and validates the report in `bytes` (the ICMPv6 message), sent from `source` to
    /// `destination` with `hopLimit`. Costs one checksum pass; allocates the record arrays.
    ///
    /// - Throws: what ``ICMPv6Header/parse(_:source:destination:)`` throws;
    ///   `.unsupported(.mld, …)` for another ICMPv6 type; `.truncated(.mld, …)` when the
    ///   records claimed run past the message; `.badField(.mld, …)` for a hop limit other
    ///   than 1 or a source neither link-local nor unspecified.
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPv6Address, destination: IPv6Address,
                             hopLimit: UInt8) throws(WireError) -> MLDv2Report {
        let icmp = try ICMPv6Header.parse(bytes, source: source, destination: destination)
        guard bytes[0] == type else { throw .unsupported(.mld, "ICMPv6 type \(bytes[0])") }
        guard hopLimit == Self.hopLimit else { throw .badField(.mld, "hop limit \(hopLimit), not 1") }
        guard source.isLinkLocal || source.isUnspecified else {
            throw .badField(.mld, "report from \(source), neither link-local nor ::")
        }
        let count = Int(bytes.be16(6))
        // Each record takes at least 20 bytes: refuse a count the message cannot hold before allocating.
        guard 8 + 20 * count <= bytes.count else { throw .truncated(.mld, needed: 8 + 20 * count, available: bytes.count) }
        var records: [MLDv2Record] = []
        records.reserveCapacity(count)
        var offset = 8
        for _ in 0..<count {
            guard offset + 20 <= bytes.count else { throw .truncated(.mld, needed: offset + 20, available: bytes.count) }
            let sourceCount = Int(bytes.be16(offset + 2)), auxiliaryWords = bytes[offset + 1]
            let end = offset + 20 + 16 * sourceCount + 4 * Int(auxiliaryWords)
            guard end <= bytes.count else { throw .truncated(.mld, needed: end, available: bytes.count) }
            var record = MLDv2Record(.modeIsInclude, multicastAddress: .load(bytes, at: offset + 4),
                                     sources: (0..<sourceCount).map { IPv6Address.load(bytes, at: offset + 20 + 16 * $0) })
            record.type = bytes[offset]
            record.auxiliaryDataWords = auxiliaryWords
            records.append(record)
            offset = end
        }
        var report = MLDv2Report(records: records)
        report.checksum = icmp.checksum
        return report
    }

    /// Writes the report at the start of `buffer` with its checksum over the pseudo-header of
    /// `source` and `destination` (normally a link-local address, or :: before one is ready,
    /// and ff02::16). Auxiliary data, if a parsed record had any, is written as zeros.
    /// Precondition: `buffer` holds exactly ``encodedLength`` bytes and there are at most 65,535 records.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        precondition(buffer.count == encodedLength, "MLDv2 report needs exactly \(encodedLength) bytes")
        precondition(records.count <= 0xFFFF, "too many MLDv2 records")
        buffer[0] = Self.type
        buffer[1] = 0
        buffer.storeBE16(0, at: 4)
        buffer.storeBE16(UInt16(records.count), at: 6)
        var offset = 8
        for record in records {
            buffer[offset] = record.type
            buffer[offset + 1] = record.auxiliaryDataWords
            buffer.storeBE16(UInt16(record.sources.count), at: offset + 2)
            record.multicastAddress.store(buffer, at: offset + 4)
            for (index, address) in record.sources.enumerated() { address.store(buffer, at: offset + 20 + 16 * index) }
            let auxiliaryStart = offset + 20 + 16 * record.sources.count
            for index in auxiliaryStart..<(offset + record.encodedLength) { buffer[index] = 0 }
            offset += record.encodedLength
        }
        ICMPv6Header.storeChecksum(buffer, source: source, destination: destination)
    }

    /// One line: `MLDv2 report changeToExclude ff02::1:ff00:1, …`.
    public var description: String {
        "MLDv2 report " + records.map { record in
            let kind = MLDv2RecordType(rawValue: record.type).map { "\($0)" } ?? "type \(record.type)"
            return "\(kind) \(record.multicastAddress)" + (record.sources.isEmpty ? "" : " \(record.sources.count) sources")
        }.joined(separator: ", ")
    }
}
