// IPv6 reassembly (RFC 8200 §4.5) with the hardened rules: RFC 5722 overlaps, RFC 6946 atomic
// fragments, RFC 7112 header chains, the 65,535-byte limit, timeouts and memory bounds. The
// golden input is the kernel's two fragments of a 2,048-byte echo request (ipv6-fragments.pcap).

import NetStackCore
import NetStackWire
import Testing

@Suite("IPv6 reassembly")
struct IPv6ReassemblyTests {
    @Test("the kernel's two fragments, in either order, make the datagram they were cut from; its ICMPv6 checksum verifies",
          arguments: [[0, 1], [1, 0]])
    func reassemblesCapture(order: [Int]) throws {
        let fragments = try V6Frag.capturedFragments()
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[order[0]]) == .held)
        #expect(reassembler.add(fragments[order[1]]) == .complete(length: 2048))
        let datagram = reassembler.assembled(length: 2048)
        #expect(datagram == (try V6Frag.capturedDatagram()))
        #expect(V6Frag.icmpv6ChecksumVerifies(datagram))
        #expect(datagram[40] == 128)  // echo request
        #expect(reassembler.inProgress == 0)
        #expect(reassembler.bytesHeld == 0)
        #expect(reassembler.nextDeadline() == nil)
    }

    @Test("an exact duplicate is dropped and the datagram kept (RFC 8200 §4.5)")
    func exactDuplicateKeepsDatagram() throws {
        let fragments = try V6Frag.capturedFragments()
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[0]) == .held)
        let held = reassembler.bytesHeld
        #expect(reassembler.add(fragments[0]) == .dropped(.duplicate))
        #expect(reassembler.bytesHeld == held)
        #expect(reassembler.add(fragments[1]) == .complete(length: 2048))
        #expect(reassembler.assembled(length: 2048) == (try V6Frag.capturedDatagram()))
    }

    @Test("the same range with other bytes is an overlap: the datagram goes, its later fragments are dropped until its timeout")
    func sameRangeOtherBytesDiscards() throws {
        let fragments = try V6Frag.capturedFragments()
        var altered = fragments[0]
        altered[100] ^= 0xFF
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[0]) == .held)
        #expect(reassembler.add(altered) == .dropped(.overlap))
        #expect(reassembler.add(fragments[1], at: .seconds(1)) == .dropped(.discardedDatagram))
        #expect(reassembler.add(fragments[0], at: .seconds(2)) == .dropped(.discardedDatagram))
        #expect(reassembler.bytesHeld == IPv6Reassembler.datagramOverhead)
        var quoted = 0
        #expect(reassembler.expire(now: .seconds(60)) { _ in quoted += 1 } == 0)
        #expect(quoted == 0, "a discarded datagram times out silently")
        // After the timeout the key is free again.
        #expect(reassembler.add(fragments[1], at: .seconds(61)) == .held)
        #expect(reassembler.add(fragments[0], at: .seconds(61)) == .complete(length: 2048))
    }

    @Test("a fragment overlapping part of one held discards the datagram (RFC 5722)", arguments: [1224, 8])
    func partialOverlapDiscards(offset: Int) throws {
        let fragments = try V6Frag.capturedFragments()
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[0]) == .held)
        let overlapping = V6Frag.fragment(id: V6Frag.capturedID, offset: offset, more: true,
                                          data: [UInt8](repeating: 0x41, count: 16))
        try #require(overlapping[8..<40] == fragments[0][8..<40], "the capture's source and destination")
        #expect(reassembler.add(overlapping) == .dropped(.overlap))
        #expect(reassembler.add(fragments[1]) == .dropped(.discardedDatagram))
    }

    @Test("a fragment whose data is not a multiple of 8 with M set asks for parameter problem code 0 at the payload length")
    func unalignedFragment() throws {
        var reassembler = IPv6Reassembler()
        let odd = V6Frag.fragment(offset: 0, more: true, data: [UInt8](repeating: 0, count: 1228))
        #expect(reassembler.add(odd) == .parameterProblem(code: .erroneousHeaderField, pointer: 4))
        // A last fragment may have any length.
        let last = V6Frag.fragment(offset: 1232, more: false, data: [UInt8](repeating: 0, count: 13))
        #expect(reassembler.add(last) == .held)
        #expect(reassembler.inProgress == 1)
    }

    @Test("a fragment that would make the datagram longer than 65,535 bytes asks for parameter problem code 0 at the fragment offset")
    func overflowingFragment() {
        var reassembler = IPv6Reassembler()
        let far = V6Frag.fragment(offset: 65_528, more: false, data: [UInt8](repeating: 0, count: 16))
        #expect(reassembler.add(far) == .parameterProblem(code: .erroneousHeaderField, pointer: 42))
        // With a destination options header before the fragment header the pointer follows it,
        // and those 8 bytes count toward the 65,535.
        let options: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let behind = V6Frag.fragment(offset: 65_520, more: false, data: [UInt8](repeating: 0, count: 8),
                                     extensions: options, first: .ipv6DestinationOptions)
        #expect(reassembler.add(behind) == .parameterProblem(code: .erroneousHeaderField, pointer: 50))
        let fits = V6Frag.fragment(offset: 65_520, more: false, data: [UInt8](repeating: 0, count: 15))
        #expect(reassembler.add(fits) == .held)
        #expect(reassembler.inProgress == 1)
    }

    @Test("a first fragment without the whole header chain asks for parameter problem code 3 (RFC 7112)")
    func incompleteHeaderChain() {
        var reassembler = IPv6Reassembler()
        // TCP needs 20 bytes of header; 16 are there.
        let tcp = V6Frag.fragment(offset: 0, more: true, nextHeader: .tcp, data: [UInt8](repeating: 0, count: 16))
        #expect(reassembler.add(tcp) == .parameterProblem(code: .incompleteHeaderChain, pointer: 0))
        // A destination options header of 16 bytes, only 8 of them in the fragment.
        let options = V6Frag.fragment(offset: 0, more: true, nextHeader: .ipv6DestinationOptions,
                                      data: [17, 1, 1, 12, 0, 0, 0, 0])
        #expect(reassembler.add(options) == .parameterProblem(code: .incompleteHeaderChain, pointer: 0))
        // The ICMPv6 header whole (8 bytes) is enough.
        let icmp = V6Frag.fragment(offset: 0, more: true, data: [128, 0, 0, 0, 0, 1, 0, 1])
        #expect(reassembler.add(icmp) == .held)
        // A later fragment is not checked: its data is not headers.
        let later = V6Frag.fragment(id: 2, offset: 8, more: true, nextHeader: .tcp, data: [UInt8](repeating: 0, count: 8))
        #expect(reassembler.add(later) == .held)
    }

    @Test("an atomic fragment is handed back at once and leaves a queue with the same identification alone (RFC 6946)")
    func atomicFragment() throws {
        let fragments = try V6Frag.capturedFragments()
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[0]) == .held)
        let held = reassembler.bytesHeld
        let atomic = V6Frag.fragment(id: V6Frag.capturedID, offset: 0, more: false, data: [129, 0, 0, 0, 0, 1, 0, 1])
        #expect(reassembler.add(atomic) == .atomic(fragmentHeaderOffset: 40))
        #expect(reassembler.bytesHeld == held)
        #expect(reassembler.add(fragments[1]) == .complete(length: 2048))
        // Behind a hop-by-hop header the offset says where the fragment header is.
        let hopByHop: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let behind = V6Frag.fragment(offset: 0, more: false, data: [129, 0, 0, 0, 0, 1, 0, 1],
                                     extensions: hopByHop, first: .ipv6HopByHop)
        #expect(reassembler.add(behind) == .atomic(fragmentHeaderOffset: 48))
    }

    @Test("the fragmentable part starts after the first fragment's headers; the Next Header that named the fragment header names ICMPv6")
    func unfragmentablePartFromFirstFragment() {
        var reassembler = IPv6Reassembler()
        let hopByHop: [UInt8] = [44, 0, 1, 4, 0, 0, 0, 0]
        let body = (0..<24).map { UInt8($0) }
        let first = V6Frag.fragment(id: 9, offset: 0, more: true, data: Array(body[0..<16]), extensions: hopByHop,
                                    first: .ipv6HopByHop)
        // The second fragment comes without the hop-by-hop header: the first one's is kept.
        let second = V6Frag.fragment(id: 9, offset: 16, more: false, data: Array(body[16...]))
        #expect(reassembler.add(second) == .held)
        #expect(reassembler.add(first) == .complete(length: 40 + 8 + 24))
        let datagram = reassembler.assembled(length: 72)
        #expect(datagram[4...7] == [0, 32, 0, 64])  // payload length 32, next header hop-by-hop, hop limit 64
        #expect(Array(datagram[40..<48]) == [58, 0, 1, 4, 0, 0, 0, 0])
        #expect(Array(datagram[48...]) == body)
    }

    @Test("a second last fragment with another end, or data past the known end, discards the datagram")
    func inconsistentEnds() {
        var reassembler = IPv6Reassembler()
        let data = [UInt8](repeating: 7, count: 16)
        #expect(reassembler.add(V6Frag.fragment(id: 3, offset: 16, more: false, data: data)) == .held)
        #expect(reassembler.add(V6Frag.fragment(id: 3, offset: 48, more: false, data: data)) == .dropped(.inconsistent))
        #expect(reassembler.inProgress == 0)
        #expect(reassembler.add(V6Frag.fragment(id: 4, offset: 16, more: false, data: data)) == .held)
        #expect(reassembler.add(V6Frag.fragment(id: 4, offset: 32, more: true, data: data)) == .dropped(.inconsistent))
        #expect(reassembler.bytesHeld == 0)
    }

    @Test("a datagram whose first fragment came times out after 60 s with its first fragment to quote in a time exceeded; one without it, silently")
    func timeout() throws {
        let fragments = try V6Frag.capturedFragments()
        var reassembler = IPv6Reassembler()
        #expect(reassembler.add(fragments[0], at: .seconds(5)) == .held)
        #expect(reassembler.add(V6Frag.fragment(id: 77, offset: 8, more: false, data: [1, 2, 3]), at: .seconds(6)) == .held)
        #expect(reassembler.nextDeadline() == .seconds(65))
        var quoted: [[UInt8]] = []
        #expect(reassembler.expire(now: .seconds(64.9)) { quoted.append(Array($0)) } == 0)
        #expect(reassembler.expire(now: .seconds(65)) { quoted.append(Array($0)) } == 1)
        #expect(quoted == [fragments[0]])
        #expect(reassembler.nextDeadline() == .seconds(66))
        #expect(reassembler.expire(now: .seconds(66)) { quoted.append(Array($0)) } == 1)
        #expect(quoted.count == 1)
        #expect(reassembler.bytesHeld == 0)
        #expect(reassembler.nextDeadline() == nil)
    }

    @Test("a flood of 100,000 fragment identifications from 1,000 sources holds at most the total bound and a real datagram still completes")
    func floodFromManySources() throws {
        var reassembler = IPv6Reassembler()
        let limit = reassembler.config.maxBytesTotal
        var highest = 0, notHeld = 0
        let data = [UInt8](repeating: 0x5A, count: 64)
        for index in 0..<100_000 {
            let source = IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(index % 1000), low: 1)
            let outcome = reassembler.add(V6Frag.fragment(from: source, id: UInt32(index), offset: 8, more: true, data: data),
                                          at: .milliseconds(Int64(index / 10)))
            if outcome != .held { notHeld += 1 }
            highest = max(highest, reassembler.bytesHeld)
        }
        #expect(notHeld == 0, "each newcomer evicts the oldest, never refused")
        #expect(highest <= limit)
        #expect(reassembler.bytesHeld > limit - 1024, "the table fills to the bound")
        #expect(reassembler.evictions > 80_000)
        let fragments = try V6Frag.capturedFragments()
        #expect(reassembler.add(fragments[0], at: .seconds(10)) == .held)
        #expect(reassembler.add(fragments[1], at: .seconds(10)) == .complete(length: 2048))
        #expect(reassembler.bytesHeld <= limit)
    }

    @Test("one /64 flooding from many addresses is held to the per-source bound, leaving others' datagrams alone")
    func floodFromOnePrefix() throws {
        var reassembler = IPv6Reassembler()
        let fragments = try V6Frag.capturedFragments()
        #expect(reassembler.add(fragments[0]) == .held)
        let data = [UInt8](repeating: 0x5A, count: 256)
        for index in 0..<20_000 {
            let source = IPv6Address(high: 0x2001_0db8_0000_6666, low: UInt64(index))
            _ = reassembler.add(V6Frag.fragment(from: source, id: UInt32(index), offset: 8, more: true, data: data))
        }
        let held = reassembler.bytesHeld
        #expect(held <= reassembler.config.maxBytesPerSource + 1280 + 64 + 192)
        #expect(held > reassembler.config.maxBytesPerSource - 1024)
        #expect(reassembler.add(fragments[1]) == .complete(length: 2048), "A's datagram survived the flood")
    }

    @Test("packets without a fragment header where the chain leads are refused, not held")
    func notAFragment() {
        var reassembler = IPv6Reassembler()
        var plain = V6Frag.fragment(offset: 0, more: true, data: [UInt8](repeating: 0, count: 8))
        plain[6] = 58  // the IPv6 header names ICMPv6, not the fragment header
        #expect(reassembler.add(plain) == .dropped(.inconsistent))
        #expect(plain.withUnsafeBytes { IPv6Reassembler.fragmentHeaderOffset(in: $0) } == nil)
        let cut = Array(V6Frag.fragment(offset: 8, more: true, data: []).prefix(44))
        #expect(reassembler.add(cut) == .dropped(.inconsistent))
        #expect(reassembler.add(V6Frag.fragment(offset: 8, more: true, data: [])) == .dropped(.inconsistent))
        #expect(reassembler.inProgress == 0)
    }
}
