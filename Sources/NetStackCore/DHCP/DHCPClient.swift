public import NetStackWire

// The DHCPv4 client state machine (RFC 2131 §4.4, figure 5), sans-I/O: it is
// given the messages that arrive and the time, and answers with what to send
// and what to configure. It never reads a clock; `nextDeadline` says when
// `poll` must run. DHCPAgent (beside it) drives it over a Host's UDP socket.

/// An address lease from a DHCP server, as the client uses it.
public struct DHCPLease: Sendable, Equatable, CustomStringConvertible {
    /// yiaddr of the ACK.
    public var address: IPv4Address
    /// From the subnet mask (option 1); 24 when the server sent none or a mask with holes.
    public var prefixLength: Int
    /// Option 3, in order of preference.
    public var routers: [IPv4Address]
    /// Option 6, in order of preference.
    public var dnsServers: [IPv4Address]
    /// Option 54: the server that granted the lease, where RENEWING sends.
    public var server: IPv4Address
    /// Option 51, seconds; nil: infinite (0xFFFFFFFF).
    public var leaseTime: UInt32?
    /// When the ACK arrived: T1, T2 and the expiry count from here (RFC 2131 §4.4.1 counts from
    /// the REQUEST; the difference is one round trip).
    public var acquired: Instant
    /// T1 (option 58; else half the lease, RFC 2131 §4.4.5); nil for an infinite lease.
    public var renewAt: Instant?
    /// T2 (option 59; else 0.875 of the lease); nil for an infinite lease.
    public var rebindAt: Instant?
    /// The end of the lease; nil for an infinite one.
    public var expiresAt: Instant?

    /// The connected network the address lies in.
    public var network: IPv4Network { IPv4Network(address: address, prefixLength: prefixLength) }

    public var description: String {
        "\(address)/\(prefixLength) from \(server)" + (leaseTime.map { " for \($0) s" } ?? " (infinite)")
            + (routers.first.map { ", router \($0)" } ?? "")
            + (dnsServers.isEmpty ? "" : ", DNS " + dnsServers.map(\.description).joined(separator: " "))
    }
}

/// Something the client did, for `--verbose` narration.
public enum DHCPEvent: Sendable, Equatable, CustomStringConvertible {
    /// A DISCOVER was broadcast (`attempt` counts transmissions of this xid, from 1).
    case discoverSent(transactionID: UInt32, attempt: Int)
    /// An OFFER was accepted; the REQUEST follows.
    case offerReceived(address: IPv4Address, server: IPv4Address)
    /// A REQUEST for an offered address was broadcast (SELECTING).
    case requestSent(address: IPv4Address, server: IPv4Address, attempt: Int)
    /// An ACK: the client is BOUND with this lease (new or extended).
    case ackReceived(DHCPLease)
    /// A NAK: the address is not the client's; back to INIT.
    case nakReceived(server: IPv4Address)
    /// T1: a REQUEST unicast to the lease's server (RENEWING).
    case renewSent(address: IPv4Address, server: IPv4Address)
    /// T2: a REQUEST broadcast to any server (REBINDING).
    case rebindSent(address: IPv4Address)
    /// The lease ran out: the address was removed; back to INIT.
    case leaseExpired(address: IPv4Address)
    /// The lease was given back (§4.4.6).
    case releaseSent(address: IPv4Address, server: IPv4Address)
    /// An ARP probe asks whether anyone already holds the offered address (RFC 2131 §4.4.1, RFC 5227).
    case probeSent(address: IPv4Address, attempt: Int)
    /// Someone answered for the address: it was declined, and a new DISCOVER follows after 10 s.
    case declineSent(address: IPv4Address, server: IPv4Address)
    /// A datagram on port 68 that was not an answer to this client (wrong xid, chaddr, op, type or server).
    case replyIgnored(reason: String)

    public var description: String {
        switch self {
        case let .discoverSent(xid, attempt):
            "DHCP: DISCOVER broadcast (xid 0x\(String(xid, radix: 16))\(attempt > 1 ? ", attempt \(attempt)" : ""))"
        case let .offerReceived(address, server): "DHCP: OFFER of \(address) from \(server)"
        case let .requestSent(address, server, attempt):
            "DHCP: REQUEST for \(address) to \(server)\(attempt > 1 ? ", attempt \(attempt)" : "")"
        case let .ackReceived(lease): "DHCP: ACK, bound to \(lease)"
        case let .nakReceived(server): "DHCP: NAK from \(server), starting over"
        case let .renewSent(address, server): "DHCP: renewing \(address) with \(server) (T1)"
        case let .rebindSent(address): "DHCP: rebinding \(address) with any server (T2)"
        case let .leaseExpired(address): "DHCP: lease of \(address) expired, address removed"
        case let .releaseSent(address, server): "DHCP: RELEASE of \(address) to \(server)"
        case let .probeSent(address, attempt): "DHCP: ARP probe for \(address) (try \(attempt)): is it in use?"
        case let .declineSent(address, server): "DHCP: \(address) is in use on the link; DECLINE sent to \(server)"
        case let .replyIgnored(reason): "DHCP: ignored a reply: \(reason)"
        }
    }
}

/// A DHCPv4 client for one Ethernet interface (RFC 2131 §4.4).
///
/// INIT → SELECTING (DISCOVER, retransmitted after 4, 8, 16, 32, 64, 64 … s, each ±1 s,
/// §4.1) → REQUESTING (REQUEST broadcast, same backoff; four unanswered go back to INIT)
/// → BOUND → RENEWING at T1 (REQUEST unicast to the server) → REBINDING at T2 (broadcast)
/// → expiry: the address goes, and INIT again. A NAK goes back to INIT. `release`
/// sends RELEASE and stops. Value type; every call is O(message) and allocates only
/// the messages it returns.
public struct DHCPClient: Sendable {
    /// RFC 2131 figure 5's states (INIT-REBOOT and REBOOTING are not used: every start is from INIT),
    /// `checking` while ARP probes ask whether an acknowledged address is free (§4.4.1), and
    /// `released` after ``release(now:)``.
    public enum State: Sendable, Equatable {
        case initial, selecting, requesting, checking, bound, renewing, rebinding, released
    }

    /// What the driver must do, in order.
    public enum Action: Sendable, Equatable {
        /// Send `message` from port 68 to `destination` port 67 (255.255.255.255 or the server).
        case send(DHCPMessage, to: IPv4Address)
        /// Configure the lease's address, route and DNS servers (a new lease, or a renewed one
        /// that changed); replaces any previous lease.
        case configure(DHCPLease)
        /// Remove the lease's address and what came with it.
        case deconfigure(DHCPLease)
        /// Broadcast an ARP probe for `address` (sender address 0.0.0.0, RFC 5227 §2.1.1) and report,
        /// through ``addressConflict(_:now:)``, any ARP packet from another station that claims it.
        case probe(IPv4Address)
        case event(DHCPEvent)
    }

    /// The interface's hardware address: chaddr, and the client identifier (option 61: 1 + MAC).
    public let mac: MACAddress
    /// Option 12 sent in DISCOVER and REQUEST, when set.
    public var hostName: String?
    public private(set) var state = State.initial
    /// The lease in use (BOUND, RENEWING, REBINDING).
    public private(set) var lease: DHCPLease?
    /// Replies dropped by validation (wrong xid, chaddr, op, message type, server id).
    public private(set) var ignoredReplies = 0
    /// When `poll` must run next; nil in INIT (before `start`) and after `release`.
    public private(set) var nextDeadline: Instant?

    private var random: UInt64
    private var transactionID: UInt32 = 0
    /// Transmissions of the current message, from 1.
    private var attempt = 0
    /// When this acquisition or renewal began: the `secs` field counts from here.
    private var startedAt = Instant.zero
    /// The OFFER being requested (REQUESTING).
    private var offered: (address: IPv4Address, server: IPv4Address)?
    /// The acknowledged lease being checked with ARP probes (CHECKING), and the probes sent.
    private var checked: DHCPLease?
    private var probesSent = 0

    /// Parameters asked for in option 55: mask, router, DNS, lease, T1, T2.
    public static let requestedParameters: [UInt8] = [1, 3, 6, 51, 58, 59]
    /// REQUESTs sent in REQUESTING before going back to INIT.
    public static let maximumRequests = 4
    /// ARP probes for a new address, one a second, then a second of listening (RFC 5227's
    /// PROBE_NUM is 3; two keep acquisition at about two seconds, as common clients do).
    public static let probes = 2
    /// After a DECLINE, the wait before the next DISCOVER (RFC 2131 §3.1 step 5: at least 10 s).
    public static let declineBackoff = Duration.seconds(10)
    /// RFC 2131 §4.4.5: in RENEWING and REBINDING, retransmit no sooner than 60 s.
    public static let minimumRenewalRetransmission = Duration.seconds(60)

    /// A client for the interface with `mac`; `seed` draws the transaction IDs and the
    /// retransmission jitter (pass OS randomness in production, a constant in tests).
    public init(mac: MACAddress, seed: UInt64, hostName: String? = nil) {
        self.mac = mac
        self.random = seed
        self.hostName = hostName
    }

    // MARK: Inputs

    /// INIT → SELECTING: broadcasts the first DISCOVER.
    public mutating func start(now: Instant) -> [Action] {
        guard state == .initial || state == .released else { return [] }
        return restart(now: now)
    }

    /// A DHCP message arrived on port 68 (already parsed). Anything that is not
    /// this client's answer in its current state is counted in `ignoredReplies`.
    public mutating func receive(_ message: DHCPMessage, now: Instant) -> [Action] {
        if let reason = rejection(of: message) {
            ignoredReplies += 1
            return [.event(.replyIgnored(reason: reason))]
        }
        let server = message.serverIdentifier ?? .any
        switch (state, message.messageType) {
        case (.selecting, .offer?):
            // §4.4.1: the client may wait for several offers; the first acceptable one is taken.
            offered = (message.yourAddress, server)
            state = .requesting
            attempt = 0
            return [.event(.offerReceived(address: message.yourAddress, server: server))] + sendRequest(now: now)
        case (.requesting, .ack?), (.renewing, .ack?), (.rebinding, .ack?):
            guard let lease = makeLease(message, now: now) else {
                ignoredReplies += 1
                return [.event(.replyIgnored(reason: "ACK without a lease time or address"))]
            }
            if state == .requesting, self.lease?.address != lease.address {
                // §4.4.1: a new address is checked before it is used.
                state = .checking
                checked = lease
                probesSent = 0
                return [.event(.ackReceived(lease))] + sendProbe(now: now)
            }
            let changed = self.lease.map { $0.address != lease.address || $0.prefixLength != lease.prefixLength
                || $0.routers != lease.routers || $0.dnsServers != lease.dnsServers } ?? true
            var actions: [Action] = []
            if changed, let old = self.lease, old.address != lease.address { actions.append(.deconfigure(old)) }
            self.lease = lease
            state = .bound
            offered = nil
            nextDeadline = lease.renewAt ?? lease.expiresAt
            actions.append(.event(.ackReceived(lease)))
            if changed { actions.append(.configure(lease)) }
            return actions
        case (.requesting, .nak?), (.renewing, .nak?), (.rebinding, .nak?):
            // §4.4.1/§4.4.5: a NAK means the address is not ours: drop it and start over.
            var actions: [Action] = [.event(.nakReceived(server: server))]
            if let lease { actions.append(.deconfigure(lease)) }
            lease = nil
            return actions + restart(now: now)
        default:
            ignoredReplies += 1
            return [.event(.replyIgnored(reason: "\(message.messageType.map { "\($0)" } ?? "no type") in \(state)"))]
        }
    }

    /// Runs the timers due at `now`: retransmissions, T1, T2, expiry.
    public mutating func poll(now: Instant) -> [Action] {
        guard let deadline = nextDeadline, deadline <= now else { return [] }
        switch state {
        case .selecting: return sendDiscover(now: now)
        case .checking:
            guard let checked else { return restart(now: now) }
            if probesSent < Self.probes { return sendProbe(now: now) }
            // No one answered: the address is ours.
            return bind(checked, changed: true, now: now)
        case .requesting:
            if attempt >= Self.maximumRequests { return restart(now: now) }
            return sendRequest(now: now)
        case .bound, .renewing, .rebinding:
            guard let lease else { return restart(now: now) }
            if let expiry = lease.expiresAt, now >= expiry {
                self.lease = nil
                return [.event(.leaseExpired(address: lease.address)), .deconfigure(lease)] + restart(now: now)
            }
            if let rebind = lease.rebindAt, now >= rebind {
                if state != .rebinding {
                    state = .rebinding
                    startedAt = now
                    transactionID = nextTransactionID()
                }
                return sendRenewal(lease, broadcast: true, now: now)
            }
            if state == .bound {
                state = .renewing
                startedAt = now
                transactionID = nextTransactionID()
            }
            return sendRenewal(lease, broadcast: false, now: now)
        case .initial, .released:
            nextDeadline = nil
            return []
        }
    }

    /// Gives the lease back (§4.4.6): RELEASE unicast to the server, the address
    /// removed; the client then stays quiet until `start`. Nothing to send without a lease.
    public mutating func release(now: Instant) -> [Action] {
        defer {
            state = .released
            nextDeadline = nil
            lease = nil
        }
        guard let lease else { return [] }
        var message = baseMessage(.release, now: now)
        transactionID = nextTransactionID()
        message.transactionID = transactionID
        message.seconds = 0
        message.clientAddress = lease.address
        message.serverIdentifier = lease.server
        message.parameterRequestList = []
        message.hostName = nil
        return [.send(message, to: lease.server), .event(.releaseSent(address: lease.address, server: lease.server)),
                .deconfigure(lease)]
    }

    /// An ARP packet from another station claims `address` (a reply or request with it as the
    /// sender, or another probe for it). In CHECKING, for the address being checked: DECLINE it
    /// (§4.4.1) and start over after ``declineBackoff``. Otherwise nothing.
    public mutating func addressConflict(_ address: IPv4Address, now: Instant) -> [Action] {
        guard state == .checking, let checked, checked.address == address else { return [] }
        var message = baseMessage(.decline, now: now)
        message.requestedAddress = address
        message.serverIdentifier = checked.server
        message.parameterRequestList = []
        message.hostName = nil
        self.checked = nil
        state = .selecting
        offered = nil
        attempt = 0
        nextDeadline = now + Self.declineBackoff
        return [.send(message, to: .broadcast), .event(.declineSent(address: address, server: checked.server))]
    }

    /// The address being checked with ARP probes, if any.
    public var addressBeingChecked: IPv4Address? { state == .checking ? checked?.address : nil }

    private mutating func sendProbe(now: Instant) -> [Action] {
        guard let checked else { return [] }
        probesSent += 1
        nextDeadline = now + .seconds(1)
        return [.probe(checked.address), .event(.probeSent(address: checked.address, attempt: probesSent))]
    }

    /// BOUND with `lease`: renewal timers set, the lease configured when it is new or changed.
    private mutating func bind(_ lease: DHCPLease, changed: Bool, now: Instant) -> [Action] {
        var actions: [Action] = []
        if changed, let old = self.lease, old.address != lease.address { actions.append(.deconfigure(old)) }
        self.lease = lease
        checked = nil
        state = .bound
        offered = nil
        nextDeadline = lease.renewAt ?? lease.expiresAt
        if changed { actions.append(.configure(lease)) }
        return actions
    }

    // MARK: Validation

    /// Why `message` is not for this client now; nil when it is (§4.1: xid and chaddr match, op BOOTREPLY,
    /// a message type, a server identifier, and in REQUESTING/RENEWING the server asked).
    private func rejection(of message: DHCPMessage) -> String? {
        guard message.op == DHCPMessage.bootReply else { return "op \(message.op) is not BOOTREPLY" }
        guard [.selecting, .requesting, .renewing, .rebinding].contains(state) else { return "not waiting (\(state))" }
        guard message.transactionID == transactionID else {
            return "xid 0x\(String(message.transactionID, radix: 16)) is not ours"
        }
        guard message.clientMAC == mac else { return "chaddr \(message.clientMAC) is not ours" }
        guard let type = message.messageType else { return "no DHCP message type" }
        guard [.offer, .ack, .nak].contains(type) else { return "\(type) is not a server's reply" }
        guard let server = message.serverIdentifier else { return "\(type) without a server identifier" }
        if state == .requesting, let offered, server != offered.server { return "\(type) from \(server), not the server asked" }
        if state == .renewing, let lease, server != lease.server { return "\(type) from \(server), not the server asked" }
        if type != .nak, message.yourAddress == .any || message.yourAddress.isLimitedBroadcast || message.yourAddress.isMulticast {
            return "\(type) offers no usable address (\(message.yourAddress))"
        }
        return nil
    }

    private func makeLease(_ ack: DHCPMessage, now: Instant) -> DHCPLease? {
        guard let seconds = ack.leaseTime, let server = ack.serverIdentifier else { return nil }
        let infinite = seconds == .max
        let mask = ack.subnetMask?.rawValue ?? 0xFFFF_FF00
        // A mask must be contiguous ones; anything else falls back to /24.
        let prefix = (~mask &+ 1) & ~mask == 0 && mask != 0 ? mask.nonzeroBitCount : 24
        let t1 = ack.renewalTime.map { Double($0) } ?? Double(seconds) * 0.5
        let t2 = ack.rebindingTime.map { Double($0) } ?? Double(seconds) * 0.875
        func at(_ seconds: Double) -> Instant { now + .milliseconds(Int64(seconds * 1000)) }
        return DHCPLease(address: ack.yourAddress, prefixLength: prefix, routers: ack.routers, dnsServers: ack.dnsServers,
                         server: server, leaseTime: infinite ? nil : seconds, acquired: now,
                         renewAt: infinite ? nil : at(min(t1, Double(seconds))),
                         rebindAt: infinite ? nil : at(min(t2, Double(seconds))),
                         expiresAt: infinite ? nil : at(Double(seconds)))
    }

    // MARK: Sending

    private mutating func restart(now: Instant) -> [Action] {
        state = .selecting
        offered = nil
        attempt = 0
        startedAt = now
        transactionID = nextTransactionID()
        return sendDiscover(now: now)
    }

    private mutating func sendDiscover(now: Instant) -> [Action] {
        attempt += 1
        var message = baseMessage(.discover, now: now)
        message.broadcast = true
        nextDeadline = now + retransmissionDelay(attempt: attempt)
        return [.send(message, to: .broadcast), .event(.discoverSent(transactionID: transactionID, attempt: attempt))]
    }

    private mutating func sendRequest(now: Instant) -> [Action] {
        guard let offered else { return restart(now: now) }
        attempt += 1
        var message = baseMessage(.request, now: now)
        message.broadcast = true
        // §4.3.2 SELECTING: ciaddr zero, requested address and server identifier filled in.
        message.requestedAddress = offered.address
        message.serverIdentifier = offered.server
        nextDeadline = now + retransmissionDelay(attempt: attempt)
        return [.send(message, to: .broadcast),
                .event(.requestSent(address: offered.address, server: offered.server, attempt: attempt))]
    }

    /// §4.3.2 RENEWING/REBINDING: ciaddr is ours, no requested address or server identifier;
    /// the next try after half the time left until T2 (or the expiry), at least 60 s (§4.4.5).
    private mutating func sendRenewal(_ lease: DHCPLease, broadcast: Bool, now: Instant) -> [Action] {
        var message = baseMessage(.request, now: now)
        message.clientAddress = lease.address
        let limit = (broadcast ? lease.expiresAt : lease.rebindAt) ?? now
        let half = Duration.nanoseconds(max(0, (limit.nanoseconds - now.nanoseconds) / 2))
        let retry = now + max(half, Self.minimumRenewalRetransmission)
        nextDeadline = min(retry, limit)
        if broadcast {
            return [.send(message, to: .broadcast), .event(.rebindSent(address: lease.address))]
        }
        return [.send(message, to: lease.server), .event(.renewSent(address: lease.address, server: lease.server))]
    }

    private func baseMessage(_ type: DHCPMessageType, now: Instant) -> DHCPMessage {
        var message = DHCPMessage(op: DHCPMessage.bootRequest, transactionID: transactionID, clientMAC: mac)
        let elapsed = max(0, (now.nanoseconds - startedAt.nanoseconds) / 1_000_000_000)
        message.seconds = UInt16(min(elapsed, Int64(UInt16.max)))
        message.messageType = type
        message.clientIdentifier = [1] + mac.octets
        message.parameterRequestList = Self.requestedParameters
        if let hostName { message.hostName = hostName }
        return message
    }

    /// §4.1: 4 s before the second transmission, doubling up to 64 s, each randomized by
    /// a uniform -1 … +1 s.
    private mutating func retransmissionDelay(attempt: Int) -> Duration {
        let base = Int64(4) << Int64(min(attempt - 1, 4))
        let jitter = Int64(splitMix64(&random) % 2_001) - 1_000
        return .milliseconds(base * 1_000 + jitter)
    }

    private mutating func nextTransactionID() -> UInt32 { UInt32(truncatingIfNeeded: splitMix64(&random)) }
}
