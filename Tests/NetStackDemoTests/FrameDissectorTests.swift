import Testing
import Foundation
import NetStackWire
@testable import NetStackDemo
import NetStackTestSupport

/// The page's dissector on real Linux traffic (Tests/Fixtures/captures), with tshark as the oracle.
@Suite("The page's frame dissector on real Linux captures")
struct FrameDissectorTests {
    /// Captures whose every frame the dissector should name as tshark does
    /// (ip-fragments is left out: tshark names a datagram only once reassembled).
    static let captures = ["arp-icmp-echo", "icmp-routed-ttl-exceeded", "icmp-port-unreachable", "icmp-frag-needed",
                           "udp-echo", "tcp-http-session", "tcp-rst-closed-port", "dns-query",
                           "ipv6-ndp-echo", "ipv6-link-up", "dns-aaaa"]

    @Test("the protocol column is tshark's, frame by frame", .enabled(if: TShark.isAvailable), arguments: captures)
    func protocolColumn(capture: String) throws {
        var dissector = FrameDissector()
        let frames = try Fixtures.captureFrames(capture)
        let decoded = try TShark.run(["-r", Fixtures.capturesDirectory + "/\(capture).pcap", "-T", "fields", "-e", "_ws.col.Protocol"])
        let columns = decoded.output.split(separator: "\n").map(String.init)
        #expect(columns.count == frames.count)
        for (index, (frame, column)) in zip(frames, columns).enumerated() {
            #expect(dissector.dissect(frame).protocolName == column, "\(capture) frame \(index + 1)")
        }
    }

    @Test("every field lies inside its frame and inside its parent field", arguments: captures)
    func fieldsNest(capture: String) throws {
        var dissector = FrameDissector()
        for (index, frame) in try Fixtures.captureFrames(capture).enumerated() {
            let tree = dissector.dissect(frame).tree
            #expect(!tree.isEmpty)
            func check(_ fields: [DissectedField], within range: Range<Int>) {
                for field in fields {
                    #expect(field.length >= 0 && range.contains(field.offset) && field.offset + field.length <= range.upperBound,
                            "\(capture) frame \(index + 1): \(field.text) at \(field.offset)+\(field.length) outside \(range)")
                    check(field.children, within: field.offset..<(field.offset + max(field.length, 1)))
                }
            }
            check(tree, within: 0..<frame.count)
        }
    }

    @Test("neighbour solicitations and advertisements get tshark's Info column", .enabled(if: TShark.isAvailable),
          arguments: ["ipv6-ndp-echo", "ipv6-link-up"])
    func neighbourDiscoveryInfo(capture: String) throws {
        var dissector = FrameDissector()
        let frames = try Fixtures.captureFrames(capture)
        let decoded = try TShark.run(["-r", Fixtures.capturesDirectory + "/\(capture).pcap", "-T", "fields", "-e", "_ws.col.Info"])
        let columns = decoded.output.split(separator: "\n").map(String.init)
        #expect(columns.count == frames.count)
        var checked = 0
        for (index, (frame, column)) in zip(frames, columns).enumerated() where column.hasPrefix("Neighbor ") {
            #expect(dissector.dissect(frame).info == column, "\(capture) frame \(index + 1)")
            checked += 1
        }
        #expect(checked >= 2)
    }

    @Test("the SYN's options are each where they are: MSS, SACK permitted, timestamps, NOP, window scale")
    func synOptions() throws {
        var dissector = FrameDissector()
        let syn = try Fixtures.captureFrames("tcp-http-session")[0]
        let tcp = try #require(dissector.dissect(syn).tree.first { $0.text.hasPrefix("Transmission Control Protocol") })
        let options = try #require(tcp.children.first { $0.text.hasPrefix("Options") })
        // Linux's SYN options: MSS, SACK permitted, timestamps, NOP, window scale (RFC 9293, 2018, 7323).
        #expect(options.children.map(\.length) == [4, 2, 10, 1, 3])
        #expect(options.children.first?.offset == 54)
        #expect(options.children[0].text.hasPrefix("Maximum segment size: "))
        #expect(options.children[2].text.hasPrefix("Timestamps: TSval "))
    }
}
