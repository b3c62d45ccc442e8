import NetStackWire

// Forwarding what a device with offload handed over, for IPv6: a checksum it left partial
// (virtio-net NEEDS_CSUM) is finished before another host sees it, and a TCP super-segment
// (TSO6, or a GRO'd run) is cut to the next link's MTU — Linux's validate_xmit_skb in software —
// rather than answered with a Packet Too Big at an MTU its sender already keeps to.

extension Host {
    /// Forwards the IPv6 TCP super-segment `packet` (TCP right after the fixed header) as segments
    /// of at most `mtu` bytes, each with the headers repeated: the sequence number advanced, the
    /// hop limit decremented, the payload length set, PSH and FIN on the last cut only, CWR on the
    /// first, the TCP checksum computed (Linux's tcp_gso_segment over ipv6_gso_segment). False,
    /// sending nothing, when it is not such a segment or its headers leave no room for payload.
    /// One checksum pass; built in `buildBuffer`, no allocation.
    func forwardSegmented6(_ packet: UnsafeRawBufferPointer, header: IPv6Header, mtu: Int, route: IPv6Route) -> Bool {
        guard header.nextHeader == .tcp else { return false }
        let nextHop = route.nextHop(for: header.destination)
        let sent = cutTCPSuperSegment(
            packet, ipLength: IPv6Header.length, totalLength: header.totalLength, mtu: mtu,
            pseudoHeader: { InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                          nextHeader: .tcp, length: $0) },
            finishIP: { piece, _, total in
                piece.storeBE16(UInt16(total - IPv6Header.length), at: 4)
                piece[7] = header.hopLimit - 1
            },
            send: { sendToLink6($0, on: route.interface, nextHop: nextHop, forwarded: true) })
        guard sent else { return false }
        statistics.ip6Forwarded += 1
        return true
    }

    /// Computes the TCP or UDP checksum of the IPv6 datagram in `buffer` afresh when the upper
    /// layer follows the fixed header (an extension header in between: left as it is), as Linux's
    /// skb_checksum_help does for a CHECKSUM_PARTIAL packet leaving through a device without
    /// checksum offload. One checksum pass.
    func finishTransportChecksum6(in buffer: UnsafeMutableRawBufferPointer, header: IPv6Header) {
        let start = IPv6Header.length, length = header.payloadLength
        guard header.totalLength <= buffer.count else { return }
        let field: Int
        switch header.nextHeader {
        case .tcp where length >= TCPHeader.minimumLength: field = start + 16
        case .udp where length >= UDPHeader.headerLength: field = start + 6
        default: return
        }
        buffer.storeBE16(0, at: field)
        var sum = InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                nextHeader: header.nextHeader, length: length)
        sum.add(UnsafeRawBufferPointer(rebasing: buffer[start..<(start + length)]))
        let value = sum.checksum
        // UDP over IPv6 has no "no checksum": a computed zero goes out as 0xFFFF (RFC 8200 §8.1).
        buffer.storeBE16(header.nextHeader == .udp && value == 0 ? 0xFFFF : value, at: field)
    }
}
