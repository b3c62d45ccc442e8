// Opening sockets and resolving names: the same on every driver.

extension StackDriver {
    /// Opens a TCP connection to `remote`; the three-way handshake happens while
    /// this suspends. Throws ECONNREFUSED, ETIMEDOUT, ENETUNREACH …; cancelling the
    /// task aborts the attempt and throws `CancellationError`.
    public func connect(to remote: Endpoint) async throws -> TCPStream {
        let fd = try await perform { host, now throws(NetError) -> Int32 in
            let fd = host.socket(.stream)
            do throws(NetError) { try host.connect(fd, to: remote, now: now) } catch {
                try? host.close(fd, now: now)
                throw error
            }
            return fd
        }
        let stream = TCPStream(driver: self, descriptor: fd, remote: remote)
        do {
            try await waitUntilReady(fd, for: .writable)
            try await stream.throwPendingError()
        } catch {
            await stream.abort()
            throw error
        }
        return stream
    }

    /// Connects to `name` on `port` with Happy Eyeballs v2 (RFC 8305): AAAA and A
    /// lookups at once, 50 ms of grace for AAAA after a first A answer, the
    /// families interleaved IPv6 first, a new attempt every 250 ms (or at once when
    /// one fails); the first handshake to complete wins and the others are closed.
    /// An address literal of either family is connected to as is.
    ///
    /// Throws the A lookup's `ResolverError` when neither lookup found an address
    /// (the AAAA lookup's when A's only says "no address"), or the last attempt's
    /// `NetError` when every address failed. The delays are waited with
    /// `Task.sleep` — real time, also under the simulator, whose virtual clock
    /// does not see them. Cancelling the task closes every attempt.
    public func connect(to name: String, port: UInt16) async throws -> TCPStream {
        let box = ConnectorBox()
        try await perform { host, now throws(NetError) in
            box.connector = try HappyEyeballsConnector(host: host, name: name, port: port, now: now)
        }
        do {
            while true {
                let turn = await perform { host, now in box.turn(host, now) }
                switch turn.result {
                case let .connected(descriptor, address)?:
                    return TCPStream(driver: self, descriptor: descriptor, remote: Endpoint(address, port))
                case .failed?:
                    throw turn.error ?? NetError.hostUnreachable
                case nil:
                    try await waitForAny(lookups: turn.lookups, descriptors: turn.descriptors, for: turn.delay)
                }
            }
        } catch {
            await perform { host, now in box.connector?.cancel(on: host, now: now) }
            throw error
        }
    }

    /// Returns when one lookup finishes, one descriptor becomes writable (or fails), or `delay` passes.
    private func waitForAny(lookups: [ResolutionID], descriptors: [Int32], for delay: Duration?) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in lookups { group.addTask { try await self.waitForResolution(id) } }
            for fd in descriptors { group.addTask { try await self.waitUntilReady(fd, for: .writable) } }
            if let delay { group.addTask { try await Task.sleep(for: delay) } }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// Listens on `port` of every address of the host, with room for `backlog`
    /// connections waiting for ``TCPListener/accept()``. Throws EADDRINUSE when taken.
    public func listen(port: UInt16, backlog: Int = 128) async throws -> TCPListener {
        let fd = try await perform { host, now throws(NetError) -> Int32 in
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
        return TCPListener(driver: self, descriptor: fd, port: port)
    }

    /// A UDP socket bound to `port` (0: an ephemeral one, chosen at once) on every
    /// address of the host. Throws EADDRINUSE when the port is taken.
    public func udpSocket(port: UInt16 = 0) async throws -> UDPSocket {
        let fd = try await perform { host, now throws(NetError) -> Int32 in
            let fd = host.socket(.datagram)
            do throws(NetError) { try host.bind(fd, to: Endpoint(.any, port)) } catch {
                try? host.close(fd, now: now)
                throw error
            }
            return fd
        }
        return UDPSocket(driver: self, descriptor: fd)
    }

    /// Looks `name` up with the host's stub resolver (a dotted quad as is, then the
    /// hosts table, the cache, its nameservers), suspending while the query is out.
    /// Throws a `ResolverError` (NXDOMAIN, time-out …); cancelling the task cancels
    /// the lookup and throws `CancellationError`.
    public func resolve(_ name: String) async throws -> Resolution {
        let id = try await perform { host, now throws(NetError) in try host.resolve(name, now: now) }
        while true {
            let state = await perform { host, _ in host.takeResolution(id) }
            switch state {
            case let .resolved(answer)?: return answer
            case let .failed(error)?: throw error
            case nil: throw CancellationError()  // cancelled meanwhile
            case .pending?:
                do { try await waitForResolution(id) } catch {
                    await perform { host, _ in host.cancelResolution(id) }
                    throw error
                }
            }
        }
    }
}

/// The connector of one `connect(to:port:)`, touched only inside `perform`
/// (which gives exclusive use of the host): hence unchecked.
private final class ConnectorBox: @unchecked Sendable {
    var connector: HappyEyeballsConnector?

    /// What one turn of the race found, for the waiting task.
    struct Turn: Sendable {
        var result: HappyEyeballsConnector.Result?
        var error: (any Error)?
        var lookups: [ResolutionID]
        var descriptors: [Int32]
        var delay: Duration?
    }

    func turn(_ host: Host, _ now: Instant) -> Turn {
        guard let connector else { return Turn(result: .failed(reason: "gone"), lookups: [], descriptors: []) }
        connector.run(on: host, now: now)
        var error: (any Error)?
        switch connector.race.outcome {
        case let .unresolved(aaaa, a)?: error = a == .noAddress ? aaaa : a
        case let .allAttemptsFailed(failures)?: error = failures.last?.error
        default: break
        }
        return Turn(result: connector.result, error: error, lookups: connector.pendingLookups,
                    descriptors: connector.attemptDescriptors, delay: connector.nextWakeup.map { $0 - now })
    }
}
