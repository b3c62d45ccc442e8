import Glibc
import NetStackCore
import NetStackWire

/// `--pcap FILE`: every frame the stack receives or sends, written to a
/// classic pcap file in batches of about 1 MiB (one copy per frame, no
/// per-frame system call) and flushed when the runtime stops.
///
/// The file is created mode 0600 (captures hold whatever crossed the link).
/// A symbolic link at the path is never followed (O_NOFOLLOW), and an existing
/// file is not replaced (O_EXCL) unless `overwrite` — then only a regular file.
/// With a `limit`, the file stops growing before it would pass that many bytes:
/// the stack keeps running, and one line on standard error says so.
final class PcapFile {
    private let fd: Int32
    private let path: String
    private var writer: PcapWriter
    private var buffered = 0
    /// Bytes in the file plus bytes buffered.
    private var total = 0
    private let limit: Int?
    /// The limit was reached: nothing more is recorded.
    private(set) var limitReached = false
    /// Frames not written because of the limit.
    private(set) var framesOverLimit = 0

    /// Global header bytes of a classic pcap file.
    static let headerSize = 24

    init(path: String, rawIP: Bool, overwrite: Bool = false, limit: Int? = nil) throws(RuntimeError) {
        if let limit, limit < Self.headerSize {
            throw RuntimeError("capture limit \(limit) is smaller than a pcap header (\(Self.headerSize) bytes)")
        }
        let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (overwrite ? O_TRUNC : O_EXCL)
        let opened = open(path, flags, 0o600)
        guard opened >= 0 else {
            let code = errno
            switch code {
            case EEXIST where !overwrite:
                var info = stat()
                if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
                    throw RuntimeError("capture \(path) is a symbolic link: refused")
                }
                throw RuntimeError("capture \(path) exists: refused (give --pcap-overwrite to replace it)")
            case ELOOP: throw RuntimeError("capture \(path) is a symbolic link: refused")
            default: throw .system("cannot write capture \(path)", errno: code)
            }
        }
        var info = stat()
        guard fstat(opened, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(opened)
            throw RuntimeError("capture \(path) is not a regular file: refused")
        }
        // A replaced file keeps its old mode: make it owner-only like a new one.
        if overwrite { _ = fchmod(opened, 0o600) }
        fd = opened
        self.path = path
        self.limit = limit
        writer = PcapWriter(rawIP: rawIP)
        total = Self.headerSize
    }

    deinit {
        flush()
        close(fd)
    }

    /// Records one frame seen at `now` (nothing once the limit is reached).
    func record(_ frame: UnsafeRawBufferPointer, now: Instant) {
        guard !limitReached else {
            framesOverLimit += 1
            return
        }
        let size = min(frame.count, writer.snapLength) + 16
        if let limit, total + size > limit {
            limitReached = true
            framesOverLimit += 1
            let line = "netstack: capture \(path) reached its limit of \(limit) bytes; no more frames are written to it\n"
            _ = line.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            flush()
            return
        }
        writer.append(frame, nanoseconds: now.nanoseconds)
        buffered += size
        total += size
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

/// Parses a size like `10M`, `1G`, `512k` or `4096` (binary multiples: K = 1024);
/// nil when malformed, zero or too large.
public func parseByteSize(_ text: String) -> Int? {
    var digits = Substring(text)
    var multiplier = 1
    if let last = digits.last, !last.isNumber {
        switch last {
        case "k", "K": multiplier = 1 << 10
        case "m", "M": multiplier = 1 << 20
        case "g", "G": multiplier = 1 << 30
        case "t", "T": multiplier = 1 << 40
        default: return nil
        }
        digits = digits.dropLast()
    }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), value > 0 else { return nil }
    let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : bytes
}
