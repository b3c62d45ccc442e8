// Fuzzes IPv6Header.parse and parseQuoted, IPv6ExtensionHeaders.walk and
// IPv6FragmentHeader.parse. No input may crash them. What the walk accepts must
// point inside the packet, count no more headers than the cap, and survive an
// emit/parse round trip of the fixed header; a fragment header must round-trip too.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    if let quoted = try? IPv6Header.parseQuoted(bytes) { sink(quoted) }
    if let fragment = try? IPv6FragmentHeader.parse(bytes) {
        var copy = [UInt8](repeating: 0, count: IPv6FragmentHeader.length)
        copy.withUnsafeMutableBytes { fragment.emit(into: $0) }
        let again = try? copy.withUnsafeBytes { raw throws(WireError) in try IPv6FragmentHeader.parse(raw) }
        check(again == fragment, "fragment header round trip changed \(fragment) into \(String(describing: again))")
    }
    guard let header = try? IPv6Header.parse(bytes) else { return 0 }
    sink(header)
    check(header.totalLength <= bytes.count, "payload length \(header.payloadLength) past \(bytes.count) bytes")
    var copy = [UInt8](repeating: 0, count: IPv6Header.length)
    copy.withUnsafeMutableBytes { header.emit(into: $0) }
    check(copy.elementsEqual(bytes[0..<IPv6Header.length]), "emit did not rebuild the header bytes of \(header)")

    for cap in [1, IPv6ExtensionHeaders.defaultMaximumHeaderCount] {
        guard let chain = try? IPv6ExtensionHeaders.walk(bytes, maximumHeaderCount: cap) else { continue }
        sink(chain)
        check(chain.headerCount <= cap, "walked \(chain.headerCount) headers with a cap of \(cap)")
        check(chain.upperLayerOffset >= IPv6Header.length && chain.upperLayerOffset <= header.totalLength,
              "upper layer at \(chain.upperLayerOffset) of \(header.totalLength)")
        check(chain.upperLayerNextHeaderOffset < chain.upperLayerOffset, "next header field after the upper layer")
        if let option = chain.unrecognizedOption { check(option.offset < header.totalLength, "option pointer past the packet") }
        if let routing = chain.routing { check(routing.typePointer < header.totalLength, "routing pointer past the packet") }
    }
    return 0
}
