// IPv6 addresses and networks. RFCs to read: RFC 4291 (addressing architecture: §2.2 text
// forms, §2.5.5.2 IPv4-mapped, §2.7 multicast, §2.7.1 solicited-node, appendix A modified
// EUI-64), RFC 5952 (canonical text), RFC 2464 §7 (multicast on Ethernet).

/// An IPv6 address (RFC 4291), held as two host-order `UInt64` halves, first octet most
/// significant in ``high``: 16 bytes, and comparing or hashing costs two integer operations.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Octets 0…7, octet 0 in the most significant byte.
    public let high: UInt64
    /// Octets 8…15, octet 8 in the most significant byte.
    public let low: UInt64

    /// Makes an address from its two 64-bit halves.
    @inlinable public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Makes an address from eight 16-bit groups, as the text form writes them:
    /// `IPv6Address(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)` is 2001:db8::1.
    @inlinable public init(_ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16,
                           _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16) {
        high = UInt64(g0) << 48 | UInt64(g1) << 32 | UInt64(g2) << 16 | UInt64(g3)
        low = UInt64(g4) << 48 | UInt64(g5) << 32 | UInt64(g6) << 16 | UInt64(g7)
    }

    /// Makes an address from 16 octets in transmission order; nil unless there are exactly 16.
    public init?(octets: some Collection<UInt8>) {
        guard octets.count == 16 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (index, octet) in octets.enumerated() {
            if index < 8 { high = high << 8 | UInt64(octet) } else { low = low << 8 | UInt64(octet) }
        }
        self.init(high: high, low: low)
    }

    /// The IPv4-mapped address ::ffff:a.b.c.d of `ipv4` (RFC 4291 §2.5.5.2).
    @inlinable public init(ipv4Mapped ipv4: IPv4Address) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(ipv4.rawValue))
    }

    // MARK: Well-known addresses

    /// ::, the unspecified address (RFC 4291 §2.5.2): a source before an address is assigned.
    @inlinable public static var unspecified: IPv6Address { IPv6Address(high: 0, low: 0) }
    /// ::1, the loopback address (RFC 4291 §2.5.3).
    @inlinable public static var loopback: IPv6Address { IPv6Address(high: 0, low: 1) }
    /// ff02::1, every node on the link (RFC 4291 §2.7.1).
    @inlinable public static var allNodes: IPv6Address { IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 1) }
    /// ff02::2, every router on the link (RFC 4291 §2.7.1).
    @inlinable public static var allRouters: IPv6Address { IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 2) }
    /// ff02::16, where MLDv2 reports go (RFC 3810 §5.2.14).
    @inlinable public static var allMLDv2Routers: IPv6Address { IPv6Address(0xff02, 0, 0, 0, 0, 0, 0, 0x16) }

    // MARK: Kinds

    /// True for ::.
    @inlinable public var isUnspecified: Bool { high == 0 && low == 0 }
    /// True for ::1.
    @inlinable public var isLoopback: Bool { high == 0 && low == 1 }
    /// True for ff00::/8 (RFC 4291 §2.7).
    @inlinable public var isMulticast: Bool { high >> 56 == 0xFF }
    /// True for the link-local unicast prefix fe80::/10 (RFC 4291 §2.5.6).
    @inlinable public var isLinkLocal: Bool { high >> 54 == 0xFE80 >> 6 }
    /// True for link-local-scope multicast, ff02::/16 and its flag variants (scope 2, RFC 4291 §2.7).
    @inlinable public var isLinkLocalMulticast: Bool { isMulticast && multicastScope == 2 }
    /// True for ::ffff:0:0/96, an IPv4 address seen through an IPv6 socket (RFC 4291 §2.5.5.2).
    @inlinable public var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xFFFF }
    /// True for ff02::1:ff00:0/104, a solicited-node group (RFC 4291 §2.7.1).
    @inlinable public var isSolicitedNodeMulticast: Bool {
        high == 0xFF02_0000_0000_0000 && low >> 24 == 0x0000_0001_FF
    }

    /// The scope field of a multicast address (1 interface, 2 link, 5 site, 8 organization,
    /// 14 global; RFC 4291 §2.7), or nil for a unicast address.
    @inlinable public var multicastScope: UInt8? {
        isMulticast ? UInt8(truncatingIfNeeded: high >> 48) & 0x0F : nil
    }

    /// The IPv4 address inside an IPv4-mapped address, else nil.
    @inlinable public var ipv4Mapped: IPv4Address? {
        isIPv4Mapped ? IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)) : nil
    }

    // MARK: Derived addresses

    /// The solicited-node multicast group ff02::1:ffXX:XXXX of this address, formed from its
    /// low 24 bits (RFC 4291 §2.7.1): where neighbour solicitations for it are sent.
    @inlinable public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | low & 0xFF_FFFF)
    }

    /// The Ethernet destination of this multicast address, 33:33 followed by its low 32 bits
    /// (RFC 2464 §7). For a unicast address the result means nothing.
    @inlinable public var multicastMAC: MACAddress {
        MACAddress(rawValue: 0x3333_0000_0000 | low & 0xFFFF_FFFF)
    }

    /// The link-local address fe80::/64 with the modified EUI-64 interface identifier of `mac`
    /// (RFC 4291 appendix A, RFC 2464 §4): ff:fe in the middle, the universal/local bit flipped.
    /// This is what Linux forms by default (`addr_gen_mode` 0).
    public static func linkLocal(eui64 mac: MACAddress) -> IPv6Address {
        IPv6Address(high: 0xFE80_0000_0000_0000, low: interfaceIdentifier(eui64: mac))
    }

    /// The modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A).
    public static func interfaceIdentifier(eui64 mac: MACAddress) -> UInt64 {
        let upper = (mac.rawValue >> 24) ^ 0x02_0000  // first three octets, U/L bit flipped
        return upper << 40 | 0xFF_FE00_0000 | mac.rawValue & 0xFF_FFFF
    }

    // MARK: Octets and masks

    /// The 16 octets in transmission order (allocates an array; for display and tests).
    public var octets: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> UInt64(56 - 8 * (i % 8))) }
    }

    /// The eight 16-bit groups of the text form, first one first.
    public var groups: [UInt16] {
        (0..<8).map { i in UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> UInt64(48 - 16 * (i % 4))) }
    }

    /// The mask of a prefix length: 64 → ffff:ffff:ffff:ffff::. Lengths are clamped to 0…128.
    @inlinable public static func mask(prefixLength: Int) -> IPv6Address {
        let length = max(0, min(128, prefixLength))
        let high: UInt64 = length == 0 ? 0 : length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length)
        let low: UInt64 = length <= 64 ? 0 : length == 128 ? ~0 : ~UInt64(0) << UInt64(128 - length)
        return IPv6Address(high: high, low: low)
    }

    /// This address with every bit outside `mask` cleared.
    @inlinable public func masked(by mask: IPv6Address) -> IPv6Address {
        IPv6Address(high: high & mask.high, low: low & mask.low)
    }

    /// Numeric order, octet by octet.
    @inlinable public static func < (a: IPv6Address, b: IPv6Address) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// Reads 16 octets at `offset`. The caller has checked the bounds.
    @inlinable static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> IPv6Address {
        IPv6Address(high: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                    low: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
    }

    /// Writes 16 octets at `offset`. The caller has checked the bounds.
    @inlinable func store(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBytes(of: high.bigEndian, toByteOffset: offset, as: UInt64.self)
        bytes.storeBytes(of: low.bigEndian, toByteOffset: offset + 8, as: UInt64.self)
    }
}

// MARK: - Text forms

extension IPv6Address {
    /// Parses every text form of RFC 4291 §2.2: eight groups of one to four hex digits
    /// (`2001:db8:0:0:0:0:0:1`), one `::` standing for one or more zero groups (`2001:db8::1`,
    /// `::`, `fe80::`), and a dotted-quad IPv4 address in the last 32 bits (`::ffff:192.0.2.1`,
    /// `64:ff9b::198.51.100.7`). Upper- and lower-case hex are both accepted; zone indexes
    /// (`%eth0`), brackets and prefix lengths are not. Config-time cost: a few small arrays.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "::", maxSplits: 2, omittingEmptySubsequences: false)
        guard halves.count <= 2, let head = Self.parseGroups(halves[0], mayEndInIPv4: halves.count == 1) else {
            return nil
        }
        var groups = head
        if halves.count == 2 {
            guard let tail = Self.parseGroups(halves[1], mayEndInIPv4: true),
                  head.count + tail.count <= 7 else { return nil }
            groups += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard groups.count == 8 else { return nil }
        self.init(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
    }

    /// The groups of one side of `::` (empty text gives none); a last part with dots is an
    /// IPv4 address worth two groups.
    private static func parseGroups(_ text: some StringProtocol, mayEndInIPv4: Bool) -> [UInt16]? {
        if text.isEmpty { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        var groups: [UInt16] = []
        for (index, part) in parts.enumerated() {
            if index == parts.count - 1, mayEndInIPv4, part.contains(".") {
                guard let ipv4 = IPv4Address(part) else { return nil }
                groups += [UInt16(truncatingIfNeeded: ipv4.rawValue >> 16), UInt16(truncatingIfNeeded: ipv4.rawValue)]
                continue
            }
            guard (1...4).contains(part.count), part.allSatisfy(\.isHexDigit), part.allSatisfy(\.isASCII),
                  let group = UInt16(part, radix: 16) else { return nil }
            groups.append(group)
        }
        return groups
    }

    /// The canonical text of RFC 5952 §4: lower-case hex without leading zeros, the longest
    /// run of two or more zero groups (the first of equal runs) written `::`, and an
    /// IPv4-mapped address as `::ffff:a.b.c.d` (§5). `inet_ntop` on Linux prints the same.
    public var description: String {
        if let ipv4 = ipv4Mapped { return "::ffff:\(ipv4)" }
        let groups = self.groups
        var bestStart = -1, bestLength = 1  // a run must be at least 2 long (RFC 5952 §4.2.2)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else { index += 1; continue }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
            index = end
        }
        let hex = { (range: Range<Int>) in groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

// MARK: - Networks

/// An IPv6 network: an address and a prefix length, as in `2001:db8:1::/64`.
///
/// Host bits are cleared on creation, so two spellings of one network compare equal. For a
/// longest-prefix match, keep routes sorted by ``prefixLength`` descending (or compare it)
/// and take the first whose `contains(_:)` holds.
public struct IPv6Network: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let address: IPv6Address
    /// The prefix length, 0…128.
    public let prefixLength: Int

    /// Makes the network that contains `address`, clearing host bits; the length is clamped to 0…128.
    public init(address: IPv6Address, prefixLength: Int) {
        let length = max(0, min(128, prefixLength))
        self.prefixLength = length
        self.address = address.masked(by: IPv6Address.mask(prefixLength: length))
    }

    /// Parses `ADDRESS/LENGTH` (`2001:db8::/32`); nil when malformed or the length is above 128.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv6Address(parts[0]), (1...3).contains(parts[1].count),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]),
              length <= 128 else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The mask of ``prefixLength``.
    @inlinable public var mask: IPv6Address { IPv6Address.mask(prefixLength: prefixLength) }

    /// True when `other` lies inside this network. Two masks and two compares.
    @inlinable public func contains(_ other: IPv6Address) -> Bool {
        other.masked(by: mask) == address
    }

    /// True when every address of `other` lies inside this network (it is this network or a
    /// longer prefix within it).
    @inlinable public func contains(_ other: IPv6Network) -> Bool {
        other.prefixLength >= prefixLength && contains(other.address)
    }

    /// `2001:db8:1::/64`.
    public var description: String { "\(address)/\(prefixLength)" }
}

// MARK: - Either family

/// An address of either IP version. Ordered IPv4 first, then IPv6, each by value.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// An IPv4 address.
    case v4(IPv4Address)
    /// An IPv6 address (an IPv4-mapped one stays IPv6; ``ipv4`` reads through it).
    case v6(IPv6Address)

    /// Parses dotted-quad IPv4 text, else any IPv6 text form; nil when neither fits.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The IPv4 address itself, or the one inside an IPv4-mapped IPv6 address; else nil.
    public var ipv4: IPv4Address? {
        switch self {
        case let .v4(address): address
        case let .v6(address): address.ipv4Mapped
        }
    }

    /// True for an IPv4 multicast or an IPv6 multicast address.
    public var isMulticast: Bool {
        switch self {
        case let .v4(address): address.isMulticast
        case let .v6(address): address.isMulticast
        }
    }

    /// The address's canonical text (dotted quad, or RFC 5952).
    public var description: String {
        switch self {
        case let .v4(address): address.description
        case let .v6(address): address.description
        }
    }

    /// IPv4 before IPv6, then numeric order.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case let (.v4(x), .v4(y)): x < y
        case let (.v6(x), .v6(y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}
