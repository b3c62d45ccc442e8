// The application side of a script: socket calls at a time, and checks on
// socket state that let no time pass.

@testable import NetStackCore
import NetStackWire
import Testing

extension TCPScript {
    // MARK: The application

    /// At `t`, the application does `body` (socket calls take the `now` passed in).
    /// A thrown error fails the script unless it is `error`.
    @discardableResult
    func app<R>(at t: Double, _ what: String = "app", expecting error: NetError? = nil,
                sourceLocation: SourceLocation = #_sourceLocation,
                _ body: (Host, Instant) throws(NetError) -> R) -> R? {
        guard !failed else { return nil }
        advance(to: .seconds(t), sourceLocation)
        guard !failed, checkNothingPending(before: "\(what) at \(t)", sourceLocation) else { return nil }
        note("\(t) \(what)" + (error.map { " = \($0.symbol)" } ?? ""))
        defer { collect() }
        do {
            let result = try body(host, now)
            if let error { fail("\(what) succeeded, expected \(error.symbol)", sourceLocation) }
            return result
        } catch let thrown {
            if thrown != error {
                fail("\(what) threw \(thrown.symbol) (\(thrown))" + (error.map { ", expected \($0.symbol)" } ?? ""),
                     sourceLocation)
            }
            return nil
        }
    }

    /// socket + setsockopt + bind + listen; sets `serverPort`.
    func listen(at t: Double, port: UInt16 = 8080, backlog: Int = 128, options: [SocketOption] = [],
                sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        serverPort = port
        return app(at: t, "listen(:\(port), \(backlog))", sourceLocation: sourceLocation) { host, _ throws(NetError) in
            let fd = host.socket(.stream)
            for option in options { try host.setOption(fd, option) }
            try host.bind(fd, to: Endpoint(.any, port))
            try host.listen(fd, backlog: backlog)
            return fd
        } ?? -1
    }

    /// socket + setsockopt + connect to the peer at `port` (default `peerPort`).
    func connect(at t: Double, port: UInt16? = nil, options: [SocketOption] = [], expecting error: NetError? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        let port = port ?? peerPort
        flows[port] = Flow(localPort: 0, peerISN: peerISN)
        return app(at: t, "connect(:\(port))", expecting: error, sourceLocation: sourceLocation) { host, now throws(NetError) in
            let fd = host.socket(.stream)
            for option in options { try host.setOption(fd, option) }
            try host.connect(fd, to: Endpoint(Self.peerIP, port), now: now)
            return fd
        } ?? -1
    }

    /// accept() on `listener`.
    func accept(at t: Double, _ listener: Int32, expecting error: NetError? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
        app(at: t, "accept(\(listener))", expecting: error, sourceLocation: sourceLocation) { host, _ throws(NetError) in
            try host.accept(listener).descriptor
        } ?? -1
    }

    /// The peer port of `fd`'s connection.
    private func peerPort(of fd: Int32) -> UInt16 {
        ((try? host.endpoints(fd))?.remote?.port) ?? peerPort
    }

    /// send() of `count` pattern bytes; returns what was taken.
    @discardableResult
    func send(at t: Double, _ fd: Int32, _ count: Int, expecting error: NetError? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let port = peerPort(of: fd)
        let bytes = scriptPattern(from: flow(port).writeOffset, count: count)
        let written = app(at: t, "send(\(fd), \(count))", expecting: error, sourceLocation: sourceLocation) {
            host, now throws(NetError) in
            try Self.send(host, fd, bytes, now: now)
        } ?? 0
        updateFlow(port) { $0.writeOffset += written }
        return written
    }

    /// send() of these exact bytes (outbound payloads are then not checked against the pattern).
    @discardableResult
    func send(at t: Double, _ fd: Int32, bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let port = peerPort(of: fd)
        updateFlow(port) { $0.patternWrites = false }
        return app(at: t, "send(\(fd), \(bytes.count) bytes)", sourceLocation: sourceLocation) { host, now throws(NetError) in
            try Self.send(host, fd, bytes, now: now)
        } ?? 0
    }

    private static func send(_ host: Host, _ fd: Int32, _ bytes: [UInt8], now: Instant) throws(NetError) -> Int {
        var result: Result<Int, NetError> = .success(0)
        bytes.withUnsafeBytes { buffer in
            result = Result { () throws(NetError) in try host.send(fd, buffer, now: now) }
        }
        return try result.get()
    }

    /// recv() of at most `max` bytes, expecting `count` of them (0: end of
    /// stream) or `error`; checks they are the peer's pattern bytes in order.
    func recv(at t: Double, _ fd: Int32, max: Int = 1 << 20, expect count: Int? = nil, expecting error: NetError? = nil,
              sourceLocation: SourceLocation = #_sourceLocation) {
        let port = peerPort(of: fd)
        var buffer = [UInt8](repeating: 0, count: max)
        let got = app(at: t, "recv(\(fd), \(max))", expecting: error, sourceLocation: sourceLocation) {
            host, now throws(NetError) in
            var result: Result<Int, NetError> = .success(0)
            buffer.withUnsafeMutableBytes { raw in
                result = Result { () throws(NetError) in try host.recv(fd, into: raw, now: now) }
            }
            return try result.get()
        }
        guard let got, !failed else { return }
        if let count, got != count {
            fail("recv(\(fd)) returned \(got) bytes, expected \(count)", sourceLocation)
            return
        }
        let state = flow(port)
        if state.patternReads, Array(buffer[0..<got]) != scriptPattern(from: state.readOffset, count: got) {
            fail("recv(\(fd)) returned bytes that are not the peer's stream at offset \(state.readOffset)", sourceLocation)
        }
        updateFlow(port) { $0.readOffset += got }
    }

    /// close().
    func close(at t: Double, _ fd: Int32, sourceLocation: SourceLocation = #_sourceLocation) {
        app(at: t, "close(\(fd))", sourceLocation: sourceLocation) { host, now throws(NetError) in try host.close(fd, now: now) }
    }

    /// shutdown().
    func shutdown(at t: Double, _ fd: Int32, _ how: ShutdownHow, sourceLocation: SourceLocation = #_sourceLocation) {
        app(at: t, "shutdown(\(fd), \(how))", sourceLocation: sourceLocation) { host, now throws(NetError) in
            try host.shutdown(fd, how, now: now)
        }
    }

    /// setsockopt().
    func setOption(at t: Double, _ fd: Int32, _ option: SocketOption, sourceLocation: SourceLocation = #_sourceLocation) {
        app(at: t, "setsockopt(\(fd), \(option))", sourceLocation: sourceLocation) { host, _ throws(NetError) in
            try host.setOption(fd, option)
        }
    }

    // MARK: Checks on the socket side (no time passes)

    /// The TCP state of `fd` is `state`.
    func expectState(_ fd: Int32, _ state: TCPState, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        do {
            let actual = try host.state(fd)
            if actual != state { fail("state of \(fd) is \(actual), expected \(state)", sourceLocation) }
        } catch {
            fail("state(\(fd)) threw \(error.symbol)", sourceLocation)
        }
    }

    /// getsockopt(SO_ERROR) of `fd` is `error` (nil: none pending).
    func expectError(_ fd: Int32, _ error: NetError?, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        do {
            let actual = try host.takeError(fd)
            if actual != error {
                fail("SO_ERROR of \(fd) is \(actual?.symbol ?? "none"), expected \(error?.symbol ?? "none")", sourceLocation)
            }
        } catch {
            fail("takeError(\(fd)) threw \(error.symbol)", sourceLocation)
        }
    }

    /// poll() of `fd` includes `events` (and, if given, excludes `absent`).
    func expectPoll(_ fd: Int32, has events: PollEvents, lacks absent: PollEvents = [],
                    sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        do {
            let actual = try host.poll(fd)
            if !actual.isSuperset(of: events) || !actual.isDisjoint(with: absent) {
                fail("poll(\(fd)) = [\(actual)], expected [\(events)]" + (absent.isEmpty ? "" : " without [\(absent)]"),
                     sourceLocation)
            }
        } catch {
            fail("poll(\(fd)) threw \(error.symbol)", sourceLocation)
        }
    }

    /// The states of the host's connections to the peer at `port` (default `peerPort`), as netstat sees them.
    func connectionStates(port: UInt16? = nil) -> [TCPState] {
        let port = port ?? peerPort
        return host.tcpConnectionInfo().filter { $0.remote.port == port }.map(\.state)
    }

    /// The host has exactly these connections to the peer at `port` (none: `[]`).
    func expectConnections(_ states: [TCPState], port: UInt16? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        let actual = connectionStates(port: port)
        if actual != states { fail("connections to the peer are \(actual), expected \(states)", sourceLocation) }
    }
}
