// `--address dhcp` against dnsmasq's DHCP server in the namespace: NetStack
// takes a lease from 192.0.2.100–150, the kernel pings the leased address, the
// lease is renewed at T1, and dnsmasq forgets it when NetStack exits (RELEASE).

import Foundation
import NetStackTestSupport
import Testing

extension Namespace {
    /// dnsmasq as a DHCP server only (no DNS) on tap0: 192.0.2.100–150, leases of 2 minutes
    /// (dnsmasq's minimum) with T1 10 s and T2 15 s, router and DNS server 192.0.2.1; its lease
    /// file is `<directory>/dhcp.leases`. No ping check before an offer (--no-ping): answers at once.
    func startDHCPServer() async throws -> ChildProcess {
        let dnsmasq = try spawn([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--user=root", "--port=0", "--no-resolv", "--no-hosts",
            "--interface=tap0", "--bind-interfaces", "--no-ping", "--dhcp-authoritative", "--log-dhcp",
            "--dhcp-range=192.0.2.100,192.0.2.150,255.255.255.0,2m",
            "--dhcp-option=option:router,\(Interop.kernelAddress)",
            "--dhcp-option=option:dns-server,\(Interop.kernelAddress)",
            "--dhcp-option=option:T1,10", "--dhcp-option=option:T2,15",
            "--dhcp-leasefile=\(dhcpLeaseFile)", "--pid-file=\(directory)/dnsmasq-dhcp.pid",
        ])
        try await dnsmasq.waitUntil("dnsmasq's 'started' message", timeout: .seconds(20)) { process in
            process.errorOutput.contains("started")
        }
        return dnsmasq
    }

    var dhcpLeaseFile: String { directory + "/dhcp.leases" }

    /// The lease file's text ("" before dnsmasq has written it).
    var dhcpLeases: String { (try? String(contentsOfFile: dhcpLeaseFile, encoding: .utf8)) ?? "" }
}

extension InteropTests {
    @Suite("DHCP client against dnsmasq")
    struct DHCP {
        @Test("--address dhcp: a lease from dnsmasq, the kernel pings it, renewed at T1, released on exit")
        func leaseRenewRelease() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let dnsmasq = try await ns.startDHCPServer()
                let pcap = ns.directory + "/dhcp.pcap"
                let serve = try await ns.serve(["--tap", "tap0", "--address", "dhcp", "--mac", Interop.netstackMAC,
                                                "--control", ns.controlPath, "--verbose", "--pcap", pcap])
                // "ready tap tap0 192.0.2.1xx/24"
                let ready = try #require(serve.output.split(separator: "\n").first { $0.hasPrefix("ready") })
                let leased = try #require(ready.split(separator: " ").dropFirst(3).first.map(String.init))
                #expect(leased.hasSuffix("/24"), "\(ready)")
                let address = String(leased.dropLast(3))
                let last = Int(address.split(separator: ".").last ?? "") ?? 0
                #expect(address.hasPrefix("192.0.2.") && (100...150).contains(last), "leased \(address): \(ready)")
                #expect(serve.errorOutput.contains("DHCP: DISCOVER broadcast"), "\(serve.tails)")
                #expect(serve.errorOutput.contains("DHCP: OFFER of \(address) from \(Interop.kernelAddress)"), "\(serve.tails)")
                #expect(serve.errorOutput.contains("DHCP: ACK, bound to \(address)/24"), "\(serve.tails)")
                #expect(ns.dhcpLeases.contains("\(Interop.netstackMAC) \(address)"), "lease file: \(ns.dhcpLeases)")

                let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", address])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")

                // The router option became the default route.
                let route = try await ns.table("route")
                let table = Table(route.output, headerContaining: "Genmask")
                #expect(table.rows.contains { $0.first == "default" && $0.dropFirst().first == Interop.kernelAddress },
                        "no default route via \(Interop.kernelAddress): \(route)")

                // T1 is 10 s: a unicast REQUEST, and dnsmasq ACKs it again.
                let renewed = try await eventually(timeout: .seconds(25), { serve.errorOutput }) {
                    $0.contains("DHCP: renewing \(address) with \(Interop.kernelAddress) (T1)")
                        && $0.components(separatedBy: "DHCP: ACK").count >= 3
                }
                #expect(renewed.contains("renewing"), "\(serve.tails)")
                #expect(dnsmasq.errorOutput.components(separatedBy: "DHCPACK(tap0) \(address)").count >= 3,
                        "dnsmasq's log: \(dnsmasq.errorOutput)")

                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                #expect(serve.errorOutput.contains("DHCP: RELEASE of \(address) to \(Interop.kernelAddress)"), "\(serve.tails)")
                let leases = try await eventually(timeout: .seconds(5), { ns.dhcpLeases }) {
                    !$0.contains(Interop.netstackMAC)
                }
                #expect(!leases.contains(Interop.netstackMAC), "dnsmasq still holds the lease: \(leases)")
                #expect(dnsmasq.errorOutput.contains("DHCPRELEASE(tap0) \(address)"), "dnsmasq's log: \(dnsmasq.errorOutput)")
                try expectWellFormedDHCP(in: pcap, leased: address)
            }
        }

        /// tshark decodes every DHCP message NetStack sent, with good IP and UDP checksums and
        /// nothing malformed: DISCOVER and REQUEST from 0.0.0.0 broadcast, the renewal
        /// REQUEST unicast from the lease, and the RELEASE.
        private func expectWellFormedDHCP(in pcap: String, leased: String) throws {
            let decoded = try TShark.run([
                "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y", "udp.srcport == 68",
                "-T", "fields", "-e", "dhcp.option.dhcp", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.checksum.status",
                "-e", "udp.checksum.status", "-e", "_ws.malformed",
            ])
            let lines = decoded.output.split(separator: "\n").filter { $0.first?.isNumber == true }.map(String.init)
            #expect(lines.starts(with: ["1\t0.0.0.0\t255.255.255.255\t1\t1\t", "3\t0.0.0.0\t255.255.255.255\t1\t1\t"]),
                    "NetStack's DHCP messages: \(decoded.output)")
            #expect(lines.contains("3\t\(leased)\t\(Interop.kernelAddress)\t1\t1\t"), "no renewal: \(decoded.output)")
            #expect(lines.last == "7\t\(leased)\t\(Interop.kernelAddress)\t1\t1\t", "no RELEASE last: \(decoded.output)")
        }

        @Test("ping --address dhcp: leases, pings the server, and gives the lease back when it ends")
        func pingReleases() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let dnsmasq = try await ns.startDHCPServer()
                let ping = try await ns.netstack(["ping", "--tap", "tap0", "--address", "dhcp", "--verbose", "-c", "2",
                                                  Interop.kernelAddress], timeout: .seconds(60))
                #expect(ping.succeeded, "\(ping)")
                #expect(ping.output.contains("2 packets transmitted, 2 received"), "\(ping)")
                #expect(ping.errorOutput.contains("DHCP: RELEASE of 192.0.2."), "\(ping)")
                let leases = try await eventually(timeout: .seconds(5), { ns.dhcpLeases }) { !$0.contains("192.0.2.") }
                #expect(!leases.contains("192.0.2."), "dnsmasq still holds a lease: \(leases)")
                #expect(dnsmasq.errorOutput.contains("DHCPRELEASE(tap0)"), "dnsmasq's log: \(dnsmasq.errorOutput)")
            }
        }

        @Test("--address dhcp with no server: one line naming the failure and a non-zero exit")
        func noServer() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let ping = try await ns.netstack(["ping", "--tap", "tap0", "--address", "dhcp", "-c", "1",
                                                  Interop.kernelAddress], timeout: .seconds(60))
                #expect(ping.termination != .exited(0), "\(ping)")
                if case .signaled = ping.termination { Issue.record("netstack ping crashed: \(ping)") }
                #expect(ping.errorOutput.contains("no DHCP lease on tap0 within 30"), "\(ping)")
                #expect(ping.errorOutput.split(separator: "\n").count == 1, "\(ping)")
            }
        }
    }
}
