// `netstack tunnel --direct` between three namespaces: a client whose only
// route is the TUN, the proxy where NetStack relays through the kernel's own
// sockets, and a server with a kernel HTTP server, a TCP echo and dnsmasq. The
// TUN is moved into the client's namespace after `ready`: from then on
// NetStack works from its open descriptor alone.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension InteropTests {
    @Suite("Tunnel")
    struct Tunnel {
        static let server = "203.0.113.1"
        static let proxyOnServerLink = "203.0.113.2"
        static let tunnelAddress = "198.51.100.1"
        static let clientAddress = "198.51.100.2"
        static let idleFlows = 2000

        @Test("tunnel --direct: a client reaches HTTP, echo and DNS only through NetStack; refusals stay refusals; SIGTERM sends FINs")
        func direct() async throws {
            try await withNamespace { proxy in
                try await withNamespace { server in
                    try await withNamespace { client in
                        try await relayThroughTunnel(proxy: proxy, server: server, client: client)
                    }
                }
            }
        }

        /// The proxy ↔ server veth link, and the server's kernel HTTP server (serving a
        /// 64 MiB file), TCP echo and dnsmasq — what the `--direct` and `--socks5` suites
        /// share. Returns the web root and the file's SHA-256.
        static func linkAndStartServices(proxy: Namespace, server: Namespace) async throws -> (root: String, expected: String) {
            try await Self.must(proxy, ["ip", "link", "add", "veth-p", "type", "veth", "peer", "name", "veth-s", "netns", server.name])
            try await Self.must(proxy, ["ip", "addr", "add", "\(Self.proxyOnServerLink)/24", "dev", "veth-p"])
            try await Self.must(proxy, ["ip", "link", "set", "veth-p", "up"])
            try await Self.must(server, ["ip", "addr", "add", "\(Self.server)/24", "dev", "veth-s"])
            try await Self.must(server, ["ip", "link", "set", "veth-s", "up"])

            let (root, expected) = try await makeWebRoot(server, size: Interop.bulkSize)
            let http = try server.spawn(["python3", "-m", "http.server", "8000", "--bind", Self.server, "--directory", root])
            try await http.waitForLine(startingWith: "Serving HTTP", timeout: .seconds(20))
            let echo = try server.spawnPython(Self.echoServer, [Self.server])
            try await echo.waitForLine(startingWith: "listening", timeout: .seconds(20))
            let dns = try server.spawn([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--listen-address=\(Self.server)", "--bind-interfaces", "--address=/tunnel.test/\(Self.server)",
            "--pid-file=\(server.directory)/dnsmasq.pid",
            ])
            try await dns.waitUntil("dnsmasq's 'started' message", timeout: .seconds(20)) { $0.errorOutput.contains("started") }
            return (root, expected)
        }

        private func relayThroughTunnel(proxy: Namespace, server: Namespace, client: Namespace) async throws {
            let (root, expected) = try await Self.linkAndStartServices(proxy: proxy, server: server)
            // The TUN starts in the proxy's namespace.
            try await Self.must(proxy, ["ip", "tuntap", "add", "dev", "tun0", "mode", "tun"])

            let tunnel = try proxy.spawn([try Interop.netstackPath(), "tunnel", "--tun", "tun0",
                                          "--address", "\(Self.tunnelAddress)/24", "--direct",
                                          "--outbound-interface", "veth-p", "--control", proxy.controlPath])
            try await tunnel.waitForLine(startingWith: "ready", timeout: .seconds(20))

            // The TUN moves to the client, which gets its own address on it and no other route.
            try await Self.must(proxy, ["ip", "link", "set", "tun0", "netns", client.name])
            try await Self.must(client, ["ip", "addr", "add", "\(Self.clientAddress)/24", "dev", "tun0"])
            try await Self.must(client, ["ip", "link", "set", "tun0", "up"])
            try await Self.must(client, ["ip", "route", "add", "default", "dev", "tun0"])

            // 64 MiB through the relay, intact.
            let out = client.directory + "/big.out"
            let started = ContinuousClock.now
            let download = try await client.curl("http://\(Self.server):8000/big.bin", to: out, timeout: .seconds(300))
            print("curl through tunnel --direct: 64 MiB in \(ContinuousClock.now - started)")
            #expect(download.succeeded, "\(download)\(tunnel.tails)")
            #expect(try await client.sha256(ofFile: out) == expected, "the download differs from the file served")
            try? FileManager.default.removeItem(atPath: out)

            // Ten downloads of 8 MiB at once, each intact.
            try Interop.writeRandomFile(root + "/mid.bin", count: 8 << 20)
            let expectedMid = try await server.sha256(ofFile: root + "/mid.bin")
            let parallel = try await client.shell(
                "pids=''; for i in 0 1 2 3 4 5 6 7 8 9; do curl -sS --fail --max-time 120 -o \(client.directory)/p$i.out "
                    + "http://\(Self.server):8000/mid.bin & pids=\"$pids $!\"; done; "
                    + "ok=0; for p in $pids; do wait $p || ok=1; done; exit $ok",
                timeout: .seconds(150))
            #expect(parallel.succeeded, "\(parallel)\(tunnel.tails)")
            for index in 0..<10 {
                #expect(try await client.sha256(ofFile: client.directory + "/p\(index).out") == expectedMid,
                        "parallel download \(index) differs")
            }

            // A DNS query over UDP, answered by dnsmasq behind the relay.
            let query = try await client.python(Self.dnsQuery, [Self.server, "tunnel.test"], timeout: .seconds(20))
            #expect(query.succeeded && query.output.contains("answer \(Self.server)"), "\(query)\(tunnel.tails)")

            // A closed UDP port: the server's port unreachable is passed on, so a connected socket fails at once.
            let closedUDP = try await client.python(Self.udpToClosedPort, [Self.server, "5300"], timeout: .seconds(20))
            #expect(closedUDP.output.contains("refused"), "\(closedUDP)")

            // 16 MiB echoed through the relay both ways at once, then half-closed: every byte back, then the end.
            let bulk = try await client.python(Self.echoBulk, [Self.server, "\(16 << 20)"], timeout: .seconds(120))
            #expect(bulk.output.contains("echoed \(16 << 20) intact"), "\(bulk)\(tunnel.tails)")

            // The server resets its connection: the client sees a reset, not an orderly end.
            let reset = try await client.python(Self.resetByServer, [Self.server], timeout: .seconds(20))
            #expect(reset.output.contains("reset"), "\(reset)")

            // A closed port: curl sees the refusal (exit 7), not a timeout.
            let refused = try await client.run(["curl", "-sS", "--max-time", "10", "http://\(Self.server):9/"], timeout: .seconds(20))
            #expect(refused.termination == .exited(7), "\(refused)")
            #expect(refused.errorOutput.contains("Couldn't connect") || refused.errorOutput.contains("refused"), "\(refused)")

            // An address nobody answers: bound to veth-p, the relay's socket tries it on that link, ARP
            // fails (about 3 s), and the client gets ICMP host unreachable: curl fails at once (7), not at its timeout (28).
            let unreachable = try await client.run(["curl", "-sS", "--max-time", "10", "http://192.0.2.99:80/"],
                                                    timeout: .seconds(20))
            #expect(unreachable.termination == .exited(7), "\(unreachable)")

            let netstat = try await proxy.table("netstat")
            #expect(netstat.output.contains("\(Self.server):53") && netstat.output.contains("FLOW"), "\(netstat)")
            let statistics = try await proxy.table("netstat", ["--statistics"])
            #expect(statistics.output.contains("tunnel: TCP connections relayed"), "\(statistics)")
            #expect(statistics.output.contains("2 tunnel: UDP flows relayed"), "\(statistics)")
            #expect(statistics.output.contains("1 tunnel: UDP datagrams refused by their destination"), "\(statistics)")
            #expect(statistics.output.contains("2 tunnel: TCP connections refused as the destination refused"), "\(statistics)")

            // 2,000 idle connections to the echo server held at once, then SIGTERM: each client sees a FIN.
            let idle = try client.spawnPython(Self.idleClient, [Self.server, "\(Self.idleFlows)"])
            try await idle.waitForLine(startingWith: "held", timeout: .seconds(120))
            let rss = Self.residentKiB(of: tunnel.pid)
            let connections = try await proxy.table("netstat")
            let established = connections.output.split(separator: "\n").filter { $0.hasSuffix("ESTABLISHED") }.count
            print("tunnel --direct holding \(Self.idleFlows) idle TCP flows: VmRSS \(rss.map { "\($0) KiB" } ?? "unknown"), "
                  + "\(established) connections established on the stack")
            #expect(established >= Self.idleFlows, "\(connections.output.suffix(500))")
            if let rss { #expect(rss < 512 * 1024, "the relay should hold 2,000 idle flows in well under 512 MiB") }

            #expect(try await proxy.stop(tunnel) == .exited(0), "\(tunnel.tails)")
            let closed = try await idle.wait(timeout: .seconds(90))
            #expect(closed == .exited(0), "\(idle.summary)\(idle.tails)")
            #expect(idle.output.contains("fin \(Self.idleFlows) reset 0"), "\(idle.output)")
        }

        /// Runs a setup command inside `ns`; fails the test unless it succeeds.
        static func must(_ ns: Namespace, _ arguments: [String]) async throws {
            let result = try await ns.run(arguments)
            guard result.succeeded else { throw InteropError("\(arguments.joined(separator: " ")) failed: \(result)") }
        }

        /// VmRSS of a process in KiB, from /proc.
        static func residentKiB(of pid: pid_t) -> Int? {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
        }

        /// A TCP echo server on argv[1]:7 holding thousands of connections in one process. It
        /// echoes with backpressure (stops reading while 1 MiB waits to go out), closes after
        /// echoing everything once the client has closed, and resets a connection that sends `reset`.
        static let echoServer = """
            import resource, selectors, socket, struct, sys
            try: resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
            except (ValueError, OSError): pass
            listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((sys.argv[1], 7)); listener.listen(4096); listener.setblocking(False)
            selector = selectors.DefaultSelector(); selector.register(listener, selectors.EVENT_READ)
            pending, closing = {}, set()
            def finish(s):
                selector.unregister(s); del pending[s]; closing.discard(s); s.close()
            print("listening", flush=True)
            while True:
                for key, mask in selector.select():
                    s = key.fileobj
                    if s is listener:
                        while True:
                            try: connection, _ = listener.accept()
                            except BlockingIOError: break
                            connection.setblocking(False); pending[connection] = bytearray()
                            selector.register(connection, selectors.EVENT_READ)
                        continue
                    if mask & selectors.EVENT_READ:
                        try: data = s.recv(65536)
                        except BlockingIOError: data = None
                        except OSError: finish(s); continue
                        if data == b"": closing.add(s)
                        elif data and data.startswith(b"reset"):
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); finish(s); continue
                        elif data: pending[s] += data
                    if mask & selectors.EVENT_WRITE and pending[s]:
                        try: del pending[s][:s.send(pending[s])]
                        except BlockingIOError: pass
                        except OSError: finish(s); continue
                    events = (0 if s in closing or len(pending[s]) > 1 << 20 else selectors.EVENT_READ) \\
                        | (selectors.EVENT_WRITE if pending[s] else 0)
                    if events: selector.modify(s, events)
                    else: finish(s)
            """

        /// Sends argv[2] random bytes to argv[1]:7 while reading the echo, half-closes,
        /// reads to the end; prints `echoed N intact` when every byte came back in order.
        static let echoBulk = """
            import hashlib, os, socket, sys, threading
            server, size = sys.argv[1], int(sys.argv[2])
            data = os.urandom(size)
            s = socket.create_connection((server, 7), timeout=60)
            def writer():
                s.sendall(data); s.shutdown(socket.SHUT_WR)
            thread = threading.Thread(target=writer); thread.start()
            digest, count = hashlib.sha256(), 0
            while True:
                chunk = s.recv(1 << 16)
                if not chunk: break
                digest.update(chunk); count += len(chunk)
            thread.join()
            intact = count == size and digest.digest() == hashlib.sha256(data).digest()
            print("echoed", count, "intact" if intact else "DIFFERENT", flush=True)
            """

        /// Asks the echo server at argv[1]:7 to reset the connection; prints `reset` when the client sees one.
        static let resetByServer = """
            import socket, sys
            s = socket.create_connection((sys.argv[1], 7), timeout=10)
            s.sendall(b"reset")
            try: print("data" if s.recv(16) else "fin")
            except ConnectionResetError: print("reset")
            """

        /// Opens argv[2] connections to argv[1]:7, checks a few echo, prints `held N`,
        /// then waits (up to 60 s) for every one to end and prints how: `fin F reset R`.
        static let idleClient = """
            import resource, select, socket, sys, time
            server, count = sys.argv[1], int(sys.argv[2])
            try: resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
            except (ValueError, OSError): pass
            sockets = [socket.create_connection((server, 7), timeout=10) for _ in range(count)]
            for s in sockets[:10] + sockets[-10:]:
                s.sendall(b"ping"); assert s.recv(16) == b"ping"
            print("held", len(sockets), flush=True)
            poller = select.epoll(); byfd = {}
            for s in sockets:
                s.setblocking(False); poller.register(s.fileno(), select.EPOLLIN); byfd[s.fileno()] = s
            fin = reset = 0; deadline = time.time() + 60
            while byfd and time.time() < deadline:
                for fd, _ in poller.poll(1):
                    try: data = byfd[fd].recv(16)
                    except BlockingIOError: continue
                    except OSError: reset += 1; data = None
                    if data: continue
                    if data == b"": fin += 1
                    poller.unregister(fd); del byfd[fd]
            print("fin", fin, "reset", reset, flush=True)
            """

        /// Sends a datagram to argv[1]:argv[2] from a connected UDP socket; prints `refused` when
        /// the next receive fails with ECONNREFUSED (ICMP port unreachable), `timeout` otherwise.
        static let udpToClosedPort = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
            s.connect((sys.argv[1], int(sys.argv[2])))
            s.send(b"anyone?")
            try: s.recv(512); print("answered")
            except ConnectionRefusedError: print("refused")
            except socket.timeout: print("timeout")
            """

        /// Asks argv[1]:53 over UDP for the A record of argv[2] (three tries); prints `answer A.B.C.D`.
        static let dnsQuery = """
            import socket, struct, sys
            server, name = sys.argv[1], sys.argv[2]
            query = struct.pack(">HHHHHH", 0x4e53, 0x0100, 1, 0, 0, 0)
            query += b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
            for _ in range(3):
                s.sendto(query, (server, 53))
                try: reply = s.recv(512); break
                except socket.timeout: continue
            else: sys.exit("no answer")
            if reply[:2] != query[:2] or struct.unpack(">H", reply[6:8])[0] < 1: sys.exit("bad reply %r" % reply)
            print("answer", socket.inet_ntoa(reply[-4:]))
            """
    }
}
