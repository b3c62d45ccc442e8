import NetStackWire

// The page's data block, built from the run's own frames: the browser's
// capture (the same records `--pcap` writes), every cable's frames for the
// journey, the narration and the tables.

/// What the page is made of, gathered at the end of a run.
struct PageInput {
    var title: String
    var language: DemoLanguage
    /// Every frame on the browser's cable, with whether the browser sent it or passed it up.
    var browserCable: [(record: PcapRecord, delivered: Bool)]
    /// Every frame on every cable, with the cable's name, in time order.
    var cables: [(cable: String, record: PcapRecord)]
    /// MAC address → the device that owns it ("client", "router", …: the cables' end names).
    var owners: [MACAddress: String]
    var log: PageLog
    /// Preamble, SFD and the SYN frame's first bytes, as the signal draws them.
    var signalBytes: [UInt8]
    /// The run is `--ipv6`'s: the drawings' addresses and the tables' commands are IPv6's.
    var ipv6 = false
}

/// Builds the page's data block (frames, ladder, hops, narration, steps and tables) as JSON.
enum PageData {
    /// The browser's cable is where the capture is taken.
    static let browserCable = "client-hub"

    /// The data block as JSON. O(total size of the frames).
    static func json(_ input: PageInput) -> String {
        var dissector = FrameDissector()
        var frames: [PageJSON] = []
        var ladder: [PageJSON] = []
        var frameIndexOnBrowserCable: [Int?] = []
        var highestEnd: [Bool: UInt32] = [:]
        for (record, delivered) in input.browserCable {
            let dissected = dissector.dissect(record.data)
            let index: Int? = delivered ? frames.count : nil
            frameIndexOnBrowserCable.append(index)
            if delivered {
                frames.append(.object([
                    ("t", .int(record.nanoseconds)), ("hex", .string(record.data.map { hex($0, 2) }.joined())),
                    ("src", .string(dissected.source)), ("dst", .string(dissected.destination)),
                    ("proto", .string(dissected.protocolName)), ("info", .string(dissected.info)),
                    ("tree", .array(dissected.tree.map(\.json))),
                ]))
            }
            if let arrow = ladderArrow(record, dissected, frame: index, highestEnd: &highestEnd) { ladder.append(arrow) }
        }
        var hopDissector = FrameDissector()
        var browserCableCount = 0
        var hops: [PageJSON] = []
        for (cable, record) in input.cables {
            var frame: Int?
            if cable == browserCable {
                if browserCableCount < frameIndexOnBrowserCable.count { frame = frameIndexOnBrowserCable[browserCableCount] }
                browserCableCount += 1
            }
            let dissected = hopDissector.dissect(record.data)
            let (from, to) = direction(cable, record.data, input.owners)
            hops.append(.object([
                ("t", .int(record.nanoseconds)), ("cable", .string(cable)), ("from", .string(from)), ("to", .string(to)),
                ("proto", .string(dissected.protocolName)), ("info", .string(dissected.info)),
                ("frame", frame.map { .int($0) } ?? .null),
            ]))
        }
        return PageJSON.object([
            ("title", .string(input.title)), ("lang", .string(input.language.rawValue)),
            ("ui", .object(PageWords.words(input.language).map { ($0.0, .string($0.1)) })),
            ("frames", .array(frames)), ("ladder", .array(ladder)), ("hops", .array(hops)),
            ("lines", .array(input.log.lines.map { .array([.int($0.nanoseconds), .string($0.text)]) })),
            ("steps", .array(input.log.steps.map { .object([("title", .string($0.title)), ("t", .int($0.nanoseconds)),
                                                           ("line", .int($0.firstLine)), ("tables", tables($0.tablesBefore))]) })),
            ("finalTables", tables(input.log.finalTables)),
            ("browserAddress", .string(input.ipv6 ? "2001:db8:a::10" : "192.0.2.10")),
            ("serverAddress", .string(input.ipv6 ? "2001:db8:b::10" : "198.51.100.10")),
            ("routeCommand", .string(input.ipv6 ? "route -6" : "route")),
            ("neighbourCommand", .string(input.ipv6 ? "ip -6 neigh" : "arp")),
        ]).rendered
    }

    private static func tables(_ tables: [PageLog.Tables]) -> PageJSON {
        .array(tables.map { .object([("host", .string($0.host == "client" ? "browser" : $0.host)), ("netstat", .string($0.netstat)),
                                     ("route", .string($0.route)), ("arp", .string($0.arp))]) })
    }

    /// The cable's sending and receiving ends for `frame`: the end that owns
    /// the source MAC sent it; else the hub or switch at one end repeated it.
    static func direction(_ cable: String, _ frame: [UInt8], _ owners: [MACAddress: String]) -> (String, String) {
        let ends = cable.split(separator: "-").map(String.init)
        guard ends.count == 2 else { return (cable, cable) }
        let source = frame.count >= 12 ? owners[MACAddress(frame[6], frame[7], frame[8], frame[9], frame[10], frame[11])] : nil
        if source == ends[0] { return (ends[0], ends[1]) }
        if source == ends[1] { return (ends[1], ends[0]) }
        return ["hub", "switch"].contains(ends[0]) ? (ends[0], ends[1]) : (ends[1], ends[0])
    }

    /// An arrow of the browser's HTTP connection's ladder, or nil for any other
    /// frame. A data segment ending at or below what its direction already
    /// sent is a retransmission; a frame not delivered is lost.
    private static func ladderArrow(_ record: PcapRecord, _ dissected: DissectedFrame, frame: Int?,
                                    highestEnd: inout [Bool: UInt32]) -> PageJSON? {
        let data = record.data
        guard dissected.protocolName == "TCP" || dissected.protocolName == "HTTP", data.count >= 54 else { return nil }
        // IPv4 (header length from IHL, total length) or IPv6 (fixed header, payload length; no extension headers).
        let ipv4 = data[12] == 0x08 && data[13] == 0x00 && data[23] == 6
        guard ipv4 || (data[12] == 0x86 && data[13] == 0xDD && data[20] == 6) else { return nil }
        let ipLength = ipv4 ? Int(data[14] & 0x0F) * 4 : 40
        let tcp = 14 + ipLength
        guard data.count >= tcp + 20 else { return nil }
        let sourcePort = UInt16(data[tcp]) << 8 | UInt16(data[tcp + 1])
        let destinationPort = UInt16(data[tcp + 2]) << 8 | UInt16(data[tcp + 3])
        guard sourcePort == 80 || destinationPort == 80 else { return nil }
        let fromBrowser = destinationPort == 80
        let totalLength = ipv4 ? Int(UInt16(data[16]) << 8 | UInt16(data[17])) : 40 + Int(UInt16(data[18]) << 8 | UInt16(data[19]))
        let payload = totalLength - ipLength - Int(data[tcp + 12] >> 4) * 4
        let seq = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(data[tcp + 4 + $1]) }
        var retransmission = false
        if payload > 0 {
            let end = seq &+ UInt32(payload)
            if let highest = highestEnd[fromBrowser], Int32(bitPattern: end &- highest) <= 0 { retransmission = true }
            else { highestEnd[fromBrowser] = end }
        }
        let label = dissected.info.split(separator: " ", maxSplits: 3).dropFirst(3).first.map(String.init) ?? dissected.info
        return .object([("t", .int(record.nanoseconds)), ("left", .bool(fromBrowser)), ("label", .string(label)), ("frame", frame.map { .int($0) } ?? .null),
                        ("lost", .bool(frame == nil)), ("retrans", .bool(retransmission))])
    }
}
