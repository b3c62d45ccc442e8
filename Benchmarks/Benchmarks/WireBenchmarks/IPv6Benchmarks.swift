// The IPv6 receive and send paths of one small packet: the fixed header, the extension-chain
// walk and the ICMPv6 checksum of an echo request, a neighbour solicitation read with its
// RFC 4861 validation, and a neighbour advertisement written. `Malloc (total)` must stay 0:
// every one works on borrowed bytes.

import Benchmark
import NetStackWire

private let hostA = IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0xff, 0xfe00, 0x6a01)
private let routerA = IPv6Address(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfe)
private let macA = MACAddress(0x02, 0, 0, 0, 0x6a, 0x01)
private let macR = MACAddress(0x02, 0, 0, 0, 0x6a, 0xfe)

/// An IPv6 packet from `source` to `destination` around an ICMPv6 `message` that `write` fills in.
private func packet(from source: IPv6Address, to destination: IPv6Address, hopLimit: UInt8, messageLength: Int,
                    _ write: (UnsafeMutableRawBufferPointer) -> Void) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: IPv6Header.length + messageLength)
    bytes.withUnsafeMutableBytes { buffer in
        IPv6Header(source: source, destination: destination, nextHeader: .icmpv6, payloadLength: messageLength,
                   hopLimit: hopLimit).emit(into: buffer)
        write(UnsafeMutableRawBufferPointer(rebasing: buffer[IPv6Header.length...]))
    }
    return bytes
}

/// Registers the IPv6 benchmarks; called from WireBenchmarks' `benchmarks`.
func ipv6Benchmarks() {
    let echo = packet(from: hostA, to: routerA, hopLimit: 64, messageLength: 64) { message in
        for index in 8..<64 { message[index] = UInt8(index) }
        ICMPv6Header(.echoRequest(identifier: 0x24ce, sequence: 1)).emit(into: message, source: hostA, destination: routerA)
    }
    Benchmark("IPv6 echo request receive (header, chain, ICMPv6 checksum)") { benchmark in
        echo.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                guard let chain = try? IPv6ExtensionHeaders.walk(raw),
                      let header = try? IPv6Header.parse(raw),
                      let icmp = try? ICMPv6Header.parse(UnsafeRawBufferPointer(rebasing: raw[chain.upperLayerOffset...]),
                                                         source: header.source, destination: header.destination)
                else { fatalError("the echo request no longer parses") }
                blackHole(icmp)
            }
        }
    }

    let group = routerA.solicitedNodeMulticast
    let solicitation = NDPPacket(.neighborSolicitation(target: routerA), options: NDPOptions(sourceLinkLayerAddress: macA))
    let ns = packet(from: hostA, to: group, hopLimit: 255, messageLength: solicitation.encodedLength) { message in
        solicitation.emit(into: message, source: hostA, destination: group)
    }
    Benchmark("NDP neighbour solicitation receive (validated)") { benchmark in
        ns.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                guard let header = try? IPv6Header.parse(raw),
                      let ndp = try? NDPPacket.parse(UnsafeRawBufferPointer(rebasing: raw[IPv6Header.length...]),
                                                     source: header.source, destination: header.destination,
                                                     hopLimit: header.hopLimit)
                else { fatalError("the solicitation no longer parses") }
                blackHole(ndp.options.sourceLinkLayerAddress)
            }
        }
    }

    let advertisement = NDPPacket(.neighborAdvertisement(target: routerA, router: true, solicited: true, override: true),
                                  options: NDPOptions(targetLinkLayerAddress: macR))
    var buffer = [UInt8](repeating: 0, count: IPv6Header.length + advertisement.encodedLength)
    Benchmark("NDP neighbour advertisement send (header and message)") { benchmark in
        buffer.withUnsafeMutableBytes { raw in
            for _ in benchmark.scaledIterations {
                IPv6Header(source: routerA, destination: hostA, nextHeader: .icmpv6,
                           payloadLength: advertisement.encodedLength, hopLimit: NDPPacket.hopLimit).emit(into: raw)
                advertisement.emit(into: UnsafeMutableRawBufferPointer(rebasing: raw[IPv6Header.length...]),
                                   source: routerA, destination: hostA)
                blackHole(raw[2])
            }
        }
    }
}
