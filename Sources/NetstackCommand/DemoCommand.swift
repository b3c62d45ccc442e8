import ArgumentParser
import NetStackDemo
#if canImport(Glibc)
import Glibc
#endif

/// `netstack demo`: the chapter's journey on a simulated network, narrated.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch a datagram and a ping travel through every layer of a simulated network.",
        discussion: """
            Runs the real NetStack stack on a simulated network — a client behind a hub, a router, \
            a server behind a learning switch — and tells, layer by layer, what happens: the socket \
            library, UDP, the routing-table lookup, ARP, Ethernet and its FCS, the LAN adapter, the hub, \
            the router, the switch, and the receiving side. Needs no root and no devices.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Write every frame on every cable to FILE (classic pcap; opens in Wireshark or tshark).", valueName: "FILE"))
    var pcap: String?

    @Option(name: .long, help: "Seed for all randomness: the same seed gives the same run, byte for byte.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Only the headings, tables and counters.")
    var quiet = false

    @Flag(name: .long, help: "Tell every event, not just the first of each kind.")
    var verbose = false

    @Flag(name: .customLong("no-color"), help: "No ANSI colours (colour is used only on a terminal anyway).")
    var noColor = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
    }

    func run() throws {
        var options = DemoOptions()
        options.seed = seed
        options.verbosity = quiet ? .quiet : verbose ? .verbose : .normal
        options.color = !noColor && isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil
        let result = Demo.run(options) { print($0) }
        if let pcap {
            try writeFile(pcap, result.capture)
            print("\ncapture written to \(pcap) — open it with: tshark -r \(pcap)   (or Wireshark)")
        }
    }
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
