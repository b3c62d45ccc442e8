import Testing
import Foundation
import NetStackWire
import NetStackCore
import NetStackDemo
import NetStackTestSupport

/// A demo run's result and narration.
struct DemoRecording: Sendable {
    var result: DemoResult
    var lines: [String]

    static func run(seed: UInt64 = 1, verbosity: Verbosity = .normal, loss: Double = 0, mss: Int = 1460) -> DemoRecording {
        var options = DemoOptions()
        options.seed = seed
        options.verbosity = verbosity
        options.loss = loss
        options.mss = mss
        var lines: [String] = []
        let result = Demo.run(options) { lines.append($0) }
        return DemoRecording(result: result, lines: lines)
    }

    /// The default run, made once and shared by the tests that only read it.
    static let standard = run()

    /// Whether some line contains `text`.
    func says(_ text: String) -> Bool { lines.contains { $0.contains(text) } }
}

@Suite("netstack demo: the story")
struct DemoStoryTests {
    let demo = DemoRecording.standard

    @Test("every step completes at the default seed")
    func completes() {
        #expect(demo.result.problems.isEmpty, "\(demo.result.problems)")
    }

    @Test("socket() gives descriptor 3 and a CLOSED row in the socket table")
    func descriptor() {
        #expect(demo.result.descriptor == 3)
        #expect(demo.says("fd = socket(AF_INET, SOCK_STREAM)  →  3"))
        #expect(demo.lines.contains { $0.hasPrefix("           tcp        0      0 0.0.0.0:*") && $0.hasSuffix("CLOSED") })
    }

    @Test("the resolver finds the server by DNS over UDP, ARP for the gateway first, and caches the answer")
    func resolves() {
        #expect(demo.result.resolvedAddress == IPv4Address(198, 51, 100, 10))
        #expect(demo.result.secondLookupFromCache)
        // Every layer of the chapter, in order, for the first frame of the run.
        let markers = ["getaddrinfo(\"www.example.test\")", "sendto(34 bytes → 198.51.100.53:53)", "routing table lookup for 198.51.100.53",
                       "ARP cache miss for 192.0.2.1", "ARP request, broadcast", "MAC header:", "a hub reads no address",
                       "FCS recomputed and equal", "raises an interrupt", "driver reads the MAC header", "IP checks on eth0",
                       "TTL decremented to 63", "flooded from port 0", "UDP checksum ok; port 53", "resolver: the answer matches"]
        var position = 0
        for marker in markers {
            guard let index = demo.lines[position...].firstIndex(where: { $0.contains(marker) }) else {
                Issue.record("\"\(marker)\" missing after line \(position)")
                return
            }
            position = index
        }
    }

    @Test("the handshake exchanges sequence numbers, windows and an MSS of 1460 each way")
    func handshake() {
        #expect(demo.result.announcedMSS.browser == 1460)
        #expect(demo.result.announcedMSS.server == 1460)
        #expect(demo.result.segmentSize == 1448)
        #expect(demo.says("SYN → 198.51.100.10:80: the first segment of the three-way handshake"))
        #expect(demo.says("window 32768 bytes"))
        #expect(demo.says("SYN-ACK → 192.0.2.10:"))
        #expect(demo.says("state ESTABLISHED for 192.0.2.10:"))
        #expect(demo.says("state ESTABLISHED for 198.51.100.10:80"))
    }

    @Test("the page arrives whole: the body received hashes like the body served")
    func pageIntact() {
        let result = demo.result
        #expect(result.pageServed.count == 100_000)
        #expect(result.httpStatus == 200)
        #expect(result.pageIntact)
        // An independent SHA-256 (the test support's) agrees with the demo's.
        #expect(SHA256.hex(result.pageServed) == result.pageServedSHA256)
        #expect(SHA256.hex(result.pageReceived) == result.pageReceivedSHA256)
        #expect(result.pageServedSHA256 == result.pageReceivedSHA256)
        #expect(demo.says("— identical ✓"))
    }

    @Test("exactly one frame fails an FCS check, and TCP retransmits the segment it carried")
    func fcsDropAndRetransmission() {
        let result = demo.result
        #expect(result.fcsDrops == 1)
        #expect(result.segmentsLost.count == 1)
        if let lost = result.segmentsLost.first { #expect(result.retransmissions.contains { $0.seq == lost }) }
        #expect(result.retransmissions.count >= 1)
        #expect(result.retransmissions.allSatisfy { $0.fast })
        // The server's own counter agrees.
        #expect(result.serverRetransmissionCount == result.retransmissions.count)
        #expect(result.duplicateAcks >= 3)
        #expect(demo.says("FCS mismatch"))
        #expect(demo.says("retransmission → 192.0.2.10:"))
        #expect(demo.says("fill the hole"))
        // Step 5's heading comes in the middle of the transfer, when the noise strikes.
        let step4 = demo.lines.firstIndex { $0.hasPrefix("== 4.") }, step5 = demo.lines.firstIndex { $0.hasPrefix("== 5.") }
        let noise = demo.lines.firstIndex { $0.contains("noise on the cable hub → browser") }
        #expect(step4 != nil && step5 != nil && noise != nil)
        if let step4, let step5, let noise { #expect(step4 < step5 && step5 < noise) }
    }

    @Test("the browser closes first and sits in TIME_WAIT; the same 4-tuple is refused meanwhile")
    func timeWait() {
        let result = demo.result
        #expect(result.timeWaitOnCloser)
        #expect(result.closerNetstat.contains("TIME_WAIT"))
        #expect(result.closerNetstat.contains("198.51.100.10:80"))
        #expect(result.reuseBindError == .addressInUse)
        #expect(result.reuseConnectError == .addressInUse)
        #expect(demo.says("state TIME_WAIT for 192.0.2.10:"))
        #expect(demo.says("state CLOSED for 198.51.100.10:80"))
    }

    @Test("the UDP datagram lost on a cable is gone: no echo, and nobody sends it again")
    func udpLoss() {
        let result = demo.result
        #expect(result.udpSent == [1, 2, 3, 4, 5])
        #expect(result.udpDropped == 3)
        #expect(result.udpEchoed == [1, 2, 4, 5])
        #expect(result.udpDatagramsSentByStack == 5)
        #expect(demo.says("the cable router → switch lost a 206-byte frame"))
    }

    @Test("the Manchester-coded start of the SYN decodes back to the same bytes")
    func manchester() {
        let result = demo.result
        #expect(result.signalBytes.count == 14)
        #expect(result.signalDecoded == result.signalBytes)
        #expect(Array(result.signalBytes.prefix(8)) == [0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xD5])
        // The SYN goes to the gateway's MAC address.
        #expect(result.signalFrameStart == [0x02, 0x00, 0x00, 0x00, 0x0A, 0x01])
        #expect(Array(result.signalDecoded.dropFirst(8)) == result.signalFrameStart)
        // Re-encoding gives a transition in the middle of every bit cell.
        let levels = ManchesterCode.encode(result.signalBytes)
        #expect(levels.count == 14 * 16)
        #expect(stride(from: 0, to: levels.count, by: 2).allSatisfy { levels[$0] != levels[$0 + 1] })
        #expect(demo.says("the same bytes as the SYN's start in the capture ✓"))
    }

    @Test("the ladder diagram shows the handshake, the lost segment, its retransmission and TIME_WAIT")
    func ladder() throws {
        let diagram = try #require(demo.result.ladder)
        let arrows = diagram.rows.compactMap { row -> LadderArrow? in if case let .arrow(arrow) = row { arrow } else { nil } }
        #expect(arrows.first?.label.hasPrefix("SYN seq=0") == true)
        #expect(arrows.first?.fromLeft == true)
        #expect(arrows.filter(\.lost).count == 1)
        #expect(arrows.contains { $0.label.contains("retransmission") && !$0.fromLeft })
        #expect(arrows.contains { $0.leftNote == "TIME_WAIT" })
        #expect(arrows.contains { $0.rightNote == "CLOSED" })
        // The summarised drawing is printed, far shorter than the full one.
        #expect(demo.says("⋮"))
        #expect(diagram.summarised(keepingFirst: 4, keepingLast: 1).rows.count < arrows.count / 2)
    }

    @Test("the counters at the end name the FCS drops, retransmissions and ARP requests")
    func counters() {
        #expect(demo.says("frames dropped by FCS checks: 1"))
        #expect(demo.says("TCP retransmissions: "))
        #expect(demo.result.arpRequests == 3)
        #expect(demo.says("ARP requests: 3"))
        #expect(demo.result.framesSent.map(\.device) == ["browser", "laptop", "router", "server", "dns", "hub", "switch"])
    }

    @Test("the default narration reads in a few screens; verbose tells far more, quiet far less")
    func verbosity() {
        #expect(demo.lines.count < 400)
        let quiet = DemoRecording.run(verbosity: .quiet)
        let verbose = DemoRecording.run(verbosity: .verbose)
        #expect(quiet.lines.count < demo.lines.count / 2)
        #expect(verbose.lines.count > demo.lines.count * 4)
        #expect(!quiet.lines.contains { $0.contains("  TCP    ") })
        #expect(quiet.lines.contains { $0.contains("— identical ✓") })
        // The run itself does not depend on how much is told.
        #expect(quiet.result.capture == demo.result.capture)
        #expect(verbose.result.capture == demo.result.capture)
    }

    @Test("the tables at the end have the chapter's columns")
    func tables() {
        #expect(demo.lines.contains("Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"))
        #expect(demo.lines.contains("Address                  HWtype  HWaddress           Flags Mask            Iface"))
        #expect(demo.lines.contains("Proto Recv-Q Send-Q Local Address           Foreign Address         State"))
        #expect(demo.lines.contains { $0.hasPrefix("default         192.0.2.1       0.0.0.0         UG    0      0") })
        #expect(demo.lines.contains("192.0.2.1                ether   02:00:00:00:0a:01   C                     eth0"))
        #expect(demo.lines.contains { $0.hasPrefix("tcp        0      0 192.0.2.10:") && $0.hasSuffix("TIME_WAIT") })
    }
}

@Suite("netstack demo: the run as data")
struct DemoRunTests {
    @Test("two runs with the same seed give identical captures and narration; another seed another capture")
    func deterministic() {
        let first = DemoRecording.run(seed: 9, verbosity: .quiet)
        let second = DemoRecording.run(seed: 9, verbosity: .quiet)
        let other = DemoRecording.run(seed: 10, verbosity: .quiet)
        #expect(first.result.capture == second.result.capture)
        #expect(first.lines == second.lines)
        #expect(first.result.capture.count > 100_000)
        #expect(other.result.capture != first.result.capture)
        #expect(other.result.pageIntact)
    }

    @Test("with random loss on every cable the page still arrives whole, and the FCS drop still happens",
          arguments: [(0.02, UInt64(3)), (0.05, UInt64(1))])
    func loss(loss: Double, seed: UInt64) {
        let run = DemoRecording.run(seed: seed, verbosity: .quiet, loss: loss)
        #expect(run.result.pageIntact, "\(run.result.problems)")
        #expect(run.result.fcsDrops == 1)
        #expect(run.result.retransmissions.count >= 1)
        #expect(run.result.udpDatagramsSentByStack == 5)
    }

    @Test("a smaller MSS gives smaller segments, and the page still arrives whole")
    func smallerMSS() {
        let run = DemoRecording.run(verbosity: .quiet, mss: 536)
        #expect(run.result.announcedMSS.browser == 536)
        #expect(run.result.announcedMSS.server == 536)
        #expect(run.result.segmentSize == 524)
        #expect(run.result.pageIntact)
        #expect(run.result.fcsDrops == 1)
        #expect(run.result.problems.isEmpty, "\(run.result.problems)")
    }

    @Test("the browser's capture decodes in tshark with no malformed frame and no bad checksum, and tells the story")
    func captureDecodes() throws {
        let capture = DemoRecording.standard.result.capture
        let records = try PcapReader.parse(capture)
        #expect(records.count > 100)
        let path = try TShark.writeTemporaryPcap(capture, name: "demo.pcap")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let decoded = try TShark.run(["-r", path, "-V"] + Self.checksums)
        #expect(decoded.status == 0)
        #expect(!decoded.output.contains("Malformed"))
        #expect(!decoded.output.contains("[Checksum Status: Bad]"))
        #expect(!decoded.output.contains("Expert Info (Error"))
        let statuses = try TShark.run(["-r", path, "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status"] + Self.checksums)
        #expect(!statuses.output.split(whereSeparator: \.isWhitespace).contains("0"))
        let summary = try TShark.run(["-r", path])
        for text in ["Who has 192.0.2.1? Tell 192.0.2.10", "Standard query", "www.example.test A 198.51.100.10",
                     "[SYN]", "MSS=1460", "GET / HTTP/1.1", "HTTP/1.1 200 OK", "[TCP Previous segment not captured]",
                     "[TCP Dup ACK", "[TCP Fast Retransmission]", "[TCP Window Update]", "[FIN, ACK]"] {
            #expect(summary.output.contains(text), "tshark does not show \(text)")
        }
        // The page tshark reassembles from the capture is the page served.
        let page = try TShark.run(["-r", path, "-Y", "http.response", "-T", "fields", "-e", "http.file_data", "-o", "http.decompress_body:FALSE"])
        #expect(page.output.contains("From data to signals"))
    }

    @Test("the capture of every cable decodes in tshark frame by frame, with every checksum good")
    func networkCaptureDecodes() throws {
        let result = DemoRecording.standard.result
        let records = try PcapReader.parse(result.networkCapture)
        #expect(records.count > 3 * (try PcapReader.parse(result.capture)).count)
        let path = try TShark.writeTemporaryPcap(result.networkCapture, name: "demo-all.pcap")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        // Each segment appears once per cable, so TCP reassembly across copies is turned off.
        let decoded = try TShark.run(["-r", path, "-V", "-o", "tcp.desegment_tcp_streams:FALSE"] + Self.checksums)
        #expect(decoded.status == 0)
        #expect(!decoded.output.contains("Malformed"))
        #expect(!decoded.output.contains("[Checksum Status: Bad]"))
        let summary = try TShark.run(["-r", path])
        #expect(summary.output.contains("Who has 198.51.100.53? Tell 198.51.100.1"))
        // Forwarded by the router: the same datagram with TTL 64 on LAN A and 63 on LAN B.
        let ttls = try TShark.run(["-r", path, "-Y", "dns.flags.response == 0", "-T", "fields", "-e", "ip.ttl"])
        #expect(Set(ttls.output.split(separator: "\n")).isSuperset(of: ["64", "63"]))
    }

    static let checksums = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"]
}
