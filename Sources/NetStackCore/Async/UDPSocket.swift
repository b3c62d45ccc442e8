import Synchronization

/// A UDP socket used from Swift concurrency, over any ``StackDriver``.
///
/// Sending never waits (a datagram that cannot go is dropped, as UDP does);
/// ``receive(maximum:)`` suspends until a datagram is queued, and cancelling it
/// throws `CancellationError` (the socket stays open). Closed by ``close()`` or
/// when the last reference goes.
public final class UDPSocket: Sendable {
    /// What drives the stack the socket lives in.
    public let driver: any StackDriver
    /// The descriptor in the host's socket table (not valid once closed).
    public let descriptor: Int32
    private let released = Atomic<Bool>(false)

    init(driver: any StackDriver, descriptor: Int32) {
        self.driver = driver
        self.descriptor = descriptor
    }

    deinit {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { driver.release(descriptor) }
    }

    /// The local address and port (the port is chosen by the first send when bound to 0).
    public func localEndpoint() async throws -> Endpoint? {
        try await driver.perform { [self] host, _ throws(NetError) in
            try checkOpen()
            return try host.endpoints(descriptor).local
        }
    }

    /// Sets the default peer (`connect` on a datagram socket): ``send(_:)`` goes
    /// there, and ICMP errors about datagrams to it are reported by the next call.
    public func connect(to remote: Endpoint) async throws {
        try await driver.perform { [self] host, now throws(NetError) in
            try checkOpen()
            try host.connect(descriptor, to: remote, now: now)
        }
    }

    /// Sends `bytes` as one datagram to `destination`. Throws EMSGSIZE, EACCES
    /// (broadcast), or an error ICMP reported for an earlier datagram.
    public func send(_ bytes: [UInt8], to destination: Endpoint) async throws {
        try await driver.perform { [self] host, now throws(NetError) in
            try checkOpen()
            var failure: NetError?
            bytes.withUnsafeBytes { raw in
                do throws(NetError) { try host.send(descriptor, raw, to: destination, now: now) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// Sends `bytes` as one datagram to the peer set by ``connect(to:)`` (ENOTCONN without one).
    public func send(_ bytes: [UInt8]) async throws {
        try await driver.perform { [self] host, now throws(NetError) in
            try checkOpen()
            var failure: NetError?
            bytes.withUnsafeBytes { raw in
                do throws(NetError) { _ = try host.send(descriptor, raw, now: now) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// The oldest queued datagram (cut to `maximum` bytes) and its sender,
    /// suspending until one arrives. Throws the error ICMP reported (connected
    /// sockets), `CancellationError` when the task is cancelled, EBADF after `close`.
    public func receive(maximum: Int = 65_536) async throws -> (bytes: [UInt8], source: Endpoint) {
        while true {
            let datagram = try await driver.perform { [self] host, now throws(NetError) -> ([UInt8], Endpoint)? in
                try checkOpen()
                guard !(try host.poll(descriptor)).isDisjoint(with: [.readable, .error]) else { return nil }
                var buffer = [UInt8](repeating: 0, count: max(1, maximum))
                var result: Result<(count: Int, source: Endpoint)?, NetError> = .success(nil)
                buffer.withUnsafeMutableBytes { raw in
                    do throws(NetError) { result = .success(try host.recvfrom(descriptor, into: raw, now: now)) } catch .wouldBlock {
                        result = .success(nil)
                    } catch {
                        result = .failure(error)
                    }
                }
                guard let (count, source) = try result.get() else { return nil }
                buffer.removeSubrange(count...)
                return (buffer, source)
            }
            if let (bytes, source) = datagram { return (bytes, source) }
            try await driver.waitUntilReady(descriptor, for: .readable)
        }
    }

    /// Closes the socket and frees its port. Later calls throw EBADF.
    public func close() async {
        await driver.perform { [self] host, now in
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            try? host.close(descriptor, now: now)
        }
    }

    private func checkOpen() throws(NetError) {
        if released.load(ordering: .acquiring) { throw .badDescriptor }
    }
}
