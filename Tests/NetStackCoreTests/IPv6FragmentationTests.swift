// Fragmentation at the source (RFC 8200 §4.5): the kernel's own fragments of a 2,048-byte echo
// request as golden bytes, round trips through the reassembler around the size boundaries, and
// the RFC 7739 identification.

import NetStackCore
import NetStackWire
import Testing

/// The fragments of `datagram` for `pathMTU`, each as its own array.
private func fragments(of datagram: [UInt8], pathMTU: Int, id: UInt32) throws -> [[UInt8]] {
    var out: [[UInt8]] = []
    var scratch = [UInt8](repeating: 0, count: pathMTU)
    try datagram.withUnsafeBytes { bytes in
        try scratch.withUnsafeMutableBytes { buffer in
            let count = try IPv6Fragmentation.fragment(bytes, pathMTU: pathMTU, identification: id, scratch: buffer) {
                out.append(Array($0))
            }
            precondition(count == out.count)
        }
    }
    return out
}

/// A datagram from A to B: `extensions` (chained by the caller, the first named `first`, the last
/// naming ICMPv6), then `icmpLength` bytes of an ICMPv6 message with a recognisable pattern.
private func datagram(icmpLength: Int, extensions: [UInt8] = [], first: IPProtocol = .icmpv6) -> [UInt8] {
    let payload = extensions.count + icmpLength
    var bytes = [UInt8](repeating: 0, count: 40 + payload)
    bytes.withUnsafeMutableBytes {
        IPv6Header(source: V6Frag.a, destination: V6Frag.b, nextHeader: first, payloadLength: payload, flowLabel: 0x12345)
            .emit(into: $0)
    }
    bytes.replaceSubrange(40..<(40 + extensions.count), with: extensions)
    for index in 0..<icmpLength { bytes[40 + extensions.count + index] = UInt8(truncatingIfNeeded: index &* 7 &+ index >> 8) }
    bytes[40 + extensions.count] = 128
    return bytes
}

/// Hop-by-hop (PadN), then a routing header (type 4, segments left 0), then destination options:
/// the first two are unfragmentable, the last one fragmentable.
private let chain: [UInt8] = [43, 0, 1, 4, 0, 0, 0, 0, 60, 0, 4, 0, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0]

@Suite("IPv6 fragmentation")
struct IPv6FragmentationTests {
    @Test("the captured 2,048-byte echo request cut for a 1,280-byte path MTU gives the kernel's two fragments byte for byte (ipv6-fragments #1, #2)")
    func matchesKernelFragments() throws {
        let cut = try fragments(of: try V6Frag.capturedDatagram(), pathMTU: 1280, id: V6Frag.capturedID)
        #expect(cut == (try V6Frag.capturedFragments()))
    }

    @Test("round trips through the reassembler; every fragment fits the MTU, offsets are multiples of 8, only the last lacks M",
          arguments: [1280, 1283, 1500], [0, 1, 1231, 1232, 1233, 2464, 2465, 9000, 65_535 - 40 - 24])
    func roundTrip(pathMTU: Int, extra: Int) throws {
        for (extensions, first) in [([UInt8](), IPProtocol.icmpv6), ([58, 0, 1, 4, 0, 0, 0, 0], .ipv6HopByHop), (chain, .ipv6HopByHop)] {
            let icmpLength = min(pathMTU - 40 - extensions.count + extra, 65_535 - extensions.count)
            let original = datagram(icmpLength: icmpLength, extensions: extensions, first: first)
            let cut = try fragments(of: original, pathMTU: pathMTU, id: 0xA1B2_C3D4)
            if original.count <= pathMTU {
                #expect(cut == [original])
                continue
            }
            let unfragmentable = 40 + (extensions.isEmpty ? 0 : extensions == chain ? 16 : 8)
            // What each fragment starts with: the unfragmentable part, its last Next Header naming
            // the fragment header (44), the payload length aside.
            var prefix = Array(original[0..<unfragmentable])
            prefix[extensions.isEmpty ? 6 : extensions == chain ? 48 : 40] = 44
            let chunk = (pathMTU - unfragmentable - 8) & ~7
            #expect(cut.count == (original.count - unfragmentable + chunk - 1) / chunk)
            var expectedOffset = 0
            for (index, fragment) in cut.enumerated() {
                #expect(fragment.count <= pathMTU)
                #expect(Array(fragment[0..<4]) == Array(prefix[0..<4]), "version, class and flow label repeated")
                #expect(Int(fragment[4]) << 8 | Int(fragment[5]) == fragment.count - 40)
                #expect(Array(fragment[6..<unfragmentable]) == Array(prefix[6...]))
                let header = fragment[unfragmentable..<(unfragmentable + 8)].map { $0 }
                let offsetAndFlag = Int(header[2]) << 8 | Int(header[3])
                #expect(offsetAndFlag & 0xFFF8 == expectedOffset)
                #expect(offsetAndFlag & 1 == (index < cut.count - 1 ? 1 : 0))
                #expect(header[0] == (extensions == chain ? 60 : 58))
                #expect(Array(header[4...]) == [0xA1, 0xB2, 0xC3, 0xD4])
                if index < cut.count - 1 { #expect((fragment.count - unfragmentable - 8) % 8 == 0) }
                expectedOffset += fragment.count - unfragmentable - 8
            }
            #expect(expectedOffset == original.count - unfragmentable)
            var reassembler = IPv6Reassembler()
            var outcomes: [IPv6ReassemblyOutcome] = []
            for fragment in cut.reversed() { outcomes.append(reassembler.add(fragment)) }
            #expect(outcomes.last == .complete(length: original.count))
            #expect(outcomes.dropLast().allSatisfy { $0 == .held })
            #expect(reassembler.assembled(length: original.count) == original)
        }
    }

    @Test("a path MTU below 1,280, a short scratch buffer or an unparsable datagram cut nothing")
    func refusals() throws {
        let original = datagram(icmpLength: 3000)
        #expect(throws: IPv6FragmentationError.pathMTUBelowMinimum(1279)) { try fragments(of: original, pathMTU: 1279, id: 1) }
        var sent = 0
        var scratch = [UInt8](repeating: 0, count: 1279)
        #expect(throws: IPv6FragmentationError.scratchTooSmall(needed: 1280)) {
            try original.withUnsafeBytes { bytes in
                try scratch.withUnsafeMutableBytes { buffer in
                    try IPv6Fragmentation.fragment(bytes, pathMTU: 1280, identification: 1, scratch: buffer) { _ in sent += 1 }
                }
            }
        }
        #expect(sent == 0)
        #expect(throws: IPv6FragmentationError.malformed(.truncated(.ipv6, needed: 40, available: 20))) {
            try fragments(of: Array(original[0..<20]), pathMTU: 1280, id: 1)
        }
        // 1,240 bytes of hop-by-hop options leave no room for data under a 1,280 MTU.
        var options = [UInt8](repeating: 0, count: 1240)
        options[0] = 58
        options[1] = UInt8(1240 / 8 - 1)  // the rest Pad1 options
        let heavy = datagram(icmpLength: 100, extensions: options, first: .ipv6HopByHop)
        #expect(throws: IPv6FragmentationError.unfragmentablePartTooLong(1280)) { try fragments(of: heavy, pathMTU: 1280, id: 1) }
    }
}

@Suite("IPv6 fragment identification (RFC 7739)")
struct IPv6FragmentIdentificationTests {
    @Test("each destination advances on its own by steps of 1 to 8; another key gives unrelated values")
    func perDestinationKeyed() {
        var ids = IPv6FragmentIdentification(key: (1, 2))
        var x: [UInt32] = [], y: [UInt32] = []
        for _ in 0..<50 {
            x.append(ids.next(source: V6Frag.a, destination: V6Frag.b))
            y.append(ids.next(source: V6Frag.a, destination: IPv6Address("2001:db8:2::77")!))
        }
        for sequence in [x, y] {
            let steps = zip(sequence, sequence.dropFirst()).map { $1 &- $0 }
            #expect(steps.allSatisfy { (1...8).contains($0) }, "steps \(steps)")
            #expect(Set(steps).count > 1)
        }
        #expect(!zip(x, y).allSatisfy { ($1 &- $0) < 1024 }, "the two destinations do not share a counter")
        var again = IPv6FragmentIdentification(key: (1, 2)), other = IPv6FragmentIdentification(key: (3, 4))
        #expect(again.next(source: V6Frag.a, destination: V6Frag.b) == x[0])
        #expect(other.next(source: V6Frag.a, destination: V6Frag.b) &- x[0] > 1024)
    }
}
