import Testing
import Foundation
import NetStackWire
import NetStackCore
import NetStackDemo
import NetStackTestSupport

@Suite("netstack demo")
struct DemoTests {
    static func run(seed: UInt64 = 1, verbosity: Verbosity = .normal) -> (DemoResult, [String]) {
        var options = DemoOptions()
        options.seed = seed
        options.verbosity = verbosity
        var lines: [String] = []
        let result = Demo.run(options) { lines.append($0) }
        return (result, lines)
    }

    @Test("the echoed datagram equals the one sent, byte for byte")
    func echoIntact() {
        let (result, _) = Self.run()
        #expect(result.echoedPayload == result.sentPayload)
    }

    @Test("exactly one frame is dropped by an FCS check, and exactly that ping is lost")
    func oneCorruptedFrame() {
        let (result, lines) = Self.run()
        #expect(result.fcsDrops == 1)
        let answered = result.pingResults.compactMap { result -> UInt16? in
            if case let .reply(_, sequence, _, _, _) = result { sequence } else { nil }
        }
        #expect(answered == [1, 3])
        #expect(lines.contains { $0.contains("FCS mismatch") })
        #expect(lines.contains("   3 packets transmitted, 2 received, 33% packet loss"))
    }

    @Test("the narration tells each layer of the chapter in order")
    func narrationOrder() {
        let (_, lines) = Self.run()
        let markers = ["sendto(", "routing table lookup", "ARP cache miss", "ARP request, broadcast", "MAC header:",
                       "a hub reads no address", "FCS recomputed and equal", "raises an interrupt", "driver reads the MAC header",
                       "IP checks on eth0", "TTL decremented to 63", "flooded from port 0", "UDP checksum ok"]
        var position = 0
        for marker in markers {
            guard let index = lines[position...].firstIndex(where: { $0.contains(marker) }) else {
                Issue.record("\"\(marker)\" missing after line \(position)")
                return
            }
            position = index
        }
    }

    @Test("the tables at the end have the chapter's columns")
    func tables() {
        let (_, lines) = Self.run(verbosity: .quiet)
        #expect(lines.contains("Destination     Gateway         Genmask         Flags Metric Ref    Use Iface"))
        #expect(lines.contains("Address                  HWtype  HWaddress           Flags Mask            Iface"))
        #expect(lines.contains { $0.hasPrefix("default         192.0.2.1       0.0.0.0         UG    0      0") })
        #expect(lines.contains("192.0.2.1                ether   02:00:00:00:0a:01   C                     eth0"))
    }

    @Test("two runs with the same seed give identical captures and narration")
    func deterministic() {
        let (first, firstLines) = Self.run(seed: 9)
        let (second, secondLines) = Self.run(seed: 9)
        #expect(first.capture == second.capture)
        #expect(firstLines == secondLines)
        #expect(first.capture.count > 2000)
    }

    @Test("the capture decodes in tshark with no malformed frame and no bad checksum")
    func captureDecodes() throws {
        let (result, _) = Self.run()
        let records = try PcapReader.parse(result.capture)
        #expect(records.count > 30)
        let path = try TShark.writeTemporaryPcap(result.capture, name: "demo.pcap")
        let decoded = try TShark.run(["-r", path, "-V", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        #expect(decoded.status == 0)
        #expect(!decoded.output.contains("Malformed"))
        #expect(!decoded.output.contains("[Checksum Status: Bad]"))
        let summary = try TShark.run(["-r", path])
        #expect(summary.output.contains("Who has 192.0.2.1? Tell 192.0.2.10"))
        #expect(summary.output.contains("Echo (ping) request"))
        #expect(summary.output.contains("Echo (ping) reply"))
    }
}
