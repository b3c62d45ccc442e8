// Fuzzes UDPHeader.parse. The first 8 input bytes are the pseudo-header's
// source and destination addresses, the rest is the datagram. No input may
// crash the parser; a datagram it accepts must survive emit and a second
// parse unchanged (checksum aside), with a checksum that is never zero.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let input = fuzzInput(data, size)
    guard input.count >= 8 else { return 0 }
    let source = IPv4Address(rawValue: input.be32(0)), destination = IPv4Address(rawValue: input.be32(4))
    let bytes = UnsafeRawBufferPointer(rebasing: input[8...])
    guard let header = try? UDPHeader.parse(bytes, source: source, destination: destination) else { return 0 }
    sink(header)
    check(header.length <= bytes.count, "UDP length \(header.length) past \(bytes.count) bytes")

    var copy = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[0..<header.length]))
    copy.withUnsafeMutableBytes { header.emit(into: $0, source: source, destination: destination) }
    check(copy[6] != 0 || copy[7] != 0, "emit sent a zero checksum")
    do {
        var again = try copy.withUnsafeBytes { raw throws(WireError) in
            try UDPHeader.parse(raw, source: source, destination: destination)
        }
        again.checksum = header.checksum
        check(again == header, "emit/parse round trip changed \(header) into \(again)")
    } catch {
        check(false, "re-parsing an emitted datagram failed: \(error)")
    }
    return 0
}
