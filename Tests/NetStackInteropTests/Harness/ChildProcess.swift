// A child process for the interop tests: posix_spawn with its output in files
// (so no pipe can fill up and stall it), its own process group (so a shell
// pipeline dies as a whole), and every wait bounded by a deadline.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
enum Termination: Equatable, CustomStringConvertible {
    /// It called `exit` with this status.
    case exited(Int32)
    /// A signal with this number killed it.
    case signaled(Int32)

    /// Decodes a `waitpid` status word (`WIFEXITED` and friends are macros Swift cannot see).
    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A running (or finished) child process whose standard output and error go to files.
final class ChildProcess {
    /// The command line, for messages.
    let arguments: [String]
    /// The process id, also its process group id.
    let pid: pid_t
    /// Where its standard output goes.
    let outputPath: String
    /// Where its standard error goes.
    let errorPath: String
    /// Set once the process has been reaped.
    private(set) var termination: Termination?

    /// Starts `arguments[0]` (an absolute path) with the rest as its arguments,
    /// standard input from `inputPath` (default `/dev/null`), output and error to
    /// `<logPrefix>.out` and `<logPrefix>.err` (nowhere when `logPrefix` is nil).
    init(_ arguments: [String], logPrefix: String?, inputPath: String = "/dev/null") throws {
        precondition(!arguments.isEmpty)
        self.arguments = arguments
        outputPath = logPrefix.map { $0 + ".out" } ?? "/dev/null"
        errorPath = logPrefix.map { $0 + ".err" } ?? "/dev/null"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // A new process group, every signal unblocked, and default actions for the
        // ones that matter: a child must not inherit an ignored SIGPIPE or SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw InteropError("cannot start \(arguments[0]): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        // A child must never outlive its test, even when a test forgets it.
        if termination == nil { _ = terminate(grace: .seconds(2)) }
    }

    /// How it ended and what it printed, once it has ended.
    var finished: Finished? {
        poll().map { Finished(termination: $0, output: output, errorOutput: errorOutput, summary: summary) }
    }

    /// What the process has written to standard output so far.
    var output: String { Self.read(outputPath) }

    /// What the process has written to standard error so far.
    var errorOutput: String { Self.read(errorPath) }

    /// Reaps the process if it has ended, without waiting.
    @discardableResult
    func poll() -> Termination? {
        if termination == nil {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { termination = Termination(waitStatus: status) }
        }
        return termination
    }

    /// Waits up to `timeout` for the process to end; on timeout kills it and throws.
    @discardableResult
    func wait(timeout: Duration) async throws -> Termination {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let termination = poll() { return termination }
            try await Task.sleep(for: .milliseconds(10))
        }
        let ended = terminate(grace: .seconds(2))
        throw InteropError("\(summary) did not finish within \(timeout) (then \(ended))" + tails)
    }

    /// Waits up to `timeout` until standard output holds a line starting with
    /// `prefix`; throws if the process ends first or the time runs out.
    func waitForLine(startingWith prefix: String, timeout: Duration) async throws {
        try await waitUntil("a line starting with '\(prefix)' on standard output", timeout: timeout) { process in
            process.output.split(separator: "\n").contains { $0.hasPrefix(prefix) }
        }
    }

    /// Waits up to `timeout` until `condition` holds while the process runs;
    /// throws (naming `what`) if the process ends first or the time runs out.
    func waitUntil(_ what: String, timeout: Duration, _ condition: (ChildProcess) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self) { return }
            if let termination = poll() {
                throw InteropError("\(summary) ended (\(termination)) while waiting for \(what)" + tails)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw InteropError("\(summary): still waiting for \(what) after \(timeout)" + tails)
    }

    /// Waits up to `timeout` without suspending (for setup and cleanup code),
    /// then ends the process if it is still running.
    @discardableResult
    func waitBlocking(timeout: Duration) -> Termination {
        let deadline = ContinuousClock.now + timeout
        while poll() == nil && ContinuousClock.now < deadline { usleep(2_000) }
        return terminate(grace: .seconds(1))
    }

    /// Sends `signal` to the process's whole group.
    func send(_ signal: Int32) {
        if termination == nil { kill(-pid, signal) }
    }

    /// Sends SIGTERM, waits up to `grace`, then SIGKILL; always reaps the process.
    /// Blocks (briefly) rather than suspending, so that cleanup can run in a `defer`.
    @discardableResult
    func terminate(grace: Duration) -> Termination {
        if let termination = poll() { return termination }
        send(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let termination = poll() { return termination }
            usleep(5_000)
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        // After SIGKILL the process ends promptly; the retry only covers EINTR.
        var attempts = 0
        while waitpid(pid, &status, 0) != pid && errno == EINTR && attempts < 100 { attempts += 1 }
        termination = Termination(waitStatus: status)
        return termination!
    }

    /// The command, shortened, for messages.
    var summary: String {
        let text = arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        return "`" + (text.count > 200 ? text.prefix(200) + "…" : text) + "`"
    }

    /// The last lines of standard output and error, for failure messages.
    var tails: String {
        func tail(_ text: String) -> String {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.suffix(15).joined(separator: "\n")
        }
        let out = tail(output), err = tail(errorOutput)
        return (out.isEmpty ? "" : "\n  stdout: " + out) + (err.isEmpty ? "" : "\n  stderr: " + err)
    }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// A finished command: how it ended and what it printed.
struct Finished: CustomStringConvertible {
    /// How it ended.
    var termination: Termination
    /// Its standard output.
    var output: String
    /// Its standard error.
    var errorOutput: String
    /// The command, for messages.
    var summary: String

    /// True when it exited with status 0.
    var succeeded: Bool { termination == .exited(0) }

    /// The non-empty lines of standard error.
    var errorLines: [Substring] { errorOutput.split(separator: "\n") }

    var description: String {
        "\(summary): \(termination)"
            + (output.isEmpty ? "" : "\n  stdout: " + output.suffix(2000))
            + (errorOutput.isEmpty ? "" : "\n  stderr: " + errorOutput.suffix(2000))
    }
}

/// A failure of the harness or of a peer, with what the processes said.
struct InteropError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
