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

    /// Resolves `name` (a dotted quad is used as is), then connects to its first
    /// address on `port`, trying the next when one refuses, times out or is
    /// unreachable (as getaddrinfo callers loop). Throws the resolver's error, or
    /// the last address's connect error.
    public func connect(to name: String, port: UInt16) async throws -> TCPStream {
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
