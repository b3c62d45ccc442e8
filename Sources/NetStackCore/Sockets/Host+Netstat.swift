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
    /// Retransmissions found needless (timestamps, D-SACK or F-RTO showed the original had arrived).
    public var spuriousRetransmissions: Int = 0
    /// The pacing rate in bytes per second; 0 when unpaced.
    public var pacingRate: Int = 0
    /// RACK's current reordering window (RFC 8985 §6.2 step 4).
    public var reorderWindow: Duration = .zero
    /// D-SACK blocks received (RFC 2883): the peer got something twice.
    public var dsacksReceived: Int = 0
    /// Reductions undone because the retransmission proved needless: by timestamps
    /// (Eifel, RFC 3522), by D-SACK (RFC 3708) and by F-RTO (RFC 5682).
    public var undoneByTimestamps: Int = 0
    public var undoneByDSACK: Int = 0
    public var undoneByFRTO: Int = 0
    /// Tail loss probes sent (RFC 8985 §7).
    public var tailLossProbes: Int = 0
    /// Segments RACK marked lost (RFC 8985 §6.2).
    public var rackLosses: Int = 0
    /// BBR's state (`startup`, `drain`, `probe_bw_up`, …), its bandwidth estimate
    /// in bytes per second and its minimum RTT; nil/0 for the loss-based controllers.
    public var bbrState: String?
    public var bbrBandwidth: Int = 0
    public var bbrMinRTT: Duration?
    /// BBR's bounds on its model (draft-ietf-ccwg-bbr §5.5.10): inflight_longterm and
    /// inflight_shorttem in bytes, bw_shortterm in bytes per second; nil while unset.
    public var bbrInflightHi: Int?
    public var bbrInflightLo: Int?
    public var bbrBandwidthLo: Int?
    /// The send buffer's current capacity, as auto-tuning left it (`ss -m`'s tb).
    public var sendBufferSize: Int = 0
    /// The receive buffer's current capacity, as auto-tuning left it (`ss -m`'s rb).
    public var receiveBufferSize: Int = 0
    /// The lowest RTT measured (`ss -ti`'s minrtt); nil before the first sample. With
    /// ``maximumDeliveryRate``, the bandwidth-delay product send-buffer tuning sees.
    public var minRTT: Duration?
    /// The highest delivery rate any rate sample measured, bytes per second (0: none yet).
    public var maximumDeliveryRate: Int = 0

    /// One line like `ss -ti`: `cubic wscale:7,7 rto:204 rtt:1.2/0.6 mss:1448 cwnd:10 ssthresh:… retrans:0 …`,
    /// then loss recovery: BBR's model (`bbr:(state:…,bw:…,mrtt:…)`), `pacing_rate`, RACK's
    /// `reo_wnd`, segments RACK marked lost, tail loss probes, D-SACKs received and undo counts.
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
        if let bbrState {
            var model = "bbr:(state:\(bbrState),bw:\(Self.rate(bbrBandwidth))"
            if let bbrMinRTT { model += ",mrtt:\(ms(bbrMinRTT))" }
            if let bbrBandwidthLo { model += ",bw_lo:\(Self.rate(bbrBandwidthLo))" }
            if let bbrInflightHi { model += ",inflight_hi:\(bbrInflightHi / max(sendMSS, 1))" }
            if let bbrInflightLo { model += ",inflight_lo:\(bbrInflightLo / max(sendMSS, 1))" }
            parts.append(model + ")")
        }
        if pacingRate > 0 { parts.append("pacing_rate:\(Self.rate(pacingRate))") }
        if sack { parts.append("reo_wnd:\(ms(reorderWindow))") }
        parts.append("rack_lost:\(rackLosses)")
        parts.append("tlp:\(tailLossProbes)")
        parts.append("dsack_recv:\(dsacksReceived)")
        parts.append("undo:ts=\(undoneByTimestamps),dsack=\(undoneByDSACK),frto=\(undoneByFRTO)")
        parts.append("snd_wnd:\(sendWindow)")
        parts.append("rcv_wnd:\(receiveWindow)")
        parts.append("unacked:\(bytesInFlight)")
        return parts.joined(separator: " ")
    }
}

extension TCPConnectionInfo {
    /// Bytes per second as `ss` prints rates: bits per second with a unit (`12.5Mbps`).
    static func rate(_ bytesPerSecond: Int) -> String {
        let bits = Double(bytesPerSecond) * 8
        if bits >= 1e9 { return "\((bits / 1e8).rounded() / 10)Gbps" }
        if bits >= 1e6 { return "\((bits / 1e5).rounded() / 10)Mbps" }
        if bits >= 1e3 { return "\((bits / 1e2).rounded() / 10)Kbps" }
        return "\(Int(bits))bps"
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
                                  spuriousRetransmissions: c.spuriousRetransmissions, pacingRate: c.pacingRate,
                                  reorderWindow: c.rackReorderWindow, dsacksReceived: c.dsacksReceived,
                                  undoneByTimestamps: c.undoneByTimestamps, undoneByDSACK: c.undoneByDSACK,
                                  undoneByFRTO: c.undoneByFRTO, tailLossProbes: c.tailLossProbes,
                                  rackLosses: c.rackLossesMarked, bbrState: c.congestion.bbr?.state.name,
                                  bbrBandwidth: c.congestion.bbr?.maxBandwidth ?? 0, bbrMinRTT: c.congestion.bbr?.minRTT,
                                  bbrInflightHi: c.congestion.bbr?.inflightHi, bbrInflightLo: c.congestion.bbr?.inflightLo,
                                  bbrBandwidthLo: c.congestion.bbr?.bwLo,
                                  sendBufferSize: c.sendBuffer.capacity, receiveBufferSize: c.receiveBuffer.capacity,
                                  minRTT: c.minRTTNanoseconds.map { .nanoseconds($0) },
                                  maximumDeliveryRate: c.maximumDeliveryRate)
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
    /// Sockets of IPv6 addresses are `tcp6`/`udp6` rows, their endpoints written as Linux's
    /// netstat does (`2001:db8::2:8000`, `:::*`: no brackets, the address cut to fit the column).
    public func netstat(verbose: Bool = false) -> String {
        var lines = ["Active Internet connections (servers and established)",
                     "Proto Recv-Q Send-Q Local Address           Foreign Address         State"]
        func row(_ proto: String, _ recvQ: Int, _ sendQ: Int, _ local: String, _ remote: String, _ state: String) -> String {
            pad(proto, 5) + " " + padLeft(String(recvQ), 6) + " " + padLeft(String(sendQ), 6) + " "
                + pad(local, 23) + " " + pad(remote, 23) + " " + state
        }
        for listener in tcp.listeners.values.sorted(by: { $0.local.port < $1.local.port }) {
            lines.append(row(Self.netstatProtocol("tcp", listener.local), listener.acceptQueue.count, 0,
                             Self.netstatEndpoint(listener.local), Self.netstatWildcard(listener.local), "LISTEN"))
        }
        for listener in tcp.transparentListeners.values.sorted(by: { ($0.local.address, $0.local.port) < ($1.local.address, $1.local.port) }) {
            let local = listener.local.port == 0 ? Self.netstatAddress(listener.local.address, port: "*")
                : Self.netstatEndpoint(listener.local)
            lines.append(row(Self.netstatProtocol("tcp", listener.local), listener.pendingFlowCount + listener.acceptQueue.count, 0,
                             local, Self.netstatWildcard(listener.local),
                             listener.intercepts ? "LISTEN (intercepting)" : "LISTEN (transparent)"))
        }
        for info in tcpConnectionInfo() {
            lines.append(row(Self.netstatProtocol("tcp", info.local), info.receiveQueue, info.sendQueue,
                             Self.netstatEndpoint(info.local), Self.netstatEndpoint(info.remote), info.state.description))
            if verbose { lines.append("\t " + info.summary) }
        }
        for (id, state) in udp.sockets.sorted(by: { $0.key < $1.key }) {
            guard let local = state.local else { continue }
            _ = id
            lines.append(row(Self.netstatProtocol("udp", local), state.queuedBytes, 0, Self.netstatEndpoint(local),
                             Self.netstatWildcard(local), ""))
        }
        // Intercepted UDP flows: local is the original destination the client addressed.
        for entry in udpFlowTable() {
            lines.append(row(Self.netstatProtocol("udp", entry.flow.destination), entry.queued, 0,
                             Self.netstatEndpoint(entry.flow.destination), Self.netstatEndpoint(entry.flow.client), "FLOW"))
        }
        return lines.joined(separator: "\n")
    }

    /// `tcp`/`udp` for an IPv4 socket, `tcp6`/`udp6` for an IPv6 one (as Linux's netstat).
    static func netstatProtocol(_ name: String, _ local: Endpoint) -> String {
        local.ipv4 != nil ? name : name + "6"
    }

    /// An endpoint as netstat writes it: `192.0.2.2:80`, `2001:db8::2:80`.
    static func netstatEndpoint(_ endpoint: Endpoint) -> String {
        netstatAddress(endpoint.address, port: String(endpoint.port))
    }

    /// The foreign address of a socket with no peer: `0.0.0.0:*`, or `:::*` for IPv6.
    static func netstatWildcard(_ local: Endpoint) -> String {
        local.ipv4 != nil ? "0.0.0.0:*" : ":::*"
    }

    /// `address:port`, the address cut so that the whole fits netstat's 23 columns (net-tools keeps
    /// the port whole and shortens the address; an IPv4 endpoint always fits, so it is never cut).
    static func netstatAddress(_ address: IPAddress, port: String) -> String {
        let text = address.description
        return String(text.prefix(max(0, 22 - port.count))) + ":" + port
    }
}
