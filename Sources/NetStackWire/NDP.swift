// Neighbour discovery. RFCs to read: RFC 4861 (§4 message formats, §4.6 options, §6.1 and
// §7.1 message validation, §8.1 redirect validation), RFC 8106 §5.1 (RDNSS option),
// RFC 7527 §4.3.2 (the nonce Linux puts in duplicate address detection solicitations),
// RFC 4191 §2.2 (router preference). NDP messages are ICMPv6 types 133–137; their checksum is
// ICMPv6's (ICMPv6.swift).

/// A Prefix Information option (RFC 4861 §4.6.2), as router advertisements carry it for
/// on-link determination and SLAAC.
public struct NDPPrefixInformation: Hashable, Sendable {
    /// Prefix length, 0…128.
    public var prefixLength: UInt8
    /// The L flag: addresses under the prefix are on this link.
    public var onLink: Bool
    /// The A flag: hosts may form addresses from it by SLAAC (RFC 4862).
    public var autonomous: Bool
    /// Seconds the prefix stays valid for on-link determination (0xFFFFFFFF: forever).
    public var validLifetime: UInt32
    /// Seconds addresses formed from it stay preferred.
    public var preferredLifetime: UInt32
    /// The prefix (bits past the length are to be ignored; kept as sent).
    public var prefix: IPv6Address

    /// A prefix option; on-link and autonomous unless told otherwise.
    public init(prefix: IPv6Address, prefixLength: UInt8, onLink: Bool = true, autonomous: Bool = true,
                validLifetime: UInt32, preferredLifetime: UInt32) {
        self.prefix = prefix
        self.prefixLength = prefixLength
        self.onLink = onLink
        self.autonomous = autonomous
        self.validLifetime = validLifetime
        self.preferredLifetime = preferredLifetime
    }

    /// The prefix as a network (host bits cleared).
    public var network: IPv6Network { IPv6Network(address: prefix, prefixLength: Int(prefixLength)) }
}

/// A Recursive DNS Server option (RFC 8106 §5.1): servers and how long to use them.
public struct NDPRecursiveDNSServers: Hashable, Sendable {
    /// Seconds the servers may be used (0: stop using them).
    public var lifetime: UInt32
    /// The servers' addresses, at least one.
    public var servers: [IPv6Address]

    /// An RDNSS option listing `servers` (at least one, for emit) for `lifetime` seconds.
    public init(lifetime: UInt32, servers: [IPv6Address]) {
        self.lifetime = lifetime
        self.servers = servers
    }
}

/// The options of an NDP message that NetStack reads (RFC 4861 §4.6, RFC 8106). Unknown
/// options are skipped, as RFC 4861 §4.6 requires. Parsing a neighbour or router
/// solicitation or a neighbour advertisement allocates nothing; prefixes and DNS servers
/// (router advertisements only) are arrays.
public struct NDPOptions: Hashable, Sendable {
    /// Source Link-Layer Address (type 1).
    public var sourceLinkLayerAddress: MACAddress?
    /// Target Link-Layer Address (type 2).
    public var targetLinkLayerAddress: MACAddress?
    /// Prefix Information (type 3), in the order received.
    public var prefixes: [NDPPrefixInformation] = []
    /// MTU (type 5): the link MTU a router advertises.
    public var mtu: UInt32?
    /// Recursive DNS Server options (type 25), in the order received.
    public var recursiveDNSServers: [NDPRecursiveDNSServers] = []
    /// The 6-byte Nonce option (type 14, RFC 7527) of a DAD solicitation, in the low 48 bits:
    /// a node that hears its own nonce back knows the solicitation looped, not that the address is taken.
    public var nonce: UInt64?
    /// Where the packet quoted by a Redirected Header option (type 4) lies in the message:
    /// after the option's 8-byte head, up to the option's end (zero padding included).
    public var redirectedHeader: Range<Int>?

    /// Options with the given values; the nonce keeps its low 48 bits.
    public init(sourceLinkLayerAddress: MACAddress? = nil, targetLinkLayerAddress: MACAddress? = nil,
                prefixes: [NDPPrefixInformation] = [], mtu: UInt32? = nil,
                recursiveDNSServers: [NDPRecursiveDNSServers] = [], nonce: UInt64? = nil) {
        self.nonce = nonce.map { $0 & 0xFFFF_FFFF_FFFF }
        self.sourceLinkLayerAddress = sourceLinkLayerAddress
        self.targetLinkLayerAddress = targetLinkLayerAddress
        self.prefixes = prefixes
        self.mtu = mtu
        self.recursiveDNSServers = recursiveDNSServers
    }

    /// Bytes the options take when emitted, the redirected header's head and data included.
    public var encodedLength: Int {
        var length = prefixes.count * 32 + (mtu == nil ? 0 : 8)
        for entry in recursiveDNSServers { length += 8 + 16 * entry.servers.count }
        if sourceLinkLayerAddress != nil { length += 8 }
        if targetLinkLayerAddress != nil { length += 8 }
        if nonce != nil { length += 8 }
        if let redirectedHeader { length += 8 + redirectedHeader.count }
        return length
    }
}

/// Router advertisement fields (RFC 4861 §4.2, RFC 4191 §2.2).
public struct NDPRouterAdvertisement: Hashable, Sendable {
    /// The hop limit hosts should use (0: unspecified).
    public var currentHopLimit: UInt8
    /// The M flag: addresses are available by DHCPv6.
    public var managedAddressConfiguration: Bool
    /// The O flag: other configuration is available by DHCPv6.
    public var otherConfiguration: Bool
    /// The 2-bit default router preference (RFC 4191): 1 high, 0 medium, 3 low, 2 reserved.
    public var routerPreference: UInt8
    /// Seconds this router may be a default router (0: it is not one).
    public var routerLifetime: UInt16
    /// Milliseconds a neighbour stays reachable after confirmation (0: unspecified).
    public var reachableTime: UInt32
    /// Milliseconds between neighbour solicitations (0: unspecified).
    public var retransmitTimer: UInt32

    /// Router advertisement fields; the preference keeps its low 2 bits.
    public init(currentHopLimit: UInt8 = 64, managedAddressConfiguration: Bool = false, otherConfiguration: Bool = false,
                routerPreference: UInt8 = 0, routerLifetime: UInt16, reachableTime: UInt32 = 0, retransmitTimer: UInt32 = 0) {
        self.currentHopLimit = currentHopLimit
        self.managedAddressConfiguration = managedAddressConfiguration
        self.otherConfiguration = otherConfiguration
        self.routerPreference = routerPreference & 3
        self.routerLifetime = routerLifetime
        self.reachableTime = reachableTime
        self.retransmitTimer = retransmitTimer
    }
}

/// The five neighbour discovery messages (RFC 4861 §4.1–§4.5).
public enum NDPMessage: Hashable, Sendable {
    /// Type 133.
    case routerSolicitation
    /// Type 134.
    case routerAdvertisement(NDPRouterAdvertisement)
    /// Type 135: who has `target`? (From :: it is duplicate address detection.)
    case neighborSolicitation(target: IPv6Address)
    /// Type 136: `target` is here; R router, S solicited, O override an existing cache entry.
    case neighborAdvertisement(target: IPv6Address, router: Bool, solicited: Bool, override: Bool)
    /// Type 137: `destination` is better reached through `target` (on-link when they are equal).
    case redirect(target: IPv6Address, destination: IPv6Address)

    /// The ICMPv6 type.
    public var type: UInt8 {
        switch self {
        case .routerSolicitation: 133
        case .routerAdvertisement: 134
        case .neighborSolicitation: 135
        case .neighborAdvertisement: 136
        case .redirect: 137
        }
    }

    /// Where the options start: the message's fixed length.
    public var fixedLength: Int { Self.fixedLength(type: type) ?? 8 }

    /// The fixed length of NDP type `type`, or nil when it is not an NDP type.
    static func fixedLength(type: UInt8) -> Int? {
        switch type {
        case 133: 8
        case 134: 16
        case 135, 136: 24
        case 137: 40
        default: nil
        }
    }
}

/// A neighbour discovery message with its options (RFC 4861 §4).
///
/// `parse` applies RFC 4861's validation (§6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1) as far as the
/// message and its IPv6 header tell: checksum, hop limit 255 (so it cannot come from off
/// the link), code 0, length, options of non-zero length within the message, and the rules for
/// targets and unspecified sources. `emit` writes the options in radvd's and Linux's order:
/// prefix information, RDNSS, MTU, source and target link-layer address, nonce, redirected header.
public struct NDPPacket: Hashable, Sendable, CustomStringConvertible {
    /// Which message, with its fixed fields.
    public var message: NDPMessage
    /// The options it carries.
    public var options: NDPOptions
    /// The checksum as read by `parse`; `emit` computes a fresh one.
    public var checksum: UInt16 = 0

    /// The hop limit every NDP message is sent with, and must arrive with (RFC 4861 §6.1.1).
    public static let hopLimit: UInt8 = 255

    /// A message with `options`; `emit` fills in the checksum.
    public init(_ message: NDPMessage, options: NDPOptions = NDPOptions()) {
        self.message = message
        self.options = options
    }

    /// The message's size when emitted.
    public var encodedLength: Int { message.fixedLength + options.encodedLength }

    /// True when `type` (an ICMPv6 type) is a neighbour discovery message.
    public static func isNDP(type: UInt8) -> Bool { NDPMessage.fixedLength(type: type) != nil }

    // MARK: Parsing

    /// Parses and validates the NDP message in `bytes` (the ICMPv6 message), sent from `source`
    /// to `destination` with `hopLimit`. Costs one checksum pass and one walk over the options.
    ///
    /// - Throws: what ``ICMPv6Header/parse(_:source:destination:)`` throws; `.unsupported(.ndp, …)`
    ///   for another ICMPv6 type; `.truncated(.ndp, …)` below the type's fixed length;
    ///   `.badOption(.ndp, …)` for an option of length 0, running past the message, or of a
    ///   known type with an impossible length; `.badField(.ndp, …)` for a validation rule broken.
    public static func parse(_ bytes: UnsafeRawBufferPointer, source: IPv6Address, destination: IPv6Address,
                             hopLimit: UInt8) throws(WireError) -> NDPPacket {
        let icmp = try ICMPv6Header.parse(bytes, source: source, destination: destination)
        let type = bytes[0]
        guard let fixed = NDPMessage.fixedLength(type: type) else { throw .unsupported(.ndp, "ICMPv6 type \(type)") }
        guard bytes.count >= fixed else { throw .truncated(.ndp, needed: fixed, available: bytes.count) }
        guard hopLimit == Self.hopLimit else { throw .badField(.ndp, "hop limit \(hopLimit), not 255") }
        guard bytes[1] == 0 else { throw .badField(.ndp, "code \(bytes[1]), not 0") }
        let options = try parseOptions(bytes, from: fixed)

        let message: NDPMessage
        switch type {
        case 133:
            guard !(source.isUnspecified && options.sourceLinkLayerAddress != nil) else {
                throw .badField(.ndp, "router solicitation from :: with a source link-layer address")
            }
            message = .routerSolicitation
        case 134:
            guard source.isLinkLocal else { throw .badField(.ndp, "router advertisement from \(source), not link-local") }
            let flags = bytes[5]
            message = .routerAdvertisement(NDPRouterAdvertisement(
                currentHopLimit: bytes[4], managedAddressConfiguration: flags & 0x80 != 0,
                otherConfiguration: flags & 0x40 != 0, routerPreference: flags >> 3 & 3,
                routerLifetime: bytes.be16(6), reachableTime: bytes.be32(8), retransmitTimer: bytes.be32(12)))
        case 135:
            let target = IPv6Address.load(bytes, at: 8)
            guard !target.isMulticast else { throw .badField(.ndp, "solicitation for multicast \(target)") }
            if source.isUnspecified {
                guard destination.isSolicitedNodeMulticast else {
                    throw .badField(.ndp, "duplicate address detection sent to \(destination), not a solicited-node group")
                }
                guard options.sourceLinkLayerAddress == nil else {
                    throw .badField(.ndp, "duplicate address detection with a source link-layer address")
                }
            }
            message = .neighborSolicitation(target: target)
        case 136:
            let target = IPv6Address.load(bytes, at: 8)
            let flags = bytes[4]
            guard !target.isMulticast else { throw .badField(.ndp, "advertisement for multicast \(target)") }
            guard !(destination.isMulticast && flags & 0x40 != 0) else {
                throw .badField(.ndp, "solicited advertisement sent to multicast \(destination)")
            }
            message = .neighborAdvertisement(target: target, router: flags & 0x80 != 0, solicited: flags & 0x40 != 0,
                                             override: flags & 0x20 != 0)
        default:  // 137
            let target = IPv6Address.load(bytes, at: 8), redirected = IPv6Address.load(bytes, at: 24)
            guard source.isLinkLocal else { throw .badField(.ndp, "redirect from \(source), not link-local") }
            guard !redirected.isMulticast else { throw .badField(.ndp, "redirect for multicast \(redirected)") }
            guard target.isLinkLocal || target == redirected else {
                throw .badField(.ndp, "redirect target \(target) neither link-local nor the destination")
            }
            message = .redirect(target: target, destination: redirected)
        }
        var packet = NDPPacket(message, options: options)
        packet.checksum = icmp.checksum
        return packet
    }

    /// Walks the options from `start` to the end of `bytes` (RFC 4861 §4.6): each is a type, a
    /// length in units of 8 bytes (0 is invalid), and its data.
    static func parseOptions(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(WireError) -> NDPOptions {
        var options = NDPOptions()
        var offset = start
        while offset < bytes.count {
            let type = bytes[offset]
            guard offset + 2 <= bytes.count, bytes[offset + 1] != 0 else { throw .badOption(.ndp, kind: type, offset: offset) }
            let length = Int(bytes[offset + 1]) * 8
            guard offset + length <= bytes.count else { throw .badOption(.ndp, kind: type, offset: offset) }
            switch type {
            case 1, 2:
                // Ethernet's link-layer address option is 8 bytes (RFC 2464 §6); other lengths are for other links.
                if length == 8 {
                    let mac = MACAddress.load(bytes, at: offset + 2)
                    if type == 1 { options.sourceLinkLayerAddress = mac } else { options.targetLinkLayerAddress = mac }
                }
            case 3:
                guard length == 32, bytes[offset + 2] <= 128 else { throw .badOption(.ndp, kind: type, offset: offset) }
                let flags = bytes[offset + 3]
                options.prefixes.append(NDPPrefixInformation(
                    prefix: .load(bytes, at: offset + 16), prefixLength: bytes[offset + 2], onLink: flags & 0x80 != 0,
                    autonomous: flags & 0x40 != 0, validLifetime: bytes.be32(offset + 4),
                    preferredLifetime: bytes.be32(offset + 8)))
            case 4:
                options.redirectedHeader = (offset + 8)..<(offset + length)
            case 5:
                guard length == 8 else { throw .badOption(.ndp, kind: type, offset: offset) }
                options.mtu = bytes.be32(offset + 4)
            case 14 where length == 8:
                options.nonce = UInt64(bytes.be16(offset + 2)) << 32 | UInt64(bytes.be32(offset + 4))
            case 25:
                // RFC 8106 §5.1: length 3 + 2 per further server, so odd and at least 3.
                guard length >= 24, (length / 8) % 2 == 1 else { throw .badOption(.ndp, kind: type, offset: offset) }
                var servers: [IPv6Address] = []
                for index in 0..<((length - 8) / 16) { servers.append(.load(bytes, at: offset + 8 + 16 * index)) }
                options.recursiveDNSServers.append(NDPRecursiveDNSServers(lifetime: bytes.be32(offset + 4), servers: servers))
            default:
                break
            }
            offset += length
        }
        return options
    }

    // MARK: Emitting

    /// Writes the message and its options at the start of `buffer`, and the checksum over the
    /// pseudo-header of `source` and `destination`. With a redirected header, the caller has
    /// placed the quoted packet at ``NDPOptions/redirectedHeader``, which must start 8 bytes
    /// after the other options and end the message. Allocates nothing.
    ///
    /// Precondition: `buffer` holds exactly ``encodedLength`` bytes; every RDNSS option has a server.
    public func emit(into buffer: UnsafeMutableRawBufferPointer, source: IPv6Address, destination: IPv6Address) {
        precondition(buffer.count == encodedLength, "NDP message needs exactly \(encodedLength) bytes")
        buffer[0] = message.type
        buffer[1] = 0
        for index in 4..<message.fixedLength { buffer[index] = 0 }
        switch message {
        case .routerSolicitation:
            break
        case let .routerAdvertisement(ra):
            buffer[4] = ra.currentHopLimit
            buffer[5] = (ra.managedAddressConfiguration ? 0x80 : 0) | (ra.otherConfiguration ? 0x40 : 0)
                | (ra.routerPreference & 3) << 3
            buffer.storeBE16(ra.routerLifetime, at: 6)
            buffer.storeBE32(ra.reachableTime, at: 8)
            buffer.storeBE32(ra.retransmitTimer, at: 12)
        case let .neighborSolicitation(target):
            target.store(buffer, at: 8)
        case let .neighborAdvertisement(target, router, solicited, override):
            buffer[4] = (router ? 0x80 : 0) | (solicited ? 0x40 : 0) | (override ? 0x20 : 0)
            target.store(buffer, at: 8)
        case let .redirect(target, destination):
            target.store(buffer, at: 8)
            destination.store(buffer, at: 24)
        }
        let offset = emitOptions(into: buffer, at: message.fixedLength)
        if let quoted = options.redirectedHeader {
            precondition(quoted.lowerBound == offset + 8 && quoted.upperBound == buffer.count && quoted.count % 8 == 0,
                         "the redirected header must follow the other options and end the message")
            buffer[offset] = 4
            buffer[offset + 1] = UInt8((8 + quoted.count) / 8)
            for index in 2..<8 { buffer[offset + index] = 0 }
        }
        ICMPv6Header.storeChecksum(buffer, source: source, destination: destination)
    }

    /// Writes every option but the redirected header from `start`; returns where they end.
    private func emitOptions(into buffer: UnsafeMutableRawBufferPointer, at start: Int) -> Int {
        var offset = start
        for prefix in options.prefixes {
            buffer[offset] = 3
            buffer[offset + 1] = 4
            buffer[offset + 2] = prefix.prefixLength
            buffer[offset + 3] = (prefix.onLink ? 0x80 : 0) | (prefix.autonomous ? 0x40 : 0)
            buffer.storeBE32(prefix.validLifetime, at: offset + 4)
            buffer.storeBE32(prefix.preferredLifetime, at: offset + 8)
            buffer.storeBE32(0, at: offset + 12)
            prefix.prefix.store(buffer, at: offset + 16)
            offset += 32
        }
        for entry in options.recursiveDNSServers {
            precondition(!entry.servers.isEmpty, "an RDNSS option needs a server")
            buffer[offset] = 25
            buffer[offset + 1] = UInt8(1 + 2 * entry.servers.count)
            buffer.storeBE16(0, at: offset + 2)
            buffer.storeBE32(entry.lifetime, at: offset + 4)
            for (index, server) in entry.servers.enumerated() { server.store(buffer, at: offset + 8 + 16 * index) }
            offset += 8 + 16 * entry.servers.count
        }
        if let mtu = options.mtu {
            buffer[offset] = 5
            buffer[offset + 1] = 1
            buffer.storeBE16(0, at: offset + 2)
            buffer.storeBE32(mtu, at: offset + 4)
            offset += 8
        }
        if let mac = options.sourceLinkLayerAddress { emitLinkLayerAddress(mac, type: 1, into: buffer, at: &offset) }
        if let mac = options.targetLinkLayerAddress { emitLinkLayerAddress(mac, type: 2, into: buffer, at: &offset) }
        if let nonce = options.nonce {
            buffer[offset] = 14
            buffer[offset + 1] = 1
            buffer.storeBE16(UInt16(truncatingIfNeeded: nonce >> 32), at: offset + 2)
            buffer.storeBE32(UInt32(truncatingIfNeeded: nonce), at: offset + 4)
            offset += 8
        }
        return offset
    }

    private func emitLinkLayerAddress(_ mac: MACAddress, type: UInt8, into buffer: UnsafeMutableRawBufferPointer,
                                      at offset: inout Int) {
        buffer[offset] = type
        buffer[offset + 1] = 1
        mac.store(buffer, at: offset + 2)
        offset += 8
    }

    /// One line: `NDP neighbour advertisement 2001:db8:1::fe [RSO] is at 02:00:00:00:6a:fe`.
    public var description: String {
        var text: String
        switch message {
        case .routerSolicitation: text = "NDP router solicitation"
        case let .routerAdvertisement(ra): text = "NDP router advertisement lifetime \(ra.routerLifetime)"
        case let .neighborSolicitation(target): text = "NDP neighbour solicitation for \(target)"
        case let .neighborAdvertisement(target, router, solicited, override):
            text = "NDP neighbour advertisement \(target)"
            let flags = [(router, "R"), (solicited, "S"), (override, "O")].filter(\.0).map(\.1)
            if !flags.isEmpty { text += " [\(flags.joined())]" }
        case let .redirect(target, destination): text = "NDP redirect \(destination) via \(target)"
        }
        if let mac = options.sourceLinkLayerAddress { text += " from \(mac)" }
        if let mac = options.targetLinkLayerAddress { text += " is at \(mac)" }
        for prefix in options.prefixes { text += " prefix \(prefix.network)" }
        if let mtu = options.mtu { text += " mtu \(mtu)" }
        for entry in options.recursiveDNSServers { text += " rdnss \(entry.servers.map(\.description).joined(separator: ","))" }
        return text
    }
}
