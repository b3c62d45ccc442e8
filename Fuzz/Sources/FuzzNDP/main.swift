// Fuzzes NDPPacket.parse. Input: one flag byte (bit 0: store the right checksum first;
// bit 1: hop limit 255, else the byte itself is the hop limit), the 16-byte source and
// destination, then the ICMPv6 message. No input may crash the parser. A message it
// accepts, emitted again (options in NetStack's order, unknown ones dropped), must parse
// back to the same message and options.

import FuzzSupport
import NetStackWire

/// `message` with its ICMPv6 checksum made right for `source` → `destination`.
func withChecksum(_ message: [UInt8], _ source: IPv6Address, _ destination: IPv6Address) -> [UInt8] {
    guard message.count >= 4 else { return message }
    var fixed = message
    fixed[2] = 0
    fixed[3] = 0
    var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .icmpv6, length: fixed.count)
    fixed.withUnsafeBytes { sum.add($0) }
    fixed[2] = UInt8(sum.checksum >> 8)
    fixed[3] = UInt8(sum.checksum & 0xFF)
    return fixed
}

runFuzzer { data, size in
    let input = fuzzInput(data, size)
    guard input.count >= 33 else { return 0 }
    let flags = input[0]
    let source = IPv6Address(octets: input[1..<17])!, destination = IPv6Address(octets: input[17..<33])!
    let hopLimit: UInt8 = flags & 2 != 0 ? 255 : flags
    var message = [UInt8](input[33...])
    if flags & 1 != 0 { message = withChecksum(message, source, destination) }
    guard let packet = try? message.withUnsafeBytes({ raw throws(WireError) in
        try NDPPacket.parse(raw, source: source, destination: destination, hopLimit: hopLimit)
    }) else { return 0 }
    sink(packet)
    sink(packet.description.utf8.count)

    // Emit again; a redirected header moves to the end, after the other options.
    var expected = packet
    var buffer = [UInt8](repeating: 0, count: packet.encodedLength)
    if let quoted = packet.options.redirectedHeader {
        let moved = (buffer.count - quoted.count)..<buffer.count
        expected.options.redirectedHeader = moved
        check(quoted.count % 8 == 0, "redirected header of \(quoted.count) bytes")
        buffer.replaceSubrange(moved, with: message[quoted])
    }
    buffer.withUnsafeMutableBytes { expected.emit(into: $0, source: source, destination: destination) }
    do {
        var again = try buffer.withUnsafeBytes { raw throws(WireError) in
            try NDPPacket.parse(raw, source: source, destination: destination, hopLimit: hopLimit)
        }
        again.checksum = expected.checksum
        check(again == expected, "emit/parse round trip changed \(expected) into \(again)")
    } catch {
        check(false, "re-parsing an emitted NDP message failed: \(error) (\(packet))")
    }
    return 0
}
