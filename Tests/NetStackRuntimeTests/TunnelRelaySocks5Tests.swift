// TunnelRelay through a SOCKS5 proxy, without root: the in-memory link of
// TunnelRelayTests, and the test itself playing the proxy on 127.0.0.1 (a
// kernel listener and, for UDP ASSOCIATE, a kernel UDP socket as its relay),
// so each answer — a refusal, a rejected password, a fragment — is chosen.

import Glibc
import NetStackCore
@testable import NetStackRuntime
import NetStackWire
import Testing

/// A SOCKS5 server scripted by the test: accepts one connection, answers the greeting with
/// `method`, the credentials (if asked) with `authentication`, the request with `reply` once
/// `replyAllowed`. Keeps each message it read, in order.
private final class ScriptedProxy {
    private enum Phase { case greeting, authentication, request, replying, done }
    let listener = KernelListener()
    var connection: Int32?
    var messages: [[UInt8]] = []
    var replyAllowed = true
    private var buffer: [UInt8] = []
    private var phase = Phase.greeting
    private let method: [UInt8], authentication: [UInt8], reply: [UInt8]

    init(method: [UInt8] = [5, 0], authentication: [UInt8] = [1, 0], reply: [UInt8]) {
        self.method = method
        self.authentication = authentication
        self.reply = reply
    }

    deinit { if let connection { close(connection) } }

    var endpoint: Endpoint { Endpoint(IPv4Address(127, 0, 0, 1), listener.port) }

    /// Reads what arrived and answers what is complete. Non-blocking.
    func step() {
        if connection == nil { connection = listener.accept() }
        guard let fd = connection else { return }
        buffer += kernelRead(fd) ?? []
        while true {
            switch phase {
            case .greeting:
                guard buffer.count >= 2, buffer.count >= 2 + Int(buffer[1]) else { return }
                take(2 + Int(buffer[1]), answer: method)
                phase = method[1] == 2 ? .authentication : .request
            case .authentication:
                guard buffer.count >= 2, buffer.count >= 3 + Int(buffer[1]),
                      buffer.count >= 3 + Int(buffer[1]) + Int(buffer[2 + Int(buffer[1])]) else { return }
                take(3 + Int(buffer[1]) + Int(buffer[2 + Int(buffer[1])]), answer: authentication)
                phase = authentication[1] == 0 ? .request : .done
            case .request:
                guard buffer.count >= 10 else { return }
                take(10, answer: [])
                phase = .replying
            case .replying:
                guard replyAllowed else { return }
                take(0, answer: reply)
                phase = .done
            case .done:
                return
            }
        }
    }

    private func take(_ count: Int, answer: [UInt8]) {
        if count > 0 { messages.append(Array(buffer[0..<count])) }
        buffer.removeFirst(count)
        _ = answer.withUnsafeBytes { send(connection!, $0.baseAddress, $0.count, 0) }
    }
}

/// A non-blocking kernel UDP socket on 127.0.0.1 and its port.
private func udpSocket() -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = IPv4Address(127, 0, 0, 1).rawValue.bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, length)
            _ = getsockname(fd, $0, &length)
        }
    }
    return (fd, UInt16(bigEndian: address.sin_port))
}

private func udpSend(_ fd: Int32, _ bytes: [UInt8], to port: UInt16) {
    _ = bytes.withUnsafeBytes { KernelSocket(fd: fd).write($0, to: Endpoint(IPv4Address(127, 0, 0, 1), port)) }
}

private func udpReceive(_ fd: Int32) -> (bytes: [UInt8], port: UInt16)? {
    var buffer = [UInt8](repeating: 0, count: 2048)
    let result = buffer.withUnsafeMutableBytes { KernelSocket(fd: fd).readFrom(into: $0) }
    guard case let .success((count, source)) = result else { return nil }
    return (Array(buffer[0..<count]), source.port)
}

private func bench(through proxy: ScriptedProxy, credentials: Socks5Credentials? = nil) throws -> RelayBench {
    var config = TunnelRelayConfig()
    config.socks5 = Socks5Proxy(endpoint: proxy.endpoint, credentials: credentials)
    return try RelayBench(config)
}

@Suite("Tunnel relay through a SOCKS5 proxy the test plays")
struct TunnelRelaySocks5Tests {
    @Test("CONNECT names the original destination; the client's handshake completes only after the proxy's success")
    func connectCarriesTheConnection() throws {
        let proxy = ScriptedProxy(reply: [5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38])
        proxy.replyAllowed = false
        let bench = try bench(through: proxy)
        let fd = try bench.connect(port: 8080)
        bench.run(rounds: 100) { proxy.step(); return proxy.messages.count == 2 }
        bench.run(rounds: 20) { proxy.step(); return false }
        #expect(proxy.messages == [[5, 1, 0], [5, 1, 0, 1, 203, 0, 113, 7, 0x1F, 0x90]])
        #expect((try? bench.client.state(fd)) != .established, "no reply yet: the client waits")

        proxy.replyAllowed = true
        bench.run { proxy.step(); return (try? bench.client.state(fd)) == .established }
        #expect(bench.relay.tcpRelayed == 1)
        let peer = try #require(proxy.connection)
        _ = try Array("through the proxy".utf8).withUnsafeBytes { try bench.client.send(fd, $0, now: bench.now) }
        var received: [UInt8] = []
        bench.run { received += kernelRead(peer) ?? []; return received.count == 17 }
        #expect(String(decoding: received, as: UTF8.self) == "through the proxy")
        _ = Array("back".utf8).withUnsafeBytes { send(peer, $0.baseAddress, $0.count, 0) }
        var answer: [UInt8] = []
        bench.run { answer += stackRead(bench.client, fd, now: bench.now) ?? []; return answer.count == 4 }
        #expect(String(decoding: answer, as: UTF8.self) == "back")
    }

    @Test("the proxy's REP reaches the client as the matching refusal",
          arguments: [(UInt8(5), NetError.connectionRefused), (4, .hostUnreachable), (6, .hostUnreachable),
                      (3, .networkUnreachable), (1, .connectionRefused), (2, .connectionRefused)])
    func replyBecomesRefusal(code: UInt8, error: NetError) throws {
        let proxy = ScriptedProxy(reply: [5, code, 0, 1, 0, 0, 0, 0, 0, 0])
        let bench = try bench(through: proxy)
        let fd = try bench.connect(port: 80)
        bench.run { proxy.step(); return (try? bench.client.poll(fd))?.contains(.error) ?? false }
        #expect(try bench.client.takeError(fd) == error)
        #expect(bench.relay.tcpRefused == 1 && bench.relay.flowCount == 0)
        #expect(bench.relay.socksProxyFailures == 0, "the destination's failure, not the proxy's")
    }

    @Test("username/password goes to the proxy; a rejection refuses the client with an RST and is counted")
    func rejectedPassword() throws {
        let proxy = ScriptedProxy(method: [5, 2], authentication: [1, 1], reply: [])
        let credentials = try #require(Socks5Credentials(user: "bob", password: "wrong"))
        let bench = try bench(through: proxy, credentials: credentials)
        let fd = try bench.connect(port: 80)
        bench.run { proxy.step(); return (try? bench.client.poll(fd))?.contains(.error) ?? false }
        #expect(proxy.messages == [[5, 2, 0, 2], [1, 3] + Array("bob".utf8) + [5] + Array("wrong".utf8)])
        #expect(try bench.client.takeError(fd) == .connectionRefused)
        #expect(bench.relay.socksAuthenticationFailures == 1 && bench.relay.flowCount == 0)
    }

    @Test("a proxy nobody answers for: every attempt refused with an RST, each counted")
    func proxyUnreachable() throws {
        var config = TunnelRelayConfig()
        config.socks5 = Socks5Proxy(endpoint: Endpoint(IPv4Address(127, 0, 0, 1), closedPort()))
        let bench = try RelayBench(config)
        let first = try bench.connect(port: 80), second = try bench.connect(port: 81)
        bench.run {
            [first, second].allSatisfy { (try? bench.client.poll($0))?.contains(.error) ?? false }
        }
        #expect(try bench.client.takeError(first) == .connectionRefused)
        #expect(try bench.client.takeError(second) == .connectionRefused)
        #expect(bench.relay.socksProxyFailures == 2 && bench.relay.flowCount == 0)
    }

    @Test("UDP ASSOCIATE: datagrams go to BND with the request header; fragments and foreign sources are dropped; the association ends with its TCP connection")
    func udpAssociation() throws {
        let relay = udpSocket(), stranger = udpSocket()
        defer {
            close(relay.fd)
            close(stranger.fd)
        }
        let proxy = ScriptedProxy(reply: [5, 0, 0, 1, 127, 0, 0, 1, UInt8(relay.port >> 8), UInt8(relay.port & 0xFF)])
        let bench = try bench(through: proxy)
        let destination = Endpoint(IPv4Address(203, 0, 113, 53), 53)
        let socket = bench.client.udpOpen()
        try bench.client.udpSend(socket, Array("question".utf8), to: destination, now: bench.now)
        var request: (bytes: [UInt8], port: UInt16)?
        bench.run { proxy.step(); request = request ?? udpReceive(relay.fd); return request != nil }
        #expect(proxy.messages.last == [5, 3, 0, 1, 0, 0, 0, 0, 0, 0], "UDP ASSOCIATE for 0.0.0.0:0")
        let sent = try #require(request)
        #expect(sent.bytes == [0, 0, 0, 1, 203, 0, 113, 53, 0, 53] + Array("question".utf8))

        let header: [UInt8] = [0, 0, 0, 1, 203, 0, 113, 53, 0, 53]
        udpSend(relay.fd, [0, 0, 1] + header[3...] + Array("fragment".utf8), to: sent.port)
        udpSend(stranger.fd, header + Array("stranger".utf8), to: sent.port)
        udpSend(relay.fd, [0, 0, 0, 1, 203, 0, 113, 54, 0, 53] + Array("elsewhere".utf8), to: sent.port)
        udpSend(relay.fd, header + Array("answer".utf8), to: sent.port)
        var reply: UDPDatagram?
        bench.run { reply = reply ?? bench.client.udpReceive(socket); return reply != nil }
        let datagram = try #require(reply)
        #expect(datagram.payload == Array("answer".utf8) && datagram.source == destination)
        #expect(bench.relay.socksFragmentsDropped == 1 && bench.relay.socksForeignDatagramsDropped == 2)
        #expect(bench.relay.udpRelayed == 1 && bench.relay.flowCount == 1)

        close(try #require(proxy.connection))
        proxy.connection = nil
        bench.run { bench.relay.flowCount == 0 }
        #expect(bench.relay.flowCount == 0, "the proxy closed the association's TCP connection: the flow is gone")
    }
}
