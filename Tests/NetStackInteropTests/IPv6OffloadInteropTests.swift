// Segmentation offload over IPv6 (TSO6) on TAP and TUN devices: with `--offload on` NetStack sends
// IPv6 TCP super-segments behind virtio-net headers of gso_type TCPV6, and the kernel (granted
// TUN_F_TSO6) hands NetStack IPv6 super-segments too. A 64 MiB curl -6 download must arrive intact
// with super-segments counted by NetStack; the capture of an echo exchange before it must show long
// IPv6 TCP frames both ways, every checksum right by tshark's reckoning.

import Foundation
import NetStackTestSupport
import Testing

extension InteropTests {
    @Suite("IPv6 segmentation offload")
    struct IPv6Offload {
        @Test("curl -6 of 64 MiB with offload on goes out as TSO6 super-segments and arrives intact",
              arguments: ["tap", "tun"])
        func curlThroughTSO6(device: String) async throws {
            try await withNamespace { ns in
                let deviceArguments: [String]
                if device == "tap" {
                    try await ns.addStandardTap6()
                    deviceArguments = ns.dualStackServeArguments
                } else {
                    try await ns.mustRun(["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"])
                    try await ns.enableIPv6(on: "tun0", address: "\(Interop.kernelAddress6)/64")
                    try await ns.mustRun(["ip", "link", "set", "tun0", "up"])
                    deviceArguments = ["--tun", "tun0", "--address", "\(Interop.netstackAddress6)/64",
                                       "--control", ns.controlPath]
                }
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let pcap = ns.directory + "/tso6-\(device).pcap"
                let serve = try await ns.serve(deviceArguments
                    + ["--echo", "7", "--http", "8080", "--root", root, "--offload", "on", "--verbose",
                       "--pcap", pcap, "--pcap-limit", "24M"])

                // Kernel → NetStack → kernel over IPv6, recorded whole (8 MiB each way, within the capture's limit).
                let size = 8 << 20
                let echo = try await ns.python(tcpEchoClient, [Interop.netstackAddress6, "7", "\(size)"],
                                               timeout: .seconds(120))
                #expect(echo.succeeded && echo.output == "echoed \(size) bytes intact\n", "\(echo)\n\(serve.tails)")

                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://[\(Interop.netstackAddress6)]:8080/big.bin", to: out,
                                                  extra: ["-6", "-g"], timeout: .seconds(300))
                print("curl -6 from serve --offload on over \(device): 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")

                // NetStack's own count: 72 MiB left in segments of at most 1,428 bytes, so with TSO6 far
                // fewer super-segments than that; without it, none.
                let statistics = try await ns.table("netstat", ["--statistics"])
                let superSegments = statistics.output.split(separator: "\n")
                    .first { $0.hasSuffix("super-segments sent out (offload)") }
                    .flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0
                #expect(superSegments > 500, "super-segments sent: \(superSegments)\n\(statistics.output)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                #expect(!serve.tails.contains("offload off"), "\(serve.tails)")

                // tshark, the outside oracle: IPv6 TCP frames far longer than the MTU, from each side, and
                // no malformed frame or bad TCP checksum (0xFFFF for a computed 0 is Linux's, not an error).
                let bad = try TShark.run([
                    "-r", pcap, "-o", "tcp.check_checksum:TRUE",
                    "-Y", "_ws.malformed || (tcp.checksum.status == 0 && tcp.checksum != 0xffff)",
                ])
                #expect(bad.status == 0, "tshark: \(bad.output)")
                #expect(bad.output.isEmpty, "malformed frames or bad checksums:\n\(bad.output.prefix(2000))")
                for (from, who) in [(Interop.netstackAddress6, "NetStack"), (Interop.kernelAddress6, "the kernel")] {
                    let lengths = try TShark.run(["-r", pcap, "-Y", "ipv6.src == \(from) && tcp.len > 0",
                                                  "-T", "fields", "-e", "ipv6.plen"])
                    let longest = lengths.output.split(separator: "\n").compactMap { Int($0) }.max() ?? 0
                    #expect(longest > 9000, "the longest IPv6 TCP packet from \(who): \(longest) bytes of payload")
                }
            }
        }
    }
}
