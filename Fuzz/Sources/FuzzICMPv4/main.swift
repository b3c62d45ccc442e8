// Fuzzes ICMPv4Header.parse and ICMPv4Quote.parse. No input may crash them;
// a message parse accepts must survive emit and a second parse unchanged.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    // Whatever the checksum, the data after 8 bytes is what an error message quotes.
    if bytes.count >= ICMPv4Header.length,
       let quote = try? ICMPv4Quote.parse(UnsafeRawBufferPointer(rebasing: bytes[ICMPv4Header.length...])) {
        sink(quote)
    }
    if let quote = try? ICMPv4Quote.parse(bytes) {
        sink(quote)
        check(quote.ports == nil || quote.header.headerLength + 4 <= bytes.count, "ports read past the quote")
    }
    guard let header = try? ICMPv4Header.parse(bytes) else { return 0 }
    sink(header)
    var copy = [UInt8](bytes)
    copy.withUnsafeMutableBytes { header.emit(into: $0) }
    do {
        let again = try copy.withUnsafeBytes { raw throws(WireError) in try ICMPv4Header.parse(raw) }
        check(again.message == header.message, "emit/parse round trip changed \(header) into \(again)")
    } catch {
        check(false, "re-parsing an emitted message failed: \(error)")
    }
    return 0
}
