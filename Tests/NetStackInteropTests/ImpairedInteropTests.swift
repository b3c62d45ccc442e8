// The bulk downloads again, with NetStack's device losing, delaying,
// reordering and duplicating frames both ways: TCP on either end must still
// deliver every byte. Slow, so bounded generously: measured here, the kernel
// sends 64 MiB in about 1.5 minutes, NetStack in 8 to 13 (its congestion
// window settles at 2–5 segments at this loss rate), release or debug alike.

import Foundation
import Testing

extension InteropTests {
    @Suite("Impaired link")
    struct ImpairedLink {
        static let impairment = "loss=5%,delay=10ms,jitter=3ms,reorder=25%,duplicate=1%"

        @Test("curl downloads 64 MiB from NetStack through an impaired device intact")
        func curlThroughImpairment() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(ns.standardServeArguments
                    + ["--http", "8080", "--root", root, "--impair", Self.impairment])
                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out,
                                                  timeout: .seconds(1200))
                print("curl from serve, impaired: 64 MiB in \(ContinuousClock.now - started)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("netstack fetch downloads 64 MiB from the kernel through an impaired device intact")
        func fetchThroughImpairment() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                _ = try await ns.startDNS(answering: "files.example.test")
                _ = try await ns.startFileServer(root: root)
                let out = ns.directory + "/fetched.out"
                let started = ContinuousClock.now
                let fetch = try await ns.netstack(
                    ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24", "--dns", Interop.kernelAddress,
                     "--impair", Self.impairment, "http://files.example.test:8000/big.bin", "-o", out],
                    timeout: .seconds(1200))
                print("fetch from http.server, impaired: 64 MiB in \(ContinuousClock.now - started)")
                #expect(fetch.succeeded, "\(fetch)")
                #expect(try await ns.sha256(ofFile: out) == expected, "the download differs from the file served")
            }
        }
    }
}
