// Classic libpcap capture files, the format tcpdump and Wireshark read and write.
//
// Reference: the libpcap file format, draft-ietf-opsawg-pcap (§4 file header,
// §5 packet record). A file is a 24-byte header followed by records of a
// 16-byte header and the captured bytes. The writer's byte order decides the
// order of every field; the magic number tells a reader which one it was, and
// whether the sub-second field counts microseconds or nanoseconds.
//
// No file I/O here: the writer produces bytes, the reader takes bytes.

/// One captured frame as a pcap file holds it.
public struct PcapRecord: Sendable, Equatable {
    /// When the frame was captured: nanoseconds since the capture's epoch or origin.
    /// Files with the microsecond magic give multiples of 1000.
    public var nanoseconds: Int64
    /// The frame's length on the wire, which is more than `data.count` when the
    /// capture was truncated to the snap length.
    public var originalLength: Int
    /// The captured bytes, at most the file's snap length.
    public var data: [UInt8]

    /// Makes a record; `originalLength` defaults to the captured length.
    public init(nanoseconds: Int64, originalLength: Int? = nil, data: [UInt8]) {
        self.nanoseconds = nanoseconds
        self.originalLength = originalLength ?? data.count
        self.data = data
    }
}

/// Constants of the classic pcap format (draft-ietf-opsawg-pcap §4, §5).
enum PcapFormat {
    /// Magic of a file with microsecond timestamps, as read in the writer's byte order.
    static let microsecondMagic: UInt32 = 0xA1B2_C3D4
    /// Magic of a file with nanosecond timestamps.
    static let nanosecondMagic: UInt32 = 0xA1B2_3C4D
    /// Version 2.4, the only one in use since 1998.
    static let versionMajor: UInt16 = 2
    static let versionMinor: UInt16 = 4
    /// LINKTYPE_ETHERNET: IEEE 802.3 frames without FCS.
    static let linkTypeEthernet: UInt32 = 1
    /// LINKTYPE_RAW: each record is a bare IP packet (a TUN device's traffic).
    static let linkTypeRawIP: UInt32 = 101
    static let fileHeaderLength = 24
    static let recordHeaderLength = 16
}

/// Builds a classic pcap file in memory: microsecond magic `0xa1b2c3d4`,
/// version 2.4, link type 1 (Ethernet), fields little-endian.
///
/// Bytes accumulate in an internal buffer until ``takeBytes()`` hands them
/// over, so a caller can stream a long capture to a file in pieces. Each
/// ``append(_:nanoseconds:)-(UnsafeRawBufferPointer,_)`` costs one copy of
/// the (possibly truncated) frame plus a 16-byte record header, with
/// amortised growth of the buffer.
public struct PcapWriter: Sendable {
    /// The most bytes kept of any frame; longer frames are truncated and keep
    /// their original length in the record header.
    public let snapLength: Int
    /// Frames appended so far.
    public private(set) var frameCount: Int = 0
    /// Bytes produced but not yet taken.
    private var pending: [UInt8] = []

    /// Starts a capture; the 24-byte file header is the first thing ``takeBytes()`` returns.
    /// Records are Ethernet frames, or bare IP packets when `rawIP` (LINKTYPE_RAW).
    /// - Precondition: `snapLength` is in 1…2³¹−1.
    public init(snapLength: Int = 65535, rawIP: Bool = false) {
        precondition((1...Int(Int32.max)).contains(snapLength), "pcap snap length must be in 1...2^31-1")
        self.snapLength = snapLength
        pending.reserveCapacity(PcapFormat.fileHeaderLength)
        appendLE32(PcapFormat.microsecondMagic)
        appendLE16(PcapFormat.versionMajor)
        appendLE16(PcapFormat.versionMinor)
        appendLE32(0)  // thiszone: timestamps are UTC / the origin's own scale
        appendLE32(0)  // sigfigs: always 0 in practice
        appendLE32(UInt32(snapLength))
        appendLE32(rawIP ? PcapFormat.linkTypeRawIP : PcapFormat.linkTypeEthernet)
    }

    /// Records `frame`, captured at `nanoseconds` since the origin.
    ///
    /// The time is rounded down to a microsecond; times before the origin are
    /// written as 0 and times past 2³² seconds as the last representable second,
    /// since the format's seconds field is an unsigned 32-bit number.
    public mutating func append(_ frame: UnsafeRawBufferPointer, nanoseconds: Int64) {
        let kept = min(frame.count, snapLength)
        let (seconds, remainder) = Self.split(nanoseconds)
        appendLE32(seconds)
        appendLE32(remainder / 1000)
        appendLE32(UInt32(kept))
        appendLE32(UInt32(clamping: frame.count))
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[0..<kept]))
        frameCount += 1
    }

    /// Records `frame`; see ``append(_:nanoseconds:)``.
    public mutating func append(_ frame: [UInt8], nanoseconds: Int64) {
        frame.withUnsafeBytes { append($0, nanoseconds: nanoseconds) }
    }

    /// Hands over every byte produced since the last call (the file header
    /// first, the first time) and empties the internal buffer. Concatenating
    /// the results of all calls gives the whole file.
    public mutating func takeBytes() -> [UInt8] {
        let bytes = pending
        pending = []
        return bytes
    }

    /// Whole seconds (clamped to the format's range) and the nanoseconds left over.
    private static func split(_ nanoseconds: Int64) -> (seconds: UInt32, nanoseconds: UInt32) {
        guard nanoseconds >= 0 else { return (0, 0) }
        let (seconds, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        guard seconds <= Int64(UInt32.max) else { return (UInt32.max, 999_999_999) }
        return (UInt32(seconds), UInt32(remainder))
    }

    private mutating func appendLE16(_ value: UInt16) {
        pending.append(UInt8(truncatingIfNeeded: value))
        pending.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    private mutating func appendLE32(_ value: UInt32) {
        appendLE16(UInt16(truncatingIfNeeded: value))
        appendLE16(UInt16(truncatingIfNeeded: value >> 16))
    }
}

/// Reads classic pcap files of Ethernet frames.
public enum PcapReader {
    /// Parses a whole file into its records.
    ///
    /// Accepts both byte orders and both the microsecond (`0xa1b2c3d4`) and
    /// nanosecond (`0xa1b23c4d`) magic. Costs one pass over the bytes and one
    /// array per record.
    ///
    /// - Throws: `.truncated(.pcap, …)` when the file header or a record runs
    ///   past the end; `.badField(.pcap, …)` for an unknown magic or a sub-second
    ///   field out of range; `.badVersion(.pcap, major)` for a major version other
    ///   than 2; `.unsupported(.pcap, …)` for a link type other than 1 (Ethernet)
    ///   or frames that carry an FCS; `.badLength(.pcap, caplen)` when a record
    ///   claims more bytes than the snap length or than the frame's original length.
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> [PcapRecord] {
        // `withUnsafeBytes` only rethrows untyped errors; carry the typed one out in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(WireError) in try parse(raw) }
        }.get()
    }

    private static func parse(_ raw: UnsafeRawBufferPointer) throws(WireError) -> [PcapRecord] {
        guard raw.count >= PcapFormat.fileHeaderLength else {
            throw .truncated(.pcap, needed: PcapFormat.fileHeaderLength, available: raw.count)
        }
        let magic = raw.loadUnaligned(as: UInt32.self)
        let swapped: Bool
        let nanosecondsPerTick: Int64
        switch magic {
        case PcapFormat.microsecondMagic: (swapped, nanosecondsPerTick) = (false, 1000)
        case PcapFormat.microsecondMagic.byteSwapped: (swapped, nanosecondsPerTick) = (true, 1000)
        case PcapFormat.nanosecondMagic: (swapped, nanosecondsPerTick) = (false, 1)
        case PcapFormat.nanosecondMagic.byteSwapped: (swapped, nanosecondsPerTick) = (true, 1)
        default:
            let shown = raw[0..<4].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            throw .badField(.pcap, "unknown magic number \(shown) (not a classic pcap file)")
        }
        // Fields are in the writer's byte order, which matches ours unless the magic came out swapped.
        func u16(_ offset: Int) -> UInt16 {
            let v = raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
            return swapped ? v.byteSwapped : v
        }
        func u32(_ offset: Int) -> UInt32 {
            let v = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
            return swapped ? v.byteSwapped : v
        }

        let major = u16(4)
        guard major == PcapFormat.versionMajor else { throw .badVersion(.pcap, Int(major)) }
        let snapLength = Int(u32(16))
        // The low 16 bits name the link type; the high bits may announce an FCS on every frame.
        let linkField = u32(20)
        guard linkField & 0xFFFF == PcapFormat.linkTypeEthernet else {
            throw .unsupported(.pcap, "link type \(linkField & 0xFFFF) (only 1, Ethernet, is read)")
        }
        guard linkField >> 16 == 0 else {
            throw .unsupported(.pcap, "link-type flags 0x\(String(linkField >> 16, radix: 16)) (frames with FCS)")
        }

        var records: [PcapRecord] = []
        var offset = PcapFormat.fileHeaderLength
        while offset < raw.count {
            let available = raw.count - offset
            guard available >= PcapFormat.recordHeaderLength else {
                throw .truncated(.pcap, needed: PcapFormat.recordHeaderLength, available: available)
            }
            let seconds = Int64(u32(offset))
            let fraction = Int64(u32(offset + 4))
            let capturedLength = Int(u32(offset + 8))
            let originalLength = Int(u32(offset + 12))
            guard fraction * nanosecondsPerTick < 1_000_000_000 else {
                throw .badField(.pcap, "sub-second timestamp \(fraction) out of range")
            }
            guard capturedLength <= snapLength, capturedLength <= originalLength else {
                throw .badLength(.pcap, capturedLength)
            }
            let body = offset + PcapFormat.recordHeaderLength
            guard raw.count - body >= capturedLength else {
                throw .truncated(.pcap, needed: capturedLength, available: raw.count - body)
            }
            records.append(PcapRecord(
                nanoseconds: seconds * 1_000_000_000 + fraction * nanosecondsPerTick,
                originalLength: originalLength,
                data: Array(raw[body..<(body + capturedLength)])
            ))
            offset = body + capturedLength
        }
        return records
    }
}
