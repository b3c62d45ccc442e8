import NetStackWire

/// Receive coalescing in software (GRO without a NIC): glues consecutive in-order TCP segments of
/// one connection, read from the device in one batch, into one segment of up to 64 KiB, so TCP
/// input — and its decision to ACK — runs once per run of segments instead of once per frame.
///
/// What may be glued onto the segment held (Linux's tcp_gro_receive rules, written anew):
/// - IPv4 without options, not a fragment, or IPv6 with TCP right after the fixed header (no
///   extension header), within the MTU, the TCP checksum (and IPv4's header checksum) verified
///   for every frame before it is glued (a frame that fails passes on as it came, for the stack
///   to count: a giant is still dropped as one, a bad checksum still counted);
/// - flags exactly ACK, or ACK|PSH (PSH ends the run: it is glued, then the run is handed on);
///   SYN, FIN, RST, URG, ECE, CWR or a reserved bit pass on alone;
/// - the same link header, TOS, DF/fragment field, TTL (for IPv6: version, traffic class, flow
///   label, next header, hop limit), addresses, ports, acknowledgment number,
///   window, urgent pointer and option bytes as the first segment — so timestamps glue only
///   when TSval and TSecr are both the same (as Linux: then the glued segment says exactly
///   what each of its parts said, and PAWS and RTT samples see no difference); the IP ID is not
///   compared (Linux wants it counting up, for a faithful re-cut: a forwarding host here cuts a
///   glued segment again as GSO does, numbering the cuts from the first ID);
/// - the sequence number right after the data held, a payload no longer than the first one's
///   (a shorter one ends the run), and the whole no longer than 65,535 bytes of IP.
///
/// Anything else hands on what is held, then itself: one segment is held at a time, so the
/// order of frames across connections is kept. ``flush(deliver:)`` ends a run at the end of a
/// batch. The glued segment carries the first frame's headers with PSH from the last, the IP
/// total length (IPv6's payload length) and the checksums rewritten (the TCP one from the
/// per-frame sums, no second pass over the data; IPv6 has no header checksum), so it is a valid
/// segment for anyone who looks (a forwarding host too).
///
/// Costs: one 64 KiB buffer for the life of the coalescer; per frame, one checksum pass (which
/// the stack then skips) and one copy of the payload; no allocation.
package final class ReceiveCoalescer {
    /// The longest IP packet a run may grow to.
    static let maximumPacket = 65_535
    /// Bytes in front of the IP header: 14 on a TAP device (Ethernet), none on TUN.
    let ipOffset: Int
    /// The longest IP packet of one frame that may be glued: the link's MTU.
    let mtu: Int
    private let buffer: UnsafeMutableRawBufferPointer
    /// Bytes held, link header onwards; zero when nothing is held.
    private var length = 0
    /// The held run's IP header length: 20 (IPv4 without options) or 40 (IPv6).
    private var ipLength = 0
    private var headersEnd = 0
    private var nextSequence: UInt32 = 0
    /// The first segment's payload length: the most any later one may carry.
    private var segmentSize = 0
    private var segments = 0
    private var payloadLength = 0
    /// The one's-complement sum of the payload held (the parts' sums, each aligned to its offset).
    private var payloadSum = InternetChecksum()

    /// Frames glued onto one before them (each spared the stack one pass through IP and TCP input).
    package private(set) var framesMerged = 0
    /// Segments of two frames or more handed on.
    package private(set) var segmentsMerged = 0

    /// A coalescer for frames whose IP header starts `ipOffset` bytes in, on a link of `mtu`.
    package init(ipOffset: Int, mtu: Int) {
        self.ipOffset = ipOffset
        self.mtu = mtu
        buffer = .allocate(byteCount: ipOffset + Self.maximumPacket, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// What a frame or segment handed on is.
    package enum Delivery: Equatable {
        /// A frame as it came, not verified here: the stack checks it as any other.
        case asReceived
        /// One frame (up to the end of its IP packet) whose checksums were verified here.
        case verified
        /// Two frames or more glued, checksums verified and rewritten: longer than the MTU, maybe.
        case glued
    }

    /// Takes one frame as it came from the device: glues it onto the segment held, holds it, or
    /// hands it on (after whatever is held). `deliver` gets each frame or glued segment, in order,
    /// and what it is (a verified one's TCP checksum need not be summed again).
    /// O(frame length): one checksum pass and one copy for a TCP data segment, none otherwise.
    package func offer(_ frame: UnsafeRawBufferPointer, deliver: (UnsafeRawBufferPointer, Delivery) -> Void) {
        guard let part = Self.dataSegment(in: frame, ipOffset: ipOffset, mtu: mtu) else {
            flush(deliver: deliver)
            deliver(frame, .asReceived)
            return
        }
        if length > 0 {
            if continues(with: part, frame) {
                append(part, of: frame)
                if part.push || part.payloadLength < segmentSize { flush(deliver: deliver) }
                return
            }
            flush(deliver: deliver)
        }
        if part.push {
            deliver(UnsafeRawBufferPointer(rebasing: frame[..<part.end]), .verified)  // ends its own run: no copy
            return
        }
        hold(part, of: frame)
    }

    /// Hands on the segment held, if any (the end of a batch, or a frame that does not continue it).
    package func flush(deliver: (UnsafeRawBufferPointer, Delivery) -> Void) {
        guard length > 0 else { return }
        if segments > 1 { rewriteHeaders() }
        deliver(UnsafeRawBufferPointer(rebasing: buffer[..<length]), segments > 1 ? .glued : .verified)
        length = 0
        segments = 0
    }

    // MARK: Parts

    /// Where a frame's TCP data segment lies, and what it says about itself.
    package struct Part {
        /// 20 for IPv4 (no options), 40 for IPv6 (no extension headers): where TCP starts.
        var ipLength: Int
        var headersEnd: Int
        /// The end of the IP packet (Ethernet padding after it is not part of it).
        var end: Int
        var sequence: UInt32
        var push: Bool
        var payloadSum: UInt16
        var payloadLength: Int { end - headersEnd }
    }

    /// The frame's TCP data segment if it may be glued at all (see the type's rules); nil otherwise,
    /// a bad checksum included. O(frame length) for a segment that gets as far as its checksum.
    package static func dataSegment(in frame: UnsafeRawBufferPointer, ipOffset ip: Int, mtu: Int) -> Part? {
        guard frame.count >= ip + IPv4Header.minimumLength + TCPHeader.minimumLength else { return nil }
        let ipLength: Int, total: Int
        var sum: InternetChecksum
        switch frame[ip] {
        case 0x45:
            // IPv4 with no options; protocol TCP; neither MF nor a fragment offset.
            if ip > 0, frame.be16(12) != EtherType.ipv4.rawValue { return nil }
            guard frame[ip + 9] == IPProtocol.tcp.rawValue, frame.be16(ip + 6) & 0x3FFF == 0 else { return nil }
            ipLength = IPv4Header.minimumLength
            total = Int(frame.be16(ip + 2))
            guard total >= ipLength else { return nil }
            var ipSum = InternetChecksum()
            ipSum.add(UnsafeRawBufferPointer(rebasing: frame[ip..<(ip + ipLength)]))
            guard ipSum.verifies else { return nil }
            sum = InternetChecksum.pseudoHeader(source: IPv4Address(rawValue: frame.be32(ip + 12)),
                                                destination: IPv4Address(rawValue: frame.be32(ip + 16)),
                                                protocol: .tcp, length: total - ipLength)
        case 0x60...0x6F:
            // IPv6 whose next header is TCP: no extension header to walk or keep.
            if ip > 0, frame.be16(12) != EtherType.ipv6.rawValue { return nil }
            guard frame.count >= ip + IPv6Header.length + TCPHeader.minimumLength,
                  frame[ip + 6] == IPProtocol.tcp.rawValue else { return nil }
            ipLength = IPv6Header.length
            total = ipLength + Int(frame.be16(ip + 4))
            // RFC 8200 §8.1's pseudo-header: both addresses as they lie, the upper-layer length, TCP.
            sum = InternetChecksum()
            sum.add(UnsafeRawBufferPointer(rebasing: frame[(ip + 8)..<(ip + 40)]))
            sum.add(UInt32(total - ipLength))
            sum.add(UInt16(IPProtocol.tcp.rawValue))
        default:
            return nil
        }
        let tcp = ip + ipLength
        let headerLength = Int(frame[tcp + 12] >> 4) * 4
        guard headerLength >= TCPHeader.minimumLength, ip + total <= frame.count, total <= mtu,
              ipLength + headerLength < total else { return nil }  // some payload
        // Only ACK, or ACK|PSH; no reserved or AE bit either.
        guard frame[tcp + 12] & 0x0F == 0, frame[tcp + 13] & ~TCPFlags.psh.rawValue == TCPFlags.ack.rawValue else { return nil }
        let end = ip + total, headersEnd = tcp + headerLength
        var payload = InternetChecksum()
        payload.add(UnsafeRawBufferPointer(rebasing: frame[headersEnd..<end]))
        let payloadSum = payload.foldedSum
        sum.add(UnsafeRawBufferPointer(rebasing: frame[tcp..<headersEnd]))
        sum.add(payloadSum)
        guard sum.verifies else { return nil }
        return Part(ipLength: ipLength, headersEnd: headersEnd, end: end, sequence: frame.be32(tcp + 4),
                    push: frame[tcp + 13] & TCPFlags.psh.rawValue != 0, payloadSum: payloadSum)
    }

    /// Whether `part` carries on the segment held: same flow and headers, next in sequence, fits.
    private func continues(with part: Part, _ frame: UnsafeRawBufferPointer) -> Bool {
        let ip = ipOffset, tcp = ip + ipLength
        guard part.ipLength == ipLength, part.headersEnd == headersEnd, part.sequence == nextSequence,
              part.payloadLength <= segmentSize, length + part.payloadLength <= ip + Self.maximumPacket else { return false }
        let held = UnsafeRawBufferPointer(buffer)
        func same(_ range: Range<Int>) -> Bool {
            // Eight bytes at a time: the ranges are a few to 40 bytes.
            let a = held.baseAddress!, b = frame.baseAddress!
            var offset = range.lowerBound
            while offset + 8 <= range.upperBound {
                guard a.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                        == b.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                offset += 8
            }
            while offset < range.upperBound {
                guard a.load(fromByteOffset: offset, as: UInt8.self) == b.load(fromByteOffset: offset, as: UInt8.self) else { return false }
                offset += 1
            }
            return true
        }
        let sameIP = ipLength == IPv6Header.length
            ? same(ip..<(ip + 4))                   // version, traffic class, flow label
                && same((ip + 6)..<tcp)             // next header, hop limit, addresses
            : held[ip + 1] == frame[ip + 1]         // TOS
                && same((ip + 6)..<(ip + 10))       // DF, TTL, protocol
                && same((ip + 12)..<tcp)            // addresses
        return sameIP
            && same(0..<ip)                         // MAC addresses and EtherType
            && same(tcp..<(tcp + 4))                // ports
            && same((tcp + 8)..<(tcp + 12))         // acknowledgment number
            && same((tcp + 14)..<(tcp + 16))        // window
            && same((tcp + 18)..<headersEnd)        // urgent pointer, options
    }

    /// Starts a run with `part`: its frame copied up to the end of its IP packet.
    private func hold(_ part: Part, of frame: UnsafeRawBufferPointer) {
        UnsafeMutableRawBufferPointer(rebasing: buffer[..<part.end]).copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[..<part.end]))
        length = part.end
        ipLength = part.ipLength
        headersEnd = part.headersEnd
        segmentSize = part.payloadLength
        payloadLength = part.payloadLength
        nextSequence = part.sequence &+ UInt32(part.payloadLength)
        payloadSum = InternetChecksum()
        payloadSum.add(part.payloadSum)
        segments = 1
    }

    /// Glues `part`'s payload after the data held.
    private func append(_ part: Part, of frame: UnsafeRawBufferPointer) {
        let count = part.payloadLength
        UnsafeMutableRawBufferPointer(rebasing: buffer[length..<(length + count)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[part.headersEnd..<part.end]))
        // RFC 1071 §2(B): a part that starts at an odd offset adds its sum with its bytes swapped.
        payloadSum.add(payloadLength & 1 == 0 ? part.payloadSum : part.payloadSum.byteSwapped)
        if part.push { buffer[ipOffset + ipLength + 13] |= TCPFlags.psh.rawValue }
        length += count
        payloadLength += count
        nextSequence &+= UInt32(count)
        segments += 1
        framesMerged += 1
    }

    /// A glued segment's IP total length (IPv6: payload length) and checksums, for its new length.
    private func rewriteHeaders() {
        let ip = ipOffset, tcp = ip + ipLength
        let total = length - ip
        let held = UnsafeRawBufferPointer(buffer)
        var sum: InternetChecksum
        if ipLength == IPv6Header.length {
            buffer.storeBE16(UInt16(total - ipLength), at: ip + 4)
            sum = InternetChecksum()
            sum.add(UnsafeRawBufferPointer(rebasing: held[(ip + 8)..<(ip + 40)]))
            sum.add(UInt32(total - ipLength))
            sum.add(UInt16(IPProtocol.tcp.rawValue))
        } else {
            buffer.storeBE16(UInt16(total), at: ip + 2)
            buffer.storeBE16(0, at: ip + 10)
            buffer.storeBE16(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: buffer[ip..<tcp])), at: ip + 10)
            sum = InternetChecksum.pseudoHeader(source: IPv4Address(rawValue: held.be32(ip + 12)),
                                                destination: IPv4Address(rawValue: held.be32(ip + 16)),
                                                protocol: .tcp, length: total - ipLength)
        }
        buffer.storeBE16(0, at: tcp + 16)
        sum.add(UnsafeRawBufferPointer(rebasing: held[tcp..<headersEnd]))
        sum.add(payloadSum.foldedSum)
        buffer.storeBE16(sum.checksum, at: tcp + 16)
        segmentsMerged += 1
    }
}
