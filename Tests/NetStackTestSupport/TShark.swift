// Wireshark's command-line decoder as an independent oracle: what NetStack
// writes must decode there the way the standards say. `.ci/run` installs it.

import Foundation

/// Runs `/usr/bin/tshark`. Tests that need it throw (and so fail with a clear
/// message) when it is missing; they never pass silently.
public enum TShark {
    /// Where tshark is expected (Debian's `tshark` package).
    public static let path = "/usr/bin/tshark"

    /// True when tshark is installed and executable.
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Runs tshark with `arguments` and waits for it.
    ///
    /// `output` is what tshark wrote to standard output; when it exits with a
    /// non-zero status, its standard error follows, so a failing test shows why.
    /// (On success standard error is dropped: as root tshark always warns there.)
    /// - Throws: ``FixtureError`` when tshark is not installed or cannot start.
    public static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try execute(path, arguments)
    }

    /// Runs `/usr/bin/editcap` (from the same package) like ``run(_:)``, e.g. to
    /// convert a capture to another pcap variant as an outside reference.
    public static func editcap(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try execute("/usr/bin/editcap", arguments)
    }

    private static func execute(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw FixtureError("\(tool) is not installed; install tshark (apt-get install tshark, as .ci/run does)")
        }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Standard error goes to a file so that neither pipe can fill up and block tshark.
        let errorPath = directory + "/stderr"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
              let errorHandle = FileHandle(forWritingAtPath: errorPath) else {
            throw FixtureError("cannot create \(errorPath)")
        }
        defer { try? errorHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errorHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()

        var text = String(decoding: data, as: UTF8.self)
        if process.terminationStatus != 0, let errors = FileManager.default.contents(atPath: errorPath) {
            text += String(decoding: errors, as: UTF8.self)
        }
        return (process.terminationStatus, text)
    }

    /// Writes `bytes` to `<fresh temporary directory>/<name>` (`.pcap` appended
    /// unless `name` ends with it) and returns the path. The caller may delete it.
    public static func writeTemporaryPcap(_ bytes: [UInt8], name: String) throws -> String {
        let path = try temporaryPcapPath(name: name)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw FixtureError("cannot write \(path)")
        }
        return path
    }

    /// A path `<fresh temporary directory>/<name>` (`.pcap` appended unless
    /// `name` ends with it) where nothing exists yet, for a tool to write to.
    public static func temporaryPcapPath(name: String) throws -> String {
        let file = name.hasSuffix(".pcap") ? name : name + ".pcap"
        return try makeTemporaryDirectory() + "/" + file
    }

    /// Makes a new, uniquely named directory under the system's temporary directory.
    static func makeTemporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("netstack-tests-\(UUID().uuidString)", isDirectory: true).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
