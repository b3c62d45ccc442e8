// The processes a test starts in its namespace: NetStack itself (the
// `netstack` command under test) and the kernel-side peers.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Namespace {
    /// The kernel side most tests use: `tap0` with 192.0.2.1/24.
    func addStandardTap() throws {
        try addTap("tap0", address: "\(Interop.kernelAddress)/24")
    }

    /// The path of the control socket `serve` is given, for `netstat`, `route` and `arp`.
    var controlPath: String { directory + "/ctl" }

    /// `serve` on `tap0` as 192.0.2.2/24 with the fixed MAC and the control socket.
    var standardServeArguments: [String] {
        ["--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "--mac", Interop.netstackMAC,
         "--control", controlPath]
    }

    /// Starts `netstack serve <arguments>` in the namespace and waits (up to 20 s)
    /// for its `ready` line. `--offload` comes first from ``Interop/offloadArguments``, so
    /// a test that pins its own mode overrides it (the last one given counts).
    func serve(_ arguments: [String]) async throws -> ChildProcess {
        let serve = try spawn([try Interop.netstackPath(), "serve"] + Interop.offloadArguments + arguments)
        try await serve.waitForLine(startingWith: "ready", timeout: .seconds(20))
        return serve
    }

    /// Stops `serve` with SIGTERM and waits (up to 20 s) for it to end.
    /// - Throws: when it had already ended: serve must run until it is told to stop.
    func stop(_ serve: ChildProcess) async throws -> Termination {
        if let ended = serve.poll() {
            throw InteropError("\(serve.summary) had already ended (\(ended)) before SIGTERM" + serve.tails)
        }
        serve.send(SIGTERM)
        return try await serve.wait(timeout: .seconds(20))
    }

    /// Runs `netstack <arguments>` in the namespace and waits up to `timeout`.
    func netstack(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> Finished {
        try await run([try Interop.netstackPath()] + arguments, timeout: timeout)
    }

    /// Runs `netstack <table> --control <controlPath>` (netstat, route, arp).
    func table(_ command: String, _ extra: [String] = []) async throws -> Finished {
        try await netstack([command, "--control", controlPath] + extra)
    }

    /// A directory under the scratch directory, created.
    func makeDirectory(_ name: String) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Downloads `url` with curl in the namespace to `path`; fails on an HTTP error.
    func curl(_ url: String, to path: String, extra: [String] = [], timeout: Duration) async throws -> Finished {
        let seconds = Int(timeout.components.seconds)
        return try await run(
            ["curl", "--silent", "--show-error", "--fail", "--max-time", "\(seconds)", "-o", path] + extra + [url],
            timeout: timeout + .seconds(5))
    }

    /// The SHA-256 of a file, as lower-case hex, by coreutils' sha256sum (fast
    /// even when the tests are a debug build; its agreement with the test
    /// support's own SHA256 is checked in the harness tests).
    func sha256(ofFile path: String) async throws -> String {
        let result = try await run(["sha256sum", path], timeout: .seconds(60))
        guard result.succeeded, let digest = result.output.split(separator: " ").first, digest.count == 64 else {
            throw InteropError("cannot hash \(path): \(result)")
        }
        return String(digest)
    }

    // MARK: Kernel-side servers

    /// Python's http.server on 192.0.2.1:`port` serving `root`, once it listens.
    func startFileServer(root: String, port: Int = 8000) async throws -> ChildProcess {
        let server = try spawn(["python3", "-m", "http.server", "\(port)", "--bind", Interop.kernelAddress,
                                "--directory", root])
        try await server.waitForLine(startingWith: "Serving HTTP", timeout: .seconds(20))
        return server
    }

    /// dnsmasq on 192.0.2.1:53 answering `name` with 192.0.2.1 and nothing else
    /// (no upstream servers, no /etc/hosts, no configuration file), once it listens.
    func startDNS(answering name: String) async throws -> ChildProcess {
        let dns = try spawn([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--listen-address=\(Interop.kernelAddress)", "--bind-interfaces",
            "--address=/\(name)/\(Interop.kernelAddress)", "--pid-file=\(directory)/dnsmasq.pid",
        ])
        try await dns.waitUntil("dnsmasq's 'started' message", timeout: .seconds(20)) { process in
            process.errorOutput.contains("started")
        }
        return dns
    }

    /// Runs a Python program in the namespace (`python3 -c program args…`).
    func python(_ program: String, _ arguments: [String] = [], timeout: Duration) async throws -> Finished {
        try await run(["python3", "-c", program] + arguments, timeout: timeout)
    }

    /// Starts a Python program in the namespace without waiting for it.
    func spawnPython(_ program: String, _ arguments: [String] = []) throws -> ChildProcess {
        try spawn(["python3", "-c", program] + arguments)
    }
}

/// Runs `probe` every 200 ms until `done` holds for its result or `timeout`
/// has passed, and returns the last result (for a state that settles soon).
func eventually<T>(timeout: Duration = .seconds(5), _ probe: () async throws -> T,
                   until done: (T) -> Bool) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var result = try await probe()
    while !done(result) && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(200))
        result = try await probe()
    }
    return result
}
