/// The protocol whose bytes a ``WireError`` is about.
public enum WireLayer: String, Sendable, CustomStringConvertible {
    case ethernet, arp, ipv4, icmpv4, udp, tcp, dns, pcap, virtio, ipv6, icmpv6, ndp, mld, dhcp
    public var description: String {
        switch self {
        case .ethernet: "Ethernet"
        case .arp: "ARP"
        case .ipv4: "IPv4"
        case .icmpv4: "ICMPv4"
        case .udp: "UDP"
        case .tcp: "TCP"
        case .dns: "DNS"
        case .pcap: "pcap"
        case .virtio: "virtio-net header"
        case .ipv6: "IPv6"
        case .icmpv6: "ICMPv6"
        case .ndp: "NDP"
        case .mld: "MLD"
        case .dhcp: "DHCP"
        }
    }
}

/// Why bytes could not be parsed. Every parser in NetStackWire throws only
/// this type, and names the problem precisely; none of them crashes or reads
/// outside the bytes it was given.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the layer needs: `needed` were required, `available` were there.
    case truncated(WireLayer, needed: Int, available: Int)
    /// A checksum (or the Ethernet FCS) did not verify.
    case badChecksum(WireLayer)
    /// A version field held an unsupported value (IPv4's version is not 4, IPv6's not 6).
    case badVersion(WireLayer, Int)
    /// A header-length field is below the minimum or runs past the data.
    case badHeaderLength(WireLayer, Int)
    /// A total-length field (IPv4 total length, UDP length, pcap record length) lies.
    case badLength(WireLayer, Int)
    /// An option's length is impossible or runs past the end of the options.
    case badOption(WireLayer, kind: UInt8, offset: Int)
    /// A well-formed header the layer does not handle (e.g. ARP for another hardware type).
    case unsupported(WireLayer, String)
    /// A field holds a value the protocol forbids.
    case badField(WireLayer, String)
    /// A DNS name pointer leads back into a name already being read.
    case dnsCompressionLoop(offset: Int)
    /// A DNS name pointer points forward or outside the message.
    case dnsBadPointer(offset: Int)
    /// A DNS name longer than 255 octets, or a label longer than 63.
    case dnsNameTooLong
    /// A DNS label type that is neither a length (00) nor a pointer (11).
    case dnsBadLabel(offset: Int)

    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            "\(layer): truncated, \(needed) bytes needed but \(available) available"
        case let .badChecksum(layer):
            layer == .ethernet ? "Ethernet: FCS mismatch" : "\(layer): bad checksum"
        case let .badVersion(layer, version): "\(layer): unsupported version \(version)"
        case let .badHeaderLength(layer, length): "\(layer): bad header length \(length)"
        case let .badLength(layer, length): "\(layer): length field \(length) does not match the data"
        case let .badOption(layer, kind, offset): "\(layer): option \(kind) at offset \(offset) has a bad length"
        case let .unsupported(layer, what): "\(layer): unsupported \(what)"
        case let .badField(layer, what): "\(layer): \(what)"
        case let .dnsCompressionLoop(offset): "DNS: name compression loop at offset \(offset)"
        case let .dnsBadPointer(offset): "DNS: bad name pointer at offset \(offset)"
        case .dnsNameTooLong: "DNS: name or label too long"
        case let .dnsBadLabel(offset): "DNS: bad label type at offset \(offset)"
        }
    }
}
