import Testing
import Foundation
import NetStackWire
import NetStackDemo

/// Runs the `netstack` executable SwiftPM built next to this test bundle.
/// `locale` replaces the locale variables (LC_ALL, LC_MESSAGES, LANG) of the test's environment when given.
private func netstack(_ arguments: [String], locale: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        .deletingLastPathComponent()
    let executable = directory.appendingPathComponent("netstack")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable.path])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let locale {
        var environment = ProcessInfo.processInfo.environment
        for name in ["LC_ALL", "LC_MESSAGES", "LANG"] { environment[name] = locale[name] }
        process.environment = environment
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Standard error is read on another thread, so neither pipe can fill up and block the child.
    let errorData = ErrorCollector(err.fileHandleForReading)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), errorData.text())
}

/// Reads a pipe to its end on a background thread.
private final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func text() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("The netstack command line")
struct CommandLineTests {
    @Test("bad input gets one line on standard error and a non-zero exit", arguments: [
        ["demo", "--bogus"], ["demo", "--seed", "abc"], ["demo", "--quiet", "--verbose"], ["frobnicate"],
        ["bench", "tcp", "--bytes", "12X"], ["bench", "rr", "--size", "0"], ["bench", "rr", "--count", "x"], ["demo", "--quiet", "--pcap", "/nonexistent-dir/x.pcap"],
        ["bench", "lossy", "--bytes", "12X"], ["bench", "lossy", "--bytes", "0"], ["bench", "lossy", "--loss", "150%"],
        ["bench", "lossy", "--rtt", "0"], ["bench", "lossy", "--reorder", "x"], ["bench", "lossy", "--time-limit", "0"],
    ])
    func badInput(arguments: [String]) throws {
        let result = try netstack(arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(lines.first?.hasPrefix("netstack: ") == true)
    }

    @Test("a bad --congestion gets one line naming the valid controllers and a non-zero exit", arguments: [
        ["bench", "lossy", "--congestion", "vegas"], ["bench", "lossy", "--congestion", "cubic,vegas"],
        ["bench", "tcp", "--congestion", "vegas"], ["bench", "tunnel", "--congestion", "vegas"],
        ["serve", "--tap", "nstest0", "--address", "192.0.2.2/24", "--congestion", "vegas"],
        ["fetch", "--tun", "nstest0", "--address", "192.0.2.2/24", "--congestion", "vegas", "http://192.0.2.1/"],
    ])
    func badCongestion(arguments: [String]) throws {
        let result = try netstack(arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(lines.first?.hasPrefix("netstack: bad --congestion 'vegas'") == true, "stderr: \(result.stderr)")
        #expect(lines.first?.contains("newreno, cubic") == true)
        #expect(result.stdout.isEmpty)
    }

    @Test("a bad --offload gets one line naming auto, on, off and a non-zero exit, on every device command", arguments: [
        ["serve", "--tap", "nstest0", "--address", "192.0.2.2/24", "--offload", "sometimes"],
        ["fetch", "--tun", "nstest0", "--address", "192.0.2.2/24", "--offload", "yes", "http://192.0.2.1/"],
        ["ping", "--tap", "nstest0", "--address", "192.0.2.2/24", "--offload", "", "192.0.2.1"],
        ["tunnel", "--tun", "nstest0", "--address", "198.51.100.1/24", "--offload", "tso"],
    ])
    func badOffload(arguments: [String]) throws {
        try expectOneLineRefusal(arguments, prefix: "netstack: bad --offload '", suffix: "one of auto, on, off")
    }

    @Test("a bad --busy-poll gets one line naming the bounds and a non-zero exit, on every device command", arguments: [
        ["serve", "--tap", "nstest0", "--address", "192.0.2.2/24", "--busy-poll", "-5"],
        ["fetch", "--tun", "nstest0", "--address", "192.0.2.2/24", "--busy-poll", "fast", "http://192.0.2.1/"],
        ["ping", "--tap", "nstest0", "--address", "192.0.2.2/24", "--busy-poll", "1000001", "192.0.2.1"],
        ["tunnel", "--tun", "nstest0", "--address", "198.51.100.1/24", "--busy-poll", "50us"],
        ["serve", "--tap", "nstest0", "--address", "192.0.2.2/24", "--busy-poll", ""],
    ])
    func badBusyPoll(arguments: [String]) throws {
        try expectOneLineRefusal(arguments, prefix: "netstack: bad --busy-poll '", suffix: "microseconds, 0 (off) to 1000000")
    }

    @Test("--address dhcp on a TUN, or beside --gateway, gets one line and a non-zero exit", arguments: [
        (["ping", "--tun", "nstest0", "--address", "dhcp", "192.0.2.1"], "needs a TAP device (--tap or --tap-fd)"),
        (["serve", "--tap", "nstest0", "--address", "dhcp", "--gateway", "192.0.2.1"], "the lease names the router)"),
    ])
    func dhcpRefusals(arguments: [String], suffix: String) throws {
        try expectOneLineRefusal(arguments, prefix: "netstack: --", suffix: suffix)
    }

    /// `netstack arguments` exits non-zero with one line on stderr, from `prefix` to `suffix`, and nothing on stdout.
    private func expectOneLineRefusal(_ arguments: [String], prefix: String, suffix: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try netstack(arguments)
        #expect(result.status != 0, sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasPrefix(prefix) == true, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.hasSuffix(suffix) == true, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("bench lossy takes newreno, its alias reno, and comma lists, one row per controller and path")
    func benchLossyRows() throws {
        let result = try netstack(["bench", "lossy", "--bytes", "64K", "--rtt", "2", "--loss", "0,1%", "--reorder", "0",
                                   "--congestion", "reno", "--congestion", "newreno,cubic"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("newreno ") || $0.hasPrefix("cubic ") }
        #expect(rows.count == 4, "stdout: \(result.stdout)")
        #expect(rows.first?.hasPrefix("newreno ") == true && rows.last?.hasPrefix("cubic ") == true)
        #expect(!result.stdout.contains("CORRUPTED"))
    }

    @Test("a bad demo option is a usage error: one line on standard error, exit 64, nothing run", arguments: [
        ["--loss", "2"], ["--loss", "60%"], ["--loss", "-0.1"], ["--loss", "abc"], ["--loss", "nan"],
        ["--mss", "80"], ["--mss", "1461"], ["--mss", "x"], ["--seed", "-1"], ["--quiet", "--verbose"],
        ["--pcap", "/nonexistent-dir/x.pcap"], ["--html", "/nonexistent-dir/x.html"], ["--html", ""], ["--lang", "fr"], ["--lang", ""], ["--lang", "korean"], ["--ipv6", "--mss", "536"], ["--ipv6", "--mss", "1441"],
    ])
    func badDemoOption(arguments: [String]) throws {
        let result = try netstack(["demo"] + arguments)
        #expect(result.status == 64)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(lines.first?.hasPrefix("netstack: ") == true)
        #expect(result.stdout.isEmpty)
    }

    @Test("demo --help explains every option")
    func help() throws {
        let result = try netstack(["demo", "--help"])
        #expect(result.status == 0)
        for option in ["--pcap", "--pcap-all", "--html", "--seed", "--loss", "--mss", "--lang", "--ipv6", "--quiet", "--verbose", "--step",
                       "--no-color"] {
            #expect(result.stdout.contains(option), "\(option) missing from the help")
        }
    }

    @Test("demo exits 0, and its --pcap and --pcap-all files hold the same bytes as the run in process")
    func demoWritesCapture() throws {
        let path = NSTemporaryDirectory() + "netstack-demo-\(getpid()).pcap"
        let allPath = NSTemporaryDirectory() + "netstack-demo-all-\(getpid()).pcap"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: allPath)
        }
        let result = try netstack(["demo", "--lang", "en", "--no-color", "--step", "--pcap", path, "--pcap-all", allPath])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdout.contains("— identical ✓"))
        #expect(result.stdout.contains("Kernel IP routing table"))
        #expect(!result.stdout.contains("\u{1B}["))
        #expect(!result.stdout.contains("press Enter"))
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let inProcess = Demo.run(DemoOptions()) { _ in }
        #expect(written == inProcess.capture)
        #expect(try PcapReader.parse(written).count > 100)
        let writtenAll = try [UInt8](Data(contentsOf: URL(fileURLWithPath: allPath)))
        #expect(writtenAll == inProcess.networkCapture)
    }

    @Test("demo --html writes the same page as the run in process, with the same seed and language")
    func demoWritesPage() throws {
        let path = NSTemporaryDirectory() + "netstack-demo-\(getpid()).html"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try netstack(["demo", "--lang", "ko", "--no-color", "--seed", "3", "--html", path])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdout.contains(path))
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var options = DemoOptions()
        options.seed = 3
        options.language = .korean
        options.html = true
        #expect(written == Demo.run(options) { _ in }.html)
    }

    @Test("demo --loss accepts a fraction or a percentage, and --mss a size, and still completes", arguments: [
        ["--loss", "0.01"], ["--loss", "2%"], ["--mss", "536"],
    ])
    func demoOptions(arguments: [String]) throws {
        let result = try netstack(["demo", "--quiet", "--lang", "en"] + arguments)
        #expect(result.status == 0)
        #expect(result.stdout.contains("— identical ✓"))
        #expect(!result.stdout.contains("Did not complete"))
    }

    @Test("a bad --lang names the two languages in its one line")
    func badLanguage() throws {
        let result = try netstack(["demo", "--lang", "fr"])
        #expect(result.stderr == "netstack: --lang must be ko or en, not 'fr'\n")
    }

    @Test("demo speaks Korean when asked, or when the locale is Korean; LC_ALL overrides LANG", arguments: [
        (["--lang", "ko"], ["LANG": "en_US.UTF-8"], true),
        (["--lang", "en"], ["LANG": "ko_KR.UTF-8"], false),
        ([], ["LANG": "ko_KR.UTF-8"], true),
        ([], ["LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"], true),
        ([], ["LC_ALL": "C", "LANG": "ko_KR.UTF-8"], false),
        ([], [:], false),
    ])
    func language(arguments: [String], locale: [String: String], korean: Bool) throws {
        let result = try netstack(["demo", "--quiet"] + arguments, locale: locale)
        #expect(result.status == 0)
        #expect(result.stdout.contains("== 3. connect(): 3-way 핸드셰이크") == korean)
        #expect(result.stdout.contains("== 3. connect(): the three-way handshake") == !korean)
        #expect(result.stdout.contains(korean ? "— 같다 ✓" : "— identical ✓"))
        #expect(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).count <= 41)
    }

    @Test("bench connections opens, holds, closes and cycles connections, and reports each on its line")
    func benchConnections() throws {
        let result = try netstack(["bench", "connections", "--count", "1500", "--cycles", "1500"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "netstack bench connections: 1500 concurrent established idle connections (two hosts, one process)")
        for label in ["heap growth", "RSS growth", "opened in", "TIME_WAIT        1500 client connections", "setup+teardown   1500 connections"] {
            #expect(lines.contains { $0.hasPrefix("  " + label) }, "no line for \(label): \(result.stdout)")
        }
    }
}
