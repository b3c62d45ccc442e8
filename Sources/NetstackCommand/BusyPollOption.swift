// `--busy-poll MICROSECONDS`: one parser for every command that opens a device, so the name,
// the bounds and the message for a bad value are the same everywhere.

import ArgumentParser
import NetStackRuntime

/// `--busy-poll MICROSECONDS` (default 0, off), for `serve`, `fetch`, `ping` and `tunnel`.
///
/// A string rather than an `Int` option so that every bad value — a word, a negative number
/// (which the parser would otherwise take for an option), one too large — gets the same one line.
struct BusyPollOptions: ParsableArguments {
    /// The most the command line accepts: one second, ``StackRuntime/maximumBusyPoll``.
    static let maximumMicroseconds = 1_000_000

    @Option(name: .customLong("busy-poll"), parsing: .unconditional, help: ArgumentHelp(
        "Keep polling the device for up to MICROSECONDS after the last frame before sleeping in epoll "
            + "(lower round-trip latency; costs one CPU spinning for that long after every burst). "
            + "0 (the default) is off; at most 1000000.",
        valueName: "MICROSECONDS"))
    var busyPoll: String = "0"

    func validate() throws { _ = try duration() }

    /// The time asked for; a one-line `ValidationError` for anything but a whole number 0…1,000,000.
    func duration() throws -> Duration {
        guard let microseconds = Int(busyPoll), (0...Self.maximumMicroseconds).contains(microseconds) else {
            throw ValidationError("bad --busy-poll '\(busyPoll)': microseconds, 0 (off) to \(Self.maximumMicroseconds)")
        }
        return .microseconds(microseconds)
    }
}
