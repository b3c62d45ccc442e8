// Helpers shared by the wire-format tests: captured frames numbered as tshark
// numbers them, and a deliberately naive RFC 1071 checksum to judge the fast one by.

import NetStackTestSupport
import NetStackWire
import Testing

enum Golden {
    /// Frame `number` of `Tests/Fixtures/captures/<name>.pcap`, counting from 1 as tshark does.
    static func frame(_ name: String, _ number: Int) throws -> [UInt8] {
        let frames = try Fixtures.captureFrames(name)
        try #require((1...frames.count).contains(number), "\(name).pcap has \(frames.count) frames, not \(number)")
        return frames[number - 1]
    }

    /// Every frame of every capture, with its name and tshark number, for sweeps over all of them.
    static func allFrames() throws -> [(name: String, number: Int, bytes: [UInt8])] {
        try Fixtures.captureNames().flatMap { name in
            try Fixtures.captureFrames(name).enumerated().map { (name, $0.offset + 1, $0.element) }
        }
    }

    /// The one's-complement sum of `bytes` as RFC 1071 §1 defines it: big-endian
    /// 16-bit words (an odd last byte padded with zero), end-around carry, folded.
    /// Byte by byte on purpose: an oracle independent of `InternetChecksum`.
    static func onesComplementSum(_ bytes: [UInt8], adding extra: [UInt16] = []) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index < bytes.count {
            let high = UInt32(bytes[index]) << 8
            let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            sum += high | low
            sum = (sum & 0xFFFF) + (sum >> 16)
            index += 2
        }
        for word in extra {
            sum += UInt32(word)
            sum = (sum & 0xFFFF) + (sum >> 16)
        }
        return UInt16(sum)
    }

    /// The checksum to store for `bytes` (whose checksum field is zero): the complement of the sum.
    static func checksum(_ bytes: [UInt8]) -> UInt16 { ~onesComplementSum(bytes) }

    /// The IPv4 pseudo-header of RFC 768 / RFC 9293 §3.1 as 16-bit words.
    static func pseudoHeader(_ source: IPv4Address, _ destination: IPv4Address,
                             protocol number: UInt8, length: Int) -> [UInt16] {
        [UInt16(source.rawValue >> 16), UInt16(source.rawValue & 0xFFFF),
         UInt16(destination.rawValue >> 16), UInt16(destination.rawValue & 0xFFFF),
         UInt16(number), UInt16(length)]
    }

    /// The `WireError` that `body` throws; nil when it returns (or throws something else).
    static func wireError(_ body: () throws -> Void) -> WireError? {
        do {
            try body()
            return nil
        } catch {
            return error as? WireError
        }
    }

    /// `bytes` with bit `bit` (0 = most significant bit of byte 0) inverted.
    static func flipping(_ bytes: [UInt8], bit: Int) -> [UInt8] {
        var copy = bytes
        copy[bit / 8] ^= 0x80 >> UInt8(bit % 8)
        return copy
    }

    /// Reads the big-endian 16-bit value at `offset`.
    static func be16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    /// Stores `value` big-endian at `offset`.
    static func storeBE16(_ value: UInt16, in bytes: inout [UInt8], at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }

    /// True when `error` is `.unsupported` for `layer`, whatever its text.
    static func isUnsupported(_ error: WireError?, _ layer: WireLayer) -> Bool {
        if case .unsupported(layer, _)? = error { return true }
        return false
    }

    /// True when `error` is `.badField` for `layer`, whatever its text.
    static func isBadField(_ error: WireError?, _ layer: WireLayer) -> Bool {
        if case .badField(layer, _)? = error { return true }
        return false
    }
}
