// Segmentation offload for IPv6 (TSO6): TCP over IPv6 joins consecutive full segments into
// super-segments of up to 64 KiB as it does over IPv4, and an adapter with offload takes IPv6
// super-segments in. The device's side is `kernelCut6`, written from Linux's tcp_gso_segment and
// ipv6_gso_segment: every cut repeats the IPv6 and TCP headers (flow label, hop limit and
// addresses as they were), with the payload length set, the sequence number advanced by
// gso_size per cut, PSH and FIN on the last cut only, CWR on the first, and the TCP checksum
// computed in full over the IPv6 pseudo-header (RFC 8200 §8.1). IPv6 has no header checksum
// and no identification to number.

@testable import NetStackCore
import NetStackWire
import Testing

/// Cuts an IPv6/TCP super-segment (`packet`, a bare IPv6 packet, TCP right after the fixed header,
/// its TCP checksum partial) into packets of at most `segmentSize` payload bytes, as Linux's GSO
/// does. Byte by byte, with the harness's naive checksum: an oracle independent of NetStack's code.
func kernelCut6(_ packet: [UInt8], segmentSize: Int) -> [[UInt8]] {
    let tcpLength = Int(packet[40 + 12] >> 4) * 4
    let headers = 40 + tcpLength
    let payload = Array(packet[headers...])
    let sequence = UInt32(packet[44]) << 24 | UInt32(packet[45]) << 16 | UInt32(packet[46]) << 8 | UInt32(packet[47])
    let flags = packet[40 + 13]
    var cuts: [[UInt8]] = []
    var offset = 0
    while offset < payload.count {
        let length = min(segmentSize, payload.count - offset)
        let last = offset + length == payload.count
        var cut = Array(packet[0..<headers]) + payload[offset..<(offset + length)]
        let tcpBytes = tcpLength + length
        cut[4] = UInt8(tcpBytes >> 8); cut[5] = UInt8(tcpBytes & 0xFF)
        let seq = sequence &+ UInt32(offset)
        for i in 0..<4 { cut[44 + i] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(i))) }
        var cutFlags = last ? flags : flags & ~(TCPFlags.psh.rawValue | TCPFlags.fin.rawValue)
        if !cuts.isEmpty { cutFlags &= ~TCPFlags.cwr.rawValue }
        cut[40 + 13] = cutFlags
        cut[40 + 16] = 0; cut[40 + 17] = 0
        let pseudo = Array(cut[8..<40]) + [0, 0, UInt8(tcpBytes >> 8), UInt8(tcpBytes & 0xFF), 0, 0, 0, 6]
        let tcpSum = naiveChecksum((pseudo + cut[40...])[...])
        cut[40 + 16] = UInt8(tcpSum >> 8); cut[40 + 17] = UInt8(tcpSum & 0xFF)
        cuts.append(cut)
        offset += length
    }
    return cuts
}

@Suite("Segmentation offload over IPv6 (TSO6)")
struct SegmentationOffload6Tests {
    @Test("with offload TCP over IPv6 sends super-segments whose kernel cuts are the segments it sends without")
    func cutsMatchPlainSegments() throws {
        let data = pattern(2 << 20)
        // The whole transfer fits the send buffer: one write, so no write leaves a partial
        // segment mid-stream for Nagle (Minshall's form) to send early on one side only.
        let plain = OffloadPair(aOffload: false, bOffload: false, ipv6: true)
        #expect(try plain.transfer(data, sendBuffer: 4 << 20) == data)
        let offload = OffloadPair(aOffload: true, bOffload: false, ipv6: true)
        #expect(try offload.transfer(data, sendBuffer: 4 << 20) == data)

        let supers = offload.sentByA.filter { $0.segmentSize > 0 }
        #expect(supers.count > 10, "super-segments sent: \(supers.count)")
        #expect(supers.allSatisfy { $0.packet[0] >> 4 == 6 && $0.packet[6] == 6 }, "IPv6, TCP right after the fixed header")
        // 1,500 − 40 (IPv6) − 20 (TCP) − 12 (timestamps): the MSS of every cut.
        #expect(supers.allSatisfy { $0.packet.count <= 65_535 && $0.segmentSize == 1428 })
        #expect(supers.contains { $0.packet.count > 60_000 }, "the longest: \(supers.map(\.packet.count).max() ?? 0)")
        #expect(plain.sentByA.allSatisfy { $0.segmentSize == 0 && $0.packet.count <= 1500 })
        // The receiver saw the same cuts, field for field, and checked every checksum.
        expectSameCuts(offload.receivedByB, plain.receivedByB)
        #expect(offload.b.statistics.tcpInErrors == 0)
        #expect(offload.a.statistics.tcpOutSuperSegments == supers.count)
        #expect(offload.a.statistics.tcpOutSegments == plain.a.statistics.tcpOutSegments)
        #expect(offload.a.statistics.fragmentsCreated == 0, "a super-segment is cut by the device, never fragmented")
    }

    @Test("an IPv6 super-segment carries one partial checksum: the IPv6 pseudo-header sum over its whole length")
    func partialChecksum() throws {
        let pair = OffloadPair(aOffload: true, bOffload: false, ipv6: true)
        _ = try pair.transfer(pattern(256 << 10))
        let first = try #require(pair.sentByA.first { $0.segmentSize > 0 }?.packet)
        let tcpLength = first.count - 40
        #expect(Int(first[4]) << 8 | Int(first[5]) == tcpLength, "the payload length covers the whole super-segment")
        // RFC 8200 §8.1: source, destination, 32-bit upper-layer length, three zero bytes, next header.
        let pseudo = Array(first[8..<40]) + [0, 0, UInt8(tcpLength >> 8), UInt8(tcpLength & 0xFF), 0, 0, 0, 6]
        let expected = ~naiveChecksum(pseudo[...])
        #expect(UInt16(first[56]) << 8 | UInt16(first[57]) == expected)
    }

    @Test("a receiver with offload takes IPv6 super-segments whole and reads the same bytes")
    func receiverTakesSuperSegments() throws {
        let data = pattern(1 << 20)
        let pair = OffloadPair(aOffload: true, bOffload: true, ipv6: true)
        #expect(try pair.transfer(data) == data)
        #expect(pair.receivedByB.contains { $0.count > 1500 })
        #expect(pair.b.adapters[0].counters.rxErrors == 0)
        #expect(pair.b.statistics.tcpInErrors == 0)
    }

    @Test("without offload an IPv6 super-segment is a giant: dropped and counted; with it, accepted")
    func giantWithoutOffload() throws {
        let sender = OffloadPair(aOffload: true, bOffload: true, ipv6: true)
        _ = try sender.transfer(pattern(256 << 10))
        let superSegment = try #require(sender.sentByA.first { $0.segmentSize > 0 }?.packet)
        let plain = OffloadPair.host("c", last: 2, offload: false, ipv6: true)
        #expect(plain.receive(superSegment, on: InterfaceID(0), now: .zero) == .oversized)
        let withOffload = OffloadPair.host("d", last: 2, offload: true, ipv6: true)
        let verdict = superSegment.withUnsafeBytes { withOffload.receive($0, on: InterfaceID(0), now: .zero, checksumTrusted: true) }
        #expect(verdict == .accepted)
    }
}
