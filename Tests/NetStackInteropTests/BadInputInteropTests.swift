// Bad input to the commands, against real devices: each must fail with a
// non-zero exit and exactly one line on standard error — no usage dump, no
// stack trace, and never a hang.

import Foundation
import Testing

extension InteropTests {
    @Suite("Bad input")
    struct BadInput {
        /// One command line that must be refused.
        struct Case: Sendable, CustomTestStringConvertible {
            var label: String
            var arguments: [String]
            var testDescription: String { label }
        }

        static let address = ["--address", "\(Interop.netstackAddress)/24"]
        static let onTap = ["--tap", "tap0"]

        static let cases: [Case] = [
            Case(label: "serve on a device that does not exist", arguments: ["serve", "--tap", "nosuch0"] + address),
            Case(label: "serve with --tap on the loopback device", arguments: ["serve", "--tap", "lo"] + address),
            Case(label: "serve with --tap on a TUN device", arguments: ["serve", "--tap", "tun0"] + address),
            Case(label: "serve with --tun on a TAP device", arguments: ["serve", "--tun", "tap0"] + address),
            Case(label: "serve with an octet over 255", arguments: ["serve"] + onTap + ["--address", "192.0.2.300/24"]),
            Case(label: "serve with a prefix over 32", arguments: ["serve"] + onTap + ["--address", "192.0.2.2/33"]),
            Case(label: "serve with no address at all", arguments: ["serve"] + onTap + ["--address", "not-an-address"]),
            Case(label: "serve with a malformed MAC", arguments: ["serve"] + onTap + address + ["--mac", "02:00:00:00:00"]),
            Case(label: "serve with two services on one port", arguments: ["serve"] + onTap + address + ["--echo", "7", "--discard", "7"]),
            Case(label: "serve with a missing web root", arguments: ["serve"] + onTap + address + ["--http", "8080", "--root", "/nonexistent/www"]),
            Case(label: "serve with a malformed impairment", arguments: ["serve"] + onTap + address + ["--impair", "loss=150%"]),
            Case(label: "ping with no route to the host", arguments: ["ping"] + onTap + address + ["-c", "1", "203.0.113.9"]),
            Case(label: "fetch with no route to the host", arguments: ["fetch"] + onTap + address + ["http://203.0.113.9/"]),
            Case(label: "fetch of a URL that is not http", arguments: ["fetch"] + onTap + address + ["ftp://192.0.2.1/file"]),
            Case(label: "fetch with --dns-timeout 0",
                 arguments: ["fetch"] + onTap + address + ["--dns", "192.0.2.1", "--dns-timeout", "0", "http://a.test/"]),
            Case(label: "ping with a --dns-timeout that is not a number",
                 arguments: ["ping"] + onTap + address + ["--dns", "192.0.2.1", "--dns-timeout", "soon", "a.test"]),
            Case(label: "tunnel with no --tun", arguments: ["tunnel", "--address", "198.51.100.1/24"]),
            Case(label: "tunnel with an octet over 255", arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.300/24"]),
            Case(label: "tunnel on a TAP device", arguments: ["tunnel", "--tun", "tap0", "--address", "198.51.100.1/24"]),
            Case(label: "tunnel on a device that does not exist", arguments: ["tunnel", "--tun", "nosuch0", "--address", "198.51.100.1/24"]),
            Case(label: "tunnel with --max-flows 0", arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--max-flows", "0"]),
            Case(label: "tunnel with --udp-timeout 0", arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--udp-timeout", "0"]),
            Case(label: "tunnel with an outbound interface that does not exist",
                 arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--outbound-interface", "nosuch0"]),
            Case(label: "tunnel with --socks5 and no port",
                 arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--socks5", "192.0.2.1"]),
            Case(label: "tunnel with both --direct and --socks5",
                 arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--direct", "--socks5", "192.0.2.1:1080"]),
            Case(label: "tunnel with --socks5-user and no NETSTACK_SOCKS5_PASSWORD",
                 arguments: ["tunnel", "--tun", "tun0", "--address", "198.51.100.1/24", "--socks5", "192.0.2.1:1080",
                             "--socks5-user", "bob"]),
            Case(label: "netstat with no serve behind the control socket", arguments: ["netstat", "--control", "/nonexistent/ctl"]),
        ]

        @Test("A bad command line fails with one line on stderr", arguments: cases)
        func refused(_ input: Case) async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let tun = try await ns.run(["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"])
                #expect(tun.succeeded, "\(tun)")
                let netstack = try ns.spawn([try Interop.netstackPath()] + input.arguments)
                // A serve that took the input prints `ready`: no need to wait for the timeout then.
                let deadline = ContinuousClock.now + .seconds(30)
                while netstack.poll() == nil && !netstack.output.hasPrefix("ready") && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                guard let result = netstack.finished else {
                    let ended = netstack.terminate(grace: .seconds(5))
                    Issue.record("accepted instead of refused (stopped: \(ended)): \(netstack.summary)\(netstack.tails)")
                    return
                }
                expectOneLineFailure(result)
            }
        }

        @Test("serve on a TAP device another serve holds fails with one line, and the first keeps running")
        func busyDevice() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let first = try await ns.serve(ns.standardServeArguments)
                let second = try await ns.netstack(["serve"] + Self.onTap + Self.address, timeout: .seconds(30))
                expectOneLineFailure(second)
                let ping = try await ns.run(["ping", "-c", "1", "-W", "2", Interop.netstackAddress])
                #expect(ping.succeeded, "\(ping)")
                #expect(try await ns.stop(first) == .exited(0), "\(first.tails)")
            }
        }

        @Test("serve without the right to attach to the device fails with one line")
        func unprivileged() async throws {
            try await withNamespace { ns in
                // Owned by root: an ownerless TAP may be open to every user on newer kernels (6.18 here).
                try ns.addTap("tap0", address: "\(Interop.kernelAddress)/24", owner: 0)
                // A copy nobody can run, wherever the build directory is.
                let copy = ns.directory + "/netstack"
                try FileManager.default.copyItem(atPath: try Interop.netstackPath(), toPath: copy)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
                let command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", copy, "serve"] + Self.onTap + Self.address
                var result = try await ns.run(command, timeout: .seconds(30))
                // ETXTBSY: another test forked while the copy's write descriptor was still open, and
                // the child holds it until its exec. The file is complete; wait for that child.
                for _ in 0..<20 where result.errorOutput.contains("Text file busy") {
                    try await Task.sleep(for: .milliseconds(100))
                    result = try await ns.run(command, timeout: .seconds(30))
                }
                expectOneLineFailure(result)
                #expect(!result.errorOutput.contains("setpriv"), "setpriv itself failed: \(result)")
            }
        }
    }
}
