// `netstack fetch --dns-timeout`: against a name server slower than the default one-second wait,
// a longer wait asks each question once, and the default asks again after a second (the late
// answer, on the same port and ID, still counts). Counted by the name server itself.

import Foundation
import Testing

extension InteropTests {
    @Suite("fetch --dns-timeout")
    struct DNSTimeout {
        /// A name server on ARGV[1]:53 that answers an A question with ARGV[1] (any other type
        /// with no records) after ARGV[2] seconds, and prints `query TYPE PORT` for each query.
        static let slowNameServer = """
            import socket, struct, sys, threading
            address, delay = sys.argv[1], float(sys.argv[2])
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((address, 53))
            print("listening", flush=True)
            while True:
                q, peer = s.recvfrom(2048)
                if len(q) < 17:
                    continue
                end = 12
                while end < len(q) and q[end] != 0:
                    end += q[end] + 1
                if end + 5 > len(q):
                    continue
                qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
                answer = b""
                if qtype == 1:
                    answer = b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
                header = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8180, 1, 1 if answer else 0, 0, 0)
                print(f"query {qtype} {peer[1]}", flush=True)
                threading.Timer(delay, s.sendto, (header + q[12:end + 5] + answer, peer)).start()
            """

        /// How many A questions the name server has seen so far.
        private func aQueries(_ server: ChildProcess) -> Int {
            server.output.split(separator: "\n").filter { $0.hasPrefix("query 1 ") }.count
        }

        @Test("a name server answering after 1.5 s: --dns-timeout 3 asks once; the default 1 s asks again")
        func slowNameServer() async throws {
            try await withNamespace { ns in
                try ns.addStandardTap()
                let dns = try ns.spawnPython(Self.slowNameServer, [Interop.kernelAddress, "1.5"])
                try await dns.waitForLine(startingWith: "listening", timeout: .seconds(20))
                let root = try ns.makeDirectory("www")
                try smallText.write(toFile: root + "/small.txt", atomically: false, encoding: .utf8)
                let web = try ns.spawn(["python3", "-m", "http.server", "8000", "--bind", Interop.kernelAddress,
                                        "--directory", root])
                try await web.waitForLine(startingWith: "Serving HTTP", timeout: .seconds(20))
                let fetch = ["fetch", "--tap", "tap0", "--address", "\(Interop.netstackAddress)/24",
                             "--dns", Interop.kernelAddress]
                let url = "http://slow.example.test:8000/small.txt"

                let patient = try await ns.netstack(fetch + ["--dns-timeout", "3", url], timeout: .seconds(60))
                #expect(patient.succeeded && patient.output == smallText, "\(patient)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(aQueries(dns) == 1, "asked more than once within a 3 s wait: \(dns.output)")

                let hasty = try await ns.netstack(fetch + [url], timeout: .seconds(60))
                #expect(hasty.succeeded && hasty.output == smallText, "\(hasty)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(aQueries(dns) >= 3, "the default 1 s wait did not ask again: \(dns.output)")
            }
        }
    }
}
