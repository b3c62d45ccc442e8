public import NetStackCore
public import NetStackWire

/// A small authoritative DNS server over UDP (RFC 1034 §4.3.2, RFC 1035 §4),
/// for simulated networks: the `dns` host of the demo's network runs one.
///
/// It knows a fixed set of names, each with A records, AAAA records (RFC 3596)
/// or a CNAME. An A or AAAA query is answered with the AA bit set (a name with
/// only the other family's records gets NOERROR and no answer: RFC 2308's
/// NODATA); a CNAME is followed through the zone and every record of the chain
/// goes in the answer section. Names it does not
/// know get NXDOMAIN (RFC 6604: the code speaks for the end of the chain). A
/// query it can read the header of but not parse gets FORMERR; other opcodes
/// get NOTIMP, other classes REFUSED; datagrams shorter than a header, and
/// responses, get nothing. With an ``SOA`` configured, negative answers carry
/// it so resolvers can cache them (RFC 2308 §3). Answers over 512 octets are
/// cut to the header and question with TC set (RFC 1035 §4.2.1).
///
/// Each query costs one parse and one encoding, a few small allocations.
public final class DNSServer: StackApplication {
    /// What a name holds.
    public enum Record: Sendable, Equatable {
        /// One or more IPv4 addresses, cached for `ttl` seconds.
        case a([IPv4Address], ttl: UInt32 = 300)
        /// One or more IPv6 addresses, cached for `ttl` seconds.
        case aaaa([IPv6Address], ttl: UInt32 = 300)
        /// An alias: the name's canonical name, cached for `ttl` seconds.
        case cname(String, ttl: UInt32 = 300)
    }

    /// The zone's start of authority, sent with negative answers.
    public struct SOA: Sendable, Equatable {
        /// The zone apex, e.g. `example.test`.
        public var zone: String
        /// The negative-caching TTL (SOA MINIMUM, RFC 2308 §4), also used as the SOA record's TTL.
        public var minimum: UInt32
        /// An SOA for `zone` telling resolvers to cache negative answers for `minimum` seconds.
        public init(zone: String, minimum: UInt32) {
            self.zone = zone
            self.minimum = minimum
        }
    }

    /// The UDP port served.
    public let port: UInt16
    /// Queries received (datagrams with a header and QR clear).
    public private(set) var queries = 0
    /// NOERROR responses sent (with or without records).
    public private(set) var answers = 0
    /// NXDOMAIN responses sent.
    public private(set) var nxdomain = 0
    /// FORMERR responses sent: queries with a readable header and an unreadable rest.
    public private(set) var malformed = 0
    /// NOTIMP (other opcodes) and REFUSED (other classes) responses sent.
    public private(set) var notImplemented = 0, refused = 0
    /// Responses sent truncated (TC) because they exceeded 512 octets.
    public private(set) var truncated = 0
    /// Datagrams dropped unanswered: shorter than a header, or responses.
    public private(set) var ignored = 0

    private enum Entry {
        case a([IPv4Address], ttl: UInt32)
        case aaaa([IPv6Address], ttl: UInt32)
        case cname(DNSName, ttl: UInt32)
    }

    private var socket: UDPSocketID?
    private let zone: [DNSName: Entry]
    private let soa: DNSResourceRecord?

    /// The largest response sent over UDP without EDNS (RFC 1035 §2.3.4).
    public static let maximumUDPResponse = 512
    /// CNAMEs followed at most while answering one query.
    static let maximumChain = 16
    /// Datagrams answered per turn, so one turn stays bounded.
    static let datagramsPerTurn = 1024

    /// Serves `zone` on UDP `port` of `address`: by default every IPv4 address of `host`;
    /// `::` serves both families (as an IPv6 socket without IPV6_V6ONLY).
    ///
    /// - Throws: `EINVAL` when a name in the zone (or a CNAME target, or the
    ///   SOA's zone) is not a valid domain name; `EADDRINUSE` when the port is taken.
    public init(host: Host, address: IPAddress = .v4(.any), port: UInt16 = 53, zone: [String: Record],
                soa: SOA? = nil) throws(NetError) {
        var entries: [DNSName: Entry] = [:]
        // Sorted, so that of two spellings of one name the same one wins on every run.
        for (text, record) in zone.sorted(by: { $0.key < $1.key }) {
            guard let name = try? DNSName(text) else { throw .invalidArgument }
            guard entries[name] == nil else { continue }
            switch record {
            case let .a(addresses, ttl): entries[name] = .a(addresses, ttl: ttl)
            case let .aaaa(addresses, ttl): entries[name] = .aaaa(addresses, ttl: ttl)
            case let .cname(target, ttl):
                guard let target = try? DNSName(target) else { throw .invalidArgument }
                entries[name] = .cname(target, ttl: ttl)
            }
        }
        self.zone = entries
        if let soa {
            guard let apex = try? DNSName(soa.zone), let mname = try? DNSName(labels: [Array("ns".utf8)] + apex.labels),
                  let rname = try? DNSName(labels: [Array("hostmaster".utf8)] + apex.labels) else { throw .invalidArgument }
            let timers = DNSSOATimers(serial: 1, refresh: 3600, retry: 600, expire: 86_400, minimum: soa.minimum)
            self.soa = DNSResourceRecord(name: apex, timeToLive: soa.minimum,
                                         data: .soa(mname: mname, rname: rname, timers: timers))
        } else {
            self.soa = nil
        }
        let socket = host.udpOpen()
        do throws(NetError) { try host.udpBind(socket, address: address, port: port) } catch {
            host.udpClose(socket)
            throw error
        }
        self.socket = socket
        self.port = port
    }

    /// Answers every query that arrived.
    public func run(on host: Host, now: Instant) {
        guard let socket else { return }
        for _ in 0..<Self.datagramsPerTurn {
            guard let datagram = host.udpReceive(socket) else { return }
            guard let response = respond(to: datagram.payload) else { continue }
            try? host.udpSend(socket, response, to: datagram.source, now: now)
        }
    }

    /// Closes the socket: no more answers.
    public func stop(on host: Host, now: Instant) {
        if let socket { host.udpClose(socket) }
        socket = nil
    }

    /// The response to one datagram, in wire form; nil when it gets none.
    private func respond(to payload: [UInt8]) -> [UInt8]? {
        guard payload.count >= DNSMessage.headerLength, payload[2] & 0x80 == 0 else {
            ignored += 1
            return nil
        }
        queries += 1
        let parsed: Result<DNSMessage, WireError> = payload.withUnsafeBytes { bytes in
            do throws(WireError) { return .success(try DNSMessage.parse(bytes)) } catch { return .failure(error) }
        }
        guard case let .success(query) = parsed, query.questions.count == 1 else {
            malformed += 1
            return headerOnly(payload, .formatError)
        }
        guard query.flags.opcode == 0 else {
            notImplemented += 1
            return headerOnly(payload, .notImplemented)
        }
        let question = query.questions[0]
        guard question.class == .in || question.class == .any else {
            refused += 1
            return DNSMessage.response(to: query, responseCode: .refused).encoded()
        }
        let (records, code) = lookUp(question)
        let answersType = records.contains { $0.type == question.type } || question.type.rawValue == 255
        let authorities = answersType ? [] : soa.map { [$0] } ?? []
        if code == .nameError { nxdomain += 1 } else { answers += 1 }
        var response = DNSMessage.response(to: query, responseCode: code, authoritative: true, answers: records,
                                           authorities: authorities)
        var bytes = response.encoded(compressingNames: true)
        if bytes.count > Self.maximumUDPResponse {
            truncated += 1
            response.flags.truncated = true
            response.answers = []
            response.authorities = []
            bytes = response.encoded(compressingNames: true)
        }
        return bytes
    }

    /// The records answering `question`, the CNAME chain first, and the response code.
    private func lookUp(_ question: DNSQuestion) -> ([DNSResourceRecord], DNSResponseCode) {
        var records: [DNSResourceRecord] = []
        var current = question.name
        var visited: Set<DNSName> = [current]
        for _ in 0...Self.maximumChain {
            guard let entry = zone[current] else { return (records, .nameError) }
            switch entry {
            case let .a(addresses, ttl):
                if question.type == .a || question.type.rawValue == 255 {
                    records += addresses.map { DNSResourceRecord(name: current, timeToLive: ttl, data: .a($0)) }
                }
                return (records, .noError)
            case let .aaaa(addresses, ttl):
                if question.type == .aaaa || question.type.rawValue == 255 {
                    records += addresses.map { DNSResourceRecord(name: current, timeToLive: ttl, data: .aaaa($0)) }
                }
                return (records, .noError)
            case let .cname(target, ttl):
                records.append(DNSResourceRecord(name: current, timeToLive: ttl, data: .cname(target)))
                // A loop ends the chain where it closes; the resolver sees the loop in the records.
                guard question.type != .cname, visited.insert(target).inserted else { return (records, .noError) }
                current = target
            }
        }
        return (records, .noError)
    }

    private func headerOnly(_ payload: [UInt8], _ code: DNSResponseCode) -> [UInt8]? {
        payload.withUnsafeBytes { DNSMessage.response(toHeaderOf: $0, responseCode: code)?.encoded() }
    }
}
