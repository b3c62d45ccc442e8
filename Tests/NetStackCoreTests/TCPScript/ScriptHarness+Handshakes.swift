// The handshakes most scripts start with, and the peer's option sets.

@testable import NetStackCore
import NetStackWire
import Testing

// MARK: Handshakes most scripts start with

/// What the scripted peer offers in its SYN (or SYN-ACK).
enum PeerOptions {
    /// MSS 1460 only: no SACK, timestamps or window scaling.
    case plain
    /// MSS 1460 and SACK-permitted, laid out as Linux does without timestamps.
    case sack
    /// MSS 1460, SACK-permitted, timestamps, window scale 7: a Linux SYN.
    case full

    /// The options of the peer's SYN or SYN-ACK sent at script time `t` (TSval = t in ms),
    /// echoing the stack's clock at `echo` (nil: 0, as in a first SYN).
    func syn(at t: Double, echo: Double? = nil) -> [ScriptOption] {
        switch self {
        case .plain: [.mss(1460)]
        case .sack: [.mss(1460), .nop, .nop, .sackOK]
        case .full: [.mss(1460), .sackOK, .ts(peerClock(t), echo.map { .stack(at: $0) } ?? 0), .nop, .wscale(7)]
        }
    }
}

/// The peer's timestamp clock in scripts: milliseconds of script time.
func peerClock(_ t: Double) -> ScriptTS { ScriptTS(integerLiteral: UInt32((t * 1000).rounded())) }

/// RFC 7323 §2.3: the shift a receiver offers so its buffer fits the 16-bit
/// window field — the smallest s with buffer / 2^s ≤ 65535.
func windowShift(for buffer: Int) -> UInt8 {
    var shift: UInt8 = 0
    while buffer >> Int(shift) > 65535 { shift += 1 }
    return shift
}

extension TCPScript {
    /// The NOP, NOP, Timestamps block of a data segment (RFC 7323 Appendix A layout).
    static func tsBlock(_ value: ScriptTS, _ echo: ScriptTS) -> [ScriptOption] { [.nop, .nop, .ts(value, echo)] }

    /// Passive open: listen at 0, the peer's SYN at 0.1 (answered by our SYN-ACK at
    /// once), its ACK at 0.2, accept at 0.2. The handshake RTT is 100 ms, so
    /// RTO = SRTT + 4·RTTVAR = 100 + 4·50 = 300 ms (RFC 6298 §2.2). Returns the
    /// accepted descriptor; `listener` is kept in `listenerFD`.
    ///
    /// Our SYN-ACK window is min(buffer, 65535) — never scaled in a SYN (RFC 7323
    /// §2.2); we offer SACK, timestamps and window scaling only when the peer did
    /// (RFC 2018 §2, RFC 7323 §1.3). `peerWindow` is the window field of the peer's ACK.
    @discardableResult
    func establishPassive(_ peer: PeerOptions = .plain, peerWindow: Int? = nil, synWindow: Int = 65535,
                          receiveBuffer: Int = 256 * 1024, listenOptions: [SocketOption] = [], backlog: Int = 128,
                          sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        var options = listenOptions
        if receiveBuffer != 256 * 1024 { options.append(.receiveBuffer(receiveBuffer)) }
        listenerFD = listen(at: 0, port: serverPort, backlog: backlog, options: options, sourceLocation: sourceLocation)
        inject(at: 0.1, .syn(seq: 0, win: synWindow, options: peer.syn(at: 0.1)), sourceLocation: sourceLocation)
        let synAckOptions: [ScriptOption] = switch peer {
        case .plain: [.mss(1460)]
        case .sack: [.mss(1460), .nop, .nop, .sackOK]
        case .full: [.mss(1460), .sackOK, .ts(.now, peerClock(0.1)), .nop, .wscale(windowShift(for: receiveBuffer))]
        }
        expect(at: 0.1, .synAck(seq: 0, ack: 1, win: min(receiveBuffer, 65535), options: synAckOptions),
               sourceLocation: sourceLocation)
        ourWindow = peer == .full ? receiveBuffer >> Int(windowShift(for: receiveBuffer)) : min(receiveBuffer, 65535)
        let ackOptions = peer == .full ? Self.tsBlock(peerClock(0.2), .stack(at: 0.1)) : []
        inject(at: 0.2, .ack(seq: 1, ack: 1, win: peerWindow ?? (peer == .full ? 502 : 65535), options: ackOptions),
               sourceLocation: sourceLocation)
        return accept(at: 0.2, listenerFD, sourceLocation: sourceLocation)
    }

    /// Active open: connect at 0.1 (our SYN offers MSS 1460, SACK, timestamps and
    /// window scale 3 for a 256 KiB buffer, window 65535), the peer's SYN-ACK at
    /// 0.2 with `peer`'s options, our ACK at once. RTT 100 ms → RTO 300 ms.
    @discardableResult
    func establishActive(_ peer: PeerOptions = .plain, synAckWindow: Int = 65535, options: [SocketOption] = [],
                         sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        let fd = connect(at: 0.1, options: options, sourceLocation: sourceLocation)
        expect(at: 0.1, .syn(seq: 0, win: 65535, options: [.mss(1460), .sackOK, .ts(.now, 0), .nop, .wscale(3)]),
               sourceLocation: sourceLocation)
        inject(at: 0.2, .synAck(seq: 0, ack: 1, win: synAckWindow, options: peer.syn(at: 0.2, echo: 0.1)),
               sourceLocation: sourceLocation)
        ourWindow = peer == .full ? 32768 : 65535
        expect(at: 0.2, .ack(seq: 1, ack: 1, win: ourWindow,
                             options: peer == .full ? Self.tsBlock(.now, peerClock(0.2)) : []),
               sourceLocation: sourceLocation)
        return fd
    }
}
