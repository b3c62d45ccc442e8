import NetStackWire

/// The Identification field of the datagrams a host originates (RFC 6864, RFC 7739).
///
/// - An atomic datagram (DF set and not fragmented) is never reassembled, so its
///   ID means nothing: it carries 0 (RFC 6864 §4.1).
/// - Any other datagram gets an ID unique enough per (source, destination,
///   protocol) for reassembly and unpredictable to an off-path observer,
///   RFC 7739 §5.3's scheme as Linux implements it (`ip_idents`): a keyed hash
///   of the triple picks one of 2,048 counters and an offset; the ID is offset +
///   counter, and each datagram advances its counter by a random step (1 to 8).
///   Watching the IDs toward one destination tells nothing about another's.
///
/// O(1) per datagram (one SipHash of 16 bytes, one draw); 8 KiB of counters, no allocation after init.
struct IPIdentification {
    static let buckets = 2048

    private let key: (UInt64, UInt64)
    private var counters: [UInt16]
    /// The state of the step generator (SplitMix64), seeded from the key.
    private var random: UInt64
    /// When set, every datagram takes the next value of one counter: tests replaying captures.
    private var sequential: UInt16?

    /// Keyed with a 128-bit secret; `sequential`, when given, replaces the scheme by a plain counter.
    init(key: (UInt64, UInt64), sequential: UInt16? = nil) {
        self.key = key
        var mixer = key.0 ^ key.1.byteSwapped
        random = splitMix64(&mixer)
        counters = (0..<Self.buckets).map { _ in UInt16(truncatingIfNeeded: splitMix64(&mixer)) }
        self.sequential = sequential
    }

    /// Where the IDs of one (source, destination, protocol) come from: its counter and
    /// offset. A connection keeps its slot, so its segments skip the hash.
    struct Slot {
        let bucket: Int
        let offset: UInt16
    }

    /// The slot of (`source`, `destination`, `proto`): one SipHash. O(1).
    func slot(source: IPv4Address, destination: IPv4Address, protocol proto: IPProtocol) -> Slot {
        let hash = SipHash.hash(key: key, words: UInt64(source.rawValue) << 32 | UInt64(destination.rawValue),
                                UInt64(proto.rawValue))
        return Slot(bucket: Int(hash % UInt64(Self.buckets)), offset: UInt16(truncatingIfNeeded: hash >> 32))
    }

    /// The ID for the next datagram from `source` to `destination` carrying `proto`
    /// (`slot`, when given, is that triple's, computed earlier). `count` > 1 reserves
    /// that many consecutive IDs, the returned one first: a TCP super-segment whose cuts
    /// the device numbers ID, ID + 1, … (Linux's inet_gso_segment; ip_select_ident_segs
    /// reserves them the same way), so no later datagram repeats one within the MSL.
    mutating func next(source: IPv4Address, destination: IPv4Address, protocol proto: IPProtocol,
                       atomic: Bool, slot known: Slot? = nil, count: Int = 1) -> UInt16 {
        let extra = UInt16(truncatingIfNeeded: max(count, 1) - 1)
        if let value = sequential {
            sequential = value &+ 1 &+ extra
            return value
        }
        if atomic { return 0 }
        let slot = known ?? slot(source: source, destination: destination, protocol: proto)
        let step = UInt16(truncatingIfNeeded: splitMix64(&random) & 7) &+ 1
        counters[slot.bucket] &+= step
        let id = slot.offset &+ counters[slot.bucket]
        counters[slot.bucket] &+= extra
        return id
    }
}
