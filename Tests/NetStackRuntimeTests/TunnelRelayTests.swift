// TunnelRelay without devices or root: a client host and the relay's host joined
// by an in-memory IP link (a TUN, in effect), and kernel peers on the loopback
// address standing in for the destinations (the relay's seam maps each
// intercepted destination to 127.0.0.1, same port).

import Glibc
import NetStackCore
@testable import NetStackRuntime
import NetStackWire
import Testing

/// Client 192.0.2.1 → proxy 192.0.2.2 (the relay) over an IP-only link; the relay's upstreams on loopback.
final class RelayBench {
    let client: Host, proxy: Host
    let relay: TunnelRelay
    var epoll: Epoll
    var now = Instant.zero
    static let link = InterfaceID(0)

    init(_ config: TunnelRelayConfig = TunnelRelayConfig()) throws {
        var clientConfig = HostConfig(name: "client"), proxyConfig = HostConfig(name: "proxy")
        clientConfig.randomSeed = 11
        proxyConfig.randomSeed = 12
        // Fixed 256 KiB buffers, as before auto-tuning: the back-pressure checks bound the
        // relay against the buffers TCP keeps, not TCP's growth (its own suites test that).
        clientConfig.tcp.sendBufferMaximum = clientConfig.tcp.socketDefaults.sendBufferSize
        clientConfig.tcp.receiveBufferMaximum = clientConfig.tcp.socketDefaults.receiveBufferSize
        proxyConfig.tcp.sendBufferMaximum = proxyConfig.tcp.socketDefaults.sendBufferSize
        proxyConfig.tcp.receiveBufferMaximum = proxyConfig.tcp.socketDefaults.receiveBufferSize
        client = Host(clientConfig)
        proxy = Host(proxyConfig)
        for (host, last) in [(client, UInt8(1)), (proxy, UInt8(2))] {
            var adapter = AdapterConfig(name: "tun0", mac: .zero, mtu: 1500)
            adapter.medium = .ipOnly
            host.assign(IPv4Address(192, 0, 2, last), prefixLength: 24, to: host.addInterface(adapter), now: now)
        }
        client.setDefaultGateway(IPv4Address(192, 0, 2, 2), interface: Self.link)
        relay = try TunnelRelay(host: proxy, interface: Self.link, config: config)
        relay.upstreamEndpoint = { Endpoint(IPv4Address(127, 0, 0, 1), $0.port) }
        epoll = try Epoll()
        relay.attach(DescriptorWatcher(epoll: epoll.fd, tag: 1))
    }

    /// Rounds of: packets across the link, the relay's ready upstream sockets, polls, the
    /// relay's turn; 1 ms of virtual time and at most 1 ms of real waiting each. Stops once `done`.
    func run(rounds: Int = 300, until done: () -> Bool = { false }) {
        for _ in 0..<rounds {
            while let packet = client.takeFrame(from: Self.link, { Array($0) }) { proxy.receive(packet, on: Self.link, now: now) }
            while let packet = proxy.takeFrame(from: Self.link, { Array($0) }) { client.receive(packet, on: Self.link, now: now) }
            var ready: [(Int32, DescriptorEvents)] = []
            epoll.wait(timeoutNanoseconds: 1_000_000) { token, events in
                ready.append((Int32(bitPattern: UInt32(truncatingIfNeeded: token)), DescriptorEvents(epoll: events)))
            }
            for (fd, events) in ready { relay.descriptorReady(fd, events, on: proxy, now: now) }
            client.poll(now: now)
            proxy.poll(now: now)
            relay.run(on: proxy, now: now)
            now = now + .milliseconds(1)
            if done() { return }
        }
    }

    func connect(port: UInt16) throws -> Int32 {
        let fd = client.socket(.stream)
        try client.connect(fd, to: Endpoint(IPv4Address(203, 0, 113, 7), port), now: now)
        return fd
    }
}

/// A kernel TCP listener on 127.0.0.1 (an ephemeral port), non-blocking.
struct KernelListener: ~Copyable {
    let fd: Int32
    let port: UInt16

    /// With `receiveBuffer`, accepted connections get that SO_RCVBUF from the start (their window stays small).
    init(receiveBuffer: Int32? = nil, backlog: Int32 = 16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        if var size = receiveBuffer { setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(listener, $0, length)
                _ = getsockname(listener, $0, &length)
            }
        }
        _ = listen(listener, backlog)
        fd = listener
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }

    /// An accepted connection (non-blocking), or nil.
    func accept() -> Int32? {
        let child = Glibc.accept(fd, nil, nil)
        guard child >= 0 else { return nil }
        _ = fcntl(child, F_SETFL, fcntl(child, F_GETFL) | O_NONBLOCK)
        return child
    }
}

/// A kernel connect to 127.0.0.1:`port`, started without waiting for it (non-blocking).
private func kernelConnect(port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    _ = withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return fd
}

/// A port on 127.0.0.1 nothing listens on (a listener's, closed at once): connecting is refused.
func closedPort() -> UInt16 { KernelListener().port }

func kernelRead(_ fd: Int32, max: Int = 256 << 10) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: max)
    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    return count >= 0 ? Array(buffer[0..<count]) : nil
}

func stackRead(_ host: Host, _ fd: Int32, now: Instant) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    guard let count = buffer.withUnsafeMutableBytes({ try? host.recv(fd, into: $0, now: now) }) else { return nil }
    return Array(buffer[0..<count])
}

@Suite("Tunnel relay over an in-memory link, loopback upstreams")
struct TunnelRelayTests {
    @Test("a connection is completed only once the upstream accepted; bytes go both ways; FIN follows FIN")
    func relaysBothWaysWithHalfClose() throws {
        let bench = try RelayBench()
        let upstream = KernelListener()
        let fd = try bench.connect(port: upstream.port)
        var server: Int32?
        bench.run { server = server ?? upstream.accept(); return (try? bench.client.state(fd)) == .established }
        let peer = try #require(server)
        defer { close(peer) }
        #expect(bench.relay.tcpRelayed == 1)

        _ = try Array("hello upstream".utf8).withUnsafeBytes { try bench.client.send(fd, $0, now: bench.now) }
        var received: [UInt8] = []
        bench.run { received += kernelRead(peer) ?? []; return received.count == 14 }
        #expect(String(decoding: received, as: UTF8.self) == "hello upstream")

        _ = Array("hello client".utf8).withUnsafeBytes { send(peer, $0.baseAddress, $0.count, 0) }
        var answer: [UInt8] = []
        bench.run { answer += stackRead(bench.client, fd, now: bench.now) ?? []; return answer.count == 12 }
        #expect(String(decoding: answer, as: UTF8.self) == "hello client")

        // The client half-closes: the upstream reads end of stream, and can still answer.
        try bench.client.shutdown(fd, .write, now: bench.now)
        var ended = false
        bench.run { ended = kernelRead(peer) == []; return ended }
        #expect(ended, "the client's FIN became the upstream's end of stream")
        _ = Array("bye".utf8).withUnsafeBytes { send(peer, $0.baseAddress, $0.count, 0) }
        shutdown(peer, Int32(SHUT_WR))
        var tail: [UInt8] = []
        var clientEnded = false
        bench.run {
            if let bytes = stackRead(bench.client, fd, now: bench.now) { if bytes.isEmpty { clientEnded = true } else { tail += bytes } }
            return clientEnded
        }
        #expect(String(decoding: tail, as: UTF8.self) == "bye" && clientEnded)
        bench.run(rounds: 20)
        #expect(bench.relay.flowCount == 0, "both directions closed: the pair is gone")
    }

    @Test("a closed upstream port is a refusal: the client's connect fails with ECONNREFUSED")
    func refusalStaysARefusal() throws {
        let bench = try RelayBench()
        let fd = try bench.connect(port: closedPort())
        bench.run { (try? bench.client.poll(fd))?.contains(.error) ?? false }
        #expect(try bench.client.takeError(fd) == .connectionRefused)
        #expect(bench.relay.tcpRefused == 1 && bench.relay.flowCount == 0)
    }

    @Test("an upstream that never answers the SYN: after the connect timeout the client gets ICMP host unreachable")
    func connectTimeout() throws {
        var config = TunnelRelayConfig()
        config.connectTimeout = .milliseconds(50)
        let bench = try RelayBench(config)
        // A listener with a backlog of one that never accepts: once two connections fill its
        // queue the kernel drops further SYNs, and the relay's connect stays in progress.
        let full = KernelListener(backlog: 0)
        var fillers: [Int32] = []
        defer { for fd in fillers { close(fd) } }
        for _ in 0..<2 { fillers.append(kernelConnect(port: full.port)) }
        usleep(50_000)
        let fd = try bench.connect(port: full.port)
        bench.run(rounds: 200) { (try? bench.client.poll(fd))?.contains(.error) ?? false }
        #expect(try bench.client.takeError(fd) == .hostUnreachable)
        #expect(bench.relay.tcpRefused == 1 && bench.relay.flowCount == 0)
    }

    @Test("an upstream that does not read holds the client back: the relay keeps at most one buffer, then delivers all")
    func backpressureIsBounded() throws {
        var config = TunnelRelayConfig()
        config.bufferSize = 16 * 1024
        let bench = try RelayBench(config)
        let upstream = KernelListener(receiveBuffer: 4096)
        let fd = try bench.connect(port: upstream.port)
        var server: Int32?
        bench.run { server = server ?? upstream.accept(); return (try? bench.client.state(fd)) == .established }
        let peer = try #require(server)
        defer { close(peer) }

        let total = 8 << 20
        let payload = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var sent = 0
        for _ in 0..<400 {
            if sent < total, let n = payload[sent...].withUnsafeBytes({ try? bench.client.send(fd, $0, now: bench.now) }) { sent += n }
            bench.run(rounds: 1)
        }
        #expect(sent < total, "the client is held back while the upstream does not read")
        #expect(bench.relay.bytesUpstream < total, "only what the kernel's buffers take went upstream")

        var received: [UInt8] = []
        received.reserveCapacity(total)
        bench.run(rounds: 20_000) {
            if sent < total, let n = payload[sent...].withUnsafeBytes({ try? bench.client.send(fd, $0, now: bench.now) }) { sent += n }
            received += kernelRead(peer) ?? []
            return received.count == total
        }
        #expect(received.count == total && received == payload,
                "every byte arrived, in order: \(received.count) of \(total), \(sent) sent, \(bench.relay.bytesUpstream) relayed")
    }

    @Test("past --max-flows a new connection is refused with an RST and counted")
    func flowLimit() throws {
        var config = TunnelRelayConfig()
        config.maxFlows = 1
        let bench = try RelayBench(config)
        let upstream = KernelListener()
        let first = try bench.connect(port: upstream.port)
        bench.run { (try? bench.client.state(first)) == .established }
        let second = try bench.connect(port: upstream.port)
        bench.run { (try? bench.client.poll(second))?.contains(.error) ?? false }
        #expect(try bench.client.takeError(second) == .connectionRefused)
        #expect(bench.relay.tcpRefusedOverLimit == 1 && bench.relay.tcpRelayed == 1)
        while let child = upstream.accept() { close(child) }
    }

    @Test("the client's reset aborts the upstream connection with a reset")
    func clientResetAbortsUpstream() throws {
        let bench = try RelayBench()
        let upstream = KernelListener()
        let fd = try bench.connect(port: upstream.port)
        var server: Int32?
        bench.run { server = server ?? upstream.accept(); return (try? bench.client.state(fd)) == .established }
        let peer = try #require(server)
        defer { close(peer) }
        try bench.client.setOption(fd, .linger(.zero))
        try bench.client.close(fd, now: bench.now)
        var failure: Int32 = 0
        bench.run {
            var byte: UInt8 = 0
            if recv(peer, &byte, 1, 0) < 0, errno != EAGAIN { failure = errno }
            return failure != 0
        }
        #expect(failure == ECONNRESET)
        #expect(bench.relay.clientAborts == 1 && bench.relay.flowCount == 0)
    }

    @Test("a UDP flow gets its own upstream socket; replies come back from the original destination")
    func udpRoundTrip() throws {
        let bench = try RelayBench()
        let echo = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { close(echo) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(echo, $0, length)
                _ = getsockname(echo, $0, &length)
            }
        }
        let destination = Endpoint(IPv4Address(203, 0, 113, 53), UInt16(bigEndian: address.sin_port))
        let socket = bench.client.udpOpen()
        try bench.client.udpSend(socket, Array("question".utf8), to: destination, now: bench.now)
        var reply: UDPDatagram?
        bench.run {
            var buffer = [UInt8](repeating: 0, count: 512)
            var from = sockaddr_in()
            var fromLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { bytes in
                withUnsafeMutablePointer(to: &from) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(echo, bytes.baseAddress, 512, 0, $0, &fromLength) }
                }
            }
            if count > 0 {
                _ = withUnsafePointer(to: &from) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(echo, "answer", 6, 0, $0, fromLength) }
                }
            }
            reply = reply ?? bench.client.udpReceive(socket)
            return reply != nil
        }
        let datagram = try #require(reply)
        #expect(datagram.payload == Array("answer".utf8))
        #expect(datagram.source == destination, "from the address the client asked, not the relay's")
        #expect(bench.relay.udpRelayed == 1 && bench.relay.flowCount == 1)
    }
}
