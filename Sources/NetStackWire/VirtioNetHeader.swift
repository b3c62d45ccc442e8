/// The 10-byte `struct virtio_net_hdr` (linux/virtio_net.h, virtio 1.x §5.1.6)
/// that a TAP or TUN device opened with `IFF_VNET_HDR` puts in front of every
/// frame: how the checksum and the segmentation of the frame are left to the
/// other side.
///
/// Layout (the legacy header NetStack asks for with `TUNSETVNETHDRSZ` 10; the
/// 12-byte `virtio_net_hdr_v1` only appends `num_buffers`):
///
///     offset 0  u8     flags        NEEDS_CSUM (1), DATA_VALID (2)
///     offset 1  u8     gso_type     NONE (0), TCPV4 (1), UDP (3), TCPV6 (4), ECN bit (0x80)
///     offset 2  le16   hdr_len      bytes of headers in front of the payload (a hint)
///     offset 4  le16   gso_size     payload bytes per segment to cut
///     offset 6  le16   csum_start   where the checksummed range starts (from the frame's first byte)
///     offset 8  le16   csum_offset  where, from csum_start, the checksum goes (16 for TCP, 6 for UDP)
///
/// The fields are little-endian: the kernel reads them in the machine's order
/// unless `TUNSETVNETBE` says otherwise, and NetStack runs on little-endian
/// machines (the device also sets `TUNSETVNETLE`, so a big-endian one would agree).
///
/// ``VirtioNetHeader/View`` reads the fields in place after one length check;
/// the struct itself is the parsed form with ``parse(_:)`` and ``emit(into:)``.
public struct VirtioNetHeader: Hashable, Sendable, CustomStringConvertible {
    /// Bytes of the header on the device (`TUNSETVNETHDRSZ`).
    public static let length = 10

    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `checksumStart + checksumOffset` holds only the
    /// pseudo-header sum; the one's-complement sum from `checksumStart` to the end still has to go in.
    public static let needsChecksum: UInt8 = 1
    /// `VIRTIO_NET_HDR_F_DATA_VALID`: the sender vouches for the checksums (they were checked or never damaged).
    public static let dataValid: UInt8 = 2

    /// `VIRTIO_NET_HDR_GSO_*`: how a frame longer than one segment is to be cut.
    public struct GSOType: RawRepresentable, Hashable, Sendable {
        public let rawValue: UInt8
        @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// One segment: nothing to cut.
        @inlinable public static var none: GSOType { GSOType(rawValue: 0) }
        /// TCP over IPv4, cut every `gsoSize` payload bytes.
        @inlinable public static var tcpV4: GSOType { GSOType(rawValue: 1) }
        /// UDP fragmentation offload (deprecated by Linux).
        @inlinable public static var udp: GSOType { GSOType(rawValue: 3) }
        /// TCP over IPv6.
        @inlinable public static var tcpV6: GSOType { GSOType(rawValue: 4) }
        /// Bit set with the TCP types when the segments carry ECN's CWR.
        @inlinable public static var ecn: GSOType { GSOType(rawValue: 0x80) }
        /// The type without the ECN bit.
        @inlinable public var kind: GSOType { GSOType(rawValue: rawValue & 0x7F) }
    }

    /// NEEDS_CSUM and DATA_VALID bits.
    public var flags: UInt8
    /// How to cut the frame.
    public var gsoType: GSOType
    /// Bytes of the link, IP and transport headers (Linux treats it as a hint).
    public var headerLength: UInt16
    /// Payload bytes per segment when `gsoType` is not `.none` (the MSS).
    public var gsoSize: UInt16
    /// Offset of the first byte summed for the checksum (the transport header).
    public var checksumStart: UInt16
    /// Offset of the checksum field from `checksumStart`.
    public var checksumOffset: UInt16

    /// A header with every field given (all zero by default: a complete frame, nothing to do).
    @inlinable
    public init(flags: UInt8 = 0, gsoType: GSOType = .none, headerLength: UInt16 = 0, gsoSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// A complete frame: no checksum to finish, nothing to cut.
    public static let plain = VirtioNetHeader()

    /// True when NEEDS_CSUM is set.
    @inlinable public var needsChecksum: Bool { flags & Self.needsChecksum != 0 }

    /// Whether the transport checksum of `frame` (the bytes after the header, the IP header at
    /// `ipOffset`: 14 on a TAP, 0 on a TUN) need not be verified. DATA_VALID: the kernel verified
    /// it. NEEDS_CSUM: only when the header points where a kernel would — `checksumStart` at the
    /// transport header of an IPv4 packet, or of an IPv6 packet whose fixed header is followed
    /// directly by TCP or UDP (no extension headers), and `checksumOffset` at TCP's (16) or
    /// UDP's (6) checksum field — so a forged header cannot switch verification off for some
    /// other field. Reads at most three bytes of the frame; O(1).
    @inlinable
    public func trustsChecksum(of frame: UnsafeRawBufferPointer, ipOffset: Int) -> Bool {
        if flags & Self.dataValid != 0 { return true }
        guard needsChecksum, ipOffset >= 0, ipOffset + 20 <= frame.count else { return false }
        let versionAndLength = frame[ipOffset]
        let transport: Int
        let nextProtocol: UInt8
        switch versionAndLength >> 4 {
        case 4:
            transport = ipOffset + Int(versionAndLength & 0x0F) * 4
            nextProtocol = frame[ipOffset + 9]
        case 6:
            guard ipOffset + 40 <= frame.count else { return false }
            transport = ipOffset + 40
            nextProtocol = frame[ipOffset + 6]
        default:
            return false
        }
        let field: Int
        switch nextProtocol {
        case 6: field = 16
        case 17: field = 6
        default: return false
        }
        return Int(checksumStart) == transport && Int(checksumOffset) == field && transport + field + 2 <= frame.count
    }

    /// A TCP super-segment for the kernel to cut into `segmentSize`-byte segments, its TCP checksum
    /// left partial (pseudo-header sum only) at `transportOffset` + 16, `headersLength` bytes of headers.
    /// `ipv6`: the segment rides on IPv6 (gso_type TCPV6, the kernel's TSO6), else on IPv4 (TCPV4). O(1).
    @inlinable
    public static func tcpSegmentation(transportOffset: Int, headersLength: Int, segmentSize: Int,
                                       ipv6: Bool = false) -> VirtioNetHeader {
        VirtioNetHeader(flags: needsChecksum, gsoType: ipv6 ? .tcpV6 : .tcpV4,
                        headerLength: UInt16(truncatingIfNeeded: headersLength),
                        gsoSize: UInt16(truncatingIfNeeded: segmentSize),
                        checksumStart: UInt16(truncatingIfNeeded: transportOffset), checksumOffset: 16)
    }

    /// Reads the header at the start of `bytes`. Throws `.truncated` below 10 bytes. Allocates nothing.
    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> VirtioNetHeader {
        try View(bytes).header
    }

    /// Writes the 10 header bytes at the start of `buffer` (at least 10 bytes long).
    @inlinable
    public func emit(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.length, "virtio-net header needs 10 bytes")
        buffer[0] = flags
        buffer[1] = gsoType.rawValue
        buffer.storeBytes(of: headerLength.littleEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: gsoSize.littleEndian, toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: checksumStart.littleEndian, toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: checksumOffset.littleEndian, toByteOffset: 8, as: UInt16.self)
    }

    /// Finishes a NEEDS_CSUM checksum in `frame` (the bytes after the header) the way the
    /// receiving side would: adds the one's-complement sum of `frame[checksumStart...]`
    /// (whose checksum field holds the pseudo-header sum) and stores its complement.
    /// Returns false, changing nothing, when the offsets fall outside the frame. One
    /// checksum pass over the transport segment; for captures, which must show a valid checksum.
    @discardableResult
    public func completeChecksum(in frame: UnsafeMutableRawBufferPointer) -> Bool {
        let start = Int(checksumStart), field = start + Int(checksumOffset)
        guard needsChecksum, field + 2 <= frame.count, start < frame.count else { return false }
        var sum = InternetChecksum()
        sum.add(UnsafeRawBufferPointer(rebasing: frame[start...]))
        frame.storeBE16(sum.checksum, at: field)
        return true
    }

    /// "vnet csum 34+16 gso tcp4/1448 hdr 66", or "vnet plain".
    public var description: String {
        var parts: [String] = []
        if needsChecksum { parts.append("csum \(checksumStart)+\(checksumOffset)") }
        if flags & Self.dataValid != 0 { parts.append("valid") }
        switch gsoType.kind {
        case .none: break
        case .tcpV4: parts.append("gso tcp4/\(gsoSize)")
        case .tcpV6: parts.append("gso tcp6/\(gsoSize)")
        default: parts.append("gso \(gsoType.rawValue)/\(gsoSize)")
        }
        if headerLength != 0 { parts.append("hdr \(headerLength)") }
        return "vnet " + (parts.isEmpty ? "plain" : parts.joined(separator: " "))
    }
}

extension VirtioNetHeader {
    /// A checked view over the header at the start of borrowed bytes: after
    /// ``init(_:)`` succeeds, no accessor can fail. Reads fields in place, no copy.
    public struct View {
        /// The bytes the header starts; at least ``VirtioNetHeader/length`` of them.
        public let bytes: UnsafeRawBufferPointer

        /// Checks that `bytes` holds a whole header. Throws `.truncated(.virtio, …)`.
        @inlinable
        public init(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
            guard bytes.count >= VirtioNetHeader.length else {
                throw .truncated(.virtio, needed: VirtioNetHeader.length, available: bytes.count)
            }
            self.bytes = bytes
        }

        /// A view over bytes the caller knows hold at least ``VirtioNetHeader/length`` (its own buffer).
        @inlinable
        public init(unchecked bytes: UnsafeRawBufferPointer) {
            assert(bytes.count >= VirtioNetHeader.length)
            self.bytes = bytes
        }

        @inlinable func le16(_ offset: Int) -> UInt16 {
            UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        }

        /// The flags byte.
        @inlinable public var flags: UInt8 { bytes[0] }
        /// The GSO type byte.
        @inlinable public var gsoType: GSOType { GSOType(rawValue: bytes[1]) }
        /// `hdr_len`.
        @inlinable public var headerLength: UInt16 { le16(2) }
        /// `gso_size`.
        @inlinable public var gsoSize: UInt16 { le16(4) }
        /// `csum_start`.
        @inlinable public var checksumStart: UInt16 { le16(6) }
        /// `csum_offset`.
        @inlinable public var checksumOffset: UInt16 { le16(8) }
        /// The parsed form.
        @inlinable public var header: VirtioNetHeader {
            VirtioNetHeader(flags: flags, gsoType: gsoType, headerLength: headerLength, gsoSize: gsoSize,
                            checksumStart: checksumStart, checksumOffset: checksumOffset)
        }
    }
}
