// Who closes first waits in TIME_WAIT: NetStack when it closes first, the
// kernel when it does. And netstat shows connections in their states.

import Foundation
import Testing

extension InteropTests {
    @Suite("Connection states")
    struct ConnectionStates {
        @Test("netstat lists listeners and an established connection")
        func netstatStates() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--echo", "7", "--http", "8080",
                                                                            "--root", try ns.makeDirectory("www")])
                let client = try ns.spawnPython(idleEchoClient, [Interop.netstackAddress, "7"])
                try await client.waitForLine(startingWith: "connected", timeout: .seconds(20))

                let netstat = try await ns.table("netstat")
                #expect(netstat.succeeded, "\(netstat)")
                let table = Table(netstat.output, headerContaining: "Proto")
                #expect(table.missingColumns(["Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"]) == [],
                        "netstat's columns: \(netstat)")
                for port in [7, 8080] {
                    #expect(table.rows.contains { $0.first == "tcp" && $0.last == "LISTEN" && $0.contains { $0.hasSuffix(":\(port)") } },
                            "no listener on \(port): \(netstat)")
                }
                #expect(table.rows.contains { row in
                    row.last == "ESTABLISHED" && row.contains("\(Interop.netstackAddress):7")
                        && row.contains { $0.hasPrefix("\(Interop.kernelAddress):") }
                }, "no established connection from the kernel: \(netstat)")
                client.terminate(grace: .seconds(2))
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("When NetStack closes first, NetStack's netstat shows TIME_WAIT")
        func netStackClosesFirst() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let (root, _) = try await makeWebRoot(ns, size: 1000)
                let serve = try await ns.serve(ns.standardServeArguments + ["--http", "8080", "--root", root])
                // `Connection: close`: the server closes once it has sent the response.
                let curl = try await ns.run(["curl", "-sS", "--max-time", "10", "-H", "Connection: close",
                                             "http://\(Interop.netstackAddress):8080/small.txt"])
                #expect(curl.succeeded && curl.output == smallText, "\(curl)")

                let netstat = try await eventually({ try await ns.table("netstat") }) {
                    hasTimeWait($0.output, local: "\(Interop.netstackAddress):8080")
                }
                #expect(hasTimeWait(netstat.output, local: "\(Interop.netstackAddress):8080"),
                        "no TIME_WAIT in NetStack's netstat: \(netstat)\n\(serve.tails)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("When the kernel closes first, the kernel's ss shows TIME_WAIT and NetStack does not")
        func kernelClosesFirst() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--echo", "7"])
                let client = try await ns.python(closingEchoClient, [Interop.netstackAddress, "7"], timeout: .seconds(30))
                #expect(client.succeeded, "\(client)")

                // The kernel enters TIME_WAIT once NetStack's echo service has closed its side too.
                let ss = try await eventually({ try await ns.run(["ss", "-tan", "state", "time-wait"]) }) {
                    Table($0.output, headerContaining: "Recv-Q").rows.contains { $0.contains("\(Interop.netstackAddress):7") }
                }
                #expect(Table(ss.output, headerContaining: "Recv-Q").rows.contains { $0.contains("\(Interop.netstackAddress):7") },
                        "no TIME_WAIT in the kernel: \(ss)")

                try await Task.sleep(for: .milliseconds(300))
                let netstat = try await ns.table("netstat")
                #expect(netstat.succeeded, "\(netstat)")
                #expect(!netstat.output.contains("TIME_WAIT"), "NetStack closed second, so no TIME_WAIT: \(netstat)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        private func hasTimeWait(_ netstat: String, local: String) -> Bool {
            Table(netstat, headerContaining: "Proto").rows.contains { $0.last == "TIME_WAIT" && $0.contains(local) }
        }
    }
}

/// Connects to argv[1]:argv[2], checks one echo, prints `connected` and then
/// stays connected (up to 60 s) until it is ended.
let idleEchoClient = #"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"ping")
if s.recv(4) != b"ping":
    sys.exit("no echo")
print("connected")
time.sleep(60)
"""#

/// Connects to argv[1]:argv[2], checks one echo, then closes first.
let closingEchoClient = #"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"hello")
received = b""
while len(received) < 5:
    chunk = s.recv(5 - len(received))
    if not chunk:
        sys.exit("closed early")
    received += chunk
if received != b"hello":
    sys.exit("wrong echo %r" % received)
s.close()
print("closed first")
"""#
