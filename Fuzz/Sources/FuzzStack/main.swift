// Fuzzes the whole stack: a Host set up as a server would be — a TCP listener,
// TCP and UDP echo services, an established connection, a UDP socket with a
// datagram waiting for ARP, fragments in reassembly — then the input is read
// as a sequence of operations with a virtual clock: feed a frame (mostly
// well-formed Ethernet/IPv4/TCP/UDP/ICMP/ARP with valid checksums, fields
// chosen by the input; some raw junk; some reflections of what the host sent),
// advance the clock, poll, take transmitted frames (or carry them to the peer
// host), application calls. The adapters coalesce received TCP segments, as
// `serve`'s do on a TAP or TUN device without offload.
//
// Invariants, each a trap with a message:
// - no trap inside the stack (Swift's own checks);
// - bounded work per poll: the events one `poll` emits and the frames it queues
//   are bounded, and at a fixed time at most `settleRounds` polls (with the
//   applications' turns between them) reach quiescence — `nextDeadline()` nil
//   or later than now, and no application asking for another turn now;
// - bounded memory: ARP entries, TCP connections and the process's resident
//   size stay under the bounds below.

import FuzzSupport
import NetStackCore
import NetStackServices
import NetStackWire

#if canImport(Glibc)
import Glibc
#endif

enum Lab {
    static let macA = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x01)
    static let macB = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x02)
    static let macC = MACAddress(0x02, 0x00, 0x00, 0x00, 0x0a, 0x03)
    static let ipA = IPv4Address(192, 0, 2, 1)
    static let ipB = IPv4Address(192, 0, 2, 2)
    /// On-link, never answers ARP: what is sent there waits in the ARP queue.
    static let ipC = IPv4Address(192, 0, 2, 3)
    static let gateway = IPv4Address(192, 0, 2, 254)
    static let offLink = IPv4Address(203, 0, 113, 5)
    /// Sources and destinations the frames are built from: ours, the peers',
    /// and the martians Linux drops (own, broadcast, multicast, 0/8, 127/8, 240/4).
    static let addresses: [IPv4Address] = [
        ipA, ipB, ipB, ipB, ipC, gateway, offLink, IPv4Address(192, 0, 2, 255), IPv4Address(255, 255, 255, 255),
        IPv4Address(0, 0, 0, 0), IPv4Address(127, 0, 0, 1), IPv4Address(224, 0, 0, 1), IPv4Address(240, 0, 0, 1),
        IPv4Address(198, 51, 100, 7),
    ]
    static let macs: [MACAddress] = [macA, macA, macA, .broadcast, MACAddress(0x01, 0x00, 0x5e, 0, 0, 1), macB]
    static let ports: [UInt16] = [80, 7, 5353, 53, 9, 1, 0, 65535]
}

/// Bounds the invariants check.
enum Bound {
    /// Polls at one instant (applications' turns between them) before the host must be quiet.
    static let settleRounds = 64
    /// Events one poll may emit: a full receive ring of frames, each with a handful of events, and then some.
    static let eventsPerPoll = 100_000
    /// Frames one poll may queue for transmission.
    static let framesPerPoll = 8_192
    static let arpEntries = 2_048
    static let connections = 1_024
    /// Resident memory of the whole fuzzing process.
    static let residentBytes = 1_536 << 20
}

/// Work the current poll has done, counted by the host's observer.
nonisolated(unsafe) var eventsThisPoll = 0
nonisolated(unsafe) var framesThisPoll = 0
nonisolated(unsafe) var inputsRun = 0

/// The process's resident size from /proc/self/statm (second field, pages).
func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    guard withUnsafeMutablePointer(to: &size, { s in
        withUnsafeMutablePointer(to: &resident) { r in withVaList([s, r]) { vfscanf(file, "%ld %ld", $0) } }
    }) == 2 else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The fields of a TCP segment A sent, to build in-window segments from.
struct SeenSegment {
    var local: UInt16, remote: UInt16
    var seq: SequenceNumber, ack: SequenceNumber
    var window: UInt16
}

final class Scenario {
    var now = Instant.zero
    let a: Host, b: Host
    let listener: Int32
    var connection: Int32?
    var peerSocket: Int32?
    let udp: UDPSocketID
    var apps: [StackApplication] = []
    /// The last TCP segment A sent to B, and the last frames A sent (for ICMP quotes and reflections).
    var lastSegment: SeenSegment?
    var recentFrames: [[UInt8]] = []
    var extraSockets: [Int32] = []

    init() {
        func host(_ name: String, _ mac: MACAddress, _ ip: IPv4Address) -> Host {
            var config = HostConfig(name: name)
            config.randomSeed = 0x5eed
            let host = Host(config)
            var adapter = AdapterConfig(name: "eth0", mac: mac, mtu: 1500, fcs: false)
            // As `serve` sets up a TAP without offload: in-order TCP segments glued in the ring (LRO).
            adapter.receiveCoalescing = true
            let id = host.addInterface(adapter)
            host.assign(ip, prefixLength: 24, to: id, now: .zero)
            host.setDefaultGateway(Lab.gateway, interface: id)
            while host.takeFrame(from: id, { _ in () }) != nil {}
            return host
        }
        a = host("A", Lab.macA, Lab.ipA)
        b = host("B", Lab.macB, Lab.ipB)
        // FUZZ_TRACE=1 prints every event of the host under test (to replay one input by hand).
        let trace = getenv("FUZZ_TRACE") != nil
        a.observer = { event in
            if trace { print("A: \(event)") }
            eventsThisPoll += 1
            if case .frameQueued = event { framesThisPoll += 1 }
            // Checked here too, since a poll that never ends never returns to be checked.
            if eventsThisPoll > Bound.eventsPerPoll {
                check(false, "one poll emitted over \(Bound.eventsPerPoll) events (the last: \(event))")
            }
        }
        listener = a.socket(.stream)
        try! a.bind(listener, to: Endpoint(.any, 80))
        try! a.listen(listener, backlog: 8)
        apps.append(try! TCPEchoService(host: a, port: 7, backlog: 8))
        apps.append(try! UDPEchoService(host: a, port: 7))
        udp = a.udpOpen()
        try! a.udpBind(udp, port: 5353)
        // An established connection B → A:80.
        let client = b.socket(.stream)
        try! b.connect(client, to: Endpoint(Lab.ipA, 80), now: now)
        peerSocket = client
        for _ in 0..<8 {
            exchange()
            if let (fd, _) = try? a.accept(listener) {
                connection = fd
                break
            }
        }
        precondition(connection != nil, "setup: the handshake B → A:80 did not complete")
        // A datagram waiting for C's MAC address.
        try! a.udpSend(udp, [1, 2, 3], to: Endpoint(Lab.ipC, 5353), now: now)
        // The first fragment of an echo request from B, its rest never sent.
        var header = IPv4Header(source: Lab.ipB, destination: Lab.ipA, protocol: .icmp, payloadLength: 0,
                                identification: 0x4242)
        header.moreFragments = true
        let fragment = ipv4Frame(to: Lab.macA, from: Lab.macB, header,
                                 icmpMessage(.echoRequest(identifier: 1, sequence: 1), [UInt8](repeating: 7, count: 16)))
        a.receive(fragment, on: InterfaceID(0), now: now)
        settle()
        drain(carry: false)
    }

    /// Polls A at `now`, checking the work one poll does.
    func pollA() {
        eventsThisPoll = 0
        framesThisPoll = 0
        a.poll(now: now)
        check(eventsThisPoll <= Bound.eventsPerPoll, "one poll emitted \(eventsThisPoll) events at \(now)")
        check(framesThisPoll <= Bound.framesPerPoll, "one poll queued \(framesThisPoll) frames at \(now)")
    }

    func runApps() {
        for app in apps { app.run(on: a, now: now) }
    }

    var quiet: Bool {
        if let deadline = a.nextDeadline(), deadline <= now { return false }
        return apps.allSatisfy { app in app.nextWakeup.map { $0 > now } ?? true }
    }

    /// Polls (with the applications' turns) until quiet, at most `settleRounds` times.
    func settle() {
        for _ in 0..<Bound.settleRounds {
            pollA()
            runApps()
            if quiet { return }
            // Frames queued meanwhile stay queued (the queue is bounded); take them to look at.
            drain(carry: false)
        }
        check(false, "not quiet after \(Bound.settleRounds) polls at \(now): nextDeadline \(String(describing: a.nextDeadline())), "
              + "wakeups \(apps.map { String(describing: $0.nextWakeup) }), statistics \(a.statistics)")
    }

    /// Takes A's transmitted frames, remembering the last TCP segment to B;
    /// with `carry`, hands them to B and B's answers back to A.
    func drain(carry: Bool) {
        while let frame = a.takeFrame(from: InterfaceID(0), { Array($0) }) {
            observe(frame)
            if carry { b.receive(frame, on: InterfaceID(0), now: now) }
        }
        guard carry else { return }
        b.poll(now: now)
        while let frame = b.takeFrame(from: InterfaceID(0), { Array($0) }) {
            a.receive(frame, on: InterfaceID(0), now: now)
        }
    }

    /// Both hosts exchange frames once and run (used to set up).
    func exchange() {
        pollA()
        drain(carry: true)
        pollA()
    }

    func observe(_ frame: [UInt8]) {
        if recentFrames.count == 8 { recentFrames.removeFirst() }
        recentFrames.append(frame)
        frame.withUnsafeBytes { bytes in
            guard bytes.count > EthernetHeader.length + 20, bytes.be16(12) == 0x0800 else { return }
            let ip = UnsafeRawBufferPointer(rebasing: bytes[EthernetHeader.length...])
            guard let header = try? IPv4Header.parse(ip), header.protocol == .tcp, !header.isFragment,
                  header.totalLength <= ip.count else { return }
            let segment = UnsafeRawBufferPointer(rebasing: ip[header.headerLength..<header.totalLength])
            guard let tcp = try? TCPHeader.parse(segment) else { return }
            lastSegment = SeenSegment(local: tcp.sourcePort, remote: tcp.destinationPort,
                                      seq: tcp.sequenceNumber + (segment.count - tcp.headerLength),
                                      ack: tcp.acknowledgmentNumber, window: tcp.window)
        }
    }

    func checkMemory() {
        let arp = a.arpCache.allEntries.count
        check(arp <= Bound.arpEntries, "ARP cache holds \(arp) entries")
        let connections = a.tcpConnectionInfo().count
        check(connections <= Bound.connections, "\(connections) TCP connections")
    }

    // MARK: Frames from the input

    func frame(_ r: inout FuzzReader) -> [UInt8] {
        let kind = r.byte() % 8
        let dstMAC = r.pick(Lab.macs)
        let srcMAC = r.bool() ? Lab.macB : MACAddress(0x02, 0, 0, 0, r.byte(), r.byte())
        switch kind {
        case 0, 1: return ethernetFrame(to: dstMAC, from: srcMAC, type: .ipv4, datagram(&r, tcp(&r)))
        case 2: return ethernetFrame(to: dstMAC, from: srcMAC, type: .ipv4, datagram(&r, udp(&r)))
        case 3: return ethernetFrame(to: dstMAC, from: srcMAC, type: .ipv4, datagram(&r, icmp(&r)))
        case 4:
            let op: ARPOperation = r.bool() ? .request : .reply
            let packet = arpPacket(op, senderMAC: srcMAC, senderIP: r.address(Lab.addresses),
                                   targetMAC: r.bool() ? .zero : Lab.macA, targetIP: r.address(Lab.addresses))
            return ethernetFrame(to: r.bool() ? .broadcast : dstMAC, from: srcMAC, type: .arp, packet)
        case 5: return ethernetFrame(to: dstMAC, from: srcMAC, type: .ipv4, fragment(&r))
        case 6:
            // A frame A sent, turned around, with a byte changed.
            guard !recentFrames.isEmpty else { return [] }
            var frame = recentFrames[r.below(recentFrames.count)]
            if r.bool() { frame.replaceSubrange(0..<12, with: Array(frame[6..<12]) + Array(frame[0..<6])) }
            if !frame.isEmpty, r.bool() { frame[r.below(frame.count)] ^= r.byte() | 1 }
            return frame
        default:
            // Junk, sometimes behind a proper Ethernet header.
            let junk = r.array(r.bool() ? Int(r.u16() % 1600) : r.below(200))
            return r.bool() ? ethernetFrame(to: Lab.macA, from: srcMAC, type: r.bool() ? .ipv4 : .arp, junk) : junk
        }
    }

    /// (protocol, transport bytes, source, destination) in an IPv4 datagram with input-chosen fields.
    func datagram(_ r: inout FuzzReader, _ transport: (IPProtocol, [UInt8], IPv4Address, IPv4Address)) -> [UInt8] {
        let (proto, payload, source, destination) = transport
        var header = IPv4Header(source: source, destination: destination, protocol: proto, payloadLength: 0)
        let shape = r.byte()
        if shape & 0x01 != 0 { header.timeToLive = r.byte() }
        if shape & 0x02 != 0 { header.dontFragment = true }
        if shape & 0x04 != 0 { header.typeOfService = r.byte() }
        if shape & 0x08 != 0 { header.options = r.array(4 * Int(r.byte() % 11)).paddedToWords() }
        header.identification = UInt16(r.byte())
        var datagram = ipv4Datagram(header, payload)
        if shape & 0x10 != 0, datagram.count > 4 {
            // Lie about the length (the checksum stays right).
            datagram.withUnsafeMutableBytes { buffer in
                buffer.storeBE16(UInt16(truncatingIfNeeded: Int(UnsafeRawBufferPointer(buffer).be16(2)) + Int(Int8(bitPattern: r.byte()))), at: 2)
                buffer.storeBE16(0, at: 10)
                let ihl = Int(buffer[0] & 0x0f) * 4
                buffer.storeBE16(InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<min(ihl, buffer.count)])), at: 10)
            }
        }
        if shape & 0x20 != 0, !datagram.isEmpty { datagram[r.below(datagram.count)] ^= r.byte() | 1 }
        return datagram
    }

    func tcp(_ r: inout FuzzReader) -> (IPProtocol, [UInt8], IPv4Address, IPv4Address) {
        let source = r.address(Lab.addresses), destination = r.bool() ? Lab.ipA : r.address(Lab.addresses)
        let toConnection = r.byte()
        var sourcePort = r.pick(Lab.ports), destinationPort = r.pick(Lab.ports)
        var seq = SequenceNumber(rawValue: r.u32()), ack = SequenceNumber(rawValue: r.u32())
        if toConnection & 0x03 != 0, let last = lastSegment {
            // In (or near) the window of the last segment A sent.
            sourcePort = last.remote
            destinationPort = last.local
            seq = last.ack + Int(Int16(truncatingIfNeeded: seq.rawValue)) * Int(toConnection >> 2)
            ack = last.seq + Int(Int8(truncatingIfNeeded: ack.rawValue))
        } else if toConnection & 0x04 != 0 {
            // Land: our own port on both ends.
            sourcePort = destinationPort
        }
        let flags = TCPFlags(rawValue: r.byte())
        let window = r.u16()
        let options = r.bool() ? r.tcpOptions() : TCPOptions()
        let payload = r.array(Int(r.byte()) * Int(r.byte() % 8 + 1))
        let header = TCPHeader(sourcePort: sourcePort, destinationPort: destinationPort, sequenceNumber: seq,
                               acknowledgmentNumber: ack, flags: flags, window: window, urgentPointer: r.u16(),
                               options: options)
        return (.tcp, tcpSegment(header, from: source, to: destination, payload), source, destination)
    }

    func udp(_ r: inout FuzzReader) -> (IPProtocol, [UInt8], IPv4Address, IPv4Address) {
        let source = r.address(Lab.addresses), destination = r.bool() ? Lab.ipA : r.address(Lab.addresses)
        let sourcePort = r.pick(Lab.ports), destinationPort = r.pick(Lab.ports)
        let payload = r.array(Int(r.byte()) * Int(r.byte() % 8 + 1))
        return (.udp, udpDatagram(from: source, sourcePort, to: destination, destinationPort, payload), source, destination)
    }

    func icmp(_ r: inout FuzzReader) -> (IPProtocol, [UInt8], IPv4Address, IPv4Address) {
        let source = r.address(Lab.addresses), destination = r.bool() ? Lab.ipA : r.address(Lab.addresses)
        let message: ICMPv4Message = switch r.byte() % 5 {
        case 0: .echoRequest(identifier: r.u16(), sequence: r.u16())
        case 1: .destinationUnreachable(code: r.byte() % 16, nextHopMTU: r.u16())
        case 2: .timeExceeded(code: r.byte() % 2)
        case 3: .echoReply(identifier: r.u16(), sequence: r.u16())
        default: .other(type: r.byte(), code: r.byte(), rest: r.u32())
        }
        var data: [UInt8]
        if message.isError, r.bool(), !recentFrames.isEmpty {
            // Quote a datagram A sent (as a router on the path would), truncated by the input.
            let frame = recentFrames[r.below(recentFrames.count)]
            data = Array(frame.dropFirst(EthernetHeader.length).prefix(28 + Int(r.byte())))
        } else {
            data = r.array(Int(r.byte()))
        }
        if !data.isEmpty, r.byte() & 7 == 0 { data[r.below(data.count)] ^= 0x80 }
        return (.icmp, icmpMessage(message, data), source, destination)
    }

    /// A fragment: a small set of IDs so fragments meet, offsets and sizes from the input.
    func fragment(_ r: inout FuzzReader) -> [UInt8] {
        let source = r.bool() ? Lab.ipB : r.address(Lab.addresses)
        var header = IPv4Header(source: source, destination: Lab.ipA, protocol: r.pick([.icmp, .udp, .tcp]),
                                payloadLength: 0, identification: 0x4240 + UInt16(r.byte() % 4))
        header.moreFragments = r.byte() & 3 != 0
        let offset = r.byte()
        header.fragmentOffset = offset & 0x80 != 0 ? Int(r.u16() & 0x1fff) * 8 : Int(offset) * 8
        let length = r.bool() ? Int(r.byte()) * 8 : Int(r.byte())
        var payload: [UInt8]
        if header.fragmentOffset == 0, header.protocol == .icmp, r.bool() {
            payload = icmpMessage(.echoRequest(identifier: 1, sequence: 1), [UInt8](repeating: 7, count: max(0, length - 8)))
        } else {
            payload = [UInt8](repeating: r.byte(), count: length)
        }
        return ipv4Datagram(header, payload)
    }

    // MARK: Operations

    func step(_ r: inout FuzzReader) {
        switch r.byte() % 16 {
        case 0...6:
            let frame = frame(&r)
            if !frame.isEmpty { a.receive(frame, on: InterfaceID(0), now: now) }
        case 7: now = now + .milliseconds(Int(r.byte()))
        case 8: now = now + .seconds(Int(r.byte()) * (r.bool() ? 1 : 30))
        case 9:
            if let deadline = a.nextDeadline(), deadline > now, deadline < now + .seconds(3600) { now = deadline }
        case 10, 11: settle()
        case 12: drain(carry: r.bool())
        case 13, 14: application(&r)
        default: runApps()
        }
    }

    func application(_ r: inout FuzzReader) {
        switch r.byte() % 12 {
        case 0:
            if let fd = connection {
                let bytes = [UInt8](repeating: r.byte(), count: Int(r.byte()) * 64)
                _ = bytes.withUnsafeBytes { try? a.send(fd, $0, now: now) }
            }
        case 1:
            if let fd = connection {
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = buffer.withUnsafeMutableBytes { try? a.recv(fd, into: $0, now: now) }
            }
        case 2:
            if let fd = connection {
                try? a.close(fd, now: now)
                connection = nil
            }
        case 3:
            if let fd = connection { try? a.shutdown(fd, r.bool() ? .write : .read, now: now) }
        case 4:
            if let (fd, _) = try? a.accept(listener) {
                if connection == nil { connection = fd } else { extraSockets.append(fd) }
            }
        case 5:
            // A new connection out: to the peer, to a silent neighbour, off-link, or to ourselves.
            let fd = a.socket(.stream)
            extraSockets.append(fd)
            let target = r.pick([Lab.ipB, Lab.ipC, Lab.offLink, Lab.ipA])
            try? a.connect(fd, to: Endpoint(target, r.pick(Lab.ports)), now: now)
        case 6:
            let target = r.pick([Lab.ipB, Lab.ipC, Lab.offLink, Lab.ipA, IPv4Address(192, 0, 2, 255)])
            try? a.udpSend(udp, r.array(Int(r.byte())), to: Endpoint(target, r.pick(Lab.ports)), now: now)
        case 7:
            if let fd = peerSocket {
                let bytes = [UInt8](repeating: r.byte(), count: Int(r.byte()) * 64)
                _ = bytes.withUnsafeBytes { try? b.send(fd, $0, now: now) }
            }
        case 8:
            if !extraSockets.isEmpty { try? a.close(extraSockets.removeLast(), now: now) }
        case 9:
            while a.udpReceive(udp) != nil {}
            _ = a.udpTakeError(udp)
        case 10:
            if let fd = peerSocket, r.bool() {
                try? b.close(fd, now: now)
                peerSocket = nil
            }
        default:
            for fd in extraSockets { _ = try? a.takeError(fd) }
        }
    }
}

extension Array where Element == UInt8 {
    /// Rounded up to a multiple of 4 bytes with End-of-Options zeros.
    func paddedToWords() -> [UInt8] { self + [UInt8](repeating: 0, count: (4 - count % 4) % 4) }
}

runFuzzer { data, size in
    var reader = FuzzReader(fuzzInput(data, size))
    let scenario = Scenario()
    var operations = 0
    while !reader.isAtEnd && operations < 512 {
        scenario.step(&reader)
        scenario.checkMemory()
        operations += 1
    }
    // Whatever the input did, the host settles at the end, and again once its timers have run.
    scenario.settle()
    scenario.now = scenario.now + .seconds(600)
    scenario.settle()
    inputsRun += 1
    if inputsRun % 512 == 0 {
        let resident = residentBytes()
        check(resident <= Bound.residentBytes, "resident memory \(resident >> 20) MiB")
    }
    return 0
}
