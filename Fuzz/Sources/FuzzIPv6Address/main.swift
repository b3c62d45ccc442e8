// Fuzzes the text parsers IPv6Address, IPv6Network and IPAddress. No input may crash
// them; an address they accept must print canonically (RFC 5952) and parse back to
// itself, and its canonical text must be a fixed point.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let text = String(decoding: fuzzInput(data, size), as: UTF8.self)
    if let address = IPv6Address(text) {
        sink(address)
        let canonical = address.description
        check(IPv6Address(canonical) == address, "\(text) printed as \(canonical), which reads differently")
        check(IPv6Address(canonical)?.description == canonical, "\(canonical) is not a fixed point")
        check(canonical == canonical.lowercased() && canonical.count <= 45, "\(canonical) is not canonical")
        check(IPv6Address(octets: address.octets) == address, "octets of \(canonical)")
    }
    if let network = IPv6Network(text) {
        sink(network)
        check(network.contains(network.address), "\(network) does not contain its own address")
        check(IPv6Network(network.description) == network, "\(network) does not read back")
    }
    if let either = IPAddress(text) {
        sink(either)
        check(IPAddress(either.description) == either, "\(either) does not read back")
    }
    return 0
}
