import CNetStackShim
import Glibc
import NetStackCore

/// The `--control PATH` socket of `netstack serve`: a Unix stream socket where
/// `netstack netstat|route|arp --control PATH` ask for a table. One request
/// line per connection (see ``ControlProtocol``), the answer is the table's
/// text, then the server closes.
///
/// The socket file is created mode 0600 (the socket's mode is set before `bind`,
/// so it is never wider, whatever the umask). Served on the stack's thread but
/// never blocking: every descriptor is non-blocking and sits in the server's own
/// epoll set (``fd``), which the runtime watches as one descriptor. A client
/// gets at most ``requestTimeout`` from its accept to the end of its answer,
/// its request at most ``ControlProtocol/maxRequestLength`` bytes, and at most
/// ``maxClients`` are served at once (further ones are closed at once). When
/// `accept` fails for want of descriptors (EMFILE, ENFILE) the listener is not
/// watched for ``acceptPause``, so a full descriptor table cannot make the loop spin.
final class ControlServer {
    /// The epoll set of the listener and the clients: readable when any of them needs a turn.
    let fd: Int32
    let path: String
    /// Longest a client may take from connecting to having read all its answer.
    var requestTimeout: Duration = .seconds(2)
    /// Most clients served at once.
    var maxClients = 16
    /// How long the listener is ignored after `accept` ran out of descriptors.
    var acceptPause: Duration = .seconds(1)
    /// Clients served, refused (over ``maxClients``), cut off at their deadline,
    /// and accepts that failed for want of descriptors.
    private(set) var answered = 0, refused = 0, timedOut = 0, acceptFailures = 0

    private let listener: Int32
    private var clients: [Int32: ControlClient] = [:]
    private var listenerPausedUntil: Instant?
    /// `accept4`, replaceable by tests (to make it fail with EMFILE).
    var acceptCall: (Int32) -> Int32 = ControlServer.systemAccept
    /// accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC).
    static func systemAccept(_ listener: Int32) -> Int32 { ns_accept_nonblock(listener) }

    init(path: String) throws(RuntimeError) {
        guard path.utf8.count < 108 else { throw RuntimeError("control socket path too long: \(path)") }
        let socketFlags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        listener = socket(AF_UNIX, socketFlags, 0)
        guard listener >= 0 else { throw .system("control socket", errno: errno) }
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else {
            let code = errno
            close(listener)
            throw .system("epoll_create1", errno: code)
        }
        self.path = path
        // A socket file left by an earlier run that did not exit cleanly is replaced;
        // anything else at that path is not.
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                close(listener)
                close(fd)
                throw RuntimeError("control path \(path) exists and is not a socket")
            }
            unlink(path)
        }
        // Linux gives the socket file the socket inode's mode less the umask: set it
        // to owner-only before bind, so the file is never wider than 0600.
        _ = fchmod(listener, 0o600)
        var address = unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            let code = errno
            close(listener)
            close(fd)
            throw .system("control socket \(path)", errno: code)
        }
        if lstat(path, &info) == 0, info.st_mode & 0o077 != 0 { _ = chmod(path, 0o600) }
        watch(listener, output: false, add: true)
    }

    deinit {
        for client in clients.keys { close(client) }
        close(listener)
        close(fd)
        unlink(path)
    }

    /// When the server needs a turn without any descriptor being ready: the
    /// earliest client deadline, or the end of an accept pause.
    var nextDeadline: Instant? {
        var next = listenerPausedUntil
        for client in clients.values where next.map({ client.deadline < $0 }) ?? true { next = client.deadline }
        return next
    }

    /// Clients being served now.
    var clientCount: Int { clients.count }

    /// Accepts, reads, answers and writes whatever can be done now without
    /// blocking; expires clients past their deadline. `answer` turns a request
    /// line's framing into the answer's text (``ControlProtocol/answer(_:table:)``).
    /// Cost: one `epoll_wait` plus a few system calls per ready client.
    func serve(now: Instant, _ answer: (ControlProtocol.Framing) -> String) {
        if let until = listenerPausedUntil, until <= now {
            listenerPausedUntil = nil
            watch(listener, output: false, add: true)
        }
        var events = [epoll_event](repeating: epoll_event(), count: 32)
        let count = events.withUnsafeMutableBufferPointer { epoll_wait(fd, $0.baseAddress, Int32($0.count), 0) }
        for index in 0..<max(0, Int(count)) {
            let ready = Int32(truncatingIfNeeded: events[index].data.u64)
            if ready == listener { acceptClients(now: now) } else { step(ready, now: now, answer) }
        }
        for (client, state) in clients where state.deadline <= now {
            timedOut += 1
            drop(client)
        }
    }

    private func acceptClients(now: Instant) {
        for _ in 0..<64 {
            let client = acceptCall(listener)
            if client < 0 {
                let code = errno
                if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                    // Level-triggered: the waiting connection would wake us at once, forever.
                    acceptFailures += 1
                    listenerPausedUntil = now + acceptPause
                    watch(listener, output: false, add: false, remove: true)
                }
                return
            }
            guard clients.count < maxClients else {
                refused += 1
                close(client)
                continue
            }
            clients[client] = ControlClient(deadline: now + requestTimeout)
            watch(client, output: false, add: true)
        }
    }

    /// Moves one client along: read until its line is complete, then write its answer.
    private func step(_ client: Int32, now: Instant, _ answer: (ControlProtocol.Framing) -> String) {
        guard var state = clients[client] else { return }
        if state.output == nil {
            var buffer = [UInt8](repeating: 0, count: ControlProtocol.maxRequestLength + 1)
            var ended = false
            let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count > 0 {
                state.input += buffer[0..<count]
            } else if count == 0 {
                ended = true
            } else if errno != EAGAIN && errno != EINTR {
                return drop(client)
            }
            let framing = ControlProtocol.frame(state.input, ended: ended)
            if framing == .needMore {
                clients[client] = state
                return
            }
            state.output = Array(answer(framing).utf8)
            state.input = []
            watch(client, output: true, add: false)
        }
        guard let output = state.output else { return }
        let written = output.withUnsafeBytes { write(client, $0.baseAddress! + state.sent, $0.count - state.sent) }
        if written < 0 {
            if errno == EAGAIN || errno == EINTR { clients[client] = state } else { drop(client) }
            return
        }
        state.sent += written
        if state.sent >= output.count {
            answered += 1
            drop(client)
        } else {
            clients[client] = state
        }
    }

    private func drop(_ client: Int32) {
        clients[client] = nil
        close(client)  // also leaves the epoll set
    }

    private func watch(_ descriptor: Int32, output: Bool, add: Bool, remove: Bool = false) {
        var event = epoll_event()
        event.events = output ? ns_epollout() : ns_epollin()
        event.data.u64 = UInt64(UInt32(bitPattern: descriptor))
        _ = epoll_ctl(fd, remove ? EPOLL_CTL_DEL : add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, descriptor, &event)
    }
}

/// One control client's progress: what it sent, then the answer being written.
private struct ControlClient {
    var deadline: Instant
    var input: [UInt8] = []
    var output: [UInt8]?
    var sent = 0
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

private func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}
