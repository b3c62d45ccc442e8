import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

@main
struct Netstack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "A user-space TCP/IP stack you can watch at work.",
        discussion: "Start with `netstack demo`: it runs the whole journey of a packet on a simulated network.",
        subcommands: [DemoCommand.self, ServeCommand.self, TunnelCommand.self, FetchCommand.self, PingCommand.self,
                      NetstatCommand.self, RouteCommand.self, ARPCommand.self, NeighCommand.self, Bench.self]
    )

    /// Runs the command; bad input gets one line on standard error and a non-zero
    /// exit (never a usage dump or a stack trace), `--help` the full help.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            let line = "netstack: " + (message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message) + "\n"
            _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            Glibc.exit(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}
