// The neighbour cache on the per-packet path: `linkAddressForSending` remembers its last answer
// (one hash lookup per run of packets, not one each), which must never outlive what it stood
// for — ReachableTime running out (RFC 4861 §7.3.3), a new link address, a removed entry.

@testable import NetStackCore
import NetStackWire
import Testing

private let peer = NeighborKey(IPv6Address("2001:db8::1")!, on: InterfaceID(0))
private let other = NeighborKey(IPv6Address("2001:db8::2")!, on: InterfaceID(0))
private let macA = MACAddress(0x02, 0, 0, 0, 0, 0x0A)
private let macB = MACAddress(0x02, 0, 0, 0, 0, 0x0B)

/// A cache with ReachableTime exactly 30 s holding `peer` REACHABLE at macA since t = 0.
private func reachableCache() -> NeighborCache {
    var cache = NeighborCache(config: NeighborConfig(), random: 0.5)
    _ = cache.learn(macA, for: peer, now: .zero)
    cache.confirmReachability(peer, now: .zero)
    return cache
}

@Suite("Neighbour cache: the sending path's remembered answer")
struct NeighborCacheSendingPathTests {
    @Test("a REACHABLE neighbour sent to packet after packet still turns to DELAY when ReachableTime runs out")
    func reachableTimeStillRunsOut() {
        var cache = reachableCache()
        for millisecond in stride(from: 0, to: 30_000, by: 5_000) {
            #expect(cache.linkAddressForSending(to: peer, now: .milliseconds(Int64(millisecond))) == macA)
        }
        #expect(cache.entry(peer)?.state == .reachable)
        #expect(cache.linkAddressForSending(to: peer, now: .seconds(31)) == macA)
        #expect(cache.entry(peer)?.state == .delay)
    }

    @Test("an overriding advertisement's new link address is used from the next packet on")
    func newLinkAddressTakesEffect() {
        var cache = reachableCache()
        #expect(cache.linkAddressForSending(to: peer, now: .seconds(1)) == macA)
        _ = cache.advertisement(for: peer, targetLinkAddress: macB, router: false, solicited: true, override: true,
                                now: .seconds(2))
        #expect(cache.linkAddressForSending(to: peer, now: .seconds(3)) == macB)
    }

    @Test("a removed neighbour gets no packets, and another neighbour's answer is not reused")
    func removedAndOtherNeighbours() {
        var cache = reachableCache()
        cache.addPermanent(other, linkAddress: macB)
        #expect(cache.linkAddressForSending(to: peer, now: .seconds(1)) == macA)
        #expect(cache.linkAddressForSending(to: other, now: .seconds(1)) == macB)
        cache.remove(other)
        #expect(cache.linkAddressForSending(to: other, now: .seconds(2)) == nil)
        #expect(cache.linkAddressForSending(to: peer, now: .seconds(2)) == macA)
    }
}
