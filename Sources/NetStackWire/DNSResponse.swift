// What a server needs to answer and a resolver needs to cache a negative
// answer: responses built from a query (RFC 1035 §4.1.1), and the SOA record
// whose timers bound negative caching (RFC 1035 §3.3.13, RFC 2308 §5).
// SOA data stays `.raw` in ``DNSRecordData``: its timers are its last 20
// octets, so they can be read even when the names before them are
// compression pointers into the original message.

extension DNSMessage {
    /// The response to `query`: same ID, opcode, RD bit and question section,
    /// QR set, with `responseCode`, the AA bit when `authoritative`, and the
    /// given sections (RFC 1035 §4.1.1). RA stays clear: such a server does
    /// not recurse. O(n) in the sections.
    public static func response(
        to query: DNSMessage, responseCode: DNSResponseCode = .noError, authoritative: Bool = false,
        answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [],
        additionals: [DNSResourceRecord] = []
    ) -> DNSMessage {
        var flags = DNSFlags(rawValue: 0)
        flags.isResponse = true
        flags.opcode = query.flags.opcode
        flags.recursionDesired = query.flags.recursionDesired
        flags.authoritative = authoritative
        flags.responseCode = responseCode
        return DNSMessage(id: query.id, flags: flags, questions: query.questions, answers: answers,
                          authorities: authorities, additionals: additionals)
    }

    /// A response to a query that could not be parsed past its header: the
    /// header's ID, opcode and RD bit echoed, QR set, no sections — what a
    /// server sends with FORMERR (RFC 1035 §4.1.1). `header` must hold at least
    /// the 12 header octets; nil otherwise.
    public static func response(toHeaderOf header: UnsafeRawBufferPointer,
                                responseCode: DNSResponseCode) -> DNSMessage? {
        guard header.count >= headerLength else { return nil }
        let received = DNSFlags(rawValue: header.be16(2))
        var flags = DNSFlags(rawValue: 0)
        flags.isResponse = true
        flags.opcode = received.opcode
        flags.recursionDesired = received.recursionDesired
        flags.responseCode = responseCode
        return DNSMessage(id: header.be16(0), flags: flags)
    }

    /// The RFC 2308 §5 negative-caching time of this (negative) response: the
    /// smaller of the TTL and the MINIMUM field of the first SOA record in the
    /// authority section; nil when there is none, and then a negative answer
    /// must not be cached at all (RFC 2308 §5).
    public var negativeCachingTTL: UInt32? {
        for record in authorities where record.type == .soa {
            guard let timers = DNSSOATimers(record.data) else { continue }
            return Swift.min(record.timeToLive, timers.minimum)
        }
        return nil
    }
}

/// The five 32-bit fields that end an SOA record's RDATA (RFC 1035 §3.3.13).
public struct DNSSOATimers: Hashable, Sendable {
    /// The zone's version number.
    public var serial: UInt32
    /// Seconds between a secondary's refresh checks.
    public var refresh: UInt32
    /// Seconds before a failed refresh is retried.
    public var retry: UInt32
    /// Seconds after which a secondary stops answering for the zone.
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308 §4; RFC 1035 called it the minimum TTL).
    public var minimum: UInt32

    /// Timers from their values.
    public init(serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }

    /// The timers of SOA record data: its last 20 octets. nil for data of
    /// another type, or shorter than two one-octet names and 20 octets. O(1).
    public init?(_ data: DNSRecordData) {
        guard case let .raw(type, bytes) = data, type == .soa, bytes.count >= 22 else { return nil }
        func word(_ index: Int) -> UInt32 {
            let at = bytes.count - 20 + 4 * index
            return UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8
                | UInt32(bytes[at + 3])
        }
        self.init(serial: word(0), refresh: word(1), retry: word(2), expire: word(3), minimum: word(4))
    }
}

extension DNSRecordData {
    /// SOA record data (RFC 1035 §3.3.13): the primary server `mname`, the
    /// responsible mailbox `rname` (its first label is the local part), and
    /// the timers; names written uncompressed. Kept as `.raw(type: .soa, …)`.
    public static func soa(mname: DNSName, rname: DNSName, timers: DNSSOATimers) -> DNSRecordData {
        var bytes = mname.wireBytes + rname.wireBytes
        for value in [timers.serial, timers.refresh, timers.retry, timers.expire, timers.minimum] {
            bytes += [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16),
                      UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
        }
        return .raw(type: .soa, bytes: bytes)
    }
}
