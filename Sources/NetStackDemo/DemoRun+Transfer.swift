import NetStackWire
import NetStackCore

// Steps 4 and 5: the GET, the page in segments under the window, and the one
// frame noise damages on the way — dropped by the adapter, recovered by TCP.

extension DemoRun {
    func step4And5Transfer(_ fd: Int32, page: [UInt8]) {
        narrator.heading(Phrase(.transferHeading, .plain(Self.grouped(page.count))), Phrase(.transferExplanation))
        let request = Array("GET / HTTP/1.1\r\nHost: \(Self.serverName)\r\nUser-Agent: netstack-demo\r\nAccept: text/html\r\n\r\n".utf8)
        narrator.call(.callSendRequest, "\(fd)", .plain(Self.serverName), "\(request.count)", node: browser.name, time: clock())
        let sent = request.withUnsafeBytes { bytes in
            Result { () throws(NetError) in try browser.send(fd, bytes, now: simulator.now) }
        }
        guard case let .success(count) = sent, count == request.count else {
            problem(.problemRequestFailed, "\(sent)")
            narrator.outcome(.requestNotSent)
            return
        }
        let reader = PageReader(fd: fd, chunk: Self.readChunk, interval: Self.readInterval)
        net.client.run(reader)
        simulator.kick(net.client)

        // Step 5 happens during the transfer: noise on the hub → browser cable damages one data segment.
        let fault = WireFault(.corrupt, on: net.clientCable, direction: .bToA, skip: Self.corruptedSegment - 1) {
            $0 > Self.smallestDataFrame
        }
        fault.onStrike = { [unowned self] in self.headingStep5() }
        fault.armed = true
        faults.append(fault)

        let started = simulator.now
        let done = run(within: Self.transferLimit) { reader.isDone }
        let took = simulator.now - started
        fault.armed = false
        settle()
        narrator.flushRepeats()

        result.pageReceived = reader.body
        result.pageReceivedSHA256 = SHA256.hex(reader.body)
        result.httpStatus = reader.status
        let local = (try? browser.endpoints(fd))?.local
        result.serverRetransmissionCount = server.tcpConnectionInfo().first { $0.remote == local }?.retransmissions ?? 0
        let retransmitted = storyteller.retransmissions.filter { $0.host == server.name }
        result.retransmissions = retransmitted.map { ($0.seq, $0.fast) }
        result.duplicateAcks = storyteller.duplicateAcksSent
        result.windowUpdates = storyteller.windowUpdatesSent
        result.zeroWindows = storyteller.zeroWindowsSent
        if fault.struck == nil { problem(.problemNoDamage) }
        guard done, reader.isComplete else {
            let why = reader.failure ?? narrator.say(.stillIncomplete, "\(Self.transferLimit.components.seconds)")
            problem(.problemNoPage, .plain(why), .plain(Self.grouped(reader.body.count)))
            narrator.outcome(.pageIncomplete, .plain(why), .plain(Self.grouped(reader.body.count)))
            if let info = server.tcpConnectionInfo().first(where: { $0.remote == local }) {
                narrator.outcome(.serverSide, "\(info.state)", .plain(info.summary))
            }
            return
        }
        let intact = result.pageIntact
        narrator.outcome(.transferOutcome, .plain(reader.status.map(String.init) ?? "?"), .plain(Self.grouped(reader.body.count)),
                         "\(storyteller.dataSegmentsSent[server.name] ?? 0)", "\(reader.reads)", .plain(Self.formatDuration(took)))
        narrator.outcome(.hashServed, .plain(result.pageServedSHA256))
        narrator.outcome(.hashReceived, .plain(result.pageReceivedSHA256), flag(intact))
        if !retransmitted.isEmpty {
            let list = retransmitted.map { narrator.say(.retransmissionItem, "\($0.seq)", flag($0.fast)) }.joined(separator: ", ")
            narrator.outcome(.recoveredOutcome, "\(retransmitted.count)", .plain(list), "\(storyteller.duplicateAcksSent)",
                             "\(storyteller.windowUpdatesSent)", "\(storyteller.zeroWindowsSent)")
        }
    }

    /// Frames longer than this on the cable carry data (an ACK with every option is under 100 bytes).
    static let smallestDataFrame = 120

    /// The heading of step 5, printed the moment the noise strikes.
    private func headingStep5() {
        narrator.heading(Phrase(.noiseHeading), Phrase(.noiseExplanation, "\(Self.corruptedSegment)"))
    }
}
