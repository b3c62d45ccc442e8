import NetStackWire

/// Receive coalescing in the adapter (LRO; GRO without a NIC): glues consecutive in-order TCP
/// segments of one connection, as they are stored into the receive ring, into one segment of up
/// to 64 KiB in the ring's newest slot, so TCP input — and its decision to ACK — runs once per run
/// of segments instead of once per frame, and a glued frame costs no copy beyond the one into the ring.
///
/// What may be glued onto the run held (Linux's tcp_gro_receive rules, written anew):
/// - IPv4 without options, not a fragment, or IPv6 with TCP right after the fixed header (no
///   extension header), within the MTU, the TCP checksum (and IPv4's header checksum) verified
///   for every frame before it is glued (a frame that fails is stored as it came, for the stack
///   to count: a bad checksum is still counted; a giant never gets here, the adapter drops it);
/// - flags exactly ACK, or ACK|PSH (PSH ends the run: it is glued, then the run is closed);
///   SYN, FIN, RST, URG, ECE, CWR or a reserved bit are stored alone;
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
/// Anything else closes the run, then takes a slot of its own: one run is open at a time, in
/// the ring's newest slot, so the order of frames across connections is kept. The driver closes
/// the run (``close(in:)``) before it drains the ring. A closed run carries the first frame's
/// headers with PSH from the last, the IP total length (IPv6's payload length) and the checksums
/// rewritten (the TCP one from the per-frame sums, no second pass over the data; IPv6 has no
/// header checksum), so it is a valid segment for anyone who looks (a forwarding host too).
///
/// Marks kept with each stored frame (``FrameRing``): ``Delivery``'s raw values.
///
/// Costs: per TCP data frame, one checksum pass (which the stack then skips) and the one copy
/// into the ring (of the payload only, when glued); no allocation.
///
/// `@unchecked Sendable` as ``FrameRing``: its pointer is into the ring of the adapter that owns both.
package struct ReceiveCoalescer: @unchecked Sendable {
    /// The longest IP packet a run may grow to.
    static let maximumPacket = 65_535
    /// Bytes in front of the IP header: 14 on Ethernet, none on an IP-only link.
    let ipOffset: Int
    /// The longest IP packet of one frame that may be glued: the link's MTU.
    let mtu: Int
    /// The open run's slot (the ring's newest) and the ring's push count when it was stored:
    /// the run is open only while the ring has pushed nothing since and still holds it.
    private var slot: UnsafeMutableRawPointer?
    private var pushesAtOpen = 0
    /// Bytes held in the open run's slot, link header onwards.
    private var length = 0
    /// The run's IP header length: 20 (IPv4 without options) or 40 (IPv6).
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
    /// Runs of two frames or more closed.
    package private(set) var runsClosed = 0

    /// A coalescer for frames whose IP header starts `ipOffset` bytes in, on a link of `mtu`.
    package init(ipOffset: Int, mtu: Int) {
        self.ipOffset = ipOffset
        self.mtu = mtu
    }

    /// What a stored frame is: the mark it is stored with.
    package enum Delivery: UInt32, Equatable {
        /// A frame as it came, not verified here: the stack checks it as any other.
        case asReceived = 0
        /// One frame (up to the end of its IP packet) whose checksums were verified here, or
        /// that the device vouched for.
        case verified = 1
        /// Two frames or more glued, checksums verified and rewritten: longer than the MTU, maybe.
        case glued = 2
    }

    /// Stores `frame` (marked `mark` by the device: 0, or 1 when it vouched for the checksum) in
    /// `ring`: glued onto the open run, as a new slot opening a run, or as a new slot alone.
    /// Returns false when it needed a slot and the ring had none (nothing stored; the open run,
    /// which the frame did not continue, is closed all the same). O(frame length): one checksum
    /// pass and one copy for a TCP data segment.
    package mutating func store(_ frame: UnsafeRawBufferPointer, mark: UInt32, in ring: inout FrameRing) -> Bool {
        guard let part = Self.dataSegment(in: frame, ipOffset: ipOffset, mtu: mtu) else {
            close(in: &ring)
            return ring.push(frame, mark: mark)
        }
        if isOpen(in: ring) {
            if continues(with: part, frame) {
                append(part, of: frame, in: &ring)
                if part.push || part.payloadLength < segmentSize { close(in: &ring) }
                return true
            }
            close(in: &ring)
        }
        let stored = UnsafeRawBufferPointer(rebasing: frame[..<part.end])
        var start: UnsafeMutableRawPointer?
        guard ring.push(length: stored.count, mark: Delivery.verified.rawValue, { slot in
            slot.copyMemory(from: stored)
            start = slot.baseAddress
        }) else { return false }
        // A PSH segment ends its own run; one that fills a slot's worth of IP cannot grow.
        if !part.push, ring.slotSize >= ipOffset + Self.maximumPacket, let start { open(part, at: start, in: ring) }
        return true
    }

    /// Closes the open run, if any: a glued one's headers rewritten for its length. The driver
    /// calls this before it reads the ring. O(headers).
    package mutating func close(in ring: inout FrameRing) {
        guard isOpen(in: ring) else {
            slot = nil
            return
        }
        if segments > 1 {
            rewriteHeaders()
            ring.markNewest(Delivery.glued.rawValue)
        }
        slot = nil
    }

    /// Whether a run is open and its slot is still the ring's newest, unread.
    func isOpen(in ring: borrowing FrameRing) -> Bool {
        slot != nil && ring.pushes == pushesAtOpen && !ring.isEmpty
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

    /// Whether `part` carries on the run held: same flow and headers, next in sequence, fits.
    private func continues(with part: Part, _ frame: UnsafeRawBufferPointer) -> Bool {
        let ip = ipOffset, tcp = ip + ipLength
        guard part.ipLength == ipLength, part.headersEnd == headersEnd, part.sequence == nextSequence,
              part.payloadLength <= segmentSize, length + part.payloadLength <= ip + Self.maximumPacket,
              let slot else { return false }
        let held = UnsafeRawPointer(slot)
        let incoming = frame.baseAddress!
        func same(_ range: Range<Int>) -> Bool {
            // Eight bytes at a time: the ranges are a few to 40 bytes.
            var offset = range.lowerBound
            while offset + 8 <= range.upperBound {
                guard held.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                        == incoming.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                offset += 8
            }
            while offset < range.upperBound {
                guard held.load(fromByteOffset: offset, as: UInt8.self) == incoming.load(fromByteOffset: offset, as: UInt8.self) else { return false }
                offset += 1
            }
            return true
        }
        let sameIP = ipLength == IPv6Header.length
            ? same(ip..<(ip + 4))                   // version, traffic class, flow label
                && same((ip + 6)..<tcp)             // next header, hop limit, addresses
            : held.load(fromByteOffset: ip + 1, as: UInt8.self) == frame[ip + 1]  // TOS
                && same((ip + 6)..<(ip + 10))       // DF, TTL, protocol
                && same((ip + 12)..<tcp)            // addresses
        return sameIP
            && same(0..<ip)                         // MAC addresses and EtherType
            && same(tcp..<(tcp + 4))                // ports
            && same((tcp + 8)..<(tcp + 12))         // acknowledgment number
            && same((tcp + 14)..<(tcp + 16))        // window
            && same((tcp + 18)..<headersEnd)        // urgent pointer, options
    }

    /// Opens a run on `part`, just stored at `start` as the ring's newest slot.
    private mutating func open(_ part: Part, at start: UnsafeMutableRawPointer, in ring: borrowing FrameRing) {
        slot = start
        pushesAtOpen = ring.pushes
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

    /// Glues `part`'s payload after the data held, in the run's slot.
    private mutating func append(_ part: Part, of frame: UnsafeRawBufferPointer, in ring: inout FrameRing) {
        guard let slot else { return }
        let count = part.payloadLength
        (slot + length).copyMemory(from: frame.baseAddress! + part.headersEnd, byteCount: count)
        // RFC 1071 §2(B): a part that starts at an odd offset adds its sum with its bytes swapped.
        payloadSum.add(payloadLength & 1 == 0 ? part.payloadSum : part.payloadSum.byteSwapped)
        if part.push {
            let flags = slot.load(fromByteOffset: ipOffset + ipLength + 13, as: UInt8.self)
            slot.storeBytes(of: flags | TCPFlags.psh.rawValue, toByteOffset: ipOffset + ipLength + 13, as: UInt8.self)
        }
        length += count
        payloadLength += count
        nextSequence &+= UInt32(count)
        segments += 1
        framesMerged += 1
        ring.resizeNewest(to: length)
    }

    /// A glued run's IP total length (IPv6: payload length) and checksums, for its new length.
    private mutating func rewriteHeaders() {
        guard let slot else { return }
        let buffer = UnsafeMutableRawBufferPointer(start: slot, count: length)
        let held = UnsafeRawBufferPointer(buffer)
        let ip = ipOffset, tcp = ip + ipLength
        let total = length - ip
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
            buffer.storeBE16(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: held[ip..<tcp])), at: ip + 10)
            sum = InternetChecksum.pseudoHeader(source: IPv4Address(rawValue: held.be32(ip + 12)),
                                                destination: IPv4Address(rawValue: held.be32(ip + 16)),
                                                protocol: .tcp, length: total - ipLength)
        }
        buffer.storeBE16(0, at: tcp + 16)
        sum.add(UnsafeRawBufferPointer(rebasing: held[tcp..<headersEnd]))
        sum.add(payloadSum.foldedSum)
        buffer.storeBE16(sum.checksum, at: tcp + 16)
        runsClosed += 1
    }
}
