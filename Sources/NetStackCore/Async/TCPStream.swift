import Synchronization

/// A TCP connection used from Swift concurrency, over any ``StackDriver``.
///
/// Writes wait for room in the send buffer (backpressure); reads wait for
/// data; ``inbound`` is the byte stream as an `AsyncSequence` of chunks, ending at
/// the peer's FIN. Cancelling a task blocked in ``read(maximum:)`` or
/// ``write(_:)`` aborts the connection (RST) and throws `CancellationError`.
/// The descriptor is closed by ``close()`` or ``abort()``, or — gracefully, without
/// blocking — when the last reference goes. Sendable: it holds the driver, the
/// descriptor and an atomic flag; every call goes through the driver.
public final class TCPStream: Sendable {
    /// What drives the stack the connection lives in.
    public let driver: any StackDriver
    /// The descriptor in the host's socket table (not valid once closed).
    public let descriptor: Int32
    /// The peer's address and port.
    public let remote: Endpoint
    /// Set once the descriptor was handed back (by `close`, `abort` or `deinit`):
    /// after that the number may name another socket, so no call may use it.
    private let released = Atomic<Bool>(false)

    init(driver: any StackDriver, descriptor: Int32, remote: Endpoint) {
        self.driver = driver
        self.descriptor = descriptor
        self.remote = remote
    }

    deinit {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { driver.release(descriptor) }
    }

    /// Reads what has arrived (at most `maximum` bytes, one copy), suspending until
    /// something has; an empty array means the peer closed its side (end of stream).
    /// Throws the connection's error (ECONNRESET, ETIMEDOUT …), EBADF after `close`.
    public func read(maximum: Int = 65_536) async throws -> [UInt8] {
        while true {
            let chunk = try await driver.perform { [self] host, now throws(NetError) -> [UInt8]? in
                try checkOpen()
                // Nothing to read: no buffer to allocate (recv would say EAGAIN).
                guard !(try host.poll(descriptor)).isDisjoint(with: [.readable, .error, .hangUp]) else { return nil }
                var buffer = [UInt8](repeating: 0, count: max(1, maximum))
                var result: Result<Int?, NetError> = .success(nil)
                buffer.withUnsafeMutableBytes { raw in
                    do throws(NetError) { result = .success(try host.recv(descriptor, into: raw, now: now)) } catch .wouldBlock {
                        result = .success(nil)
                    } catch {
                        result = .failure(error)
                    }
                }
                guard let count = try result.get() else { return nil }
                buffer.removeSubrange(count...)
                return buffer
            }
            if let chunk { return chunk }
            try await waitOrAbort(.readable)
        }
    }

    /// Writes all of `bytes`, suspending while the send buffer is full (backpressure).
    /// Throws the connection's error (EPIPE after the peer reset, …), EBADF after `close`.
    public func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            offset += try await driver.perform { [self] host, now throws(NetError) -> Int in
                try checkOpen()
                var result: Result<Int, NetError> = .success(0)
                bytes.withUnsafeBytes { all in
                    do throws(NetError) {
                        result = .success(try host.send(descriptor, UnsafeRawBufferPointer(rebasing: all[start...]), now: now))
                    } catch .wouldBlock {
                        result = .success(0)
                    } catch {
                        result = .failure(error)
                    }
                }
                return try result.get()
            }
            if offset < bytes.count { try await waitOrAbort(.writable) }
        }
    }

    /// The inbound bytes, chunk by chunk, until the peer's FIN.
    public var inbound: Inbound { Inbound(stream: self) }

    /// Sends FIN after the data already written (half-close); reading goes on.
    public func shutdownWrite() async throws {
        try await driver.perform { [self] host, now throws(NetError) in
            try checkOpen()
            try host.shutdown(descriptor, .write, now: now)
        }
    }

    /// Closes gracefully (FIN, or RST when unread data remains); the connection
    /// finishes in the background (TIME_WAIT for the closer). Later calls throw EBADF.
    public func close() async {
        await driver.perform { [self] host, now in
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            try? host.close(descriptor, now: now)
        }
    }

    /// Aborts: an RST goes out and the descriptor is released.
    public func abort() async {
        await driver.perform { [self] host, now in
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            try? host.setOption(descriptor, .linger(.zero))
            try? host.close(descriptor, now: now)
        }
    }

    /// The connection's state, for `netstat`-style checks (CLOSED once closed here).
    public func state() async -> TCPState {
        await driver.perform { [self] host, _ in
            guard !released.load(ordering: .acquiring) else { return .closed }
            return (try? host.state(descriptor)) ?? .closed
        }
    }

    /// Throws the error the connection failed with, if any (SO_ERROR).
    func throwPendingError() async throws {
        let error = try await driver.perform { [self] host, _ throws(NetError) -> NetError? in
            try checkOpen()
            return try host.takeError(descriptor)
        }
        if let error { throw error }
    }

    /// EBADF once the descriptor was handed back. Call inside `perform`, where no close can interleave.
    private func checkOpen() throws(NetError) {
        if released.load(ordering: .acquiring) { throw .badDescriptor }
    }

    /// Waits for `events`; a task cancelled (or a driver giving up) meanwhile aborts the connection.
    private func waitOrAbort(_ events: PollEvents) async throws {
        do { try await driver.waitUntilReady(descriptor, for: events) } catch {
            await abort()
            throw error
        }
    }

    /// The inbound side of a ``TCPStream`` as an `AsyncSequence` of byte chunks:
    /// it ends at the peer's FIN and throws the connection's error.
    public struct Inbound: AsyncSequence, Sendable {
        /// A chunk of bytes, as one read returned it.
        public typealias Element = [UInt8]
        let stream: TCPStream

        /// Reads the stream chunk by chunk.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let stream: TCPStream
            var finished = false

            /// The next chunk, or nil after the peer's FIN.
            public mutating func next() async throws -> [UInt8]? {
                guard !finished else { return nil }
                let chunk = try await stream.read()
                if chunk.isEmpty {
                    finished = true
                    return nil
                }
                return chunk
            }
        }

        /// An iterator reading from the stream.
        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
    }
}
