import NetStackTestSupport
import NetStackWire
import Testing

/// The RFC 1071 sum written straight from its definition, one 16-bit
/// big-endian word at a time, an odd last byte padded with zero: an
/// independent reference for the word-parallel implementation.
private func referenceSum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
    var sum: UInt32 = 0
    var i = bytes.startIndex
    while i < bytes.endIndex {
        let high = UInt32(bytes[i])
        let low = i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0
        sum += high << 8 | low
        sum = (sum & 0xFFFF) + (sum >> 16)
        i += 2
    }
    return UInt16(sum)
}

private func foldedSum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
    bytes.withUnsafeBytes { raw in
        var c = InternetChecksum()
        c.add(raw)
        return c.foldedSum
    }
}

/// Deterministic filler bytes (a linear congruential sequence).
private func pattern(_ count: Int, seed: UInt32 = 1) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 1_664_525 &+ 1_013_904_223
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

@Suite("Internet checksum, RFC 1071")
struct InternetChecksumTests {
    @Test("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2")
    func rfc1071Example() {
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(foldedSum(bytes[...]) == 0xDDF2)
        #expect(bytes.withUnsafeBytes { InternetChecksum.checksum($0) } == 0x220D)
    }

    @Test("an odd last byte counts as the high byte of a zero-padded word")
    func oddLength() {
        #expect(foldedSum([0x01][...]) == 0x0100)
        #expect(foldedSum([0x00, 0x01, 0xF2][...]) == 0xF201)
        #expect(foldedSum([0xFF, 0xFF, 0xFF][...]) == 0xFF00)  // ffff + ff00, end-around carry
    }

    @Test("empty data sums to zero, checksum ffff")
    func empty() {
        #expect(foldedSum([][...]) == 0)
        #expect([UInt8]().withUnsafeBytes { InternetChecksum.checksum($0) } == 0xFFFF)
    }

    @Test("every length 0…300 at every alignment 0…7 matches the word-by-word definition")
    func lengthsAndAlignments() {
        let data = pattern(320)
        for start in 0..<8 {
            for count in 0...300 {
                let slice = data[start..<(start + count)]
                #expect(foldedSum(slice) == referenceSum(slice), "start \(start), count \(count)")
            }
        }
    }

    @Test("all-ones data: carries wrap around without loss (64 KiB of ff)")
    func carries() {
        let data = [UInt8](repeating: 0xFF, count: 65536)
        #expect(foldedSum(data[...]) == 0xFFFF)
        let data2 = [UInt8](repeating: 0xFF, count: 65535)
        #expect(foldedSum(data2[...]) == referenceSum(data2[...]))
    }

    @Test("summing in even-length pieces equals summing the whole")
    func pieces() {
        let data = pattern(1001, seed: 7)
        for cut in stride(from: 0, through: 1000, by: 2) {
            var c = InternetChecksum()
            data[..<cut].withUnsafeBytes { c.add($0) }
            data[cut...].withUnsafeBytes { c.add($0) }
            #expect(c.foldedSum == referenceSum(data[...]), "cut at \(cut)")
        }
    }

    @Test("adding 16- and 32-bit fields equals adding their big-endian bytes")
    func fields() {
        var fieldwise = InternetChecksum()
        fieldwise.add(UInt32(0xC000_0201))  // 192.0.2.1
        fieldwise.add(UInt16(0x0011))
        fieldwise.add(UInt16(0xABCD))
        let bytes: [UInt8] = [0xC0, 0x00, 0x02, 0x01, 0x00, 0x11, 0xAB, 0xCD]
        #expect(fieldwise.foldedSum == referenceSum(bytes[...]))
    }
}

@Suite("Incremental checksum update, RFC 1624")
struct IncrementalChecksumTests {
    @Test("RFC 1624 §4 example: 5555 → 3285 under checksum dd2f gives 0000, not ffff")
    func rfc1624Example() {
        #expect(InternetChecksum.update(0xDD2F, old: 0x5555, new: 0x3285) == 0x0000)
    }

    @Test("TTL decrement on Linux's echo request header equals recomputation")
    func ttlDecrement() throws {
        // Frame 3 of arp-icmp-echo: 192.0.2.1 → 192.0.2.254, TTL 64, checksum by the kernel.
        var frame = try Fixtures.captureFrames("arp-icmp-echo")[2]
        let header = 14..<34
        #expect(frame[22] == 64)
        #expect(frame[header].withUnsafeBytes { InternetChecksum.checksum($0) } == 0)

        for _ in 0..<64 {
            let oldWord = UInt16(frame[22]) << 8 | UInt16(frame[23])
            let oldChecksum = UInt16(frame[24]) << 8 | UInt16(frame[25])
            frame[22] -= 1
            let newWord = UInt16(frame[22]) << 8 | UInt16(frame[23])
            let updated = InternetChecksum.update(oldChecksum, old: oldWord, new: newWord)

            frame[24] = 0
            frame[25] = 0
            let recomputed = frame[header].withUnsafeBytes { InternetChecksum.checksum($0) }
            #expect(updated == recomputed, "TTL \(frame[22])")
            frame[24] = UInt8(updated >> 8)
            frame[25] = UInt8(updated & 0xFF)
        }
    }

    @Test("updating the quoted header's TTL in the router's time-exceeded matches recomputation")
    func quotedHeader() throws {
        // The router's ICMP time exceeded quotes the TTL-1 header of frame 1 unchanged.
        let frames = try Fixtures.captureFrames("icmp-routed-ttl-exceeded")
        let quoted = Array(frames[1][42..<62])
        #expect(quoted == Array(frames[0][14..<34]))
        let checksum = UInt16(quoted[10]) << 8 | UInt16(quoted[11])
        let updated = InternetChecksum.update(checksum, old: 0x0101, new: 0x4001)  // TTL 1 → 64
        var raised = quoted
        raised[8] = 64
        raised[10] = 0
        raised[11] = 0
        #expect(updated == raised.withUnsafeBytes { InternetChecksum.checksum($0) })
    }
}

@Suite("Checksums in the Linux captures")
struct CaptureChecksumTests {
    @Test("every IPv4 header in every capture sums to ffff")
    func ipv4Headers() throws {
        var checked = 0
        for name in try Fixtures.captureNames() {
            for (index, frame) in try Fixtures.captureFrames(name).enumerated() where isIPv4(frame) {
                let headerLength = Int(frame[14] & 0x0F) * 4
                try #require(frame.count >= 14 + headerLength)
                let sum = foldedSum(frame[14..<(14 + headerLength)])
                #expect(sum == 0xFFFF, "\(name) frame \(index + 1)")
                checked += 1
            }
        }
        #expect(checked == 72)  // `tshark -r <each> -Y ip` lists 72 frames
    }

    @Test("every unfragmented ICMP, UDP and TCP checksum in the captures verifies")
    func transport() throws {
        var checked = 0
        for name in try Fixtures.captureNames() {
            for (index, frame) in try Fixtures.captureFrames(name).enumerated() where isIPv4(frame) {
                let headerLength = Int(frame[14] & 0x0F) * 4
                let totalLength = Int(frame[16]) << 8 | Int(frame[17])
                let fragment = (Int(frame[20]) << 8 | Int(frame[21])) & 0x3FFF  // MF and offset
                let proto = frame[23]
                guard fragment == 0, frame.count >= 14 + totalLength else { continue }
                let payload = frame[(14 + headerLength)..<(14 + totalLength)]
                var c = InternetChecksum()
                switch proto {
                case 1:
                    break
                case 6, 17:
                    // RFC 793 §3.1 / RFC 768 pseudo-header: addresses, protocol, length.
                    frame[26..<34].withUnsafeBytes { c.add($0) }
                    c.add(UInt16(proto))
                    c.add(UInt16(payload.count))
                default:
                    continue
                }
                payload.withUnsafeBytes { c.add($0) }
                #expect(c.verifies, "\(name) frame \(index + 1), protocol \(proto)")
                checked += 1
            }
        }
        #expect(checked == 67)  // the 72 IPv4 frames less 5 fragments
    }

    private func isIPv4(_ frame: [UInt8]) -> Bool {
        frame.count >= 34 && frame[12] == 0x08 && frame[13] == 0x00 && frame[14] >> 4 == 4
    }
}
