/// The IPv4 protocol field, and IPv6's next header field: what follows (IANA protocol numbers).
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// ICMP (RFC 792).
    @inlinable public static var icmp: IPProtocol { IPProtocol(rawValue: 1) }
    /// TCP (RFC 9293).
    @inlinable public static var tcp: IPProtocol { IPProtocol(rawValue: 6) }
    /// UDP (RFC 768).
    @inlinable public static var udp: IPProtocol { IPProtocol(rawValue: 17) }

    public var description: String {
        switch self {
        case .icmp: "ICMP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .icmpv6: "ICMPv6"
        case .ipv6HopByHop: "IPv6 hop-by-hop options"
        case .ipv6Routing: "IPv6 routing"
        case .ipv6Fragment: "IPv6 fragment"
        case .ipv6NoNextHeader: "IPv6 no next header"
        case .ipv6DestinationOptions: "IPv6 destination options"
        default: "protocol \(rawValue)"
        }
    }
}

/// An IPv4 header (RFC 791 §3.1), options included.
///
/// `parse` validates version, header length, total length, checksum and the
/// option list's structure; after it succeeds no field read can fail.
/// `emit` computes the checksum. Options are kept as their raw bytes, inline (at
/// most 40): the header is a plain value, so the several copies the per-packet
/// path makes of it retain and release nothing.
public struct IPv4Header: Hashable, Sendable, CustomStringConvertible {
    /// DSCP and ECN (the old type-of-service byte).
    public var typeOfService: UInt8 = 0
    /// Header plus payload, in bytes.
    public var totalLength: Int
    public var identification: UInt16 = 0
    public var dontFragment: Bool = false
    public var moreFragments: Bool = false
    /// Offset of this fragment's data in the original payload, in bytes (a multiple of 8).
    public var fragmentOffset: Int = 0
    public var timeToLive: UInt8 = 64
    public var `protocol`: IPProtocol
    /// The checksum as read by `parse`; `emit` ignores it and computes a fresh one.
    public var checksum: UInt16 = 0
    public var source: IPv4Address
    public var destination: IPv4Address
    /// The option bytes, held inline.
    @usableFromInline var optionBytes = IPv4OptionBytes()

    /// Raw option bytes, a multiple of 4 and at most 40 long. Reading allocates an
    /// array only when there are options; setting more than 40 bytes is a programming
    /// error (the header cannot carry them) and traps.
    public var options: [UInt8] {
        get { optionBytes.count == 0 ? [] : optionBytes.bytes }
        set { optionBytes = IPv4OptionBytes(newValue) }
    }

    /// Header size without options.
    public static let minimumLength = 20

    /// A header for a datagram carrying `payloadLength` bytes. Inlinable, so that the header
    /// is built where the caller keeps it rather than copied out of a call.
    @inlinable public init(source: IPv4Address, destination: IPv4Address, protocol: IPProtocol, payloadLength: Int,
                timeToLive: UInt8 = 64, identification: UInt16 = 0, dontFragment: Bool = false) {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.totalLength = Self.minimumLength + payloadLength
        self.timeToLive = timeToLive
        self.identification = identification
        self.dontFragment = dontFragment
    }

    /// Header size in bytes: 20 plus options.
    @inlinable public var headerLength: Int { Self.minimumLength + Int(optionBytes.count) }
    /// Payload size in bytes.
    @inlinable public var payloadLength: Int { totalLength - headerLength }
    /// True when this datagram is a fragment of a larger one.
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

    /// Parses and validates the header at the start of `bytes` (a whole datagram;
    /// link-layer padding after `totalLength` is allowed). Costs one checksum
    /// pass over the header.
    @inlinable @inline(__always)  // built where the caller keeps it: no copy right after the stores
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv4Header {
        let header = try parseFields(bytes, quoted: false)
        guard InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<header.headerLength])) == 0 else {
            throw .badChecksum(.ipv4)
        }
        return header
    }

    /// Parses a header quoted inside an ICMP error (RFC 792): the datagram behind
    /// it is cut short, so the total length is not checked against the bytes
    /// and the checksum is not verified.
    public static func parseQuoted(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv4Header {
        try parseFields(bytes, quoted: true)
    }

    @inlinable @inline(__always)
    static func parseFields(_ bytes: UnsafeRawBufferPointer, quoted: Bool) throws(WireError) -> IPv4Header {
        guard bytes.count >= minimumLength else {
            throw .truncated(.ipv4, needed: minimumLength, available: bytes.count)
        }
        let version = Int(bytes[0] >> 4), headerLength = Int(bytes[0] & 0x0F) * 4
        guard version == 4 else { throw .badVersion(.ipv4, version) }
        guard headerLength >= minimumLength else { throw .badHeaderLength(.ipv4, headerLength) }
        guard headerLength <= bytes.count else { throw .truncated(.ipv4, needed: headerLength, available: bytes.count) }
        let totalLength = Int(bytes.be16(2))
        guard totalLength >= headerLength else { throw .badLength(.ipv4, totalLength) }
        guard quoted || totalLength <= bytes.count else { throw .badLength(.ipv4, totalLength) }
        let flags = bytes.be16(6)
        let fragmentOffset = Int(flags & 0x1FFF) * 8
        guard fragmentOffset + totalLength - headerLength <= 65535 else {
            throw .badField(.ipv4, "fragment ends past 65535 bytes")
        }
        let options = UnsafeRawBufferPointer(rebasing: bytes[minimumLength..<headerLength])
        try validateOptions(options)

        var header = IPv4Header(source: .load(bytes, at: 12), destination: .load(bytes, at: 16),
                                protocol: IPProtocol(rawValue: bytes[9]), payloadLength: 0,
                                timeToLive: bytes[8], identification: bytes.be16(4),
                                dontFragment: flags & 0x4000 != 0)
        header.typeOfService = bytes[1]
        header.totalLength = totalLength
        header.moreFragments = flags & 0x2000 != 0
        header.fragmentOffset = fragmentOffset
        header.checksum = bytes.be16(10)
        if !options.isEmpty { header.optionBytes = IPv4OptionBytes(options) }
        return header
    }

    /// Walks the option list (RFC 791 §3.1): End of Option List and No Operation
    /// are one byte; every other option has a length byte of at least 2 that must
    /// stay inside the header.
    @usableFromInline
    static func validateOptions(_ options: UnsafeRawBufferPointer) throws(WireError) {
        var offset = 0
        while offset < options.count {
            let kind = options[offset]
            if kind == 0 { return }
            if kind == 1 { offset += 1; continue }
            guard offset + 1 < options.count else {
                throw .badOption(.ipv4, kind: kind, offset: minimumLength + offset)
            }
            let length = Int(options[offset + 1])
            guard length >= 2, offset + length <= options.count else {
                throw .badOption(.ipv4, kind: kind, offset: minimumLength + offset)
            }
            offset += length
        }
    }

    /// Writes the header (with a fresh checksum) at the start of `buffer`.
    /// Precondition: `buffer` holds at least `headerLength` bytes and options are a multiple of 4, at most 40.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        let length = headerLength
        precondition(optionBytes.count % 4 == 0, "IPv4 options must be a multiple of 4, at most 40")
        precondition(buffer.count >= length, "IPv4 header needs \(length) bytes")
        buffer[0] = 0x40 | UInt8(length / 4)
        buffer[1] = typeOfService
        buffer.storeBE16(UInt16(truncatingIfNeeded: totalLength), at: 2)
        buffer.storeBE16(identification, at: 4)
        var flags = UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1FFF
        if dontFragment { flags |= 0x4000 }
        if moreFragments { flags |= 0x2000 }
        buffer.storeBE16(flags, at: 6)
        buffer[8] = timeToLive
        buffer[9] = `protocol`.rawValue
        buffer.storeBE16(0, at: 10)
        source.store(buffer, at: 12)
        destination.store(buffer, at: 16)
        if length > Self.minimumLength {
            optionBytes.copy(into: UnsafeMutableRawBufferPointer(rebasing: buffer[Self.minimumLength..<length]))
        }
        let sum = InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
        buffer.storeBE16(sum, at: 10)
    }

    public var description: String {
        var text = "IPv4 \(source) → \(destination) \(`protocol`) ttl \(timeToLive) id 0x\(String(identification, radix: 16)) len \(totalLength)"
        if dontFragment { text += " DF" }
        if isFragment { text += " frag off \(fragmentOffset)\(moreFragments ? " MF" : "")" }
        return text
    }
}

extension IPv4Header {
    /// Decrements the TTL of the header at the start of `buffer` in place and
    /// patches its checksum incrementally (RFC 1624), as a router does. Returns the new TTL.
    /// The caller has parsed the header already.
    @discardableResult
    public static func decrementTimeToLive(in buffer: UnsafeMutableRawBufferPointer) -> UInt8 {
        let bytes = UnsafeRawBufferPointer(buffer)
        let old = bytes.be16(8)
        let ttl = buffer[8] &- 1
        buffer[8] = ttl
        let new = UInt16(ttl) << 8 | UInt16(buffer[9])
        buffer.storeBE16(InternetChecksum.update(bytes.be16(10), old: old, new: new), at: 10)
        return ttl
    }
}

extension InternetChecksum {
    /// A sum primed with the IPv4 pseudo-header that UDP and TCP checksums cover
    /// (RFC 768, RFC 9293 §3.1): source, destination, zero, protocol, length.
    @inlinable
    public static func pseudoHeader(source: IPv4Address, destination: IPv4Address,
                                    protocol: IPProtocol, length: Int) -> InternetChecksum {
        var sum = InternetChecksum()
        sum.add(source.rawValue)
        sum.add(destination.rawValue)
        sum.add(UInt16(`protocol`.rawValue))
        sum.add(UInt16(truncatingIfNeeded: length))
        return sum
    }
}

/// Up to 40 IPv4 option bytes stored in place (RFC 791 §3.1 allows no more): five
/// words and a count, so ``IPv4Header`` needs no heap storage and copies without
/// reference counting. Equality and hashing look at the `count` bytes only.
@usableFromInline
struct IPv4OptionBytes: Hashable, Sendable {
    /// The most option bytes an IPv4 header carries (a 60-byte header less 20).
    static let capacity = 40
    /// The bytes, little-endian in five words; those past `count` are zero.
    @usableFromInline private(set) var words: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    /// Bytes held.
    @usableFromInline private(set) var count: UInt8 = 0

    /// No option bytes.
    @inlinable init() {}

    /// A copy of option bytes read from a header; more than 40 is a programming error (traps).
    /// O(count). Not generic: parsing, inlined into other modules, would call a generic unspecialized.
    @usableFromInline
    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= Self.capacity, "IPv4 options: at most 40 bytes")
        count = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &words) { storage in
            storage.copyMemory(from: bytes)
        }
    }

    /// A copy of `bytes`; more than 40 is a programming error (traps). O(count).
    init<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        precondition(bytes.count <= Self.capacity, "IPv4 options: at most 40 bytes")
        count = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &words) { storage in
            for (i, byte) in bytes.enumerated() { storage[i] = byte }
        }
    }

    /// The bytes, as a new array. O(count); allocates.
    var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0.prefix(Int(count))) }
    }

    /// Writes the bytes at the start of `buffer` (which holds at least `count`). O(count).
    func copy(into buffer: UnsafeMutableRawBufferPointer) {
        withUnsafeBytes(of: words) { storage in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage.prefix(Int(count))))
        }
    }

    @usableFromInline static func == (lhs: IPv4OptionBytes, rhs: IPv4OptionBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        let count = Int(lhs.count)
        return withUnsafeBytes(of: lhs.words) { left in
            withUnsafeBytes(of: rhs.words) { right in left.prefix(count).elementsEqual(right.prefix(count)) }
        }
    }

    @usableFromInline func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        withUnsafeBytes(of: words) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(count)))) }
    }
}
