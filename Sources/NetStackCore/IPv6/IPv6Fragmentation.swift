// Fragmentation at the source (RFC 8200 §4.5: only the source fragments in IPv6, routers
// never do) and the Identification it needs (RFC 7739). The packet too big that says a
// datagram must be cut comes through the path MTU cache (PathMTU.swift).

public import NetStackWire

/// Why ``IPv6Fragmentation/fragment(_:pathMTU:identification:scratch:_:)`` cut nothing.
public enum IPv6FragmentationError: Error, Equatable, Sendable {
    /// The path MTU given is below IPv6's 1,280 bytes (RFC 8200 §5).
    case pathMTUBelowMinimum(Int)
    /// The datagram's IPv6 header or unfragmentable extension headers do not parse.
    case malformed(WireError)
    /// The unfragmentable part (this many bytes) leaves no room for 8 bytes of data per fragment.
    case unfragmentablePartTooLong(Int)
    /// The scratch buffer holds fewer bytes than a fragment may need (the path MTU, or the datagram's length if smaller).
    case scratchTooSmall(needed: Int)
}

/// Cuts a datagram into fragments at its source (RFC 8200 §4.5).
public enum IPv6Fragmentation {
    /// The unfragmentable part of `datagram` (RFC 8200 §4.5): the IPv6 header plus the
    /// extension headers routers on the way process — up to and including the last routing
    /// header if there is one, else the hop-by-hop header if there is one, else none (a
    /// destination options header with no routing header after it is fragmentable). Returns its
    /// length and the offset of the Next Header field that names the first fragmentable header.
    /// O(headers), no allocation.
    /// - Throws: what `IPv6Header.parse(_:)` throws; `.truncated(.ipv6, …)` when an extension
    ///   header runs past the datagram; `.badField(.ipv6, …)` past the walker's header cap.
    public static func unfragmentablePart(of datagram: UnsafeRawBufferPointer) throws(WireError)
        -> (length: Int, nextHeaderField: Int) {
        let header = try IPv6Header.parse(datagram)
        let end = header.totalLength
        var next = header.nextHeader, offset = IPv6Header.length, field = 6
        var part = (length: IPv6Header.length, nextHeaderField: 6)
        for _ in 0...IPv6ExtensionHeaders.defaultMaximumHeaderCount {
            switch next {
            case .ipv6HopByHop where offset == IPv6Header.length, .ipv6DestinationOptions, .ipv6Routing:
                guard offset + 2 <= end else { throw .truncated(.ipv6, needed: offset + 2, available: end) }
                let length = (Int(datagram[offset + 1]) + 1) * 8
                guard offset + length <= end else { throw .truncated(.ipv6, needed: offset + length, available: end) }
                let kind = next
                field = offset
                next = IPProtocol(rawValue: datagram[offset])
                offset += length
                // Everything up to here is per-fragment once a hop-by-hop or routing header ends here.
                if kind != .ipv6DestinationOptions { part = (offset, field) }
            default:
                return part
            }
        }
        throw .badField(.ipv6, "more than \(IPv6ExtensionHeaders.defaultMaximumHeaderCount) extension headers")
    }

    /// Cuts `datagram` (a whole IPv6 packet: header, extension headers, upper layer) into
    /// fragments of at most `pathMTU` bytes and calls `send` once per fragment, in offset order,
    /// with its bytes built in `scratch`: the unfragmentable part repeated with its payload
    /// length set and the Next Header that named the first fragmentable header now naming the
    /// Fragment header (44), then the Fragment header (`identification`, offset in 8-byte
    /// units, M on all but the last), then the next piece of the fragmentable part — as much as
    /// fits, a multiple of 8 bytes except in the last fragment.
    ///
    /// A datagram that already fits `pathMTU` is passed to `send` as it is (no fragment header:
    /// RFC 8021 retired atomic fragments). The bytes given to `send` are valid during the call
    /// only. Returns the number of fragments. Copies each byte once (the unfragmentable part once
    /// per fragment); no allocation. `scratch` needs `min(pathMTU, datagram length)` bytes.
    public static func fragment(_ datagram: UnsafeRawBufferPointer, pathMTU: Int, identification: UInt32,
                                scratch: UnsafeMutableRawBufferPointer,
                                _ send: (UnsafeRawBufferPointer) -> Void) throws(IPv6FragmentationError) -> Int {
        guard pathMTU >= IPv6Header.minimumMTU else { throw .pathMTUBelowMinimum(pathMTU) }
        let part: (length: Int, nextHeaderField: Int)
        do { part = try unfragmentablePart(of: datagram) } catch { throw .malformed(error) }
        let total = Int(datagram.be16(4)) + IPv6Header.length
        if total <= pathMTU {
            send(UnsafeRawBufferPointer(rebasing: datagram[..<total]))
            return 1
        }
        let headers = part.length + IPv6FragmentHeader.length
        // Data per fragment but the last: what fits after the headers, rounded down to 8.
        let chunk = (pathMTU - headers) & ~7
        guard chunk >= 8 else { throw .unfragmentablePartTooLong(part.length) }
        guard scratch.count >= pathMTU else { throw .scratchTooSmall(needed: pathMTU) }

        let firstFragmentable = IPProtocol(rawValue: datagram[part.nextHeaderField])
        UnsafeMutableRawBufferPointer(rebasing: scratch[..<part.length])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: datagram[..<part.length]))
        scratch[part.nextHeaderField] = IPProtocol.ipv6Fragment.rawValue
        let fragmentable = UnsafeRawBufferPointer(rebasing: datagram[part.length..<total])
        var offset = 0, count = 0
        while offset < fragmentable.count {
            let size = min(chunk, fragmentable.count - offset)
            let more = offset + size < fragmentable.count
            let length = headers + size
            scratch.storeBE16(UInt16(length - IPv6Header.length), at: 4)
            IPv6FragmentHeader(nextHeader: firstFragmentable, fragmentOffset: offset, moreFragments: more,
                               identification: identification)
                .emit(into: UnsafeMutableRawBufferPointer(rebasing: scratch[part.length..<headers]))
            UnsafeMutableRawBufferPointer(rebasing: scratch[headers..<length])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: fragmentable[offset..<(offset + size)]))
            send(UnsafeRawBufferPointer(rebasing: scratch[..<length]))
            offset += size
            count += 1
        }
        return count
    }
}

/// The Identification of the fragments a host sends (RFC 7739 §5.3.3's hash-based scheme, the
/// same as `IPIdentification` for IPv4 and close to Linux's ipv6_select_ident): a keyed hash
/// of (source, destination) picks one of 2,048 counters and a 32-bit offset; the value is offset
/// + counter, and each datagram advances its counter by a random step of 1 to 8. The values
/// toward one destination say nothing about those toward another, and an off-path observer
/// cannot predict them (RFC 7739 §3).
///
/// O(1) per datagram (one SipHash of 32 bytes, one draw); 8 KiB of counters, no allocation after init.
public struct IPv6FragmentIdentification: Sendable {
    static let buckets = 2048

    private let key: (UInt64, UInt64)
    private var counters: [UInt32]
    /// The state of the step generator (SplitMix64), seeded from the key.
    private var random: UInt64

    /// Keyed with a 128-bit secret from the OS's random source (the host's secrets hold one).
    public init(key: (UInt64, UInt64)) {
        self.key = key
        var mixer = key.0 ^ key.1.byteSwapped ^ 0x6970_7636_6672_6167  // "ipv6frag": not the IPv4 sequence
        random = splitMix64(&mixer)
        counters = (0..<Self.buckets).map { _ in UInt32(truncatingIfNeeded: splitMix64(&mixer)) }
    }

    /// The Identification for the next datagram from `source` to `destination` that is fragmented. O(1).
    public mutating func next(source: IPv6Address, destination: IPv6Address) -> UInt32 {
        let hash = SipHash.hash(key: key, words: source.high, source.low, destination.high, destination.low)
        let bucket = Int(hash % UInt64(Self.buckets))
        let step = UInt32(truncatingIfNeeded: splitMix64(&random) & 7) &+ 1
        counters[bucket] &+= step
        return UInt32(truncatingIfNeeded: hash >> 32) &+ counters[bucket]
    }
}
