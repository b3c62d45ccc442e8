import NetStackWire
import NetStackCore

// Steps 4 and 5: the GET, the page in segments under the window, and the one
// frame noise damages on the way — dropped by the adapter, recovered by TCP.

extension DemoRun {
    func step4And5Transfer(_ fd: Int32, page: [UInt8]) {
        narrator.heading("4. The HTTP GET, and a page of \(Self.grouped(page.count)) bytes in segments",
                         "send() hands the request to the protocol stack. The answer is far larger than the MSS, so the server's TCP cuts it into segments and sends several before any ACK comes back — as many as the window allows. The browser acknowledges with the next byte it expects and announces its free buffer space in every ACK's window field; it reads (renders) 8 KiB per millisecond, slower than the link delivers, so the window is seen to shrink and open.")
        let request = Array("GET / HTTP/1.1\r\nHost: \(Self.serverName)\r\nUser-Agent: netstack-demo\r\nAccept: text/html\r\n\r\n".utf8)
        narrator.call("send(\(fd), \"GET / HTTP/1.1\\r\\nHost: \(Self.serverName)…\", \(request.count))", node: browser.name, time: clock())
        let sent = request.withUnsafeBytes { bytes in
            Result { () throws(NetError) in try browser.send(fd, bytes, now: simulator.now) }
        }
        guard case let .success(count) = sent, count == request.count else {
            result.problems.append("send() of the GET failed: \(sent)")
            narrator.outcome("the request could not be sent")
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
        if fault.struck == nil { result.problems.append("the planned frame damage did not happen (the transfer ended first)") }
        guard done, reader.isComplete else {
            let why = reader.failure ?? "still incomplete after \(Self.transferLimit.components.seconds) s of simulated time"
            result.problems.append("the page did not arrive: \(why) (\(Self.grouped(reader.body.count)) bytes)")
            narrator.outcome("the page did not arrive whole: \(why); \(Self.grouped(reader.body.count)) bytes of body so far")
            if let info = server.tcpConnectionInfo().first(where: { $0.remote == local }) {
                narrator.outcome("the server's side of the connection: \(info.state) \(info.summary)")
            }
            return
        }
        let intact = result.pageIntact
        narrator.outcome("HTTP \(reader.status.map(String.init) ?? "?"): \(Self.grouped(reader.body.count)) bytes of page in \(storyteller.dataSegmentsSent[server.name] ?? 0) data segments, read in \(reader.reads) recv() calls, \(Self.formatDuration(took)) of simulated time after the GET")
        narrator.outcome("SHA-256 served   \(result.pageServedSHA256)")
        narrator.outcome("SHA-256 received \(result.pageReceivedSHA256)  \(intact ? "— identical ✓" : "— DIFFERENT ✗")")
        if !retransmitted.isEmpty {
            let list = retransmitted.map { "seq \($0.seq) (\($0.fast ? "fast retransmit" : "timeout"))" }.joined(separator: ", ")
            narrator.outcome("recovered by TCP alone: \(retransmitted.count) retransmission\(retransmitted.count == 1 ? "" : "s") — \(list); the browser sent \(storyteller.duplicateAcksSent) duplicate ACKs, \(storyteller.windowUpdatesSent) window updates and \(storyteller.zeroWindowsSent) zero-window ACKs")
        }
    }

    /// Frames longer than this on the cable carry data (an ACK with every option is under 100 bytes).
    static let smallestDataFrame = 120

    /// The heading of step 5, printed the moment the noise strikes.
    private func headingStep5() {
        narrator.heading("5. Noise on the cable: one frame damaged — the adapter drops it, TCP recovers it",
                         "Data segment number \(Self.corruptedSegment) on its way to the browser gets one bit flipped on the cable from the hub. The browser's LAN adapter turns the signal back into bits, computes their CRC-32, finds it differs from the frame's FCS and throws the frame away. No adapter, hub or router asks for it again. The segments after it arrive out of order; the browser's duplicate ACKs, with SACK blocks, tell the server, which still has the bytes in its send buffer and sends them again.")
    }
}
