import Testing
import Foundation

/// Runs the `netstack` executable SwiftPM built next to this test bundle.
private func netstack(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let directory = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        .deletingLastPathComponent()
    let executable = directory.appendingPathComponent("netstack")
    guard FileManager.default.isExecutableFile(atPath: executable.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable.path])
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

@Suite("The netstack command line")
struct CommandLineTests {
    @Test("bad input gets one line on standard error and a non-zero exit", arguments: [
        ["demo", "--bogus"], ["demo", "--seed", "abc"], ["demo", "--quiet", "--verbose"], ["frobnicate"],
        ["bench", "tcp", "--bytes", "12X"], ["demo", "--quiet", "--pcap", "/nonexistent-dir/x.pcap"],
    ])
    func badInput(arguments: [String]) throws {
        let result = try netstack(arguments)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(lines.first?.hasPrefix("netstack: ") == true)
    }

    @Test("demo --pcap writes a capture and exits 0")
    func demoWritesCapture() throws {
        let path = NSTemporaryDirectory() + "netstack-demo-\(getpid()).pcap"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try netstack(["demo", "--quiet", "--no-color", "--pcap", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Kernel IP routing table"))
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect((size ?? 0) > 1000)
    }
}
