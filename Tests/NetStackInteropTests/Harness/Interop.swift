// What the interop tests need from the machine: root, the `netstack` binary,
// the kernel-side tools, and files of random bytes.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The environment of the interop tests and the addresses they use.
enum Interop {
    /// True when the tests may create namespaces and TAP devices.
    static var isRoot: Bool { geteuid() == 0 }

    /// The kernel's address on the test TAP device.
    static let kernelAddress = "192.0.2.1"
    /// NetStack's address on the test TAP device.
    static let netstackAddress = "192.0.2.2"
    /// NetStack's MAC address on the test TAP device.
    static let netstackMAC = "02:00:00:00:00:02"

    /// `--offload MODE` for every `serve` the suites start, from the environment's
    /// `NETSTACK_INTEROP_OFFLOAD` (auto, on or off; unset: the command's default, off):
    /// `scripts/test.sh` runs the suites once more with it set to `on`, so every
    /// kernel interop test passes both with and without segmentation offload.
    static var offloadArguments: [String] {
        guard let mode = ProcessInfo.processInfo.environment["NETSTACK_INTEROP_OFFLOAD"], !mode.isEmpty else { return [] }
        return ["--offload", mode]
    }
    /// 64 MiB: the size of the bulk downloads.
    static let bulkSize = 64 << 20

    /// The `netstack` executable: `$NETSTACK_BIN` when set (CI points it at a
    /// release build), otherwise the one in the build products directory that
    /// holds this test bundle (`swift test` builds it there).
    static func netstackPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["NETSTACK_BIN"], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw InteropError("NETSTACK_BIN=\(path) is not an executable file")
            }
            return path
        }
        // Under `swift test` the runner is `<products>/NetStackPackageTests.xctest`,
        // and Foundation's main bundle is `<products>`.
        let runner = URL(fileURLWithPath: CommandLine.arguments.first ?? "").standardizedFileURL
        let candidates = [
            runner.deletingLastPathComponent().appendingPathComponent("netstack").path,
            URL(fileURLWithPath: Bundle.main.bundlePath).appendingPathComponent("netstack").path,
        ]
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw InteropError(
            "the netstack executable was not found (looked at \(candidates.joined(separator: " and "))); "
                + "build it with `swift build --product netstack` or set NETSTACK_BIN")
    }

    /// The absolute path of a kernel-side tool, looked up in `$PATH` and the sbin directories.
    /// - Throws: a message naming the tool when it is missing, since CI runs as root
    ///   and must not pass by skipping a peer.
    static func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw InteropError("\(name) is not installed; scripts/interop-deps.sh installs the interop tests' tools")
    }

    /// Writes `count` random bytes (from /dev/urandom) to `path`.
    static func writeRandomFile(_ path: String, count: Int) throws {
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else {
            throw InteropError("cannot open /dev/urandom")
        }
        defer { try? random.close() }
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let file = FileHandle(forWritingAtPath: path) else {
            throw InteropError("cannot create \(path)")
        }
        defer { try? file.close() }
        var left = count
        while left > 0 {
            let chunk = try random.read(upToCount: min(left, 1 << 20)) ?? Data()
            guard !chunk.isEmpty else { throw InteropError("/dev/urandom ran dry") }
            try file.write(contentsOf: chunk)
            left -= chunk.count
        }
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips the interop tests unless running as root, saying why.
    static var needsRoot: Self {
        .enabled(if: Interop.isRoot, "needs root: the interop tests create network namespaces and TAP devices")
    }
}
