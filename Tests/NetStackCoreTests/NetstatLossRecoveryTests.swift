// `netstat --verbose` (`TCPConnectionInfo.summary`): the loss-recovery fields
// of issue 10 — controller, BBR's model, pacing rate, RACK's reordering
// window, D-SACKs received and undo counts — in `ss -ti`'s manner.

@testable import NetStackCore
import NetStackWire
import Testing

@Suite("netstat --verbose: loss recovery")
struct NetstatLossRecoveryTests {
    private func info(congestion: CongestionAlgorithm) -> TCPConnectionInfo {
        TCPConnectionInfo(local: Endpoint(IPv4Address(192, 0, 2, 1), 80), remote: Endpoint(IPv4Address(192, 0, 2, 2), 40000),
                          state: .established, congestion: congestion, cwnd: 14480, ssthresh: Int.max,
                          srtt: .milliseconds(20), rttvar: .milliseconds(5), rto: .milliseconds(220),
                          retransmissions: 3, sendMSS: 1448, sendWindow: 65535, receiveWindow: 65535,
                          sendScale: 7, receiveScale: 7, sack: true, timestamps: true, bytesInFlight: 2896,
                          sendQueue: 0, receiveQueue: 0, windowProbes: 0, spuriousRetransmissions: 2,
                          pacingRate: 1_562_500, reorderWindow: .milliseconds(5), dsacksReceived: 4,
                          undoneByTimestamps: 1, undoneByDSACK: 1, undoneByFRTO: 0, tailLossProbes: 6, rackLosses: 9)
    }

    @Test("a CUBIC connection shows its pacing rate, reordering window, RACK losses, probes, D-SACKs and undos")
    func cubicSummary() {
        let line = info(congestion: .cubic).summary
        #expect(line.hasPrefix("cubic "))
        for field in ["pacing_rate:12.5Mbps", "reo_wnd:5", "rack_lost:9", "tlp:6", "dsack_recv:4",
                      "undo:ts=1,dsack=1,frto=0", "spurious:2"] {
            #expect(line.contains(field), "\(field) missing from \(line)")
        }
        #expect(!line.contains("bbr:("))
    }

    @Test("a BBR connection adds its model: state, bandwidth estimate and minimum RTT")
    func bbrSummary() {
        var bbr = info(congestion: .bbr)
        bbr.bbrState = "probe_bw_cruise"
        bbr.bbrBandwidth = 5_000_000
        bbr.bbrMinRTT = .milliseconds(21)
        let line = bbr.summary
        #expect(line.hasPrefix("bbr "))
        #expect(line.contains("bbr:(state:probe_bw_cruise,bw:40.0Mbps,mrtt:21)"), "\(line)")
    }

    @Test("BBR's bounds, once set, follow its model: bw_lo as a rate, inflight_hi and inflight_lo in segments")
    func bbrBounds() {
        var bbr = info(congestion: .bbr)
        bbr.bbrState = "probe_bw_down"
        bbr.bbrBandwidth = 5_000_000
        bbr.bbrMinRTT = .milliseconds(21)
        bbr.bbrBandwidthLo = 2_500_000
        bbr.bbrInflightHi = 100 * bbr.sendMSS
        bbr.bbrInflightLo = 61 * bbr.sendMSS + 7
        let line = bbr.summary
        #expect(line.contains("bbr:(state:probe_bw_down,bw:40.0Mbps,mrtt:21,bw_lo:20.0Mbps,inflight_hi:100,inflight_lo:61)"),
                "\(line)")
    }

    @Test("rates print in ss's units: bps, Kbps, Mbps, Gbps")
    func rateUnits() {
        #expect(TCPConnectionInfo.rate(100) == "800bps")
        #expect(TCPConnectionInfo.rate(1_000) == "8.0Kbps")
        #expect(TCPConnectionInfo.rate(12_500_000) == "100.0Mbps")
        #expect(TCPConnectionInfo.rate(1_250_000_000) == "10.0Gbps")
    }

    @Test("a live BBR socket reports BBR in the host's connection detail")
    func liveBBRSocket() throws {
        var config = HostConfig(name: "a")
        config.tcp.socketDefaults.congestion = .bbr
        let host = Host(config)
        host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1)))
        host.assign(IPv4Address(192, 0, 2, 1), prefixLength: 24, to: InterfaceID(0), now: .zero)
        let fd = host.socket(.stream)
        try? host.connect(fd, to: Endpoint(IPv4Address(192, 0, 2, 2), 80), now: .zero)
        let detail = try #require(host.tcpConnectionInfo().first)
        #expect(detail.congestion == .bbr)
        #expect(detail.bbrState == "startup")
    }
}
