// DHCPv4 messages: RFC 2131 §2 (the BOOTP-shaped fixed part) and RFC 2132
// (the options after the magic cookie). A message is the payload of a UDP
// datagram between ports 67 and 68. DHCP runs a few times per lease, so the
// parsed form keeps its options in arrays; nothing here is on a per-packet path.

/// DHCP message types, option 53 (RFC 2132 §9.6).
public enum DHCPMessageType: UInt8, Sendable, CustomStringConvertible {
    case discover = 1, offer, request, decline, ack, nak, release, inform

    public var description: String {
        switch self {
        case .discover: "DISCOVER"
        case .offer: "OFFER"
        case .request: "REQUEST"
        case .decline: "DECLINE"
        case .ack: "ACK"
        case .nak: "NAK"
        case .release: "RELEASE"
        case .inform: "INFORM"
        }
    }
}

/// Option codes NetStack reads or writes (RFC 2132).
public enum DHCPOptionCode {
    public static let pad: UInt8 = 0
    public static let subnetMask: UInt8 = 1
    public static let router: UInt8 = 3
    public static let domainNameServer: UInt8 = 6
    public static let hostName: UInt8 = 12
    public static let requestedAddress: UInt8 = 50
    public static let leaseTime: UInt8 = 51
    public static let overload: UInt8 = 52
    public static let messageType: UInt8 = 53
    public static let serverIdentifier: UInt8 = 54
    public static let parameterRequestList: UInt8 = 55
    public static let renewalTime: UInt8 = 58
    public static let rebindingTime: UInt8 = 59
    public static let clientIdentifier: UInt8 = 61
    public static let end: UInt8 = 255
}

/// One option from a message's options field: its code and its data bytes
/// (pad and end are not options in this sense and never appear here).
public struct DHCPOption: Hashable, Sendable {
    /// The option code (RFC 2132), 1 to 254.
    public var code: UInt8
    /// At most 255 bytes (the length octet).
    public var data: [UInt8]

    /// An option; `data` must fit the length octet.
    public init(code: UInt8, data: [UInt8]) {
        precondition(data.count <= 255, "a DHCP option holds at most 255 bytes")
        self.code = code
        self.data = data
    }
}

/// A bounds-checked view of a DHCP message's fixed part (RFC 2131 §2, figure 1):
/// after `init(checking:)` succeeds every accessor reads inside the bytes.
/// Costs nothing beyond the length check; the options are walked by ``DHCPMessage/parse(_:)``.
public struct DHCPPacketView {
    /// The message bytes (the UDP payload), borrowed.
    public let bytes: UnsafeRawBufferPointer

    /// op, htype, hlen, hops (4) + xid (4) + secs, flags (4) + four addresses (16)
    /// + chaddr (16) + sname (64) + file (128): 236 bytes, then the 4-byte magic cookie.
    public static let fixedLength = 236
    /// Fixed part plus the magic cookie: where the options start.
    public static let optionsOffset = 240
    /// RFC 2131 §3: 99.130.83.99, which marks the options field as DHCP's (RFC 1497 vendor extensions).
    public static let magicCookie: UInt32 = 0x6382_5363

    /// Checks that `bytes` holds the fixed part and the magic cookie.
    public init(checking bytes: UnsafeRawBufferPointer) throws(WireError) {
        guard bytes.count >= Self.optionsOffset else {
            throw .truncated(.dhcp, needed: Self.optionsOffset, available: bytes.count)
        }
        let cookie = bytes.be32(Self.fixedLength)
        guard cookie == Self.magicCookie else { throw .badField(.dhcp, "magic cookie 0x\(String(cookie, radix: 16))") }
        self.bytes = bytes
    }

    /// op (offset 0): 1 BOOTREQUEST, 2 BOOTREPLY.
    public var op: UInt8 { bytes[0] }
    /// htype (1): 1 for Ethernet.
    public var hardwareType: UInt8 { bytes[1] }
    /// hlen (2): 6 for Ethernet.
    public var hardwareLength: UInt8 { bytes[2] }
    /// hops (3): relay agents passed.
    public var hops: UInt8 { bytes[3] }
    /// xid (4–7).
    public var transactionID: UInt32 { bytes.be32(4) }
    /// secs (8–9).
    public var seconds: UInt16 { bytes.be16(8) }
    /// flags (10–11): bit 15 BROADCAST.
    public var flags: UInt16 { bytes.be16(10) }
    /// ciaddr (12–15).
    public var clientAddress: IPv4Address { .load(bytes, at: 12) }
    /// yiaddr (16–19).
    public var yourAddress: IPv4Address { .load(bytes, at: 16) }
    /// siaddr (20–23).
    public var serverAddress: IPv4Address { .load(bytes, at: 20) }
    /// giaddr (24–27).
    public var relayAddress: IPv4Address { .load(bytes, at: 24) }
    /// The first six bytes of chaddr (Ethernet's hardware address).
    public var clientMAC: MACAddress { .load(bytes, at: 28) }
    /// sname (64 bytes at 44) and file (128 bytes at 108).
    public var serverNameField: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[44..<108]) }
    public var bootFileField: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[108..<236]) }
    /// The options field, up to the end of the bytes (the end option is found by walking it).
    public var optionsField: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Self.optionsOffset...])
    }
}

/// A parsed DHCPv4 message (RFC 2131 §2) with its options (RFC 2132) in wire order.
///
/// `parse` then `emit` gives back the same bytes for any message that has no pad
/// option between options and whose sname/file fields are zero-padded, as dnsmasq's are:
/// `emit` pads the message to the 300 bytes BOOTP relays expect (RFC 1542 §2.1).
public struct DHCPMessage: Hashable, Sendable, CustomStringConvertible {
    /// 1 BOOTREQUEST (client → server), 2 BOOTREPLY.
    public var op: UInt8
    /// htype and hlen: Ethernet (1, 6), the only hardware `parse` accepts.
    public var hardwareType: UInt8 = 1
    public var hardwareLength: UInt8 = 6
    /// Relay agents passed; a client sends zero.
    public var hops: UInt8 = 0
    /// xid: chosen by the client, echoed by the server.
    public var transactionID: UInt32
    /// Seconds since the client began acquiring or renewing.
    public var seconds: UInt16 = 0
    /// Bit 15 is BROADCAST (RFC 2131 §2, figure 2); the rest must be zero.
    public var flags: UInt16 = 0
    /// ciaddr: the client's address, only when it can answer ARP for it (BOUND, RENEWING, REBINDING).
    public var clientAddress: IPv4Address = .any
    /// yiaddr: the address the server offers or confirms.
    public var yourAddress: IPv4Address = .any
    /// siaddr: the next server in bootstrap (dnsmasq puts its own address here).
    public var serverAddress: IPv4Address = .any
    /// giaddr: a relay agent's address.
    public var relayAddress: IPv4Address = .any
    /// chaddr, as an Ethernet address (the first six of its sixteen bytes).
    public var clientMAC: MACAddress
    /// sname and file, without their trailing zero bytes (at most 64 and 128 bytes).
    public var serverName: [UInt8] = []
    public var bootFile: [UInt8] = []
    /// The options in wire order, pad and end left out.
    public var options: [DHCPOption] = []

    /// BOOTREQUEST and BOOTREPLY, the two values of `op`.
    public static let bootRequest: UInt8 = 1, bootReply: UInt8 = 2
    /// The BROADCAST flag: the client cannot receive unicast before it has an address (RFC 2131 §4.1).
    public static let broadcastFlag: UInt16 = 0x8000
    /// The smallest message emitted: BOOTP's 300 bytes (RFC 1542 §2.1; the options field is at least 64 bytes).
    public static let minimumLength = 300
    /// The client's and the server's UDP ports (RFC 2131 §4.1).
    public static let clientPort: UInt16 = 68, serverPort: UInt16 = 67

    /// A message with no addresses, flags or options yet.
    public init(op: UInt8, transactionID: UInt32, clientMAC: MACAddress) {
        self.op = op
        self.transactionID = transactionID
        self.clientMAC = clientMAC
    }

    /// True when the BROADCAST flag is set.
    public var broadcast: Bool {
        get { flags & Self.broadcastFlag != 0 }
        set { flags = newValue ? flags | Self.broadcastFlag : flags & ~Self.broadcastFlag }
    }

    // MARK: Parsing

    /// Parses a message (a UDP payload) and walks its options with bounds:
    /// each option's length must fit before the end of the bytes, and the
    /// options must end with an end option (RFC 2131 §4.1 requires it).
    /// Throws `.unsupported` for option overload (52: options in sname/file), which
    /// NetStack does not read, and for hardware other than Ethernet. O(message), a few allocations.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> DHCPMessage {
        let view = try DHCPPacketView(checking: bytes)
        guard view.hardwareType == 1, view.hardwareLength == 6 else {
            throw .unsupported(.dhcp, "hardware type \(view.hardwareType) length \(view.hardwareLength)")
        }
        var message = DHCPMessage(op: view.op, transactionID: view.transactionID, clientMAC: view.clientMAC)
        message.hops = view.hops
        message.seconds = view.seconds
        message.flags = view.flags
        message.clientAddress = view.clientAddress
        message.yourAddress = view.yourAddress
        message.serverAddress = view.serverAddress
        message.relayAddress = view.relayAddress
        message.serverName = trimmedZeros(view.serverNameField)
        message.bootFile = trimmedZeros(view.bootFileField)
        message.options = try walkOptions(view.optionsField)
        return message
    }

    /// The options of `field` up to the end option; pads are skipped.
    private static func walkOptions(_ field: UnsafeRawBufferPointer) throws(WireError) -> [DHCPOption] {
        var options: [DHCPOption] = []
        var offset = 0
        while offset < field.count {
            let code = field[offset]
            if code == DHCPOptionCode.end { return options }
            if code == DHCPOptionCode.pad {
                offset += 1
                continue
            }
            let at = DHCPPacketView.optionsOffset + offset
            guard offset + 1 < field.count else { throw .badOption(.dhcp, kind: code, offset: at) }
            let length = Int(field[offset + 1])
            let start = offset + 2
            guard start + length <= field.count else { throw .badOption(.dhcp, kind: code, offset: at) }
            if code == DHCPOptionCode.overload { throw .unsupported(.dhcp, "option overload (52)") }
            options.append(DHCPOption(code: code, data: Array(field[start..<start + length])))
            offset = start + length
        }
        throw .badField(.dhcp, "options without an end option")
    }

    private static func trimmedZeros(_ field: UnsafeRawBufferPointer) -> [UInt8] {
        var end = field.count
        while end > 0, field[end - 1] == 0 { end -= 1 }
        return Array(field[0..<end])
    }

    // MARK: Emitting

    /// Bytes `emit` writes: the fixed part, cookie, options, end, padded to ``minimumLength``.
    public var length: Int {
        let options = options.reduce(0) { $0 + 2 + $1.data.count }
        return max(Self.minimumLength, DHCPPacketView.optionsOffset + options + 1)
    }

    /// Writes the message at the start of `buffer` (at least ``length`` bytes) and
    /// returns ``length``. Zero-fills what no field covers. O(length), no allocation.
    @discardableResult
    public func emit(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let total = length
        precondition(buffer.count >= total, "DHCP message buffer too short")
        precondition(serverName.count <= 64 && bootFile.count <= 128, "sname or file too long")
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<total])
        out.initializeMemory(as: UInt8.self, repeating: 0)
        out[0] = op
        out[1] = hardwareType
        out[2] = hardwareLength
        out[3] = hops
        out.storeBE32(transactionID, at: 4)
        out.storeBE16(seconds, at: 8)
        out.storeBE16(flags, at: 10)
        clientAddress.store(out, at: 12)
        yourAddress.store(out, at: 16)
        serverAddress.store(out, at: 20)
        relayAddress.store(out, at: 24)
        clientMAC.store(out, at: 28)
        for (index, byte) in serverName.enumerated() { out[44 + index] = byte }
        for (index, byte) in bootFile.enumerated() { out[108 + index] = byte }
        out.storeBE32(DHCPPacketView.magicCookie, at: DHCPPacketView.fixedLength)
        var offset = DHCPPacketView.optionsOffset
        for option in options {
            out[offset] = option.code
            out[offset + 1] = UInt8(option.data.count)
            for (index, byte) in option.data.enumerated() { out[offset + 2 + index] = byte }
            offset += 2 + option.data.count
        }
        out[offset] = DHCPOptionCode.end
        return total
    }

    /// The message as bytes (one allocation).
    public var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        bytes.withUnsafeMutableBytes { _ = emit(into: $0) }
        return bytes
    }

    // MARK: Typed options

    /// The data of the first option with `code`; nil when absent.
    public func option(_ code: UInt8) -> [UInt8]? { options.first { $0.code == code }?.data }

    /// Replaces the option with `code` (or appends it); nil removes it.
    public mutating func setOption(_ code: UInt8, _ data: [UInt8]?) {
        guard let data else { return options.removeAll { $0.code == code } }
        if let index = options.firstIndex(where: { $0.code == code }) {
            options[index].data = data
        } else {
            options.append(DHCPOption(code: code, data: data))
        }
    }

    /// Option 53; nil when absent or not one of the eight types (such a message is plain BOOTP, or junk).
    public var messageType: DHCPMessageType? {
        get { option(DHCPOptionCode.messageType).flatMap { $0.count == 1 ? DHCPMessageType(rawValue: $0[0]) : nil } }
        set { setOption(DHCPOptionCode.messageType, newValue.map { [$0.rawValue] }) }
    }

    /// Option 54: the server's address, which identifies it (RFC 2132 §9.7).
    public var serverIdentifier: IPv4Address? {
        get { address(DHCPOptionCode.serverIdentifier) }
        set { setOption(DHCPOptionCode.serverIdentifier, newValue?.octets) }
    }

    /// Option 50: the address the client asks for in SELECTING and INIT-REBOOT (RFC 2132 §9.1).
    public var requestedAddress: IPv4Address? {
        get { address(DHCPOptionCode.requestedAddress) }
        set { setOption(DHCPOptionCode.requestedAddress, newValue?.octets) }
    }

    /// Option 51, seconds (0xFFFFFFFF: infinite).
    public var leaseTime: UInt32? {
        get { seconds(DHCPOptionCode.leaseTime) }
        set { setOption(DHCPOptionCode.leaseTime, newValue.map(Self.bigEndianBytes)) }
    }

    /// Option 58 (T1), seconds.
    public var renewalTime: UInt32? {
        get { seconds(DHCPOptionCode.renewalTime) }
        set { setOption(DHCPOptionCode.renewalTime, newValue.map(Self.bigEndianBytes)) }
    }

    /// Option 59 (T2), seconds.
    public var rebindingTime: UInt32? {
        get { seconds(DHCPOptionCode.rebindingTime) }
        set { setOption(DHCPOptionCode.rebindingTime, newValue.map(Self.bigEndianBytes)) }
    }

    /// Option 1.
    public var subnetMask: IPv4Address? {
        get { address(DHCPOptionCode.subnetMask) }
        set { setOption(DHCPOptionCode.subnetMask, newValue?.octets) }
    }

    /// Option 3: routers in order of preference; empty when absent or malformed.
    public var routers: [IPv4Address] {
        get { addresses(DHCPOptionCode.router) }
        set { setOption(DHCPOptionCode.router, newValue.isEmpty ? nil : newValue.flatMap(\.octets)) }
    }

    /// Option 6: DNS servers in order of preference; empty when absent or malformed.
    public var dnsServers: [IPv4Address] {
        get { addresses(DHCPOptionCode.domainNameServer) }
        set { setOption(DHCPOptionCode.domainNameServer, newValue.isEmpty ? nil : newValue.flatMap(\.octets)) }
    }

    /// Option 55: the option codes the client asks for.
    public var parameterRequestList: [UInt8] {
        get { option(DHCPOptionCode.parameterRequestList) ?? [] }
        set { setOption(DHCPOptionCode.parameterRequestList, newValue.isEmpty ? nil : newValue) }
    }

    /// Option 61: type byte then identifier (RFC 2132 §9.14); 1 + MAC for Ethernet.
    public var clientIdentifier: [UInt8]? {
        get { option(DHCPOptionCode.clientIdentifier) }
        set { setOption(DHCPOptionCode.clientIdentifier, newValue) }
    }

    /// Option 12, as text (bytes that are not UTF-8 are replaced).
    public var hostName: String? {
        get { option(DHCPOptionCode.hostName).map { String(decoding: $0, as: UTF8.self) } }
        set { setOption(DHCPOptionCode.hostName, newValue.map { Array($0.utf8.prefix(255)) }) }
    }

    private func address(_ code: UInt8) -> IPv4Address? {
        guard let data = option(code), data.count == 4 else { return nil }
        return IPv4Address(data[0], data[1], data[2], data[3])
    }

    private func addresses(_ code: UInt8) -> [IPv4Address] {
        guard let data = option(code), data.count % 4 == 0 else { return [] }
        return stride(from: 0, to: data.count, by: 4).map { IPv4Address(data[$0], data[$0 + 1], data[$0 + 2], data[$0 + 3]) }
    }

    private func seconds(_ code: UInt8) -> UInt32? {
        guard let data = option(code), data.count == 4 else { return nil }
        return data.reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
         UInt8(truncatingIfNeeded: value)]
    }

    public var description: String {
        let type = messageType.map(String.init(describing:)) ?? "BOOTP op \(op)"
        var text = "DHCP \(type) xid 0x\(String(transactionID, radix: 16)) chaddr \(clientMAC)"
        if yourAddress != .any { text += " yiaddr \(yourAddress)" }
        if clientAddress != .any { text += " ciaddr \(clientAddress)" }
        if let serverIdentifier { text += " server \(serverIdentifier)" }
        return text
    }
}
