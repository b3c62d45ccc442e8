/// The EtherType field of an Ethernet II header: which protocol the payload holds.
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// IPv4 (RFC 894).
    @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
    /// ARP (RFC 826).
    @inlinable public static var arp: EtherType { EtherType(rawValue: 0x0806) }
    /// An IEEE 802.1Q VLAN tag.
    @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
    /// IPv6 (RFC 2464).
    @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .arp: "ARP"
        case .ipv6: "IPv6"
        case .vlan: "802.1Q"
        default: "0x" + String(rawValue, radix: 16)
        }
    }
}

/// An Ethernet II (DIX) MAC header: destination, source, EtherType (IEEE 802.3 §3.2).
///
/// 14 bytes on the wire. The FCS, when a link carries it, trails the payload;
/// see ``EthernetFrame`` and ``EthernetFCS``.
public struct EthernetHeader: Hashable, Sendable, CustomStringConvertible {
    public var destination: MACAddress
    public var source: MACAddress
    public var etherType: EtherType

    /// Header size in bytes.
    public static let length = 14
    /// The smallest frame an adapter sends, without FCS; shorter frames are padded with zeros.
    public static let minimumFrameLength = 60

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }

    /// Reads the header at the start of `bytes`. Throws `.truncated` below 14 bytes.
    /// Values of 1500 and less in the type field are IEEE 802.3 lengths, not EtherTypes: `.unsupported`.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> EthernetHeader {
        guard bytes.count >= length else { throw .truncated(.ethernet, needed: length, available: bytes.count) }
        let type = bytes.be16(12)
        guard type >= 0x0600 else { throw .unsupported(.ethernet, "802.3 length field \(type) (not Ethernet II)") }
        return EthernetHeader(destination: .load(bytes, at: 0), source: .load(bytes, at: 6),
                              etherType: EtherType(rawValue: type))
    }

    /// Writes the 14 header bytes at the start of `buffer` (at least 14 bytes long).
    @inlinable
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "Ethernet header needs 14 bytes")
        destination.store(buffer, at: 0)
        source.store(buffer, at: 6)
        buffer.storeBE16(etherType.rawValue, at: 12)
    }

    public var description: String { "Ethernet \(source) → \(destination) type \(etherType)" }
}

/// A whole Ethernet frame: its header, and where the payload lies in the bytes parsed.
public struct EthernetFrame: Sendable {
    /// The MAC header.
    public var header: EthernetHeader
    /// Byte offsets of the payload (padding included) in the parsed buffer.
    public var payload: Range<Int>

    /// Parses a frame. With `hasFCS` the last four bytes are the frame check
    /// sequence: it is verified (`.badChecksum(.ethernet)` on mismatch) and left
    /// out of `payload`. Costs one CRC-32 pass over the frame when `hasFCS`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, hasFCS: Bool) throws(WireError) -> EthernetFrame {
        var end = bytes.count
        if hasFCS {
            let needed = EthernetHeader.length + EthernetFCS.length
            guard bytes.count >= needed else { throw .truncated(.ethernet, needed: needed, available: bytes.count) }
            guard EthernetFCS.verify(bytes) else { throw .badChecksum(.ethernet) }
            end -= EthernetFCS.length
        }
        let header = try EthernetHeader.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
        return EthernetFrame(header: header, payload: EthernetHeader.length..<end)
    }
}
