// One interface's IPv6 addresses (RFC 4862): DAD timing with the random first delay, SLAAC from
// Prefix Information options (§5.5.3) with the two-hour rule, lifetimes, DAD failure with
// RFC 7217 retries, and the bound on addresses under a flood of prefixes.

@testable import NetStackCore
import NetStackWire
import Testing

private let generator = StableInterfaceIdentifier(secretKey: [UInt8](0..<16))
private let mac: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A]
private let prefix = IPv6Network("2001:db8:1::/64")!
private let hour = 3600.0

private func makeList(_ adjust: (inout IPv6AddressConfig) -> Void = { _ in }) -> IPv6AddressList {
    var config = IPv6AddressConfig()
    adjust(&config)
    return IPv6AddressList(config: config, identifiers: generator, netIface: mac)
}

/// A Prefix Information option for 2001:db8:1::/64 (or `network`) with lifetimes in seconds.
private func option(valid: UInt32, preferred: UInt32, autonomous: Bool = true,
                    network: IPv6Network = prefix) -> NDPPrefixInformation {
    NDPPrefixInformation(prefix: network.address, prefixLength: UInt8(network.prefixLength), autonomous: autonomous,
                         validLifetime: valid, preferredLifetime: preferred)
}

/// The SLAAC address RFC 7217 gives 2001:db8:1::/64 with `counter`.
private func slaac(_ counter: Int = 0) -> IPv6Address {
    generator.address(prefix: prefix, netIface: mac, dadCounter: counter).address
}

@Suite("IPv6 addresses: DAD and lifetimes")
struct IPv6AddressDADTests {
    @Test("a link-local address waits the random delay, sends one DAD solicitation, and is preferred RetransTimer later")
    func linkLocalDAD() throws {
        var list = makeList()
        let added = list.addLinkLocal(now: .zero, random: 0.5)
        let address = try #require(added)
        #expect(address.isLinkLocal && list.state(of: address) == .tentative)
        #expect(list.nextDeadline == .milliseconds(500))
        #expect(list.due(now: .milliseconds(499)).isEmpty)
        #expect(list.due(now: .milliseconds(500)) == [.sendDADSolicitation(address)])
        #expect(list.due(now: .milliseconds(1499)).isEmpty && list.state(of: address) == .tentative)
        #expect(list.due(now: .milliseconds(1500)) == [.becamePreferred(address)])
        #expect(list.preferredAddresses.map(\.address) == [address] && list.nextDeadline == nil)
    }

    @Test("DupAddrDetectTransmits 2 sends two solicitations a RetransTimer apart; 0 makes the address preferred at once")
    func dadTransmits() {
        var list = makeList { $0.dupAddrDetectTransmits = 2 }
        let address = IPv6Address("2001:db8::2")!
        list.add(address, prefixLength: 64, now: .zero, random: 0)
        #expect(list.due(now: .zero) == [.sendDADSolicitation(address)])
        #expect(list.due(now: .seconds(1)) == [.sendDADSolicitation(address)])
        #expect(list.due(now: .seconds(2)) == [.becamePreferred(address)])
        var off = makeList { $0.dupAddrDetectTransmits = 0 }
        off.add(address, prefixLength: 64, now: .zero, random: 0)
        #expect(off.state(of: address) == .preferred && off.due(now: .seconds(10)).isEmpty)
    }

    @Test("a SLAAC address is deprecated at its preferred lifetime and removed at its valid lifetime")
    func lifetimes() {
        var list = makeList()
        #expect(list.applyPrefixInformation(option(valid: 7200, preferred: 3600), now: .zero, random: 0)
            == [.added(slaac())])
        _ = list.due(now: .zero)
        _ = list.due(now: .seconds(1))
        #expect(list.state(of: slaac()) == .preferred)
        #expect(list.due(now: .seconds(3599)).isEmpty)
        #expect(list.due(now: .seconds(3600)) == [.becameDeprecated(slaac())])
        #expect(list.nextDeadline == .seconds(7200))
        #expect(list.due(now: .seconds(7200)) == [.removed(slaac())])
        #expect(list.addresses.isEmpty)
    }

    @Test("an address whose DAD is answered becomes duplicate; a SLAAC one is formed again with DAD_Counter + 1, up to IDGEN_RETRIES")
    func dadFailureRetries() {
        var list = makeList()
        _ = list.applyPrefixInformation(option(valid: 86_400, preferred: 14_400), now: .zero, random: 0)
        for counter in 0..<3 {
            #expect(list.duplicateDetected(slaac(counter), now: .seconds(Double(counter)), random: 0)
                == [.duplicate(slaac(counter)), .added(slaac(counter + 1))])
            #expect(list.state(of: slaac(counter + 1)) == .tentative && list.addresses.count == 1)
        }
        #expect(list.duplicateDetected(slaac(3), now: .seconds(3), random: 0) == [.duplicate(slaac(3))])
        #expect(list.state(of: slaac(3)) == .duplicate && list.nextDeadline == .seconds(86_400))
        // Another RA for the prefix does not start over: the duplicate holds the prefix until it expires.
        #expect(list.applyPrefixInformation(option(valid: 86_400, preferred: 14_400), now: .seconds(4), random: 0)
            .isEmpty)
        #expect(list.addresses.count == 1 && list.preferredAddresses.isEmpty)
    }

    @Test("a duplicate manual address is not replaced, and a preferred address ignores a late conflict")
    func dadFailureManualAndPreferred() {
        var list = makeList()
        let manual = IPv6Address("2001:db8::2")!
        list.add(manual, prefixLength: 64, now: .zero, random: 0)
        #expect(list.duplicateDetected(manual, now: .milliseconds(10), random: 0) == [.duplicate(manual)])
        #expect(list.state(of: manual) == .duplicate && list.due(now: .seconds(5)).isEmpty)
        let other = IPv6Address("2001:db8::3")!
        list.add(other, prefixLength: 64, now: .zero, random: 0)
        _ = list.due(now: .zero)
        _ = list.due(now: .seconds(1))
        #expect(list.duplicateDetected(other, now: .seconds(2), random: 0).isEmpty)
        #expect(list.state(of: other) == .preferred)
    }
}

@Suite("IPv6 addresses: SLAAC prefix processing (RFC 4862 §5.5.3)")
struct SLAACPrefixTests {
    @Test("options without A, with a link-local prefix, with preferred > valid, or not /64 form no address")
    func ignoredOptions() {
        var list = makeList()
        #expect(list.applyPrefixInformation(option(valid: 100, preferred: 50, autonomous: false), now: .zero,
                                            random: 0).isEmpty)
        #expect(list.applyPrefixInformation(option(valid: 100, preferred: 50, network: IPv6Network("fe80::/64")!),
                                            now: .zero, random: 0).isEmpty)
        #expect(list.applyPrefixInformation(option(valid: 50, preferred: 100), now: .zero, random: 0).isEmpty)
        #expect(list.applyPrefixInformation(option(valid: 100, preferred: 50,
                                                   network: IPv6Network("2001:db8:1::/56")!), now: .zero,
                                            random: 0).isEmpty)
        #expect(list.applyPrefixInformation(option(valid: 0, preferred: 0), now: .zero, random: 0).isEmpty)
        #expect(list.addresses.isEmpty)
    }

    /// A list holding the SLAAC address with `remaining` seconds of valid lifetime (nil: infinite), preferred.
    private func listWithRemaining(_ remaining: UInt32?) -> IPv6AddressList {
        var list = makeList { $0.dupAddrDetectTransmits = 0 }
        _ = list.applyPrefixInformation(option(valid: remaining ?? .max, preferred: 0), now: .zero, random: 0)
        return list
    }

    /// The valid lifetime left after an RA with `received` seconds arrives at t = 0.
    private func remainingAfter(_ received: UInt32, had remaining: UInt32?) -> Double? {
        var list = listWithRemaining(remaining)
        _ = list.applyPrefixInformation(option(valid: received, preferred: 0), now: .zero, random: 0)
        return list.addresses.first?.validUntil?.seconds
    }

    @Test("two-hour rule: a valid lifetime over two hours is taken as is, even if lower than what remains")
    func longerThanTwoHours() {
        #expect(remainingAfter(3 * 3600, had: 3600) == 3 * hour)
        #expect(remainingAfter(3 * 3600, had: 86_400) == 3 * hour)
    }

    @Test("two-hour rule: a valid lifetime greater than what remains is taken as is")
    func greaterThanRemaining() {
        #expect(remainingAfter(3600, had: 1800) == hour)
    }

    @Test("two-hour rule: with two hours or less left, a lower valid lifetime is ignored")
    func ignoredWhenLittleRemains() {
        #expect(remainingAfter(600, had: 3600) == hour)
        #expect(remainingAfter(0, had: 7200) == 2 * hour)
    }

    @Test("two-hour rule: with more than two hours left, a lower valid lifetime (0 too) lowers it to two hours only")
    func loweredToTwoHours() {
        #expect(remainingAfter(600, had: 86_400) == 2 * hour)
        #expect(remainingAfter(0, had: 86_400) == 2 * hour)
        #expect(remainingAfter(600, had: nil) == 2 * hour)
    }

    @Test("an infinite valid lifetime (0xFFFFFFFF) is taken, and kept until a lower one arrives")
    func infiniteLifetime() {
        #expect(remainingAfter(.max, had: 3600) == nil)
        #expect(remainingAfter(.max, had: nil) == nil)
    }

    @Test("a new preferred lifetime revives a deprecated address; a zero one deprecates a preferred address")
    func preferredLifetimeReset() {
        var list = listWithRemaining(86_400)
        #expect(list.state(of: slaac()) == .deprecated)
        #expect(list.applyPrefixInformation(option(valid: 86_400, preferred: 600), now: .seconds(10), random: 0)
            == [.becamePreferred(slaac())])
        #expect(list.addresses.first?.preferredUntil == .seconds(610))
        #expect(list.applyPrefixInformation(option(valid: 86_400, preferred: 0), now: .seconds(20), random: 0)
            == [.becameDeprecated(slaac())])
    }

    @Test("a flood of advertised prefixes forms no more than maxAddresses addresses")
    func prefixFloodBounded() {
        var list = makeList()
        list.addLinkLocal(now: .zero, random: 0)
        for index in 0..<1_000 {
            let network = IPv6Network(address: IPv6Address(high: 0x2001_0db8_0000_0000 | UInt64(index) << 16, low: 0),
                                      prefixLength: 64)
            _ = list.applyPrefixInformation(option(valid: 86_400, preferred: 14_400, network: network), now: .zero,
                                            random: 0)
        }
        #expect(list.addresses.count == list.config.maxAddresses)
        #expect(list.addresses.first?.origin == .linkLocal)
    }
}
