// Fuzzes TCPHeader.parse and TCPOptions.parse. The first 8 input bytes are the
// pseudo-header's source and destination addresses, the rest is the segment.
// No input may crash the parser. A segment it accepts must survive emit and a
// second parse: same fields and options, except that SACK blocks which do not
// fit the header's option space next to the other options in Linux's layout
// may be dropped from the end (RFC 2018 §4 keeps the first, most recent ones).

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let input = fuzzInput(data, size)
    guard input.count >= 8 else { return 0 }
    let source = IPv4Address(rawValue: input.be32(0)), destination = IPv4Address(rawValue: input.be32(4))
    let bytes = UnsafeRawBufferPointer(rebasing: input[8...])
    if let unchecked = try? TCPHeader.parse(bytes) {
        sink(unchecked)
        sink(unchecked.description.utf8.count)
    }
    guard let header = try? TCPHeader.parse(bytes, source: source, destination: destination) else { return 0 }
    sink(header)
    check(header.headerLength >= 20 && header.headerLength <= bytes.count && header.headerLength % 4 == 0,
          "header length \(header.headerLength) of \(bytes.count) bytes")

    var copy = [UInt8](bytes)
    copy.withUnsafeMutableBytes {
        header.emit(into: $0, payloadLength: bytes.count - header.headerLength, source: source, destination: destination)
    }
    do {
        let again = try copy.withUnsafeBytes { raw throws(WireError) in
            try TCPHeader.parse(raw, source: source, destination: destination)
        }
        check(again.sourcePort == header.sourcePort && again.destinationPort == header.destinationPort
              && again.sequenceNumber == header.sequenceNumber
              && again.acknowledgmentNumber == header.acknowledgmentNumber
              && again.flags == header.flags && again.window == header.window
              && again.urgentPointer == header.urgentPointer && again.headerLength == header.headerLength,
              "emit/parse round trip changed \(header) into \(again)")
        let (a, b) = (header.options, again.options)
        check(a.mss == b.mss && a.windowScale == b.windowScale && a.sackPermitted == b.sackPermitted
              && a.timestamps == b.timestamps && a.sackBlocks.starts(with: b.sackBlocks),
              "emit/parse round trip changed options <\(a)> into <\(b)>")
        if b.sackBlocks.count < a.sackBlocks.count {
            // A block was dropped: one more would not have fitted in the option space.
            var grown = b
            grown.sackBlocks.append(a.sackBlocks[b.sackBlocks.count])
            check(grown.encodedLength(within: .max) > header.headerLength - TCPHeader.minimumLength,
                  "emit dropped SACK blocks that fit: <\(a)> became <\(b)> in \(header.headerLength) bytes")
        }
    } catch {
        check(false, "re-parsing an emitted segment failed: \(error)")
    }
    return 0
}
