import NetStackTestSupport
import NetStackWire
import Testing

/// Frames in each golden capture, as its README describes them (and as
/// `tshark -r` counts them; ip-fragments holds four fragments of the request,
/// offsets 0, 976, 1480 and 2456, plus the reply's first).
private let expectedFrameCounts: [String: Int] = [
    "arp-icmp-echo": 6,  // ARP request and reply, two echo request/reply pairs
    "dns-aaaa": 6,  // dnsmasq over IPv6: AAAA, AAAA through a CNAME, then A
    "dns-query": 4,  // two queries, two answers
    "icmp-frag-needed": 2,
    "icmp-port-unreachable": 4,  // ARP request and reply, the datagram, the ICMP error
    "icmp-routed-ttl-exceeded": 2,
    "ip-fragments": 5,
    "tcp-http-session": 49,
    "tcp-rst-closed-port": 2,
    "udp-echo": 2,
    // IPv6 (make-ipv6-captures.sh)
    "icmpv6-packet-too-big": 2,
    "icmpv6-parameter-problem": 6,  // RH0 and its problem (with NDP between), next header 253 and its problem
    "icmpv6-port-unreachable": 4,  // NS and NA, the datagram, the ICMPv6 error
    "icmpv6-redirect": 7,  // echo, redirect, then R's neighbour solicitations
    "icmpv6-time-exceeded": 2,
    "ipv6-extension-headers": 2,
    "ipv6-fragments": 6,  // request and reply in two fragments each, then NUD
    "ipv6-link-up": 16,  // MLDv2 reports, DAD, RS, RA, NUD
    "ipv6-ndp-echo": 6,
]

/// `1795611831.650649000` → nanoseconds, as tshark prints `frame.time_epoch`.
private func nanoseconds(epoch text: Substring) -> Int64? {
    let parts = text.split(separator: ".")
    guard parts.count == 2, let seconds = Int64(parts[0]), parts[1].count <= 9,
          let fraction = Int64(parts[1] + String(repeating: "0", count: 9 - parts[1].count)) else { return nil }
    return seconds * 1_000_000_000 + fraction
}

/// The frame bytes tshark reports (`-T json -x`, the `frame_raw` entries).
private func tsharkFrameBytes(_ path: String) throws -> [[UInt8]] {
    let (status, output) = try TShark.run(["-r", path, "-T", "json", "-x"])
    #expect(status == 0, "\(output)")
    let lines = output.split(separator: "\n")
    return lines.indices.compactMap { i -> [UInt8]? in
        guard lines[i].contains("\"frame_raw\""), i + 1 < lines.count else { return nil }
        let hex = Array(lines[i + 1].filter(\.isHexDigit))
        return stride(from: 0, to: hex.count - 1, by: 2).map { UInt8(String(hex[$0...$0 + 1]), radix: 16)! }
    }
}

private func rewrite(_ records: [PcapRecord], snapLength: Int = 65535) -> [UInt8] {
    var writer = PcapWriter(snapLength: snapLength)
    for record in records { writer.append(record.data, nanoseconds: record.nanoseconds) }
    return writer.takeBytes()
}

@Suite("Reading the Linux captures")
struct PcapReadingTests {
    @Test("every capture in the fixtures directory is one the README describes")
    func knownCaptures() throws {
        #expect(try Fixtures.captureNames() == expectedFrameCounts.keys.sorted())
    }

    @Test("each capture holds the frames its README describes", arguments: expectedFrameCounts.keys.sorted())
    func frameCounts(name: String) throws {
        #expect(try Fixtures.captureRecords(name).count == expectedFrameCounts[name])
    }

    @Test("timestamps, lengths and bytes agree with tshark", arguments: expectedFrameCounts.keys.sorted())
    func agreesWithTShark(name: String) throws {
        let records = try Fixtures.captureRecords(name)
        let path = Fixtures.capturesDirectory + "/" + name + ".pcap"
        let (status, output) = try TShark.run(
            ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"])
        try #require(status == 0, "\(output)")
        let rows = output.split(separator: "\n").map { $0.split(separator: "\t") }
        try #require(rows.count == records.count)
        for (record, row) in zip(records, rows) {
            #expect(row.count == 3)
            #expect(nanoseconds(epoch: row[0]) == record.nanoseconds)
            #expect(Int(row[1]) == record.originalLength)
            #expect(Int(row[2]) == record.data.count)
        }
        #expect(try tsharkFrameBytes(path) == records.map(\.data))
    }

    @Test("captureFrames gives the record bytes; the first ARP request is A's broadcast")
    func frames() throws {
        let frames = try Fixtures.captureFrames("arp-icmp-echo")
        #expect(frames == (try Fixtures.captureRecords("arp-icmp-echo")).map(\.data))
        // ff:ff:ff:ff:ff:ff ← 02:00:00:00:0a:01, ARP: "who has 192.0.2.254? tell 192.0.2.1".
        #expect(Array(frames[0][0..<14]) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0, 0, 0, 0x0A, 0x01, 0x08, 0x06])
        #expect(Array(frames[0][28..<32]) == [192, 0, 2, 1])
        #expect(Array(frames[0][38..<42]) == [192, 0, 2, 254])
    }

    @Test("a nanosecond capture made by editcap reads as the same records")
    func nanosecondMagic() throws {
        let original = Fixtures.capturesDirectory + "/arp-icmp-echo.pcap"
        let converted = try TShark.temporaryPcapPath(name: "nsec")
        let (status, output) = try TShark.editcap(["-F", "nsecpcap", original, converted])
        try #require(status == 0, "\(output)")
        let bytes = try Fixtures.fileBytes(converted)
        #expect(Array(bytes[0..<4]) == [0x4D, 0x3C, 0xB2, 0xA1])
        #expect(try PcapReader.parse(bytes) == Fixtures.captureRecords("arp-icmp-echo"))
    }

    @Test("a big-endian capture reads as the same records, and tshark agrees")
    func bigEndian() throws {
        let little = try Fixtures.captureBytes("udp-echo")
        var big = little
        // Swap each header field in place: 32-bit magic, 16-bit versions, then 32-bit fields.
        func swap(_ offset: Int, _ width: Int) { big[offset..<offset + width].reverse() }
        swap(0, 4); swap(4, 2); swap(6, 2)
        for offset in stride(from: 8, to: 24, by: 4) { swap(offset, 4) }
        var offset = 24
        while offset < little.count {
            let capturedLength = Int(little[offset + 8]) | Int(little[offset + 9]) << 8
            for field in 0..<4 { swap(offset + 4 * field, 4) }
            offset += 16 + capturedLength
        }
        #expect(Array(big[0..<4]) == [0xA1, 0xB2, 0xC3, 0xD4])
        #expect(try PcapReader.parse(big) == PcapReader.parse(little))

        let path = try TShark.writeTemporaryPcap(big, name: "big-endian")
        let (status, output) = try TShark.run(["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.port"])
        try #require(status == 0, "\(output)")
        let first = try #require(output.split(separator: "\n").first?.split(separator: "\t"))
        #expect(nanoseconds(epoch: first[0]) == (try PcapReader.parse(little))[0].nanoseconds)
        #expect(first.count == 2 && first[1] == "35539,7")
    }
}

@Suite("Writing pcap")
struct PcapWritingTests {
    @Test("the file header is tcpdump's: a1b2c3d4 little-endian, version 2.4, zone 0, snap length, link type 1")
    func header() throws {
        var writer = PcapWriter(snapLength: 262_144)
        let header = writer.takeBytes()
        #expect(header == Array(try Fixtures.captureBytes("udp-echo")[0..<24]))
        var defaultWriter = PcapWriter()
        #expect(defaultWriter.takeBytes()[16..<20] == [0xFF, 0xFF, 0x00, 0x00])
    }

    @Test("rewriting a Linux capture reproduces tcpdump's file byte for byte", arguments: expectedFrameCounts.keys.sorted())
    func byteForByte(name: String) throws {
        let original = try Fixtures.captureBytes(name)
        let written = rewrite(try PcapReader.parse(original), snapLength: 262_144)
        #expect(written == original)
    }

    @Test("frames longer than the snap length are cut and keep their original length")
    func snapLength() throws {
        let records = try Fixtures.captureRecords("tcp-http-session")
        let read = try PcapReader.parse(rewrite(records, snapLength: 100))
        #expect(read.count == records.count)
        for (original, cut) in zip(records, read) {
            #expect(cut.data == Array(original.data.prefix(100)))
            #expect(cut.originalLength == original.data.count)
            #expect(cut.nanoseconds == original.nanoseconds)
        }
        #expect(read.contains { $0.data.count == 100 && $0.originalLength > 1000 })
    }

    @Test("takeBytes hands over the header once, then only new records; the pieces make the file")
    func streaming() throws {
        let records = try Fixtures.captureRecords("dns-query")
        var writer = PcapWriter(snapLength: 262_144)
        var file = writer.takeBytes()
        #expect(file.count == 24)
        for record in records {
            writer.append(record.data, nanoseconds: record.nanoseconds)
            let piece = writer.takeBytes()
            #expect(piece.count == 16 + record.data.count)
            file += piece
        }
        #expect(writer.takeBytes().isEmpty)
        #expect(writer.frameCount == records.count)
        #expect(file == (try Fixtures.captureBytes("dns-query")))
    }

    @Test("times round down to the microsecond; times before the origin are written as zero")
    func timestamps() throws {
        var writer = PcapWriter()
        let frame: [UInt8] = [1, 2, 3]
        for time: Int64 in [0, 999, 1_000, 1_999_999_999, 4_294_967_295_999_999_000, -5] {
            frame.withUnsafeBytes { writer.append($0, nanoseconds: time) }
        }
        let times = try PcapReader.parse(writer.takeBytes()).map(\.nanoseconds)
        #expect(times == [0, 0, 1_000, 1_999_999_000, 4_294_967_295_999_999_000, 0])
    }

    @Test("a written capture decodes in tshark exactly like the original")
    func tsharkDecodes() throws {
        for name in ["arp-icmp-echo", "tcp-http-session", "dns-query"] {
            let original = Fixtures.capturesDirectory + "/" + name + ".pcap"
            let written = try TShark.writeTemporaryPcap(rewrite(try Fixtures.captureRecords(name)), name: name)
            let arguments = ["-V", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                             "-o", "udp.check_checksum:TRUE", "-r"]
            let expected = try TShark.run(arguments + [original])
            let actual = try TShark.run(arguments + [written])
            try #require(expected.status == 0 && actual.status == 0, "\(actual.output)")
            // Only the file name in the per-frame "Frame N: … on interface …" detail may differ.
            let strip = { (text: String) in text.split(separator: "\n").filter { !$0.contains(".pcap") } }
            #expect(strip(actual.output) == strip(expected.output), "\(name)")
            #expect(!actual.output.contains("[Malformed"))
        }
    }
}
