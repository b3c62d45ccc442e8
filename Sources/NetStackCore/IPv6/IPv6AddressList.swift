// One interface's IPv6 addresses: their states and lifetimes, duplicate address detection, and
// stateless autoconfiguration from router advertisements. RFCs to read: RFC 4862 §5.3 (the
// link-local address), §5.4 (DAD; §5.4.5 when it fails), §5.5.3 (a Prefix Information option,
// with the two-hour rule of e)), §5.5.4 (deprecation); RFC 7217 §6 (retrying with DAD_Counter+1);
// RFC 4861 §10 (MAX_RTR_SOLICITATION_DELAY, RETRANS_TIMER).

public import NetStackWire

/// Duplicate address detection and address limits.
public struct IPv6AddressConfig: Sendable {
    /// Neighbour solicitations sent before a tentative address is taken (DupAddrDetectTransmits,
    /// RFC 4862 §5.1); 0 turns DAD off (the address is preferred at once).
    public var dupAddrDetectTransmits = 1
    /// Time between DAD solicitations, and after the last one before the address is taken
    /// (RetransTimer, RFC 4861 §10).
    public var retransTimer: Duration = .seconds(1)
    /// The first DAD solicitation waits a random delay up to this (MAX_RTR_SOLICITATION_DELAY,
    /// RFC 4862 §5.4.2), so hosts starting together do not collide.
    public var maxFirstSolicitationDelay: Duration = .seconds(1)
    /// Addresses an interface holds at most (Linux's max_addresses: 16). Router advertisements
    /// with more prefixes than this form no more addresses.
    public var maxAddresses = 16

    /// RFC 4862's defaults and Linux's bound, as listed above.
    public init() {}
}

/// One address of an interface.
public struct IPv6InterfaceAddress: Sendable, Equatable {
    /// RFC 4862's address states, plus the duplicate one DAD leaves behind (§5.4.5).
    public enum State: Sendable, Equatable {
        /// DAD is running: the address may not be used, and packets to it are not accepted
        /// (except the NS and NA of DAD itself).
        case tentative
        /// Usable for any communication.
        case preferred
        /// Still valid, but not to be used as the source of new communications (§5.5.4).
        case deprecated
        /// DAD found another node using it: never to be used (§5.4.5).
        case duplicate
    }

    /// How the address came to be.
    public enum Origin: Sendable, Equatable {
        /// Configured by hand (`--address 2001:db8::2/64`).
        case manual
        /// The link-local address formed at start (RFC 4862 §5.3).
        case linkLocal
        /// Formed by SLAAC from a router-advertised prefix (§5.5.3).
        case autoconfigured
    }

    /// The address itself.
    public var address: IPv6Address
    /// The length of its on-link prefix (64 for SLAAC and link-local addresses).
    public var prefixLength: Int
    /// Where DAD and the lifetimes have brought it.
    public var state: State
    /// How it came to be.
    public var origin: Origin
    /// When the address becomes invalid and is removed; nil for ever (0xFFFFFFFF).
    public var validUntil: Instant?
    /// When the address becomes deprecated; nil for ever.
    public var preferredUntil: Instant?
    /// RFC 7217's DAD_Counter the address was formed with (0 for addresses not formed by it).
    public var dadCounter = 0
    /// DAD solicitations still to send.
    var dadSolicitationsLeft = 0
    /// When the next DAD step is due: a solicitation, or the end of DAD.
    var dadDeadline: Instant?

    /// The network the address belongs to.
    public var network: IPv6Network { IPv6Network(address: address, prefixLength: prefixLength) }
}

/// What the address list asks the host to do, or tells it happened.
public enum IPv6AddressEvent: Sendable, Equatable {
    /// Send a DAD neighbour solicitation for `address`: source ::, destination its
    /// solicited-node group (which the host joins first, RFC 4862 §5.4.2), target `address`.
    case sendDADSolicitation(IPv6Address)
    /// DAD passed, or the preferred lifetime was renewed: the address may be used.
    case becamePreferred(IPv6Address)
    /// The preferred lifetime ran out: keep it for existing connections, not new ones.
    case becameDeprecated(IPv6Address)
    /// The valid lifetime ran out: the address is gone (leave its solicited-node group).
    case removed(IPv6Address)
    /// DAD failed: the address is not assigned (§5.4.5; log it, as Linux does).
    case duplicate(IPv6Address)
    /// A new SLAAC address was made (tentative): DAD for it follows as `sendDADSolicitation`.
    case added(IPv6Address)
}

/// The IPv6 addresses of one interface, with DAD and SLAAC (RFC 4862).
///
/// Time and randomness are passed in: `now`, and `random` in 0..<1 for the delay before the
/// first DAD solicitation. ``due(now:)`` reports what became due. An interface holds a handful
/// of addresses (at most ``IPv6AddressConfig/maxAddresses``), so every call scans them: O(n)
/// with small n, no heap. Nothing here is on the per-packet path except ``state(of:)``.
public struct IPv6AddressList: Sendable {
    /// DAD timing and the address bound.
    public var config: IPv6AddressConfig
    /// The interface identifier generator for SLAAC and link-local addresses, and its inputs.
    public let identifiers: StableInterfaceIdentifier
    /// RFC 7217's Net_Iface (the MAC address's bytes, say) and Network_ID (empty if none).
    public let netIface: [UInt8]
    /// RFC 7217's Network_ID.
    public let networkID: [UInt8]
    /// The addresses, in the order they were added (a DAD retry takes its predecessor's place).
    public private(set) var addresses: [IPv6InterfaceAddress] = []
    /// Addresses not added because ``IPv6AddressConfig/maxAddresses`` were held.
    public private(set) var addressesRefused = 0

    /// An empty list whose SLAAC and link-local addresses use `identifiers` with `netIface`
    /// (the interface's MAC address bytes, say) and `networkID`.
    public init(config: IPv6AddressConfig = IPv6AddressConfig(), identifiers: StableInterfaceIdentifier,
                netIface: [UInt8], networkID: [UInt8] = []) {
        self.config = config
        self.identifiers = identifiers
        self.netIface = netIface
        self.networkID = networkID
    }

    /// The state of `address` on this interface, nil if it is not one of its addresses. O(n).
    public func state(of address: IPv6Address) -> IPv6InterfaceAddress.State? {
        addresses.first { $0.address == address }?.state
    }

    /// Addresses usable as a source for new communications (preferred ones). O(n).
    public var preferredAddresses: [IPv6InterfaceAddress] { addresses.filter { $0.state == .preferred } }

    /// The earliest DAD step or lifetime end, nil when nothing is pending. O(n).
    public var nextDeadline: Instant? {
        // No array of candidates: the host asks for this after every poll.
        var next: Instant?
        for entry in addresses {
            next = earliest(next, entry.dadDeadline)
            if entry.state == .preferred { next = earliest(next, entry.preferredUntil) }
            next = earliest(next, entry.validUntil)
        }
        return next
    }

    // MARK: Adding addresses

    /// Adds `address` as tentative (RFC 4862 §5.4): its first DAD solicitation goes out after a
    /// random delay (`random` × MAX_RTR_SOLICITATION_DELAY), or it is preferred at once when DAD
    /// is off. Lifetimes nil mean for ever. Returns false, adding nothing, if the address is
    /// already there or the list is full. O(n).
    @discardableResult
    public mutating func add(_ address: IPv6Address, prefixLength: Int, origin: IPv6InterfaceAddress.Origin = .manual,
                             validLifetime: Duration? = nil, preferredLifetime: Duration? = nil,
                             dadCounter: Int = 0, now: Instant, random: Double) -> Bool {
        guard !addresses.contains(where: { $0.address == address }) else { return false }
        guard addresses.count < config.maxAddresses else {
            addressesRefused += 1
            return false
        }
        addresses.append(tentative(address, prefixLength: prefixLength, origin: origin, validLifetime: validLifetime,
                                   preferredLifetime: preferredLifetime, dadCounter: dadCounter, now: now,
                                   random: random))
        return true
    }

    /// A new address starting DAD (or preferred at once when DAD is off).
    private func tentative(_ address: IPv6Address, prefixLength: Int, origin: IPv6InterfaceAddress.Origin,
                           validLifetime: Duration?, preferredLifetime: Duration?, dadCounter: Int,
                           now: Instant, random: Double) -> IPv6InterfaceAddress {
        var entry = IPv6InterfaceAddress(address: address, prefixLength: prefixLength, state: .tentative, origin: origin,
                                         validUntil: validLifetime.map { now + $0 },
                                         preferredUntil: preferredLifetime.map { now + $0 }, dadCounter: dadCounter)
        if config.dupAddrDetectTransmits > 0 {
            entry.dadSolicitationsLeft = config.dupAddrDetectTransmits
            entry.dadDeadline = now + config.maxFirstSolicitationDelay * min(max(random, 0), 1)
        } else {
            entry.state = preferredLifetime == .zero ? .deprecated : .preferred
        }
        return entry
    }

    /// Forms and adds the link-local address fe80::/64 + RFC 7217 identifier (RFC 4862 §5.3),
    /// tentative. Returns it, or nil if the list is full. One SHA-256.
    @discardableResult
    public mutating func addLinkLocal(now: Instant, random: Double) -> IPv6Address? {
        let prefix = IPv6Network(address: IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 0), prefixLength: 64)
        let (address, counter) = identifiers.address(prefix: prefix, netIface: netIface, networkID: networkID,
                                                     dadCounter: 0)
        return add(address, prefixLength: 64, origin: .linkLocal, dadCounter: counter, now: now, random: random)
            ? address : nil
    }

    // MARK: Router advertisements (RFC 4862 §5.5.3)

    /// Applies a Prefix Information option from a router advertisement: ignored without the A
    /// flag, for a link-local prefix, or when the preferred lifetime exceeds the valid one.
    /// A new prefix of length 64 with a non-zero valid lifetime forms a tentative address
    /// (RFC 7217 identifier; `random` for its DAD delay). A known prefix gets its preferred
    /// lifetime reset and its valid lifetime by the two-hour rule of §5.5.3 e). Returns what
    /// changed at once (an address added or made preferred or deprecated again). O(n) and, for
    /// a new address, one SHA-256.
    public mutating func applyPrefixInformation(_ option: NDPPrefixInformation, now: Instant,
                                                random: Double) -> [IPv6AddressEvent] {
        let network = option.network
        guard option.autonomous, !network.address.isLinkLocal,
              option.preferredLifetime <= option.validLifetime else { return [] }
        let valid = Self.lifetime(option.validLifetime)
        let preferred = Self.lifetime(option.preferredLifetime)
        if let index = addresses.firstIndex(where: { $0.origin == .autoconfigured && $0.network == network }) {
            return update(at: index, valid: valid, preferred: preferred, now: now)
        }
        // Interface identifiers are 64 bits on Ethernet (RFC 4862 §5.5.3 d), RFC 2464 §4).
        guard option.validLifetime != 0, network.prefixLength == 64 else { return [] }
        let (address, counter) = identifiers.address(prefix: network, netIface: netIface, networkID: networkID,
                                                     dadCounter: 0)
        guard add(address, prefixLength: 64, origin: .autoconfigured, validLifetime: valid,
                  preferredLifetime: preferred, dadCounter: counter, now: now, random: random) else { return [] }
        return [.added(address)]
    }

    /// Seconds as a lifetime: 0xFFFFFFFF is infinity (nil).
    static func lifetime(_ seconds: UInt32) -> Duration? { seconds == .max ? nil : .seconds(Int(seconds)) }

    /// §5.5.3 e) for the SLAAC address at `index`.
    private mutating func update(at index: Int, valid: Duration?, preferred: Duration?,
                                 now: Instant) -> [IPv6AddressEvent] {
        var entry = addresses[index]
        entry.preferredUntil = preferred.map { now + $0 }
        let twoHours = Duration.seconds(7200)
        let remaining = entry.validUntil.map { $0 - now }  // nil: infinite
        let greaterThanRemaining = remaining.map { valid == nil || valid! > $0 } ?? false
        if valid == nil || valid! > twoHours || greaterThanRemaining {
            entry.validUntil = valid.map { now + $0 }  // 1. a long or a longer lifetime is taken as is
        } else if let remaining, remaining <= twoHours {
            // 2. two hours or less left: a shorter lifetime is ignored (it could be spoofed)
        } else {
            entry.validUntil = now + twoHours  // 3. otherwise no lower than two hours
        }
        var events: [IPv6AddressEvent] = []
        if entry.state == .deprecated, preferred != .zero {
            entry.state = .preferred
            events.append(.becamePreferred(entry.address))
        } else if entry.state == .preferred, preferred == .zero {
            entry.state = .deprecated
            events.append(.becameDeprecated(entry.address))
        }
        addresses[index] = entry
        return events
    }

    // MARK: Duplicate address detection (RFC 4862 §5.4)

    /// DAD found `address` in use: a neighbour solicitation for it from :: (another node's DAD,
    /// §5.4.3) or an advertisement for it (§5.4.4) arrived while it was tentative. (The host
    /// first drops its own solicitations looped back, RFC 7527's nonce.) A SLAAC or link-local
    /// address is replaced by one formed with DAD_Counter + 1 while RFC 7217's IDGEN_RETRIES
    /// allow (§6); otherwise it stays, marked duplicate, until its valid lifetime ends (so
    /// further RAs for its prefix do not start DAD again). Addresses that are not tentative are
    /// left alone. O(n), one SHA-256 for a retry.
    public mutating func duplicateDetected(_ address: IPv6Address, now: Instant,
                                           random: Double) -> [IPv6AddressEvent] {
        guard let index = addresses.firstIndex(where: { $0.address == address && $0.state == .tentative }) else {
            return []
        }
        let old = addresses[index]
        guard old.origin != .manual, old.dadCounter < StableInterfaceIdentifier.idgenRetries else {
            addresses[index].state = .duplicate
            addresses[index].dadDeadline = nil
            addresses[index].dadSolicitationsLeft = 0
            return [.duplicate(address)]
        }
        let prefix = IPv6Network(address: old.address.masked(by: .mask(prefixLength: 64)), prefixLength: 64)
        let (retry, counter) = identifiers.address(prefix: prefix, netIface: netIface, networkID: networkID,
                                                   dadCounter: old.dadCounter + 1)
        addresses[index] = tentative(retry, prefixLength: old.prefixLength, origin: old.origin,
                                     validLifetime: old.validUntil.map { $0 - now },
                                     preferredLifetime: old.preferredUntil.map { max($0 - now, .zero) },
                                     dadCounter: counter, now: now, random: random)
        return [.duplicate(address), .added(retry)]
    }

    // MARK: Timers

    /// What is due by `now`, in address order: DAD solicitations to send, DAD completions
    /// (preferred, or deprecated if its preferred lifetime is already over), deprecations, and
    /// removals when the valid lifetime ends (duplicate addresses included). O(n).
    public mutating func due(now: Instant) -> [IPv6AddressEvent] {
        var events: [IPv6AddressEvent] = []
        var index = 0
        while index < addresses.count {
            var entry = addresses[index]
            if let validUntil = entry.validUntil, validUntil <= now {
                addresses.remove(at: index)
                events.append(.removed(entry.address))
                continue
            }
            if entry.state == .tentative, let deadline = entry.dadDeadline, deadline <= now {
                if entry.dadSolicitationsLeft > 0 {
                    entry.dadSolicitationsLeft -= 1
                    entry.dadDeadline = now + config.retransTimer
                    events.append(.sendDADSolicitation(entry.address))
                } else {
                    entry.dadDeadline = nil
                    entry.state = .preferred
                    events.append(.becamePreferred(entry.address))
                }
            }
            if entry.state == .preferred, let preferredUntil = entry.preferredUntil, preferredUntil <= now {
                entry.state = .deprecated
                if events.last == .becamePreferred(entry.address) { events.removeLast() }
                events.append(.becameDeprecated(entry.address))
            }
            addresses[index] = entry
            index += 1
        }
        return events
    }
}
