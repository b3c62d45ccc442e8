import NetStackWire
import Testing

/// The CRC-32 of IEEE 802.3 §3.2.9 bit by bit, straight from its definition
/// (reflected polynomial, preset ones, complemented): an independent
/// reference for the table-driven implementation.
private func referenceCRC(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBytes { CRC32.checksum($0) }
}

private func crc(_ text: String) -> UInt32 { crc(Array(text.utf8)[...]) }

/// Deterministic filler bytes (a linear congruential sequence).
private func pattern(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

/// A real 98-byte ICMP echo request frame captured with its FCS by a NIC
/// with `rx-fcs on` (jwbensley/Ethernet-CRC32, `P1.txt`); FCS e6 4c b4 86.
private let capturedFrameWithFCS: [UInt8] = [
    0x08, 0x00, 0x27, 0x27, 0x1A, 0xD5, 0x52, 0x54, 0x00, 0x12, 0x35, 0x02, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x54, 0x1E, 0x49, 0x40, 0x00, 0x40, 0x01, 0x04, 0x50, 0x0A, 0x00, 0x02, 0x02, 0x0A, 0x00,
    0x02, 0x0F, 0x00, 0x00, 0x59, 0xD6, 0x0F, 0xAF, 0x00, 0x01, 0xFD, 0xB5, 0xF5, 0x5A, 0x00, 0x00,
    0x00, 0x00, 0xE1, 0x95, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
    0x36, 0x37, 0xE6, 0x4C, 0xB4, 0x86,
]

@Suite("CRC-32, IEEE 802.3")
struct CRC32Tests {
    @Test("check value: CRC-32 of \"123456789\" is cbf43926")
    func checkValue() {
        #expect(crc("123456789") == 0xCBF4_3926)
    }

    @Test("published vectors: empty, a, abc, message digest, alphabet, quick brown fox")
    func publishedVectors() {
        #expect(crc("") == 0)
        #expect(crc("a") == 0xE8B7_BE43)
        #expect(crc("abc") == 0x3524_41C2)
        #expect(crc("message digest") == 0x2015_9D7F)
        #expect(crc("abcdefghijklmnopqrstuvwxyz") == 0x4C27_50BD)
        #expect(crc("The quick brown fox jumps over the lazy dog") == 0x414F_A339)
    }

    @Test("every length 0…200 at every alignment 0…7 matches the bitwise definition")
    func lengthsAndAlignments() {
        let data = pattern(216)
        for start in 0..<8 {
            for count in 0...200 {
                let slice = data[start..<(start + count)]
                #expect(crc(slice) == referenceCRC(slice), "start \(start), count \(count)")
            }
        }
    }

    @Test("a 64 KiB buffer matches the bitwise definition")
    func large() {
        let data = pattern(65536, seed: 3)
        #expect(crc(data[...]) == referenceCRC(data[...]))
    }

    @Test("update continues a running CRC at any split point; update(0, empty) is 0")
    func running() {
        let data = pattern(100, seed: 5)
        let whole = referenceCRC(data[...])
        for cut in 0...data.count {
            let first = data[..<cut].withUnsafeBytes { CRC32.update(0, $0) }
            let both = data[cut...].withUnsafeBytes { CRC32.update(first, $0) }
            #expect(both == whole, "cut at \(cut)")
        }
        #expect([UInt8]().withUnsafeBytes { CRC32.update(0, $0) } == 0)
        #expect([UInt8]().withUnsafeBytes { CRC32.update(0x1234_5678, $0) } == 0x1234_5678)
    }
}

@Suite("Ethernet FCS, IEEE 802.3 §3.2.9")
struct FrameCheckSequenceTests {
    @Test("a NIC-captured frame's FCS verifies and equals compute over the frame")
    func capturedFrame() {
        capturedFrameWithFCS.withUnsafeBytes { raw in
            #expect(EthernetFCS.verify(raw))
            let body = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 4)])
            #expect(EthernetFCS.compute(body) == 0x86B4_4CE6)
        }
    }

    @Test("append writes the FCS least significant byte first, as the NIC sent it")
    func appendOrder() {
        var frame = Array(capturedFrameWithFCS.dropLast(4))
        EthernetFCS.append(to: &frame)
        #expect(frame == capturedFrameWithFCS)
    }

    @Test("the CRC-32 over a frame and its FCS is the 802.3 residue 2144df1c (~c704dd7b reflected)")
    func residue() {
        #expect(crc(capturedFrameWithFCS[...]) == 0x2144_DF1C)
        var frame = pattern(60, seed: 9)
        EthernetFCS.append(to: &frame)
        #expect(crc(frame[...]) == 0x2144_DF1C)
    }

    @Test("any single flipped bit makes verify fail")
    func bitErrors() {
        for bit in 0..<(capturedFrameWithFCS.count * 8) {
            var frame = capturedFrameWithFCS
            frame[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(!frame.withUnsafeBytes { EthernetFCS.verify($0) }, "bit \(bit)")
        }
    }

    @Test("verify is false for fewer than four bytes, and checks a bare FCS of empty data")
    func short() {
        for count in 0..<4 {
            #expect(![UInt8](repeating: 0, count: count).withUnsafeBytes { EthernetFCS.verify($0) })
        }
        var empty: [UInt8] = []
        EthernetFCS.append(to: &empty)
        #expect(empty == [0, 0, 0, 0])
        #expect(empty.withUnsafeBytes { EthernetFCS.verify($0) })
    }
}
