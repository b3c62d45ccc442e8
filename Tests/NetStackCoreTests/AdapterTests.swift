// The LAN adapter model of the chapter: the receiver checks the FCS and the
// destination MAC, stores the frame in its buffer (the receive ring) and raises
// an interrupt; the sender pads to 60 bytes and appends the FCS.

import NetStackCore
import NetStackWire
import Testing

/// A frame from A to `destination` carrying an echo request for R (arp-icmp-echo #3, readdressed).
private func echoRequest(to destination: MACAddress = Lab.macR0) throws -> [UInt8] {
    readdressed(try captured("arp-icmp-echo", 3), to: destination, from: Lab.macA)
}

/// R with A's MAC address known, so replies go straight out.
private func routerSide(fcs: Bool = false, receiveRing: Int = 256, transmitQueue: Int = 1024,
                        promiscuous: Bool = false) -> Host {
    var port = Port.r0
    port.receiveRing = receiveRing
    port.transmitQueue = transmitQueue
    let host = makeHost("R", [port], fcs: fcs)
    host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
    if promiscuous { host.setPromiscuous(true, interface: eth0) }
    return host
}

@Suite("LAN adapter: MAC filter")
struct AdapterFilterTests {
    @Test("a frame for the adapter's own MAC is accepted and reaches the stack")
    func ownUnicastAccepted() throws {
        let host = routerSide()
        #expect(host.feed(try echoRequest()) == .accepted)
        let counters = host.adapters[0].counters
        #expect(counters.rxPackets == 1)
        #expect(counters.rxBytes == 98)
        #expect(counters.rxFiltered == 0)
        #expect(counters.rxMulticast == 0)
        #expect(host.statistics.inReceives == 1)
        #expect(host.sent().count == 1, "the echo reply")
    }

    @Test("a broadcast frame is accepted (and counted as multicast)")
    func broadcastAccepted() throws {
        let host = routerSide()
        #expect(host.feed(try captured("arp-icmp-echo", 1)) == .accepted)
        #expect(host.adapters[0].counters.rxPackets == 1)
        #expect(host.adapters[0].counters.rxMulticast == 1)
        #expect(host.statistics.arpRepliesSent == 1)
    }

    @Test("unicast for another adapter is filtered, counted, and never reaches the stack")
    func otherUnicastFiltered() throws {
        let host = routerSide()
        #expect(host.feed(try echoRequest(to: Lab.macOther)) == .filtered(Lab.macOther))
        let counters = host.adapters[0].counters
        #expect(counters.rxFiltered == 1)
        #expect(counters.rxPackets == 0)
        #expect(counters.rxBytes == 0)
        #expect(counters.interrupts == 0)
        #expect(!host.adapters[0].interruptPending)
        #expect(host.statistics.inReceives == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("in promiscuous mode every frame is accepted; the driver then drops what was addressed to another MAC")
    func promiscuousAcceptsAll() throws {
        let host = routerSide(promiscuous: true)
        // A frame for another MAC whose IP destination is also another host's.
        var frame = try echoRequest(to: Lab.macOther)
        frame.replaceSubrange(30..<34, with: [192, 0, 2, 77])
        fixIPChecksum(&frame)
        #expect(host.feed(frame) == .accepted)
        #expect(host.adapters[0].counters.rxPackets == 1)
        #expect(host.adapters[0].counters.rxFiltered == 0)
        // Not for this station (Linux's PACKET_OTHERHOST): never reaches IP.
        #expect(host.adapters[0].counters.rxDropped == 1)
        #expect(host.statistics.inReceives == 0)
        #expect(host.sent().isEmpty)
        // Turned off again, the filter is back.
        host.setPromiscuous(false, interface: eth0)
        #expect(host.feed(frame) == .filtered(Lab.macOther))
    }
}

@Suite("LAN adapter: FCS, runts and errors")
struct AdapterErrorTests {
    @Test("a frame whose FCS matches is accepted and handed on without the FCS")
    func goodFCS() throws {
        let host = routerSide(fcs: true)
        #expect(host.feed(withFCS(try echoRequest())) == .accepted)
        #expect(host.adapters[0].counters.rxBytes == 102, "98 bytes and the 4-byte FCS")
        let reply = try #require(host.sent().first)
        #expect(reply.count == 102)
        // Without its FCS the reply is a plain 98-byte echo reply: the FCS was not taken as data.
        let frame = try Frame(Array(reply.dropLast(4)))
        #expect(try frame.ip().totalLength == 84)
        #expect(try frame.icmp().data == Array(try echoRequest()[42...]))
    }

    @Test("a damaged frame (FCS mismatch) is dropped and counted as a CRC error")
    func badFCS() throws {
        let host = routerSide(fcs: true)
        var frame = withFCS(try echoRequest())
        frame[50] ^= 0x04  // one bit flipped on the wire
        #expect(host.feed(frame) == .fcsMismatch)
        let counters = host.adapters[0].counters
        #expect(counters.rxErrors == 1)
        #expect(counters.rxCRCErrors == 1)
        #expect(counters.rxPackets == 0)
        #expect(counters.interrupts == 0)
        #expect(host.statistics.inReceives == 0)
        #expect(host.sent().isEmpty)
    }

    @Test("a frame with a damaged FCS itself is dropped too")
    func damagedFCSBytes() throws {
        let host = routerSide(fcs: true)
        var frame = withFCS(try echoRequest())
        frame[frame.count - 1] ^= 0x80
        #expect(host.feed(frame) == .fcsMismatch)
        #expect(host.adapters[0].counters.rxCRCErrors == 1)
    }

    @Test("a frame shorter than a MAC header is a runt: an error, not a CRC error")
    func runtWithoutFCS() throws {
        let host = routerSide()
        let frame = Array(try echoRequest()[0..<13])
        #expect(host.feed(frame) == .runt)
        #expect(host.adapters[0].counters.rxErrors == 1)
        #expect(host.adapters[0].counters.rxCRCErrors == 0)
        #expect(host.adapters[0].counters.rxPackets == 0)
        // Exactly a MAC header passes the adapter; the driver then drops it (no payload to hand on).
        #expect(host.feed(Array(try echoRequest()[0..<14])) == .accepted)
    }

    @Test("with an FCS, a runt is anything shorter than MAC header plus FCS")
    func runtWithFCS() throws {
        let host = routerSide(fcs: true)
        #expect(host.feed(Array(withFCS(try echoRequest())[0..<17])) == .runt)
        #expect(host.adapters[0].counters.rxErrors == 1)
        #expect(host.adapters[0].counters.rxCRCErrors == 0)
        #expect(host.feed([]) == .runt)
        #expect(host.adapters[0].counters.rxErrors == 2)
    }

    @Test("an oversized frame (longer than the MTU allows) counts as a receive error, not a ring overflow")
    func oversizedFrame() throws {
        let host = routerSide()
        let big = Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv4, [UInt8](repeating: 0x45, count: 1600))
        #expect(host.feed(big) == .oversized)
        #expect(host.adapters[0].counters.rxMissed == 0, "the ring is empty: nothing overflowed")
        #expect(host.adapters[0].counters.rxErrors == 1)
        #expect(host.adapters[0].counters.rxCRCErrors == 0)
        // MAC header plus a full 1500-byte MTU is the longest frame taken.
        let largest = Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv6, [UInt8](repeating: 0x60, count: 1500))
        #expect(host.feed(largest) == .accepted)
        #expect(host.feed(largest + [0]) == .oversized)
    }

    @Test("B's 1500-byte reply fragment is too big for R's 1000-byte-MTU adapter (ip-fragments #5), as for Linux's")
    func capturedOversizedFrame() throws {
        let router = makeRouter()
        #expect(router.feed(try captured("ip-fragments", 5), on: eth1) == .oversized)
        #expect(router.adapters[1].counters.rxErrors == 1)
        #expect(router.statistics.inReceives == 0)
    }

    @Test("the driver drops frames of an unknown EtherType and counts them as dropped")
    func unknownEtherType() throws {
        let host = routerSide()
        // 0x88B5: IEEE 802 local experimental EtherType 1, which no stack speaks.
        let frame = Build.ethernet(to: Lab.macR0, from: Lab.macA, type: EtherType(rawValue: 0x88B5),
                                   [UInt8](repeating: 0x60, count: 46))
        #expect(host.feed(frame) == .accepted)
        #expect(host.adapters[0].counters.rxPackets == 1)
        #expect(host.adapters[0].counters.rxDropped == 1)
        #expect(host.statistics.inReceives == 0)
    }

    @Test("the driver drops IEEE 802.3 frames (a length, not an EtherType) and counts them as dropped")
    func ieee8023Length() throws {
        let host = routerSide()
        var frame = padded(Build.ethernet(to: Lab.macR0, from: Lab.macA, type: .ipv4, []))
        frame[12] = 0x00
        frame[13] = 46
        #expect(host.feed(frame) == .accepted)
        #expect(host.adapters[0].counters.rxDropped == 1)
    }
}

@Suite("LAN adapter: receive ring and interrupts")
struct AdapterRingTests {
    @Test("frames beyond the ring's slots before a poll are dropped and counted as missed")
    func ringOverflow() throws {
        let host = routerSide(receiveRing: 4)
        let request = try echoRequest()
        var verdicts: [AdapterVerdict] = []
        for _ in 0..<6 { verdicts.append(host.receive(request, on: eth0, now: .zero)) }
        #expect(verdicts == [.accepted, .accepted, .accepted, .accepted, .ringOverflow, .ringOverflow])
        #expect(host.adapters[0].counters.rxMissed == 2)
        #expect(host.adapters[0].counters.rxPackets == 4)
        host.poll(now: .zero)
        #expect(host.sent().count == 4, "one echo reply per frame that found a slot")
        #expect(host.statistics.inReceives == 4)
        // The driver emptied the ring: there is room again.
        #expect(host.feed(request) == .accepted)
        #expect(host.adapters[0].counters.rxMissed == 2)
    }

    @Test("one interrupt per batch: frames arriving before the driver runs share one")
    func oneInterruptPerBatch() throws {
        let host = routerSide()
        var interrupts: [Int] = []
        host.observer = { event in
            if case let .interrupt(_, frames) = event { interrupts.append(frames) }
        }
        let request = try echoRequest()
        for _ in 0..<3 { host.receive(request, on: eth0, now: .zero) }
        #expect(host.adapters[0].counters.interrupts == 1)
        #expect(host.adapters[0].interruptPending)
        #expect(host.nextDeadline() == .zero, "a pending interrupt asks for a poll now")
        host.poll(now: .zero)
        #expect(!host.adapters[0].interruptPending)
        host.poll(now: .zero)
        for _ in 0..<2 { host.receive(request, on: eth0, now: .milliseconds(1)) }
        host.poll(now: .milliseconds(1))
        #expect(host.adapters[0].counters.interrupts == 2)
        #expect(interrupts == [3, 2])
        #expect(host.sent().count == 5)
    }

    @Test("a full transmit queue drops the frame and counts it")
    func transmitQueueFull() throws {
        let host = routerSide(transmitQueue: 2)
        let request = try echoRequest()
        let before = host.adapters[0].counters.txPackets  // the gratuitous ARP sent by assign
        for _ in 0..<3 { host.feed(request) }
        #expect(host.adapters[0].counters.txPackets - before == 2)
        #expect(host.adapters[0].counters.txDropped == 1)
        #expect(host.sent().count == 2)
    }
}

@Suite("LAN adapter: sending")
struct AdapterSendTests {
    @Test("a short frame is padded with zeros to 60 bytes")
    func paddingTo60() throws {
        let host = makeHost("R", [.r0], keepAnnouncements: true)
        let frames = host.sent()
        try #require(frames.count == 1)
        #expect(frames[0].count == 60)
        #expect(frames[0][42...].allSatisfy { $0 == 0 })
        #expect(host.adapters[0].counters.txBytes == 60)
        #expect(host.adapters[0].counters.txPackets == 1)
    }

    @Test("on an FCS link, the frame is padded to 60 bytes and its FCS (CRC-32, LSB first) appended")
    func fcsAppended() throws {
        let host = makeHost("R", [.r0], fcs: true, keepAnnouncements: true)
        let frame = try #require(host.sent().first)
        #expect(frame.count == 64)
        #expect(frame.withUnsafeBytes { EthernetFCS.verify($0) })
        let crc = Array(frame[0..<60]).withUnsafeBytes { CRC32.checksum($0) }
        #expect(Array(frame[60...]) == [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24)])
        #expect(host.adapters[0].counters.txBytes == 64)
    }

    @Test("a frame already 60 bytes or longer is not padded; an FCS link adds exactly four bytes")
    func noPaddingWhenLongEnough() throws {
        let plain = routerSide()
        plain.feed(try echoRequest())
        #expect(plain.sent().map(\.count) == [98])
        let fcs = routerSide(fcs: true)
        fcs.feed(withFCS(try echoRequest()))
        let frame = try #require(fcs.sent().first)
        #expect(frame.count == 102)
        #expect(frame.withUnsafeBytes { EthernetFCS.verify($0) })
    }

    @Test("the frame queued event reports the FCS the adapter appended")
    func frameQueuedEvent() throws {
        var reported: [UInt32?] = []
        let host = makeHost("R", [.r0], fcs: true)
        host.observer = { event in
            if case let .frameQueued(_, _, _, fcs) = event { reported.append(fcs) }
        }
        host.addStaticARP(Lab.ipA, mac: Lab.macA, interface: eth0)
        host.feed(withFCS(try echoRequest()))
        let frame = try #require(host.sent().first)
        let expected = Array(frame.dropLast(4)).withUnsafeBytes { EthernetFCS.compute($0) }
        #expect(reported == [expected])
    }
}

@Suite("LAN adapter: frame ring")
struct FrameRingTests {
    @discardableResult
    private func push(_ ring: inout FrameRing, _ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { ring.push($0) } }

    @Test("frames leave in the order they came, across the ring's wrap")
    func fifoAcrossWrap() {
        var ring = FrameRing(capacity: 3, slotSize: 4)
        var seen: [UInt8] = []
        for value in UInt8(0)..<10 {
            #expect(push(&ring, [value, value]))
            if ring.count == 2, let oldest = ring.pop({ $0[0] }) { seen.append(oldest) }
        }
        while let oldest = ring.pop({ $0[0] }) { seen.append(oldest) }
        #expect(seen == Array(0..<10))
    }

    @Test("an emptied ring starts again at its first slot, so a new burst reuses warm memory")
    func emptiedRingRewinds() throws {
        var ring = FrameRing(capacity: 4, slotSize: 8)
        push(&ring, [1])
        let first = try #require(ring.peek()).baseAddress
        push(&ring, [2])
        ring.dropOldest()
        #expect(ring.peek()?.baseAddress != first)  // the second slot: not empty yet, no rewind
        ring.dropOldest()
        #expect(ring.isEmpty)
        push(&ring, [3])
        #expect(ring.peek()?.baseAddress == first)
        #expect(ring.peek().map { Array($0) } == [3])
    }

    @Test("a full ring refuses a frame and keeps what it holds")
    func fullRingRefuses() {
        var ring = FrameRing(capacity: 2, slotSize: 4)
        #expect(push(&ring, [1]) && push(&ring, [2]))
        #expect(!push(&ring, [3]))
        #expect(ring.pop { Array($0) } == [1])
        #expect(ring.pop { Array($0) } == [2])
        #expect(ring.pop { Array($0) } == nil)
    }
}
