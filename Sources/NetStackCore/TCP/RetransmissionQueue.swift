// The sender's per-segment transmission records: one per data segment sent,
// from SND.UNA to SND.MAX, in sequence order. RACK (RFC 8985 §5–6) needs each
// segment's latest transmission time, delivery-rate sampling
// (draft-ietf-ccwg-bbr §4.5) needs the connection's delivery counters as they
// were when it went out, and RFC 6675's pipe needs to know which bytes are
// SACKed, lost or retransmitted. Linux keeps the same in its skb
// retransmission queue (tcp_skb_cb, tcp_rate_skb_sent).
//
// Storage is a power-of-two ring of records, allocated on first send and
// doubled (rarely) up to `maximumRecords`; the connection stops sending new
// data while the ring is full, so neither a peer that never ACKs nor an
// application writing one byte at a time can grow it past the bound.

import NetStackWire

/// One transmitted segment: its sequence range (data, and the FIN if it
/// carried one), when it was last sent, what has become of it, and the
/// delivery-rate snapshot taken when it was sent (draft-ietf-ccwg-bbr §4.5.1, "P.").
struct TransmissionRecord: Sendable {
    /// What has become of a segment.
    struct Flags: OptionSet, Sendable {
        let rawValue: UInt8
        /// Sent again since its first transmission, and that copy is still counted in flight.
        static let retransmitted = Flags(rawValue: 1)
        /// Selectively acknowledged (RFC 2018): delivered.
        static let sacked = Flags(rawValue: 2)
        /// Marked lost (RACK, DupThresh or a timeout); not in flight until sent again.
        static let lost = Flags(rawValue: 4)
        /// Sent more than once over its life (RACK §6.2 step 2 and RFC 3708 use it).
        static let everRetransmitted = Flags(rawValue: 8)
        /// Its rate snapshot has given a sample (draft-ietf-ccwg-bbr §4.5: each transmission samples once).
        static let sampled = Flags(rawValue: 16)
    }

    /// First sequence number.
    var start: SequenceNumber
    /// One past the last sequence number.
    var end: SequenceNumber
    /// Time of the latest transmission, ns (RACK's Segment.xmit_ts).
    var sentNanoseconds: Int64
    /// The segment's state.
    var flags: Flags = []
    /// C.delivered when sent (P.delivered).
    var delivered = 0
    /// C.delivered_time when sent (P.delivered_time), ns.
    var deliveredNanoseconds: Int64 = 0
    /// C.first_sent_time when sent (P.first_sent_time), ns.
    var firstSentNanoseconds: Int64 = 0
    /// C.lost when sent (P.lost).
    var lost = 0
    /// Bytes in flight just after it was sent (P.tx_in_flight).
    var txInFlight = 0
    /// Sent while the flow was application-limited (P.is_app_limited).
    var isAppLimited = false

    /// Sequence space the record covers. O(1).
    var length: Int { end - start }
}

/// The transmission records of one connection, oldest first, with running
/// byte counts of the SACKed, lost and retransmitted ones (so RFC 6675's pipe
/// is O(1)).
///
/// Costs: `append`, `removeFirst` and every flag change are O(1);
/// `firstIndex(endingAfter:)` is a binary search, O(log count). Storage is one
/// array of `capacity` records (72 bytes each), grown by doubling from
/// ``initialCapacity`` to at most ``maximumRecords`` and freed by ``releaseIfEmpty()``;
/// growth copies the records once, so appends are amortized O(1) and
/// allocation-free once the ring has reached the connection's working size.
/// ``allocatedBytes`` is what the connection counts toward the host's TCP
/// buffer memory (``TCPBufferMemory``), beside its send and receive buffers.
struct RetransmissionQueue: Sendable {
    /// The first allocation: enough for an initial window and then some.
    static let initialCapacity = 64
    /// The most records held: 16 384 segments, 16 MiB of 1 KiB segments or
    /// 23 MiB of full 1460-byte ones, past any send buffer the stack offers,
    /// ≈ 1.2 MB of records at most. When full, the sender sends no new data
    /// until ACKs free records (tiny segments then wait, they do not grow memory).
    static let maximumRecords = 16_384

    /// The ring; `storage.count` is the capacity (0 or a power of two).
    private var storage: [TransmissionRecord] = []
    /// Physical index of the oldest record.
    private var head = 0
    /// Records held.
    private(set) var count = 0
    /// Bytes in SACKed records (RFC 6675's SACKed octets among the records).
    private(set) var sackedBytes = 0
    /// Bytes in records marked lost and not SACKed (Linux's lost_out, in bytes).
    private(set) var lostBytes = 0
    /// Bytes in records whose retransmission is in flight (Linux's retrans_out, in bytes).
    private(set) var retransmittedBytes = 0
    /// Bytes in records marked lost and not sent again since: what waits to be retransmitted.
    private(set) var lostUnsentBytes = 0
    /// Bytes of storage held (`capacity` records), kept here to spare a pointer chase per check.
    private(set) var allocatedBytes = 0

    /// Bytes one record takes in the ring.
    static let recordBytes = MemoryLayout<TransmissionRecord>.stride

    /// An empty queue; allocates nothing.
    init() {}

    /// True when no record is held. O(1).
    var isEmpty: Bool { count == 0 }
    /// True when no further record fits: the sender must wait for ACKs. O(1).
    var isFull: Bool { count >= Self.maximumRecords }
    /// Records the storage holds without growing. O(1).
    var capacity: Int { storage.count }

    /// Record `index` (0 is the oldest). O(1).
    subscript(index: Int) -> TransmissionRecord {
        storage[(head + index) & (storage.count - 1)]
    }

    /// The newest record, if any. O(1).
    var last: TransmissionRecord? { count == 0 ? nil : self[count - 1] }

    /// Appends a record for a segment just sent beyond the previous ones.
    /// Returns false (and stores nothing) when the queue is at its bound.
    /// Amortized O(1); allocates only when the ring doubles.
    @discardableResult
    mutating func append(_ record: TransmissionRecord) -> Bool {
        if count == storage.count {
            guard storage.count < Self.maximumRecords else { return false }
            grow()
        }
        storage[(head + count) & (storage.count - 1)] = record
        count += 1
        recount(record)
        return true
    }

    /// Removes the oldest record (cumulatively acknowledged), updating the counts. O(1).
    mutating func removeFirst() {
        guard count > 0 else { return }
        let record = storage[head]
        uncount(record)
        head = (head + 1) & (storage.count - 1)
        count -= 1
    }

    /// Moves the oldest record's start up to `seq` (an ACK inside it), keeping its counts right. O(1).
    mutating func trimFirst(to seq: SequenceNumber) {
        guard count > 0 else { return }
        var record = storage[head]
        guard record.start < seq && seq < record.end else { return }
        uncount(record)
        record.start = seq
        recount(record)
        storage[head] = record
    }

    /// Index of the first record ending after `seq` (count if none). O(log count).
    func firstIndex(endingAfter seq: SequenceNumber) -> Int {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid].end > seq { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// Marks record `index` SACKed (delivered): it leaves the lost and
    /// retransmitted counts. Returns false if it already was. O(1).
    @discardableResult
    mutating func markSacked(_ index: Int) -> Bool {
        let slot = (head + index) & (storage.count - 1)
        var record = storage[slot]
        guard !record.flags.contains(.sacked) else { return false }
        uncount(record)
        record.flags.insert(.sacked)
        record.flags.remove([.lost, .retransmitted])
        recount(record)
        storage[slot] = record
        return true
    }

    /// Marks record `index` lost: it leaves the flight (and a lost
    /// retransmission leaves the retransmitted count). Returns false if it was
    /// SACKed or already lost and not resent since. O(1).
    @discardableResult
    mutating func markLost(_ index: Int) -> Bool {
        let slot = (head + index) & (storage.count - 1)
        var record = storage[slot]
        guard !record.flags.contains(.sacked),
              !record.flags.contains(.lost) || record.flags.contains(.retransmitted) else { return false }
        uncount(record)
        record.flags.insert(.lost)
        record.flags.remove(.retransmitted)
        recount(record)
        storage[slot] = record
        return true
    }

    /// Record `index` was sent again at `now` (its rate snapshot replaced by `snapshot`'s). O(1).
    mutating func markRetransmitted(_ index: Int, now: Int64, snapshot: TransmissionRecord) {
        let slot = (head + index) & (storage.count - 1)
        var record = storage[slot]
        uncount(record)
        record.flags.insert([.retransmitted, .everRetransmitted])
        record.flags.remove(.sampled)
        record.sentNanoseconds = now
        record.delivered = snapshot.delivered
        record.deliveredNanoseconds = snapshot.deliveredNanoseconds
        record.firstSentNanoseconds = snapshot.firstSentNanoseconds
        record.lost = snapshot.lost
        record.txInFlight = snapshot.txInFlight
        record.isAppLimited = snapshot.isAppLimited
        recount(record)
        storage[slot] = record
    }

    /// Sets record `index`'s rate snapshot as consumed (draft-ietf-ccwg-bbr §4.5: a record samples once). O(1).
    mutating func markSampled(_ index: Int) {
        storage[(head + index) & (storage.count - 1)].flags.insert(.sampled)
    }

    /// After a retransmission timeout every record not SACKed is lost and
    /// no retransmission is in flight (RFC 8985 §6.3, as Linux's tcp_enter_loss). O(count).
    mutating func markAllLost() {
        for index in 0..<count { _ = markLost(index) }
    }

    /// Takes back every loss mark (a reduction found spurious: F-RTO, Eifel, D-SACK): those
    /// segments are in flight after all. O(count).
    mutating func clearLost() {
        for index in 0..<count {
            let slot = (head + index) & (storage.count - 1)
            var record = storage[slot]
            guard record.flags.contains(.lost) else { continue }
            uncount(record)
            record.flags.remove(.lost)
            recount(record)
            storage[slot] = record
        }
    }

    /// Splits every record longer than `maximumLength` into pieces of at most
    /// that length, each keeping the record's flags, send time and rate
    /// snapshot: after the path MTU fell (RFC 1191) a resend goes record by
    /// record, and a record of the old size would not pass. The queue may end
    /// up above ``maximumRecords`` (then `isFull` holds new data back until ACKs
    /// drain it). O(count + pieces), one allocation; runs once per MTU drop.
    mutating func split(maximumLength: Int) {
        guard maximumLength > 0, count > 0 else { return }
        var pieces = 0
        for index in 0..<count { pieces += (self[index].length + maximumLength - 1) / maximumLength }
        guard pieces > count else { return }
        var capacity = Self.initialCapacity
        while capacity < pieces { capacity *= 2 }
        let filler = TransmissionRecord(start: 0, end: 0, sentNanoseconds: 0)
        var split = [TransmissionRecord](repeating: filler, count: capacity)
        var next = 0
        for index in 0..<count {
            let record = self[index]
            var piece = record
            while piece.start < record.end {
                piece.end = SequenceNumber.earliest(piece.start + maximumLength, record.end)
                split[next] = piece
                next += 1
                piece.start = piece.end
            }
        }
        storage = split
        allocatedBytes = capacity * Self.recordBytes
        head = 0
        count = pieces  // the byte counts are unchanged: the pieces cover the same bytes with the same flags
    }

    /// Frees the storage if no record is held (the connection went idle). O(1).
    mutating func releaseIfEmpty() {
        guard count == 0, !storage.isEmpty else { return }
        storage = []
        allocatedBytes = 0
        head = 0
    }

    /// Removes the record's bytes from the running counts. O(1).
    private mutating func uncount(_ record: TransmissionRecord) {
        let length = record.length
        if record.flags.contains(.sacked) { sackedBytes -= length }
        if record.flags.contains(.lost) { lostBytes -= length }
        if record.flags.contains(.retransmitted) { retransmittedBytes -= length }
        if record.flags.contains(.lost) && !record.flags.contains(.retransmitted) { lostUnsentBytes -= length }
    }

    /// Adds the record's bytes to the running counts. O(1).
    private mutating func recount(_ record: TransmissionRecord) {
        let length = record.length
        if record.flags.contains(.sacked) { sackedBytes += length }
        if record.flags.contains(.lost) { lostBytes += length }
        if record.flags.contains(.retransmitted) { retransmittedBytes += length }
        if record.flags.contains(.lost) && !record.flags.contains(.retransmitted) { lostUnsentBytes += length }
    }

    /// Doubles the ring (from nothing: ``initialCapacity``), copying the records in order. O(count); rare.
    private mutating func grow() {
        let newCapacity = storage.isEmpty ? Self.initialCapacity : min(storage.count * 2, Self.maximumRecords)
        let filler = TransmissionRecord(start: 0, end: 0, sentNanoseconds: 0)
        var bigger = [TransmissionRecord](repeating: filler, count: newCapacity)
        for index in 0..<count { bigger[index] = self[index] }
        storage = bigger
        allocatedBytes = newCapacity * Self.recordBytes
        head = 0
    }
}
