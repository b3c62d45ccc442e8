// The IPv6 extension-header chain (RFC 8200 §4): hop-by-hop and destination options
// (§4.2, §4.3, §4.6), routing (§4.4; type 0 deprecated by RFC 5095), fragment (§4.5).
// Hostile chains are the concern here: every length is checked against the packet, the
// number of headers is capped, and options are walked with bounds (RFC 9098 discusses why).

/// The Fragment header (RFC 8200 §4.5), 8 bytes.
public struct IPv6FragmentHeader: Hashable, Sendable, CustomStringConvertible {
    /// What the reassembled fragmentable part starts with.
    public var nextHeader: IPProtocol
    /// Where this fragment's data goes in the fragmentable part, in bytes (a multiple of 8).
    public var fragmentOffset: Int
    /// The M flag: more fragments follow.
    public var moreFragments: Bool
    /// Identifies the fragments of one packet (with source and destination).
    public var identification: UInt32

    /// Header size in bytes.
    public static let length = 8

    /// A fragment header; `fragmentOffset` in bytes, a multiple of 8.
    public init(nextHeader: IPProtocol, fragmentOffset: Int, moreFragments: Bool, identification: UInt32) {
        self.nextHeader = nextHeader
        self.fragmentOffset = fragmentOffset
        self.moreFragments = moreFragments
        self.identification = identification
    }

    /// True for an atomic fragment (offset 0, no more fragments; RFC 6946): the whole packet,
    /// to be processed without reassembly.
    @inlinable public var isAtomic: Bool { fragmentOffset == 0 && !moreFragments }

    /// Reads the header at the start of `bytes`; the two reserved fields are ignored.
    /// - Throws: `.truncated(.ipv6, …)` below 8 bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> IPv6FragmentHeader {
        guard bytes.count >= length else { throw .truncated(.ipv6, needed: length, available: bytes.count) }
        let offsetAndFlag = bytes.be16(2)
        return IPv6FragmentHeader(nextHeader: IPProtocol(rawValue: bytes[0]),
                                  fragmentOffset: Int(offsetAndFlag & 0xFFF8), moreFragments: offsetAndFlag & 1 != 0,
                                  identification: bytes.be32(4))
    }

    /// Writes the 8 bytes at the start of `buffer`, reserved fields zero.
    /// Precondition: 8 bytes of room, and an offset that is a multiple of 8 below 65,536.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "IPv6 fragment header needs 8 bytes")
        precondition(fragmentOffset % 8 == 0 && (0..<65536).contains(fragmentOffset), "bad fragment offset \(fragmentOffset)")
        buffer[0] = nextHeader.rawValue
        buffer[1] = 0
        buffer.storeBE16(UInt16(fragmentOffset) | (moreFragments ? 1 : 0), at: 2)
        buffer.storeBE32(identification, at: 4)
    }

    /// One line: `IPv6 fragment id 0x7f2f2987 off 1232 next ICMPv6`.
    public var description: String {
        "IPv6 fragment id 0x\(String(identification, radix: 16)) off \(fragmentOffset)\(moreFragments ? " M" : "") next \(nextHeader)"
    }
}

/// A routing header met on the chain (RFC 8200 §4.4): NetStack implements no routing type,
/// so it may only ignore one whose segments left is 0.
public struct IPv6RoutingHeaderInfo: Hashable, Sendable {
    /// The routing type: 0 (deprecated, RFC 5095), 2 (mobile IPv6), 3 (RPL), 4 (segment routing)…
    public var routingType: UInt8
    /// Route segments still to visit.
    public var segmentsLeft: UInt8
    /// Offset of the routing header from the start of the IPv6 header.
    public var offset: Int

    /// True when the packet must be discarded with a parameter problem (code 0) pointing at
    /// ``typePointer``: an unimplemented routing type, type 0 included (RFC 5095 §3), with
    /// segments left (RFC 8200 §4.4).
    @inlinable public var mustBeRefused: Bool { segmentsLeft != 0 }
    /// The parameter problem pointer to the routing type field.
    @inlinable public var typePointer: Int { offset + 2 }
}

/// An option of a hop-by-hop or destination options header that NetStack does not know,
/// and what its type's two high bits ask of the receiver (RFC 8200 §4.2).
public struct IPv6UnrecognizedOption: Hashable, Sendable {
    /// The option type byte.
    public var type: UInt8
    /// Offset of the option type byte from the start of the IPv6 header: the parameter problem pointer.
    public var offset: Int

    /// The action bits: 0 skip the option, 1 discard the packet silently, 2 discard and send a
    /// parameter problem (code 2), 3 the same unless the destination was multicast.
    @inlinable public var action: UInt8 { type >> 6 }
}

/// What walking an IPv6 packet's extension-header chain found (RFC 8200 §4): where the upper
/// layer starts and which of its headers ask the receiver for something.
///
/// The walk stops at the first header that is not hop-by-hop, routing, fragment, destination
/// options or authentication; that is the upper layer (ICMPv6, TCP, UDP, no next header, ESP or
/// anything unknown — the caller answers an unknown one with a parameter problem, code 1,
/// pointing at ``upperLayerNextHeaderOffset``). It also stops after a fragment header whose
/// offset is not 0 (the rest is fragment data, not headers), and at a hop-by-hop header
/// anywhere but first, which is then the unknown upper layer (RFC 8200 §4.1).
public struct IPv6ExtensionHeaders: Hashable, Sendable {
    /// The protocol of the upper layer (or of the fragment data, after a non-first fragment header).
    public var upperLayerProtocol: IPProtocol
    /// Where the upper layer starts, from the start of the IPv6 header.
    public var upperLayerOffset: Int
    /// Offset of the Next Header field that named ``upperLayerProtocol`` (6 when there are no
    /// extension headers): the pointer of a parameter problem for an unknown next header.
    public var upperLayerNextHeaderOffset: Int
    /// How many extension headers were walked.
    public var headerCount = 0
    /// The fragment header, if there is one.
    public var fragment: IPv6FragmentHeader?
    /// Offset of the fragment header from the start of the IPv6 header; the fragmentable part
    /// starts 8 bytes later.
    public var fragmentHeaderOffset: Int?
    /// The (first) routing header, if there is one.
    public var routing: IPv6RoutingHeaderInfo?
    /// The value of a router alert option in the hop-by-hop header (RFC 2711; 0 for MLD).
    public var routerAlert: UInt16?
    /// The first option whose action is not "skip" (RFC 8200 §4.2): the caller drops the
    /// packet and, for actions 2 and 3, answers with a parameter problem.
    public var unrecognizedOption: IPv6UnrecognizedOption?

    /// The cap on extension headers walked by default. Real chains hold at most three or four
    /// (RFC 8200 §4.1 recommends an order with each header at most once, destination options twice).
    public static let defaultMaximumHeaderCount = 8

    /// Walks the chain of `packet`, a whole IPv6 packet from its fixed header on (link-layer
    /// padding after the payload length is ignored). A hop-by-hop header anywhere but first
    /// ends the walk as if it were the upper layer (RFC 8200 §4.1: it is not recognised there),
    /// `upperLayerNextHeaderOffset` pointing at the field that named it. Costs one pass over the
    /// extension headers, allocates nothing.
    ///
    /// - Throws: `.truncated(.ipv6, …)` when a header runs past the packet;
    ///   `.badField(.ipv6, …)` for more than `maximumHeaderCount` headers; `.badOption(.ipv6, …)` for an option whose
    ///   length runs past its header; what ``IPv6Header/parse(_:)`` throws.
    public static func walk(_ packet: UnsafeRawBufferPointer,
                            maximumHeaderCount: Int = defaultMaximumHeaderCount) throws(WireError) -> IPv6ExtensionHeaders {
        try walk(packet, quoted: false, maximumHeaderCount: maximumHeaderCount)
    }

    /// The walk; `quoted` for a packet quoted in an ICMPv6 error, which ends where the quote does.
    static func walk(_ packet: UnsafeRawBufferPointer, quoted: Bool,
                     maximumHeaderCount: Int = defaultMaximumHeaderCount) throws(WireError) -> IPv6ExtensionHeaders {
        let header = quoted ? try IPv6Header.parseQuoted(packet) : try IPv6Header.parse(packet)
        let end = quoted ? min(packet.count, header.totalLength) : header.totalLength
        var found = IPv6ExtensionHeaders(upperLayerProtocol: header.nextHeader, upperLayerOffset: IPv6Header.length,
                                         upperLayerNextHeaderOffset: 6)
        var next = header.nextHeader, offset = IPv6Header.length, nextHeaderField = 6
        while true {
            let length: Int
            switch next {
            case .ipv6HopByHop, .ipv6DestinationOptions, .ipv6Routing, .authenticationHeader:
                guard offset + 2 <= end else { throw .truncated(.ipv6, needed: offset + 2, available: end) }
                // AH counts 4-byte words less 2 (RFC 4302 §2.2); the others 8-byte words less 1.
                length = next == .authenticationHeader ? (Int(packet[offset + 1]) + 2) * 4 : (Int(packet[offset + 1]) + 1) * 8
            case .ipv6Fragment:
                length = IPv6FragmentHeader.length
            default:
                found.upperLayerProtocol = next
                found.upperLayerOffset = offset
                found.upperLayerNextHeaderOffset = nextHeaderField
                return found
            }
            guard found.headerCount < maximumHeaderCount else {
                throw .badField(.ipv6, "more than \(maximumHeaderCount) extension headers")
            }
            if next == .ipv6HopByHop && offset != IPv6Header.length {
                // RFC 8200 §4.1: only right after the IPv6 header. Elsewhere it is a Next Header value
                // the node does not recognise there: the walk ends on it, and delivery answers with a
                // parameter problem, code 1, pointing at the field that named it (§4).
                found.upperLayerProtocol = next
                found.upperLayerOffset = offset
                found.upperLayerNextHeaderOffset = nextHeaderField
                return found
            }
            guard offset + length <= end else { throw .truncated(.ipv6, needed: offset + length, available: end) }
            found.headerCount += 1
            let body = UnsafeRawBufferPointer(rebasing: packet[offset..<(offset + length)])
            switch next {
            case .ipv6HopByHop, .ipv6DestinationOptions:
                try found.walkOptions(body, at: offset, hopByHop: next == .ipv6HopByHop)
            case .ipv6Routing:
                guard length >= 4 else { throw .truncated(.ipv6, needed: offset + 4, available: offset + length) }
                if found.routing == nil {
                    found.routing = IPv6RoutingHeaderInfo(routingType: body[2], segmentsLeft: body[3], offset: offset)
                }
            case .ipv6Fragment:
                let fragment = try IPv6FragmentHeader.parse(body)
                found.fragment = fragment
                found.fragmentHeaderOffset = offset
                if fragment.fragmentOffset != 0 {
                    found.upperLayerProtocol = fragment.nextHeader
                    found.upperLayerOffset = offset + length
                    found.upperLayerNextHeaderOffset = offset
                    return found
                }
            default:
                break
            }
            nextHeaderField = offset
            next = IPProtocol(rawValue: body[0])
            offset += length
        }
    }

    /// Walks the type-length-value options of a hop-by-hop or destination options header
    /// (RFC 8200 §4.2) that starts `base` bytes into the packet.
    private mutating func walkOptions(_ header: UnsafeRawBufferPointer, at base: Int, hopByHop: Bool) throws(WireError) {
        var index = 2
        while index < header.count {
            let type = header[index]
            if type == 0 { index += 1; continue }  // Pad1
            guard index + 1 < header.count else { throw .badOption(.ipv6, kind: type, offset: base + index) }
            let length = Int(header[index + 1])
            guard index + 2 + length <= header.count else { throw .badOption(.ipv6, kind: type, offset: base + index) }
            switch type {
            case 1:  // PadN
                break
            case 5 where hopByHop && length == 2:  // router alert (RFC 2711)
                routerAlert = header.be16(index + 2)
            default:
                if type >> 6 != 0 && unrecognizedOption == nil {
                    unrecognizedOption = IPv6UnrecognizedOption(type: type, offset: base + index)
                }
            }
            index += 2 + length
        }
    }
}

extension IPv6ExtensionHeaders {
    /// Size of the hop-by-hop header ``emitRouterAlertHopByHop(nextHeader:value:into:)`` writes.
    public static let routerAlertHopByHopLength = 8

    /// Writes the 8-byte hop-by-hop options header that carries a router alert (RFC 2711)
    /// with `value` (0: the packet holds an MLD message) and a 2-byte PadN, as Linux writes it
    /// in front of MLD messages. Precondition: `buffer` holds at least 8 bytes.
    public static func emitRouterAlertHopByHop(nextHeader: IPProtocol, value: UInt16 = 0,
                                               into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= routerAlertHopByHopLength, "the hop-by-hop header needs 8 bytes")
        buffer[0] = nextHeader.rawValue
        buffer[1] = 0  // (0 + 1) × 8 bytes
        buffer[2] = 5  // router alert, 2 bytes of value
        buffer[3] = 2
        buffer.storeBE16(value, at: 4)
        buffer[6] = 1  // PadN with no data
        buffer[7] = 0
    }
}
