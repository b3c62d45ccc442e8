import Synchronization

/// A listening TCP socket used from Swift concurrency, over any ``StackDriver``.
///
/// ``accept()`` suspends until a handshake completes; cancelling it throws
/// `CancellationError` and leaves the listener open. Closed by ``close()`` or
/// when the last reference goes (connections not yet accepted are reset).
public final class TCPListener: Sendable {
    /// What drives the stack the listener lives in.
    public let driver: any StackDriver
    /// The descriptor in the host's socket table (not valid once closed).
    public let descriptor: Int32
    /// The port it listens on (all addresses).
    public let port: UInt16
    private let released = Atomic<Bool>(false)

    init(driver: any StackDriver, descriptor: Int32, port: UInt16) {
        self.driver = driver
        self.descriptor = descriptor
        self.port = port
    }

    deinit {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { driver.release(descriptor) }
    }

    /// The next connection whose handshake completed (its peer is ``TCPStream/remote``).
    /// Throws `CancellationError` when the task is cancelled, EBADF after `close`.
    public func accept() async throws -> TCPStream {
        while true {
            let accepted = try await driver.perform { [self] host, _ throws(NetError) -> (Int32, Endpoint)? in
                if released.load(ordering: .acquiring) { throw .badDescriptor }
                do throws(NetError) { return try host.accept(descriptor) } catch .wouldBlock { return nil }
            }
            if let (fd, peer) = accepted { return TCPStream(driver: driver, descriptor: fd, remote: peer) }
            try await driver.waitUntilReady(descriptor, for: .readable)
        }
    }

    /// Stops listening; connections not yet accepted are reset. Later calls throw EBADF.
    public func close() async {
        await driver.perform { [self] host, now in
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            try? host.close(descriptor, now: now)
        }
    }
}
