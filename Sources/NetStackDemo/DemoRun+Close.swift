import NetStackWire
import NetStackCore
import NetStackSimulator

// Step 6 (close, TIME_WAIT, the 4-tuple refused), the ladder diagram, and
// step 7 (UDP: a lost datagram stays lost).

extension DemoRun {
    /// 6. The browser closes first, sits in TIME_WAIT, and cannot reuse the 4-tuple.
    func step6Close(_ fd: Int32) {
        narrator.heading(Phrase(.closeHeading), Phrase(.closeExplanation))
        guard let endpoints = try? browser.endpoints(fd), let local = endpoints.local, let remote = endpoints.remote else {
            problem(.problemNoAddresses)
            return
        }
        narrator.call(.callClose, "\(fd)", node: browser.name, time: clock())
        do { try browser.close(fd, now: simulator.now) } catch {
            problem(.problemCallFailed, "close()", .plain(error.symbol))
        }
        simulator.kick(net.client)
        let closed = run(within: .seconds(600)) {
            browserConnection(local)?.state == .timeWait && !server.tcpConnectionInfo().contains { $0.remote == local }
        }
        settle()
        for host in [browser, server] {
            for narration in storyteller.noticeStates(host, now: simulator.now) { narrator.tell(narration, node: host.name, time: clock()) }
        }
        narrator.flushRepeats()
        result.timeWaitOnCloser = browserConnection(local)?.state == .timeWait
        result.closerNetstat = browser.netstat()
        if !closed { problem(.problemCloseUnfinished, "600") }
        narrator.detail("")
        narrator.detail("\(browser.name)$ netstat")
        narrator.detail(browser.netstat())
        narrator.detail("\(server.name)$ netstat")
        narrator.detail(server.netstat())
        guard result.timeWaitOnCloser else {
            let state = browserConnection(local)?.state.description ?? narrator.say(.connectionGone)
            problem(.problemNotTimeWait, .plain(state))
            narrator.outcome(.notTimeWait, .plain(state))
            return
        }
        narrator.outcome(.closeOutcome, "\(local)", "\(remote)")
        tryReuse(local: local, remote: remote)
    }

    /// A new socket asks for the same local port and peer while TIME_WAIT holds them.
    private func tryReuse(local: Endpoint, remote: Endpoint) {
        narrator.detail("   " + narrator.say(.reuseIntro, "\(local)", "\(remote)"))
        let fd = browser.socket(.stream)
        narrator.call(.callSocketAgain, "\(fd)", flag(ipv6), node: browser.name, time: clock())
        do {
            try browser.bind(fd, to: local)
            narrator.call(.callBind, "\(fd)", "\(local)", node: browser.name, time: clock())
        } catch {
            result.reuseBindError = error
            narrator.call(.callBind, "\(fd)", "\(local)", "\(error)", "\(local.port)", node: browser.name, time: clock())
        }
        if result.reuseBindError != nil {
            try? browser.setOption(fd, .reuseAddress(true))
            narrator.call(.callReuseAddress, "\(fd)", node: browser.name, time: clock())
            do {
                try browser.bind(fd, to: local)
                narrator.call(.callBind, "\(fd)", "\(local)", node: browser.name, time: clock())
            } catch {
                narrator.call(.callBind, "\(fd)", "\(local)", "\(error)", node: browser.name, time: clock())
            }
        }
        do {
            try browser.connect(fd, to: remote, now: simulator.now)
            narrator.call(.callConnectReused, "\(fd)", "\(remote)", node: browser.name, time: clock())
            try? browser.setOption(fd, .linger(.zero))
        } catch {
            result.reuseConnectError = error
            narrator.call(.callConnectRefused, "\(fd)", "\(remote)", "\(error)", node: browser.name, time: clock())
        }
        try? browser.close(fd, now: simulator.now)
        simulator.kick(net.client)
        settle()
        narrator.outcome(.reuseOutcome, flag(result.reuseConnectError != nil), "\(local)", "\(remote)")
    }

    /// The browser's connection from SYN to the last ACK, as a ladder diagram.
    func showLadder() {
        guard let ladder = storyteller.ladder else { return }
        let diagram = ladder.diagram(leftName: "\(browser.name)\n\(ladder.left)", rightName: "\(server.name)\n\(ladder.right)",
                                     finished: true)
        result.ladder = diagram
        result.segmentsLost = ladder.lostDataSegments(fromLeft: false, finished: true).map(\.seq)
        guard narrator.tellsEvents else { return }
        narrator.heading(Phrase(.ladderHeading), Phrase(.ladderExplanation))
        for line in diagram.summarised(keepingFirst: 4, keepingLast: 1, language: options.language).render(width: 78, color: options.color) {
            narrator.text(line)
        }
    }

    /// 7. UDP datagrams to the echo service; one lost on a cable is never sent again.
    func step7UDP() {
        narrator.heading(Phrase(.udpHeading), Phrase(.udpExplanation, "\(Self.datagramCount)", "\(Self.echoPort)", "\(Self.droppedDatagram)"))
        let fd = browser.socket(.datagram)
        let peer = Endpoint(serverAddress, Self.echoPort)
        narrator.call(.callUDPSocket, "\(fd)", flag(ipv6), node: browser.name, time: clock())
        do {
            try browser.connect(fd, to: peer, now: simulator.now)
            narrator.call(.callUDPConnect, "\(fd)", "\(peer)", node: browser.name, time: clock())
        } catch {
            problem(.problemCallFailed, "UDP connect", .plain(error.symbol))
            return
        }
        let frameLength = Self.datagramFrameLength + (ipv6 ? IPv6Header.length - IPv4Header.minimumLength : 0)
        let fault = WireFault(.drop, on: net.routerLANBCable, direction: .aToB) { $0 == frameLength }
        faults.append(fault)
        let sentBefore = browser.statistics.udpOutDatagrams
        var echoed: [Int] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        func collect() {
            // Bounded: the echoes of at most `datagramCount` datagrams wait.
            for _ in 0..<(4 * Self.datagramCount) {
                guard let count = try? browser.recv(fd, into: buffer, now: simulator.now) else { return }
                if let number = Self.datagramNumber(Array(buffer[0..<count])) { echoed.append(number) }
            }
        }
        for number in 1...Self.datagramCount {
            // The fault takes datagram `droppedDatagram` only: armed just before it leaves, disarmed after.
            fault.armed = number == Self.droppedDatagram
            let payload = Self.datagram(number)
            narrator.call(.callUDPSend, "\(fd)", "\(number)", "\(Self.datagramCount)", "\(payload.count)", node: browser.name, time: clock())
            let sent = payload.withUnsafeBytes { bytes in
                Result { () throws(NetError) in try browser.send(fd, bytes, now: simulator.now) }
            }
            if case let .failure(error) = sent { problem(.problemCallFailed, "UDP send \(number)", .plain(error.symbol)) }
            result.udpSent.append(number)
            simulator.kick(net.client)
            run(within: Self.datagramSpacing) { false }
            if fault.struck != nil, result.udpDropped == nil { result.udpDropped = number }
            fault.armed = false
            collect()
        }
        settle(.milliseconds(100))
        collect()
        narrator.flushRepeats()
        result.udpEchoed = echoed
        result.udpDatagramsSentByStack = browser.statistics.udpOutDatagrams - sentBefore
        try? browser.close(fd, now: simulator.now)
        let missing = result.udpSent.filter { !echoed.contains($0) }
        narrator.outcome(.echoOutcome, .plain(echoed.map(String.init).joined(separator: ", ")),
                         .plain(missing.map(String.init).joined(separator: ", ")))
        narrator.outcome(.udpStackOutcome, "\(result.udpDatagramsSentByStack)", "\(result.udpSent.count)")
    }

    /// The frame on the cable for one of step 7's datagrams: MAC header, IPv4, UDP, 160 bytes, FCS (IPv6's header is 20 bytes more).
    static let datagramFrameLength = 14 + 20 + 8 + 160 + 4

    /// Datagram `number`: "audio frame 3/5 " padded with dots to 160 bytes.
    static func datagram(_ number: Int) -> [UInt8] {
        let text = Array("audio frame \(number)/\(datagramCount) ".utf8)
        return text + [UInt8](repeating: UInt8(ascii: "."), count: max(0, 160 - text.count))
    }

    /// The number in an echoed datagram, if it is one of ours.
    static func datagramNumber(_ bytes: [UInt8]) -> Int? {
        let prefix = Array("audio frame ".utf8)
        guard bytes.count > prefix.count, Array(bytes.prefix(prefix.count)) == prefix else { return nil }
        let digits = bytes[prefix.count...].prefix { (0x30...0x39).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}
