// A network namespace of its own for each test: the kernel peer, its TAP
// devices and every process of the test live in it, and all of it goes away
// when the test ends, however it ends. Nothing touches the machine's own
// interfaces or routes.

import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace named `nsi-<pid>-<n>` with a scratch directory of the same name.
final class Namespace {
    /// The namespace's name, for `ip netns exec`.
    let name: String
    /// A scratch directory for the test's files and the processes' logs.
    let directory: String
    private let ip: String
    private var children: [ChildProcess] = []
    private var logCount = 0

    /// Numbers the namespaces of one test process. This harness is compiled into more than one
    /// test target (interop and hostile), and their suites run at once in the same process, so
    /// each target counts in its own range: the names never collide.
    private static let counter = Mutex(#fileID.hasPrefix("NetStackHostileTests/") ? 1_000_000 : 0)
    private static let prefix = "nsi-"

    /// Creates the namespace with loopback up and IPv6 off (no MLD or ND noise on the wire).
    static func create() throws -> Namespace {
        Self.removeLeftovers
        let number = counter.withLock { value in
            value += 1
            return value
        }
        let namespace = try Namespace(name: "\(prefix)\(getpid())-\(number)")
        do {
            try namespace.setUp()
        } catch {
            namespace.destroy()
            throw error
        }
        return namespace
    }

    private init(name: String) throws {
        self.name = name
        ip = try Interop.tool("ip")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private func setUp() throws {
        try hostCommand([ip, "netns", "add", name])
        try inside(["ip", "link", "set", "lo", "up"])
        try inside(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        try inside(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])
    }

    /// Ends every process the test started here (SIGTERM, then SIGKILL), deletes
    /// the namespace (and with it its devices) and the scratch directory.
    func destroy() {
        for child in children.reversed() { child.terminate(grace: .seconds(3)) }
        children.removeAll()
        _ = try? hostCommand([ip, "netns", "del", name])
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Devices

    /// Adds a persistent TAP device with the kernel's `address` (`A.B.C.D/P`) on it, up,
    /// so that the kernel side is ready before NetStack attaches.
    /// `owner`: a user id the device is given (`ip tuntap add … user ID group ID`), so that only
    /// that user (or one with CAP_NET_ADMIN) may attach to it; nil leaves it without an owner,
    /// which some kernels read as "anyone may attach".
    func addTap(_ device: String, address: String, owner: Int? = nil) throws {
        let ownership = owner.map { ["user", "\($0)", "group", "\($0)"] } ?? []
        try inside(["ip", "tuntap", "add", "dev", device, "mode", "tap"] + ownership)
        try inside(["ip", "addr", "add", address, "dev", device])
        try inside(["ip", "link", "set", device, "up"])
    }

    /// Adds a persistent TUN device, point to point from `local` to `peer`, up.
    func addTun(_ device: String, local: String, peer: String) throws {
        try inside(["ip", "tuntap", "add", "dev", device, "mode", "tun"])
        try inside(["ip", "addr", "add", local, "peer", peer, "dev", device])
        try inside(["ip", "link", "set", device, "up"])
    }

    /// The MAC address the kernel gave `device`, lower case.
    func macAddress(of device: String) throws -> String {
        // `ip netns exec` mounts the namespace's own /sys, so read it from inside.
        let text = try inside(["cat", "/sys/class/net/\(device)/address"])
        return text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    // MARK: Processes

    /// Starts `arguments` inside the namespace; `arguments[0]` is a tool name or
    /// an absolute path. The process is ended when the namespace is destroyed.
    func spawn(_ arguments: [String], input: String = "/dev/null") throws -> ChildProcess {
        let program = arguments[0].hasPrefix("/") ? arguments[0] : try Interop.tool(arguments[0])
        logCount += 1
        let label = URL(fileURLWithPath: program).lastPathComponent
        let child = try ChildProcess(
            [ip, "netns", "exec", name, program] + arguments.dropFirst(),
            logPrefix: "\(directory)/\(logCount)-\(label)",
            inputPath: input)
        children.append(child)
        return child
    }

    /// Runs `arguments` inside the namespace and waits for it, up to `timeout`.
    func run(_ arguments: [String], timeout: Duration = .seconds(20)) async throws -> Finished {
        let child = try spawn(arguments)
        try await child.wait(timeout: timeout)
        return child.finished!
    }

    /// Runs a shell command line inside the namespace (for pipelines).
    func shell(_ command: String, timeout: Duration = .seconds(20)) async throws -> Finished {
        try await run(["sh", "-c", command], timeout: timeout)
    }

    /// Runs a setup command inside the namespace, blocking; throws unless it succeeds.
    @discardableResult
    private func inside(_ arguments: [String]) throws -> String {
        try hostCommand([ip, "netns", "exec", name, try Interop.tool(arguments[0])] + arguments.dropFirst())
    }

    /// Runs a short command, blocking up to 10 s; throws unless it exits 0.
    @discardableResult
    private func hostCommand(_ arguments: [String]) throws -> String {
        logCount += 1
        let child = try ChildProcess(arguments, logPrefix: "\(directory)/\(logCount)-setup")
        let termination = child.waitBlocking(timeout: .seconds(10))
        guard termination == .exited(0) else {
            throw InteropError("\(child.summary) failed: \(termination)" + child.tails)
        }
        return child.output
    }

    /// Deletes namespaces and scratch directories that earlier runs of this
    /// suite left behind when they were killed (their pid no longer exists).
    private static let removeLeftovers: Void = {
        guard let ip = try? Interop.tool("ip") else { return }
        let temporary = FileManager.default.temporaryDirectory.path
        let namespaces = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for (entry, isNamespace) in namespaces.map({ ($0, true) }) + directories.map({ ($0, false) }) {
            guard let owner = leftoverOwner(entry), kill(owner, 0) != 0, errno == ESRCH else { continue }
            if isNamespace {
                _ = try? ChildProcess([ip, "netns", "del", entry], logPrefix: nil).waitBlocking(timeout: .seconds(10))
            } else {
                try? FileManager.default.removeItem(atPath: temporary + "/" + entry)
            }
        }
    }()

    /// The pid in a name `nsi-<pid>-<n>`, or nil when the name is not of that form.
    private static func leftoverOwner(_ name: String) -> pid_t? {
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: "-")
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, Int(parts[1]) != nil else { return nil }
        return pid
    }
}

/// Runs `body` with a fresh namespace and destroys the namespace afterwards,
/// also when `body` throws or an expectation fails.
func withNamespace<T>(_ body: (Namespace) async throws -> T) async throws -> T {
    let namespace = try Namespace.create()
    defer { namespace.destroy() }
    return try await body(namespace)
}
