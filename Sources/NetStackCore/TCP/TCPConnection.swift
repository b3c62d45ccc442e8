import NetStackWire

/// A segment to send: its header, and which bytes of the send buffer it carries.
///
/// The connection decides what to send; the host builds the packet, copying
/// the payload straight from the send buffer into the frame (no bounce copy).
struct OutgoingSegment {
    var header: TCPHeader
    /// Offset of the payload from the oldest byte in the send buffer (SND.UNA).
    var payloadOffset = 0
    var payloadLength = 0
    /// 0 for one segment; else a super-segment of several (segmentation offload) for the
    /// device to cut every `segmentSize` payload bytes, each cut repeating the header.
    var segmentSize = 0

    /// Whether `next`, sent right after this one, can join it in one super-segment of at most
    /// `limit` payload bytes: it follows on in sequence and in the send buffer, every piece so
    /// far is `mss` long, and its header is this one's but for the sequence number and its flags
    /// (the device gives PSH and FIN to the last cut only, as Linux's TSO does). O(options).
    func canAbsorb(_ next: OutgoingSegment, mss: Int, limit: Int) -> Bool {
        guard payloadLength > 0, payloadLength % mss == 0, header.flags == [.ack],
              next.payloadLength > 0, next.payloadLength <= mss, payloadLength + next.payloadLength <= limit,
              next.header.sequenceNumber == header.sequenceNumber + payloadLength,
              next.payloadOffset == payloadOffset + payloadLength,
              next.header.flags.subtracting([.psh, .fin]) == [.ack] else { return false }
        var same = next.header
        same.sequenceNumber = header.sequenceNumber
        same.flags = header.flags
        return same == header
    }

    /// Appends `next` (``canAbsorb(_:mss:limit:)`` said yes): its bytes and its PSH/FIN.
    mutating func absorb(_ next: OutgoingSegment, mss: Int) {
        payloadLength += next.payloadLength
        header.flags = next.header.flags
        segmentSize = mss
    }
}

/// One TCP connection's state: RFC 9293's Transmission Control Block.
///
/// Sans-I/O: `input` takes an arrived segment, `output` hands out the segments
/// to send through a closure, `handleTimers` runs what is due, and
/// `nextDeadline` says when. It reads no clock and owns no buffer outside
/// itself. A class because sockets, the demultiplexing table and the timer
/// queue all refer to the same connection.
///
/// Split by concern across files: this one holds the state and the user
/// calls (RFC 9293 §3.10.1–3.10.6); `+Input` the SEGMENT ARRIVES processing
/// (§3.10.7); `+Output` what and when to send (§3.8.6, RFC 896, RFC 6675);
/// `+Timers` retransmission, persist, delayed ACK, keepalive and TIME_WAIT.
final class TCPConnection {
    let id: Int
    var local: Endpoint
    var remote: Endpoint
    var state: TCPState = .closed
    var options: TCPSocketOptions {
        didSet { keepAliveIdleNanoseconds = options.keepAliveIdle.nanoseconds }
    }
    /// The host's settings, shared with its other connections (see ``TCPConfigBox``).
    let configBox: TCPConfigBox
    var config: TCPConfig { configBox.value }
    /// The host's count of TCP buffer storage, shared with its other connections.
    let memory: TCPBufferMemory
    /// This connection's buffer storage as last reported to `memory`.
    private(set) var accountedBufferBytes = 0
    /// `config.delayedAckTimeout` in nanoseconds, converted once (Duration arithmetic costs on the per-segment path).
    let delayedAckNanoseconds: Int64
    /// `config.minimumRTO` and `options.keepAliveIdle` in nanoseconds, for the same reason.
    let minimumRTONanoseconds: Int64
    var keepAliveIdleNanoseconds: Int64
    /// True for connections made by a listener (they go back to nothing, not LISTEN, on RST).
    let passive: Bool

    // MARK: Send sequence space (RFC 9293 §3.3.1, Figure 3)
    var iss: SequenceNumber = 0
    var sndUna: SequenceNumber = 0
    var sndNxt: SequenceNumber = 0
    /// The highest sequence number sent so far (SND.NXT moves back on a retransmission timeout; this does not).
    var sndMax: SequenceNumber = 0
    /// The peer's window, in bytes (already scaled).
    var sndWnd = 0
    var sndWl1: SequenceNumber = 0
    var sndWl2: SequenceNumber = 0
    /// Largest window the peer ever offered: sender SWS avoidance (RFC 9293 §3.8.6.2.1) and RFC 5961's MAX.SND.WND.
    var maxSndWnd = 0
    // `@exclusivity(unchecked)` on the buffers, RTT, congestion and SACK state: mutated in
    // place per segment, where a dynamic exclusivity check is a runtime call (see `Host`).
    @exclusivity(unchecked) var sendBuffer: SendBuffer
    /// True once the peer has acknowledged our SYN (the SYN's sequence number holds no data).
    var synAcknowledged = false
    /// Sequence number of our FIN once the application has closed its side.
    var finSeq: SequenceNumber?

    // MARK: Receive sequence space
    var irs: SequenceNumber = 0
    var rcvNxt: SequenceNumber = 0
    /// Right edge of the window last advertised: it must not move left (RFC 9293 §3.8.6.2.2).
    var rcvAdvertisedEdge: SequenceNumber = 0
    @exclusivity(unchecked) var receiveBuffer: ReceiveBuffer
    /// Sequence number of the peer's FIN when it arrived before all the data ahead of it.
    var peerFinSeq: SequenceNumber?
    /// True once the peer's FIN has been received in order.
    var peerFinReceived = false

    // MARK: Negotiated options
    /// Largest payload we send in one segment, options already subtracted.
    var sendMSS = 536
    /// MSS we announce: our MTU − 40.
    var announcedMSS = 1460
    /// Most payload bytes one super-segment may carry (segmentation offload on the route's
    /// device); 0: one segment per packet. Nil until the host has looked (first transmit).
    var segmentationLimit: Int?
    /// The host's `pathMTU6Decreases` when this connection last matched its MSS to the path MTU.
    var pathMTU6Serial = 0
    var peerMSS = 536
    var sndScale: UInt8 = 0
    var rcvScale: UInt8 = 0
    var sackEnabled = false
    var timestampsEnabled = false
    /// TS.Recent (RFC 7323 §4.3) and Last.ACK.sent.
    var tsRecent: UInt32 = 0
    var tsRecentAge = Instant.zero
    var lastAckSent: SequenceNumber = 0
    /// Random offset of our timestamp clock, so TSval reveals no uptime (RFC 7323 §5.4).
    var tsOffset: UInt32 = 0

    // MARK: Reliability and congestion control
    @exclusivity(unchecked) var rtt: RTTEstimator
    @exclusivity(unchecked) var congestion: CongestionControl
    /// The SACKed ranges above SND.UNA: where a SACK block is new, and what
    /// to skip when SND.NXT goes back after a timeout.
    @exclusivity(unchecked) var scoreboard = SACKScoreboard()
    /// The segment being timed when timestamps are off (Karn's rule: never a retransmitted one).
    var rttTimedSeq: SequenceNumber?
    var rttTimedAt = Instant.zero
    /// Duplicate ACKs (RFC 5681 §2) since SND.UNA last advanced: limited
    /// transmit (RFC 3042) at 1–2 and, without SACK, DupThresh's loss mark.
    var duplicateAcks = 0
    /// In fast recovery (RFC 9937 §5), from the first segment marked lost until SND.UNA reaches `recover`.
    var inRecovery = false
    /// RFC 6582's `recover`: SND.MAX when fast recovery or RTO recovery started;
    /// recovery ends when SND.UNA reaches it, and DupThresh starts no new one
    /// until SND.UNA passes it (RFC 6582 §3.2 step 2, §4).
    var recover: SequenceNumber = 0
    /// Consecutive retransmission timeouts of the same data.
    var consecutiveTimeouts = 0
    var totalRetransmissions = 0
    /// Duplicate ACKs (without SACK), or segments' worth of SACKed bytes, that
    /// mean a loss (RFC 5681 §3.2); RACK's reordering window is 0 from there (RFC 8985 §6.2 step 4).
    let dupThresh = 3
    // Eifel detection (RFC 3522; response as in RFC 4015): if the first ACK to cover the
    // retransmitted hole echoes a TSval older than the retransmission's, the original had
    // arrived, and the reduction is undone. Three fields, not one optional tuple, so that the
    // check on every ACK reads a small optional instead of copying the controller out.
    /// The retransmitted hole whose ACK decides; nil when no check is armed (see `armUndo`).
    var undoHole: SequenceNumber?
    /// The TSval the retransmission of `undoHole` carried.
    var undoRetransmitTS: UInt32 = 0
    /// The congestion state before the reduction; meaningful only while `undoHole` is set.
    var undoCongestion: CongestionControl
    /// Retransmissions found spurious by the timestamp check.
    var spuriousRetransmissions = 0
    var persistBackoff = 0
    /// When data last went out: the idle time before a restart (RFC 5681 §4.1).
    var lastDataSent: Instant?
    /// Where the last new-data segment shorter than SMSS ended (Linux's snd_sml):
    /// Nagle holds another small one only while this is unacknowledged.
    var smallSegmentEnd: SequenceNumber?

    // MARK: Loss detection (RFC 8985)
    /// One record per data segment in flight (see ``RetransmissionQueue``).
    @exclusivity(unchecked) var transmissions = RetransmissionQueue()
    /// C.delivered: bytes delivered (cumulatively or by SACK) over the connection's life.
    var deliveredTotal = 0
    /// C.delivered_time: when `deliveredTotal` last grew, ns.
    var deliveredNanoseconds: Int64 = 0
    /// C.first_sent_time: send time of the most recent segment a rate sample used, ns.
    var firstSentNanoseconds: Int64 = 0
    /// C.app_limited: `deliveredTotal` past which the flow is no longer application-limited (0: not limited).
    var appLimitedUntil = 0
    /// C.lost: bytes marked lost over the connection's life.
    var lostTotal = 0
    /// The sample being filled by the ACK in progress, and what it has seen.
    var ackSample = RateSample()
    /// The ACK in progress found a record with a rate snapshot.
    var ackHasPrior = false
    /// The lowest start of a record sent only once that the ACK in progress delivered (nil:
    /// none): F-RTO's evidence (RFC 5682 §2 and §3 step 3).
    var ackLowestOriginal: SequenceNumber?
    /// P.delivered_time of the sampled record, and its send interval, for the ACK in progress (ns).
    var ackPriorDeliveredNanoseconds: Int64 = 0
    var ackSendIntervalNanoseconds: Int64 = 0
    /// P.lost of the sampled record.
    var ackPriorLost = 0
    /// The lowest RTT seen (RACK.min_RTT), ns; nil before the first sample.
    var minRTTNanoseconds: Int64?
    /// The highest delivery rate any ACK's rate sample measured, bytes per second
    /// (0: none yet): with `minRTTNanoseconds`, the path's largest bandwidth-delay
    /// product seen, which bounds send-buffer growth.
    var maximumDeliveryRate = 0
    /// RACK.xmit_ts and RACK.end_seq: the most recently sent segment delivered (nil: none yet).
    var rackXmitNanoseconds: Int64?
    var rackEndSeq: SequenceNumber = 0
    /// RACK.rtt: the RTT of that segment, ns.
    var rackRTTNanoseconds: Int64 = 0
    /// RACK.fack: the highest sequence number delivered so far.
    var rackFack: SequenceNumber = 0
    /// RACK.fack when the ACK in progress arrived (blocks of one ACK do not reorder each other).
    var rackFackBeforeAck: SequenceNumber = 0
    /// RACK.reordering_seen.
    var rackReorderingSeen = false
    /// RACK.reo_wnd_mult, RACK.reo_wnd_persist and RACK.dsack_round (RFC 8985 §6.2 step 4).
    var rackReorderMultiplier = 1
    var rackReorderPersist = 0
    var rackDSACKRound: SequenceNumber?
    /// The reorder timer (RFC 8985 §6.2 step 5's timeout).
    var rackDeadline: Instant?
    /// In RTO recovery: from a timeout until SND.UNA passes `recover`.
    var inTimeoutRecovery = false
    /// PRR (RFC 9937): prr_delivered, prr_out, RecoverFS.
    var prrDelivered = 0
    var prrOut = 0
    var recoverFS = 0
    /// Without SACK: duplicate ACKs already counted as one SMSS delivered each (RFC 9937 §5).
    var duplicateAckCredit = 0
    /// The probe timeout (RFC 8985 §7.2).
    var tlpDeadline: Instant?
    /// TLP.end_seq: SND.NXT after the outstanding probe (nil: none), and TLP.is_retrans.
    var tlpEndSeq: SequenceNumber?
    var tlpIsRetransmission = false
    /// The probe timer fired: one probe goes out with the next `output`.
    var tlpPending = false
    /// A probe is being built: new data may exceed cwnd by one segment.
    var tlpSending = false
    /// D-SACK state for RFC 3708: the congestion state before this recovery and
    /// how many of its retransmissions are still not reported duplicate.
    var dsackUndo: CongestionControl?
    var recoveryRetransmissionsUndetected = 0
    /// The span of sequence space this recovery retransmitted: a D-SACK outside it proves nothing.
    var episodeRetransmitLow: SequenceNumber = 0
    var episodeRetransmitHigh: SequenceNumber = 0
    /// The last D-SACK block counted toward undo (a repeat is not counted twice).
    var lastDSACKCounted: TCPSACKBlock?
    /// F-RTO (RFC 5682 §2, §3 with SACK): 1 after a timeout's retransmission, 2 once the first
    /// ACK advanced SND.UNA and new data went out instead of more retransmissions; 0: not running.
    var frtoStep = 0
    /// The congestion state before the timeout, restored if F-RTO finds it spurious.
    var frtoUndo: CongestionControl?
    /// F-RTO found the timeout genuine: the first lost segment goes now whatever cwnd says.
    var frtoForceRetransmit = false
    /// Counters for `netstat --verbose`: D-SACK blocks received, undos by cause,
    /// loss probes sent, segments RACK marked lost, recoveries entered.
    var dsacksReceived = 0
    var undoneByTimestamps = 0
    var undoneByDSACK = 0
    var undoneByFRTO = 0
    var tailLossProbes = 0
    var tailLossProbeRecoveries = 0
    var rackLossesMarked = 0
    /// Records RACK's loss scan looked at, over the connection's life (its cost; tests).
    var rackRecordsScanned = 0
    var sackRecoveries = 0
    var renoRecoveries = 0

    // MARK: Pacing and buffer tuning
    /// Bytes per second data segments are paced at; 0: unpaced (pacing off, or no RTT
    /// sample yet). Set by `updatePacingRate(now:)` before each `output`.
    var pacingRate = 0
    /// Bytes that may leave back to back at one pacing wake (the send quantum).
    var pacingQuantum = 0
    /// `pacingQuantum` and one `sendMSS` as time at `pacingRate`, in nanoseconds
    /// (computed with the rate, so the per-segment gate does no division).
    var pacingQuantumNanoseconds: Int64 = 0
    var pacingSegmentNanoseconds: Int64 = 0
    /// When the next paced byte is due, in nanoseconds of `Instant` (Linux's tcp_wstamp_ns).
    /// Integer arithmetic: `Duration` costs a metadata look-up per segment.
    var pacingNextSendNanoseconds: Int64 = 0
    /// The last `output` stopped because the pacing schedule was ahead of the clock
    /// with data waiting: a late wake may then catch up (see `notePacedSend`).
    var pacingBacklogged = false
    /// The current `output` stopped a data segment because of pacing.
    var pacingHeld = false
    /// Wake-up for the next paced burst (nil: none armed).
    var pacingDeadline: Instant?
    /// Bytes the application has read over the connection's life (receive-buffer tuning).
    var bytesRead = 0
    /// The application's last `send` or `poll` found the send buffer full (Linux's
    /// SOCK_NOSPACE): only then may send-buffer tuning grow it. Cleared when it grows.
    var sendBufferFilled = false
    /// Receive-buffer tuning (Linux's rcvq_space): `bytesRead` and the time, in
    /// nanoseconds, when the current measurement started (`Int64.min`: not started),
    /// and the bytes read in the last measured receiver RTT.
    var receiveSpaceStartRead = 0
    var receiveSpaceStartNanoseconds = Int64.min
    var receiveSpace = 0
    /// The receiver's RTT estimate in nanoseconds (0: none yet; Linux's rcv_rtt_est),
    /// and, without timestamps, the sequence number whose arrival ends the current
    /// window-based measurement and when it started.
    var receiverRTTNanoseconds: Int64 = 0
    var receiverRTTSeq: SequenceNumber?
    var receiverRTTStartNanoseconds: Int64 = 0

    // MARK: Timers (nil: not running)
    var retransmitDeadline: Instant?
    var delayedAckDeadline: Instant?
    var persistDeadline: Instant?
    var keepAliveDeadline: Instant?
    var timeWaitDeadline: Instant?
    var corkDeadline: Instant?
    var finWait2Deadline: Instant?
    /// When an empty buffer's storage is given back (set when one is found empty; see `noteIdleBuffers`).
    var bufferReleaseDeadline: Instant?
    var keepAliveProbesSent = 0
    /// The wake-up the host's timer queue holds for this connection.
    var scheduledWake: Instant?
    /// The state last reported to the host's observer (`tcpStateChanged`).
    var reportedState: TCPState?
    /// The SACK blocks of the last ACK sent, most recent first (RFC 2018 §4's ordering).
    var lastSACKBlocks = TCPSACKBlocks()
    /// Zero-window probes sent over the connection's life.
    var windowProbesSent = 0
    /// When data first waited unacknowledged (TCP_USER_TIMEOUT).
    var unackedSince: Instant?

    // MARK: What to send next
    var ackNow = false
    /// In-order data segments received since the last ACK we sent.
    var segmentsSinceAck = 0
    /// A challenge ACK (RFC 5961) waits to go out, subject to the host's rate limit.
    var challengeAckPending = false
    /// When this connection last answered an invalid segment (challenge ACK, or a
    /// duplicate ACK to an out-of-window or PAWS-failing one): Linux's last_oow_ack_time.
    var lastInvalidAnswer: Instant?
    /// The last input suppressed a duplicate ACK by the rate limit (the host counts it).
    var invalidAckSuppressed = false
    /// Out-of-order segments inside the window refused because the receive buffer
    /// already holds its most disjoint ranges; the host adds them to its counters.
    var outOfOrderRefused = 0
    /// A duplicate segment to report in the next ACK's first SACK block (D-SACK, RFC 2883).
    var pendingDSACK: TCPSACKBlock?
    /// Where this connection's IP identifications come from (computed at its first segment).
    var ipIDSlot: IPIdentification.Slot?
    /// Send one zero-window or keepalive probe now.
    var probePending = false
    /// The SYN (or SYN-ACK) must be (re)sent.
    var synPending = false
    /// Send an RST and close (abort, or linger 0).
    var resetPending = false
    /// Loss recovery wants the lost segment(s) resent.
    var retransmitHolePending = false
    /// The cork timer fired: a partial segment may go.
    var corkExpired = false
    /// The SWS override timer fired (RFC 1122 §4.2.3.4): send into a small window anyway.
    var swsOverride = false
    /// The application closed its descriptor: nobody will read, so FIN_WAIT_2 may time out.
    var orphaned = false

    /// The error the socket reports (ECONNRESET, ETIMEDOUT, ECONNREFUSED …), set once.
    var error: NetError?
    /// The last ICMP error about this connection (RFC 1122 §4.2.3.9: a soft error,
    /// reported only if the connection then times out).
    var softError: NetError?
    /// True when the connection can be deleted from the host's tables.
    var isFinished = false
    /// The listener whose queues hold this connection until `accept` takes it.
    var listener: TCPListenQueue?
    /// The descriptor the application holds, nil once it closed it (or before accept).
    var descriptor: Int32?
    /// In the host's activity list (``Host/takeTCPActivity(into:)``) since it was last taken.
    var listedActive = false
    /// In the host's readiness list (``Host/takeReadinessChanges(into:)``) since it was last taken.
    var listedReady = false
    /// In the host's list of connections whose output waits for the end of a corked scope.
    var listedCorked = false
    var lastActivity = Instant.zero
    /// The earliest time an acknowledgement of new data may next confirm the IPv6 next hop's
    /// reachability (RFC 4861 §7.3.1; `Host.tcpInput`): once in a while, not per segment.
    var nextReachabilityHint = Instant.zero

    init(id: Int, local: Endpoint, remote: Endpoint, options: TCPSocketOptions, config: TCPConfig,
         passive: Bool, now: Instant, sharedConfig: TCPConfigBox? = nil, memory: TCPBufferMemory? = nil) {
        self.id = id
        self.local = local
        self.remote = remote
        self.options = options
        configBox = sharedConfig ?? TCPConfigBox(config)
        self.memory = memory ?? TCPBufferMemory()
        self.passive = passive
        delayedAckNanoseconds = config.delayedAckTimeout.nanoseconds
        minimumRTONanoseconds = config.minimumRTO.nanoseconds
        keepAliveIdleNanoseconds = options.keepAliveIdle.nanoseconds
        sendBuffer = SendBuffer(capacity: options.sendBufferSize)
        receiveBuffer = ReceiveBuffer(capacity: options.receiveBufferSize)
        rtt = RTTEstimator(initialRTO: config.initialRTO, minimumRTO: config.minimumRTO,
                           maximumRTO: config.maximumRTO)
        congestion = CongestionControl(options.congestion, mss: 536, now: now)
        undoCongestion = congestion
        lastActivity = now
    }

    // MARK: Derived values

    /// Bytes sent and not yet acknowledged (SYN and FIN count one each).
    var flightSize: Int { sndMax - sndUna }

    /// Bytes of data in the send buffer not yet sent (past SND.NXT).
    var unsentBytes: Int {
        let offset = sndNxt - sndUna - (synAcknowledged ? 0 : 1)
        return max(0, sendBuffer.count - max(0, min(offset, sendBuffer.count)))
    }

    /// Our timestamp clock: milliseconds (RFC 7323 §5.4 allows 1 ms to 1 s per tick).
    func timestamp(_ now: Instant) -> UInt32 {
        UInt32(truncatingIfNeeded: now.nanoseconds / 1_000_000) &+ tsOffset
    }

    /// Window scale to offer: the smallest shift that lets the receive buffer be advertised (RFC 7323 §2.3).
    static func windowShift(for capacity: Int) -> UInt8 {
        var shift: UInt8 = 0
        while shift < TCPOptions.maximumWindowScale, capacity >> Int(shift) > 65_535 { shift += 1 }
        return shift
    }

    // MARK: User calls (RFC 9293 §3.10)

    /// OPEN, active: the SYN goes out with the next `output`.
    func openActive(iss: SequenceNumber, mss: Int, now: Instant) {
        self.iss = iss
        sndUna = iss
        sndNxt = iss
        sndMax = iss
        recover = iss  // RFC 6582 §3.2 step 1
        rackFack = iss  // sequence order is modular: RACK.fack must start inside this space
        announcedMSS = mss
        rcvScale = config.windowScaling ? Self.windowShift(for: receiveBufferCeiling) : 0
        state = .synSent
        synPending = true
        lastActivity = now
    }

    deinit { memory.change(by: -accountedBufferBytes, threshold: .max) }

    /// Reports a change of this connection's buffer storage — send and receive
    /// buffers and the transmission records' ring — to the host's count (call
    /// after anything that may grow or free one). O(1): three loads and a compare when nothing changed.
    @inline(__always)
    func accountBuffers() {
        let held = sendBuffer.allocatedBytes + receiveBuffer.allocatedBytes + transmissions.allocatedBytes
        guard held != accountedBufferBytes else { return }
        memory.change(by: held - accountedBufferBytes, threshold: config.bufferMemoryPressure)
        accountedBufferBytes = held
    }

    /// True while the host's buffer storage is at or past `bufferMemoryPressure`:
    /// buffers hold at most what they have allocated (at least ``SendBuffer/minimumAllocation``). O(1).
    var underMemoryPressure: Bool { memory.allocated >= config.bufferMemoryPressure }

    /// Bytes `send` takes now: the send buffer's free space, or under memory
    /// pressure only what fits in the storage it already has (or its first 4 KiB). O(1).
    var sendSpace: Int {
        guard underMemoryPressure else { return sendBuffer.freeSpace }
        let room = min(sendBuffer.capacity, max(sendBuffer.allocatedBytes, SendBuffer.minimumAllocation))
        return max(0, room - sendBuffer.count)
    }

    /// SEND: copies what fits into the send buffer; returns the byte count (0 when full).
    func send(_ bytes: UnsafeRawBufferPointer, now: Instant) throws(NetError) -> Int {
        if let error { throw error }
        switch state {
        case .synSent, .synReceived, .established, .closeWait:
            guard finSeq == nil else { throw .brokenPipe }
        default:
            throw state == .closed ? .notConnected : .brokenPipe
        }
        let space = sendSpace
        let written = sendBuffer.append(bytes.count > space ? UnsafeRawBufferPointer(rebasing: bytes[..<space]) : bytes)
        sendBufferFilled = written < bytes.count
        accountBuffers()
        if written > 0, options.cork, corkDeadline == nil { corkDeadline = now + config.corkTimeout }
        return written
    }

    /// RECEIVE: moves readable bytes into `destination`. Returns 0 at end of stream.
    /// Throws `.wouldBlock` when nothing is readable yet.
    func receive(into destination: UnsafeMutableRawBufferPointer, now: Instant) throws(NetError) -> Int {
        let count = receiveBuffer.read(into: destination)
        if count > 0 {
            noteApplicationRead(count, now: now)
            windowUpdateIfWorthIt()
            return count
        }
        if let error { throw error }
        if peerFinReceived || state == .closed { return 0 }
        if !state.isSynchronized && state != .synSent && state != .synReceived { throw .notConnected }
        throw .wouldBlock
    }

    /// Sends an ACK with the new window when reading has opened it enough past
    /// what was last advertised (receiver SWS avoidance, RFC 9293 §3.8.6.2.2:
    /// by at least min(buffer/2, MSS)); from a nearly closed window at once,
    /// else once it is twice what is still promised, so reads do not each cost an ACK.
    func windowUpdateIfWorthIt() {
        guard state.receivesData else { return }
        // Compare what the 16-bit window field can say: past its maximum, nothing new can be told.
        let ceiling = 65_535 << Int(rcvScale)
        let promised = min(max(0, rcvAdvertisedEdge - rcvNxt), ceiling)
        let offer = min(advertisableWindow(), ceiling)
        let threshold = max(1, min(receiveWindowLimit / 2, announcedMSS))
        // Linux's rule (tcp_cleanup_rbuf): a pure update only once the window on offer is
        // at least twice what the peer may still send; ACKs of data carry the window anyway.
        if offer - promised >= threshold && (promised < threshold || offer >= 2 * promised) {
            ackNow = true
        }
    }

    /// CLOSE or SHUTDOWN(write): queue a FIN after the data already written.
    func closeWrite() {
        switch state {
        case .synSent, .listen, .closed:
            state = .closed
            isFinished = true
        case .synReceived, .established:
            if finSeq == nil { finSeq = sndUna + (synAcknowledged ? 0 : 1) + sendBuffer.count }
            state = .finWait1
        case .closeWait:
            if finSeq == nil { finSeq = sndUna + sendBuffer.count }
            state = .lastAck
        default:
            break
        }
    }

    /// ABORT: an RST goes out (in synchronized states) and the connection ends.
    func abort() {
        if state.isSynchronized || state == .synReceived { resetPending = true }
        finish(error: nil)
    }

    /// An ICMP error quoting one of our segments (RFC 1122 §4.2.3.9, RFC 5461):
    /// "fragmentation needed" lowers the segment size (path MTU discovery,
    /// RFC 1191); during the handshake an unreachable destination ends the
    /// attempt (as Linux does); otherwise the error is soft.
    func icmpError(_ message: ICMPv4Message, error: NetError, quotedSequence: SequenceNumber) {
        if case let .destinationUnreachable(code, mtu) = message, code == UnreachableCode.fragmentationNeeded.rawValue {
            pathMTUDecreased(to: Int(mtu), ipHeaderLength: IPv4Header.minimumLength, quotedSequence: quotedSequence)
            return
        }
        softICMPError(error, quotedSequence: quotedSequence)
    }

    /// An ICMP error that does not change the path (unreachable, time exceeded …): remembered
    /// for the socket; fatal only to a connection attempt. Believed only about data in flight
    /// (RFC 5927 §4.1: a blind forger must guess it).
    func softICMPError(_ error: NetError, quotedSequence: SequenceNumber) {
        guard sndUna <= quotedSequence && quotedSequence < sndMax else { return }
        softError = error
        if state == .synSent { finish(error: error) }
    }

    /// The path's MTU is now `mtu` (ICMP fragmentation needed, ICMPv6 packet too big): segments
    /// shrink to fit and what was in flight is sent again at the new size. Believed only about data in flight.
    func pathMTUDecreased(to mtu: Int, ipHeaderLength: Int, quotedSequence: SequenceNumber) {
        guard sndUna <= quotedSequence && quotedSequence < sndMax else { return }
        if followPathMTU(mtu, ipHeaderLength: ipHeaderLength) {
            sndNxt = sndUna  // resend what was too big, in smaller segments
        }
    }

    /// Shrinks segments to fit a path MTU of `mtu` that the host learnt (Linux's tcp_sync_mss:
    /// TCP follows the route's PMTU rather than have IP fragment its segments). True when the
    /// MSS went down; what is in flight is left to arrive or be recovered as usual.
    @discardableResult
    func followPathMTU(_ mtu: Int, ipHeaderLength: Int) -> Bool {
        guard state.isSynchronized && synAcknowledged else { return false }
        let limit = mtu - ipHeaderLength - TCPHeader.minimumLength - (timestampsEnabled ? 12 : 0)
        guard limit >= 256 && limit < sendMSS else { return false }
        sendMSS = limit
        congestion.setMSS(limit)
        // Resends go record by record: a record of the old size would be dropped again.
        transmissions.split(maximumLength: limit)
        accountBuffers()
        return true
    }

    /// Ends the connection, recording why for the socket.
    func finish(error: NetError?) {
        if self.error == nil, let error { self.error = error }
        state = .closed
        isFinished = true
        unackedSince = nil
        retransmitDeadline = nil
        delayedAckDeadline = nil
        persistDeadline = nil
        keepAliveDeadline = nil
        timeWaitDeadline = nil
        corkDeadline = nil
        finWait2Deadline = nil
        bufferReleaseDeadline = nil
        rackDeadline = nil
        tlpDeadline = nil
        transmissions = RetransmissionQueue()
        // Nothing will be sent again; unread data stays readable for the application.
        sendBuffer.releaseIfEmpty()
        receiveBuffer.releaseIfEmpty()
        accountBuffers()
    }

    /// How long a buffer stays empty before its storage is freed: long enough that
    /// a busy connection does not free and reallocate on every drained burst.
    static let bufferIdleNanoseconds: Int64 = 1_000_000_000

    /// Arms the release of empty buffers' storage (called after every activity):
    /// once a buffer holding storage is found empty, it is freed
    /// `bufferIdleNanoseconds` later if still empty then. O(1).
    func noteIdleBuffers(now: Instant) {
        guard bufferReleaseDeadline == nil, !isFinished else { return }
        if (sendBuffer.isEmpty && sendBuffer.allocatedBytes > 0)
            || (receiveBuffer.isEmpty && receiveBuffer.allocatedBytes > 0)
            || (transmissions.isEmpty && transmissions.capacity > 0) {
            bufferReleaseDeadline = Instant(nanoseconds: now.nanoseconds &+ Self.bufferIdleNanoseconds)
        }
    }

    /// Linux's __tcp_oow_rate_limited: true (answer nothing) when this connection
    /// answered an invalid segment less than `config.invalidRateLimit` ago;
    /// otherwise records `now` as the last answer and returns false. O(1).
    func invalidAnswerRateLimited(now: Instant) -> Bool {
        if let last = lastInvalidAnswer, now.nanoseconds - last.nanoseconds < config.invalidRateLimit.nanoseconds {
            return true
        }
        lastInvalidAnswer = now
        return false
    }

    /// Asks for a duplicate ACK answering an invalid segment (outside the window or
    /// failing PAWS), rate-limited per connection as Linux's tcp_oow_rate_limited:
    /// only segments without data or with SYN are limited — a data segment is a
    /// retransmission whose sender needs the ACK, and cannot be part of an ACK loop.
    func answerInvalid(carriesData: Bool, syn: Bool, now: Instant) {
        if carriesData && !syn {
            ackNow = true
        } else if invalidAnswerRateLimited(now: now) {
            invalidAckSuppressed = true
        } else {
            ackNow = true
        }
    }

    /// Enters TIME_WAIT for 2 × MSL (RFC 9293 §3.10.7.4): the 4-tuple stays taken,
    /// so a late segment of this connection cannot land in a new one.
    func enterTimeWait(now: Instant) {
        state = .timeWait
        retransmitDeadline = nil
        persistDeadline = nil
        keepAliveDeadline = nil
        finWait2Deadline = nil
        corkDeadline = nil
        bufferReleaseDeadline = nil
        rackDeadline = nil
        tlpDeadline = nil
        transmissions = RetransmissionQueue()
        timeWaitDeadline = now + config.msl + config.msl
        // Everything sent is acknowledged and the peer will send nothing new: only
        // data the application has not read yet keeps storage.
        sendBuffer.releaseIfEmpty()
        receiveBuffer.releaseIfEmpty()
        accountBuffers()
    }
}

extension SequenceNumber {
    /// The later of two sequence numbers in serial-number order (RFC 1982).
    static func latest(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a < b ? b : a }
    /// The earlier of two sequence numbers in serial-number order (RFC 1982).
    static func earliest(_ a: SequenceNumber, _ b: SequenceNumber) -> SequenceNumber { a < b ? a : b }
}
