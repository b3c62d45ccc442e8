// The kernel's TCP and UDP clients against NetStack's echo and discard
// services.

import Foundation
import Testing

extension InteropTests {
    @Suite("Echo and discard")
    struct EchoAndDiscard {
        @Test("A kernel TCP client gets 1 MiB echoed back unchanged")
        func tcpEcho() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--echo", "7"])
                let client = try await ns.python(tcpEchoClient, [Interop.netstackAddress, "7", "\(1 << 20)"],
                                                 timeout: .seconds(120))
                #expect(client.succeeded && client.output == "echoed 1048576 bytes intact\n", "\(client)\n\(serve.tails)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("A kernel UDP client gets datagrams of every size echoed back", arguments: [
            [1, 2, 100, 512, 1000, 1472],
            [1473, 2000, 4000, 8000],  // fragmented on the way in and out
        ])
        func udpEcho(sizes: [Int]) async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--udp-echo", "7"])
                let client = try await ns.python(
                    udpEchoClient, [Interop.netstackAddress, "7"] + sizes.map(String.init), timeout: .seconds(60))
                #expect(client.succeeded && client.output == "echoed \(sizes.count) datagrams intact\n",
                        "\(client)\n\(serve.tails)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }

        @Test("The discard service takes 256 MiB and closes when the client does")
        func discard() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let serve = try await ns.serve(ns.standardServeArguments + ["--discard", "9"])
                let started = ContinuousClock.now
                let client = try await ns.python(discardClient, [Interop.netstackAddress, "9", "\(256 << 20)"],
                                                 timeout: .seconds(400))
                print("discard: 256 MiB in \(ContinuousClock.now - started)")
                #expect(client.succeeded && client.output == "sent 268435456 bytes, then end of stream\n",
                        "\(client)\n\(serve.tails)")

                let netstat = try await ns.table("netstat", ["--verbose"])
                print("netstat --verbose after the discard test:\n\(netstat.output)")
                #expect(netstat.succeeded, "\(netstat)")
                #expect(Table(netstat.output, headerContaining: "Proto").rows.contains { $0.contains("LISTEN") && $0.contains { $0.hasSuffix(":9") } },
                        "no listener on port 9: \(netstat)")
                #expect(try await ns.stop(serve) == .exited(0), "\(serve.tails)")
            }
        }
    }
}

/// Sends argv[3] random bytes to argv[1]:argv[2] over TCP while reading the
/// echo, and says whether exactly the same bytes came back.
let tcpEchoClient = #"""
import os, socket, sys, threading
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(count)
s = socket.create_connection((host, port), timeout=30)
sender = threading.Thread(target=s.sendall, args=(data,))
sender.start()
received = bytearray()
while len(received) < count:
    chunk = s.recv(65536)
    if not chunk:
        sys.exit("the connection closed after %d bytes" % len(received))
    received += chunk
sender.join()
s.close()
if received != data:
    first = next(i for i in range(count) if received[i] != data[i])
    sys.exit("the echo differs from byte %d" % first)
print("echoed %d bytes intact" % count)
"""#

/// Sends one UDP datagram of each size in argv[3:] to argv[1]:argv[2] and
/// checks that each comes back unchanged (resending up to three times).
let udpEchoClient = #"""
import os, socket, sys
host, port, sizes = sys.argv[1], int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for size in sizes:
    data = os.urandom(size)
    for attempt in range(3):
        s.sendto(data, (host, port))
        try:
            reply, sender = s.recvfrom(65535)
            break
        except socket.timeout:
            continue
    else:
        sys.exit("no echo of a %d-byte datagram after 3 tries" % size)
    if reply != data or sender != (host, port):
        sys.exit("the echo of a %d-byte datagram differs: %d bytes from %s" % (size, len(reply), sender))
print("echoed %d datagrams intact" % len(sizes))
"""#

/// Sends argv[3] zero bytes to argv[1]:argv[2], half-closes, and waits (up to
/// 20 s) for the server to close too, reading nothing.
let discardClient = #"""
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.create_connection((host, port), timeout=60)
block = bytes(1 << 20)
sent = 0
while sent < count:
    s.sendall(block[: min(len(block), count - sent)])
    sent += min(len(block), count - sent)
s.shutdown(socket.SHUT_WR)
s.settimeout(20)
extra = s.recv(1)
if extra:
    sys.exit("the discard service sent data back")
print("sent %d bytes, then end of stream" % sent)
"""#
