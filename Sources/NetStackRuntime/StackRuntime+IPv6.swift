import NetStackCore
public import NetStackWire

extension StackRuntime {
    /// How long the initializer waits for duplicate address detection on the configured
    /// IPv6 addresses (about a second each, in parallel) before it gives up.
    public static let duplicateAddressDetectionTimeout = Duration.seconds(5)
    /// How long the initializer waits for an address from router advertisements (`--address6 auto`):
    /// a router solicitation after up to a second, the advertisement, then a second of DAD.
    public static let autoconfigurationTimeout = Duration.seconds(10)

    /// Runs the loop until the interface's IPv6 addresses have passed duplicate address detection
    /// (and, with `autoconfigure`, one was formed from a router advertisement and passed it), so
    /// that a command starts with usable addresses. Throws one line when a configured address
    /// turned out to be another node's, or no router advertised a prefix in time.
    func settleIPv6(autoconfigure: Bool) throws(RuntimeError) {
        let startedAt = clock.now()
        let interface = interface
        func tentative(_ host: Host) -> Bool {
            host.addresses6.contains { $0.interface == interface && $0.state == .tentative }
        }
        func autoconfigured(_ host: Host) -> Bool {
            host.addresses6.contains { entry in
                entry.interface == interface && entry.origin == .autoconfigured && (entry.state == .preferred || entry.state == .deprecated)
            }
        }
        let waitsForDAD = withHost { host, _ in tentative(host) }
        if waitsForDAD || autoconfigure {
            let limit = startedAt + (autoconfigure ? Self.autoconfigurationTimeout : Self.duplicateAddressDetectionTimeout)
            try run { host, now in (!tentative(host) && (!autoconfigure || autoconfigured(host))) || now >= limit }
        }
        let (duplicate, formed) = withHost { host, _ in
            (host.addresses6.first { entry in
                entry.interface == interface && entry.state == .duplicate && entry.origin != .autoconfigured
            }, autoconfigured(host))
        }
        if let duplicate {
            throw RuntimeError("address \(duplicate.address) is already in use on \(device.name) (duplicate address detection)")
        }
        if autoconfigure, !formed {
            throw RuntimeError("no IPv6 address from router advertisements on \(device.name) within \(Self.autoconfigurationTimeout)")
        }
    }

    /// The stack's IPv6 addresses on its interface that are usable and not link-local
    /// (configured and autoconfigured), with their prefix lengths, in the host's order.
    public var currentAddresses6: [(address: IPv6Address, prefixLength: Int)] {
        withHost { host, _ in
            host.addresses6.filter { entry in
                entry.interface == interface && (entry.state == .preferred || entry.state == .deprecated) && !entry.address.isLinkLocal
            }.map { ($0.address, $0.prefixLength) }
        }
    }
}
