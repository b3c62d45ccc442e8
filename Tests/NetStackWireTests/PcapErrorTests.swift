import NetStackTestSupport
import NetStackWire
import Testing

/// A valid little-endian microsecond file (snap length 65535) holding one
/// 3-byte frame, laid out by hand from the format description so each test
/// can break exactly one field.
private func validFile() -> [UInt8] {
    [0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00,  // magic, version 2.4
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // thiszone, sigfigs
     0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // snaplen 65535, linktype 1
     0x05, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,  // 5 s, 7 µs
     0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,  // caplen 3, len 3
     0xAA, 0xBB, 0xCC]
}

private func store32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
}

private func parseError(_ bytes: [UInt8]) -> WireError? {
    do {
        _ = try PcapReader.parse(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite("Malformed pcap files")
struct PcapErrorTests {
    @Test("the hand-made file is valid: one record at 5.000007 s")
    func valid() throws {
        #expect(try PcapReader.parse(validFile())
            == [PcapRecord(nanoseconds: 5_000_007_000, originalLength: 3, data: [0xAA, 0xBB, 0xCC])])
    }

    @Test("a file shorter than the 24-byte header is truncated")
    func shortHeader() {
        #expect(parseError([]) == .truncated(.pcap, needed: 24, available: 0))
        #expect(parseError(Array(validFile()[0..<23])) == .truncated(.pcap, needed: 24, available: 23))
    }

    @Test("an unknown magic number is a bad field (pcapng's 0a0d0d0a too)")
    func badMagic() {
        var bytes = validFile()
        store32(0x0A0D_0D0A, at: 0, in: &bytes)
        guard case .badField(.pcap, _) = parseError(bytes) else {
            Issue.record("expected badField(.pcap, …)")
            return
        }
    }

    @Test("a major version other than 2 is refused")
    func badVersion() {
        var bytes = validFile()
        bytes[4] = 3
        #expect(parseError(bytes) == .badVersion(.pcap, 3))
    }

    @Test("link types other than Ethernet, and frames with FCS, are unsupported")
    func linkType() {
        for field: UInt32 in [101, 228, 0x1000_0001] {  // raw IP, raw IPv4, Ethernet with FCS flag
            var bytes = validFile()
            store32(field, at: 20, in: &bytes)
            guard case .unsupported(.pcap, _) = parseError(bytes) else {
                Issue.record("link-type field \(field): expected unsupported(.pcap, …)")
                continue
            }
        }
    }

    @Test("a record header cut short is truncated")
    func shortRecordHeader() {
        #expect(parseError(Array(validFile()[0..<30])) == .truncated(.pcap, needed: 16, available: 6))
    }

    @Test("a record whose bytes run past the end is truncated")
    func shortRecordBody() {
        #expect(parseError(Array(validFile().dropLast())) == .truncated(.pcap, needed: 3, available: 2))
        var bytes = validFile()
        store32(0x7FFF_FFFF, at: 16, in: &bytes)  // huge snap length, so only the end can object
        store32(0x7FFF_FFFF, at: 32, in: &bytes)
        store32(0xFFFF_FFFF, at: 36, in: &bytes)
        #expect(parseError(bytes) == .truncated(.pcap, needed: 0x7FFF_FFFF, available: 3))
    }

    @Test("a captured length above the snap length is a bad length")
    func aboveSnapLength() {
        var bytes = validFile()
        store32(2, at: 16, in: &bytes)
        #expect(parseError(bytes) == .badLength(.pcap, 3))
    }

    @Test("a captured length above the original length is a bad length")
    func aboveOriginalLength() {
        var bytes = validFile()
        store32(2, at: 36, in: &bytes)
        #expect(parseError(bytes) == .badLength(.pcap, 3))
    }

    @Test("a microsecond field of a million or more is a bad field")
    func subsecondRange() {
        var bytes = validFile()
        store32(1_000_000, at: 28, in: &bytes)
        guard case .badField(.pcap, _) = parseError(bytes) else {
            Issue.record("expected badField(.pcap, …)")
            return
        }
        store32(999_999, at: 28, in: &bytes)
        #expect(parseError(bytes) == nil)
    }

    @Test("every prefix of a Linux capture parses to a prefix of its records or throws truncated")
    func prefixes() throws {
        let bytes = try Fixtures.captureBytes("icmp-port-unreachable")
        let records = try PcapReader.parse(bytes)
        var parsedWhole = 0
        for end in 0...bytes.count {
            do {
                let read = try PcapReader.parse(Array(bytes[0..<end]))
                #expect(Array(records.prefix(read.count)) == read)
                parsedWhole += 1
            } catch {
                guard case .truncated(.pcap, _, _) = error else {
                    Issue.record("prefix \(end): \(error)")
                    continue
                }
            }
        }
        #expect(parsedWhole == records.count + 1)  // the bare header, then each record boundary
    }

    @Test("every single corrupted byte of a capture's header area yields records or a WireError, never a crash")
    func corruption() throws {
        let bytes = try Fixtures.captureBytes("udp-echo")
        for offset in 0..<(24 + 16) {
            for value: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFF] {
                var corrupted = bytes
                corrupted[offset] = value
                _ = parseError(corrupted)
            }
        }
    }
}
