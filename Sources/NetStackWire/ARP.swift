/// The ARP operation code (RFC 826).
public enum ARPOperation: UInt16, Sendable {
    case request = 1
    case reply = 2
}

/// An ARP packet for Ethernet hardware and IPv4 protocol addresses (RFC 826).
///
/// 28 bytes: hardware type 1, protocol type 0x0800, lengths 6 and 4, the
/// operation, then sender and target hardware and protocol addresses.
public struct ARPPacket: Hashable, Sendable, CustomStringConvertible {
    public var operation: ARPOperation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    /// Packet size in bytes.
    public static let length = 28

    public init(operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// True for a gratuitous announcement: sender and target protocol address are the same.
    public var isGratuitous: Bool { senderIP == targetIP }

    /// Parses an ARP packet (the Ethernet payload; trailing padding is ignored).
    /// Anything but Ethernet/IPv4 is `.unsupported`; wrong address lengths are `.badField`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> ARPPacket {
        guard bytes.count >= length else { throw .truncated(.arp, needed: length, available: bytes.count) }
        let hardware = bytes.be16(0), proto = bytes.be16(2)
        guard hardware == 1 else { throw .unsupported(.arp, "hardware type \(hardware)") }
        guard proto == EtherType.ipv4.rawValue else { throw .unsupported(.arp, "protocol type 0x\(String(proto, radix: 16))") }
        guard bytes[4] == 6, bytes[5] == 4 else {
            throw .badField(.arp, "address lengths \(bytes[4])/\(bytes[5]) (expected 6/4)")
        }
        let code = bytes.be16(6)
        guard let operation = ARPOperation(rawValue: code) else { throw .unsupported(.arp, "operation \(code)") }
        return ARPPacket(operation: operation, senderMAC: .load(bytes, at: 8), senderIP: .load(bytes, at: 14),
                         targetMAC: .load(bytes, at: 18), targetIP: .load(bytes, at: 24))
    }

    /// Writes the 28 bytes at the start of `buffer`.
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "ARP packet needs 28 bytes")
        buffer.storeBE16(1, at: 0)
        buffer.storeBE16(EtherType.ipv4.rawValue, at: 2)
        buffer[4] = 6
        buffer[5] = 4
        buffer.storeBE16(operation.rawValue, at: 6)
        senderMAC.store(buffer, at: 8)
        senderIP.store(buffer, at: 14)
        targetMAC.store(buffer, at: 18)
        targetIP.store(buffer, at: 24)
    }

    public var description: String {
        switch operation {
        case .request: isGratuitous ? "ARP announcement \(senderIP) is at \(senderMAC)"
            : "ARP who has \(targetIP)? tell \(senderIP) (\(senderMAC))"
        case .reply: "ARP reply \(senderIP) is at \(senderMAC)"
        }
    }
}
