// One relayed TCP connection: the stack's descriptor toward the client, the
// kernel socket toward the destination, and the bytes one side read that the
// other has not taken yet.

import NetStackCore

/// A client's connection (on the stack) joined to its destination (a kernel socket).
final class RelayedConnection {
    /// The stack's descriptor of the client's connection.
    let stackFD: Int32
    /// The host's socket connected to the original destination.
    let upstreamSocket: KernelSocket
    /// Client bytes the upstream socket has not taken yet.
    var pendingUp = RelayBacklog()
    /// Destination bytes the stack has not taken yet.
    var pendingDown = RelayBacklog()
    /// The client sent its FIN (the stack's recv returned 0); the upstream got shutdown(SHUT_WR).
    var clientDone = false, upstreamShut = false
    /// The destination sent its FIN (recv returned 0); the client got a FIN (shutdown of the stack's write side).
    var upstreamDone = false, clientShut = false
    /// Its index in the relay's list of connections.
    var slot = 0

    init(stackFD: Int32, upstreamSocket: KernelSocket) {
        self.stackFD = stackFD
        self.upstreamSocket = upstreamSocket
    }

    /// Returns both backlogs' buffers to the pool.
    func release(to pool: BufferPool) {
        pendingUp.release(to: pool)
        pendingDown.release(to: pool)
    }
}

/// Bytes read from one side that the other side would not take at once: at
/// most one buffer (the reading side stops until it is drained), held only
/// while non-empty.
struct RelayBacklog {
    private var buffer: UnsafeMutableRawBufferPointer?
    private var start = 0, end = 0

    var isEmpty: Bool { start == end }

    /// Keeps `bytes` (at most a pool buffer's size; the backlog must be empty).
    mutating func keep(_ bytes: UnsafeRawBufferPointer, from pool: BufferPool) {
        let target = buffer ?? pool.take()
        buffer = target
        UnsafeMutableRawBufferPointer(rebasing: target[0..<bytes.count]).copyMemory(from: bytes)
        start = 0
        end = bytes.count
    }

    /// Writes what it holds to a kernel socket: the bytes taken, or the error.
    mutating func flush(into socket: KernelSocket) -> Result<Int, KernelSocketError> {
        guard let buffer, start < end else { return .success(0) }
        let result = socket.write(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
        if case let .success(sent) = result { start += sent }
        return result
    }

    /// Sends what it holds on the stack's connection `fd`: the bytes taken; throws as `send` does.
    mutating func flush(to fd: Int32, _ host: Host, now: Instant) throws(NetError) -> Int {
        guard let buffer, start < end else { return 0 }
        let sent = try host.send(fd, UnsafeRawBufferPointer(rebasing: buffer[start..<end]), now: now)
        start += sent
        return sent
    }

    /// Gives the buffer back (the backlog is then empty).
    mutating func release(to pool: BufferPool) {
        if let buffer { pool.give(buffer) }
        buffer = nil
        start = 0
        end = 0
    }
}
