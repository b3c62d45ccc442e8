// The IPv6 header and its pseudo-header. RFCs to read: RFC 8200 (IPv6: §3 header format,
// §4 extension headers, §8.1 upper-layer checksums), RFC 2675 (jumbograms, not supported).
// The extension-header chain is walked in IPv6Extensions.swift.

extension IPProtocol {
    /// Hop-by-Hop Options header (RFC 8200 §4.3); only directly after the IPv6 header.
    @inlinable public static var ipv6HopByHop: IPProtocol { IPProtocol(rawValue: 0) }
    /// Routing header (RFC 8200 §4.4).
    @inlinable public static var ipv6Routing: IPProtocol { IPProtocol(rawValue: 43) }
    /// Fragment header (RFC 8200 §4.5).
    @inlinable public static var ipv6Fragment: IPProtocol { IPProtocol(rawValue: 44) }
    /// Authentication header (RFC 4302): walked over, not verified.
    @inlinable public static var authenticationHeader: IPProtocol { IPProtocol(rawValue: 51) }
    /// ICMPv6 (RFC 4443).
    @inlinable public static var icmpv6: IPProtocol { IPProtocol(rawValue: 58) }
    /// No next header (RFC 8200 §4.7): nothing follows.
    @inlinable public static var ipv6NoNextHeader: IPProtocol { IPProtocol(rawValue: 59) }
    /// Destination Options header (RFC 8200 §4.6).
    @inlinable public static var ipv6DestinationOptions: IPProtocol { IPProtocol(rawValue: 60) }
}

/// The fixed IPv6 header (RFC 8200 §3), 40 bytes.
///
/// `parse` checks the version and that the payload length fits the bytes; after it succeeds
/// no field read can fail. There is no header checksum in IPv6: upper layers cover the
/// addresses through the pseudo-header (``InternetChecksum/pseudoHeader(source:destination:nextHeader:length:)``).
/// Extension headers are part of the payload: walk them with ``IPv6ExtensionHeaders/walk(_:maximumHeaderCount:)``.
public struct IPv6Header: Hashable, Sendable, CustomStringConvertible {
    /// DSCP and ECN (RFC 8200 §7, RFC 2474, RFC 3168).
    public var trafficClass: UInt8 = 0
    /// The 20-bit flow label (RFC 6437); 0 when the source sets none.
    public var flowLabel: UInt32 = 0 {
        didSet { flowLabel &= 0xF_FFFF }
    }
    /// Bytes after this header, extension headers included (0 in a jumbogram, which NetStack does not accept).
    public var payloadLength: Int
    /// What follows this header: an extension header or the upper layer.
    public var nextHeader: IPProtocol
    /// Decremented by each forwarding node; the packet is discarded at zero.
    public var hopLimit: UInt8 = 64
    /// The sender's address.
    public var source: IPv6Address
    /// The receiver's address (the next segment's, when a routing header is being followed).
    public var destination: IPv6Address

    /// Header size in bytes.
    public static let length = 40
    /// The smallest link MTU IPv6 allows (RFC 8200 §5).
    public static let minimumMTU = 1280

    /// A header for a packet carrying `payloadLength` bytes after it. Inlinable, so that the
    /// header is built where the caller keeps it rather than copied out of a call.
    @inlinable public init(source: IPv6Address, destination: IPv6Address, nextHeader: IPProtocol, payloadLength: Int,
                hopLimit: UInt8 = 64, trafficClass: UInt8 = 0, flowLabel: UInt32 = 0) {
        self.source = source
        self.destination = destination
        self.nextHeader = nextHeader
        self.payloadLength = payloadLength
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xF_FFFF
    }

    /// Header plus payload, in bytes.
    @inlinable public var totalLength: Int { Self.length + payloadLength }

    /// Parses the header at the start of `bytes` (a whole packet; link-layer padding after
    /// the payload is allowed). Costs a few loads; allocates nothing.
    ///
    /// - Throws: `.truncated(.ipv6, …)` below 40 bytes; `.badVersion(.ipv6, v)`;
    ///   `.badLength(.ipv6, n)` when the payload length runs past the bytes.
    @inlinable @inline(__always)  // built where the caller keeps it: no copy right after the stores
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv6Header {
        let header = try parseQuoted(bytes)
        guard header.totalLength <= bytes.count else { throw .badLength(.ipv6, header.payloadLength) }
        return header
    }

    /// Parses a header quoted in an ICMPv6 error (RFC 4443 §2.4 (c)): the packet behind it is
    /// cut short, so the payload length is not checked against the bytes.
    @inlinable
    public static func parseQuoted(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv6Header {
        guard bytes.count >= length else { throw .truncated(.ipv6, needed: length, available: bytes.count) }
        let first = bytes.be32(0)
        let version = Int(first >> 28)
        guard version == 6 else { throw .badVersion(.ipv6, version) }
        return IPv6Header(source: .load(bytes, at: 8), destination: .load(bytes, at: 24),
                          nextHeader: IPProtocol(rawValue: bytes[6]), payloadLength: Int(bytes.be16(4)),
                          hopLimit: bytes[7], trafficClass: UInt8(truncatingIfNeeded: first >> 20),
                          flowLabel: first & 0xF_FFFF)
    }

    /// Writes the 40 header bytes at the start of `buffer`.
    /// Precondition: `buffer` holds at least 40 bytes and the payload length fits 16 bits.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "IPv6 header needs 40 bytes")
        precondition((0...0xFFFF).contains(payloadLength), "IPv6 payload length \(payloadLength) needs a jumbogram")
        buffer.storeBE32(6 << 28 | UInt32(trafficClass) << 20 | flowLabel & 0xF_FFFF, at: 0)
        buffer.storeBE16(UInt16(payloadLength), at: 4)
        buffer[6] = nextHeader.rawValue
        buffer[7] = hopLimit
        source.store(buffer, at: 8)
        destination.store(buffer, at: 24)
    }

    /// One line: `IPv6 2001:db8::1 → 2001:db8::2 ICMPv6 hlim 64 len 64 flow 0x70446`.
    public var description: String {
        "IPv6 \(source) → \(destination) \(nextHeader) hlim \(hopLimit) len \(payloadLength)"
            + (flowLabel != 0 ? " flow 0x\(String(flowLabel, radix: 16))" : "")
    }
}

extension IPv6Header {
    /// Decrements the hop limit of the header at the start of `buffer` in place, as a router
    /// does (no checksum to patch in IPv6). Returns the new hop limit. The caller has parsed the header.
    @discardableResult
    public static func decrementHopLimit(in buffer: UnsafeMutableRawBufferPointer) -> UInt8 {
        buffer[7] = buffer[7] &- 1
        return buffer[7]
    }
}

extension InternetChecksum {
    /// A sum primed with the IPv6 pseudo-header (RFC 8200 §8.1) that ICMPv6, UDP and TCP
    /// checksums over IPv6 cover: source, destination, the 32-bit upper-layer length, three
    /// zero bytes and the next header value of the upper layer (not of an extension header).
    /// `destination` is the final one when a routing header is present. Costs ten additions.
    @inlinable
    public static func pseudoHeader(source: IPv6Address, destination: IPv6Address,
                                    nextHeader: IPProtocol, length: Int) -> InternetChecksum {
        var sum = InternetChecksum()
        sum.add(source.high)
        sum.add(source.low)
        sum.add(destination.high)
        sum.add(destination.low)
        sum.add(UInt32(truncatingIfNeeded: length))
        sum.add(UInt16(nextHeader.rawValue))
        return sum
    }
}
