// Stable, semantically opaque interface identifiers (RFC 7217 §5), for SLAAC addresses that
// stay the same on one network but cannot be linked across networks or to the MAC address.
// Reserved identifiers: RFC 5453 §3 and the IANA "Reserved IPv6 Interface Identifiers" registry.

public import NetStackWire

/// RFC 7217's F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), with SHA-256 as F.
///
/// The hash input is, in order: the 64-bit prefix (big-endian), the length and bytes of
/// Net_Iface (say the MAC address or the interface name), the length and bytes of Network_ID
/// (empty when the network has no name; an SSID on Wi-Fi), DAD_Counter as one byte, and the
/// secret key. The lengths keep two fields from running into each other. The interface
/// identifier is the digest's low 64 bits (its last 8 bytes, §5 step 2). An identifier that is
/// reserved (``isReserved(_:)``) is skipped by incrementing DAD_Counter, as §5 asks.
///
/// Each identifier costs one SHA-256 of under 100 bytes (about a microsecond) and a few
/// small allocations: once per address formed, never per packet.
public struct StableInterfaceIdentifier: Sendable {
    /// The secret key: at least 128 bits (§5), kept for the host's life and, ideally, across restarts.
    public let secretKey: [UInt8]

    /// Address generation attempts after a DAD failure before giving up (RFC 7217 §6, IDGEN_RETRIES).
    public static let idgenRetries = 3

    /// A generator with `secretKey` (16 bytes or more).
    public init(secretKey: [UInt8]) {
        precondition(secretKey.count >= 16, "RFC 7217 §5 asks for a secret key of at least 128 bits")
        self.secretKey = secretKey
    }

    /// The interface identifier for `prefix` (a /64), with the DAD_Counter actually used:
    /// `dadCounter`, or the next value that does not give a reserved identifier.
    public func identifier(prefix: IPv6Network, netIface: some Collection<UInt8>,
                           networkID: some Collection<UInt8> = [UInt8](),
                           dadCounter: Int) -> (identifier: UInt64, dadCounter: Int) {
        Self.firstUnreserved(from: dadCounter) {
            rawIdentifier(prefix: prefix.address.high, netIface: netIface, networkID: networkID, dadCounter: $0)
        }
    }

    /// `raw(counter)` for the first counter from `dadCounter` on whose value is not reserved.
    static func firstUnreserved(from dadCounter: Int,
                                _ raw: (Int) -> UInt64) -> (identifier: UInt64, dadCounter: Int) {
        var counter = dadCounter
        while true {
            let identifier = raw(counter)
            if !isReserved(identifier) { return (identifier, counter) }
            counter += 1
        }
    }

    /// The address `prefix`'s upper 64 bits + ``identifier(prefix:netIface:networkID:dadCounter:)``,
    /// with the DAD_Counter used.
    public func address(prefix: IPv6Network, netIface: some Collection<UInt8>,
                        networkID: some Collection<UInt8> = [UInt8](),
                        dadCounter: Int) -> (address: IPv6Address, dadCounter: Int) {
        let (identifier, counter) = self.identifier(prefix: prefix, netIface: netIface, networkID: networkID,
                                                    dadCounter: dadCounter)
        return (IPv6Address(high: prefix.address.high, low: identifier), counter)
    }

    /// F itself, without skipping reserved values: the low 64 bits of the SHA-256 digest.
    func rawIdentifier(prefix: UInt64, netIface: some Collection<UInt8>, networkID: some Collection<UInt8>,
                       dadCounter: Int) -> UInt64 {
        var hash = SHA256()
        hash.update((0..<8).map { UInt8(truncatingIfNeeded: prefix >> (56 - 8 * $0)) })
        hash.update([UInt8(truncatingIfNeeded: netIface.count)])
        hash.update(netIface)
        hash.update([UInt8(truncatingIfNeeded: networkID.count)])
        hash.update(networkID)
        hash.update([UInt8(truncatingIfNeeded: dadCounter)])
        hash.update(secretKey)
        return hash.finalize().suffix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// True for identifiers no SLAAC address may use (RFC 5453 §3, IANA registry): all zeros
    /// (the subnet-router anycast address, RFC 4291 §2.6.1), 0200:5EFF:FE00:0000 to
    /// 0200:5EFF:FEFF:FFFF (the IANA Ethernet block, Proxy Mobile IPv6 among them), and
    /// FDFF:FFFF:FFFF:FF80 to FDFF:FFFF:FFFF:FFFF (subnet anycast, RFC 2526). O(1).
    public static func isReserved(_ identifier: UInt64) -> Bool {
        identifier == 0
            || (0x0200_5EFF_FE00_0000...0x0200_5EFF_FEFF_FFFF).contains(identifier)
            || (0xFDFF_FFFF_FFFF_FF80...0xFDFF_FFFF_FFFF_FFFF).contains(identifier)
    }
}
