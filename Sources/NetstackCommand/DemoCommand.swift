import ArgumentParser
import NetStackDemo
#if canImport(Glibc)
import Glibc
#endif

/// `netstack demo`: the chapter's journey on a simulated network, narrated.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch a browser fetch a web page through every layer of a simulated network.",
        discussion: """
            Runs the real NetStack stack on a simulated network — a browser behind a hub, a router, \
            a DNS server and a web server behind a learning switch — and tells, layer by layer, what \
            happens: socket() and its descriptor, the resolver's DNS query over UDP (ARP for the gateway \
            first), the three-way handshake with MSS and window, the HTTP GET and a 100,000-byte page in \
            segments under the sliding window, one frame damaged on a cable (dropped by the adapter's FCS \
            check, recovered by TCP's retransmission), close and TIME_WAIT, and UDP datagrams of which \
            one is lost for good. Then a ladder diagram of the connection, the Manchester-coded signal \
            of the SYN, each host's netstat, route and arp tables, and the counters. Needs no root and \
            no devices; takes a second or two. With --ipv6 the same journey runs over IPv6 alone: \
            an AAAA query, TCP and UDP over IPv6, neighbour discovery in place of ARP, and the \
            route -6 and neighbour tables.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Write the capture to FILE (classic pcap; opens in Wireshark or tshark): every frame on the browser's cable, as tcpdump on the browser would record it — ARP, DNS, the whole TCP connection with its retransmission, the UDP datagrams.", valueName: "FILE"))
    var pcap: String?

    @Option(name: .customLong("pcap-all"), help: ArgumentHelp("Also write every frame on every cable to FILE, once per cable it crossed (both LANs; Wireshark then sees each TCP segment more than once).", valueName: "FILE"))
    var pcapAll: String?

    @Option(name: .long, help: ArgumentHelp("Write the run as one self-contained HTML page to FILE (no network access; opens in any browser): the network drawn and stepped hop by hop with the narration, the frame list of the --pcap capture with each frame's dissection and bytes, the TCP ladder diagram, the tables after each step, and the SYN's Manchester-coded signal.", valueName: "FILE"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Seed for all randomness (sequence numbers, DNS ids, ports, random loss): the same seed gives the same run and the same capture, byte for byte.", valueName: "N"))
    var seed: UInt64 = 1

    @Option(name: .long, help: ArgumentHelp("Extra random loss on every cable, as a fraction (0.01) or a percentage (1%), at most 50%. TCP still delivers the page (its backed-off timers may take minutes of simulated time); lost UDP datagrams stay lost.", valueName: "P"))
    var loss: String?

    @Option(name: .long, help: ArgumentHelp("The MSS the hosts announce, 536 to 1460: every link's MTU becomes N + 40 (with --ipv6: 1220 to 1440, and N + 60).", valueName: "N"))
    var mss: Int = 1460

    @Option(name: .long, help: ArgumentHelp("The language of the narration, headings and outcomes: ko (Korean, the chapter's language) or en (English). Tables stay as Linux prints them. Default: ko when LC_ALL, LC_MESSAGES or LANG (the first one set) starts with ko, en otherwise.", valueName: "ko|en"))
    var lang: String?

    @Flag(name: .long, help: "Tell the journey over IPv6 (2001:db8::/32 addresses, AAAA records, neighbour discovery instead of ARP).")
    var ipv6 = false

    @Flag(name: .long, help: "Only the headings, each step's outcome, the tables summarised and the counters: one screen.")
    var quiet = false

    @Flag(name: .long, help: "Tell every event (every frame at every layer), not just the first of each kind.")
    var verbose = false

    @Flag(name: .long, help: "Wait for Enter between steps (only when both standard input and output are a terminal).")
    var step = false

    @Flag(name: .customLong("no-color"), help: "No ANSI colours (colour is used only on a terminal anyway, and never when NO_COLOR is set).")
    var noColor = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
        _ = try lossFraction()
        _ = try language()
        guard DemoOptions.mssRange.contains(mss) else {
            throw ValidationError("--mss must be between \(DemoOptions.mssRange.lowerBound) and \(DemoOptions.mssRange.upperBound), not \(mss)")
        }
        let range6 = DemoOptions.mssRange6
        if ipv6 && mss != 1460 && !range6.contains(mss) {
            throw ValidationError("--mss with --ipv6 must be between \(range6.lowerBound) and \(range6.upperBound) (an IPv6 link carries at least 1280 bytes), not \(mss)")
        }
    }

    /// `--lang`, or the locale's language when it is not given.
    func language() throws -> DemoLanguage {
        guard let lang else {
            var locale: [String: String] = [:]
            for name in ["LC_ALL", "LC_MESSAGES", "LANG"] { locale[name] = getenv(name).map { String(cString: $0) } }
            return DemoLanguage.preferred(environment: locale)
        }
        guard let language = DemoLanguage(rawValue: lang.lowercased()) else {
            throw ValidationError("--lang must be ko or en, not '\(lang)'")
        }
        return language
    }

    /// `--loss` as a fraction: "0.01" and "1%" both mean one frame in a hundred.
    func lossFraction() throws -> Double {
        guard let loss else { return 0 }
        let text = String(loss.filter { $0 != " " })
        let isPercent = text.hasSuffix("%")
        guard let number = Double(isPercent ? String(text.dropLast()) : text), number.isFinite, number >= 0 else {
            throw ValidationError("--loss must be a fraction like 0.01 or a percentage like 1%, not '\(loss)'")
        }
        let fraction = isPercent ? number / 100 : number
        guard fraction <= DemoOptions.maximumLoss else {
            throw ValidationError(isPercent || number < 1
                ? "--loss must be at most 50% (0.5), not \(loss)"
                : "--loss \(loss) is more than 50%: for one per cent write 0.01 or 1%")
        }
        return fraction
    }

    func run() throws {
        var options = DemoOptions()
        options.seed = seed
        options.language = try language()
        options.verbosity = quiet ? .quiet : verbose ? .verbose : .normal
        options.color = !noColor && isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
        options.width = terminalWidth()
        options.loss = try lossFraction()
        options.mss = mss
        options.html = html != nil
        options.ipv6 = ipv6
        if step && isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 {
            options.pause = { _ = readLine() }
        }
        // Checked before the run, so a bad path costs no waiting.
        for path in [pcap, pcapAll, html].compactMap({ $0 }) { try checkWritable(path) }
        let result = Demo.run(options) { print($0) }
        if let pcap {
            try writeFile(pcap, result.capture)
            print("\ncapture of the browser's cable written to \(pcap) — open it with: tshark -r \(pcap)   (or Wireshark)")
        }
        if let pcapAll {
            try writeFile(pcapAll, result.networkCapture)
            print("capture of every cable written to \(pcapAll)")
        }
        if let html {
            try writeFile(html, result.html)
            print("page written to \(html) — open it in a browser")
        }
    }
}

/// The width of the terminal standard output is, nil when it is not a terminal.
func terminalWidth() -> Int? {
    guard isatty(STDOUT_FILENO) == 1 else { return nil }
    var size = winsize()
    guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
}

/// Throws a one-line error when `path` cannot be opened for writing (creating it).
func checkWritable(_ path: String) throws {
    guard let file = fopen(path, "ab") else {
        throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    fclose(file)
}

/// Writes `bytes` to `path`, or throws a one-line error naming the problem.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else {
        throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    defer { fclose(file) }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    guard written == bytes.count else {
        throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
}
