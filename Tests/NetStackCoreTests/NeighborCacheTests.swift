// The IPv6 neighbour cache (RFC 4861 §7.2–§7.3): resolution, the NUD states with time passed
// in, the neighbour advertisement rules of §7.2.5, and the bounds under floods.

@testable import NetStackCore
import NetStackWire
import Testing

private let peer = NeighborKey(IPv6Address("2001:db8::1")!, on: InterfaceID(0))
private let macA = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
private let macB = MACAddress(0x02, 0, 0, 0, 0, 0x0B)

/// A cache with ReachableTime exactly 30 s (random 0.5 → factor 1.0).
private func makeCache(_ adjust: (inout NeighborConfig) -> Void = { _ in }) -> NeighborCache {
    var config = NeighborConfig()
    adjust(&config)
    return NeighborCache(config: config, random: 0.5)
}

private func seconds(_ s: Double) -> Instant { .seconds(s) }

/// A cache holding `peer` in `state` with link address `macA`, reached through the real transitions at t = 0.
private func cacheIn(_ state: NeighborEntry.State, isRouter: Bool = false) -> NeighborCache {
    var cache = makeCache()
    _ = cache.learn(macA, for: peer, isRouter: isRouter, now: .zero)  // STALE
    switch state {
    case .stale: break
    case .reachable: cache.confirmReachability(peer, now: .zero)
    case .delay: _ = cache.linkAddressForSending(to: peer, now: .zero)
    case .probe:
        _ = cache.linkAddressForSending(to: peer, now: .zero)
        _ = cache.due(now: seconds(5))
    case .incomplete:
        cache.remove(peer)
        _ = cache.enqueue([1, 2, 3], forwarded: false, for: peer, now: .zero)
    case .permanent: cache.addPermanent(peer, linkAddress: macA, isRouter: isRouter)
    }
    #expect(cache.entry(peer)?.state == state)
    return cache
}

@Suite("Neighbour cache: resolution and NUD states")
struct NeighborCacheStateTests {
    @Test("an unknown address queues the packet and asks for one multicast solicitation, only once")
    func unknownAddressQueuesAndSolicitsOnce() {
        var cache = makeCache()
        #expect(cache.linkAddressForSending(to: peer, now: .zero) == nil)
        let first = cache.enqueue([1, 2, 3], forwarded: false, for: peer, now: .zero)
        #expect(first.solicitNow && first.dropped.isEmpty)
        let second = cache.enqueue([4, 5], forwarded: true, for: peer, now: .milliseconds(10))
        #expect(!second.solicitNow)
        #expect(cache.entry(peer)?.state == .incomplete)
        #expect(cache.pendingBytes == 5)
    }

    @Test("resolve queues and solicits for an unknown address, and sends without building the datagram once resolved")
    func resolveInOneCall() {
        var cache = makeCache()
        guard case .queued(true, let dropped) = cache.resolve(peer, now: .zero, forwarded: false, datagram: { [1, 2] }),
              dropped.isEmpty else {
            Issue.record("first packet not queued with a solicitation"); return
        }
        guard case .queued(false, _) = cache.resolve(peer, now: .zero, forwarded: false, datagram: { [3] }) else {
            Issue.record("second packet not queued quietly"); return
        }
        let outcome = cache.advertisement(for: peer, targetLinkAddress: macA, router: false, solicited: true,
                                          override: true, now: .milliseconds(1))
        #expect(outcome.waiting.map(\.datagram) == [[1, 2], [3]])
        var built = false
        let result = cache.resolve(peer, now: .milliseconds(2), forwarded: false) {
            built = true
            return [4]
        }
        guard case .send(to: macA) = result else { Issue.record("not sent to the resolved address"); return }
        #expect(!built)
    }

    @Test("INCOMPLETE repeats the multicast solicitation every RetransTimer, then gives up with the waiting packets")
    func incompleteRetriesThenFails() {
        var cache = makeCache()
        _ = cache.enqueue([1, 2, 3], forwarded: true, for: peer, now: .zero)
        #expect(cache.due(now: .milliseconds(999)).isEmpty)
        guard case let .multicastSolicitation(key, 2)? = cache.due(now: seconds(1)).first else {
            Issue.record("no second solicitation at 1 s"); return
        }
        #expect(key == peer)
        guard case .multicastSolicitation(_, 3)? = cache.due(now: seconds(2)).first else {
            Issue.record("no third solicitation at 2 s"); return
        }
        let last = cache.due(now: seconds(3))
        guard case let .unreachable(failed, waiting)? = last.first else { Issue.record("no failure at 3 s"); return }
        #expect(failed == peer)
        #expect(waiting.map(\.datagram) == [[1, 2, 3]] && waiting.first?.forwarded == true)
        #expect(cache.entry(peer) == nil && cache.pendingBytes == 0)
    }

    @Test("a solicited advertisement resolves an INCOMPLETE entry to REACHABLE and hands back the queue")
    func solicitedAdvertisementResolves() {
        var cache = makeCache()
        _ = cache.enqueue([9], forwarded: false, for: peer, now: .zero)
        let outcome = cache.advertisement(for: peer, targetLinkAddress: macA, router: false, solicited: true,
                                          override: true, now: .milliseconds(5))
        #expect(outcome.waiting.map(\.datagram) == [[9]])
        #expect(cache.entry(peer)?.state == .reachable)
        #expect(cache.linkAddressForSending(to: peer, now: seconds(1)) == macA)
        #expect(cache.pendingBytes == 0)
    }

    @Test("REACHABLE turns STALE after ReachableTime; sending then goes through DELAY, PROBE and gives up")
    func reachableStaleDelayProbeFail() {
        var cache = cacheIn(.reachable)
        #expect(cache.due(now: seconds(29.9)).isEmpty)
        #expect(cache.entry(peer)?.state == .reachable)
        _ = cache.due(now: seconds(30))
        #expect(cache.entry(peer)?.state == .stale)
        #expect(cache.linkAddressForSending(to: peer, now: seconds(40)) == macA)
        #expect(cache.entry(peer)?.state == .delay)
        #expect(cache.due(now: seconds(44.9)).isEmpty)
        guard case let .unicastProbe(key, mac, 1)? = cache.due(now: seconds(45)).first else {
            Issue.record("no probe after DELAY_FIRST_PROBE_TIME"); return
        }
        #expect(key == peer && mac == macA && cache.entry(peer)?.state == .probe)
        guard case .unicastProbe(_, _, 2)? = cache.due(now: seconds(46)).first,
              case .unicastProbe(_, _, 3)? = cache.due(now: seconds(47)).first else {
            Issue.record("probes 2 and 3 missing"); return
        }
        guard case .unreachable(peer, let waiting)? = cache.due(now: seconds(48)).first else {
            Issue.record("no give-up after MAX_UNICAST_SOLICIT probes"); return
        }
        #expect(waiting.isEmpty && cache.entry(peer) == nil)
    }

    @Test("sending with a REACHABLE entry past ReachableTime moves it to DELAY even before due() ran")
    func lateReachableCountsAsStale() {
        var cache = cacheIn(.reachable)
        #expect(cache.linkAddressForSending(to: peer, now: seconds(31)) == macA)
        #expect(cache.entry(peer)?.state == .delay)
    }

    @Test("an upper-layer confirmation in DELAY returns to REACHABLE and no probe goes out")
    func confirmationInDelayAvoidsProbe() {
        var cache = cacheIn(.delay)
        cache.confirmReachability(peer, now: seconds(2))
        #expect(cache.entry(peer)?.state == .reachable)
        #expect(cache.due(now: seconds(5)).isEmpty)
        #expect(cache.entry(peer)?.state == .reachable)
    }

    @Test("a solicited advertisement during PROBE makes the entry REACHABLE and stops the probes")
    func advertisementEndsProbe() {
        var cache = cacheIn(.probe)
        _ = cache.advertisement(for: peer, targetLinkAddress: nil, router: false, solicited: true, override: false,
                                now: seconds(5.5))
        #expect(cache.entry(peer)?.state == .reachable)
        #expect(cache.due(now: seconds(8)).isEmpty)
    }

    @Test("ReachableTime is BaseReachableTime times 0.5…1.5 by the caller's random value, and an RA resets both timers")
    func reachableTimeRandomisedAndSetByRA() {
        #expect(NeighborCache(random: 0).reachableTime == .seconds(15))
        #expect(NeighborCache(random: 0.999_999).reachableTime > .seconds(44.99))
        var cache = NeighborCache(random: 0.5)
        cache.applyRouterAdvertisement(reachableTime: 10_000, retransTimer: 500, random: 0)
        #expect(cache.reachableTime == .seconds(5) && cache.config.retransTimer == .milliseconds(500))
        cache.applyRouterAdvertisement(reachableTime: 0, retransTimer: 0, random: 1)
        #expect(cache.reachableTime == .seconds(5) && cache.config.retransTimer == .milliseconds(500))
    }

    @Test("a solicitation's source address option makes a STALE entry, and changes a known address to STALE")
    func solicitationSourceOption() {
        var cache = makeCache()
        _ = cache.learn(macA, for: peer, now: .zero)
        #expect(cache.entry(peer)?.state == .stale && cache.entry(peer)?.isRouter == false)
        cache.confirmReachability(peer, now: seconds(1))
        _ = cache.learn(macA, for: peer, now: seconds(2))
        #expect(cache.entry(peer)?.state == .reachable)  // same address: no change
        _ = cache.learn(macB, for: peer, now: seconds(3))
        #expect(cache.entry(peer)?.state == .stale && cache.entry(peer)?.linkAddress == macB)
    }

    @Test("a router advertisement's source option sets IsRouter; a permanent entry ignores everything")
    func routerAdvertisementAndPermanent() {
        var cache = makeCache()
        _ = cache.learn(macA, for: peer, isRouter: true, now: .zero)
        #expect(cache.entry(peer)?.isRouter == true)
        cache.addPermanent(peer, linkAddress: macB)
        _ = cache.learn(macA, for: peer, now: seconds(1))
        _ = cache.advertisement(for: peer, targetLinkAddress: macA, router: true, solicited: true, override: true,
                                now: seconds(1))
        #expect(cache.entry(peer)?.linkAddress == macB && cache.entry(peer)?.state == .permanent)
        #expect(cache.due(now: seconds(1000)).isEmpty)
        #expect(cache.linkAddressForSending(to: peer, now: seconds(1000)) == macB)
    }

    @Test("ip -6 neigh lines read as Linux's (iproute2 on Linux 6.18, its trailing space left out)")
    func ipNeighLine() {
        // `ip -6 neigh` in a namespace after `ip -6 neigh add … router` (nud permanent by
        // default), `nud reachable`, `nud stale` and a ping to an absent address.
        let linux = ["2001:db8:1::1 dev v0 lladdr 02:00:00:00:00:01 router PERMANENT ",
                     "2001:db8:1::8 dev v0 lladdr 02:00:00:00:00:08 REACHABLE ",
                     "2001:db8:1::7 dev v0 lladdr 02:00:00:00:00:07 STALE ",
                     "2001:db8:1::99 dev v0 INCOMPLETE "]
        var cache = makeCache()
        let v0 = InterfaceID(0)
        cache.addPermanent(NeighborKey(IPv6Address("2001:db8:1::1")!, on: v0), linkAddress: MACAddress(2, 0, 0, 0, 0, 1),
                           isRouter: true)
        let reachable = NeighborKey(IPv6Address("2001:db8:1::8")!, on: v0)
        _ = cache.learn(MACAddress(2, 0, 0, 0, 0, 8), for: reachable, now: .zero)
        cache.confirmReachability(reachable, now: .zero)
        _ = cache.learn(MACAddress(2, 0, 0, 0, 0, 7), for: NeighborKey(IPv6Address("2001:db8:1::7")!, on: v0), now: .zero)
        _ = cache.enqueue([0], forwarded: false, for: NeighborKey(IPv6Address("2001:db8:1::99")!, on: v0), now: .zero)
        let lines = cache.allEntries.map { $0.ipNeighLine(interfaceName: "v0") + " " }
        #expect(lines.sorted() == linux.sorted())
    }
}

@Suite("Neighbour cache: RFC 4861 §7.2.5 advertisement rules")
struct NeighborAdvertisementRuleTests {
    /// One row of the §7.2.5 table: starting state, flags, whether the TLLA is the cached one,
    /// and the state and address expected after.
    struct Row: CustomTestStringConvertible, Sendable {
        var from: NeighborEntry.State
        var solicited: Bool
        var override: Bool
        /// nil: no TLLA option; true: the cached address; false: a different one.
        var sameAddress: Bool?
        var state: NeighborEntry.State
        var address: MACAddress
        var testDescription: String {
            "\(from) S=\(solicited) O=\(override) TLLA=\(sameAddress.map { $0 ? "same" : "different" } ?? "none")"
        }
    }

    static let rows: [Row] = [
        // O clear, different address: REACHABLE → STALE, the address kept; other states unchanged.
        Row(from: .reachable, solicited: true, override: false, sameAddress: false, state: .stale, address: macA),
        Row(from: .reachable, solicited: false, override: false, sameAddress: false, state: .stale, address: macA),
        Row(from: .stale, solicited: true, override: false, sameAddress: false, state: .stale, address: macA),
        Row(from: .delay, solicited: true, override: false, sameAddress: false, state: .delay, address: macA),
        Row(from: .probe, solicited: false, override: false, sameAddress: false, state: .probe, address: macA),
        // Solicited with the same address or none: REACHABLE whatever O says.
        Row(from: .stale, solicited: true, override: false, sameAddress: true, state: .reachable, address: macA),
        Row(from: .probe, solicited: true, override: false, sameAddress: nil, state: .reachable, address: macA),
        Row(from: .delay, solicited: true, override: true, sameAddress: true, state: .reachable, address: macA),
        // Solicited with O and a new address: the address replaced, REACHABLE.
        Row(from: .stale, solicited: true, override: true, sameAddress: false, state: .reachable, address: macB),
        // Unsolicited with O and a new address: replaced, STALE.
        Row(from: .reachable, solicited: false, override: true, sameAddress: false, state: .stale, address: macB),
        Row(from: .probe, solicited: false, override: true, sameAddress: false, state: .stale, address: macB),
        // Unsolicited with the same address or none: no state change.
        Row(from: .reachable, solicited: false, override: true, sameAddress: true, state: .reachable, address: macA),
        Row(from: .stale, solicited: false, override: false, sameAddress: nil, state: .stale, address: macA),
        Row(from: .delay, solicited: false, override: true, sameAddress: nil, state: .delay, address: macA),
    ]

    @Test("the advertisement rules for an entry that is not INCOMPLETE", arguments: rows)
    func rule(_ row: Row) {
        var cache = cacheIn(row.from)
        let tlla = row.sameAddress.map { $0 ? macA : macB }
        _ = cache.advertisement(for: peer, targetLinkAddress: tlla, router: false, solicited: row.solicited,
                                override: row.override, now: seconds(1))
        #expect(cache.entry(peer)?.state == row.state)
        #expect(cache.entry(peer)?.linkAddress == row.address)
    }

    @Test("an INCOMPLETE entry becomes STALE on an unsolicited advertisement and ignores one without TLLA")
    func incompleteRules() {
        var cache = cacheIn(.incomplete)
        var outcome = cache.advertisement(for: peer, targetLinkAddress: nil, router: false, solicited: true,
                                          override: true, now: seconds(0.5))
        #expect(outcome.waiting.isEmpty && cache.entry(peer)?.state == .incomplete)
        outcome = cache.advertisement(for: peer, targetLinkAddress: macB, router: true, solicited: false,
                                      override: false, now: seconds(0.6))
        #expect(outcome.waiting.count == 1)
        #expect(cache.entry(peer)?.state == .stale && cache.entry(peer)?.linkAddress == macB)
        #expect(cache.entry(peer)?.isRouter == true)
    }

    @Test("an advertisement for an address with no entry creates none")
    func noEntryNoCreation() {
        var cache = makeCache()
        _ = cache.advertisement(for: peer, targetLinkAddress: macA, router: true, solicited: false, override: true,
                                now: .zero)
        #expect(cache.count == 0)
    }

    @Test("a router whose advertisement clears the R flag is reported, once")
    func routerFlagCleared() {
        var cache = cacheIn(.reachable, isRouter: true)
        var outcome = cache.advertisement(for: peer, targetLinkAddress: macA, router: false, solicited: false,
                                          override: true, now: seconds(1))
        #expect(outcome.stoppedBeingRouter && cache.entry(peer)?.isRouter == false)
        outcome = cache.advertisement(for: peer, targetLinkAddress: macA, router: false, solicited: false,
                                      override: true, now: seconds(2))
        #expect(!outcome.stoppedBeingRouter)
    }
}

@Suite("Neighbour cache: bounds")
struct NeighborCacheBoundsTests {
    private func spoofed(_ index: Int) -> NeighborKey {
        NeighborKey(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64(index) + 0x100), on: InterfaceID(0))
    }

    @Test("10,000 spoofed solicitation sources keep the cache at its limit, and the neighbour in use survives")
    func spoofedSolicitationFlood() {
        var cache = makeCache()
        _ = cache.learn(macA, for: peer, now: .zero)
        cache.confirmReachability(peer, now: .zero)
        _ = cache.linkAddressForSending(to: peer, now: .zero)
        for index in 0..<10_000 {
            _ = cache.learn(macB, for: spoofed(index), now: .milliseconds(Int64(index)))
            #expect(cache.count <= cache.config.maxEntries)
        }
        #expect(cache.count == cache.config.maxEntries)
        #expect(cache.evictions == 10_001 - cache.config.maxEntries)
        #expect(cache.entry(peer)?.linkAddress == macA)
        #expect(cache.entry(spoofed(9_999)) != nil && cache.entry(spoofed(0)) == nil)
    }

    @Test("a permanent entry is never evicted by a flood")
    func permanentSurvivesFlood() {
        var cache = makeCache { $0.maxEntries = 16 }
        cache.addPermanent(peer, linkAddress: macA)
        for index in 0..<100 { _ = cache.learn(macB, for: spoofed(index), now: .milliseconds(Int64(index))) }
        #expect(cache.count == 16 && cache.entry(peer)?.state == .permanent)
    }

    @Test("pending bytes stay within the per-address and total bounds, oldest packets dropped first")
    func pendingBytesBounded() {
        var cache = makeCache {
            $0.pendingBytesPerAddress = 3_000
            $0.pendingBytesTotal = 10_000
        }
        var dropped = 0
        for index in 0..<10 {
            let result = cache.enqueue([UInt8](repeating: UInt8(index), count: 1_000), forwarded: false, for: peer,
                                       now: .zero)
            dropped += result.dropped.count
        }
        #expect(cache.pendingBytes == 3_000 && dropped == 7)
        for index in 0..<1_000 {
            let result = cache.enqueue([UInt8](repeating: 0, count: 1_000), forwarded: true, for: spoofed(index),
                                       now: .zero)
            dropped += result.dropped.count
            #expect(cache.pendingBytes <= 10_000)
        }
        #expect(cache.pendingBytes == 10_000)
        #expect(cache.pendingDropped == dropped)
        // The oldest of peer's queue went first: what it hands back is the last three.
        let outcome = cache.advertisement(for: peer, targetLinkAddress: macA, router: false, solicited: true,
                                          override: true, now: .zero)
        #expect(outcome.waiting.map { $0.datagram[0] } == [7, 8, 9])
    }

    @Test("evicting an unresolved entry drops its queued bytes from the total")
    func evictionReleasesPendingBytes() {
        var cache = makeCache { $0.maxEntries = 4 }
        for index in 0..<20 {
            _ = cache.enqueue([UInt8](repeating: 0, count: 100), forwarded: false, for: spoofed(index),
                              now: .milliseconds(Int64(index)))
        }
        #expect(cache.count == 4 && cache.pendingBytes == 400)
    }

    @Test("STALE entries are collected after gc_staletime only while the cache is above its threshold")
    func staleGarbageCollection() {
        var cache = makeCache { $0.garbageCollectionThreshold = 2 }
        for index in 0..<4 { _ = cache.learn(macB, for: spoofed(index), now: .zero) }
        #expect(cache.due(now: seconds(59)).isEmpty)
        let actions = cache.due(now: seconds(60))
        #expect(actions.count == 2 && cache.count == 2)
        #expect(cache.due(now: seconds(1000)).isEmpty && cache.count == 2)
    }
}
