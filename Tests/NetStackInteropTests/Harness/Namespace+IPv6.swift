// IPv6 in a test's namespace: the namespace starts with IPv6 off everywhere
// (Namespace.create), so a test that needs it turns it on for its own device
// only and gives the kernel a static address from 2001:db8::/32.

import Foundation

extension Interop {
    /// The kernel's IPv6 address on the test device.
    static let kernelAddress6 = "2001:db8::1"
    /// NetStack's IPv6 address on the test device.
    static let netstackAddress6 = "2001:db8::2"
}

extension Namespace {
    /// The kernel side of the IPv6 tests: `tap0` with 192.0.2.1/24 and 2001:db8::1/64 (`nodad`:
    /// usable at once), IPv6 on for `tap0` only.
    func addStandardTap6() async throws {
        try addStandardTap()
        try await enableIPv6(on: "tap0", address: "\(Interop.kernelAddress6)/64")
    }

    /// Turns IPv6 on for `device` (it was created with it off) and adds `address` to it without DAD.
    func enableIPv6(on device: String, address: String) async throws {
        try await mustRun(["sysctl", "-qw", "net.ipv6.conf.\(device).disable_ipv6=0"])
        try await mustRun(["ip", "-6", "addr", "add", address, "dev", device, "nodad"])
    }

    /// `serve` on `tap0` with both families — 192.0.2.2/24 and 2001:db8::2/64 — the fixed MAC and the control socket.
    var dualStackServeArguments: [String] {
        standardServeArguments + ["--address", "\(Interop.netstackAddress6)/64"]
    }

    /// radvd on `tap0` advertising `prefix` (on-link, autonomous) every 3 to 4 s, as the default router,
    /// once it runs. Its configuration and pid files live in the scratch directory.
    func startRadvd(prefix: String) async throws -> ChildProcess {
        let configuration = directory + "/radvd.conf"
        try """
            interface tap0 {
                AdvSendAdvert on;
                MinRtrAdvInterval 3;
                MaxRtrAdvInterval 4;
                prefix \(prefix) {
                    AdvOnLink on;
                    AdvAutonomous on;
                };
            };

            """.write(toFile: configuration, atomically: false, encoding: .utf8)
        let radvd = try spawn(["radvd", "-n", "-C", configuration, "-p", directory + "/radvd.pid", "-m", "stderr"])
        try await Task.sleep(for: .milliseconds(300))
        if let ended = radvd.poll() { throw InteropError("radvd ended at once (\(ended))" + radvd.tails) }
        return radvd
    }

    /// Runs a setup command in the namespace; throws with its output unless it succeeds.
    func mustRun(_ arguments: [String]) async throws {
        let result = try await run(arguments)
        guard result.succeeded else { throw InteropError("\(arguments.joined(separator: " ")) failed: \(result)") }
    }
}
