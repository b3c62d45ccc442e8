// TCP options (RFC 9293 §3.1 and §3.2): the kinds NetStack reads and writes.
//
//   kind 0  End of Option List            1 byte                 RFC 9293 §3.2
//   kind 1  No-Operation                  1 byte                 RFC 9293 §3.2
//   kind 2  Maximum Segment Size          4 bytes, SYN only      RFC 9293 §3.7.1
//   kind 3  Window Scale                  3 bytes, SYN only      RFC 7323 §2
//   kind 4  SACK-Permitted                2 bytes, SYN only      RFC 2018 §2
//   kind 5  SACK                          2 + 8n bytes, n 1…4    RFC 2018 §3
//   kind 8  Timestamps                    10 bytes               RFC 7323 §3
//
// Everything is stored in fixed fields, so parsing allocates nothing.

/// The TCP Timestamps option (RFC 7323 §3.2): the sender's clock and the
/// echo of the peer's latest one.
public struct TCPTimestamps: Hashable, Sendable {
    /// TSval: the sender's timestamp clock when it sent the segment.
    public var value: UInt32
    /// TSecr: the most recent TSval received from the peer (0 on a first SYN).
    public var echo: UInt32

    /// Makes a Timestamps option.
    @inlinable public init(value: UInt32, echo: UInt32) {
        self.value = value
        self.echo = echo
    }
}

/// One SACK block (RFC 2018 §3): the receiver holds the bytes from `left` up
/// to, but not including, `right`.
public struct TCPSACKBlock: Hashable, Sendable, CustomStringConvertible {
    /// The first sequence number of the block.
    public var left: SequenceNumber
    /// The sequence number just after the last byte of the block.
    public var right: SequenceNumber

    /// Makes a block covering `left ..< right`.
    @inlinable public init(left: SequenceNumber, right: SequenceNumber) {
        self.left = left
        self.right = right
    }

    /// `left-right`, as tcpdump prints a SACK block.
    public var description: String { "\(left)-\(right)" }
}

/// Up to four SACK blocks (RFC 2018 §3: a 40-byte option space holds at most
/// four), stored inline: no heap allocation, O(1) access. Behaves as a
/// random-access collection of ``TCPSACKBlock``, most recent block first.
public struct TCPSACKBlocks: RandomAccessCollection, Hashable, Sendable, ExpressibleByArrayLiteral {
    /// The most blocks one option can carry.
    public static let capacity = 4

    @usableFromInline var b0 = TCPSACKBlock(left: 0, right: 0)
    @usableFromInline var b1 = TCPSACKBlock(left: 0, right: 0)
    @usableFromInline var b2 = TCPSACKBlock(left: 0, right: 0)
    @usableFromInline var b3 = TCPSACKBlock(left: 0, right: 0)
    @usableFromInline var storedCount = 0

    /// No blocks.
    @inlinable public init() {}

    /// The blocks of `elements`, in order. Precondition: at most four.
    public init(arrayLiteral elements: TCPSACKBlock...) {
        precondition(elements.count <= Self.capacity, "a SACK option holds at most 4 blocks")
        for block in elements { append(block) }
    }

    /// Adds a block at the end. Precondition: fewer than four blocks held.
    @inlinable public mutating func append(_ block: TCPSACKBlock) {
        precondition(storedCount < Self.capacity, "a SACK option holds at most 4 blocks")
        storedCount += 1
        self[storedCount - 1] = block
    }

    /// Removes every block.
    @inlinable public mutating func removeAll() { storedCount = 0 }

    /// Always 0.
    @inlinable public var startIndex: Int { 0 }
    /// The number of blocks held, 0…4.
    @inlinable public var endIndex: Int { storedCount }

    /// The block at `index` (0 is the first block in the option).
    @inlinable public subscript(index: Int) -> TCPSACKBlock {
        get {
            precondition(index >= 0 && index < storedCount, "SACK block index out of range")
            switch index {
            case 0: return b0
            case 1: return b1
            case 2: return b2
            default: return b3
            }
        }
        set {
            precondition(index >= 0 && index < storedCount, "SACK block index out of range")
            switch index {
            case 0: b0 = newValue
            case 1: b1 = newValue
            case 2: b2 = newValue
            default: b3 = newValue
            }
        }
    }

    /// Equal when the same blocks are held in the same order (unused slots do not count).
    public static func == (a: TCPSACKBlocks, b: TCPSACKBlocks) -> Bool { a.elementsEqual(b) }

    /// Hashes the blocks held.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(storedCount)
        for block in self { hasher.combine(block) }
    }
}

/// The options of one TCP segment, each kind NetStack understands in its own
/// field (RFC 9293 §3.1). Parsing fills them without allocating; unknown kinds
/// are skipped by their length.
///
/// ``emit(into:)`` writes them in the order and alignment Linux uses, so a
/// header NetStack builds matches the kernel's byte for byte:
/// SYN `MSS, SACK-Permitted, Timestamps, NOP, Window Scale`; without SACK-Permitted
/// `MSS, NOP, NOP, Timestamps, …`; data segments `NOP, NOP, Timestamps`; SACK
/// blocks last behind `NOP, NOP`. Every option group is 4-byte aligned, so no
/// trailing padding is ever needed.
public struct TCPOptions: Hashable, Sendable, CustomStringConvertible {
    /// Maximum Segment Size (kind 2, RFC 9293 §3.7.1): the largest segment
    /// payload the sender can receive. Only meaningful on a SYN.
    public var mss: UInt16?
    /// Window Scale shift count (kind 3, RFC 7323 §2.2), 0…14. Only meaningful on a SYN.
    /// A received value above 14 is read as 14, as RFC 7323 §2.3 requires
    /// ("MUST use 14 instead of the specified value").
    public var windowScale: UInt8?
    /// SACK-Permitted (kind 4, RFC 2018 §2). Only meaningful on a SYN.
    public var sackPermitted: Bool = false
    /// Timestamps (kind 8, RFC 7323 §3.2).
    public var timestamps: TCPTimestamps?
    /// SACK blocks (kind 5, RFC 2018 §3), at most four; empty when the option is absent.
    public var sackBlocks = TCPSACKBlocks()

    /// The largest window scale shift a TCP may use (RFC 7323 §2.3).
    public static let maximumWindowScale: UInt8 = 14
    /// The most option bytes a header can hold: data offset 15 × 4 − 20.
    public static let maximumLength = 40

    /// Options with the given fields set; no options at all by default.
    @inlinable
    public init(mss: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
                timestamps: TCPTimestamps? = nil, sackBlocks: TCPSACKBlocks = TCPSACKBlocks()) {
        self.mss = mss
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.timestamps = timestamps
        self.sackBlocks = sackBlocks
    }

    /// True when no option is set.
    @inlinable public var isEmpty: Bool {
        mss == nil && windowScale == nil && !sackPermitted && timestamps == nil && sackBlocks.isEmpty
    }

    // MARK: Parsing

    /// Parses the option bytes of a TCP header (the bytes between offset 20 and
    /// the data offset). `headerOffset` is where `options` starts in the header
    /// (20), so that errors report offsets within the header.
    ///
    /// Walks the list once (O(n), n ≤ 40), allocating nothing. End of Option List
    /// stops the walk; No-Operation is skipped; other kinds carry a length byte.
    /// Unknown kinds are skipped by that length. When a kind appears twice, the
    /// later one wins.
    ///
    /// - Throws: `.badOption(.tcp, kind:, offset:)` when an option's length byte
    ///   is missing, below 2, or runs past the header; when MSS, Window Scale,
    ///   SACK-Permitted or Timestamps do not have their fixed length (4, 3, 2,
    ///   10); or when a SACK option's length is not 2 + 8n with n ≥ 1.
    public static func parse(_ options: UnsafeRawBufferPointer, headerOffset: Int = TCPHeader.minimumLength)
        throws(WireError) -> TCPOptions {
        var result = TCPOptions()
        try parse(options, headerOffset: headerOffset, into: &result)
        return result
    }

    /// Parses as ``parse(_:headerOffset:)`` into `result` (no options set, as `TCPOptions()`), in
    /// place: a header being parsed gets its options without a copy of the whole value.
    @usableFromInline
    static func parse(_ options: UnsafeRawBufferPointer, headerOffset: Int, into result: inout TCPOptions)
        throws(WireError) {
        let count = options.count
        // The layout of nearly every data segment and ACK (RFC 7323 Appendix A): NOP, NOP,
        // Timestamps and nothing else — read without walking the list, as Linux does.
        if count == 12, options.be32(0) == 0x0101_080A {
            result.timestamps = TCPTimestamps(value: options.be32(4), echo: options.be32(8))
            return
        }
        var i = 0
        while i < count {
            let kind = options[i]
            if kind == 0 { break }
            if kind == 1 { i += 1; continue }
            guard i + 1 < count else { throw .badOption(.tcp, kind: kind, offset: headerOffset + i) }
            let length = Int(options[i + 1])
            guard length >= 2, i + length <= count else { throw .badOption(.tcp, kind: kind, offset: headerOffset + i) }
            let expected: Int? = switch kind {
            case 2: 4
            case 3: 3
            case 4: 2
            case 8: 10
            default: nil
            }
            if let expected, length != expected { throw .badOption(.tcp, kind: kind, offset: headerOffset + i) }
            switch kind {
            case 2:
                result.mss = options.be16(i + 2)
            case 3:
                result.windowScale = min(options[i + 2], maximumWindowScale)
            case 4:
                result.sackPermitted = true
            case 5:
                let blockBytes = length - 2
                guard blockBytes >= 8, blockBytes % 8 == 0, blockBytes / 8 <= TCPSACKBlocks.capacity else {
                    throw .badOption(.tcp, kind: kind, offset: headerOffset + i)
                }
                result.sackBlocks.removeAll()
                var at = i + 2
                while at < i + length {
                    result.sackBlocks.append(TCPSACKBlock(left: SequenceNumber(options.be32(at)),
                                                          right: SequenceNumber(options.be32(at + 4))))
                    at += 8
                }
            case 8:
                result.timestamps = TCPTimestamps(value: options.be32(i + 2), echo: options.be32(i + 6))
            default:
                break
            }
            i += length
        }
    }

    // MARK: Emitting

    /// Bytes of everything but the SACK blocks, as ``emit(into:)`` lays it out.
    @inlinable var fixedLength: Int {
        var length = mss == nil ? 0 : 4
        if timestamps != nil { length += 12 } else if sackPermitted { length += 4 }
        if windowScale != nil { length += 4 }
        return length
    }

    /// How many SACK blocks fit in `capacity` option bytes next to the other options.
    @inlinable func sackBlocksFitting(_ capacity: Int) -> Int {
        guard !sackBlocks.isEmpty else { return 0 }
        let room = min(capacity, Self.maximumLength) - fixedLength - 4
        return max(0, min(sackBlocks.count, room / 8))
    }

    /// The number of bytes ``emit(into:)`` writes, a multiple of 4 and at most
    /// 40. SACK blocks that do not fit in 40 bytes next to the other options are
    /// left out, the last ones first (RFC 2018 §4 puts the most recent block
    /// first, so it is kept): with Timestamps at most three fit. O(1).
    @inlinable public var encodedLength: Int { encodedLength(within: Self.maximumLength) }

    /// The number of bytes ``emit(into:)`` writes into a buffer of `capacity`
    /// bytes: SACK blocks are dropped until the rest fits. O(1).
    @inlinable public func encodedLength(within capacity: Int) -> Int {
        let blocks = sackBlocksFitting(capacity)
        return fixedLength + (blocks == 0 ? 0 : 4 + 8 * blocks)
    }

    /// Writes the options at the start of `buffer` in Linux's order (see the
    /// type's documentation) and returns the number of bytes written, a
    /// multiple of 4. SACK blocks that do not fit in `buffer` (or in 40 bytes)
    /// are left out, the last first. O(n) in the bytes written, no allocation.
    ///
    /// Precondition: `buffer` has room for every option but the SACK blocks
    /// (at most 20 bytes).
    @discardableResult
    public func emit(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= fixedLength, "TCP options need \(fixedLength) bytes")
        if let timestamps, mss == nil, windowScale == nil, !sackPermitted, sackBlocks.isEmpty {
            // A data segment's or an ACK's options: NOP, NOP, Timestamps.
            buffer.storeBE32(0x0101_080A, at: 0)
            buffer.storeBE32(timestamps.value, at: 4)
            buffer.storeBE32(timestamps.echo, at: 8)
            return 12
        }
        var at = 0
        func put(_ byte: UInt8) { buffer[at] = byte; at += 1 }
        func put32(_ value: UInt32) { buffer.storeBE32(value, at: at); at += 4 }
        if let mss {
            put(2); put(4)
            buffer.storeBE16(mss, at: at); at += 2
        }
        if let timestamps {
            if sackPermitted { put(4); put(2) } else { put(1); put(1) }
            put(8); put(10)
            put32(timestamps.value)
            put32(timestamps.echo)
        } else if sackPermitted {
            put(1); put(1); put(4); put(2)
        }
        if let windowScale {
            put(1); put(3); put(3); put(windowScale)
        }
        let blocks = sackBlocksFitting(buffer.count)
        if blocks > 0 {
            put(1); put(1); put(5); put(UInt8(2 + 8 * blocks))
            for block in sackBlocks.prefix(blocks) {
                put32(block.left.rawValue)
                put32(block.right.rawValue)
            }
        }
        return at
    }

    /// The options as tcpdump lists them, e.g. `mss 960,sackOK,TS val 1 ecr 0,wscale 10`;
    /// empty when there are none.
    public var description: String {
        var parts: [String] = []
        if let mss { parts.append("mss \(mss)") }
        if sackPermitted { parts.append("sackOK") }
        if let timestamps { parts.append("TS val \(timestamps.value) ecr \(timestamps.echo)") }
        if let windowScale { parts.append("wscale \(windowScale)") }
        if !sackBlocks.isEmpty { parts.append("sack \(sackBlocks.count) {" + sackBlocks.map(\.description).joined(separator: " ") + "}") }
        return parts.joined(separator: ",")
    }
}
