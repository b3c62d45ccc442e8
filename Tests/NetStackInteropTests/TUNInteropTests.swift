// NetStack over a TUN device: IP packets with no Ethernet header and no ARP.

import Foundation
import Testing

extension InteropTests {
    @Suite("TUN device")
    struct TUNDevice {
        @Test("Over TUN the kernel pings NetStack and curl downloads 64 MiB intact")
        func curlOverTUN() async throws {
            try await withNamespace { ns in
                try ns.addTun("tun0", local: Interop.kernelAddress, peer: Interop.netstackAddress)
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(["--tun", "tun0", "--address", "\(Interop.netstackAddress)/24",
                                                "--http", "8080", "--root", root])

                let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress])
                #expect(ping.output.contains("3 packets transmitted, 3 received"), "\(ping)")

                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out,
                                                  timeout: .seconds(300))
                print("curl from serve over TUN: 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }
    }
}
