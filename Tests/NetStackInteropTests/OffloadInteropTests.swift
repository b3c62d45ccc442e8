// Segmentation offload on TAP and TUN devices (`--offload on|off`): a bulk transfer each way between
// the kernel and NetStack, the data compared byte for byte, and the capture read by tshark.
// With offload on, the kernel hands NetStack TCP super-segments (up to 64 KiB behind a
// virtio-net header, checksum partial) and NetStack's capture must show them as they crossed,
// with their checksums filled: no malformed packet, no bad checksum. With offload off, no
// frame may be longer than the MTU.

import Foundation
import NetStackTestSupport
import Testing

extension InteropTests {
    @Suite("Segmentation offload")
    struct Offload {
        @Test("Bulk TCP both ways arrives intact and the capture is tshark-clean",
              arguments: ["tap", "tun"], ["on", "off"])
        func bulkBothWays(device: String, mode: String) async throws {
            try await withNamespace { ns in
                let deviceArguments: [String]
                if device == "tap" {
                    try ns.addStandardTap()
                    deviceArguments = ns.standardServeArguments
                } else {
                    try ns.addTun("tun0", local: Interop.kernelAddress, peer: Interop.netstackAddress)
                    deviceArguments = ["--tun", "tun0", "--address", "\(Interop.netstackAddress)/24"]
                }
                let size = 32 << 20
                let (root, expected) = try await makeWebRoot(ns, size: size)
                let pcap = ns.directory + "/offload-\(device)-\(mode).pcap"
                let serve = try await ns.serve(deviceArguments
                    + ["--echo", "7", "--http", "8080", "--root", root, "--offload", mode, "--verbose",
                       "--pcap", pcap])

                // Kernel → NetStack → kernel: the echo service returns every byte it was sent.
                let echo = try await ns.python(tcpEchoClient, [Interop.netstackAddress, "7", "\(size)"],
                                               timeout: .seconds(240))
                #expect(echo.succeeded && echo.output == "echoed \(size) bytes intact\n", "\(echo)\n\(serve.tails)")

                // NetStack → kernel: curl downloads a file; its hash must match.
                let out = ns.directory + "/big.out"
                let download = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out,
                                                  timeout: .seconds(240))
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                // On a kernel that grants offload nothing is said, even with --verbose.
                #expect(!serve.tails.contains("offload off"), "\(serve.tails)")

                // Wireshark, as an outside oracle: every frame parses, every checksum is right. Linux now
                // and then sends 0xFFFF for a computed 0x0000, the same in one's complement (RFC 1624 §3),
                // which tshark marks bad: not an error.
                let bad = try TShark.run([
                    "-r", pcap, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                    "-Y", "_ws.malformed || ip.checksum.status == 0 || (tcp.checksum.status == 0 && tcp.checksum != 0xffff)",
                ])
                #expect(bad.status == 0, "tshark: \(bad.output)")
                #expect(bad.output.isEmpty, "malformed frames or bad checksums:\n\(bad.output.prefix(2000))")
                let lengths = try TShark.run(["-r", pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "frame.len"])
                let frames = lengths.output.split(separator: "\n").compactMap { Int($0) }
                #expect(frames.count > 100, "TCP data frames in the capture: \(frames.count)")
                let longest = frames.max() ?? 0
                if mode == "on" {
                    // Super-segments both ways: frames far longer than one MTU.
                    #expect(longest > 9000, "the longest TCP frame with offload on: \(longest) bytes")
                } else {
                    #expect(longest <= (device == "tap" ? 1514 : 1500), "the longest TCP frame with offload off: \(longest) bytes")
                }
            }
        }


        @Test("A persistent TAP used with offload on, then off, carries data intact both times")
        func onThenOffOnOneDevice() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                for mode in ["on", "off"] {
                    // The device keeps the offloads an opener set: `off` must turn them off again,
                    // or the kernel hands NetStack partial checksums with no header to say so.
                    let serve = try await ns.serve(ns.standardServeArguments + ["--echo", "7", "--offload", mode])
                    let echo = try await ns.python(tcpEchoClient, [Interop.netstackAddress, "7", "\(4 << 20)"],
                                                   timeout: .seconds(60))
                    #expect(echo.succeeded && echo.output == "echoed \(4 << 20) bytes intact\n",
                            "offload \(mode): \(echo)\n\(serve.tails)")
                    #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                }
            }
        }
    }
}
