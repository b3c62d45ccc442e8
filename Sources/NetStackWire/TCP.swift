// The TCP header. RFCs to read: RFC 9293 (TCP, §3.1 header format, §3.4
// sequence numbers), RFC 7323 (window scale, timestamps), RFC 2018 (SACK),
// RFC 3168 §6.1 (ECE and CWR).

/// The TCP control bits (RFC 9293 §3.1; ECE and CWR from RFC 3168 §23.2),
/// the 13th byte of the header.
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The flag byte as it travels in the header.
    public let rawValue: UInt8
    /// Makes a flag set from the header byte.
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// No more data from the sender.
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x01) }
    /// Synchronize sequence numbers.
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x02) }
    /// Reset the connection.
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x04) }
    /// Push function.
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x08) }
    /// The acknowledgment number is significant.
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x10) }
    /// The urgent pointer is significant.
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x20) }
    /// ECN-Echo (RFC 3168).
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x40) }
    /// Congestion Window Reduced (RFC 3168).
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x80) }

    /// The names tshark prints, in its order: `FIN, SYN, RST, PSH, ACK, URG, ECE, CWR`.
    public var description: String {
        let names: [(TCPFlags, String)] = [(.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"),
                                           (.ack, "ACK"), (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}

/// A TCP header (RFC 9293 §3.1), options included.
///
/// `parse` validates the data offset, the option list and (with addresses, unless
/// told not to) the checksum over the IPv4 or IPv6 pseudo-header; after it succeeds no field read
/// can fail. It allocates nothing: options are held in fixed fields
/// (``TCPOptions``). `emit` writes the header and computes the checksum over
/// the header and the payload the caller has placed after it.
///
/// The four reserved bits between the data offset and the flags are ignored
/// when read and sent as zero (RFC 9293 §3.1).
public struct TCPHeader: Hashable, Sendable, CustomStringConvertible {
    /// The sending application's port.
    public var sourcePort: UInt16
    /// The receiving application's port.
    public var destinationPort: UInt16
    /// The sequence number of the first data byte (of the SYN, when SYN is set).
    public var sequenceNumber: SequenceNumber
    /// The next sequence number the sender expects; significant when ACK is set.
    public var acknowledgmentNumber: SequenceNumber
    /// The control bits (SYN, ACK, FIN, …).
    public var flags: TCPFlags
    /// The receive window, not yet scaled by the window scale option (RFC 7323 §2.3).
    public var window: UInt16
    /// The checksum as read by `parse`; `emit` ignores it and computes a fresh one.
    public var checksum: UInt16 = 0
    /// Offset from this segment's sequence number to the byte after urgent data; significant when URG is set.
    public var urgentPointer: UInt16 = 0
    /// The options. Setting them sets ``headerLength`` to `20 + options.encodedLength`.
    public var options: TCPOptions {
        @inlinable get { storedOptions }
        @inlinable set {
            storedOptions = newValue
            storedHeaderLength = Self.minimumLength + newValue.encodedLength
        }
        @inlinable _modify {
            defer { storedHeaderLength = Self.minimumLength + storedOptions.encodedLength }
            yield &storedOptions
        }
    }
    /// Storage for ``options``. Writing it directly leaves ``headerLength`` alone, which is what
    /// parsing wants (the received data offset stands); everything else goes through `options`.
    @usableFromInline var storedOptions: TCPOptions
    /// The header size in bytes, the data offset × 4: where the payload starts.
    ///
    /// For a parsed header it is the data offset received (which may include
    /// options NetStack does not keep, or padding); for a header built or whose
    /// options were set, `20 + options.encodedLength`. `emit` writes exactly
    /// this many bytes.
    @inlinable public var headerLength: Int { storedHeaderLength }
    /// Storage for ``headerLength``: the data offset for a parsed header, else `20 + options.encodedLength`.
    @usableFromInline var storedHeaderLength: Int

    /// Header size without options.
    public static let minimumLength = 20
    /// Header size with the most options a data offset can express (15 × 4).
    public static let maximumLength = 60

    /// A header with `options`; ``headerLength`` follows from them. Inlinable, so that a header
    /// is built field by field where the caller keeps it, not copied out of a call.
    @inlinable public init(sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: SequenceNumber,
                acknowledgmentNumber: SequenceNumber = 0, flags: TCPFlags, window: UInt16,
                urgentPointer: UInt16 = 0, options: TCPOptions = TCPOptions()) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.urgentPointer = urgentPointer
        self.storedOptions = options
        self.storedHeaderLength = Self.minimumLength + options.encodedLength
    }

    // MARK: Parsing

    /// Parses the TCP segment in `segment` (the whole IP payload, exactly
    /// `totalLength − IP header length` bytes: no link-layer padding) and
    /// verifies its checksum over the pseudo-header of `source` and
    /// `destination` (RFC 9293 §3.1). Costs one checksum pass over the segment
    /// and one walk over at most 40 option bytes; allocates nothing.
    ///
    /// - Throws: `.truncated(.tcp, …)` below 20 bytes or when the data offset
    ///   runs past the segment; `.badHeaderLength(.tcp, n)` for a data offset
    ///   below 5 words; `.badChecksum(.tcp)`; `.badOption(.tcp, …)` for a
    ///   malformed option (see ``TCPOptions/parse(_:headerOffset:)``).
    public static func parse(_ segment: UnsafeRawBufferPointer, source: IPv4Address,
                             destination: IPv4Address) throws(WireError) -> TCPHeader {
        try parse(segment, source: .v4(source), destination: .v4(destination))
    }

    /// Parses and verifies a segment as above, over the pseudo-header of either IP version.
    /// `verifyingChecksum` false skips the checksum pass: for a segment whose device vouched
    /// for it (checksum offload); every other check still applies.
    @inlinable @inline(__always)  // built where the caller keeps it: no copy right after the stores
    public static func parse(_ segment: UnsafeRawBufferPointer, source: IPAddress,
                             destination: IPAddress, verifyingChecksum: Bool = true) throws(WireError) -> TCPHeader {
        let dataOffset = try checkedDataOffset(segment)
        if verifyingChecksum {
            var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .tcp,
                                                    length: segment.count)
            sum.add(segment)
            guard sum.verifies else { throw .badChecksum(.tcp) }
        }
        return try parseFields(segment, dataOffset: dataOffset)
    }

    /// Parses the TCP header at the start of `segment` without checking the
    /// checksum: for a segment verified already, or the first bytes of a TCP
    /// header quoted in an ICMP error (then at least the full header must be
    /// present). Costs one walk over at most 40 option bytes; allocates nothing.
    ///
    /// - Throws: the same errors as `parse(_:source:destination:)` but `.badChecksum`.
    public static func parse(_ segment: UnsafeRawBufferPointer) throws(WireError) -> TCPHeader {
        let dataOffset = try checkedDataOffset(segment)
        return try parseFields(segment, dataOffset: dataOffset)
    }

    /// The header length in bytes, checked against the minimum and the bytes at hand.
    @inlinable
    static func checkedDataOffset(_ segment: UnsafeRawBufferPointer) throws(WireError) -> Int {
        guard segment.count >= minimumLength else {
            throw .truncated(.tcp, needed: minimumLength, available: segment.count)
        }
        let dataOffset = Int(segment[12] >> 4) * 4
        guard dataOffset >= minimumLength else { throw .badHeaderLength(.tcp, dataOffset) }
        guard dataOffset <= segment.count else {
            throw .truncated(.tcp, needed: dataOffset, available: segment.count)
        }
        return dataOffset
    }

    /// The fields, then the options parsed straight into the header being returned (no
    /// options value built aside and copied in: that copy stalled on the stores just made).
    @inlinable @inline(__always)
    static func parseFields(_ segment: UnsafeRawBufferPointer, dataOffset: Int) throws(WireError) -> TCPHeader {
        var header = TCPHeader(sourcePort: segment.be16(0), destinationPort: segment.be16(2),
                               sequenceNumber: SequenceNumber(segment.be32(4)),
                               acknowledgmentNumber: SequenceNumber(segment.be32(8)),
                               flags: TCPFlags(rawValue: segment[13]), window: segment.be16(14),
                               urgentPointer: segment.be16(18))
        header.checksum = segment.be16(16)
        header.storedHeaderLength = dataOffset
        if dataOffset > minimumLength {
            try TCPOptions.parse(UnsafeRawBufferPointer(rebasing: segment[minimumLength..<dataOffset]),
                                 headerOffset: minimumLength, into: &header.storedOptions)
        }
        return header
    }

    // MARK: Emitting

    /// Writes the header at the start of `segment` and the checksum over the
    /// pseudo-header of `source`/`destination`, the header and the
    /// `payloadLength` payload bytes the caller has already placed at
    /// `segment[headerLength...]`. Costs one checksum pass over the segment.
    ///
    /// Options go in Linux's order (``TCPOptions/emit(into:)``); if
    /// ``headerLength`` is larger than they need (a parsed header that carried
    /// options NetStack does not keep), the rest is filled with End of Option
    /// List bytes (zeros), so the payload stays where it was.
    ///
    /// `partialChecksum`: leave only the pseudo-header sum in the checksum field, for a
    /// device that finishes it (virtio-net NEEDS_CSUM, Linux's CHECKSUM_PARTIAL): no pass
    /// over the payload at all.
    ///
    /// Precondition: `segment` holds at least `headerLength + payloadLength` bytes.
    public func emit(into segment: UnsafeMutableRawBufferPointer, payloadLength: Int,
                     source: IPv4Address, destination: IPv4Address, partialChecksum: Bool = false) {
        emit(into: segment, payloadLength: payloadLength, source: .v4(source), destination: .v4(destination),
             partialChecksum: partialChecksum)
    }

    /// Writes the header as above, the checksum over the pseudo-header of either IP version.
    public func emit(into segment: UnsafeMutableRawBufferPointer, payloadLength: Int,
                     source: IPAddress, destination: IPAddress, partialChecksum: Bool = false) {
        let length = headerLength + payloadLength
        precondition(payloadLength >= 0 && segment.count >= length,
                     "TCP segment buffer needs \(length) bytes")
        segment.storeBE16(sourcePort, at: 0)
        segment.storeBE16(destinationPort, at: 2)
        segment.storeBE32(sequenceNumber.rawValue, at: 4)
        segment.storeBE32(acknowledgmentNumber.rawValue, at: 8)
        segment[12] = UInt8(headerLength / 4) << 4
        segment[13] = flags.rawValue
        segment.storeBE16(window, at: 14)
        segment.storeBE16(0, at: 16)
        segment.storeBE16(urgentPointer, at: 18)
        let optionSpace = UnsafeMutableRawBufferPointer(rebasing: segment[Self.minimumLength..<headerLength])
        let written = options.emit(into: optionSpace)
        for i in written..<optionSpace.count { optionSpace[i] = 0 }
        var sum = InternetChecksum.pseudoHeader(source: source, destination: destination, protocol: .tcp, length: length)
        if partialChecksum {
            segment.storeBE16(sum.foldedSum, at: 16)
            return
        }
        sum.add(UnsafeRawBufferPointer(rebasing: segment[0..<length]))
        segment.storeBE16(sum.checksum, at: 16)
    }

    /// One line in the manner of tshark:
    /// `TCP 35512 → 8080 [SYN] seq 2010113226 win 65280 <mss 960,sackOK,…>` (ack only with ACK set).
    public var description: String {
        var text = "TCP \(sourcePort) → \(destinationPort) [\(flags)] seq \(sequenceNumber)"
        if flags.contains(.ack) { text += " ack \(acknowledgmentNumber)" }
        text += " win \(window)"
        if flags.contains(.urg) { text += " urg \(urgentPointer)" }
        if !options.isEmpty { text += " <\(options)>" }
        return text
    }
}
