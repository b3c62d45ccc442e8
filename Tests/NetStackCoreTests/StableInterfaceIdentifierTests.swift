// RFC 7217 stable interface identifiers: deterministic for one key, different per prefix and
// per DAD_Counter, reserved identifiers (RFC 5453) skipped. The expected digests were computed
// apart with Python's hashlib over the input layout the type documents:
//   prefix(8, big-endian) ‖ len(Net_Iface) ‖ Net_Iface ‖ len(Network_ID) ‖ Network_ID ‖ DAD_Counter ‖ key
// hashlib.sha256(...).digest()[-8:] with key = bytes(range(16)), Net_Iface = 02:00:00:00:00:0a.

@testable import NetStackCore
import NetStackWire
import Testing

private let key = [UInt8](0..<16)
private let mac: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A]
private let prefix = IPv6Network("2001:db8:1::/64")!

@Suite("Stable interface identifiers (RFC 7217)")
struct StableInterfaceIdentifierTests {
    let generator = StableInterfaceIdentifier(secretKey: key)

    @Test("the identifier is the low 64 bits of SHA-256 over the documented input (hashlib's digest)")
    func matchesIndependentDigest() {
        #expect(generator.identifier(prefix: prefix, netIface: mac, dadCounter: 0).identifier == 0x66f1_1b3e_0f15_56e5)
        #expect(generator.identifier(prefix: prefix, netIface: mac, networkID: Array("lab".utf8), dadCounter: 0)
            .identifier == 0xf12b_9ff7_8250_8d89)
        let linkLocal = IPv6Network("fe80::/64")!
        #expect(generator.address(prefix: linkLocal, netIface: mac, dadCounter: 0).address
            == IPv6Address("fe80::58dd:145a:2ec:ad8b"))
    }

    @Test("same inputs give the same identifier; the prefix, the DAD counter and the key each change it")
    func deterministicAndSensitive() {
        let first = generator.identifier(prefix: prefix, netIface: mac, dadCounter: 0)
        #expect(StableInterfaceIdentifier(secretKey: key).identifier(prefix: prefix, netIface: mac, dadCounter: 0)
            == first)
        #expect(first.dadCounter == 0)
        let second = generator.identifier(prefix: prefix, netIface: mac, dadCounter: 1)
        #expect(second.identifier == 0x8c5e_6180_0368_4f91 && second.dadCounter == 1)
        var otherKey = key
        otherKey[15] ^= 1
        #expect(StableInterfaceIdentifier(secretKey: otherKey).identifier(prefix: prefix, netIface: mac, dadCounter: 0)
            != first)
        var seen = Set<UInt64>()
        for index in 0..<256 {
            let other = IPv6Network(address: IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(index) << 16, low: 0),
                                    prefixLength: 64)
            seen.insert(generator.identifier(prefix: other, netIface: mac, dadCounter: 0).identifier)
        }
        #expect(seen.count == 256)
    }

    @Test("the address is the prefix's upper half with the identifier below")
    func addressCombinesPrefixAndIdentifier() {
        let (address, _) = generator.address(prefix: prefix, netIface: mac, dadCounter: 0)
        #expect(address == IPv6Address("2001:db8:1:0:66f1:1b3e:f15:56e5"))
    }

    @Test("reserved identifiers (RFC 5453) are recognised at the edges of each range")
    func reservedRanges() {
        for reserved: UInt64 in [0, 0x0200_5EFF_FE00_0000, 0x0200_5EFF_FE00_5212, 0x0200_5EFF_FE00_5213,
                                 0x0200_5EFF_FEFF_FFFF, 0xFDFF_FFFF_FFFF_FF80, 0xFDFF_FFFF_FFFF_FFFF] {
            #expect(StableInterfaceIdentifier.isReserved(reserved), "\(String(reserved, radix: 16))")
        }
        for allowed: UInt64 in [1, 0x0200_5EFF_FDFF_FFFF, 0x0200_5EFF_FF00_0000, 0xFDFF_FFFF_FFFF_FF7F,
                                0xFE00_0000_0000_0000, .max] {
            #expect(!StableInterfaceIdentifier.isReserved(allowed), "\(String(allowed, radix: 16))")
        }
    }

    @Test("a reserved result is skipped by incrementing DAD_Counter, and the counter used is returned")
    func reservedSkipped() {
        let values: [UInt64] = [0, 0x0200_5EFF_FE00_1234, 0xFDFF_FFFF_FFFF_FFF0, 0x1234]
        let result = StableInterfaceIdentifier.firstUnreserved(from: 0) { values[$0] }
        #expect(result.identifier == 0x1234 && result.dadCounter == 3)
        #expect(StableInterfaceIdentifier.firstUnreserved(from: 3) { values[$0] }.dadCounter == 3)
    }
}
