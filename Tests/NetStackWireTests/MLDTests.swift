// MLDv2 reports (RFC 3810 §5.2) as Linux sent them when A's and R's interfaces came up:
// joins of the solicited-node groups, from :: before DAD and from the link-local address after.

import NetStackTestSupport
import NetStackWire
import Testing

private let address = GoldenV6.address

/// The report of a captured MLDv2 frame: behind the 8-byte hop-by-hop header.
private func parseReport(_ capture: String, _ number: Int) throws -> MLDv2Report {
    let packet = try GoldenV6.packet(capture, number)
    let ip = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
    let chain = try packet.withUnsafeBytes { try IPv6ExtensionHeaders.walk($0) }
    try #require(chain.upperLayerProtocol == .icmpv6 && chain.routerAlert == 0)
    return try Array(packet[chain.upperLayerOffset...]).withUnsafeBytes {
        try MLDv2Report.parse($0, source: ip.source, destination: ip.destination, hopLimit: ip.hopLimit)
    }
}

private func joins(_ groups: [String]) -> [MLDv2Record] {
    groups.map { MLDv2Record(.changeToExclude, multicastAddress: address($0)) }
}

@Suite("MLDv2 reports from Linux captures")
struct MLDCaptureTests {
    @Test("A joins its solicited-node groups from :: before DAD, then again from its link-local address (ipv6-link-up #2, #8)")
    func hostJoins() throws {
        let early = try parseReport("ipv6-link-up", 2)
        #expect(early.records == joins(["ff02::1:ff00:6a01", "ff02::1:ff00:1"]))
        #expect(early.checksum == 0x036e)
        let later = try parseReport("ipv6-link-up", 8)
        #expect(later.records == early.records)
        #expect(later.checksum == 0x9beb)
    }

    @Test("R joins five groups, all-routers and site-local all-routers among them (ipv6-link-up #1, #10)")
    func routerJoins() throws {
        let expected = joins(["ff02::1:ff00:6afe", "ff02::1:ff00:0", "ff02::1:ff00:fe", "ff05::2", "ff02::2"])
        #expect(try parseReport("ipv6-link-up", 1).records == expected)
        #expect(try parseReport("ipv6-link-up", 10).records == expected)
        #expect(try parseReport("ipv6-link-up", 1).checksum == 0xf922)
    }

    @Test("the groups A joins are the solicited-node groups of its addresses")
    func solicitedNodeGroups() throws {
        let groups = try parseReport("ipv6-link-up", 8).records.map(\.multicastAddress)
        #expect(groups == [address("fe80::ff:fe00:6a01").solicitedNodeMulticast, address("2001:db8:1::1").solicitedNodeMulticast])
    }

    @Test("the router alert hop-by-hop header is written as Linux writes it before a report (ipv6-link-up #8)")
    func routerAlertHeader() throws {
        let packet = try GoldenV6.packet("ipv6-link-up", 8)
        var emitted = [UInt8](repeating: 0xAA, count: IPv6ExtensionHeaders.routerAlertHopByHopLength)
        emitted.withUnsafeMutableBytes { IPv6ExtensionHeaders.emitRouterAlertHopByHop(nextHeader: .icmpv6, into: $0) }
        #expect(emitted == Array(packet[40..<48]))
    }

    @Test("emit rebuilds every captured report byte for byte", arguments: [1, 2, 3, 6, 8, 10, 13, 14])
    func emitMatchesCapture(number: Int) throws {
        let packet = try GoldenV6.packet("ipv6-link-up", number)
        let ip = try packet.withUnsafeBytes { try IPv6Header.parse($0) }
        let report = try parseReport("ipv6-link-up", number)
        let captured = Array(packet[48...])
        #expect(report.encodedLength == captured.count)
        var rebuilt = [UInt8](repeating: 0xAA, count: captured.count)
        rebuilt.withUnsafeMutableBytes { report.emit(into: $0, source: ip.source, destination: ip.destination) }
        #expect(rebuilt == captured)
    }
}

/// A report emitted by NetStack from `source` to ff02::16, altered by `change`, with a fresh checksum.
private func forged(_ report: MLDv2Report, from source: IPv6Address, change: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: report.encodedLength)
    bytes.withUnsafeMutableBytes { report.emit(into: $0, source: source, destination: .allMLDv2Routers) }
    change(&bytes)
    bytes[2] = 0
    bytes[3] = 0
    let words = source.groups + IPv6Address.allMLDv2Routers.groups + [UInt16(bytes.count >> 16), UInt16(bytes.count & 0xFFFF), 0, 58]
    Golden.storeBE16(~Golden.onesComplementSum(bytes, adding: words), in: &bytes, at: 2)
    return bytes
}

private func parse(_ bytes: [UInt8], from source: IPv6Address, hopLimit: UInt8 = 1) throws -> MLDv2Report {
    try bytes.withUnsafeBytes { try MLDv2Report.parse($0, source: source, destination: .allMLDv2Routers, hopLimit: hopLimit) }
}

@Suite("MLDv2 report rules")
struct MLDRuleTests {
    let linkLocal = address("fe80::ff:fe00:6a01")
    let report = MLDv2Report(records: [
        MLDv2Record(.allowNewSources, multicastAddress: address("ff3e::8000:1"),
                    sources: [address("2001:db8::1"), address("2001:db8::2")]),
        MLDv2Record(.changeToInclude, multicastAddress: address("ff02::1:ff00:1")),
    ])

    @Test("records with sources round-trip")
    func sourcesRoundTrip() throws {
        let parsed = try parse(forged(report, from: linkLocal), from: linkLocal)
        #expect(parsed.records == report.records)
        #expect(report.encodedLength == 8 + 52 + 20)
    }

    @Test("hop limit other than 1, and a global source, are refused")
    func hopLimitAndSource() {
        let bytes = forged(report, from: linkLocal)
        #expect(Golden.isBadField(Golden.wireError { _ = try parse(bytes, from: linkLocal, hopLimit: 255) }, .mld))
        let global = address("2001:db8:1::1")
        #expect(Golden.isBadField(Golden.wireError { _ = try parse(forged(report, from: global), from: global) }, .mld))
    }

    @Test("a record count or source count past the message is truncated, before anything is allocated for it")
    func counts() {
        let manyRecords = forged(report, from: linkLocal) { $0[6] = 0xFF; $0[7] = 0xFF }
        #expect(throws: WireError.truncated(.mld, needed: 8 + 20 * 65535, available: 80)) { try parse(manyRecords, from: linkLocal) }
        let manySources = forged(report, from: linkLocal) { $0[11] = 5 }
        #expect(throws: WireError.truncated(.mld, needed: 8 + 20 + 80, available: 80)) { try parse(manySources, from: linkLocal) }
        let auxiliary = forged(report, from: linkLocal) { $0[61] = 1 }
        #expect(throws: WireError.truncated(.mld, needed: 80 + 4, available: 80)) { try parse(auxiliary, from: linkLocal) }
    }

    @Test("auxiliary data is skipped when read")
    func auxiliaryData() throws {
        let bytes = forged(report, from: linkLocal) { $0[61] = 1; $0 += [9, 9, 9, 9] }
        let parsed = try parse(bytes, from: linkLocal)
        #expect(parsed.records[1].auxiliaryDataWords == 1)
        #expect(parsed.records[1].multicastAddress == address("ff02::1:ff00:1"))
    }

    @Test("another ICMPv6 type is not a report")
    func otherType() {
        let query = forged(report, from: linkLocal) { $0[0] = 130 }
        #expect(Golden.isUnsupported(Golden.wireError { _ = try parse(query, from: linkLocal) }, .mld))
    }
}
