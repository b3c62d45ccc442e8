/// Per-socket TCP options: what `setsockopt` changes.
public struct TCPSocketOptions: Sendable, Equatable {
    /// TCP_NODELAY: send small segments at once instead of waiting (turns Nagle off, RFC 896).
    public var noDelay = false
    /// TCP_CORK: send only full segments; what is left goes out when the cork is
    /// removed or after `corkTimeout` (the chapter's "wait for MSS, or until the timer fires").
    public var cork = false
    /// SO_SNDBUF, bytes: the send buffer's initial capacity (auto-tuning may grow it
    /// unless ``sendBufferLocked``).
    public var sendBufferSize = 256 * 1024
    /// SO_RCVBUF, bytes: the receive buffer's initial capacity (auto-tuning may grow it
    /// unless ``receiveBufferLocked``).
    public var receiveBufferSize = 256 * 1024
    /// The application set SO_SNDBUF: the send buffer keeps that size and is not
    /// auto-tuned (Linux's SOCK_SNDBUF_LOCK). Set by `setOption(_:_:)`.
    public var sendBufferLocked = false
    /// The application set SO_RCVBUF: the receive buffer keeps that size, is not
    /// auto-tuned, and the window scale offered follows it (Linux's SOCK_RCVBUF_LOCK).
    public var receiveBufferLocked = false
    /// SO_KEEPALIVE (off by default, as on Linux), with TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT.
    public var keepAlive = false
    public var keepAliveIdle: Duration = .seconds(7200)
    public var keepAliveInterval: Duration = .seconds(75)
    public var keepAliveCount = 9
    /// SO_LINGER: nil is off; `.zero` makes close() abort with RST.
    public var linger: Duration?
    /// SO_REUSEADDR: bind may take a port whose old connections sit in TIME_WAIT.
    public var reuseAddress = false
    /// TCP_USER_TIMEOUT (RFC 5482): abort when data stays unacknowledged this long; nil is off.
    public var userTimeout: Duration?
    /// TCP_CONGESTION.
    public var congestion: CongestionAlgorithm = .cubic
    /// IPV6_V6ONLY (RFC 3493 §5.3): a socket bound to `::` takes IPv6 connections only; off by
    /// default, as on Linux, so such a listener takes IPv4 ones too.
    public var v6Only = false

    public init() {}
}

/// One host's `TCPConfig`, shared by reference by all its connections: a
/// connection holds 8 bytes for it instead of a ~300-byte copy.
final class TCPConfigBox: Sendable {
    let value: TCPConfig
    init(_ value: TCPConfig) { self.value = value }
}

/// Stack-wide TCP settings, like Linux's `net.ipv4.tcp_*` sysctls.
public struct TCPConfig: Sendable {
    /// Maximum segment lifetime; TIME_WAIT lasts 2 × MSL (RFC 9293 §3.4.2). 30 s gives Linux's 60 s.
    public var msl: Duration = .seconds(30)
    /// Longest an ACK is delayed (RFC 9293 §3.8.6.3 allows up to 500 ms; Linux uses 40–200 ms).
    public var delayedAckTimeout: Duration = .milliseconds(40)
    /// How long a cork holds a partial segment.
    public var corkTimeout: Duration = .milliseconds(200)
    /// RTO bounds (RFC 6298 §2.4 and §2.5) and the initial RTO (§2.1).
    public var minimumRTO: Duration = .milliseconds(200)
    public var maximumRTO: Duration = .seconds(120)
    public var initialRTO: Duration = .seconds(1)
    /// Retransmissions of one segment before the connection is aborted with ETIMEDOUT (Linux's tcp_retries2).
    public var maxRetransmissions = 15
    /// SYN (and SYN-ACK) retransmissions before giving up (Linux's tcp_syn_retries).
    public var synRetries = 6
    /// How long an orphaned FIN_WAIT_2 connection waits for the peer's FIN (Linux's tcp_fin_timeout).
    public var finWait2Timeout: Duration = .seconds(60)
    /// Offer timestamps (RFC 7323), SACK (RFC 2018) and window scaling.
    public var timestamps = true
    public var sack = true
    public var windowScaling = true
    /// Half-open connections a listener holds before answering with SYN cookies.
    public var synBacklog = 128
    /// Challenge ACKs per second for the whole host (RFC 5961 §7, Linux's
    /// tcp_challenge_ack_limit). The budget of each second is drawn at random
    /// from limit/2 ..< limit/2 + limit, as Linux does since the CVE-2016-5696
    /// fix, so an off-path attacker cannot count the ACKs another connection spent.
    public var challengeAckLimit = 1000
    /// Default options of new sockets.
    public var socketDefaults = TCPSocketOptions()
    /// Least time between two answers one connection gives to invalid segments —
    /// challenge ACKs (RFC 5961) and duplicate ACKs to data-less or SYN segments
    /// outside the window or failing PAWS (Linux's tcp_invalid_ratelimit, 500 ms).
    public var invalidRateLimit: Duration = .milliseconds(500)
    /// Connections (every state but LISTEN and TIME_WAIT) the host holds at once;
    /// a SYN or connect beyond it is refused and counted. Linux bounds this only by
    /// memory and descriptors; 262,144 keeps the worst case near 1 GiB with full buffers.
    public var maxConnections = 262_144
    /// Half-open (SYN-RECEIVED) connections for the whole host; beyond it listeners
    /// answer with SYN cookies (Linux's tcp_max_syn_backlog, 4096 on a machine with memory).
    public var maxHalfOpen = 4096
    /// TIME_WAIT connections the host keeps (Linux's tcp_max_tw_buckets); beyond it a
    /// closing connection is destroyed at once instead ("time wait bucket table overflow").
    public var maxTimeWait = 32_768
    /// Bytes of send and receive buffer storage, with the records of segments in flight,
    /// all connections together may hold before "memory pressure" (Linux's tcp_mem[1]):
    /// past it no buffer grows beyond what it holds now (or 4 KiB, so every connection
    /// still moves): `send` takes less and receive windows stop opening past it. Buffers
    /// already allocated keep their storage; storage comes back as connections drain and
    /// close. 32 MiB allows about 60 connections at full 256 KiB send and receive buffers
    /// (each with its records of a full flight) before pressure starts.
    public var bufferMemoryPressure = 32 << 20
    /// Pace data segments (new and retransmitted) at a rate derived from cwnd and SRTT,
    /// as Linux's fq does for CUBIC and Reno: 2 × cwnd/SRTT in slow start, 1.2 × after.
    /// Off: segments leave as fast as the windows allow, as before.
    public var pacing = true
    /// The most an auto-tuned send buffer grows to (about 2 × cwnd, at most 2 × the
    /// measured bandwidth-delay product; Linux's tcp_wmem[2]).
    public var sendBufferMaximum = 4 << 20
    /// The most an auto-tuned receive buffer grows to (Linux's tcp_rmem[2]); also what the
    /// window scale offered in the SYN is computed from, unless SO_RCVBUF was set.
    public var receiveBufferMaximum = 6 << 20
    /// How long a connection attempt held for an intercepting listener waits for the
    /// application to accept or refuse it before it is dropped.
    public var flowDecisionTimeout: Duration = .seconds(60)

    public init() {}
}
