import ArgumentParser
import NetStackCore
import NetStackRuntime
import NetStackWire

/// The options every command that runs a stack on a real device shares.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Attach to the TAP device NAME (Ethernet frames).", valueName: "NAME"))
    var tap: String?

    @Option(name: .long, help: ArgumentHelp("Attach to the TUN device NAME (bare IP packets, no ARP).", valueName: "NAME"))
    var tun: String?

    @Option(name: .customLong("tap-fd"), help: ArgumentHelp(
        "Adopt the inherited descriptor N: an open TAP device (or a datagram socket carrying Ethernet frames).", valueName: "N"))
    var tapFD: Int32?

    @Option(name: .customLong("tun-fd"), help: ArgumentHelp(
        "Adopt the inherited descriptor N: an open TUN device (or a datagram socket carrying IP packets).", valueName: "N"))
    var tunFD: Int32?

    @Option(name: .long, help: ArgumentHelp(
        "The stack's address and prefix length, e.g. 192.0.2.2/24 or 2001:db8::2/64, or dhcp: take a lease from a DHCP "
            + "server (TAP only). Give it again for more addresses: one IPv4 (or dhcp) and any number of IPv6 ones.",
        valueName: "A.B.C.D/P|X:X::X/P|dhcp"))
    var address: [String] = []

    @Option(name: .customLong("address6"), help: ArgumentHelp(
        "auto: form an IPv6 address from router advertisements (SLAAC, TAP only); --address may then be left out.",
        valueName: "auto"))
    var address6: String?

    @Option(name: .long, help: ArgumentHelp("Default gateway, IPv4 or IPv6; give it twice for one of each.", valueName: "G"))
    var gateway: [String] = []

    @Option(name: .long, help: ArgumentHelp("The stack's MAC address on a TAP link (default: random, locally administered).", valueName: "M"))
    var mac: String?

    @Option(name: .long, help: ArgumentHelp("IP MTU (default: the device's).", valueName: "N"))
    var mtu: Int?

    @Option(name: .long, help: ArgumentHelp(
        "Impair every frame sent and received, e.g. loss=5%,delay=10ms,jitter=3ms,reorder=25%,duplicate=1%[,rate=100mbit][,seed=N].",
        valueName: "SPEC"))
    var impair: String?

    @Option(name: .long, help: ArgumentHelp("Write every frame the stack sends and receives to FILE (pcap).", valueName: "FILE"))
    var pcap: String?

    @Flag(name: .customLong("pcap-overwrite"), help: "Replace the --pcap FILE if it exists (a symbolic link is still refused).")
    var pcapOverwrite = false

    @Option(name: .customLong("pcap-limit"), help: ArgumentHelp(
        "Stop writing the capture when it reaches SIZE bytes (e.g. 10M, 1G); the stack keeps running.", valueName: "SIZE"))
    var pcapLimit: String?

    func validate() throws {
        guard [tap != nil, tun != nil, tapFD != nil, tunFD != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --tap NAME, --tun NAME, --tap-fd N or --tun-fd N")
        }
        if let fd = tapFD ?? tunFD, fd < 0 {
            throw ValidationError("bad --\(tapFD != nil ? "tap" : "tun")-fd \(fd): a descriptor number, 0 or more")
        }
        if let address6, address6 != "auto" { throw ValidationError("bad --address6 '\(address6)': the only mode is auto (SLAAC)") }
        if address6 != nil, tun != nil || tunFD != nil {
            throw ValidationError("--address6 auto needs a TAP device (router advertisements come by neighbour discovery)")
        }
        let addresses = try parsedAddresses()
        if usesDHCP, tun != nil || tunFD != nil { throw ValidationError("--address dhcp needs a TAP device (--tap or --tap-fd)") }
        let gateways = try parsedGateways()
        if usesDHCP, gateways.v4 != nil { throw ValidationError("--gateway cannot be combined with --address dhcp (the lease names the router)") }
        if let gateway = gateways.v4, addresses.v4 == nil, !usesDHCP {
            throw ValidationError("gateway \(gateway) needs an IPv4 --address")
        }
        if let gateway = gateways.v6, addresses.v6.isEmpty, address6 == nil { throw ValidationError("gateway \(gateway) needs an IPv6 --address") }
        if let mac {
            guard let parsed = MACAddress(mac) else { throw ValidationError("malformed MAC address '\(mac)'") }
            guard !parsed.isMulticast, parsed != .zero else { throw ValidationError("MAC address \(mac) must be unicast and not zero") }
        }
        if let mtu, !(68...65_535).contains(mtu) { throw ValidationError("bad MTU \(mtu): must be 68 to 65535") }
        if let pcapLimit {
            guard let size = parseByteSize(pcapLimit) else {
                throw ValidationError("bad --pcap-limit '\(pcapLimit)': a size like 4096, 10M or 1G")
            }
            if size < 24 { throw ValidationError("bad --pcap-limit '\(pcapLimit)': at least 24 bytes (a pcap header)") }
        }
        if pcap == nil, pcapOverwrite || pcapLimit != nil { throw ValidationError("--pcap-overwrite and --pcap-limit need --pcap FILE") }
        if let impair {
            do { _ = try ImpairmentSpec.parse(impair) } catch { throw ValidationError(error.description) }
        }
    }

    /// The `--address` options: at most one IPv4 address (or `dhcp`, which is not in the result)
    /// and any number of IPv6 ones, in the order given. Throws one line for the first bad one.
    func parsedAddresses() throws -> (v4: (IPv4Address, Int)?, v6: [(IPv6Address, Int)]) {
        guard !address.isEmpty || address6 != nil else {
            throw ValidationError("missing --address (e.g. 192.0.2.2/24, 2001:db8::2/64 or dhcp)")
        }
        var v4: (IPv4Address, Int)?
        var v6: [(IPv6Address, Int)] = []
        var dhcp = false
        for text in address {
            if text.lowercased() == "dhcp" || !text.contains(":") {
                guard v4 == nil, !dhcp else { throw ValidationError("--address '\(text)': only one IPv4 address (or dhcp) may be given") }
                if text.lowercased() == "dhcp" { dhcp = true } else { v4 = try parseInterfaceAddress(text) }
            } else {
                let parsed = try parseInterfaceAddress6(text)
                guard !v6.contains(where: { $0.0 == parsed.0 }) else { throw ValidationError("--address \(text) is given twice") }
                v6.append(parsed)
            }
        }
        return (v4, v6)
    }

    /// The `--gateway` options: at most one of each family.
    func parsedGateways() throws -> (v4: IPv4Address?, v6: IPv6Address?) {
        var v4: IPv4Address?
        var v6: IPv6Address?
        for text in gateway {
            switch IPAddress(text) {
            case let .v4(address)?:
                guard v4 == nil else { throw ValidationError("--gateway '\(text)': only one IPv4 gateway may be given") }
                v4 = address
            case let .v6(address)?:
                guard v6 == nil else { throw ValidationError("--gateway '\(text)': only one IPv6 gateway may be given") }
                guard !address.isUnspecified, !address.isMulticast, !address.isIPv4Mapped else {
                    throw ValidationError("gateway \(address) cannot be a router's address")
                }
                v6 = address
            case nil:
                throw ValidationError("malformed gateway address '\(text)'")
            }
        }
        return (v4, v6)
    }

    /// `--address dhcp`: the runtime waits for a DHCP lease instead.
    var usesDHCP: Bool { address.contains { $0.lowercased() == "dhcp" } }

    /// The runtime's configuration for these options.
    func configuration() throws -> RuntimeConfiguration {
        let addresses = try parsedAddresses()
        // No IPv4 address (an IPv6-only stack, or one waiting for DHCP): 0.0.0.0, which the runtime does not assign.
        let (ip, prefix) = addresses.v4 ?? (IPv4Address.any, 0)
        let device: DeviceSource = if let fd = tapFD ?? tunFD {
            .adopted(fd: fd, kind: tapFD != nil ? .tap : .tun)
        } else {
            .named(tap ?? tun ?? "", kind: tap != nil ? .tap : .tun)
        }
        var configuration = RuntimeConfiguration(device: device, address: ip, prefixLength: prefix)
        let gateways = try parsedGateways()
        configuration.gateway = gateways.v4
        configuration.addresses6 = addresses.v6.map { RuntimeConfiguration.Address6(address: $0.0, prefixLength: $0.1) }
        configuration.gateway6 = gateways.v6
        configuration.autoconfigure6 = address6 != nil
        configuration.mac = mac.flatMap { MACAddress($0) }
        configuration.mtu = mtu
        configuration.impairment = try impair.map { try ImpairmentSpec.parse($0) }
        configuration.pcapPath = pcap
        configuration.pcapOverwrite = pcapOverwrite
        configuration.pcapLimit = pcapLimit.flatMap(parseByteSize)
        if usesDHCP { configuration.dhcp = DHCPSettings() }
        return configuration
    }
}


/// Parses `--address A.B.C.D/P`: a unicast address and a prefix length of 1 to 32.
func parseInterfaceAddress(_ address: String) throws -> (IPv4Address, Int) {
    let parts = address.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let ip = IPv4Address(parts[0]), let prefix = Int(parts[1]), (1...32).contains(prefix) else {
        throw ValidationError("malformed address '\(address)': expected A.B.C.D/P, e.g. 192.0.2.2/24")
    }
    guard ip != .any, !ip.isLimitedBroadcast, !ip.isMulticast else {
        throw ValidationError("address \(ip) cannot be assigned to an interface")
    }
    return (ip, prefix)
}

/// Parses `--address X:X::X/P`: a unicast IPv6 address (RFC 4291 text) and a prefix length of 1 to 128.
func parseInterfaceAddress6(_ address: String) throws -> (IPv6Address, Int) {
    let parts = address.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let ip = IPv6Address(parts[0]), let prefix = Int(parts[1]), (1...128).contains(prefix) else {
        throw ValidationError("malformed address '\(address)': expected X:X::X/P, e.g. 2001:db8::2/64")
    }
    guard !ip.isUnspecified, !ip.isLoopback, !ip.isMulticast, !ip.isIPv4Mapped else {
        throw ValidationError("address \(ip) cannot be assigned to an interface")
    }
    return (ip, prefix)
}

/// A failure while running (not bad input): one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
