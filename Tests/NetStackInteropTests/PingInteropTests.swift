// ICMP echo and ARP between NetStack and the kernel, both ways, and the
// tables NetStack shows of what it learned.

import Foundation
import NetStackTestSupport
import Testing

extension InteropTests {
    @Suite("Ping, ARP and routes")
    struct PingAndARP {
        @Test("The kernel pings NetStack; each learns the other's MAC address")
        func kernelPingsNetStack() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let pcap = ns.directory + "/serve.pcap"
                let serve = try await ns.serve(ns.standardServeArguments + ["--pcap", pcap])

                let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress])
                #expect(ping.succeeded, "\(ping)")
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")

                let neighbours = try await ns.run(["ip", "neigh", "show", "dev", "tap0"])
                #expect(neighbours.output.contains("\(Interop.netstackAddress) lladdr \(Interop.netstackMAC)"),
                        "the kernel's ARP table: \(neighbours)")

                let kernelMAC = try ns.macAddress(of: "tap0")
                let arp = try await ns.table("arp")
                #expect(arp.succeeded, "\(arp)")
                let table = Table(arp.output, headerContaining: "HWaddress")
                #expect(table.missingColumns(["Address", "HWtype", "HWaddress", "Flags", "Mask", "Iface"]) == [],
                        "arp's columns: \(arp)")
                let entry = table.rows.first { $0.first == Interop.kernelAddress }
                #expect(entry?.contains { $0.lowercased() == kernelMAC } == true,
                        "NetStack's ARP table has no \(Interop.kernelAddress) at \(kernelMAC): \(arp)")

                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                try expectWellFormedReplies(in: pcap)
            }
        }

        @Test("NetStack pings the kernel with iputils-like output")
        func netStackPingsKernel() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let ping = try await ns.netstack(
                    ["ping", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "-c", "3",
                     Interop.kernelAddress], timeout: .seconds(30))
                #expect(ping.succeeded, "\(ping)")
                #expect(ping.output.contains("from \(Interop.kernelAddress): icmp_seq=1 ttl=64 time="), "\(ping)")
                #expect(ping.output.contains("icmp_seq=3"), "\(ping)")
                #expect(ping.output.contains("3 packets transmitted, 3 received, 0% packet loss"), "\(ping)")
            }
        }

        @Test("A ping nobody answers reports 100% loss and fails")
        func unansweredPing() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                // On the link, but no one has that address: ARP gets no answer.
                let ping = try await ns.netstack(
                    ["ping", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "-c", "2", "192.0.2.77"],
                    timeout: .seconds(60))
                #expect(ping.termination != .exited(0), "\(ping)")
                if case .signaled = ping.termination { Issue.record("netstack ping crashed: \(ping)") }
                // iputils counts the host-unreachable reports too: "0 received, +2 errors, 100% packet loss".
                #expect(ping.output.contains("2 packets transmitted, 0 received"), "\(ping)")
                #expect(ping.output.contains("100% packet loss"), "\(ping)")
            }
        }

        @Test("route shows the connected subnet and the default gateway")
        func routeTable() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--gateway", Interop.kernelAddress])
                let route = try await ns.table("route")
                #expect(route.succeeded, "\(route)")
                let table = Table(route.output, headerContaining: "Genmask")
                #expect(table.missingColumns(["Destination", "Gateway", "Genmask", "Flags", "Iface"]) == [],
                        "route's columns: \(route)")
                #expect(table.rows.contains { $0.first == "192.0.2.0" && $0.contains("255.255.255.0") },
                        "no connected route: \(route)")
                #expect(table.rows.contains { ($0.first == "0.0.0.0" || $0.first == "default") && $0.contains(Interop.kernelAddress)
                            && $0.contains { $0.contains("G") && $0.allSatisfy(\.isUppercase) } },
                        "no default route via \(Interop.kernelAddress) with flag G: \(route)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        /// NetStack's capture holds its echo replies and its ARP reply, and
        /// Wireshark finds their checksums and addresses right.
        private func expectWellFormedReplies(in pcap: String) throws {
            let replies = try TShark.run([
                "-r", pcap, "-o", "ip.check_checksum:TRUE", "-Y", "icmp.type == 0",
                "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.checksum.status", "-e", "icmp.checksum.status",
            ])
            let lines = replies.output.split(separator: "\n")
            #expect(lines.count == 3, "echo replies in the capture: \(replies.output)")
            for line in lines {
                #expect(line == "\(Interop.netstackAddress)\t\(Interop.kernelAddress)\t1\t1", "a reply: \(line)")
            }
            let arp = try TShark.run([
                "-r", pcap, "-Y", "arp.opcode == 2", "-T", "fields", "-e", "arp.src.hw_mac", "-e", "arp.src.proto_ipv4",
            ])
            #expect(arp.output.contains("\(Interop.netstackMAC)\t\(Interop.netstackAddress)"), "ARP replies: \(arp.output)")
        }
    }
}
