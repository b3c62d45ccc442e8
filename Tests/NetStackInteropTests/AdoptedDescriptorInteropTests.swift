// NetStack on a TUN descriptor it inherited rather than opened (`--tun-fd N`): the way a
// privileged helper or the platform hands a VPN device to an unprivileged program.

import Foundation
import Testing

extension InteropTests {
    @Suite("Adopted descriptor")
    struct AdoptedDescriptor {
        /// Opens /dev/net/tun attached to tun0 (TUNSETIFF, IFF_TUN | IFF_NO_PI), leaves the descriptor
        /// inheritable and execs `netstack COMMAND --tun-fd N` with the remaining arguments.
        static let handOver = """
            import fcntl, os, struct, sys
            fd = os.open('/dev/net/tun', os.O_RDWR)
            fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', b'tun0', 0x1001))
            os.set_inheritable(fd, True)
            os.execv(sys.argv[1], [sys.argv[1], sys.argv[2], '--tun-fd', str(fd)] + sys.argv[3:])
            """

        @Test("serve --tun-fd adopts an inherited TUN descriptor: the kernel pings NetStack through it")
        func serveOnAnInheritedTUNDescriptor() async throws {
            try await withNamespace { ns in
                try ns.addTun("tun0", local: Interop.kernelAddress, peer: Interop.netstackAddress)
                let serve = try ns.spawnPython(Self.handOver, [try Interop.netstackPath(), "serve", "--address", "\(Interop.netstackAddress)/24"])
                try await serve.waitForLine(startingWith: "ready tun tun0", timeout: .seconds(20))
                let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("an adopted descriptor has no offload: said once on stderr for --offload on and auto --verbose, not for auto",
              arguments: [(["--offload", "on"], true), (["--offload", "auto", "--verbose"], true), (["--offload", "auto"], false)])
        func offloadRefusedOnAnAdoptedDescriptor(options: [String], said: Bool) async throws {
            try await withNamespace { ns in
                try ns.addTun("tun0", local: Interop.kernelAddress, peer: Interop.netstackAddress)
                let serve = try ns.spawnPython(Self.handOver, [try Interop.netstackPath(), "serve", "--address",
                                                               "\(Interop.netstackAddress)/24"] + options)
                try await serve.waitForLine(startingWith: "ready tun tun0", timeout: .seconds(20))
                let ping = try await ns.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", Interop.netstackAddress])
                #expect(ping.output.contains("2 packets transmitted, 2 received"), "\(ping)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
                let lines = serve.errorOutput.split(separator: "\n").filter { $0.contains("offload") }
                #expect(lines.count == (said ? 1 : 0), "\(serve.tails)")
                if said {
                    #expect(lines.first?.hasPrefix("netstack: offload off on tun0: no virtio-net offload on this device") == true,
                            "\(lines)")
                    #expect(lines.first?.hasSuffix("one frame per read and write") == true, "\(lines)")
                }
            }
        }

        @Test("tunnel --tun-fd relays on an inherited TUN descriptor: the kernel's pings to any address are answered")
        func tunnelOnAnInheritedTUNDescriptor() async throws {
            try await withNamespace { ns in
                try ns.addTun("tun0", local: Interop.kernelAddress, peer: Interop.netstackAddress)
                let tunnel = try ns.spawnPython(Self.handOver, [try Interop.netstackPath(), "tunnel", "--address", "\(Interop.netstackAddress)/24"])
                try await tunnel.waitForLine(startingWith: "ready tun tun0", timeout: .seconds(20))
                let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")
                #expect(try await ns.stop(tunnel) == .exited(0), "\(tunnel.tails)")
            }
        }

        @Test("serve --tun-fd on a descriptor that is not open fails with one line")
        func serveOnAClosedDescriptorFails() async throws {
            try await withNamespace { ns in
                let result = try await ns.netstack(["serve", "--tun-fd", "97", "--address", "\(Interop.netstackAddress)/24"])
                #expect(result.termination == .exited(1), "\(result)")
                #expect(result.errorOutput == "netstack: descriptor 97 is not open\n", "\(result)")
            }
        }
    }
}
