// Where the adapter puts a frame in its transmit slot: a TCP payload starts on a cache line
// whatever its headers' length, so IPv6's 20 more header bytes cost its copies and checksums
// nothing (unaligned, `bench tcp` spent 18 % more in memmove on IPv6 than on IPv4).

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("LAN adapter: payload alignment in transmit slots")
struct TransmitAlignmentTests {
    /// Queues a frame of `length` bytes whose payload follows `headers` bytes, filled with a
    /// pattern, and returns where its payload lies modulo 64 as the wire takes it, and its bytes.
    static func queued(_ adapter: inout LANAdapter, length: Int, headers: Int, mark: UInt32 = 0) -> (Int, [UInt8])? {
        let pattern = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let (queued, _) = adapter.send(length: length, mark: mark, headersLength: headers) { frame in
            pattern.withUnsafeBytes { frame.copyMemory(from: $0) }
        }
        guard queued else { return nil }
        return adapter.takeTransmittedSegments { frame, _ in
            (Int(bitPattern: frame.baseAddress! + headers) % 64, [UInt8](frame))
        }.map { ($0.0, $0.1) }
    }

    @Test("an IPv4 and an IPv6 TCP frame each have their payload on a 64-byte boundary, bytes intact, in consecutive slots",
          arguments: [14 + 20 + 32, 14 + 40 + 32, 14 + 20 + 20, 14 + 40 + 60])
    func tcpPayloadIsAligned(headers: Int) {
        var adapter = LANAdapter(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1), mtu: 1500, fcs: false))
        for length in [1514, 1514, 60 + headers, 1514] {
            guard let (offset, bytes) = Self.queued(&adapter, length: length, headers: headers) else {
                Issue.record("not queued")
                return
            }
            #expect(offset == 0)
            #expect(bytes == (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        }
    }

    @Test("a TSO super-segment's payload is aligned too, in the large transmit queue")
    func superSegmentPayloadIsAligned() {
        var config = AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1), mtu: 1500, fcs: false)
        config.segmentationOffload = true
        var adapter = LANAdapter(config)
        let length = 14 + 65_535
        guard let (offset, bytes) = Self.queued(&adapter, length: length, headers: 14 + 40 + 32, mark: 1428) else {
            Issue.record("not queued")
            return
        }
        #expect(offset == 0 && bytes.count == length)
    }

    @Test("the headroom does not let a frame longer than the link through: 1,518 bytes go, 1,519 are dropped and counted")
    func headroomIsNotRoomForLongerFrames() {
        var adapter = LANAdapter(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1), mtu: 1500, fcs: false))
        #expect(Self.queued(&adapter, length: 1518, headers: 0) != nil, "MAC header + MTU + FCS's four bytes, as before")
        #expect(Self.queued(&adapter, length: 1519, headers: 0) == nil)
        #expect(adapter.counters.txDropped == 1)
    }

    @Test("a frame pushed with headroom is read back from where it was written; the slot still bounds headroom plus length")
    func headroomKeepsTheFrame() {
        var ring = FrameRing(capacity: 2, slotSize: 128)
        #expect(ring.push(length: 64, headroom: 64) { $0.initializeMemory(as: UInt8.self, repeating: 9) })
        #expect(!ring.push(length: 65, headroom: 64) { _ in }, "65 + 64 > 128")
        let frame = ring.peek()
        #expect(frame.map { Array($0) } == [UInt8](repeating: 9, count: 64))
    }
}
