// Fuzzes ARPPacket.parse: no input may crash it, and whatever it accepts must
// come back byte for byte from emit (every field of an Ethernet/IPv4 ARP
// packet is either checked or kept).

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    guard let packet = try? ARPPacket.parse(bytes) else { return 0 }
    sink(packet)
    var emitted = [UInt8](repeating: 0, count: ARPPacket.length)
    emitted.withUnsafeMutableBytes { packet.emit(into: $0) }
    check(emitted.elementsEqual(bytes.prefix(ARPPacket.length)), "ARP emit differs from the parsed bytes")
    return 0
}
