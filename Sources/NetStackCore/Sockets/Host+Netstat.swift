import NetStackWire

/// Per-connection detail in the manner of `ss -ti`.
public struct TCPConnectionInfo: Sendable {
    public var local: Endpoint
    public var remote: Endpoint
    public var state: TCPState
    public var congestion: CongestionAlgorithm
    public var cwnd: Int
    public var ssthresh: Int
    public var srtt: Duration?
    public var rttvar: Duration
    public var rto: Duration
    public var retransmissions: Int
    public var sendMSS: Int
    public var sendWindow: Int
    public var receiveWindow: Int
    public var sendScale: UInt8
    public var receiveScale: UInt8
    public var sack: Bool
    public var timestamps: Bool
    public var bytesInFlight: Int
    public var sendQueue: Int
    public var receiveQueue: Int
    /// Zero-window probes sent so far.
    public var windowProbes: Int
    /// Retransmissions the timestamps showed to be needless (the original had arrived).
    public var spuriousRetransmissions: Int = 0

    /// One line like `ss -ti`: `cubic wscale:7,7 rto:204 rtt:1.2/0.6 mss:1448 cwnd:10 ssthresh:… retrans:0 …`.
    public var summary: String {
        func ms(_ d: Duration) -> String {
            let micros = d.nanoseconds / 1000
            return micros % 1000 == 0 ? "\(micros / 1000)" : "\(micros / 1000).\(String(micros % 1000 / 100))"
        }
        var parts = [congestion.rawValue]
        if sendScale > 0 || receiveScale > 0 { parts.append("wscale:\(sendScale),\(receiveScale)") }
        if sack { parts.append("sack") }
        if timestamps { parts.append("ts") }
        parts.append("rto:\(ms(rto))")
        if let srtt { parts.append("rtt:\(ms(srtt))/\(ms(rttvar))") }
        parts.append("mss:\(sendMSS)")
        parts.append("cwnd:\(cwnd / max(sendMSS, 1))")
        if ssthresh < Int.max / 2 { parts.append("ssthresh:\(ssthresh / max(sendMSS, 1))") }
        parts.append("retrans:\(retransmissions)")
        if spuriousRetransmissions > 0 { parts.append("spurious:\(spuriousRetransmissions)") }
        parts.append("snd_wnd:\(sendWindow)")
        parts.append("rcv_wnd:\(receiveWindow)")
        parts.append("unacked:\(bytesInFlight)")
        return parts.joined(separator: " ")
    }
}

extension Host {
    /// `ss -ti`-style detail for every TCP connection, sorted by local then remote address.
    public func tcpConnectionInfo() -> [TCPConnectionInfo] {
        let connections = tcp.connections.values.map { c in
                TCPConnectionInfo(local: c.local, remote: c.remote, state: c.state, congestion: c.congestion.algorithm,
                                  cwnd: c.congestion.cwnd, ssthresh: c.congestion.ssthresh, srtt: c.rtt.srtt,
                                  rttvar: c.rtt.rttvar, rto: c.rtt.rto, retransmissions: c.totalRetransmissions,
                                  sendMSS: c.sendMSS, sendWindow: c.sndWnd, receiveWindow: c.advertisableWindow(),
                                  sendScale: c.sndScale, receiveScale: c.rcvScale, sack: c.sackEnabled,
                                  timestamps: c.timestampsEnabled, bytesInFlight: c.flightSize,
                                  sendQueue: c.sendBuffer.count, receiveQueue: c.receiveBuffer.readable,
                                  windowProbes: c.windowProbesSent,
                                  spuriousRetransmissions: c.spuriousRetransmissions)
            }
        // TIME_WAIT records: the socket is gone, only the 4-tuple and the sequence numbers remain.
        let timeWait = tcp.timeWait.values.map { r in
            TCPConnectionInfo(local: r.key.local, remote: r.key.remote, state: .timeWait,
                              congestion: tcp.config.socketDefaults.congestion, cwnd: 0, ssthresh: Int.max, srtt: nil,
                              rttvar: .zero, rto: .zero, retransmissions: 0, sendMSS: 0, sendWindow: 0,
                              receiveWindow: r.window, sendScale: 0, receiveScale: 0, sack: false,
                              timestamps: r.timestamps, bytesInFlight: 0, sendQueue: 0, receiveQueue: 0,
                              windowProbes: 0, spuriousRetransmissions: 0)
        }
        return (connections + timeWait).sorted { ($0.local.address, $0.local.port, $0.remote.address, $0.remote.port)
            < ($1.local.address, $1.local.port, $1.remote.address, $1.remote.port) }
    }

    /// The socket table as `netstat -an`-style text with the chapter's columns:
    /// Proto, Recv-Q, Send-Q, Local Address, Foreign Address, State — listening,
    /// established and TIME_WAIT sockets alike, transparent listeners and intercepted
    /// UDP flows (state FLOW) too; with `verbose`, an `ss -ti` line under each connection.
    public func netstat(verbose: Bool = false) -> String {
        var lines = ["Active Internet connections (servers and established)",
                     "Proto Recv-Q Send-Q Local Address           Foreign Address         State"]
        func row(_ proto: String, _ recvQ: Int, _ sendQ: Int, _ local: String, _ remote: String, _ state: String) -> String {
            pad(proto, 5) + " " + padLeft(String(recvQ), 6) + " " + padLeft(String(sendQ), 6) + " "
                + pad(local, 23) + " " + pad(remote, 23) + " " + state
        }
        for listener in tcp.listeners.values.sorted(by: { $0.local.port < $1.local.port }) {
            lines.append(row("tcp", listener.acceptQueue.count, 0, "\(listener.local)", "0.0.0.0:*", "LISTEN"))
        }
        for listener in tcp.transparentListeners.values.sorted(by: { ($0.local.address, $0.local.port) < ($1.local.address, $1.local.port) }) {
            let local = listener.local.port == 0 ? "\(listener.local.address):*" : "\(listener.local)"
            lines.append(row("tcp", listener.pendingFlowCount + listener.acceptQueue.count, 0, local, "0.0.0.0:*",
                             listener.intercepts ? "LISTEN (intercepting)" : "LISTEN (transparent)"))
        }
        for info in tcpConnectionInfo() {
            lines.append(row("tcp", info.receiveQueue, info.sendQueue, "\(info.local)", "\(info.remote)",
                             info.state.description))
            if verbose { lines.append("\t " + info.summary) }
        }
        for (id, state) in udp.sockets.sorted(by: { $0.key < $1.key }) {
            guard let local = state.local else { continue }
            _ = id
            lines.append(row("udp", state.queuedBytes, 0, "\(local)", "0.0.0.0:*", ""))
        }
        // Intercepted UDP flows: local is the original destination the client addressed.
        for entry in udpFlowTable() {
            lines.append(row("udp", entry.queued, 0, "\(entry.flow.destination)", "\(entry.flow.client)", "FLOW"))
        }
        return lines.joined(separator: "\n")
    }
}
