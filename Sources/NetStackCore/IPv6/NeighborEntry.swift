// The values around the IPv6 neighbour cache (NeighborCache.swift): its configuration (RFC 4861
// §10's constants, Linux's bounds), its key and rows, and what its calls hand back to the host.

public import NetStackWire

/// Neighbour discovery timing and limits (RFC 4861 §10, Linux's neighbour table defaults for the bounds).
public struct NeighborConfig: Sendable {
    /// Multicast solicitations sent for an address before giving up (MAX_MULTICAST_SOLICIT).
    public var maxMulticastSolicit = 3
    /// Unicast probes sent to a cached address before giving up (MAX_UNICAST_SOLICIT).
    public var maxUnicastSolicit = 3
    /// BaseReachableTime (REACHABLE_TIME): an RA's Reachable Time replaces it. The
    /// ReachableTime actually used is this times a random factor in 0.5…1.5 (§6.3.2).
    public var baseReachableTime: Duration = .seconds(30)
    /// Time between solicitations, and between probes (RETRANS_TIMER); an RA's Retrans Timer replaces it.
    public var retransTimer: Duration = .seconds(1)
    /// Time in DELAY before the first unicast probe (DELAY_FIRST_PROBE_TIME).
    public var delayFirstProbeTime: Duration = .seconds(5)
    /// Entries held at most (Linux's gc_thresh3: 1024). A new entry beyond it evicts
    /// one: never a permanent entry; first one learned but never used, then the least
    /// recently confirmed, and an unresolved one (with its waiting packets) last.
    public var maxEntries = 1024
    /// Above this many entries, STALE entries untouched for ``NeighborConfig/staleLifetime`` are
    /// removed (Linux's gc_thresh1: 128).
    public var garbageCollectionThreshold = 128
    /// How long a STALE entry may sit unused before garbage collection (Linux's gc_staletime: 60 s).
    public var staleLifetime: Duration = .seconds(60)
    /// Bytes of datagrams held for one unresolved address; older ones are dropped
    /// first (Linux's unres_qlen_bytes: 212 992, room for a 64 KiB datagram's fragments).
    public var pendingBytesPerAddress = 212_992
    /// Bytes of datagrams held for all unresolved addresses together.
    public var pendingBytesTotal = 1 << 20

    /// RFC 4861's defaults and Linux's bounds, as listed above.
    public init() {}
}

/// Which neighbour: an address on an interface (link-local addresses repeat across links).
public struct NeighborKey: Hashable, Comparable, Sendable {
    /// The neighbour's IPv6 address.
    public var address: IPv6Address
    /// The interface it is on.
    public var interface: InterfaceID

    /// The key for `address` on `interface`.
    public init(_ address: IPv6Address, on interface: InterfaceID) {
        self.address = address
        self.interface = interface
    }

    /// By address, then interface: the order `netstack neigh` lists entries in.
    public static func < (a: NeighborKey, b: NeighborKey) -> Bool {
        (a.address, a.interface) < (b.address, b.interface)
    }
}

/// One row of the neighbour cache.
public struct NeighborEntry: Sendable, Equatable {
    /// RFC 4861 §7.3.2's reachability states, plus PERMANENT for entries set by hand.
    public enum State: String, Sendable, Equatable {
        /// Multicast solicitations are out; packets wait in the pending queue.
        case incomplete = "INCOMPLETE"
        /// Confirmed reachable less than ReachableTime ago.
        case reachable = "REACHABLE"
        /// Not known reachable; nothing is done until a packet is sent to it.
        case stale = "STALE"
        /// A packet went out while STALE; waiting for an upper layer to confirm before probing.
        case delay = "DELAY"
        /// Unicast solicitations are out to the cached link-layer address.
        case probe = "PROBE"
        /// Configured by hand; never probed nor expired (`ip -6 neigh`'s PERMANENT).
        case permanent = "PERMANENT"
    }

    /// Which neighbour.
    public var key: NeighborKey
    /// The neighbour's MAC address; nil while INCOMPLETE.
    public var linkAddress: MACAddress?
    /// Where neighbour unreachability detection stands.
    public var state: State
    /// The IsRouter flag (§7.2.5): the neighbour said it is a router (`ip -6 neigh`'s `router`).
    public var isRouter = false
    /// Solicitations or probes sent in the present INCOMPLETE or PROBE state.
    public var solicitationsSent = 0
    /// When the entry last entered its state, or was last confirmed.
    public var since: Instant
    /// Set once a packet has been sent with this entry: used entries are evicted after unused ones.
    var used = false

    /// The line `ip -6 neigh` prints for it, given the interface's name:
    /// `2001:db8::1 dev eth0 lladdr 02:00:00:00:00:01 router REACHABLE` (Linux ends the line
    /// with a space; not this).
    public func ipNeighLine(interfaceName: String) -> String {
        var line = "\(key.address) dev \(interfaceName)"
        if let linkAddress { line += " lladdr \(linkAddress)" }
        if isRouter { line += " router" }
        return line + " " + state.rawValue
    }
}

/// What the cache asks the host to do, from `NeighborCache.due(now:)`.
enum NeighborAction {
    /// Send a multicast neighbour solicitation for `key` to its solicited-node group
    /// (INCOMPLETE, attempt `attempt` of MAX_MULTICAST_SOLICIT).
    case multicastSolicitation(NeighborKey, attempt: Int)
    /// Send a unicast neighbour solicitation for `key` to `linkAddress` (PROBE, attempt `attempt`).
    case unicastProbe(NeighborKey, linkAddress: MACAddress, attempt: Int)
    /// Resolution or probing failed: the entry is gone. `waiting` are the packets that
    /// waited for it (ICMPv6 address unreachable, RFC 4443 §3.1 code 3, for forwarded ones).
    case unreachable(NeighborKey, waiting: [PendingPacket])
    /// A STALE entry was garbage-collected.
    case expired(NeighborKey)
}

/// What to do with a datagram for a neighbour, from `NeighborCache.resolve(_:now:forwarded:datagram:)`.
enum NeighborResolution {
    /// Send it now in a frame to `linkAddress`.
    case send(to: MACAddress)
    /// It waits for resolution. When `solicitNow`, send the first multicast solicitation
    /// (the entry is new); `dropped` are packets pushed out to keep the queue's bounds.
    case queued(solicitNow: Bool, dropped: [PendingPacket])
}

/// What a neighbour advertisement did (RFC 4861 §7.2.5).
struct NeighborAdvertisementOutcome {
    /// Packets that waited for the now-resolved address: send them.
    var waiting: [PendingPacket] = []
    /// The IsRouter flag went from true to false: the host must remove the neighbour from
    /// its default router list (and update destinations using it, §7.2.5 last paragraph).
    var stoppedBeingRouter = false
}
