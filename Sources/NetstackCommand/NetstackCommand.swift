import ArgumentParser

@main
struct Netstack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack",
        abstract: "A user-space TCP/IP stack you can watch at work."
    )
}
