import NetStackWire
import NetStackCore
import NetStackSimulator

// Steps 1–3: a socket, the server's address from DNS, the three-way handshake.

extension DemoRun {
    /// 1. socket(): a descriptor for a new control record.
    func step1Socket() -> Int32 {
        narrator.heading(Phrase(.socketHeading), Phrase(.socketExplanation))
        let fd = browser.socket(.stream)
        narrator.call(.callSocket, "\(fd)", flag(ipv6), node: browser.name, time: clock())
        result.descriptor = fd
        let state = (try? browser.state(fd)) ?? .closed
        narrator.detail("           " + narrator.say(.socketRowTitle))
        narrator.detail(ipv6 ? """
                       Proto Recv-Q Send-Q Local Address           Foreign Address         State
                       tcp6       0      0 :::*                    :::*                    \(state)
            """ : """
                       Proto Recv-Q Send-Q Local Address           Foreign Address         State
                       tcp        0      0 0.0.0.0:*               0.0.0.0:*               \(state)
            """)
        do {
            try browser.setOption(fd, .receiveBuffer(Self.receiveBuffer))
            narrator.call(.callReceiveBuffer, "\(fd)", .plain(Self.grouped(Self.receiveBuffer)), node: browser.name, time: clock())
        } catch {
            problem(.problemCallFailed, "setsockopt(SO_RCVBUF)", .plain(error.symbol))
        }
        narrator.outcome(.socketOutcome, "\(fd)")
        return fd
    }

    /// 2. The resolver asks the DNS server; ARP (with IPv6: neighbour discovery) finds the gateway first.
    func step2Resolve() -> IPAddress? {
        narrator.heading(Phrase(.resolveHeading, .plain(Self.serverName)), Phrase(ipv6 ? .resolveExplanation6 : .resolveExplanation))
        // A browser asks again when a lookup times out (each lookup is up to 3 queries, 1 s apart).
        var outcome: ResolutionState?
        for attempt in 1...Self.lookupAttempts {
            narrator.call(.callLookup, .plain(Self.serverName), "\(dnsAddress)", flag(attempt > 1),
                          node: browser.name, time: clock())
            let lookup: ResolutionID
            do {
                lookup = try browser.resolve(Self.serverName, type: ipv6 ? .aaaa : .a, now: simulator.now)
            } catch {
                problem(.problemCallFailedAtOnce, "resolve()", .plain(error.symbol))
                narrator.outcome(.resolverCouldNotStart, .plain(error.symbol))
                return nil
            }
            simulator.kick(net.client)
            run(within: .seconds(20)) { browser.resolution(lookup) != .pending }
            settle()
            outcome = browser.resolution(lookup)
            if case .resolved = outcome { break }
        }
        guard case let .resolved(answer) = outcome, let address = answer.addresses.first, address.isIPv4 != ipv6 else {
            let state = outcome.map { "\($0)" } ?? "unknown"
            problem(.problemLookupFailed, "\(Self.lookupAttempts)", .plain(state))
            narrator.outcome(.noAddress, .plain(Self.serverName), .plain(state))
            return nil
        }
        result.resolvedAddress = address.ipv4
        result.resolvedIPAddress = address
        narrator.outcome(ipv6 ? .resolveOutcome6 : .resolveOutcome, .plain(Self.serverName), "\(address)", .source(answer.source), "\(answer.ttl)")

        // The same question again: the cache answers, nothing goes on the wire.
        let framesBefore = browser.adapters[0].counters.txPackets
        narrator.call(.callLookupAgain, .plain(Self.serverName), node: browser.name, time: clock())
        if let again = try? browser.resolve(Self.serverName, type: ipv6 ? .aaaa : .a, now: simulator.now),
           case let .resolved(cached) = browser.resolution(again) {
            simulator.kick(net.client)
            result.secondLookupFromCache = cached.source == .cache && browser.adapters[0].counters.txPackets == framesBefore
            narrator.outcome(.lookupAgainOutcome, .source(cached.source), "\(cached.ttl)")
        }
        return address
    }

    /// 3. connect(): SYN, SYN-ACK, ACK with sequence numbers, windows and MSS.
    func step3Connect(_ fd: Int32, to address: IPAddress) -> Bool {
        narrator.heading(Phrase(.connectHeading), Phrase(ipv6 ? .connectExplanation6 : .connectExplanation))
        let remote = Endpoint(address, Self.httpPort)
        narrator.call(.callConnect, "\(fd)", "\(remote)", node: browser.name, time: clock())
        do {
            try browser.connect(fd, to: remote, now: simulator.now)
        } catch {
            problem(.problemCallFailedAtOnce, "connect()", .plain(error.symbol))
            narrator.outcome(.connectFailed, .plain(error.symbol))
            return false
        }
        simulator.kick(net.client)
        let established = run(within: .seconds(300)) {
            guard let events = try? browser.poll(fd) else { return true }
            return events.contains(.writable) || events.contains(.error)
        }
        guard established, (try? browser.state(fd)) == .established else {
            let error = (try? browser.takeError(fd)).flatMap { $0 }
            problem(.problemHandshakeUnfinished, "300", .plain(error?.symbol ?? ""))
            narrator.outcome(.noConnection, .plain(error?.symbol ?? ""))
            return false
        }
        // Let the last ACK reach the server, so its side is told in this step too.
        let local = (try? browser.endpoints(fd))?.local
        run(within: .seconds(10)) { server.tcpConnectionInfo().contains { $0.remote == local && $0.state == .established } }
        settle()
        for narration in storyteller.noticeStates(server, now: simulator.now) { narrator.tell(narration, node: server.name, time: clock()) }

        let info = browserConnection(local)
        let mss = storyteller.announcedMSS
        result.announcedMSS = (mss[browser.name], mss[server.name])
        result.segmentSize = server.tcpConnectionInfo().first { $0.remote == local }?.sendMSS
        narrator.outcome(.connectOutcome, .plain(local.map(\.description) ?? "?"), "\(remote)",
                         .plain(mss[browser.name].map(String.init) ?? "?"), .plain(mss[server.name].map(String.init) ?? "?"),
                         .plain(result.segmentSize.map(String.init) ?? "?"))
        if let info {
            narrator.detail(narrator.say(.netstatFilled, .plain(browser.name)))
            narrator.detail(browser.netstat())
            narrator.detail("\t " + info.summary)
        }
        showSignal()
        return true
    }

    /// The LAN adapter's signal for the browser's SYN: drawn, decoded, compared.
    private func showSignal() {
        capture.take()
        guard let syn = capture.browserRecords().first(where: { Self.isSYN($0.data, from: browser.adapters[0].mac) })?.data else {
            problem(.problemNoSYN)
            return
        }
        let bytes = ManchesterCode.signalBytes(forFrame: syn, headerBytes: 6)
        let decoded = (try? ManchesterCode.decode(ManchesterCode.encode(bytes))) ?? []
        result.signalBytes = bytes
        result.signalDecoded = decoded
        result.signalFrameStart = Array(syn.prefix(6))
        let same = decoded == bytes && Array(decoded.dropFirst(8)) == result.signalFrameStart
        if narrator.tellsEvents {
            narrator.text("")
            narrator.text(narrator.paint("   " + narrator.say(.signalTitle), "1"))
            for line in ManchesterCode.drawFrameStart(syn, headerBytes: 6, color: options.color,
                                                                   language: options.language) { narrator.text("   " + line) }
        }
        narrator.outcome(.signalOutcome, .plain(Self.hexBytes(decoded)), flag(same))
    }

    /// Whether `frame` is a TCP SYN (without ACK) sent by `mac`, over IPv4 or IPv6 (no extension headers).
    static func isSYN(_ frame: [UInt8], from mac: MACAddress) -> Bool {
        guard frame.count >= 54, Array(frame[6..<12]) == mac.octets else { return false }
        let tcp: Int
        if frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 {
            tcp = 14 + Int(frame[14] & 0x0F) * 4
        } else if frame[12] == 0x86, frame[13] == 0xDD, frame[20] == 6 {
            tcp = 14 + 40
        } else {
            return false
        }
        guard frame.count > tcp + 13 else { return false }
        return frame[tcp + 13] & 0x12 == 0x02
    }

    /// "55 55 D5 02 00 …" in upper-case hex.
    static func hexBytes(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 0xF)]]) }.joined(separator: " ")
    }
}
