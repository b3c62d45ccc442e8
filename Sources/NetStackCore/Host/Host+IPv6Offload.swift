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
        let ipLength = IPv6Header.length
        guard header.nextHeader == .tcp, header.payloadLength >= TCPHeader.minimumLength else { return false }
        let headers = ipLength + Int(packet[ipLength + 12] >> 4) * 4
        guard headers >= ipLength + TCPHeader.minimumLength, headers <= header.totalLength, mtu > headers else { return false }
        let size = mtu - headers, payload = header.totalLength - headers
        let nextHop = route.nextHop(for: header.destination)
        let sequence = packet.be32(ipLength + 4)
        let flags = packet[ipLength + 13]
        var offset = 0, first = true
        while offset < payload {
            let length = min(size, payload - offset)
            let last = offset + length >= payload
            let total = headers + length
            buildBuffer.withUnsafeMutableBytes { whole in
                let piece = UnsafeMutableRawBufferPointer(rebasing: whole[0..<total])
                piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[0..<headers]))
                UnsafeMutableRawBufferPointer(rebasing: piece[headers...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[(headers + offset)..<(headers + offset + length)]))
                piece.storeBE16(UInt16(total - ipLength), at: 4)
                piece[7] = header.hopLimit - 1
                piece.storeBE32(sequence &+ UInt32(truncatingIfNeeded: offset), at: ipLength + 4)
                var pieceFlags = flags
                if !last { pieceFlags &= ~(TCPFlags.psh.rawValue | TCPFlags.fin.rawValue) }
                if !first { pieceFlags &= ~TCPFlags.cwr.rawValue }
                piece[ipLength + 13] = pieceFlags
                piece.storeBE16(0, at: ipLength + 16)
                var sum = InternetChecksum.pseudoHeader(source: header.source, destination: header.destination,
                                                        nextHeader: .tcp, length: total - ipLength)
                sum.add(UnsafeRawBufferPointer(rebasing: piece[ipLength..<total]))
                piece.storeBE16(sum.checksum, at: ipLength + 16)
                sendToLink6(UnsafeRawBufferPointer(piece), on: route.interface, nextHop: nextHop, forwarded: true)
            }
            offset += length
            first = false
        }
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
