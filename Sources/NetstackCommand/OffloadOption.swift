// `--offload auto|on|off` and `--verbose`: one parser for every command that opens a device,
// so the names, the default and the message when the device refuses are the same everywhere.

import ArgumentParser
import Glibc
import NetStackRuntime

/// `--offload MODE` (default off) and `--verbose`, for `serve`, `fetch`, `ping` and `tunnel`.
///
/// Off by default because a super-segment is one 64 KiB frame to whatever reads the kernel's side
/// of the device with a packet socket (a user-space relay, bridge or impairment tool such as the
/// lossy anchor's `impair.py`); only the kernel's own stack cuts it. Ask for `auto` where the
/// kernel's stack is the other end.
struct OffloadOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Segmentation offload on the TAP/TUN device (virtio-net headers, TSO, checksum offload): "
            + "auto (on where the device accepts it), on, or off (the default: one frame per system call, "
            + "which a packet-socket reader of the device needs).",
        valueName: "MODE"))
    var offload: String = OffloadMode.off.rawValue

    @Flag(name: .long, help: "Say on standard error what the device did not grant (offload).")
    var verbose = false

    func validate() throws { _ = try mode() }

    /// The mode asked for; a one-line `ValidationError` for anything but auto, on, off.
    func mode() throws -> OffloadMode {
        guard let mode = OffloadMode(rawValue: offload.lowercased()) else {
            throw ValidationError("bad --offload '\(offload)': one of auto, on, off")
        }
        return mode
    }

    /// Says once on standard error why offload is off after it was asked for: always for
    /// `--offload on`, with `--verbose` for auto. The stack runs on, one frame per system call.
    func report(_ runtime: StackRuntime) {
        guard let refusal = runtime.offloadRefusal, verbose || (try? mode()) == .on else { return }
        let line = "netstack: offload off on \(runtime.device.name): \(refusal); one frame per read and write\n"
        _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }
}
