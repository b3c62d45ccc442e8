// The bulk downloads again, with NetStack's device losing, delaying,
// reordering and duplicating frames both ways: TCP on either end must still
// deliver every byte. NetStack sends with BBR, which does not read this
// steady random loss as congestion, and must finish 64 MiB within a minute
// (issue 10; with the NewReno-style recovery before RACK and BBR it took 8 to
// 13). The kernel sends to `fetch` with CUBIC, in about 1.5 minutes.

import Foundation
import Testing

extension InteropTests {
    @Suite("Impaired link")
    struct ImpairedLink {
        static let impairment = "loss=5%,delay=10ms,jitter=3ms,reorder=25%,duplicate=1%"

        @Test("curl downloads 64 MiB from NetStack (BBR) through an impaired device intact, in under a minute")
        func curlThroughImpairment() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, expected) = try await makeWebRoot(ns, size: Interop.bulkSize)
                let serve = try await ns.serve(ns.standardServeArguments
                    + ["--http", "8080", "--root", root, "--impair", Self.impairment, "--congestion", "bbr"])
                let out = ns.directory + "/big.out"
                let started = ContinuousClock.now
                let download = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out,
                                                  timeout: .seconds(300))
                let elapsed = ContinuousClock.now - started
                print("curl from serve (BBR), impaired: 64 MiB in \(elapsed)")
                #expect(download.succeeded, "\(download)\n\(serve.tails)")
                #expect(elapsed < .seconds(60), "64 MiB over the impaired link took \(elapsed)")
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
