// Host-wide loss-recovery counters, named after Linux's TcpExt fields
// (`nstat -az TcpExt`): the sum over the host's connections, open and gone.

/// Loss-recovery events over all of a host's TCP connections (Linux's TcpExt names).
public struct TCPLossStatistics: Sendable, Equatable {
    /// Tail loss probes sent (TCPLossProbes).
    public var lossProbes = 0
    /// Probes that repaired a tail loss (TCPLossProbeRecovery).
    public var lossProbeRecoveries = 0
    /// D-SACK blocks received (TCPDSACKRecv).
    public var dsacksReceived = 0
    /// Recoveries undone because every retransmission was D-SACKed (TCPDSACKUndo).
    public var dsackUndos = 0
    /// Timeouts found spurious by F-RTO (TCPSpuriousRTOs).
    public var spuriousTimeouts = 0
    /// Reductions undone by the timestamp check (Eifel; TCPTSReorder-like, counted as undo).
    public var timestampUndos = 0
    /// Fast recoveries entered with SACK (TCPSackRecovery) and without (TCPRenoRecovery).
    public var sackRecoveries = 0
    public var renoRecoveries = 0
    /// Segments RACK marked lost (the marks behind TCPLostRetransmit and friends).
    public var rackLossesMarked = 0

    /// All zero.
    public init() {}

    /// Adds one connection's counters. O(1).
    mutating func add(_ connection: TCPConnection) {
        lossProbes += connection.tailLossProbes
        lossProbeRecoveries += connection.tailLossProbeRecoveries
        dsacksReceived += connection.dsacksReceived
        dsackUndos += connection.undoneByDSACK
        spuriousTimeouts += connection.undoneByFRTO
        timestampUndos += connection.undoneByTimestamps
        sackRecoveries += connection.sackRecoveries
        renoRecoveries += connection.renoRecoveries
        rackLossesMarked += connection.rackLossesMarked
    }
}

extension Host {
    /// The host's loss-recovery counters: those of connections already gone plus
    /// those of every open one. O(open connections); for `netstat -s`, not per packet.
    public var tcpLossStatistics: TCPLossStatistics {
        var total = tcp.retiredLoss
        for connection in tcp.connections.values { total.add(connection) }
        return total
    }
}
