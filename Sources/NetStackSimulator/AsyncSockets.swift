public import NetStackCore

/// The async socket API of one host of an ``AsyncNetwork``.
public struct AsyncStack: Sendable {
    let network: AsyncNetwork
    let node: Int

    /// Opens a TCP connection: the three-way handshake happens while this suspends.
    /// Throws ECONNREFUSED, ETIMEDOUT, ENETUNREACH …; cancelling aborts the attempt.
    public func connect(to remote: Endpoint) async throws -> AsyncTCPConnection {
        let fd = try await network.withHost(node) { host, now throws(NetError) in
            let fd = host.socket(.stream)
            do throws(NetError) { try host.connect(fd, to: remote, now: now) } catch {
                try? host.close(fd, now: now)
                throw error
            }
            return fd
        }
        let connection = AsyncTCPConnection(network: network, node: node, descriptor: fd)
        do {
            try await network.wait(node: node, descriptor: fd, for: .writable)
            try await connection.throwPendingError()
        } catch {
            await connection.abort()
            throw error
        }
        return connection
    }

    /// Looks `name` up with the host's stub resolver (hosts table, cache, then
    /// its nameservers), suspending while the query is out.
    /// Throws a `ResolverError` (NXDOMAIN, time-out …).
    public func resolve(_ name: String) async throws -> Resolution {
        try await network.resolve(name, on: node)
    }

    /// Resolves `name`, then connects to its first address on `port`, trying the
    /// next address when one refuses, times out or is unreachable (as
    /// getaddrinfo callers loop). Throws the resolver's error, or the last
    /// address's connect error.
    public func connect(to name: String, port: UInt16) async throws -> AsyncTCPConnection {
        let resolution = try await resolve(name)
        var lastError: NetError = .hostUnreachable
        for address in resolution.addresses {
            do {
                return try await connect(to: Endpoint(address, port))
            } catch let error as NetError
                where [.connectionRefused, .timedOut, .hostUnreachable, .networkUnreachable].contains(error) {
                lastError = error
            }
        }
        throw lastError
    }

    /// Replaces the host's resolver settings (nameservers, hosts table, timeouts).
    public func setResolverConfig(_ config: ResolverConfig) async {
        await network.setResolverConfig(config, on: node)
    }

    /// Listens on `port` of every address of the host.
    public func listen(port: UInt16, backlog: Int = 128) async throws -> AsyncTCPListener {
        let fd = try await network.withHost(node) { host, _ throws(NetError) in
            let fd = host.socket(.stream)
            try host.bind(fd, to: Endpoint(.any, port))
            try host.listen(fd, backlog: backlog)
            return fd
        }
        return AsyncTCPListener(network: network, node: node, descriptor: fd)
    }
}

/// A listening socket; `accept` suspends until a handshake completes.
public struct AsyncTCPListener: Sendable {
    let network: AsyncNetwork
    let node: Int
    let descriptor: Int32

    /// The next connection whose handshake completed.
    public func accept() async throws -> AsyncTCPConnection {
        while true {
            let accepted: Int32? = try await network.withHost(node) { host, _ throws(NetError) in
                do throws(NetError) { return try host.accept(descriptor).descriptor } catch .wouldBlock {
                    return nil
                }
            }
            if let accepted { return AsyncTCPConnection(network: network, node: node, descriptor: accepted) }
            try await network.wait(node: node, descriptor: descriptor, for: .readable)
        }
    }

    /// Stops listening; connections not yet accepted are reset.
    public func close() async {
        try? await network.withHost(node) { host, now throws(NetError) in try host.close(descriptor, now: now) }
    }
}

/// A TCP connection. Writes wait for room in the send buffer (backpressure);
/// `inbound` is the byte stream as an `AsyncSequence` of chunks, ending at the
/// peer's FIN and throwing the connection's error (ECONNRESET, ETIMEDOUT …).
/// Cancelling a task blocked in a call aborts the connection (RST).
public struct AsyncTCPConnection: Sendable {
    let network: AsyncNetwork
    let node: Int
    let descriptor: Int32

    /// Writes all of `bytes`, suspending while the send buffer is full.
    public func write(_ bytes: [UInt8]) async throws {
        var offset = 0
        while offset < bytes.count {
            let written: Int = try await network.withHost(node) { host, now throws(NetError) in
                var result: Result<Int, NetError> = .success(0)
                bytes.withUnsafeBytes { all in
                    do throws(NetError) {
                        result = .success(try host.send(descriptor, UnsafeRawBufferPointer(rebasing: all[offset...]), now: now))
                    } catch .wouldBlock {
                        result = .success(0)
                    } catch {
                        result = .failure(error)
                    }
                }
                return try result.get()
            }
            offset += written
            if offset < bytes.count {
                do { try await network.wait(node: node, descriptor: descriptor, for: .writable) } catch {
                    await abort()
                    throw error
                }
            }
        }
    }

    /// Reads what has arrived (up to `maximum` bytes), suspending until something
    /// does; an empty array means the peer closed its side.
    public func read(maximum: Int = 65_536) async throws -> [UInt8] {
        while true {
            let chunk: [UInt8]? = try await network.withHost(node) { host, now throws(NetError) in
                var buffer = [UInt8](repeating: 0, count: maximum)
                var result: Result<Int?, NetError> = .success(nil)
                buffer.withUnsafeMutableBytes { raw in
                    do throws(NetError) { result = .success(try host.recv(descriptor, into: raw, now: now)) } catch .wouldBlock {
                        result = .success(nil)
                    } catch {
                        result = .failure(error)
                    }
                }
                guard let count = try result.get() else { return nil }
                return Array(buffer[0..<count])
            }
            if let chunk { return chunk }
            do { try await network.wait(node: node, descriptor: descriptor, for: .readable) } catch {
                await abort()
                throw error
            }
        }
    }

    /// The inbound bytes, chunk by chunk, until the peer's FIN.
    public var inbound: InboundBytes { InboundBytes(connection: self) }

    /// Sends FIN after the data already written (half-close); reading goes on.
    public func shutdownWrite() async throws {
        try await network.withHost(node) { host, now throws(NetError) in try host.shutdown(descriptor, .write, now: now) }
    }

    /// Closes gracefully (FIN); the connection finishes in the background (TIME_WAIT for the closer).
    public func close() async {
        try? await network.withHost(node) { host, now throws(NetError) in try host.close(descriptor, now: now) }
    }

    /// Aborts: an RST goes out and the descriptor is released.
    public func abort() async {
        try? await network.withHost(node) { host, now throws(NetError) in
            try host.setOption(descriptor, .linger(.zero))
            try host.close(descriptor, now: now)
        }
    }

    /// The connection's state, for `netstat`-style checks.
    public func state() async -> TCPState {
        (try? await network.withHost(node) { host, _ throws(NetError) in try host.state(descriptor) }) ?? .closed
    }

    func throwPendingError() async throws {
        if let error = try await network.withHost(node, { host, _ throws(NetError) in try host.takeError(descriptor) }) {
            throw error
        }
    }
}

/// The inbound side of an ``AsyncTCPConnection`` as an `AsyncSequence` of byte chunks.
public struct InboundBytes: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let connection: AsyncTCPConnection

    public struct AsyncIterator: AsyncIteratorProtocol {
        let connection: AsyncTCPConnection
        var finished = false

        public mutating func next() async throws -> [UInt8]? {
            guard !finished else { return nil }
            let chunk = try await connection.read()
            if chunk.isEmpty {
                finished = true
                return nil
            }
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(connection: connection) }
}

extension AsyncNetwork {
    /// Looks `name` up with the resolver of host `node`; see ``AsyncStack/resolve(_:)``.
    ///
    /// A lookup is not a descriptor the driver could wait on, so this runs the
    /// simulation itself, one event at a time, yielding between events so other
    /// tasks act at the virtual time their event happened, until the lookup
    /// ends (the resolver's own deadlines guarantee it does). Cancelling the task
    /// cancels the lookup.
    public func resolve(_ name: String, on node: Int) async throws -> Resolution {
        let id = try withHost(node) { host, now throws(NetError) in try host.resolve(name, now: now) }
        let host = nodes[node].host
        for _ in 0..<simulator.maxEventsPerRun {
            switch host.resolution(id) {
            case let .resolved(resolution)?:
                _ = host.takeResolution(id)
                return resolution
            case let .failed(error)?:
                _ = host.takeResolution(id)
                throw error
            case nil:
                throw CancellationError()
            case .pending?:
                break
            }
            if Task.isCancelled {
                host.cancelResolution(id)
                throw CancellationError()
            }
            await Task.yield()
            guard host.resolution(id) == .pending else { continue }
            if !simulator.step(until: Instant(nanoseconds: .max)) { break }
        }
        host.cancelResolution(id)
        throw ResolverError.timedOut
    }

    /// Replaces the resolver settings of host `node`.
    public func setResolverConfig(_ config: ResolverConfig, on node: Int) {
        nodes[node].host.resolverConfig = config
    }
}
