// Fuzzes the stub resolver's answer handling through a whole Host: lookups
// start with `resolve`, the queries the host sends are taken off its wire, and
// the input answers them — with the right server, port and ID most of the time
// (so the answer logic is reached: compression pointers, CNAME chains, wrong
// questions, truncation, error codes, huge counts, raw junk), sometimes forged
// — and sprays ICMP errors quoting them. The clock moves the way a runtime
// moves it: through every deadline the host reports, polling at each.
//
// Invariants, each a trap with a message:
// - no trap;
// - every lookup ends (resolved, failed) within (maxCNAMEChain + 1) × attempts
//   × servers × timeout of virtual time from its start;
// - a forged answer (wrong ID, wrong server address or port, another
//   question) never resolves a lookup: forged answers carry an address no
//   genuine answer uses, and no resolution may contain it;
// - a resolution has at least one address;
// - the cache holds at most its capacity (asking again for every name asked
//   hits it at most `cacheCapacity` times);
// - the resolver remembers a bounded number of lookups (4,096, `resolve` throws beyond).

import FuzzSupport
import NetStackCore
import NetStackWire

enum Lab {
    static let macA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
    static let macServer = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x35)
    static let macGateway = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0xfe)
    static let ipA = IPv4Address(192, 0, 2, 1)
    static let server = IPv4Address(192, 0, 2, 53)
    static let gateway = IPv4Address(192, 0, 2, 254)
    static let farServer = IPv4Address(198, 51, 100, 53)
    /// Only forged answers carry this address.
    static let forgedAddress = IPv4Address(203, 0, 113, 66)
    static let names = ["example.com", "www.example.com", "a.example", "b.example", "alias.example",
                        "c1.example", "c2.example", "c3.example"]
}

/// A query the host sent, as seen on the wire.
struct Query {
    var frame: [UInt8]
    var datagram: [UInt8]
    var server: IPv4Address
    var port: UInt16
    var id: UInt16
    var question: DNSName
}

final class Scenario {
    let a: Host
    var now = Instant.zero
    let config: ResolverConfig
    var queries: [Query] = []
    /// Lookups not yet known to be finished, with their start.
    var pending: [(id: ResolutionID, start: Instant)] = []
    /// Every name looked up: what the cache can hold.
    var asked: Set<String> = []
    let eth0 = InterfaceID(0)

    init(_ r: inout FuzzReader) {
        var hostConfig = HostConfig(name: "A")
        hostConfig.randomSeed = 0x5eed
        var resolver = ResolverConfig()
        resolver.nameservers = r.bool() ? [.v4(Lab.server)] : [.v4(Lab.server), .v4(Lab.farServer)]
        resolver.attempts = 1 + r.below(3)
        resolver.timeout = .milliseconds(250 * (1 + r.below(8)))
        resolver.cacheCapacity = 1 + r.below(8)
        resolver.maxCNAMEChain = 1 + r.below(8)
        hostConfig.resolver = resolver
        config = resolver
        a = Host(hostConfig)
        a.addInterface(AdapterConfig(name: "eth0", mac: Lab.macA, mtu: 1500, fcs: false))
        a.assign(Lab.ipA, prefixLength: 24, to: eth0, now: now)
        a.setDefaultGateway(Lab.gateway, interface: eth0)
        // The server and the gateway introduce themselves, so queries leave at once.
        for (mac, ip) in [(Lab.macServer, Lab.server), (Lab.macGateway, Lab.gateway)] {
            a.receive(ethernetFrame(to: .broadcast, from: mac, type: .arp,
                                    arpPacket(.request, senderMAC: mac, senderIP: ip, targetMAC: .zero, targetIP: Lab.ipA)),
                      on: eth0, now: now)
        }
        poll()
    }

    /// The longest a lookup may take.
    var bound: Duration {
        config.timeout * ((config.maxCNAMEChain + 1) * config.attempts * config.nameservers.count)
    }

    /// Polls at `now`, takes what the host sent, and checks the lookups.
    func poll() {
        a.poll(now: now)
        while let frame = a.takeFrame(from: eth0, { Array($0) }) { observe(frame) }
        pending.removeAll { lookup in
            switch a.resolution(lookup.id) {
            case nil: return true
            case .pending:
                check(now <= lookup.start + bound,
                      "lookup \(lookup.id) started at \(lookup.start) still pending at \(now) (bound \(bound), \(config))")
                return false
            case let .resolved(found):
                check(!found.addresses.isEmpty, "resolved \(found) without addresses")
                check(!found.addresses.contains(.v4(Lab.forgedAddress)), "a forged answer resolved \(found)")
                return true
            case .failed:
                return true
            }
        }
    }

    /// Moves the clock to `end` through every deadline the host reports.
    func advance(to end: Instant) {
        var rounds = 0
        while let deadline = a.nextDeadline(), deadline <= end {
            check(rounds < 10_000, "more than 10,000 deadlines before \(end)")
            now = max(now, deadline)
            poll()
            rounds += 1
        }
        now = max(now, end)
        poll()
    }

    func observe(_ frame: [UInt8]) {
        frame.withUnsafeBytes { bytes in
            guard bytes.count > EthernetHeader.length + 28, bytes.be16(12) == 0x0800 else { return }
            let ip = UnsafeRawBufferPointer(rebasing: bytes[EthernetHeader.length...])
            guard let header = try? IPv4Header.parse(ip), header.protocol == .udp, header.totalLength <= ip.count,
                  header.totalLength >= header.headerLength + 8 else { return }
            let datagram = UnsafeRawBufferPointer(rebasing: ip[0..<header.totalLength])
            let udp = UnsafeRawBufferPointer(rebasing: datagram[header.headerLength...])
            guard udp.be16(2) == 53,
                  let message = try? DNSMessage.parse(UnsafeRawBufferPointer(rebasing: udp[8...])),
                  let question = message.questions.first else { return }
            if queries.count == 16 { queries.removeFirst() }
            queries.append(Query(frame: Array(bytes), datagram: Array(datagram), server: header.destination,
                                 port: udp.be16(0), id: message.id, question: question.name))
        }
    }

    func name(_ r: inout FuzzReader) -> DNSName {
        let text = r.below(8) == 0 ? "n\(r.byte()).example" : r.pick(Lab.names)
        return try! DNSName(text)
    }

    // MARK: Operations

    func step(_ r: inout FuzzReader) {
        switch r.byte() % 10 {
        case 0, 1:
            let text = r.below(8) == 0 ? "n\(r.byte()).example" : r.pick(Lab.names)
            asked.insert(text)
            do {
                let id = try a.resolve(text, now: now)
                pending.append((id, now))
            } catch {
                check(error == .noBufferSpace || error == .addressInUse, "resolve threw \(error)")
            }
            poll()
        case 2, 3, 4: answer(&r)
        case 5: icmpError(&r)
        case 6: advance(to: now + .milliseconds(Int(r.byte()) * 8))
        case 7: if let deadline = a.nextDeadline() { advance(to: max(now, deadline)) }
        case 8:
            switch r.byte() % 4 {
            case 0: if !pending.isEmpty { a.cancelResolution(pending.removeLast().id) }
            case 1: a.flushResolverCache()
            default: if !pending.isEmpty { _ = a.takeResolution(pending[r.below(pending.count)].id) }
            }
            poll()
        default: poll()
        }
    }

    /// An answer to one of the queries seen (mostly the latest), genuine or forged.
    func answer(_ r: inout FuzzReader) {
        guard !queries.isEmpty else { return }
        let query = r.bool() ? queries[queries.count - 1] : queries[r.below(queries.count)]
        let tamper = r.byte()
        var forged = false
        var id = query.id, source = query.server, sourcePort: UInt16 = 53, port = query.port
        if tamper & 0x07 == 1 { id = r.u16(); forged = id != query.id }
        if tamper & 0x07 == 2 {
            source = r.pick([Lab.gateway, Lab.farServer, Lab.server, Lab.ipA])
            forged = !config.nameservers.contains(.v4(source))
        }
        if tamper & 0x07 == 3 { sourcePort = r.u16(); forged = sourcePort != 53 }
        if tamper & 0x07 == 4 { port = r.u16() }
        var question = query.question
        if tamper & 0x38 == 0x08 { question = name(&r); forged = forged || question != query.question }
        let payload = dnsPayload(&r, id: id, question: question, forged: forged)
        let udp = udpDatagram(from: source, sourcePort, to: Lab.ipA, port, payload)
        let header = IPv4Header(source: source, destination: Lab.ipA, protocol: .udp, payloadLength: 0,
                                identification: r.u16())
        let mac = source == Lab.server ? Lab.macServer : Lab.macGateway
        a.receive(ethernetFrame(to: Lab.macA, from: mac, type: .ipv4, ipv4Datagram(header, udp)), on: eth0, now: now)
        poll()
    }

    func dnsPayload(_ r: inout FuzzReader, id: UInt16, question: DNSName, forged: Bool) -> [UInt8] {
        var flags = DNSFlags(recursionDesired: true)
        flags.isResponse = r.byte() != 0
        flags.recursionAvailable = true
        let shape = r.byte()
        if shape & 0x03 == 0 { flags.rawValue = flags.rawValue & 0xfff0 | UInt16(r.byte() % 6) }
        if shape & 0x0c == 0 { flags.truncated = true }
        var message = DNSMessage(id: id, flags: flags)
        switch (shape >> 4) & 3 {
        case 0: message.questions = []
        case 1: message.questions = [DNSQuestion(name: question, type: .a), DNSQuestion(name: question, type: .a)]
        default: message.questions = [DNSQuestion(name: question, type: r.byte() == 0xff ? .aaaa : .a)]
        }
        for _ in 0..<r.below(6) {
            let owner = r.bool() ? question : name(&r)
            let ttl = r.bool() ? UInt32(r.byte()) : r.u32()
            let data: DNSRecordData
            switch r.byte() % 4 {
            case 0, 1:
                let address = forged ? Lab.forgedAddress : IPv4Address(198, 51, 100, r.byte() % 50 + 100)
                data = .a(address)
            case 2: data = .cname(name(&r))
            default: data = .raw(type: DNSType(rawValue: UInt16(r.byte())), bytes: r.array(Int(r.byte() % 16)))
            }
            message.answers.append(DNSResourceRecord(name: owner, class: r.byte() == 0xfe ? .any : .in,
                                                     timeToLive: ttl, data: data))
        }
        if r.byte() & 3 == 0 {
            message.authorities.append(DNSResourceRecord(name: try! DNSName("example"), timeToLive: r.u32(),
                                                         data: .raw(type: .soa, bytes: r.array(22))))
        }
        var bytes = message.encoded(compressingNames: r.bool())
        switch r.byte() % 8 {
        case 0:
            // Raw bytes after the question (compression pointers, bad records), counts from the input.
            bytes = Array(bytes.prefix(DNSMessage.headerLength + question.description.utf8.count + 6))
            if forged { bytes += [0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + Lab.forgedAddress.octets }
            bytes += r.array(Int(r.byte()))
            bytes.withUnsafeMutableBytes { $0.storeBE16(r.u16(), at: 6) }
        case 1:
            // Huge counts.
            bytes.withUnsafeMutableBytes { buffer in
                for field in 2..<6 where r.bool() { buffer.storeBE16(r.u16() | 0x8000, at: field * 2) }
            }
        case 2:
            for _ in 0..<1 + r.below(4) where bytes.count > 12 {
                bytes[12 + r.below(bytes.count - 12)] = r.byte()
            }
        default: break
        }
        if !forged {
            // Genuine answers never carry the forged address, whatever the mutations made.
            let mark = Lab.forgedAddress.octets
            for i in bytes.indices.dropLast(3) where Array(bytes[i..<(i + 4)]) == mark { bytes[i] ^= 1 }
        }
        return bytes
    }

    /// An ICMP error quoting a query: port or host unreachable, from the server or anyone.
    func icmpError(_ r: inout FuzzReader) {
        guard !queries.isEmpty else { return }
        let query = queries[r.below(queries.count)]
        var quote = Array(query.datagram.prefix(28 + Int(r.byte() % 4) * 8))
        if r.byte() & 3 == 0, quote.count >= 24 { quote[20 + r.below(4)] ^= r.byte() | 1 }
        let source = r.pick([query.server, Lab.gateway, Lab.farServer, IPv4Address(198, 51, 100, 9)])
        let message: ICMPv4Message = switch r.byte() % 4 {
        case 0: .destinationUnreachable(code: 3, nextHopMTU: 0)
        case 1: .destinationUnreachable(code: 1, nextHopMTU: 0)
        case 2: .destinationUnreachable(code: 4, nextHopMTU: r.u16())
        default: .timeExceeded(code: 0)
        }
        let header = IPv4Header(source: source, destination: Lab.ipA, protocol: .icmp, payloadLength: 0)
        let mac = source == Lab.server ? Lab.macServer : Lab.macGateway
        a.receive(ethernetFrame(to: Lab.macA, from: mac, type: .ipv4, ipv4Datagram(header, icmpMessage(message, quote))),
                  on: eth0, now: now)
        poll()
    }
}

runFuzzer { data, size in
    var reader = FuzzReader(fuzzInput(data, size))
    let scenario = Scenario(&reader)
    var operations = 0
    while !reader.isAtEnd && operations < 256 {
        scenario.step(&reader)
        operations += 1
    }
    // With no more answers, every lookup still ends in time.
    if let last = scenario.pending.map(\.start).max() { scenario.advance(to: last + scenario.bound) }
    check(scenario.pending.isEmpty, "lookups \(scenario.pending) still pending at \(scenario.now)")
    // The cache holds at most its capacity: asking again for every name asked hits it at most that often.
    let before = scenario.a.resolverStatistics.cacheHits
    for name in scenario.asked { _ = try? scenario.a.resolve(name, now: scenario.now) }
    let hits = scenario.a.resolverStatistics.cacheHits - before
    check(hits <= scenario.config.cacheCapacity, "\(hits) cache hits with a capacity of \(scenario.config.cacheCapacity)")
    return 0
}
