import NetStackWire

extension Host {
    /// Cuts the TCP super-segment `packet` (an IP header of `ipLength` bytes, then TCP; `totalLength`
    /// bytes in all) into segments of at most `mtu` bytes, each with the headers repeated: the
    /// sequence number advanced, PSH and FIN on the last cut only, CWR on the first, the TCP
    /// checksum computed over `pseudoHeader(tcpLength)` (Linux's tcp_gso_segment). `finishIP(piece,
    /// cut, total)` sets what the IP header of cut number `cut` needs (lengths, TTL or hop limit,
    /// ID, header checksum); `send` takes each finished piece. False, sending nothing, when its
    /// headers leave no room for payload. One checksum pass; built in `buildBuffer`, no allocation.
    func cutTCPSuperSegment(_ packet: UnsafeRawBufferPointer, ipLength: Int, totalLength: Int, mtu: Int,
                            pseudoHeader: (Int) -> InternetChecksum,
                            finishIP: (UnsafeMutableRawBufferPointer, UInt16, Int) -> Void,
                            send: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard totalLength - ipLength >= TCPHeader.minimumLength else { return false }
        let headers = ipLength + Int(packet[ipLength + 12] >> 4) * 4
        guard headers >= ipLength + TCPHeader.minimumLength, headers <= totalLength, mtu > headers else { return false }
        let size = mtu - headers, payload = totalLength - headers
        let sequence = packet.be32(ipLength + 4)
        let flags = packet[ipLength + 13]
        var offset = 0, cut: UInt16 = 0
        while offset < payload {
            let length = min(size, payload - offset)
            let last = offset + length >= payload
            let total = headers + length
            buildBuffer.withUnsafeMutableBytes { whole in
                let piece = UnsafeMutableRawBufferPointer(rebasing: whole[0..<total])
                piece.copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[0..<headers]))
                UnsafeMutableRawBufferPointer(rebasing: piece[headers...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: packet[(headers + offset)..<(headers + offset + length)]))
                finishIP(piece, cut, total)
                piece.storeBE32(sequence &+ UInt32(truncatingIfNeeded: offset), at: ipLength + 4)
                var pieceFlags = flags
                if !last { pieceFlags &= ~(TCPFlags.psh.rawValue | TCPFlags.fin.rawValue) }
                if cut > 0 { pieceFlags &= ~TCPFlags.cwr.rawValue }
                piece[ipLength + 13] = pieceFlags
                piece.storeBE16(0, at: ipLength + 16)
                var sum = pseudoHeader(total - ipLength)
                sum.add(UnsafeRawBufferPointer(rebasing: piece[ipLength..<total]))
                piece.storeBE16(sum.checksum, at: ipLength + 16)
                send(UnsafeRawBufferPointer(piece))
            }
            offset += length
            cut &+= 1
        }
        return true
    }
}
