import Testing
import Foundation
import NetStackWire
import NetStackDemo
import NetStackTestSupport

/// A page made by a demo run, with its capture, and the page's parts a test reads.
struct PageRun: Sendable {
    var result: DemoResult
    var text: String

    static func make(seed: UInt64 = 1, language: DemoLanguage = .english) -> PageRun {
        var options = DemoOptions()
        options.seed = seed
        options.language = language
        options.html = true
        let result = Demo.run(options) { _ in }
        return PageRun(result: result, text: String(decoding: result.html, as: UTF8.self))
    }

    static let standard = make()

    /// The text between the first `open` after `start` and the next `close`.
    func between(_ open: String, _ close: String) -> String? {
        guard let start = text.range(of: open), let end = text.range(of: close, range: start.upperBound..<text.endIndex) else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// The data block, parsed by Foundation's JSON parser.
    func data() throws -> [String: Any] {
        let json = try #require(between(#"<script type="application/json" id="demo-data">"#, "</script>"))
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    /// The frame list's rows.
    func frames() throws -> [[String: Any]] {
        try #require(try data()["frames"] as? [[String: Any]])
    }
}

@Suite("netstack demo --html: the page")
struct DemoHTMLTests {
    let page = PageRun.standard

    @Test("the page loads nothing: no URL in any src or href, no <link>, no CSS url() or @import")
    func selfContained() throws {
        let text = page.text
        #expect(text.hasPrefix("<!DOCTYPE html>"))
        let attribute = try Regex(#"(?i)(src|href|action|xlink:href)\s*=\s*["']?\s*(https?:|//|ftp:|data:)"#)
        #expect(text.firstMatch(of: attribute) == nil)
        for forbidden in ["<link", "<iframe", "<img", "@import", "url(", "fetch(", "XMLHttpRequest", "WebSocket", "eval("] {
            #expect(!text.contains(forbidden), "the page contains \(forbidden)")
        }
    }

    @Test("the Content-Security-Policy allows nothing but the inline script and style, by their SHA-256")
    func contentSecurityPolicy() throws {
        let policy = try #require(page.between(#"<meta http-equiv="Content-Security-Policy" content=""#, "\""))
        #expect(policy.contains("default-src 'none'"))
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
        let script = try #require(page.between("<script>", "</script>"))
        let style = try #require(page.between("<style>", "</style>"))
        #expect(policy.contains("script-src 'sha256-\(Self.base64SHA256(script))'"))
        #expect(policy.contains("style-src 'sha256-\(Self.base64SHA256(style))'"))
        // Exactly one executable script and one style element; the other script is a JSON data block.
        #expect(page.text.components(separatedBy: "<script").count == 3)
        #expect(page.text.components(separatedBy: "<style").count == 2)
        #expect(!page.text.contains(" style=\""), "a style attribute would need 'unsafe-inline'")
        #expect(!page.text.contains(" onclick="), "an event-handler attribute would need 'unsafe-inline'")
    }

    @Test("the page is under 2 MB, also with the smallest MSS (the most frames) and in Korean")
    func size() throws {
        #expect(page.result.html.count < 2_000_000)
        #expect(page.result.html.count > 100_000)
        var options = DemoOptions()
        options.mss = DemoOptions.mssRange.lowerBound
        options.language = .korean
        options.html = true
        let small = Demo.run(options) { _ in }
        #expect(small.html.count < 2_000_000)
        #expect(try PcapReader.parse(small.capture).count > (try PcapReader.parse(page.result.capture).count))
    }

    @Test("the same seed gives the same page, byte for byte; another seed another page")
    func deterministic() {
        #expect(PageRun.make().result.html == page.result.html)
        #expect(PageRun.make(seed: 2).result.html != page.result.html)
    }

    @Test("the frame list is the --pcap capture, frame by frame: count, bytes and time")
    func framesAreTheCapture() throws {
        let records = try PcapReader.parse(page.result.capture)
        let frames = try page.frames()
        #expect(frames.count == records.count)
        #expect(records.count > 100)
        for (frame, record) in zip(frames, records) {
            #expect(frame["hex"] as? String == record.data.map { String(format: "%02x", $0) }.joined())
            #expect((frame["t"] as? NSNumber)?.int64Value == record.nanoseconds)
        }
    }

    @Test("the page's protocol column is tshark's, frame by frame", .enabled(if: TShark.isAvailable))
    func protocolsAsTshark() throws {
        let path = try TShark.writeTemporaryPcap(page.result.capture, name: "page.pcap")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let decoded = try TShark.run(["-r", path, "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol"])
        #expect(decoded.status == 0)
        let columns = decoded.output.split(separator: "\n").map { $0.split(separator: "\t").last.map(String.init) ?? "" }
        let frames = try page.frames()
        #expect(columns.count == frames.count)
        for (index, (frame, column)) in zip(frames, columns).enumerated() {
            #expect(frame["proto"] as? String == column, "frame \(index + 1)")
        }
        #expect(Set(columns).isSuperset(of: ["ARP", "DNS", "TCP", "HTTP"]))
    }

    @Test("each field's bytes are where tshark puts them, in the SYN and in a DNS response", .enabled(if: TShark.isAvailable))
    func fieldOffsetsAsTshark() throws {
        let frames = try page.frames()
        let syn = try #require(frames.firstIndex { ($0["info"] as? String)?.contains("[SYN]") == true })
        let dns = try #require(frames.firstIndex { ($0["info"] as? String)?.hasPrefix("Standard query response") == true })
        let path = try TShark.writeTemporaryPcap(page.result.capture, name: "page.pcap")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let checks: [(frame: Int, prefix: String, tshark: String)] = [
            (syn, "Source port", "tcp.srcport"), (syn, "Destination port", "tcp.dstport"), (syn, "Sequence number", "tcp.seq_raw"),
            (syn, "Window", "tcp.window_size_value"), (syn, "Checksum", "tcp.checksum"), (syn, "Maximum segment size", "tcp.option_kind"),
            (syn, "Time to live", "ip.ttl"), (syn, "Source address", "ip.src"), (syn, "Destination", "eth.dst"),
            (dns, "Transaction ID", "dns.id"), (dns, "Questions", "dns.count.queries"), (dns, "Query", "dns.qry.name"),
        ]
        for check in checks {
            let pdml = try TShark.run(["-r", path, "-Y", "frame.number == \(check.frame + 1)", "-T", "pdml"])
            let fieldPattern = try Regex(#"<field name="\#(NSRegularExpression.escapedPattern(for: check.tshark))"[^>]* size="(\d+)" pos="(\d+)""#)
            let match = try #require(pdml.output.firstMatch(of: fieldPattern), "tshark shows no \(check.tshark)")
            let tsharkPosition = Int(match.output[2].substring ?? "") ?? -1
            let field = try #require(Self.field(startingWith: check.prefix, in: frames[check.frame]["tree"]))
            // tshark's dns.qry.name starts where the name starts; the page's query covers name, type and class.
            #expect(field.offset == tsharkPosition, "\(check.prefix) at \(field.offset), tshark: \(check.tshark) at \(tsharkPosition)")
            if check.tshark != "tcp.option_kind" && check.tshark != "dns.qry.name" {
                #expect(field.length == Int(match.output[1].substring ?? ""), "\(check.prefix)")
            }
        }
    }

    @Test("the ladder marks the lost segment and its retransmission, and every other arrow opens its frame")
    func ladderMarksLossAndRetransmission() throws {
        let ladder = try #require(try page.data()["ladder"] as? [[String: Any]])
        let lost = ladder.filter { $0["lost"] as? Bool == true }
        let retransmitted = ladder.filter { $0["retrans"] as? Bool == true }
        #expect(lost.count == 1)
        #expect(retransmitted.count == page.result.retransmissions.count)
        #expect(lost.first?["frame"] is NSNull)
        let lostLabel = try #require(lost.first?["label"] as? String)
        #expect(retransmitted.contains { $0["label"] as? String == lostLabel })
        let frameCount = try page.frames().count
        for arrow in ladder where arrow["lost"] as? Bool == false {
            let frame = try #require(arrow["frame"] as? Int)
            #expect((0..<frameCount).contains(frame))
        }
    }

    @Test("the journey crosses every cable, and its hops on the browser's cable are the captured frames")
    func journeyCrossesEveryCable() throws {
        let hops = try #require(try page.data()["hops"] as? [[String: Any]])
        #expect(Set(hops.compactMap { $0["cable"] as? String }) == ["client-hub", "laptop-hub", "router-hub", "router-switch", "server-switch", "dns-switch"])
        let shown = hops.compactMap { $0["frame"] as? Int }
        #expect(shown == Array(0..<(try page.frames().count)))
        for hop in hops {
            #expect(page.text.contains(#"id="cable-\#(hop["cable"] as? String ?? "?")""#))
        }
    }

    @Test("a Korean run's page is in Korean: its narration, its steps and its buttons")
    func korean() throws {
        let korean = PageRun.make(language: .korean)
        #expect(korean.text.contains(#"<html lang="ko">"#))
        let data = try korean.data()
        let ui = try #require(data["ui"] as? [String: String])
        #expect(ui["next"] == "다음 ▶")
        let steps = try #require(data["steps"] as? [[String: Any]])
        #expect(steps.contains { ($0["title"] as? String)?.contains("핸드셰이크") == true })
    }

    /// The first field, depth first, whose text starts with `prefix`: its offset and length.
    private static func field(startingWith prefix: String, in tree: Any?) -> (offset: Int, length: Int)? {
        guard let nodes = tree as? [[Any]] else { return nil }
        for node in nodes {
            guard node.count == 4, let text = node[0] as? String, let offset = node[1] as? Int, let length = node[2] as? Int else { continue }
            if text.hasPrefix(prefix) { return (offset, length) }
            if let found = field(startingWith: prefix, in: node[3]) { return found }
        }
        return nil
    }

    private static func base64SHA256(_ text: String) -> String {
        var hash = SHA256()
        hash.update(Array(text.utf8))
        return Data(hash.finalize()).base64EncodedString()
    }
}
