import ArgumentParser
import Glibc
import NetStackCore
import NetStackRuntime
import NetStackServices
import NetStackWire

/// `netstack fetch`: an HTTP/1.1 GET through NetStack on a TAP/TUN device.
struct FetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a URL with HTTP/1.1 through NetStack on a TAP or TUN device.",
        discussion: """
            Resolves the host name with NetStack's own resolver (AAAA and A queries over UDP to --dns), \
            connects with Happy Eyeballs (RFC 8305: IPv6 first, families interleaved, 250 ms between \
            attempts), sends a GET and writes the body to FILE or standard output. An IPv6 literal goes in \
            brackets: http://[2001:db8::1]:8000/path. --verbose tells which address and family won, and why. \
            A progress bar goes to standard error when it is a terminal. Exits 0 on a 2xx answer, non-zero \
            with a one-line reason otherwise.
            """
    )

    @OptionGroup var device: DeviceOptions

    @OptionGroup var offload: OffloadOptions

    @OptionGroup var busyPoll: BusyPollOptions

    @OptionGroup var congestion: CongestionOptions

    @Option(name: .long, help: ArgumentHelp("The DNS server the resolver asks.", valueName: "IP"))
    var dns: String?

    @OptionGroup var dnsTimeout: DNSTimeoutOption

    @Option(name: .short, help: ArgumentHelp("Write the body to FILE instead of standard output.", valueName: "FILE"))
    var output: String?

    @Argument(help: "http://host[:port]/path or http://[IPv6]:port/path")
    var url: String

    func validate() throws {
        if let dns, IPAddress(dns) == nil { throw ValidationError("malformed DNS server address '\(dns)'") }
        do { _ = try HTTPURL.parse(url) } catch { throw ValidationError("bad URL '\(url)': \(error)") }
    }

    func run() throws {
        let target = try HTTPURL.parse(url)
        var configuration = try device.configuration()
        configuration.offload = try offload.mode()
        configuration.dhcp?.narrate = offload.verbose
        configuration.busyPoll = try busyPoll.duration()
        if let dns = dns.flatMap({ IPAddress($0) }) { configuration.host.resolver.nameservers = [dns] }
        try dnsTimeout.apply(to: &configuration.host.resolver)
        if let algorithm = congestion.algorithm { configuration.host.tcp.socketDefaults.congestion = algorithm }
        let sink = try OutputFile(path: output)
        let runtime = try StackRuntime(configuration)
        offload.report(runtime)
        let progress = isatty(STDERR_FILENO) == 1 ? ProgressBar() : nil
        let verbose = offload.verbose
        let fetch = runtime.withHost { host, now in
            FetchProgram(url: target, host: host, now: now, verbose: verbose) { bytes in sink.write(bytes) }
        }
        runtime.start(fetch)
        try runtime.run { _, now in
            progress?.update(received: fetch.client?.bodyBytesReceived ?? 0, total: fetch.client?.expectedLength, now: now)
            return fetch.outcome != nil
        }
        progress?.finish()
        runtime.releaseLease()
        try sink.close()
        switch fetch.outcome {
        case .success?: return
        case let .failure(reason)?: throw CommandFailure(reason)
        case nil: throw CommandFailure("interrupted")
        }
    }
}

/// Connect by name with Happy Eyeballs, then GET, on the stack's thread.
final class FetchProgram: StackApplication {
    enum Outcome { case success, failure(String) }

    let url: HTTPURL
    private(set) var client: HTTPClient?
    private(set) var outcome: Outcome?
    private var connector: HappyEyeballsConnector?
    private let verbose: Bool
    private let body: (UnsafeRawBufferPointer) -> Void

    init(url: HTTPURL, host: Host, now: Instant, verbose: Bool, body: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.url = url
        self.verbose = verbose
        self.body = body
        do { connector = try HappyEyeballsConnector(host: host, name: url.host, port: url.port, now: now) } catch {
            outcome = .failure("cannot resolve \(url.host): \(error)")
        }
    }

    func run(on host: Host, now: Instant) {
        guard outcome == nil else { return }
        if let connector {
            connector.run(on: host, now: now)
            switch connector.result {
            case nil: return
            case let .connected(descriptor, address)?:
                self.connector = nil
                tell(connector, "fetch: connected to \(Endpoint(address, url.port)) over \(address.isIPv4 ? "IPv4" : "IPv6")")
                client = HTTPClient(descriptor: descriptor, server: Endpoint(address, url.port), url: url, now: now, body: body)
            case let .failed(reason)?:
                self.connector = nil
                tell(connector, "fetch: \(reason)")
                outcome = .failure(reason)
                return
            }
        }
        guard let client else { return }
        client.run(on: host, now: now)
        switch client.state {
        case .finished:
            let status = client.status ?? 0
            outcome = (200..<300).contains(status) ? .success : .failure("HTTP \(status) from \(url.hostHeader)\(url.path)")
        case let .failed(error): outcome = .failure("\(url.hostHeader): \(error)")
        default: break
        }
    }

    var nextWakeup: Instant? { connector?.nextWakeup ?? client?.nextWakeup }

    func stop(on host: Host, now: Instant) {
        connector?.cancel(on: host, now: now)
        client?.stop(on: host, now: now)
    }

    /// With --verbose: the race's trace (what was asked, tried and why), then `summary`, on standard error.
    private func tell(_ connector: HappyEyeballsConnector, _ summary: String) {
        guard verbose else { return }
        let lines = connector.race.trace.map { "fetch: happy eyeballs \($0)\n" }.joined() + summary + "\n"
        _ = lines.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }
}

/// Where the body goes: a file or standard output, written as it arrives.
final class OutputFile {
    private let fd: Int32
    private let path: String?
    private var failure: Int32 = 0

    init(path: String?) throws {
        self.path = path
        if let path {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        } else {
            fd = STDOUT_FILENO
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while failure == 0, offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 { failure = errno; return }
            offset += written
        }
    }

    func close() throws {
        if path != nil { Glibc.close(fd) }
        if failure != 0 {
            throw ValidationError("cannot write \(path ?? "standard output"): \(String(cString: strerror(failure)))")
        }
    }
}

/// A one-line progress bar on standard error, redrawn at most ten times a second.
final class ProgressBar {
    private var lastDraw = Instant(nanoseconds: -1_000_000_000)
    private var start: Instant?

    func update(received: Int, total: Int?, now: Instant) {
        if start == nil { start = now }
        guard now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        let elapsed = max((now - start!).seconds, 0.001)
        let speed = Double(received) / elapsed / 1e6
        var line = "\r"
        if let total, total > 0 {
            let fraction = min(1, Double(received) / Double(total))
            let filled = Int(fraction * 30)
            line += "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: 30 - filled) + "] "
            line += pad(String(Int(fraction * 100)), 3) + "% "
        }
        line += "\(mebibytes(received)) MiB  \(oneDecimal(speed)) MB/s   "
        _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }

    func finish() { _ = "\n".withCString { Glibc.write(STDERR_FILENO, $0, 1) } }

    private func mebibytes(_ bytes: Int) -> String { oneDecimal(Double(bytes) / 1_048_576) }
    private func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
    private func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
