// The runtime does not trust its surroundings: the control socket is the
// owner's only and a silent client cannot stall networking; --pcap does not
// follow symbolic links, replace files or grow without bound; a device deleted
// under a running command ends it; the web server keeps dotfiles private.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension InteropTests {
    @Suite("Runtime hardening")
    struct RuntimeHardening {
        /// The round-trip times `ping` printed, in milliseconds.
        static func roundTrips(_ output: String) -> [Double] {
            output.split(separator: "\n").compactMap { line in
                guard let range = line.range(of: "time=") else { return nil }
                return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
            }
        }

        @Test("The control socket is mode 0600, and silent control clients do not stall pings")
        func controlSocket() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--echo", "7"])
                var info = stat()
                #expect(lstat(ns.controlPath, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")

                // Forty clients that connect, send nothing and hold on, one every 50 ms.
                let silent = try ns.spawnPython("""
                    import socket, sys, time
                    held = []
                    for _ in range(40):
                        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        s.connect(sys.argv[1])
                        held.append(s)
                        time.sleep(0.05)
                    time.sleep(2)
                    """, [ns.controlPath])
                let ping = try await ns.run(["ping", "-c", "20", "-i", "0.1", "-W", "1", Interop.netstackAddress],
                                            timeout: .seconds(30))
                _ = try await silent.wait(timeout: .seconds(20))
                #expect(ping.succeeded, "\(ping)")
                let times = Self.roundTrips(ping.output)
                print("round trips (ms) while 40 control clients stayed silent: max \(times.max() ?? -1), \(times)")
                #expect(times.count == 20, "\(ping)")
                #expect((times.max() ?? .infinity) < 100, "round trips while control clients stayed silent: \(times)")

                let netstat = try await ns.table("netstat")
                #expect(netstat.succeeded && netstat.output.contains("Proto"), "\(netstat)")
                // The services' own counters follow the stack's in netstat -s.
                let statistics = try await ns.table("netstat", ["--statistics"])
                #expect(statistics.output.contains("Services:\n    0 echo 7: connections accepted\n    0 echo 7: connections refused over the limit\n"),
                        "\(statistics.output)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("--pcap refuses a symbolic link and an existing file unless --pcap-overwrite; a new capture is 0600")
        func pcapRefusals() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let base = ["serve", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24"]
                let victim = ns.directory + "/victim"
                try "precious\n".write(toFile: victim, atomically: false, encoding: .utf8)
                let link = ns.directory + "/link.pcap"
                try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim)

                for arguments in [["--pcap", link], ["--pcap", link, "--pcap-overwrite"], ["--pcap", victim]] {
                    let refused = try await ns.netstack(base + arguments)
                    expectOneLineFailure(refused)
                    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n", "\(arguments)")
                }

                let overwritten = try await ns.serve(["--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                                                      "--pcap", victim, "--pcap-overwrite"])
                #expect(try await ns.stop(overwritten) == .exited(0), "\(overwritten.tails)")
                var info = stat()
                #expect(lstat(victim, &info) == 0 && info.st_mode & 0o777 == 0o600)
                #expect(try Data(contentsOf: URL(fileURLWithPath: victim)).prefix(4) == Data([0xd4, 0xc3, 0xb2, 0xa1]))

                for bad in ["0", "ten", "10X", "-5M"] {
                    let result = try await ns.netstack(base + ["--pcap", ns.directory + "/x.pcap", "--pcap-limit", bad])
                    #expect(result.termination == .exited(64), "--pcap-limit \(bad): \(result)")
                    expectOneLineFailure(result)
                }
                for command in [["ping", "-c", "1"], ["fetch"]] {
                    let target = command[0] == "ping" ? Interop.kernelAddress : "http://\(Interop.kernelAddress)/"
                    let result = try await ns.netstack(
                        command + ["--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "--pcap", link, target])
                    expectOneLineFailure(result)
                }
            }
        }

        @Test("--pcap-limit stops the capture at the limit with one line on stderr, and serve keeps answering")
        func pcapLimit() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let pcap = ns.directory + "/limited.pcap"
                let serve = try await ns.serve(ns.standardServeArguments + ["--pcap", pcap, "--pcap-limit", "8K"])
                let ping = try await ns.run(["ping", "-c", "30", "-i", "0.02", "-s", "500", "-W", "1", Interop.netstackAddress],
                                            timeout: .seconds(30))
                #expect(ping.output.contains("30 packets transmitted, 30 received"), "\(ping)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                let size = (try FileManager.default.attributesOfItem(atPath: pcap)[.size] as? Int) ?? -1
                #expect(size > 4096 && size <= 8192, "capture of \(size) bytes")
                let lines = serve.errorOutput.split(separator: "\n")
                #expect(lines.count == 1 && lines.first?.contains("limit") == true, "stderr: \(serve.errorOutput)")
            }
        }

        @Test("Deleting the TAP device under serve or ping ends it within seconds with one line and a non-zero exit")
        func deviceDeleted() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments)
                let deleted = try await ns.run(["ip", "link", "del", "tap0"])
                #expect(deleted.succeeded, "\(deleted)")
                let ended = try await serve.wait(timeout: .seconds(5))
                #expect(ended != .exited(0) && ended != .signaled(SIGKILL), "\(ended)")
                if case .signaled = ended { Issue.record("serve crashed: \(serve.tails)") }
                #expect(serve.errorOutput.split(separator: "\n").count == 1 && serve.errorOutput.contains("tap0"),
                        "stderr: \(serve.errorOutput)")

                try ns.addStandardTap()
                let ping = try ns.spawn([try Interop.netstackPath(), "ping", "--tap", "tap0", "--address",
                                         "\(Interop.netstackAddress)/24", "-i", "0.1", Interop.kernelAddress])
                try await ping.waitUntil("a reply", timeout: .seconds(10)) { $0.output.contains("bytes from") }
                _ = try await ns.run(["ip", "link", "del", "tap0"])
                let pingEnded = try await ping.wait(timeout: .seconds(5))
                #expect(pingEnded != .exited(0), "\(pingEnded)")
                #expect(ping.errorOutput.split(separator: "\n").count == 1, "stderr: \(ping.errorOutput)")
            }
        }

        @Test("curl gets 404 for /.git/config and /.env unless serve has --dotfiles")
        func dotfiles() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let root = try ns.makeDirectory("www")
                try FileManager.default.createDirectory(atPath: root + "/.git", withIntermediateDirectories: true)
                try "[core]\n".write(toFile: root + "/.git/config", atomically: false, encoding: .utf8)
                try "SECRET=1\n".write(toFile: root + "/.env", atomically: false, encoding: .utf8)
                try "hello\n".write(toFile: root + "/index.html", atomically: false, encoding: .utf8)
                let base = "http://\(Interop.netstackAddress):8080"

                let serve = try await ns.serve(ns.standardServeArguments + ["--http", "8080", "--root", root])
                for path in ["/.git/config", "/.env", "/%2egit/config"] {
                    let status = try await ns.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + path])
                    #expect(status.output == "404", "\(path): \(status)")
                }
                let index = try await ns.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/"])
                #expect(index.output == "200", "\(index)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")

                let open = try await ns.serve(ns.standardServeArguments + ["--http", "8080", "--root", root, "--dotfiles"])
                let env = try await ns.run(["curl", "-s", base + "/.env"])
                #expect(env.output == "SECRET=1\n", "\(env)")
                #expect(try await ns.stop(open) == .exited(0), "\(open.tails)")
            }
        }
    }
}
