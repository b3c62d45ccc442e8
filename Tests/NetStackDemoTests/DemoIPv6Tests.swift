// `netstack demo --ipv6` (issue 13, item 8): the same journey over IPv6 alone — an AAAA
// answer from the DNS server's IPv6 address, TCP and UDP over IPv6, neighbour discovery
// where the IPv4 story has ARP — checked in the result, in the capture (with tshark as the
// oracle), and in both languages.

import Testing
import Foundation
import NetStackWire
import NetStackCore
import NetStackDemo
import NetStackTestSupport

/// An `--ipv6` run's result and narration.
private func run6(seed: UInt64 = 1, language: DemoLanguage = .english, verbosity: Verbosity = .normal) -> DemoRecording {
    var options = DemoOptions()
    options.seed = seed
    options.ipv6 = true
    options.language = language
    options.verbosity = verbosity
    var lines: [String] = []
    let result = Demo.run(options) { lines.append($0) }
    return DemoRecording(result: result, lines: lines)
}

/// The EtherType of a captured Ethernet frame.
private func etherType(_ frame: [UInt8]) -> UInt16 { UInt16(frame[12]) << 8 | UInt16(frame[13]) }

/// The ICMPv6 type of a captured frame, when it carries ICMPv6 right after the fixed IPv6 header.
private func icmpv6Type(_ frame: [UInt8]) -> UInt8? {
    guard frame.count > 54, etherType(frame) == 0x86DD, frame[20] == 58 else { return nil }
    return frame[54]
}

@Suite("netstack demo --ipv6")
struct DemoIPv6Tests {
    static let english = run6()
    static let korean = run6(language: .korean)

    @Test("every step completes and the page arrives intact: SHA-256 of the body received equals the page served")
    func pageIntact() {
        let result = Self.english.result
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.httpStatus == 200)
        #expect(result.pageIntact)
        #expect(result.pageReceivedSHA256 == SHA256.hex(result.pageServed))
        #expect(result.pageReceivedSHA256 == result.pageServedSHA256)
    }

    @Test("the resolver got an AAAA answer: the web server's IPv6 address, asked of the DNS server's IPv6 address")
    func aaaaAnswer() {
        let demo = Self.english
        #expect(demo.result.resolvedIPAddress == IPAddress("2001:db8:b::10"))
        #expect(demo.result.resolvedAddress == nil)
        #expect(demo.result.secondLookupFromCache)
        #expect(demo.says("the AAAA query for www.example.test"))
        #expect(demo.says("is on its way to [2001:db8:b::53]:53"))
        #expect(demo.says("www.example.test is 2001:db8:b::10 (nameserver 2001:db8:b::53"))
    }

    @Test("the browser's capture holds neighbour solicitations and advertisements, and neither ARP nor IPv4")
    func neighbourDiscoveryNotARP() throws {
        let frames: [[UInt8]] = try PcapReader.parse(Self.english.result.capture).map { $0.data }
        #expect(frames.count > 100)
        #expect(!frames.contains { etherType($0) == 0x0806 }, "an ARP frame")
        #expect(!frames.contains { etherType($0) == 0x0800 }, "an IPv4 frame")
        #expect(frames.allSatisfy { etherType($0) == 0x86DD })
        let types = frames.compactMap(icmpv6Type)
        #expect(types.contains(135), "no neighbour solicitation")
        #expect(types.contains(136), "no neighbour advertisement")
        #expect(Self.english.result.arpRequests == 0)
        #expect(Self.english.result.ndpSolicitations > 0)
        #expect(Self.english.says("neighbour solicitation (ICMPv6 type 135) on eth0 to ff02::1:ff00:1"))
        #expect(Self.english.says("neighbour cache miss for 2001:db8:a::1"))
        #expect(!Self.english.lines.contains { $0.contains("ARP request") || $0.contains("192.0.2.") })
    }

    @Test("TCP over IPv6 recovers the segment noise damaged: it is retransmitted and the page is whole")
    func tcpRetransmission() {
        let result = Self.english.result
        #expect(result.announcedMSS.browser == 1440)
        #expect(result.fcsDrops == 1)
        #expect(result.segmentsLost.count == 1)
        if let lost = result.segmentsLost.first { #expect(result.retransmissions.contains { $0.seq == lost }) }
        #expect(result.serverRetransmissionCount >= 1)
        #expect(Self.english.says("retransmission → [2001:db8:a::10]:"))
    }

    @Test("the UDP step runs over IPv6: the datagram dropped on a cable stays lost, the others are echoed")
    func udpOverIPv6() {
        let result = Self.english.result
        #expect(result.udpDropped == 3)
        #expect(result.udpEchoed == [1, 2, 4, 5])
        #expect(result.udpDatagramsSentByStack == 5)
        #expect(Self.english.says("fd = socket(AF_INET6, SOCK_DGRAM)"))
    }

    @Test("the router forwards with the hop limit decremented, and the tables are route -6 and the neighbour cache")
    func routerAndTables() {
        let demo = Self.english
        #expect(demo.says("hop limit decremented to 63"))
        #expect(demo.says("router$ route -6"))
        #expect(demo.says("browser$ ip -6 neigh"))
        #expect(demo.says("2001:db8:a::1 dev eth0 lladdr 02:00:00:00:0a:01"))
        #expect(!demo.says("$ arp"))
    }

    @Test("the smallest MSS IPv6 allows (links of 1,280 bytes) gives 1220-byte segments, and the page still arrives whole")
    func smallestMSS() {
        var options = DemoOptions()
        options.ipv6 = true
        options.mss = DemoOptions.mssRange6.lowerBound
        options.verbosity = .quiet
        var lines: [String] = []
        let result = Demo.run(options) { lines.append($0) }
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.announcedMSS.browser == 1220 && result.announcedMSS.server == 1220)
        #expect(result.segmentSize == 1208)
        #expect(result.pageIntact)
        #expect(lines.contains { $0.contains("MTU 1280 on every link, so MSS 1220") })
    }

    @Test("the Korean run is the same run, and no English sentence leaks into it (tables excepted)")
    func korean() {
        let (english, korean) = (Self.english, Self.korean)
        #expect(korean.result.capture == english.result.capture)
        #expect(korean.says("이웃 요청"))
        let englishWords = [" the ", " is ", " and ", " of ", " from ", " more ", " to ", " with ", " its ", "(press Enter"]
        let tableHeads = ["Active Internet connections", "Proto Recv-Q", "Kernel IPv6 routing table", "Destination   ",
                          "  device          frames sent", "tcp", "udp", "\t ", "2001:", "fe80:", "ff02:", "::/0", "::1/128"]
        for line in korean.lines where !tableHeads.contains(where: { line.hasPrefix($0) }) {
            let leaked = englishWords.filter { line.lowercased().contains($0) }
            #expect(leaked.isEmpty, "English in: \(line)")
        }
    }

    @Test("the same seed gives byte-identical narration and capture; the IPv4 run is another capture")
    func deterministic() {
        let again = run6()
        #expect(again.lines == Self.english.lines)
        #expect(again.result.capture == Self.english.result.capture)
        #expect(again.result.networkCapture == Self.english.result.networkCapture)
        #expect(DemoRecording.standard.result.capture != Self.english.result.capture)
    }

    @Test("the --html page of an --ipv6 run draws the IPv6 addresses and dissects IPv6, ICMPv6 and NDP; no ARP, no IPv4")
    func htmlPage() throws {
        var options = DemoOptions()
        options.ipv6 = true
        options.html = true
        options.verbosity = .quiet
        let result = Demo.run(options) { _ in }
        #expect(result.capture == Self.english.result.capture)
        let page = PageRun(result: result, text: String(decoding: result.html, as: UTF8.self))
        let frames = try page.frames()
        #expect(frames.count > 100)
        let infos = frames.compactMap { $0["info"] as? String }
        #expect(infos.contains("Neighbor Solicitation for 2001:db8:a::1 from 02:00:00:00:0a:0a"))
        #expect(infos.contains("Neighbor Advertisement 2001:db8:a::1 (rtr, sol, ovr) is at 02:00:00:00:0a:01"))
        let protocols = Set(frames.compactMap { $0["proto"] as? String })
        #expect(protocols.isSuperset(of: ["ICMPv6", "DNS", "TCP", "HTTP", "ECHO"]))
        #expect(!protocols.contains("ARP") && !protocols.contains("IPv4"))
        #expect(page.text.contains("Internet Protocol Version 6, Src: 2001:db8:a::10, Dst: 2001:db8:b::53"))
        #expect(page.text.contains(">2001:db8:a::10</text>"))
        #expect(!page.text.contains("192.0.2.10"))
        let ladder = try #require(try page.data()["ladder"] as? [[String: Any]])
        #expect(ladder.count > 20)
        #expect(ladder.contains { ($0["retrans"] as? Bool) == true })
        #expect(try page.data()["neighbourCommand"] as? String == "ip -6 neigh")
    }

    @Test("tshark decodes the --ipv6 capture with no malformed frame and every checksum good, and tells the story")
    func captureDecodes() throws {
        let capture = Self.english.result.capture
        let path = try TShark.writeTemporaryPcap(capture, name: "demo6.pcap")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let checksums = DemoRunTests.checksums
        let decoded = try TShark.run(["-r", path, "-V"] + checksums)
        #expect(decoded.status == 0)
        #expect(!decoded.output.contains("Malformed"))
        #expect(!decoded.output.contains("[Checksum Status: Bad]"))
        #expect(!decoded.output.contains("Expert Info (Error"))
        let statuses = try TShark.run(["-r", path, "-T", "fields", "-e", "icmpv6.checksum.status", "-e", "udp.checksum.status",
                                       "-e", "tcp.checksum.status"] + checksums)
        #expect(!statuses.output.split(whereSeparator: \.isWhitespace).contains("0"))
        let summary = try TShark.run(["-r", path])
        for text in ["Neighbor Solicitation for 2001:db8:a::1", "Neighbor Advertisement 2001:db8:a::1", "Standard query",
                     "AAAA www.example.test", "[SYN]", "MSS=1440", "GET / HTTP/1.1", "HTTP/1.1 200 OK",
                     "[TCP Fast Retransmission]", "[FIN, ACK]"] {
            #expect(summary.output.contains(text), "tshark does not show \(text)")
        }
        #expect(!summary.output.contains("ARP"))
        let page = try TShark.run(["-r", path, "-Y", "http.response", "-T", "fields", "-e", "http.file_data",
                                   "-o", "http.decompress_body:FALSE"])
        #expect(page.output.contains("From data to signals"))
    }
}
