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
        "The stack's address and prefix length, e.g. 192.0.2.2/24, or dhcp: take a lease from a DHCP server (TAP only).",
        valueName: "A.B.C.D/P|dhcp"))
    var address: String

    @Option(name: .long, help: ArgumentHelp("Default gateway.", valueName: "G"))
    var gateway: String?

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
        if !usesDHCP { _ = try parsedAddress() }
        if usesDHCP, tun != nil || tunFD != nil { throw ValidationError("--address dhcp needs a TAP device (--tap or --tap-fd)") }
        if usesDHCP, gateway != nil { throw ValidationError("--gateway cannot be combined with --address dhcp (the lease names the router)") }
        if let gateway, IPv4Address(gateway) == nil { throw ValidationError("malformed gateway address '\(gateway)'") }
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

    func parsedAddress() throws -> (IPv4Address, Int) { try parseInterfaceAddress(address) }

    /// `--address dhcp`: the runtime waits for a DHCP lease instead.
    var usesDHCP: Bool { address.lowercased() == "dhcp" }

    /// The runtime's configuration for these options.
    func configuration() throws -> RuntimeConfiguration {
        let (ip, prefix) = usesDHCP ? (IPv4Address.any, 0) : try parsedAddress()
        let device: DeviceSource = if let fd = tapFD ?? tunFD {
            .adopted(fd: fd, kind: tapFD != nil ? .tap : .tun)
        } else {
            .named(tap ?? tun ?? "", kind: tap != nil ? .tap : .tun)
        }
        var configuration = RuntimeConfiguration(device: device, address: ip, prefixLength: prefix)
        configuration.gateway = gateway.flatMap { IPv4Address($0) }
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

/// A failure while running (not bad input): one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
