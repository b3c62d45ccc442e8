// Golden inputs for tests: the Linux captures under Tests/Fixtures/captures
// (see the README there). Foundation is used here only to read files.

import Foundation
public import NetStackWire

/// Access to the golden captures recorded from the Linux kernel.
public enum Fixtures {
    /// Absolute path of `Tests/Fixtures/captures`, found from this source file's
    /// location, so it works from any working directory.
    public static var capturesDirectory: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // NetStackTestSupport
            .deletingLastPathComponent()  // Tests
            .appendingPathComponent("Fixtures/captures", isDirectory: true)
            .path
    }

    /// The names (without `.pcap`) of every capture in ``capturesDirectory``, sorted.
    public static func captureNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: capturesDirectory)
            .filter { $0.hasSuffix(".pcap") }
            .map { String($0.dropLast(".pcap".count)) }
            .sorted()
    }

    /// The raw bytes of `Tests/Fixtures/captures/<name>.pcap`.
    public static func captureBytes(_ name: String) throws -> [UInt8] {
        try fileBytes(capturesDirectory + "/" + name + ".pcap")
    }

    /// The contents of any file, e.g. one a tool wrote under a temporary directory.
    public static func fileBytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError("cannot read \(path)")
        }
        return [UInt8](data)
    }

    /// Every record of `Tests/Fixtures/captures/<name>.pcap` (name without extension).
    public static func captureRecords(_ name: String) throws -> [PcapRecord] {
        try PcapReader.parse(captureBytes(name))
    }

    /// The frames (captured bytes only) of `Tests/Fixtures/captures/<name>.pcap`.
    public static func captureFrames(_ name: String) throws -> [[UInt8]] {
        try captureRecords(name).map(\.data)
    }
}

/// A fixture or tool the tests need is missing or unreadable.
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong, in words fit for a test failure.
    public var description: String

    /// Makes an error with `description`.
    public init(_ description: String) { self.description = description }
}
