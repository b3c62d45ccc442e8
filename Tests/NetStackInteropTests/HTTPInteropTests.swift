// HTTP both ways: curl downloads from `netstack serve`, `netstack fetch`
// downloads from Python's http.server, by name through dnsmasq. What arrives
// must hash like what was sent.

import Foundation
import NetStackTestSupport
import Testing

extension InteropTests {
    @Suite("HTTP")
    struct HTTP {
        @Test("curl downloads 64 MiB from NetStack's HTTP server intact")
        func curlDownloadsFromServe() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(ns.standardServeArguments + ["--http", "8080", "--root", root])

                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out,
                                                  timeout: .seconds(300))
                print("curl from serve: 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("Ten parallel curl downloads from NetStack all arrive intact")
        func parallelDownloads() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(ns.standardServeArguments + ["--http", "8080", "--root", root])

                let url = "http://\(Interop.netstackAddress):8080/big.bin"
                let downloads = try (0..<10).map { index in
                    try ns.spawn(["curl", "--silent", "--show-error", "--fail", "--max-time", "300",
                                  "-o", ns.directory + "/parallel-\(index).out", url])
                }
                for (index, curl) in downloads.enumerated() {
                    let termination = try await curl.wait(timeout: .seconds(310))
                    #expect(termination == .exited(0), "download \(index): \(termination)\(curl.tails)")
                    #expect(try await ns.sha256(ofFile: ns.directory + "/parallel-\(index).out") == expected,
                            "download \(index) differs from the file served")
                }
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("NetStack's HTTP server answers HEAD and 404 and keeps connections alive")
        func serveSemantics() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, _) = try await makeWebRoot(ns, size: 100_000)
                let pcap = ns.directory + "/serve.pcap"
                // Offload off: every segment in the capture carries a checksum NetStack computed itself
                // (OffloadInteropTests checks the captures with offload on).
                let serve = try await ns.serve(ns.standardServeArguments
                    + ["--http", "8080", "--root", root, "--pcap", pcap, "--offload", "off"])
                let base = "http://\(Interop.netstackAddress):8080"

                let head = try await ns.run(["curl", "-sS", "--max-time", "10", "--head", base + "/big.bin"])
                #expect(head.succeeded, "\(head)")
                #expect(head.output.hasPrefix("HTTP/1.1 200"), "\(head)")
                #expect(head.output.lowercased().contains("content-length: 100000"), "\(head)")

                let missing = try await ns.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null",
                                                "-w", "%{http_code}", base + "/no-such-file"])
                #expect(missing.output == "404", "\(missing)")

                // Two requests in one curl: the second must reuse the first connection.
                let twice = try await ns.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-o", "/dev/null",
                                              "-w", "%{http_code} %{num_connects}\\n", base + "/small.txt", base + "/big.bin"])
                #expect(twice.output == "200 1\n200 0\n", "\(twice)")

                let small = try await ns.run(["curl", "-sS", "--max-time", "10", base + "/small.txt"])
                #expect(small.output == smallText, "\(small)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")

                // Wireshark, as an outside oracle, finds every IP and TCP checksum NetStack wrote right.
                let checks = try TShark.run([
                    "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                    "-Y", "ip.src == \(Interop.netstackAddress) && tcp", "-T", "fields",
                    "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                ])
                let statuses = checks.output.split(separator: "\n")
                #expect(statuses.count > 50, "NetStack's TCP segments in the capture: \(statuses.count)")
                #expect(statuses.allSatisfy { $0 == "1\t1" }, "checksum statuses (1 is good): \(Set(statuses))")
            }
        }

        @Test("netstack fetch downloads 64 MiB by name from the kernel's http.server intact")
        func fetchByName() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                _ = try await ns.startDNS(answering: "files.example.test")
                _ = try await ns.startFileServer(root: root)

                let out = ns.directory + "/fetched.out"
                let started = ContinuousClock.now
                let fetch = try await ns.netstack(
                    ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "--dns", Interop.kernelAddress,
                     "http://files.example.test:8000/big.bin", "-o", out],
                    timeout: .seconds(300))
                print("fetch from http.server: 64 MiB in \(ContinuousClock.now - started)")
                #expect(fetch.succeeded, "\(fetch)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
            }
        }

        @Test("netstack fetch writes the body to standard output when given no file")
        func fetchToStandardOutput() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, _) = try await makeWebRoot(ns, size: 1000)
                _ = try await ns.startFileServer(root: root)
                let fetch = try await ns.netstack(
                    ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                     "http://\(Interop.kernelAddress):8000/small.txt"])
                #expect(fetch.succeeded, "\(fetch)")
                #expect(fetch.output == smallText, "\(fetch)")
            }
        }

        @Test("netstack fetch of an unknown name or a missing file fails with one line")
        func fetchFailures() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, _) = try await makeWebRoot(ns, size: 1000)
                _ = try await ns.startDNS(answering: "files.example.test")
                _ = try await ns.startFileServer(root: root)
                let common = ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                              "--dns", Interop.kernelAddress]
                for url in ["http://nowhere.example.test:8000/small.txt", "http://files.example.test:8000/missing.bin"] {
                    let fetch = try await ns.netstack(common + [url, "-o", ns.directory + "/failed.out"],
                                                      timeout: .seconds(60))
                    expectOneLineFailure(fetch)
                }
            }
        }
    }
}

/// The body of `small.txt` in every web root.
let smallText = "hello from the test\n"

/// A web root under the namespace's directory with `big.bin` (`size` random
/// bytes) and `small.txt`; returns its path and the SHA-256 of `big.bin`.
func makeWebRoot(_ ns: Namespace, size: Int) async throws -> (root: String, big: String) {
    let root = try ns.makeDirectory("www")
    try Interop.writeRandomFile(root + "/big.bin", count: size)
    try smallText.write(toFile: root + "/small.txt", atomically: false, encoding: .utf8)
    return (root, try await ns.sha256(ofFile: root + "/big.bin"))
}

/// Bad input: a non-zero exit (not a crash) and exactly one line on standard error.
func expectOneLineFailure(_ result: Finished, sourceLocation: SourceLocation = #_sourceLocation) {
    switch result.termination {
    case .exited(let status):
        #expect(status != 0, "expected a failure: \(result)", sourceLocation: sourceLocation)
    case .signaled:
        Issue.record("crashed instead of failing: \(result)", sourceLocation: sourceLocation)
    }
    #expect(result.errorLines.count == 1, "expected exactly one line on stderr: \(result)",
            sourceLocation: sourceLocation)
    for marker in ["Fatal error", "Stack dump", "Backtrace", "Crash"] {
        #expect(!result.errorOutput.contains(marker) && !result.output.contains(marker),
                "\(marker) in the output: \(result)", sourceLocation: sourceLocation)
    }
}
