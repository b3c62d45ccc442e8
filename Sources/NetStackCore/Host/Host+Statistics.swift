import NetStackWire

/// `netstat -s`-style text: per protocol, what was received, sent, dropped and why.
///
/// Each section is a protocol (`Ip:`, `Icmp:`, `Udp:`, `Tcp:`, `TcpExt:`, `Arp:`,
/// `Resolver:`), each line `    <count> <what>`, as Linux's `netstat -s` prints
/// them, so scripts can pick a counter with `grep`/`awk`. Every counter is printed,
/// zero or not, so a script can rely on a line being there.
public struct StatisticsReport: Sendable {
    /// The report so far.
    public private(set) var text = ""

    public init() {}

    /// Starts a section (`Ip:`).
    public mutating func section(_ name: String) { text += "\(name):\n" }

    /// Adds `    <count> <what>`.
    public mutating func line(_ count: Int, _ what: String) { text += "    \(count) \(what)\n" }
}

extension Host {
    /// Every counter of the stack, in `netstat -s` form (`netstack netstat --statistics`).
    /// Allocates the text; for people and scripts, not the per-packet path.
    public func statisticsReport() -> String {
        var report = StatisticsReport()
        let s = statistics
        report.section("Ip")
        report.line(s.inReceives, "total packets received")
        report.line(s.inHeaderErrors, "with invalid headers")
        report.line(s.inAddressErrors, "with invalid addresses")
        report.line(s.forwarded, "forwarded")
        report.line(s.inUnknownProtocols, "with unknown protocol")
        report.line(s.inDelivers, "incoming packets delivered")
        report.line(s.outRequests, "requests sent out")
        report.line(s.outNoRoutes, "dropped because of missing route")
        report.line(s.outDiscards, "outgoing packets dropped")
        report.line(s.reassemblyRequired, "fragments received")
        report.line(s.reassemblyOK, "reassemblies completed")
        report.line(s.reassemblyFails, "packet reassemblies failed")
        report.line(s.reassemblyTimeouts, "reassemblies timed out")
        report.line(s.fragmentsOK, "packets fragmented")
        report.line(s.fragmentsCreated, "fragments created")
        report.line(s.fragmentsFailed, "packets not fragmented (DF or MTU too small)")
        report.line(s.inMartianSources, "martian source packets dropped")
        report.line(s.reassemblyEvictions, "incomplete reassemblies evicted")
        report.line(s.loopbackDropped, "packets to self dropped (loopback queue full)")
        report.line(s.inAnyDestination, "packets for other addresses taken (any-destination mode)")
        report.section("Ip6")
        report.line(s.ip6InReceives, "total packets received")
        report.line(s.ip6InHeaderErrors, "with invalid headers")
        report.line(s.ip6InAddressErrors, "with invalid addresses")
        report.line(s.ip6InMartians, "martian source packets dropped")
        report.line(s.ip6InUnknownProtocols, "with unknown protocol")
        report.line(s.ip6InDelivers, "incoming packets delivered")
        report.line(s.ip6Forwarded, "forwarded")
        report.line(s.ip6InTooBigErrors, "too big to forward")
        report.line(s.ip6OutRequests, "requests sent out")
        report.line(s.ip6OutNoRoutes, "dropped because of missing route")
        report.line(s.ip6OutDiscards, "outgoing packets dropped")
        report.line(reassembler6.inProgress, "reassemblies in progress")
        report.line(reassembler6.bytesHeld, "bytes held for reassembly")
        report.section("Icmp6")
        report.line(s.icmp6InMessages, "ICMPv6 messages received")
        report.line(s.icmp6InErrors, "input ICMPv6 message failed")
        report.line(s.icmp6OutMessages, "ICMPv6 messages sent")
        report.line(s.icmp6RateLimited, "ICMPv6 errors not sent (rate limit)")
        report.line(s.ndpInvalid, "invalid neighbour discovery messages dropped")
        report.line(s.ndpNeighborSolicitsSent, "neighbour solicitations sent")
        report.line(s.ndpNeighborAdvertsSent, "neighbour advertisements sent")
        report.line(s.ndpDuplicateAddresses, "duplicate addresses detected")
        report.line(s.icmp6InRedirects, "redirects received")
        report.line(s.ndpRedirectsIgnored, "redirects ignored (not from the first-hop router, or forwarding)")
        report.line(redirects6.entries(now: now).count, "redirected destinations now")
        report.line(redirects6.evictions, "redirected destinations evicted (table full)")
        report.line(neighborCache6.count, "neighbour entries now")
        report.line(neighborCache6.evictions, "neighbour entries evicted")
        report.line(neighborCache6.pendingDropped, "packets dropped waiting for a neighbour")
        report.line(routes6.learnedRoutesRefused, "routes from router advertisements refused (table full)")
        report.line(interfaces6.reduce(0) { $0 + ($1?.addresses.addressesRefused ?? 0) },
                    "autoconfigured addresses refused (interface full)")
        report.section("Icmp")
        report.line(s.icmpInMessages, "ICMP messages received")
        report.line(s.icmpInErrors, "input ICMP message failed")
        report.line(s.icmpOutMessages, "ICMP messages sent")
        report.line(s.icmpRateLimited, "ICMP errors not sent (rate limit)")
        report.section("Udp")
        report.line(s.udpInDatagrams, "packets received")
        report.line(s.udpNoPorts, "packets to unknown port received")
        report.line(s.udpInErrors, "packet receive errors")
        report.line(s.udpReceiveBufferErrors, "receive buffer errors")
        report.line(s.udpOutDatagrams, "packets sent")
        report.line(s.udpICMPErrorsIgnored, "ICMP errors ignored (no connected socket for the quoted peer)")
        let flows = udpFlowStatistics
        report.line(flows.opened, "flows opened (any-destination mode)")
        report.line(flows.expired, "flows closed idle")
        report.line(flows.refusedByLimit, "datagrams dropped at the flow limit")
        report.line(flows.queueDrops, "datagrams dropped (flow queue full)")
        report.line(udpFlows?.flows.count ?? 0, "flows open")
        report.section("Tcp")
        report.line(s.tcpInSegments, "segments received")
        report.line(s.tcpOutSegments, "segments sent out")
        if s.tcpOutSuperSegments > 0 { report.line(s.tcpOutSuperSegments, "super-segments sent out (offload)") }
        report.line(s.tcpInErrors, "bad segments received")
        report.line(s.tcpResetsSent, "resets sent")
        report.line(s.tcpNoConnection, "segments for no connection")
        report.line(tcp.connections.count, "connections open")
        report.section("TcpExt")
        report.line(s.tcpSynCookiesSent, "SYN cookies sent")
        report.line(s.tcpChallengeAcksSent, "challenge ACKs sent")
        report.line(s.tcpChallengeAcksSuppressed, "challenge ACKs suppressed (rate limit)")
        report.line(s.tcpOutOfWindowAcksSuppressed, "out-of-window ACKs suppressed (rate limit)")
        report.line(s.tcpTimeWaitOverflow, "TCP time wait bucket table overflow")
        report.line(s.tcpConnectionsRefusedByLimit, "connections refused by the connection limit")
        report.line(s.tcpHalfOpenLimitReached, "SYNs answered with a cookie at the half-open limit")
        report.line(s.tcpSynCookiesValid, "SYN cookies received valid")
        report.line(s.tcpSynCookiesInvalid, "SYN cookies received invalid")
        report.line(tcp.timeWaitCount, "connections in TIME_WAIT")
        report.line(s.tcpTimeWaitReopened, "TIME_WAIT connections reopened by a new SYN (RFC 6191)")
        report.line(s.tcpFlowsOffered, "connection attempts offered to intercepting listeners")
        report.line(s.tcpFlowsRefused, "offered connection attempts refused by the application")
        report.line(s.tcpFlowsDropped, "offered connection attempts dropped (queue full or undecided)")
        report.line(s.tcpOutOfOrderDropped, "out-of-order segments dropped (too many holes)")
        let loss = tcpLossStatistics
        report.line(loss.sackRecoveries, "fast recoveries with SACK (TCPSackRecovery)")
        report.line(loss.renoRecoveries, "fast recoveries without SACK (TCPRenoRecovery)")
        report.line(loss.rackLossesMarked, "segments RACK marked lost")
        report.line(loss.lossProbes, "tail loss probes sent (TCPLossProbes)")
        report.line(loss.lossProbeRecoveries, "tail losses repaired by a probe (TCPLossProbeRecovery)")
        report.line(loss.dsacksReceived, "D-SACKs received (TCPDSACKRecv)")
        report.line(loss.dsackUndos, "recoveries undone by D-SACK (TCPDSACKUndo)")
        report.line(loss.timestampUndos, "reductions undone by timestamps (Eifel)")
        report.line(loss.spuriousTimeouts, "timeouts found spurious by F-RTO (TCPSpuriousRTOs)")
        report.line(tcp.memory.pressureEntries, "times TCP buffer memory came under pressure")
        report.line(tcp.memory.allocated, "bytes of TCP buffers allocated")
        report.section("Arp")
        report.line(s.arpRequestsSent, "requests sent")
        report.line(s.arpRepliesSent, "replies sent")
        report.line(s.arpResolutionFailures, "resolutions failed")
        report.line(s.arpMalformed, "malformed packets dropped")
        report.line(s.arpEvictions, "entries evicted")
        report.line(s.arpOffLinkIgnored, "off-link senders ignored")
        report.line(arpCache.count, "entries now")
        let r = resolverState.statistics
        report.section("Resolver")
        report.line(r.lookups, "lookups")
        report.line(r.queriesSent, "queries sent")
        report.line(r.retransmissions, "queries sent again")
        report.line(r.answersAccepted, "answers accepted")
        report.line(r.rejected, "answers rejected")
        report.line(r.networkErrors, "network errors")
        report.line(r.failures, "lookups failed")
        report.line(r.retriesAfterICMPError, "queries sent again from a fresh port after an ICMP error")
        return report.text
    }
}
