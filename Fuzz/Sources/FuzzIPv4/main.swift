// Fuzzes IPv4Header.parse and parseQuoted. No input may crash them. What parse
// accepts must survive emit and a second parse unchanged (the checksum field
// aside: 0x0000 and 0xFFFF both verify when the rest sums to -0), and must
// still verify after a router's incremental TTL decrement (RFC 1624).

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    if let quoted = try? IPv4Header.parseQuoted(bytes) {
        sink(quoted)
        check(quoted.headerLength <= bytes.count, "quoted header longer than the bytes")
    }
    guard let header = try? IPv4Header.parse(bytes) else { return 0 }
    sink(header)
    check(header.totalLength <= bytes.count && header.headerLength <= header.totalLength,
          "lengths \(header.headerLength)/\(header.totalLength) of \(bytes.count) bytes")

    // emit → parse gives the same header.
    var copy = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[0..<header.totalLength]))
    copy.withUnsafeMutableBytes { header.emit(into: $0) }
    do {
        var again = try copy.withUnsafeBytes { raw throws(WireError) in try IPv4Header.parse(raw) }
        again.checksum = header.checksum
        check(again == header, "emit/parse round trip changed \(header) into \(again)")
    } catch {
        check(false, "re-parsing an emitted header failed: \(error)")
    }

    // The TTL decrement keeps the checksum valid.
    var forwarded = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[0..<header.totalLength]))
    let ttl = forwarded.withUnsafeMutableBytes { IPv4Header.decrementTimeToLive(in: $0) }
    check(ttl == header.timeToLive &- 1, "TTL \(header.timeToLive) became \(ttl)")
    do {
        let after = try forwarded.withUnsafeBytes { raw throws(WireError) in try IPv4Header.parse(raw) }
        check(after.timeToLive == ttl, "TTL after decrement")
    } catch {
        check(false, "header no longer parses after the TTL decrement: \(error)")
    }
    return 0
}
