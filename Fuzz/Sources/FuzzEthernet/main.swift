// Fuzzes EthernetHeader.parse and EthernetFrame.parse, with and without a
// trailing FCS. No input may crash them; an accepted header must come back
// byte for byte from emit; a frame accepted with an FCS must verify.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    if let header = try? EthernetHeader.parse(bytes) {
        sink(header)
        var emitted = [UInt8](repeating: 0, count: EthernetHeader.length)
        emitted.withUnsafeMutableBytes { header.emit(into: $0) }
        check(emitted.elementsEqual(bytes.prefix(EthernetHeader.length)), "Ethernet emit differs from the parsed bytes")
    }
    if let frame = try? EthernetFrame.parse(bytes, hasFCS: false) {
        sink(frame.header)
        check(frame.payload == EthernetHeader.length..<bytes.count, "payload \(frame.payload) of \(bytes.count) bytes")
    }
    if let frame = try? EthernetFrame.parse(bytes, hasFCS: true) {
        sink(frame.header)
        check(EthernetFCS.verify(bytes), "a frame with a bad FCS was accepted")
        check(frame.payload == EthernetHeader.length..<(bytes.count - EthernetFCS.length),
              "payload \(frame.payload) of \(bytes.count) bytes with FCS")
    }
    return 0
}
