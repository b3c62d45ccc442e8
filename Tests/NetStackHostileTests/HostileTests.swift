// The hostile-network suite (issue 9, item 9): one test per class of attack.
// Each test makes a namespace with a TAP (kernel 192.0.2.1/24, NetStack
// 192.0.2.2/24), runs `netstack serve` with HTTP (an 8 MiB random file),
// echo, discard, UDP echo and a control socket, attacks it with a scapy
// script (scapy/hostile.py, bounded in packets and seconds) from the kernel's
// side, and then asserts what the issue asks of a stack on a hostile network:
//
//   - NetStack is still running and answers pings from the kernel;
//   - it serves the 8 MiB file intact (curl, SHA-256);
//   - its peak resident set (VmHWM) stayed under `Hostile.peakRSSBound`;
//   - its CPU went back to idle (utime+stime grows by less than
//     `Hostile.idleCPUBound` over `Hostile.idleWindow` once the attack is over);
//   - its counters (`netstack netstat --statistics`) name what it dropped:
//     the line of `Hostile.dropCounters[class]` has a count above 0.
//
// The counter names are the ones the hardening branches print; they are
// matched by a short pattern per class, all in the table below, so that a
// renamed line needs one edit here.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The classes of attack, one test each.
enum AttackClass: String, CaseIterable, Sendable {
    case malformed, garbage, tcpOptions, synFlood, blindInjection, fragments, landAndMartians, arpFlood
    case silentHandshakes, timeWaitFlood, slowReaders, outOfOrderFlood, icmpSprayAtResolver
}

/// A counter line a class must have made non-zero: a regular expression (case
/// insensitive) matched against `<what>` of the lines `    <count> <what>` in
/// `section` (any section when nil).
struct CounterRule: Sendable {
    var section: String?
    var pattern: String
}

enum Hostile {
    /// What each class's drops must be counted as. Adjust the patterns here after a merge
    /// renames a line; keep them specific enough that an unrelated counter cannot match.
    static let dropCounters: [AttackClass: CounterRule] = [
        .malformed: CounterRule(section: nil, pattern: #"invalid headers|bad segments|malformed|bad checksum|receive errors"#),
        .garbage: CounterRule(section: nil, pattern: #"invalid headers|unknown protocol|malformed|bad segments|receive errors"#),
        .tcpOptions: CounterRule(section: "Tcp", pattern: #"option|bad segments"#),
        .synFlood: CounterRule(section: "TcpExt", pattern: #"SYN cookies sent"#),
        // Forged RSTs in the window earn challenge ACKs; forged SYNs and data outside it earn rate-limited duplicate ACKs.
        .blindInjection: CounterRule(section: "TcpExt", pattern: #"challenge ACKs|out-of-window ACKs"#),
        .fragments: CounterRule(section: "Ip", pattern: #"reassembl.*(evict|fail)"#),
        .landAndMartians: CounterRule(section: nil, pattern: #"martian"#),
        .arpFlood: CounterRule(section: "Arp", pattern: #"evict|off-?link|not on-?link"#),
        .silentHandshakes: CounterRule(section: nil, pattern: #"(refused|rejected|dropped).*limit|limit.*(refused|rejected|reached)|overflow"#),
        .timeWaitFlood: CounterRule(section: nil, pattern: #"time.?wait.*(overflow|dropped|refused|limit|recycled)|(overflow|dropped|refused|limit|recycled).*time.?wait"#),
        .slowReaders: CounterRule(section: nil, pattern: #"slow|deadline"#),
        .outOfOrderFlood: CounterRule(section: nil, pattern: #"(out-of-order|ofo).*(drop|prun|discard)|prun"#),
        .icmpSprayAtResolver: CounterRule(section: nil, pattern: #"icmp.*(ignored|unmatched|dropped|no socket)|(ignored|unmatched|dropped).*icmp"#),
    ]

    /// NetStack's peak resident set must stay under this through any attack and
    /// the download after it. A quiet `serve` peaks at about 20 MiB (debug or
    /// release) serving the 8 MiB file; the bound leaves room for the attack's
    /// bounded state (reassembly, half-open and TIME_WAIT limits, ARP cache) but
    /// not for per-connection buffers allocated up front.
    static let peakRSSBound = 96 << 20

    /// Over `idleWindow` once an attack is over, NetStack may use at most this much CPU.
    static let idleCPUBound: Duration = .milliseconds(50)
    static let idleWindow: Duration = .seconds(2)

    /// The size of the file downloaded after every attack.
    static let downloadSize = 8 << 20

    /// The attack scripts (scapy from Debian's python3-scapy, run by Debian's python).
    static let scriptPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("scapy/hostile.py").path
    static let python = "/usr/bin/python3"

    /// Kernel-side addresses the connection floods come from (added to tap0), so
    /// that a per-address limit can tell them from the legitimate client at 192.0.2.1.
    static let floodSources = (100..<140).map { "192.0.2.\($0)" }
}

/// A running `serve` under attack: its namespace, process and web root.
struct Target {
    let ns: Namespace
    let serve: ChildProcess
    let root: String
    let expected: String

    var pid: pid_t { serve.pid }

    /// Starts the attack script `attack` with `arguments`, in the namespace.
    func attack(_ attack: String, _ arguments: [String] = []) throws -> ChildProcess {
        try ns.spawn([Hostile.python, Hostile.scriptPath, attack, "--pid", "\(pid)"] + arguments)
    }

    /// Runs the attack script to its end (it bounds itself; 60 s is a safety net).
    func run(_ attack: String, _ arguments: [String] = []) async throws -> Finished {
        let script = try self.attack(attack, arguments)
        try await script.wait(timeout: .seconds(60))
        let finished = script.finished!
        #expect(finished.succeeded, "the attack script failed: \(finished)")
        print("hostile \(attack): " + finished.output.split(separator: "\n").joined(separator: ", "))
        return finished
    }

    /// Downloads the 8 MiB file with curl from the kernel's 192.0.2.1 and checks its hash.
    func download(timeout: Duration, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let out = ns.directory + "/download-\(UInt32.random(in: 0...UInt32.max)).out"
        let result = try await ns.curl("http://\(Interop.netstackAddress):8080/big.bin", to: out, timeout: timeout)
        #expect(result.succeeded, "the 8 MiB download failed: \(result)", sourceLocation: sourceLocation)
        if result.succeeded {
            #expect(try await ns.sha256(ofFile: out) == expected, "the 8 MiB download differs from the file served",
                    sourceLocation: sourceLocation)
        }
        try? FileManager.default.removeItem(atPath: out)
    }

    /// Adds `Hostile.floodSources` to the kernel's tap0.
    func addFloodSources() async throws {
        let commands = Hostile.floodSources.map { "ip addr add \($0)/24 dev tap0" }.joined(separator: " && ")
        let added = try await ns.shell(commands)
        try #require(added.succeeded, "\(added)")
    }
}

/// Serializes the suite: it measures NetStack's CPU and memory, which any other test would disturb.
@Suite("Hostile network", .serialized, .needsRoot)
struct HostileTests {
    /// Sets up the target, runs `attack`, then checks everything the issue asks of NetStack after it.
    func underAttack(_ kind: AttackClass, serveExtra: [String] = [],
                     _ attack: (Target) async throws -> Void) async throws {
        try await withNamespace { ns in
            try ns.addStandardTap()
            let root = try ns.makeDirectory("www")
            try Interop.writeRandomFile(root + "/big.bin", count: Hostile.downloadSize)
            try "hello from the hostile test\n".write(toFile: root + "/small.txt", atomically: false, encoding: .utf8)
            let expected = try await ns.sha256(ofFile: root + "/big.bin")
            let serve = try await ns.serve(ns.standardServeArguments + [
                "--http", "8080", "--root", root, "--echo", "7", "--discard", "9", "--udp-echo", "7",
            ] + serveExtra)
            // `ip netns exec` executes NetStack in its own process: the pid is NetStack's.
            let comm = (try? String(contentsOfFile: "/proc/\(serve.pid)/comm", encoding: .utf8)) ?? ""
            try #require(comm.hasPrefix("netstack"), "pid \(serve.pid) is \(comm), not netstack")
            let target = Target(ns: ns, serve: serve, root: root, expected: expected)
            let warm = try await ns.run(["ping", "-c", "1", "-W", "2", Interop.netstackAddress])
            try #require(warm.succeeded, "NetStack does not answer before the attack: \(warm)")

            try await attack(target)
            try await checkAfterAttack(kind, target)
        }
    }

    /// The checks after every attack.
    func checkAfterAttack(_ kind: AttackClass, _ target: Target) async throws {
        let ns = target.ns
        try #require(target.serve.poll() == nil, "NetStack ended during the attack\(target.serve.tails)")

        let ping = try await ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", Interop.netstackAddress],
                                    timeout: .seconds(20))
        #expect(ping.succeeded, "NetStack does not answer pings after the attack: \(ping)")

        try await target.download(timeout: .seconds(30))

        // CPU: back to idle once the attack (and the download) is over.
        try await Task.sleep(for: .seconds(1))
        let before = try cpuTime(target.pid)
        try await Task.sleep(for: Hostile.idleWindow)
        let used = try cpuTime(target.pid) - before
        print("hostile \(kind): CPU over \(Hostile.idleWindow) after the attack: \(used)")
        #expect(used < Hostile.idleCPUBound,
                "NetStack used \(used) of CPU in \(Hostile.idleWindow) after the attack (idle: < \(Hostile.idleCPUBound))")

        let peak = try peakRSS(target.pid)
        print("hostile \(kind): peak RSS \(peak >> 20) MiB")
        #expect(peak < Hostile.peakRSSBound,
                "NetStack's peak RSS \(peak >> 20) MiB passed the bound \(Hostile.peakRSSBound >> 20) MiB")

        let statistics = try await ns.table("netstat", ["--statistics"])
        #expect(statistics.succeeded, "\(statistics)")
        let rule = Hostile.dropCounters[kind]!
        let matching = try counters(statistics.output, rule)
        print("hostile \(kind): counters matching /\(rule.pattern)/: \(matching.map { "\($0.count) \($0.what)" })")
        #expect(matching.contains { $0.count > 0 },
                "no counter /\(rule.pattern)/ in \(rule.section ?? "any section") above 0 after the attack:\n\(statistics.output)")

        try #require(target.serve.poll() == nil, "NetStack ended after the attack\(target.serve.tails)")
        #expect(try await ns.stop(target.serve) == .exited(0), "\(target.serve.tails)")
    }

    // MARK: The classes

    @Test("Malformed and truncated headers at every layer", .timeLimit(.minutes(3)))
    func malformed() async throws {
        try await underAttack(.malformed) { target in
            _ = try await target.run("malformed", ["--count", "20000"])
        }
    }

    @Test("Random garbage frames", .timeLimit(.minutes(3)))
    func garbage() async throws {
        try await underAttack(.garbage) { target in
            _ = try await target.run("garbage", ["--count", "20000"])
        }
    }

    @Test("TCP option abuse", .timeLimit(.minutes(3)))
    func tcpOptions() async throws {
        try await underAttack(.tcpOptions) { target in
            _ = try await target.run("tcpopts", ["--count", "10000"])
        }
    }

    @Test("SYN flood from spoofed sources while a legitimate client downloads", .timeLimit(.minutes(3)))
    func synFlood() async throws {
        try await underAttack(.synFlood) { target in
            let flood = try target.attack("synflood", ["--count", "20000", "--seconds", "10"])
            try await Task.sleep(for: .seconds(1))
            #expect(flood.poll() == nil, "the flood ended too early to overlap the download\(flood.tails)")
            // The legitimate client during the flood.
            try await target.download(timeout: .seconds(20))
            try await flood.wait(timeout: .seconds(30))
            print("hostile synflood: " + flood.output.split(separator: "\n").joined(separator: ", "))
        }
    }

    @Test("Blind RST, SYN and data injected into a running transfer, which finishes intact", .timeLimit(.minutes(3)))
    func blindInjection() async throws {
        try await underAttack(.blindInjection) { target in
            // The client's port is known to the attacker (the worst case); its sequence numbers are not.
            let port = 40_000
            let out = target.ns.directory + "/injected.out"
            let curl = try target.ns.spawn([
                // 32 s at 256 KiB/s, so it outlasts the injection (curl 7.88's limit overshoots up to 2×).
                "curl", "--silent", "--show-error", "--fail", "--max-time", "60", "--limit-rate", "256K",
                "--local-port", "\(port)", "-o", out, "http://\(Interop.netstackAddress):8080/big.bin",
            ])
            // Inject only into a transfer that is under way (curl starts slowly on a loaded machine;
            // before its SYN the forged segments would find no connection and test nothing).
            let started = ContinuousClock.now
            while ((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0) < 65_536,
                  ContinuousClock.now - started < .seconds(20) {
                try await Task.sleep(for: .milliseconds(50))
            }
            let flood = try target.attack("inject", ["--sport", "\(port)", "--dport", "8080", "--count", "20000",
                                                     "--seconds", "5"])
            try await flood.wait(timeout: .seconds(30))
            #expect(curl.poll() == nil, "the transfer ended before the injection did: \(curl.tails)")
            let ended = try await curl.wait(timeout: .seconds(65))
            #expect(ended == .exited(0), "the attacked transfer failed: \(ended)\(curl.tails)")
            if ended == .exited(0) {
                #expect(try await target.ns.sha256(ofFile: out) == target.expected, "the attacked transfer arrived changed")
            }
            print("hostile inject: " + flood.output.split(separator: "\n").joined(separator: ", "))
        }
    }

    @Test("Junk fragments, then a legitimate fragmented ping is answered at once", .timeLimit(.minutes(3)))
    func fragments() async throws {
        try await underAttack(.fragments) { target in
            _ = try await target.run("fragments", ["--count", "20000"])
            // 3,000 bytes of ICMP: three fragments on a 1500-byte MTU. Three tries 0.5 s apart, each
            // waiting two seconds: within seconds, where the old stack refused fragments for 30 s.
            // (One try alone failed once in four runs on a loaded machine: open issue 9.)
            let ping = try await target.ns.run(["ping", "-c", "3", "-i", "0.5", "-W", "2", "-s", "3000",
                                                Interop.netstackAddress],
                                               timeout: .seconds(10))
            #expect(ping.succeeded, "the fragmented ping right after the junk fragments was not answered: \(ping)")
        }
    }

    @Test("Land (own address and port to itself) and martian sources are dropped, never answered",
          .timeLimit(.minutes(3)))
    func landAndMartians() async throws {
        try await underAttack(.landAndMartians) { target in
            let result = try await target.run("martian", ["--count", "2000"])
            let replies = value(of: "replies-to-martians", in: result.output)
            #expect(replies == 0, "NetStack answered martian sources: \(result.output)")
        }
    }

    @Test("ARP floods from many on-link and off-link senders", .timeLimit(.minutes(3)))
    func arpFlood() async throws {
        try await underAttack(.arpFlood) { target in
            _ = try await target.run("arpflood", ["--count", "20000"])
            let arp = try await target.ns.table("arp")
            #expect(arp.succeeded, "\(arp)")
            let rows = arp.output.split(separator: "\n").filter { $0.contains(".") && !$0.hasPrefix("Address") }
            let offLink = rows.filter { $0.contains("198.51.100.") || $0.contains("203.0.113.") }
            #expect(offLink.isEmpty, "NetStack learned \(offLink.count) off-link senders, e.g. \(offLink.prefix(3))")
            #expect(rows.count <= 1024, "the ARP cache holds \(rows.count) entries (bound: 1024)")
        }
    }

    @Test("Floods of completed handshakes that never send, to HTTP, echo and discard", .timeLimit(.minutes(4)))
    func silentHandshakes() async throws {
        try await underAttack(.silentHandshakes) { target in
            try await target.addFloodSources()
            let flood = try target.attack("handshakes", [
                "--sources", Hostile.floodSources.joined(separator: ","), "--http", "1100", "--others", "300",
                "--hold", "60", "--seconds", "15",
            ])
            defer { flood.terminate(grace: .seconds(2)) }
            try await flood.waitForLine(startingWith: "holding", timeout: .seconds(60))
            print("hostile handshakes: " + flood.output.split(separator: "\n").joined(separator: ", "))
            // While the silent connections are held: the legitimate client gets its file.
            try await target.download(timeout: .seconds(30))
            flood.terminate(grace: .seconds(2))
        }
    }

    @Test("TIME_WAIT flood: short HTTP/1.0 connections NetStack closes first", .timeLimit(.minutes(3)))
    func timeWaitFlood() async throws {
        // Beyond 1,000 TIME_WAIT records (`--max-time-wait`, like tcp_max_tw_buckets) a closing connection is
        // dropped at once and counted; 5,000 connections in 10 s pass that mark.
        try await underAttack(.timeWaitFlood, serveExtra: ["--max-time-wait", "1000"]) { target in
            let result = try await target.run("timewait", ["--count", "5000", "--seconds", "10"])
            #expect((value(of: "completed", in: result.output) ?? 0) > 100, "few requests completed: \(result.output)")
        }
    }

    @Test("Slow readers hold the 8 MiB file at a byte a second; a legitimate client still downloads",
          .timeLimit(.minutes(4)))
    func slowReaders() async throws {
        try await underAttack(.slowReaders) { target in
            try await target.addFloodSources()
            let readers = try target.attack("slowread", [
                "--sources", Hostile.floodSources.joined(separator: ","), "--http", "1100",
                "--hold", "60", "--seconds", "15",
            ])
            defer { readers.terminate(grace: .seconds(2)) }
            try await readers.waitForLine(startingWith: "holding", timeout: .seconds(60))
            print("hostile slowread: " + readers.output.split(separator: "\n").joined(separator: ", "))
            try await target.download(timeout: .seconds(30))
            readers.terminate(grace: .seconds(2))
        }
    }

    @Test("Out-of-order flood far ahead in a connection's window", .timeLimit(.minutes(3)))
    func outOfOrderFlood() async throws {
        try await underAttack(.outOfOrderFlood) { target in
            let result = try await target.run("ooo", ["--count", "20000", "--window", "200000"])
            #expect(result.output.contains("connection ok"), "the attacked connection broke: \(result.output)")
        }
    }

    @Test("Forged ICMP port unreachable sprayed at the resolver: the lookup still succeeds", .timeLimit(.minutes(3)))
    func icmpSprayAtResolver() async throws {
        try await underAttack(.icmpSprayAtResolver) { target in
            let ns = target.ns
            // A second link for `netstack fetch` (serve holds tap0): kernel 198.51.100.1, fetch 198.51.100.2.
            try ns.addTap("tap1", address: "198.51.100.1/24")
            // The name server answers after 1.5 s, within the 3 s `fetch --dns-timeout 3` gives each
            // query, with room for a loaded machine (dnsmasq answers within a millisecond: too soon
            // for a blind spray to meet the lookup; a name server behind a slow path is common).
            let dns = try target.attack("slowdns", ["--server", "198.51.100.1", "--answer", "198.51.100.1",
                                                    "--delay", "1.5"])
            try await dns.waitForLine(startingWith: "listening", timeout: .seconds(20))
            let web = try ns.spawn([Hostile.python, "-m", "http.server", "8000", "--bind", "198.51.100.1",
                                    "--directory", target.root])
            try await web.waitForLine(startingWith: "Serving HTTP", timeout: .seconds(20))

            // Blind: every source port of the ephemeral range (Linux's, and NetStack's default).
            let fetchMAC = "02:00:00:00:00:03"
            // 30,000 frames a second for 3 s (65-byte frames, inside the namespace): the lookup's port
            // is met about one and a half times while its answer is on the way — more than the 20,000
            // frames of the other floods, because a blind spray must cover 28,232 ports within the
            // lookup. Not faster: at 100,000 a second (with a 0.6 s answer and the 1 s default
            // timeout) all three answers were lost once in four CI runs on a loaded machine — most
            // likely in the TAP queue, which the stack drains one read() per frame: a capacity limit,
            // not what this test is about.
            let spray = ["--count", "90000", "--count-cap", "90000", "--rate", "30000", "--seconds", "10",
                         "--ports", "32768-60999"]
            let atFetch = try target.attack("icmpspray", spray + [
                "--iface", "tap1", "--mac", fetchMAC, "--client", "198.51.100.2", "--server", "198.51.100.1",
            ])
            // The same spray at serve, which has no socket for it: its counters must name the ignored errors.
            let atServe = try target.attack("icmpspray", spray + ["--count", "5000"])
            try await atFetch.waitForLine(startingWith: "ready", timeout: .seconds(30))
            try await atServe.waitForLine(startingWith: "ready", timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(100))
            try #require(atFetch.poll() == nil, "the spray ended before the lookup began\(atFetch.tails)")
            let out = ns.directory + "/fetched.out"
            let fetch = try await ns.netstack([
                "fetch", "--tap", "tap1", "--address", "198.51.100.2/24", "--mac", fetchMAC, "--dns", "198.51.100.1",
                "--dns-timeout", "3", "http://www.example.test:8000/big.bin", "-o", out,
            ], timeout: .seconds(60))
            try await atFetch.wait(timeout: .seconds(30))
            try await atServe.wait(timeout: .seconds(30))
            print("hostile icmpspray: " + atFetch.output.split(separator: "\n").joined(separator: ", ")
                  + "; queries " + dns.output.split(separator: "\n").filter { $0.hasPrefix("query") }.joined(separator: ", "))
            #expect(fetch.succeeded, "the fetch failed under the ICMP spray: \(fetch)")
            if fetch.succeeded {
                #expect(try await ns.sha256(ofFile: out) == target.expected, "the fetched file differs")
            }
        }
    }
}

// MARK: Reading /proc and the counters

/// utime + stime of `pid`, from /proc/PID/stat.
func cpuTime(_ pid: pid_t) throws -> Duration {
    let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The command name in parentheses may hold spaces: count fields after the last ')'.
    guard let close = text.lastIndex(of: ")") else { throw InteropError("cannot read /proc/\(pid)/stat: \(text)") }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // Fields after ')' start at field 3 (state); utime and stime are fields 14 and 15.
    guard fields.count > 13, let utime = Int(fields[11]), let stime = Int(fields[12]) else {
        throw InteropError("cannot read utime/stime from /proc/\(pid)/stat: \(text)")
    }
    let ticks = Int(sysconf(Int32(_SC_CLK_TCK)))
    return .milliseconds((utime + stime) * 1000 / ticks)
}

/// VmHWM of `pid` in bytes, from /proc/PID/status.
func peakRSS(_ pid: pid_t) throws -> Int {
    let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Int(line.split(whereSeparator: \.isWhitespace)[1]) else {
        throw InteropError("no VmHWM in /proc/\(pid)/status")
    }
    return kib << 10
}

/// The lines of a `netstat -s` report that `rule` matches, with their counts.
func counters(_ report: String, _ rule: CounterRule) throws -> [(count: Int, what: String)] {
    let regex = try Regex(rule.pattern).ignoresCase()
    var section = ""
    var found: [(count: Int, what: String)] = []
    for line in report.split(separator: "\n") {
        if !line.hasPrefix(" ") {
            section = String(line.dropLast(line.hasSuffix(":") ? 1 : 0))
            continue
        }
        let trimmed = line.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " "), let count = Int(trimmed[..<space]) else { continue }
        let what = String(trimmed[trimmed.index(after: space)...])
        if rule.section.map({ $0 == section }) ?? true, what.contains(regex) { found.append((count, what)) }
    }
    return found
}

/// The number after `key ` on a line of `output` (the attack scripts' `key value` lines).
func value(of key: String, in output: String) -> Int? {
    output.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Int($0.dropFirst(key.count + 1)) }
}
