// The harness itself, with kernel peers only (no NetStack): namespaces and
// their devices appear and vanish, processes never outlive a test, waits are
// bounded, and the peers the other suites rely on work in a namespace.

import Foundation
import NetStackTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension InteropTests {
    @Suite("Harness")
    struct Harness {
        @Test("A namespace holds its own TAP device and is gone, with its directory, after the scope")
        func namespaceLifecycle() async throws {
            var name = ""
            var directory = ""
            try await withNamespace { ns in
                name = ns.name
                directory = ns.directory
                try ns.addStandardTap()
                let addresses = try await ns.run(["ip", "-br", "addr", "show", "dev", "tap0"])
                #expect(addresses.succeeded, "\(addresses)")
                #expect(addresses.output.contains("192.0.2.1/24"), "\(addresses)")
                let mac = try ns.macAddress(of: "tap0")
                #expect(mac.split(separator: ":").count == 6, "MAC read from sysfs: \(mac)")
                let ipv6 = try await ns.run(["sysctl", "-n", "net.ipv6.conf.default.disable_ipv6"])
                #expect(ipv6.output.hasPrefix("1"), "\(ipv6)")
            }
            #expect(!FileManager.default.fileExists(atPath: "/run/netns/" + name))
            #expect(!FileManager.default.fileExists(atPath: directory))
        }

        @Test("Processes started in a namespace are ended when the scope throws")
        func processesEndWithTheScope() async throws {
            var pid: pid_t = 0
            await #expect(throws: InteropError.self) {
                try await withNamespace { ns in
                    let sleeper = try ns.spawn(["sleep", "600"])
                    pid = sleeper.pid
                    try await Task.sleep(for: .milliseconds(50))
                    throw InteropError("the test failed")
                }
            }
            #expect(pid > 0)
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "process \(pid) still exists")
        }

        @Test("A wait that runs out of time fails and kills the process")
        func boundedWait() async throws {
            try await withNamespace { ns in
                let sleeper = try ns.spawn(["sleep", "600"])
                let started = ContinuousClock.now
                await #expect(throws: InteropError.self) { try await sleeper.wait(timeout: .milliseconds(200)) }
                #expect(ContinuousClock.now - started < .seconds(5))
                #expect(sleeper.termination == .signaled(SIGTERM))
            }
        }

        @Test("dnsmasq answers the test name, and curl downloads from python's http.server, in the namespace")
        func kernelPeers() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let root = try ns.makeDirectory("www")
                try Interop.writeRandomFile(root + "/one.bin", count: 1 << 20)
                let expected = try await ns.sha256(ofFile: root + "/one.bin")
                _ = try await ns.startDNS(answering: "files.example.test")
                _ = try await ns.startFileServer(root: root)

                let answer = try await ns.python(dnsQuery, ["files.example.test"], timeout: .seconds(10))
                #expect(answer.succeeded && answer.output == "192.0.2.1\n", "\(answer)")

                let out = ns.directory + "/one.out"
                let download = try await ns.curl("http://192.0.2.1:8000/one.bin", to: out, timeout: .seconds(20))
                #expect(download.succeeded, "\(download)")
                #expect(try await ns.sha256(ofFile: out) == expected)
            }
        }

        @Test("sha256sum, the digest the tests compare files by, agrees with the test support's SHA256")
        func fileDigest() async throws {
            try await withNamespace { ns in
                let path = ns.directory + "/digest.bin"
                try Interop.writeRandomFile(path, count: (256 << 10) + 77)
                let bytes = try Fixtures.fileBytes(path)
                #expect(bytes.count == (256 << 10) + 77)
                #expect(try await ns.sha256(ofFile: path) == SHA256.hex(bytes))
            }
        }

        @Test("The netstack executable is found")
        func netstackFound() throws {
            let path = try Interop.netstackPath()
            #expect(FileManager.default.isExecutableFile(atPath: path))
        }
    }
}

/// A Python program that asks 192.0.2.1:53 for the A record of argv[1] and
/// prints the first address in the answer (a resolver independent of libc's).
let dnsQuery = #"""
import socket, struct, sys
name = sys.argv[1]
query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(query, ("192.0.2.1", 53))
reply = s.recv(512)
ancount = struct.unpack(">H", reply[6:8])[0]
if ancount == 0: sys.exit("no answer, rcode %d" % (reply[3] & 15))
print(socket.inet_ntoa(reply[-4:]))
"""#
