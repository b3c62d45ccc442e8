import Glibc

/// The `--control PATH` socket of `netstack serve`: a Unix stream socket where
/// `netstack netstat|route|arp --control PATH` ask for a table. One request
/// line per connection ("netstat", "netstat -v", "route", "arp", "link"), the
/// answer is the table's text, then the server closes. Served on the stack's
/// thread between frames: a request costs one accept, one read, one write.
final class ControlServer {
    let fd: Int32
    let path: String

    init(path: String) throws(RuntimeError) {
        guard path.utf8.count < 108 else { throw RuntimeError("control socket path too long: \(path)") }
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("control socket", errno: errno) }
        self.path = path
        // A socket file left by an earlier run that did not exit cleanly is replaced;
        // anything else at that path is not.
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                close(fd)
                throw RuntimeError("control path \(path) exists and is not a socket")
            }
            unlink(path)
        }
        var address = unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw .system("control socket \(path)", errno: code)
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Answers every waiting client with `answer(request line)`; returns how many were answered.
    @discardableResult
    func serve(_ answer: (String) -> String) -> Int {
        var answered = 0
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return answered }
            defer { close(client) }
            setTimeout(client, milliseconds: 200)
            guard let request = readLine(client) else { continue }
            writeAll(client, answer(request))
            answered += 1
        }
    }
}

/// Asks the `serve` behind the control socket at `path` for `request` and returns its answer.
public func controlRequest(path: String, _ request: String) throws(RuntimeError) -> String {
    guard path.utf8.count < 108 else { throw RuntimeError("control socket path too long: \(path)") }
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system("socket", errno: errno) }
    defer { close(fd) }
    var address = unixAddress(path)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        let code = errno
        if code == ENOENT || code == ECONNREFUSED {
            throw RuntimeError("no netstack serve answers at \(path): \(errorText(code))")
        }
        throw .system("control socket \(path)", errno: code)
    }
    setTimeout(fd, milliseconds: 5000)
    writeAll(fd, request + "\n")
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 { throw .system("reading from \(path)", errno: errno) }
        if count == 0 { break }
        answer.append(contentsOf: buffer[0..<count])
        if answer.count > 16 << 20 { throw RuntimeError("control answer from \(path) too long") }
    }
    return String(decoding: answer, as: UTF8.self)
}

private func unixAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    return address
}

private func setTimeout(_ fd: Int32, milliseconds: Int) {
    var limit = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
}

/// Reads up to a newline (at most 256 bytes); nil on timeout or an empty request.
private func readLine(_ fd: Int32) -> String? {
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while line.count < 256, read(fd, &byte, 1) == 1 {
        if byte == UInt8(ascii: "\n") { break }
        line.append(byte)
    }
    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: " \r\t")
    return text.isEmpty ? nil : text
}

private func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop: (Character) -> Bool = { set.contains($0) }
        return String(self.drop(while: drop).reversed().drop(while: drop).reversed())
    }
}
