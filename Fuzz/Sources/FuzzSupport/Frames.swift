// Well-formed frames for the fuzzers that drive a whole Host: built with
// NetStackWire's emitters, so checksums are right and the input's bytes reach
// the protocol logic instead of dying at the first check.

public import NetStackWire

/// An Ethernet frame: the 14-byte header, then `payload`.
public func ethernetFrame(to destination: MACAddress, from source: MACAddress, type: EtherType,
                          _ payload: [UInt8]) -> [UInt8] {
    var frame = [UInt8](repeating: 0, count: EthernetHeader.length + payload.count)
    frame.withUnsafeMutableBytes { buffer in
        EthernetHeader(destination: destination, source: source, etherType: type).emit(into: buffer)
    }
    frame.replaceSubrange(EthernetHeader.length..., with: payload)
    return frame
}

/// An IPv4 datagram: `header` (its total length as given, or fixed to fit when
/// `fixLength`), then `payload`.
public func ipv4Datagram(_ header: IPv4Header, _ payload: [UInt8], fixLength: Bool = true) -> [UInt8] {
    var header = header
    if fixLength { header.totalLength = header.headerLength + payload.count }
    var datagram = [UInt8](repeating: 0, count: header.headerLength + payload.count)
    datagram.withUnsafeMutableBytes { header.emit(into: $0) }
    datagram.replaceSubrange(header.headerLength..., with: payload)
    return datagram
}

/// A UDP datagram (header and payload) with its checksum over the pseudo-header.
public func udpDatagram(from source: IPv4Address, _ sourcePort: UInt16, to destination: IPv4Address,
                        _ destinationPort: UInt16, _ payload: [UInt8]) -> [UInt8] {
    let header = UDPHeader(sourcePort: sourcePort, destinationPort: destinationPort, payloadLength: payload.count)
    var datagram = [UInt8](repeating: 0, count: UDPHeader.headerLength) + payload
    datagram.withUnsafeMutableBytes { header.emit(into: $0, source: source, destination: destination) }
    return datagram
}

/// A TCP segment (header and payload) with its checksum over the pseudo-header.
public func tcpSegment(_ header: TCPHeader, from source: IPv4Address, to destination: IPv4Address,
                       _ payload: [UInt8]) -> [UInt8] {
    var segment = [UInt8](repeating: 0, count: header.headerLength) + payload
    segment.withUnsafeMutableBytes {
        header.emit(into: $0, payloadLength: payload.count, source: source, destination: destination)
    }
    return segment
}

/// An ICMP message: the 8-byte header, then `data`, with its checksum.
public func icmpMessage(_ message: ICMPv4Message, _ data: [UInt8]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: ICMPv4Header.length) + data
    bytes.withUnsafeMutableBytes { ICMPv4Header(message).emit(into: $0) }
    return bytes
}

/// An ARP packet (28 bytes).
public func arpPacket(_ operation: ARPOperation, senderMAC: MACAddress, senderIP: IPv4Address,
                      targetMAC: MACAddress, targetIP: IPv4Address) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: ARPPacket.length)
    bytes.withUnsafeMutableBytes {
        ARPPacket(operation: operation, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC,
                  targetIP: targetIP).emit(into: $0)
    }
    return bytes
}

/// A whole IPv4-in-Ethernet frame carrying `payload` of `protocol`.
public func ipv4Frame(to mac: MACAddress, from sourceMAC: MACAddress, _ header: IPv4Header,
                      _ payload: [UInt8]) -> [UInt8] {
    ethernetFrame(to: mac, from: sourceMAC, type: .ipv4, ipv4Datagram(header, payload))
}

extension FuzzReader {
    /// `count` bytes of the input as an array (fewer at its end).
    public mutating func array(_ count: Int) -> [UInt8] { Array(bytes(count)) }

    /// One of `choices`, picked by the next byte.
    public mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }

    /// An address: mostly one of `pool`, sometimes any 32-bit value.
    public mutating func address(_ pool: [IPv4Address]) -> IPv4Address {
        let choice = below(pool.count + 1)
        return choice < pool.count ? pool[choice] : IPv4Address(rawValue: u32())
    }

    /// TCP options from the input: each option present or not, values from the input.
    public mutating func tcpOptions() -> TCPOptions {
        let present = byte()
        var options = TCPOptions()
        if present & 0x01 != 0 { options.mss = u16() }
        if present & 0x02 != 0 { options.windowScale = byte() }
        if present & 0x04 != 0 { options.sackPermitted = true }
        if present & 0x08 != 0 { options.timestamps = TCPTimestamps(value: u32(), echo: u32()) }
        if present & 0x30 != 0 {
            var blocks = TCPSACKBlocks()
            for _ in 0..<Int((present >> 4) & 3) {
                let left = SequenceNumber(rawValue: u32())
                blocks.append(TCPSACKBlock(left: left, right: left + Int(u16())))
            }
            options.sackBlocks = blocks
        }
        return options
    }
}
