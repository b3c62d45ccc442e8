// IPv6 between NetStack and the kernel on one link (issue 13, item 7): static
// addresses on both sides (2001:db8::1 the kernel, 2001:db8::2 NetStack), echo
// both ways — whole and fragmented —, each neighbour cache holding the other,
// a bulk download, TCP and UDP echo, the tables NetStack prints, a packet too
// big from a kernel router, and the same over a TUN device (no NDP there).

import Foundation
import NetStackTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension InteropTests {
    @Suite("IPv6")
    struct IPv6 {
        @Test("The kernel pings NetStack over IPv6; the kernel's neighbour cache holds NetStack's MAC")
        func kernelPingsNetStack6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let pcap = ns.directory + "/serve.pcap"
                let serve = try await ns.serve(ns.dualStackServeArguments + ["--pcap", pcap])

                let ping = try await ns.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress6])
                #expect(ping.succeeded, "\(ping)\n\(serve.tails)")
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")

                let neighbours = try await ns.run(["ip", "-6", "neigh", "show", "dev", "tap0"])
                #expect(neighbours.output.contains("\(Interop.netstackAddress6) lladdr \(Interop.netstackMAC)"),
                        "the kernel's neighbour cache: \(neighbours)")

                // NetStack's cache, in ip -6 neigh's form, holds the kernel (learnt from its solicitation).
                let kernelMAC = try ns.macAddress(of: "tap0")
                let neigh = try await ns.table("neigh")
                #expect(neigh.succeeded, "\(neigh)")
                let entry = neigh.output.split(separator: "\n").first { $0.hasPrefix("\(Interop.kernelAddress6) ") }
                let fields = entry?.split(separator: " ").map(String.init) ?? []
                #expect(fields.count == 6 && fields[1] == "dev" && fields[2] == "tap0" && fields[3] == "lladdr"
                            && fields[4] == kernelMAC && ["REACHABLE", "STALE", "DELAY", "PROBE"].contains(fields[5]),
                        "NetStack's neighbour cache has no \(Interop.kernelAddress6) at \(kernelMAC): \(neigh)")

                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                try expectCleanEchoReplies6(in: pcap)
            }
        }

        @Test("netstack ping -6 pings the kernel with iputils' ping -6 lines")
        func netStackPingsKernel6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let ping = try await ns.netstack(
                    ["ping", "-6", "--tap", "tap0", "--address", "\(Interop.netstackAddress6)/64", "--mac", Interop.netstackMAC,
                     "-c", "3", "-i", "0.2", Interop.kernelAddress6], timeout: .seconds(30))
                #expect(ping.succeeded, "\(ping)")
                #expect(ping.output.hasPrefix("PING \(Interop.kernelAddress6) (\(Interop.kernelAddress6)) 56 data bytes\n"),
                        "\(ping)")
                #expect(ping.output.contains("64 bytes from \(Interop.kernelAddress6): icmp_seq=2 ttl=64 time="), "\(ping)")
                #expect(ping.output.contains("icmp_seq=3"), "\(ping)")
                // The first request waited for neighbour discovery and still went out.
                #expect(ping.output.contains("64 bytes from \(Interop.kernelAddress6): icmp_seq=1 ttl=64 time="), "\(ping)")
                #expect(ping.output.contains("3 packets transmitted, 3 received, 0% packet loss"), "\(ping)")
                // (The kernel's own neighbour entry for NetStack is checked while `serve` runs, in
                // kernelPingsNetStack6: when `ping` exits the TAP loses its carrier and the kernel flushes it.)
            }
        }

        @Test("netstack ping takes an IPv6 literal without -6, and -4 refuses one in one line")
        func pingFamilies() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let device = ["--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                              "--address", "\(Interop.netstackAddress6)/64"]
                let ping = try await ns.netstack(["ping"] + device + ["-c", "1", Interop.kernelAddress6], timeout: .seconds(30))
                #expect(ping.succeeded && ping.output.contains("64 bytes from \(Interop.kernelAddress6): icmp_seq=1"), "\(ping)")
                let ping4 = try await ns.netstack(["ping", "-4"] + device + ["-c", "1", Interop.kernelAddress], timeout: .seconds(30))
                #expect(ping4.succeeded && ping4.output.contains("ttl=64"), "\(ping4)")

                let refused = try await ns.netstack(["ping", "-4"] + device + ["-c", "1", Interop.kernelAddress6])
                #expect(refused.termination == .exited(64), "\(refused)")
                expectOneLineFailure(refused)
            }
        }

        @Test("Fragmented ICMPv6 echo (3,000 bytes) works both ways")
        func fragmentedEcho6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let serve = try await ns.serve(ns.dualStackServeArguments)
                let kernel = try await ns.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "-s", "3000",
                                               Interop.netstackAddress6])
                #expect(kernel.output.contains("3 packets transmitted, 3 received"), "\(kernel)\n\(serve.tails)")
                #expect(kernel.output.contains("3008 bytes from \(Interop.netstackAddress6)"), "\(kernel)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")

                let pcap = ns.directory + "/ping.pcap"
                let netstack = try await ns.netstack(
                    ["ping", "-6", "--tap", "tap0", "--address", "\(Interop.netstackAddress6)/64", "--mac", Interop.netstackMAC,
                     "-c", "3", "-i", "0.2", "-s", "3000", "--pcap", pcap, Interop.kernelAddress6], timeout: .seconds(30))
                #expect(netstack.succeeded, "\(netstack)")
                #expect(netstack.output.contains("3008 bytes from \(Interop.kernelAddress6): icmp_seq=1"), "\(netstack)")
                #expect(netstack.output.contains("3 packets transmitted, 3 received"), "\(netstack)")
                // NetStack's requests left in fragments (3,048 bytes of IPv6 over a 1,500-byte link), each a whole
                // IPv6 packet within the MTU; the kernel's replies came back in fragments too and were reassembled.
                let fragments = try TShark.run([
                    "-r", pcap, "-Y", "ipv6.src == \(Interop.netstackAddress6) && ipv6.fraghdr.ident",
                    "-T", "fields", "-e", "frame.len",
                ])
                let lengths = fragments.output.split(separator: "\n").compactMap { Int($0) }
                #expect(lengths.count >= 9 && lengths.allSatisfy { $0 <= 1514 }, "NetStack's fragments: \(fragments.output)")
            }
        }

        @Test("curl -6 downloads 64 MiB from NetStack's HTTP server intact")
        func curlDownloadsOverIPv6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(ns.dualStackServeArguments + ["--http", "8080", "--root", root])

                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://[\(Interop.netstackAddress6)]:8080/big.bin", to: out,
                                                  extra: ["-6", "-g"], timeout: .seconds(300))
                print("curl -6 from serve: 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("A kernel TCP client gets 1 MiB echoed back over IPv6; a UDP client datagrams of every size")
        func echo6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let serve = try await ns.serve(ns.dualStackServeArguments + ["--echo", "7", "--udp-echo", "7"])
                let tcp = try await ns.python(tcpEchoClient, [Interop.netstackAddress6, "7", "\(1 << 20)"],
                                              timeout: .seconds(120))
                #expect(tcp.succeeded && tcp.output == "echoed 1048576 bytes intact\n", "\(tcp)\n\(serve.tails)")
                // 1,452 bytes fill a 1,500-byte IPv6 packet; the larger ones are fragmented both ways.
                let sizes = [1, 100, 1000, 1452, 1453, 4000, 8000]
                let udp = try await ns.python(udp6EchoClient, [Interop.netstackAddress6, "7"] + sizes.map(String.init),
                                              timeout: .seconds(60))
                #expect(udp.succeeded && udp.output == "echoed \(sizes.count) datagrams intact\n", "\(udp)\n\(serve.tails)")
                // Over IPv4 the same listeners (bound to ::) still answer.
                let tcp4 = try await ns.python(tcpEchoClient, [Interop.netstackAddress, "7", "\(64 << 10)"],
                                               timeout: .seconds(60))
                #expect(tcp4.succeeded && tcp4.output == "echoed 65536 bytes intact\n", "\(tcp4)\n\(serve.tails)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("route prints the IPv6 table after the IPv4 one in route -6 -n's columns; netstat shows tcp6/udp6 rows")
        func tables6() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                let serve = try await ns.serve(ns.dualStackServeArguments
                    + ["--gateway", Interop.kernelAddress, "--gateway", Interop.kernelAddress6, "--http", "8080",
                       "--udp-echo", "7", "--root", ns.makeDirectory("www")])

                let route = try await ns.table("route")
                #expect(route.succeeded, "\(route)")
                let text = route.output
                let v4 = try #require(text.range(of: "Kernel IP routing table"), "\(route)")
                let v6 = try #require(text.range(of: "Kernel IPv6 routing table"), "\(route)")
                #expect(v4.lowerBound < v6.lowerBound, "the IPv6 table comes after the IPv4 one: \(route)")
                // The header is byte for byte the kernel's own.
                let kernel = try await ns.run(["route", "-6", "-n"])
                let kernelHeader = try #require(kernel.output.split(separator: "\n").first { $0.hasPrefix("Destination") })
                let lines = text[v6.upperBound...].split(separator: "\n")
                #expect(lines.first == kernelHeader, "route's IPv6 header: \(route)\nthe kernel's: \(kernel)")
                let table = Table(String(text[v6.lowerBound...]), headerContaining: "Next Hop")
                #expect(table.rows.contains(["2001:db8::/64", "::", "U", "256", "0", "0", "tap0"]), "\(route)")
                #expect(table.rows.contains(["fe80::/64", "::", "U", "256", "0", "0", "tap0"]), "\(route)")
                #expect(table.rows.last == ["::/0", Interop.kernelAddress6, "UG", "1024", "0", "0", "tap0"], "\(route)")

                // A connection of the kernel's stays open while netstat looks.
                let client = try ns.spawnPython(holdConnection, [Interop.netstackAddress6, "8080"])
                try await client.waitForLine(startingWith: "connected", timeout: .seconds(20))
                let local = try #require(client.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
                let netstat = try await ns.table("netstat")
                let rows = Table(netstat.output, headerContaining: "Proto").rows
                #expect(rows.contains(["tcp6", "0", "0", ":::8080", ":::*", "LISTEN"]), "\(netstat)")
                #expect(rows.contains(["tcp6", "0", "0", "\(Interop.netstackAddress6):8080", "\(Interop.kernelAddress6):\(local)",
                                       "ESTABLISHED"]), "\(netstat)")
                #expect(rows.contains(["udp6", "0", "0", ":::7", ":::*"]), "\(netstat)")
                client.send(SIGTERM)
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("A packet too big from a kernel router lowers NetStack's path MTU to 1,280")
        func packetTooBigLowersPathMTU() async throws {
            try await withNamespace { ns in
                try await ns.addStandardTap6()
                // The kernel routes 2001:db8:2::/64 out a 1,280-byte link (one end of a veth pair whose other end
                // has no IPv6: nobody answers there, but the kernel checks the size before it forwards, which is
                // all this needs).
                try await ns.mustRun(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
                try await ns.mustRun(["ip", "link", "add", "far0", "mtu", "1280", "type", "veth", "peer", "name", "far1"])
                try await ns.mustRun(["sysctl", "-qw", "net.ipv6.conf.far0.disable_ipv6=0"])
                try await ns.mustRun(["ip", "link", "set", "far1", "up"])
                try await ns.mustRun(["ip", "link", "set", "far0", "up"])
                try await ns.mustRun(["ip", "-6", "route", "add", "2001:db8:2::/64", "dev", "far0"])

                let pcap = ns.directory + "/ptb.pcap"
                let ping = try await ns.netstack(
                    ["ping", "-6", "--tap", "tap0", "--address", "\(Interop.netstackAddress6)/64", "--mac", Interop.netstackMAC,
                     "--gateway", Interop.kernelAddress6, "-c", "3", "-i", "0.3", "-s", "1400", "--pcap", pcap,
                     "2001:db8:2::9"], timeout: .seconds(30))
                // iputils' line for it.
                #expect(ping.output.contains("From \(Interop.kernelAddress6) icmp_seq=1 Packet too big: mtu=1280"), "\(ping)")

                // 1,400 bytes of payload: a 1,448-byte packet first, refused by the router; after its packet
                // too big, the same request leaves in fragments of at most 1,280 bytes.
                let sent = try TShark.run([
                    // NetStack's own frames (an ICMPv6 error quoting one of its packets is the router's), outer header only.
                    "-r", pcap, "-Y", "eth.src == \(Interop.netstackMAC) && (icmpv6.type == 128 || ipv6.fraghdr.ident)",
                    "-T", "fields", "-E", "occurrence=f", "-e", "frame.number", "-e", "ipv6.plen", "-e", "ipv6.fraghdr.ident",
                ])
                let tooBig = try TShark.run(["-r", pcap, "-Y", "icmpv6.type == 2 && icmpv6.mtu == 1280", "-T", "fields",
                                             "-e", "frame.number"])
                let ptbFrame = try #require(Int(tooBig.output.split(separator: "\n").first ?? ""), "no packet too big: \(tooBig.output)")
                let rows = sent.output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
                let before = rows.filter { Int($0[0])! < ptbFrame }
                let after = rows.filter { Int($0[0])! > ptbFrame }
                #expect(before.contains { Int($0[1]) == 1408 }, "the first request whole (payload 1,408): \(sent.output)")
                #expect(!after.isEmpty && after.allSatisfy { $0.count > 2 && !$0[2].isEmpty && Int($0[1]).map { $0 + 40 <= 1280 } ?? false },
                        "after the packet too big only fragments within 1,280 bytes: \(sent.output)")
            }
        }

        @Test("Over TUN (IPv6, no NDP) the kernel pings NetStack and curl -6 downloads 64 MiB intact")
        func curlOverTUN6() async throws {
            try await withNamespace { ns in
                try await ns.mustRun(["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"])
                try await ns.enableIPv6(on: "tun0", address: "\(Interop.kernelAddress6)/64")
                try await ns.mustRun(["ip", "link", "set", "tun0", "up"])
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let pcap = ns.directory + "/tun.pcap"
                let serve = try await ns.serve(["--tun", "tun0", "--address", "\(Interop.netstackAddress6)/64",
                                                "--http", "8080", "--root", root, "--pcap", pcap, "--pcap-limit", "1M"])

                let ping = try await ns.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress6])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)\n\(serve.tails)")

                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://[\(Interop.netstackAddress6)]:8080/big.bin", to: out,
                                                  extra: ["-6", "-g"], timeout: .seconds(300))
                print("curl -6 from serve over TUN: 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")

                // No neighbour discovery on an IP-only device.
                let ndp = try TShark.run(["-r", pcap, "-Y", "icmpv6.type >= 133 && icmpv6.type <= 137 && ipv6.src == \(Interop.netstackAddress6)",
                                          "-T", "fields", "-e", "frame.number"])
                #expect(ndp.output.isEmpty, "NetStack sent NDP on a TUN: \(ndp.output)")
            }
        }

        @Test("--address6 auto forms an address from the kernel's router advertisement (radvd) and passes DAD")
        func slaacFromRadvd() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                // The kernel's link-local address is usable as soon as the TAP has a carrier (no DAD), so radvd
                // can answer NetStack's first router solicitation.
                try await ns.mustRun(["sysctl", "-qw", "net.ipv6.conf.tap0.accept_dad=0"])
                try await ns.mustRun(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
                try await ns.enableIPv6(on: "tap0", address: "\(Interop.kernelAddress6)/64")
                let radvd = try await ns.startRadvd(prefix: "2001:db8::/64")
                let serve = try await ns.serve(["--tap", "tap0", "--address6", "auto", "--mac", Interop.netstackMAC,
                                                "--control", ns.controlPath, "--udp-echo", "7"])
                // "ready tap tap0 2001:db8::…/64 udp-echo 7"
                let ready = try #require(serve.output.split(separator: "\n").first { $0.hasPrefix("ready") })
                let formed = try #require(ready.split(separator: " ").dropFirst(3).first.map(String.init), "\(ready)")
                #expect(formed.hasPrefix("2001:db8::") && formed.hasSuffix("/64"), "\(ready)\n\(radvd.tails)")
                let address = String(formed.dropLast(3))

                let ping = try await ns.run(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", address])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)\n\(serve.tails)")
                // The advertised prefix is on-link and the router the default, both learnt from the RA (flag A).
                let route = try await ns.table("route")
                let rows = Table(String(route.output[(route.output.range(of: "Kernel IPv6")?.lowerBound ?? route.output.startIndex)...]),
                                 headerContaining: "Next Hop").rows
                #expect(rows.contains { $0.first == "2001:db8::/64" && $0.count > 2 && $0[2].contains("A") }, "\(route)")
                #expect(rows.contains { $0.first == "::/0" && ($0.count > 1 && $0[1].hasPrefix("fe80:")) }, "\(route)")
                let neigh = try await ns.table("neigh")
                #expect(neigh.output.split(separator: "\n").contains { $0.hasPrefix("fe80:") && $0.contains(" router ") },
                        "the router in NetStack's neighbour cache: \(neigh)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("An address the kernel already has fails duplicate address detection: one line, exit 1")
        func duplicateAddressRefused() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                try await ns.enableIPv6(on: "tap0", address: "\(Interop.netstackAddress6)/64")
                let serve = try await ns.netstack(["serve", "--tap", "tap0", "--address", "\(Interop.netstackAddress6)/64",
                                                   "--mac", Interop.netstackMAC], timeout: .seconds(20))
                #expect(serve.termination == .exited(1), "\(serve)")
                #expect(serve.errorLines == ["netstack: address \(Interop.netstackAddress6) is already in use on tap0 (duplicate address detection)"],
                        "\(serve)")
                #expect(!serve.output.contains("ready"), "\(serve)")
            }
        }

        @Test("Bad IPv6 addresses, gateways and families: one line on standard error, exit 64", arguments: [
            ["serve", "--tap", "tap0", "--address", "2001:db8::2/129"],
            ["serve", "--tap", "tap0", "--address", "2001:db8::zz/64"],
            ["serve", "--tap", "tap0", "--address", "ff02::1/64"],
            ["serve", "--tap", "tap0", "--address", "192.0.2.2/24", "--address", "192.0.2.3/24"],
            ["serve", "--tap", "tap0", "--address", "192.0.2.2/24", "--gateway", "2001:db8::1"],
            ["serve", "--tap", "tap0", "--address", "2001:db8::2/64", "--gateway", "2001:db8::1", "--gateway", "2001:db8::3"],
            ["ping", "--tap", "tap0", "--address", "2001:db8::2/64", "-4", "-6", "2001:db8::1"],
            ["ping", "--tap", "tap0", "--address", "2001:db8::2/64", "-6", "192.0.2.1"],
        ])
        func badIPv6Input(arguments: [String]) async throws {
            try await withNamespace { ns in
                let result = try await ns.netstack(arguments)
                #expect(result.termination == .exited(64), "\(result)")
                expectOneLineFailure(result)
            }
        }

        /// NetStack's capture holds three echo replies with good ICMPv6 checksums, its neighbour
        /// advertisement for 2001:db8::2, and nothing tshark finds malformed.
        private func expectCleanEchoReplies6(in pcap: String) throws {
            let replies = try TShark.run([
                "-r", pcap, "-Y", "icmpv6.type == 129",
                "-T", "fields", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "icmpv6.checksum.status",
            ])
            let lines = replies.output.split(separator: "\n")
            #expect(lines.count == 3, "echo replies in the capture: \(replies.output)")
            for line in lines {
                #expect(line == "\(Interop.netstackAddress6)\t\(Interop.kernelAddress6)\t1", "a reply: \(line)")
            }
            let advertisement = try TShark.run([
                "-r", pcap, "-Y", "icmpv6.type == 136 && ipv6.src == \(Interop.netstackAddress6)",
                "-T", "fields", "-e", "icmpv6.nd.na.target_address", "-e", "icmpv6.opt.linkaddr", "-e", "icmpv6.checksum.status",
            ])
            #expect(advertisement.output.contains("\(Interop.netstackAddress6)\t\(Interop.netstackMAC)\t1"),
                    "NetStack's neighbour advertisements: \(advertisement.output)")
            let malformed = try TShark.run(["-r", pcap, "-Y", "_ws.malformed || _ws.expert.severity >= warning",
                                            "-T", "fields", "-e", "frame.number", "-e", "_ws.expert.message"])
            #expect(malformed.output.isEmpty, "tshark's complaints: \(malformed.output)")
        }
    }
}

/// Sends one UDP datagram of each size in argv[3:] to the IPv6 address argv[1], port argv[2], and
/// checks that each comes back unchanged from that address (resending up to three times).
let udp6EchoClient = #"""
import os, socket, sys
host, port, sizes = sys.argv[1], int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2)
for size in sizes:
    data = os.urandom(size)
    for attempt in range(3):
        s.sendto(data, (host, port))
        try:
            reply, sender = s.recvfrom(65535)
            break
        except socket.timeout:
            continue
    else:
        sys.exit("no echo of a %d-byte datagram after 3 tries" % size)
    if reply != data or sender[:2] != (host, port):
        sys.exit("the echo of a %d-byte datagram differs: %d bytes from %s" % (size, len(reply), sender))
print("echoed %d datagrams intact" % len(sizes))
"""#

/// Connects to argv[1]:argv[2] over TCP, prints `connected PORT` (its own port) and holds the
/// connection open for up to 60 s.
let holdConnection = #"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
print("connected", s.getsockname()[1], flush=True)
time.sleep(60)
"""#
