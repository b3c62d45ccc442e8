// `netstack fetch` by name over both IP versions: dnsmasq answers AAAA (and A)
// queries, NetStack holds an address of each family on one TAP, and Happy
// Eyeballs (RFC 8305) picks the address; --verbose says which and why. The
// kernel side serves with Python's http.server on `::` (both families).
// Needs `--address` given twice (one IPv4, one IPv6 prefix) on the command line.

import Foundation
import Testing

extension InteropTests {
    @Suite("Fetch by name over IPv6 (Happy Eyeballs)")
    struct HappyEyeballsFetch {
        static let kernel6 = "2001:db8::1"
        static let netstack6 = "2001:db8::2"

        /// `tap0` with 192.0.2.1/24 and 2001:db8::1/64 (IPv6 turned back on for it alone, no DAD),
        /// dnsmasq answering `records` (`--host-record` values), and http.server on [::]:8000.
        private func setUp(_ ns: Namespace, records: [String]) async throws {
            try ns.addStandardTap()
            let kernelSide = try await ns.shell(
                "sysctl -qw net.ipv6.conf.tap0.disable_ipv6=0 && ip -6 addr add \(Self.kernel6)/64 dev tap0 nodad")
            try #require(kernelSide.succeeded, "\(kernelSide)")
            let dns = try ns.spawn([
                "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--listen-address=\(Interop.kernelAddress)", "--bind-interfaces",
                "--pid-file=\(ns.directory)/dnsmasq.pid",
            ] + records.map { "--host-record=\($0)" })
            try await dns.waitUntil("dnsmasq's 'started' message", timeout: .seconds(20)) { process in
                process.errorOutput.contains("started")
            }
            let root = try ns.makeDirectory("www")
            try smallText.write(toFile: root + "/small.txt", atomically: false, encoding: .utf8)
            let server = try ns.spawn(["python3", "-m", "http.server", "8000", "--bind", "::", "--directory", root])
            try await server.waitForLine(startingWith: "Serving HTTP", timeout: .seconds(20))
        }

        /// `netstack fetch --verbose` of `url` with both addresses on tap0.
        private func fetch(_ ns: Namespace, _ url: String) async throws -> Finished {
            try await ns.netstack(
                ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                 "--address", "\(Self.netstack6)/64", "--dns", Interop.kernelAddress, "--verbose", url],
                timeout: .seconds(60))
        }

        @Test("a name with only an AAAA record is fetched over IPv6")
        func onlyAAAA() async throws {
            try await withNamespace { ns in
                try await setUp(ns, records: ["six.example.test,\(Self.kernel6)"])
                let result = try await fetch(ns, "http://six.example.test:8000/small.txt")
                #expect(result.succeeded, "\(result)")
                #expect(result.output == smallText, "\(result)")
                #expect(result.errorOutput.contains("AAAA answered: \(Self.kernel6)"), "\(result)")
                #expect(result.errorOutput.contains("IPv6 first (RFC 8305 §4)"), "\(result)")
                #expect(result.errorOutput.contains("connected to [\(Self.kernel6)]:8000 over IPv6"), "\(result)")
            }
        }

        @Test("a name with A and AAAA records: Happy Eyeballs tries IPv6 first and says which won")
        func bothFamilies() async throws {
            try await withNamespace { ns in
                try await setUp(ns, records: ["dual.example.test,\(Interop.kernelAddress),\(Self.kernel6)"])
                let result = try await fetch(ns, "http://dual.example.test:8000/small.txt")
                #expect(result.succeeded, "\(result)")
                #expect(result.output == smallText, "\(result)")
                #expect(result.errorOutput.contains("AAAA answered: \(Self.kernel6)"), "\(result)")
                // The A answer may come after IPv6 has already won: the trace then stops before it.
                #expect(result.errorOutput.contains("connecting to IPv6 \(Self.kernel6) (first attempt)"), "\(result)")
                // The kernel answers at once on the link: IPv6, started first, wins.
                #expect(result.errorOutput.contains("IPv6 \(Self.kernel6) connected first"), "\(result)")
                #expect(result.errorOutput.contains("connected to [\(Self.kernel6)]:8000 over IPv6"), "\(result)")
            }
        }

        @Test("an AAAA record for an address nobody answers: after 250 ms IPv4 is tried and wins")
        func brokenIPv6FallsBack() async throws {
            try await withNamespace { ns in
                // 2001:db8::99 is on the link but no one owns it: neighbour discovery never completes.
                try await setUp(ns, records: ["broken.example.test,\(Interop.kernelAddress),2001:db8::99"])
                let result = try await fetch(ns, "http://broken.example.test:8000/small.txt")
                #expect(result.succeeded, "\(result)")
                #expect(result.output == smallText, "\(result)")
                #expect(result.errorOutput.contains("connecting to IPv6 2001:db8::99 (first attempt)"), "\(result)")
                #expect(result.errorOutput.contains("connecting to IPv4 \(Interop.kernelAddress) "
                                                    + "(250 ms connection attempt delay passed)"), "\(result)")
                #expect(result.errorOutput.contains("IPv4 \(Interop.kernelAddress) connected first (attempt 2 of 2 started) "
                                                    + "and wins; closing 2001:db8::99"), "\(result)")
                #expect(result.errorOutput.contains("connected to \(Interop.kernelAddress):8000 over IPv4"), "\(result)")
            }
        }

        @Test("an IPv6 literal URL is fetched without a lookup; malformed brackets fail with one line, exit 64")
        func literal() async throws {
            try await withNamespace { ns in
                try await setUp(ns, records: [])
                let result = try await fetch(ns, "http://[\(Self.kernel6)]:8000/small.txt")
                #expect(result.succeeded, "\(result)")
                #expect(result.output == smallText, "\(result)")
                for url in ["http://[2001:db8::1:8000/", "http://2001:db8::1]:8000/", "http://[2001:db8::zz]/"] {
                    let bad = try await fetch(ns, url)
                    expectOneLineFailure(bad)
                    #expect(bad.termination == .exited(64), "\(bad)")
                }
            }
        }
    }
}
