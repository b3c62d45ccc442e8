/// A 48-bit IEEE 802 MAC address, the address a LAN adapter answers to.
///
/// Stored in the low 48 bits of a `UInt64` in transmission order (first octet
/// most significant), so comparing and hashing cost one integer operation.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as a 48-bit integer, first octet in bits 47…40.
    public let rawValue: UInt64

    /// Makes an address from its 48-bit integer form; bits above 47 are ignored.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// Makes an address from six octets in transmission order.
    @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        self.init(rawValue: UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24
            | UInt64(d) << 16 | UInt64(e) << 8 | UInt64(f))
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ":" || $0 == "-" })
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let octet = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(octet)
        }
        self.init(rawValue: value)
    }

    /// ff:ff:ff:ff:ff:ff, the address every adapter on a LAN accepts.
    @inlinable public static var broadcast: MACAddress { MACAddress(rawValue: 0xFFFF_FFFF_FFFF) }
    /// 00:00:00:00:00:00, used as the unknown target in an ARP request.
    @inlinable public static var zero: MACAddress { MACAddress(rawValue: 0) }

    /// True for ff:ff:ff:ff:ff:ff.
    @inlinable public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }
    /// True when the group bit (least significant bit of the first octet) is set.
    @inlinable public var isMulticast: Bool { rawValue & (1 << 40) != 0 }

    /// The six octets in transmission order.
    public var octets: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }

    /// Lower-case colon form, as `ip link` and `arp` print it.
    public var description: String {
        octets.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    @inlinable public static func < (a: MACAddress, b: MACAddress) -> Bool { a.rawValue < b.rawValue }

    /// Reads six octets at `offset`. The caller has checked the bounds.
    @inlinable static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(bytes.be16(offset)) << 32 | UInt64(bytes.be32(offset + 2)))
    }

    /// Writes six octets at `offset`. The caller has checked the bounds.
    @inlinable func store(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBE16(UInt16(truncatingIfNeeded: rawValue >> 32), at: offset)
        bytes.storeBE32(UInt32(truncatingIfNeeded: rawValue), at: offset + 2)
    }
}

/// An IPv4 address (RFC 791), held as a host-order `UInt32`.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as an integer, first octet most significant.
    public let rawValue: UInt32

    /// Makes an address from its integer form.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Makes an address from four octets, `IPv4Address(192, 0, 2, 1)`.
    @inlinable public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`192.0.2.1`); nil for anything else, leading zeros included.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  part.count == 1 || part.first != "0", let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        rawValue = value
    }

    /// 0.0.0.0
    @inlinable public static var any: IPv4Address { IPv4Address(rawValue: 0) }
    /// 255.255.255.255, the limited broadcast address.
    @inlinable public static var broadcast: IPv4Address { IPv4Address(rawValue: 0xFFFF_FFFF) }

    /// The four octets, first one first.
    public var octets: [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rawValue >> $0) } }

    /// True for 224.0.0.0/4.
    @inlinable public var isMulticast: Bool { rawValue >> 28 == 0xE }
    /// True for 255.255.255.255.
    @inlinable public var isLimitedBroadcast: Bool { rawValue == 0xFFFF_FFFF }

    /// Dotted-quad text.
    public var description: String { octets.map(String.init).joined(separator: ".") }

    @inlinable public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.rawValue < b.rawValue }

    /// The netmask of a prefix length: 24 → 255.255.255.0. Lengths above 32 count as 32.
    @inlinable public static func mask(prefixLength: Int) -> IPv4Address {
        let length = max(0, min(32, prefixLength))
        return IPv4Address(rawValue: length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length))
    }

    /// Reads four octets at `offset`. The caller has checked the bounds.
    @inlinable static func load(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> IPv4Address {
        IPv4Address(rawValue: bytes.be32(offset))
    }

    /// Writes four octets at `offset`. The caller has checked the bounds.
    @inlinable func store(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int) {
        bytes.storeBE32(rawValue, at: offset)
    }
}

/// An IPv4 network: an address and a prefix length, as in `192.0.2.0/24`.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let address: IPv4Address
    /// The prefix length, 0…32.
    public let prefixLength: Int

    /// Makes the network that contains `address`, clearing host bits.
    public init(address: IPv4Address, prefixLength: Int) {
        let length = max(0, min(32, prefixLength))
        self.prefixLength = length
        self.address = IPv4Address(rawValue: address.rawValue & IPv4Address.mask(prefixLength: length).rawValue)
    }

    /// Parses `A.B.C.D/P`; nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parts[0]),
              parts[1].allSatisfy(\.isNumber), let length = Int(parts[1]), (0...32).contains(length) else { return nil }
        self.init(address: address, prefixLength: length)
    }

    /// The netmask, e.g. 255.255.255.0.
    @inlinable public var mask: IPv4Address { IPv4Address.mask(prefixLength: prefixLength) }
    /// The directed broadcast address of the network.
    @inlinable public var broadcast: IPv4Address { IPv4Address(rawValue: address.rawValue | ~mask.rawValue) }
    /// True when `other` lies inside this network.
    @inlinable public func contains(_ other: IPv4Address) -> Bool {
        other.rawValue & IPv4Address.mask(prefixLength: prefixLength).rawValue == address.rawValue
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
