import Glibc
import NetStackCore
import NetStackWire

/// `--pcap FILE`: every frame the stack receives or sends, written to a
/// classic pcap file in batches of about 1 MiB (one copy per frame, no
/// per-frame system call) and flushed when the runtime stops.
final class PcapFile {
    private let fd: Int32
    private let path: String
    private var writer: PcapWriter
    private var buffered = 0

    init(path: String, rawIP: Bool) throws(RuntimeError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot write capture \(path)", errno: errno) }
        self.path = path
        writer = PcapWriter(rawIP: rawIP)
    }

    deinit {
        flush()
        close(fd)
    }

    /// Records one frame seen at `now`.
    func record(_ frame: UnsafeRawBufferPointer, now: Instant) {
        writer.append(frame, nanoseconds: now.nanoseconds)
        buffered += frame.count + 16
        if buffered >= 1 << 20 { flush() }
    }

    /// Writes out what is buffered.
    func flush() {
        let bytes = writer.takeBytes()
        buffered = 0
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}
