/// A UDP header (RFC 768): ports, length and the checksum over the IPv4
/// pseudo-header, the header and the data.
public struct UDPHeader: Hashable, Sendable, CustomStringConvertible {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Header plus data, in bytes.
    public var length: Int
    /// The checksum as read by `parse` (0 means the sender computed none); `emit` computes a fresh one.
    public var checksum: UInt16 = 0

    /// Header size in bytes.
    public static let headerLength = 8

    /// A header for a datagram carrying `payloadLength` bytes.
    public init(sourcePort: UInt16, destinationPort: UInt16, payloadLength: Int) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = Self.headerLength + payloadLength
    }

    /// Payload size in bytes.
    public var payloadLength: Int { length - Self.headerLength }

    /// Parses the datagram in `bytes` (the IP payload) and verifies the checksum
    /// against the pseudo-header of `source`/`destination`, unless the sender
    /// sent zero, which RFC 768 defines as "no checksum". Costs one checksum pass.
    /// `verifyingChecksum` false skips that pass, for a checksum a device vouched for (offload).
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPv4Address,
                             destination: IPv4Address, verifyingChecksum: Bool = true) throws(WireError) -> UDPHeader {
        try parse(bytes, source: .v4(source), destination: .v4(destination), verifyingChecksum: verifyingChecksum)
    }

    /// Parses and verifies a datagram as above, over the pseudo-header of either IP version. Over
    /// IPv6 the checksum is mandatory (RFC 8200 §8.1): a zero one is refused (`.badChecksum`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPAddress,
                             destination: IPAddress, verifyingChecksum: Bool = true) throws(WireError) -> UDPHeader {
        guard bytes.count >= headerLength else {
            throw .truncated(.udp, needed: headerLength, available: bytes.count)
        }
        let length = Int(bytes.be16(4))
        guard length >= headerLength, length <= bytes.count else { throw .badLength(.udp, length) }
        let checksum = bytes.be16(6)
        if checksum == 0, !source.isIPv4 { throw .badChecksum(.udp) }
        if checksum != 0, verifyingChecksum {
            var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: length)
            sum.add(UnsafeRawBufferPointer(rebasing: bytes[0..<length]))
            guard sum.verifies else { throw .badChecksum(.udp) }
        }
        var header = UDPHeader(sourcePort: bytes.be16(0), destinationPort: bytes.be16(2), payloadLength: length - headerLength)
        header.checksum = checksum
        return header
    }

    /// Writes the header at the start of `datagram` (header plus the data already
    /// placed after it, `length` bytes) with the checksum. A computed checksum of
    /// zero is sent as 0xFFFF, since zero means "none" (RFC 768).
    public func emit(into datagram: UnsafeMutableRawBufferPointer, source: IPv4Address, destination: IPv4Address) {
        emit(into: datagram, source: .v4(source), destination: .v4(destination))
    }

    /// Writes the header as above, the checksum over the pseudo-header of either IP version.
    public func emit(into datagram: UnsafeMutableRawBufferPointer, source: IPAddress, destination: IPAddress) {
        precondition(datagram.count >= length, "UDP datagram buffer shorter than its length field")
        datagram.storeBE16(sourcePort, at: 0)
        datagram.storeBE16(destinationPort, at: 2)
        datagram.storeBE16(UInt16(truncatingIfNeeded: length), at: 4)
        datagram.storeBE16(0, at: 6)
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .udp, length: length)
        sum.add(UnsafeRawBufferPointer(rebasing: datagram[0..<length]))
        let value = sum.checksum
        datagram.storeBE16(value == 0 ? 0xFFFF : value, at: 6)
    }

    public var description: String { "UDP \(sourcePort) → \(destinationPort) len \(length)" }
}
