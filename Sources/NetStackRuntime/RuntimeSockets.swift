public import NetStackCore
import Glibc

/// async/await sockets over a running ``StackRuntime``, for application
/// threads and tasks outside the stack's thread.
///
/// Each call takes the runtime's lock for one non-blocking socket call. A call
/// that would block (EAGAIN) parks its task in the runtime's waiter list; the
/// loop resumes it after the turn that made the socket ready. Reads hand over
/// everything buffered at once, so a bulk transfer costs one wake-up per
/// batch of segments, not per segment, and nothing is allocated per packet
/// on the stack's side.
extension StackRuntime {
    /// Opens a TCP connection to `remote`; returns once it is established.
    /// Throws ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH … as the connection fails.
    public func connect(to remote: Endpoint) async throws(NetError) -> RuntimeStream {
        let fd = try withHost { host, now throws(NetError) -> Int32 in
            let fd = host.socket(.stream)
            do throws(NetError) { try host.connect(fd, to: remote, now: now) } catch {
                try? host.close(fd, now: now)
                throw error
            }
            return fd
        }
        do throws(NetError) {
            try await waitUntil(fd, .writable)
            try withHost { host, _ throws(NetError) in
                if let error = try host.takeError(fd) { throw error }
            }
        } catch {
            withHost { host, now in try? host.close(fd, now: now) }
            throw error
        }
        return RuntimeStream(runtime: self, fd: fd)
    }

    /// Resolves `name` with the stack's resolver (a dotted quad is used as is), then
    /// connects to the first address that accepts, trying the next on failure.
    public func connect(to name: String, port: UInt16) async throws -> RuntimeStream {
        let resolution = try await resolve(name)
        var lastError: NetError = .hostUnreachable
        for address in resolution.addresses {
            do { return try await connect(to: Endpoint(address, port)) } catch { lastError = error }
        }
        throw lastError
    }

    /// Resolves `name` through the stack's resolver (DNS over UDP, cache, hosts table).
    public func resolve(_ name: String) async throws -> Resolution {
        let id = try withHost { host, now in try host.resolve(name, now: now) }
        while true {
            let state = withHost { host, _ in host.resolution(id) }
            switch state {
            case .pending?:
                await withCheckedContinuation { continuation in
                    parkResolution(id, continuation)
                }
            case let .resolved(answer)?:
                withHost { host, _ in _ = host.takeResolution(id) }
                return answer
            case let .failed(error)?:
                withHost { host, _ in _ = host.takeResolution(id) }
                throw error
            case nil:
                throw ResolverError.timedOut
            }
        }
    }

    /// Listens on `port` (all addresses) with room for `backlog` waiting connections.
    public func listen(port: UInt16, backlog: Int = 128) throws(NetError) -> RuntimeListener {
        let fd = try withHost { host, now throws(NetError) -> Int32 in
            let fd = host.socket(.stream)
            do throws(NetError) {
                try host.bind(fd, to: Endpoint(.any, port))
                try host.listen(fd, backlog: backlog)
            } catch {
                try? host.close(fd, now: now)
                throw error
            }
            return fd
        }
        return RuntimeListener(runtime: self, fd: fd)
    }

    /// Suspends until `fd` is ready for `events` (or has an error or hang-up).
    func waitUntil(_ fd: Int32, _ events: PollEvents) async throws(NetError) {
        while true {
            let ready = try withHost { host, _ throws(NetError) in try host.poll(fd) }
            if !ready.isDisjoint(with: events.union([.error, .hangUp])) { return }
            await withCheckedContinuation { continuation in
                parkSocket(fd, events, continuation)
            }
        }
    }
}

/// A connected TCP socket of a ``StackRuntime``, usable from any task. Sendable:
/// it holds only the runtime and the descriptor; every call takes the runtime's lock.
public final class RuntimeStream: Sendable {
    private let runtime: StackRuntime
    /// The descriptor in the stack's socket table.
    public let fd: Int32

    init(runtime: StackRuntime, fd: Int32) {
        self.runtime = runtime
        self.fd = fd
    }

    /// Writes all of `bytes`, waiting for room in the send buffer as needed.
    public func write(_ bytes: [UInt8]) async throws(NetError) {
        var offset = 0
        while offset < bytes.count {
            let written = try runtime.withHost { host, now throws(NetError) -> Int in
                do throws(NetError) {
                    return try bytes.withUnsafeBytes { buffer in
                        Result { () throws(NetError) in
                            try host.send(fd, UnsafeRawBufferPointer(rebasing: buffer[offset...]), now: now)
                        }
                    }.get()
                } catch .wouldBlock { return 0 }
            }
            offset += written
            if offset < bytes.count { try await runtime.waitUntil(fd, .writable) }
        }
    }

    /// Reads what has arrived (at most `maximum` bytes), waiting until something
    /// has; an empty result means the peer closed its side (end of stream).
    public func read(maximum: Int = 65_536) async throws(NetError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maximum)
        while true {
            let count = try runtime.withHost { host, now throws(NetError) -> Int? in
                do throws(NetError) {
                    return try buffer.withUnsafeMutableBytes { raw in
                        Result { () throws(NetError) in try host.recv(fd, into: raw, now: now) }
                    }.get()
                } catch .wouldBlock { return nil }
            }
            if let received = count { return Array(buffer[0..<received]) }
            try await runtime.waitUntil(fd, .readable)
        }
    }

    /// Half-closes: sends FIN after the data already written.
    public func shutdownWrite() throws(NetError) {
        try runtime.withHost { host, now throws(NetError) in try host.shutdown(fd, .write, now: now) }
    }

    /// Closes the descriptor (FIN, or RST when unread data remains).
    public func close() {
        runtime.withHost { host, now in try? host.close(fd, now: now) }
    }
}

/// A listening TCP socket of a ``StackRuntime``.
public final class RuntimeListener: Sendable {
    private let runtime: StackRuntime
    /// The descriptor in the stack's socket table.
    public let fd: Int32

    init(runtime: StackRuntime, fd: Int32) {
        self.runtime = runtime
        self.fd = fd
    }

    /// Waits for the next established connection and returns it with its peer.
    public func accept() async throws(NetError) -> (RuntimeStream, Endpoint) {
        while true {
            let accepted = try runtime.withHost { host, _ throws(NetError) -> (Int32, Endpoint)? in
                do throws(NetError) {
                    let (fd, peer) = try host.accept(fd)
                    return (fd, peer)
                } catch .wouldBlock { return nil }
            }
            if let (connection, peer) = accepted { return (RuntimeStream(runtime: runtime, fd: connection), peer) }
            try await runtime.waitUntil(fd, .readable)
        }
    }

    /// Stops listening.
    public func close() {
        runtime.withHost { host, now in try? host.close(fd, now: now) }
    }
}
