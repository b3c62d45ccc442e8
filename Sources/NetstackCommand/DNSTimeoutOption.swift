import ArgumentParser
import NetStackCore

/// `--dns-timeout SECONDS` on the commands that resolve names (`fetch`, `ping`): how long each
/// DNS query waits for its answer before it is asked again — resolv.conf's `options timeout:`.
/// For a name server behind a slow path (a satellite link, a loaded resolver).
struct DNSTimeoutOption: ParsableArguments {
    /// The range the command line accepts, in seconds (resolv.conf caps `timeout:` at 30).
    static let range = 0.1...30.0

    @Option(name: .customLong("dns-timeout"), parsing: .unconditional, help: ArgumentHelp(
        "Seconds each DNS query waits for its answer before it is sent again (default 1, as "
            + "resolv.conf's timeout:1; three attempts). 0.1 to 30.",
        valueName: "SECONDS"))
    var dnsTimeout: String?

    func validate() throws { _ = try timeout() }

    /// The wait asked for, nil when not given; a one-line `ValidationError` for anything but 0.1…30.
    func timeout() throws -> Duration? {
        guard let dnsTimeout else { return nil }
        guard let seconds = Double(dnsTimeout), Self.range.contains(seconds) else {
            throw ValidationError("bad --dns-timeout '\(dnsTimeout)': seconds, 0.1 to 30")
        }
        return .milliseconds(Int((seconds * 1000).rounded()))
    }

    /// Sets the resolver's per-query wait when one was given.
    func apply(to resolver: inout ResolverConfig) throws {
        if let timeout = try timeout() { resolver.timeout = timeout }
    }
}
