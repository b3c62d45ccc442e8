import ArgumentParser

@main
struct Netstack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "A user-space TCP/IP stack you can watch at work.",
        discussion: "Start with `netstack demo`: it runs the whole journey of a packet on a simulated network.",
        subcommands: [DemoCommand.self, Bench.self]
    )
}
