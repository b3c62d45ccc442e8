// Fuzzes ICMPv6Header.parse and ICMPv6Quote.parse. Input: one flag byte (bit 0: store
// the right checksum first, so the fuzzer gets past it), the 16-byte source and
// destination of the pseudo-header, then the message. No input may crash them; a
// message parse accepts must survive emit and a second parse unchanged.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let input = fuzzInput(data, size)
    guard input.count >= 33 else { return 0 }
    let source = IPv6Address(octets: input[1..<17])!, destination = IPv6Address(octets: input[17..<33])!
    var message = [UInt8](input[33...])
    if input[0] & 1 != 0, message.count >= 4 {
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .icmpv6, length: message.count)
        message[2] = 0
        message[3] = 0
        message.withUnsafeBytes { sum.add($0) }
        message[2] = UInt8(sum.checksum >> 8)
        message[3] = UInt8(sum.checksum & 0xFF)
    }
    if message.count >= ICMPv6Header.length,
       let quote = try? Array(message[ICMPv6Header.length...]).withUnsafeBytes({ raw throws(WireError) in try ICMPv6Quote.parse(raw) }) {
        sink(quote)
        check(quote.ports == nil || message.count >= ICMPv6Header.length + IPv6Header.length + 4, "ports read past the quote")
    }
    guard let header = try? message.withUnsafeBytes({ raw throws(WireError) in
        try ICMPv6Header.parse(raw, source: source, destination: destination)
    }) else { return 0 }
    sink(header)
    sink(header.description.utf8.count)
    var copy = message
    copy.withUnsafeMutableBytes { header.emit(into: $0, source: source, destination: destination) }
    do {
        let again = try copy.withUnsafeBytes { raw throws(WireError) in
            try ICMPv6Header.parse(raw, source: source, destination: destination)
        }
        check(again.message == header.message, "emit/parse round trip changed \(header) into \(again)")
    } catch {
        check(false, "re-parsing an emitted message failed: \(error)")
    }
    return 0
}
