// `netstack tunnel --socks5` between the same three namespaces as `--direct`
// (TunnelInteropTests.swift), with Debian's SOCKS5 servers in the server's
// namespace: microsocks (CONNECT, username/password) carries the TCP checks,
// dante-server (`danted`, configured in the scratch directory) the UDP
// ASSOCIATE check, as microsocks has no UDP, and the half-close check, as
// microsocks ends both directions at the first end of stream. Each phase gets its own TUN,
// moved into the client's namespace after `ready` and deleted after the phase.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension InteropTests {
    @Suite("Tunnel through SOCKS5")
    struct TunnelSocks5 {
        typealias Direct = InteropTests.Tunnel
        static let microsocksPort = 1080
        static let dantePort = 1081

        @Test("tunnel --socks5: HTTP, echo (microsocks, with a password) and DNS (dante, UDP ASSOCIATE) only through the proxy; refusals stay refusals; a wrong password refuses, said once")
        func socks5() async throws {
            try await withNamespace { proxy in
                try await withNamespace { server in
                    try await withNamespace { client in
                        try await relayThroughProxies(proxy: proxy, server: server, client: client)
                    }
                }
            }
        }

        private func relayThroughProxies(proxy: Namespace, server: Namespace, client: Namespace) async throws {
            let (root, expected) = try await Direct.linkAndStartServices(proxy: proxy, server: server)
            // microsocks: a thread and two descriptors per connection, 2,000 idle ones included.
            let microsocks = try server.spawn([
                "sh", "-c", "ulimit -n 16384 && exec microsocks -i \(Direct.server) -p \(Self.microsocksPort) -u bob -P secret",
            ])
            try await waitForListener(server, port: Self.microsocksPort, microsocks)
            let danteConfig = server.directory + "/danted.conf"
            try """
                logoutput: stderr
                internal: \(Direct.server) port = \(Self.dantePort)
                external: \(Direct.server)
                socksmethod: none
                clientmethod: none
                user.privileged: root
                user.unprivileged: nobody
                client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }
                socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect udpassociate udpreply }

                """.write(toFile: danteConfig, atomically: false, encoding: .utf8)
            let dante = try server.spawn(["danted", "-f", danteConfig, "-p", server.directory + "/danted.pid", "-N", "1"])
            try await waitForListener(server, port: Self.dantePort, dante)

            // Phase 1: microsocks with username/password: TCP.
            var tunnel = try await startTunnel("tun0", proxy: proxy, client: client,
                                               socks5: "\(Direct.server):\(Self.microsocksPort)", user: "bob", password: "secret")
            #expect(tunnel.output.contains("tunnel socks5 \(Direct.server):\(Self.microsocksPort) user bob"), "\(tunnel.output)")

            let out = client.directory + "/big.out"
            let started = ContinuousClock.now
            let download = try await client.curl("http://\(Direct.server):8000/big.bin", to: out, timeout: .seconds(300))
            print("curl through tunnel --socks5 (microsocks): 64 MiB in \(ContinuousClock.now - started)")
            #expect(download.succeeded, "\(download)\(tunnel.tails)")
            #expect(try await client.sha256(ofFile: out) == expected, "the download differs from the file served")
            try? FileManager.default.removeItem(atPath: out)

            try Interop.writeRandomFile(root + "/mid.bin", count: 8 << 20)
            let expectedMid = try await server.sha256(ofFile: root + "/mid.bin")
            let parallel = try await client.shell(
                "pids=''; for i in 0 1 2 3 4 5 6 7 8 9; do curl -sS --fail --max-time 120 -o \(client.directory)/p$i.out "
                    + "http://\(Direct.server):8000/mid.bin & pids=\"$pids $!\"; done; "
                    + "ok=0; for p in $pids; do wait $p || ok=1; done; exit $ok",
                timeout: .seconds(150))
            #expect(parallel.succeeded, "\(parallel)\(tunnel.tails)")
            for index in 0..<10 {
                #expect(try await client.sha256(ofFile: client.directory + "/p\(index).out") == expectedMid,
                        "parallel download \(index) differs")
            }

            // The proxy answers the closed port with REP X'05' connection refused: curl sees a refusal (exit 7).
            let refused = try await client.run(["curl", "-sS", "--max-time", "10", "http://\(Direct.server):9/"], timeout: .seconds(20))
            #expect(refused.termination == .exited(7), "\(refused)")
            #expect(refused.errorOutput.contains("Couldn't connect") || refused.errorOutput.contains("refused"), "\(refused)")

            let statistics = try await proxy.table("netstat", ["--statistics"])
            #expect(statistics.output.contains("1 tunnel: TCP connections refused as the destination refused"), "\(statistics)")
            #expect(statistics.output.contains("0 tunnel: flows refused as the SOCKS5 proxy rejected the authentication"),
                    "\(statistics)")

            let idle = try client.spawnPython(Direct.idleClient, [Direct.server, "\(Direct.idleFlows)"])
            try await idle.waitForLine(startingWith: "held", timeout: .seconds(180))
            let rss = Direct.residentKiB(of: tunnel.pid)
            let connections = try await proxy.table("netstat")
            let established = connections.output.split(separator: "\n").filter { $0.hasSuffix("ESTABLISHED") }.count
            print("tunnel --socks5 holding \(Direct.idleFlows) idle TCP flows: VmRSS \(rss.map { "\($0) KiB" } ?? "unknown"), "
                  + "\(established) connections established on the stack")
            #expect(established >= Direct.idleFlows, "\(connections.output.suffix(500))")
            if let rss { #expect(rss < 512 * 1024, "the relay should hold 2,000 idle flows in well under 512 MiB") }
            try await stopTunnel(tunnel, "tun0", proxy: proxy, client: client)
            let closed = try await idle.wait(timeout: .seconds(90))
            #expect(closed == .exited(0), "\(idle.summary)\(idle.tails)")
            #expect(idle.output.contains("fin \(Direct.idleFlows) reset 0"), "\(idle.output)")

            // Phase 2: dante: a DNS query over UDP through a UDP ASSOCIATE, and a download through CONNECT.
            tunnel = try await startTunnel("tun1", proxy: proxy, client: client, socks5: "\(Direct.server):\(Self.dantePort)")
            let query = try await client.python(Direct.dnsQuery, [Direct.server, "tunnel.test"], timeout: .seconds(20))
            #expect(query.succeeded && query.output.contains("answer \(Direct.server)"), "\(query)\(tunnel.tails)\(dante.tails)")
            let small = try await client.curl("http://\(Direct.server):8000/mid.bin", to: client.directory + "/d.out",
                                              timeout: .seconds(120))
            #expect(small.succeeded, "\(small)\(tunnel.tails)")
            #expect(try await client.sha256(ofFile: client.directory + "/d.out") == expectedMid)
            // Echoed both ways at once, then half-closed (dante keeps the other direction open; microsocks
            // closes both at the first end of stream, so this check runs here).
            let bulk = try await client.python(Direct.echoBulk, [Direct.server, "\(4 << 20)"], timeout: .seconds(120))
            #expect(bulk.output.contains("echoed \(4 << 20) intact"), "\(bulk)\(tunnel.tails)")
            let udpStatistics = try await proxy.table("netstat", ["--statistics"])
            #expect(udpStatistics.output.contains("1 tunnel: UDP flows relayed"), "\(udpStatistics)")
            #expect(udpStatistics.output.contains("0 tunnel: SOCKS5 UDP datagrams dropped as foreign"), "\(udpStatistics)")
            try await stopTunnel(tunnel, "tun1", proxy: proxy, client: client)

            // Phase 3: a wrong password: every attempt is refused (curl exit 7), counted, and said once on stderr.
            tunnel = try await startTunnel("tun2", proxy: proxy, client: client,
                                           socks5: "\(Direct.server):\(Self.microsocksPort)", user: "bob", password: "wrong")
            for _ in 0..<2 {
                let rejected = try await client.run(["curl", "-sS", "--max-time", "10", "http://\(Direct.server):8000/"],
                                                    timeout: .seconds(20))
                #expect(rejected.termination == .exited(7), "\(rejected)")
            }
            let rejections = try await proxy.table("netstat", ["--statistics"])
            #expect(rejections.output.contains("2 tunnel: flows refused as the SOCKS5 proxy rejected the authentication"),
                    "\(rejections)")
            let said = tunnel.errorOutput.components(separatedBy: "rejected the authentication").count - 1
            #expect(said == 1, "\(tunnel.tails)")
            try await stopTunnel(tunnel, "tun2", proxy: proxy, client: client)
        }

        /// Creates `device` in the proxy's namespace, starts `netstack tunnel --socks5` on it, waits
        /// for `ready`, then moves the TUN into the client's namespace as its only route.
        private func startTunnel(_ device: String, proxy: Namespace, client: Namespace, socks5: String,
                                 user: String? = nil, password: String? = nil) async throws -> ChildProcess {
            try await Direct.must(proxy, ["ip", "tuntap", "add", "dev", device, "mode", "tun"])
            var arguments = ["env", "NETSTACK_SOCKS5_PASSWORD=\(password ?? "")", try Interop.netstackPath(), "tunnel",
                             "--tun", device, "--address", "\(Direct.tunnelAddress)/24", "--socks5", socks5,
                             "--outbound-interface", "veth-p", "--control", proxy.controlPath]
            if let user { arguments += ["--socks5-user", user] }
            let tunnel = try proxy.spawn(arguments)
            try await tunnel.waitForLine(startingWith: "ready", timeout: .seconds(20))
            try await Direct.must(proxy, ["ip", "link", "set", device, "netns", client.name])
            try await Direct.must(client, ["ip", "addr", "add", "\(Direct.clientAddress)/24", "dev", device])
            try await Direct.must(client, ["ip", "link", "set", device, "up"])
            try await Direct.must(client, ["ip", "route", "add", "default", "dev", device])
            return tunnel
        }

        /// SIGTERM to the tunnel (it must exit 0), then the TUN and its route go from the client.
        private func stopTunnel(_ tunnel: ChildProcess, _ device: String, proxy: Namespace, client: Namespace) async throws {
            #expect(try await proxy.stop(tunnel) == .exited(0), "\(tunnel.tails)")
            try await Direct.must(client, ["ip", "link", "del", device])
        }

        /// Waits (up to 20 s) until something listens on TCP `port` in `ns`.
        private func waitForListener(_ ns: Namespace, port: Int, _ process: ChildProcess) async throws {
            for _ in 0..<200 {
                let listening = try await ns.run(["ss", "-Hltn", "sport = :\(port)"])
                if listening.output.contains(":\(port)") { return }
                if let ended = process.poll() { throw InteropError("\(process.summary) ended (\(ended))\(process.tails)") }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw InteropError("nothing listens on port \(port) after 20 s\(process.tails)")
        }
    }
}
