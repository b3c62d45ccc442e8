// Fuzzes MLDv2Report.parse. Input: one flag byte (bit 0: store the right checksum first;
// bit 1: hop limit 1, else the byte itself is the hop limit), the 16-byte source and
// destination, then the ICMPv6 message. No input may crash the parser or make it
// allocate for records the message cannot hold; a report it accepts must survive emit
// and a second parse unchanged.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let input = fuzzInput(data, size)
    guard input.count >= 33 else { return 0 }
    let flags = input[0]
    let source = IPv6Address(octets: input[1..<17])!, destination = IPv6Address(octets: input[17..<33])!
    let hopLimit: UInt8 = flags & 2 != 0 ? 1 : flags
    var message = [UInt8](input[33...])
    if flags & 1 != 0, message.count >= 4 {
        message[2] = 0
        message[3] = 0
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, nextHeader: .icmpv6, length: message.count)
        message.withUnsafeBytes { sum.add($0) }
        message[2] = UInt8(sum.checksum >> 8)
        message[3] = UInt8(sum.checksum & 0xFF)
    }
    guard let report = try? message.withUnsafeBytes({ raw throws(WireError) in
        try MLDv2Report.parse(raw, source: source, destination: destination, hopLimit: hopLimit)
    }) else { return 0 }
    sink(report)
    sink(report.description.utf8.count)
    check(report.encodedLength <= message.count, "records of \(report.encodedLength) bytes in \(message.count)")
    var buffer = [UInt8](repeating: 0, count: report.encodedLength)
    buffer.withUnsafeMutableBytes { report.emit(into: $0, source: source, destination: destination) }
    do {
        let again = try buffer.withUnsafeBytes { raw throws(WireError) in
            try MLDv2Report.parse(raw, source: source, destination: destination, hopLimit: hopLimit)
        }
        check(again.records == report.records, "emit/parse round trip changed \(report) into \(again)")
    } catch {
        check(false, "re-parsing an emitted report failed: \(error)")
    }
    return 0
}
