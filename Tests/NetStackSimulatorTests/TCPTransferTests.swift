import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator

/// A bulk transfer from the client to a server that reads everything, over the two-LAN network.
final class BulkTransfer {
    let net: TwoLANNetwork
    let data: [UInt8]
    var received: [UInt8] = []
    var sent = 0
    var serverFD: Int32?
    var clientFD: Int32 = -1
    var clientClosed = false
    var serverSawEOF = false

    init(net: TwoLANNetwork, bytes: Int, seed: UInt64 = 1) throws {
        self.net = net
        var rng = SeededRandom(seed: seed)
        data = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let server = net.server.host
        let listener = server.socket(.stream)
        try server.bind(listener, to: Endpoint(.any, 80))
        try server.listen(listener, backlog: 8)
        var buffer = [UInt8](repeating: 0, count: 65536)
        net.server.applications.append { [unowned self] host, now in
            if serverFD == nil, let (fd, _) = try? host.accept(listener) { serverFD = fd }
            guard let fd = serverFD, !serverSawEOF else { return }
            while true {
                let n = buffer.withUnsafeMutableBytes { try? host.recv(fd, into: $0, now: now) }
                guard let n else { break }
                if n == 0 {
                    serverSawEOF = true
                    try? host.close(fd, now: now)
                    break
                }
                received += buffer[0..<n]
            }
        }
        let client = net.client.host
        clientFD = client.socket(.stream)
        net.client.applications.append { [unowned self] host, now in
            guard (try? host.state(clientFD)) == .established || (try? host.state(clientFD)) == .closeWait else { return }
            while sent < data.count {
                let n = data.withUnsafeBytes { bytes in
                    try? host.send(clientFD, UnsafeRawBufferPointer(rebasing: bytes[sent...]), now: now)
                }
                guard let n, n > 0 else { break }
                sent += n
            }
            if sent == data.count && !clientClosed {
                clientClosed = true
                try? host.close(clientFD, now: now)
            }
        }
        try client.connect(clientFD, to: Endpoint(TwoLANNetwork.serverAddress, 80), now: net.simulator.now)
        net.simulator.kick(net.client)
    }
}

@Suite("TCP over the simulated network")
struct TCPTransferTests {
    @Test("100 kB cross the router intact and the closer ends in TIME_WAIT")
    func transfer() throws {
        let net = TwoLANNetwork(seed: 3)
        let transfer = try BulkTransfer(net: net, bytes: 100_000)
        net.simulator.run(for: .seconds(5))
        #expect(transfer.received.count == transfer.data.count)
        #expect(transfer.received == transfer.data)
        #expect(transfer.serverSawEOF)
        print(net.client.host.netstat(verbose: true))
        print(net.server.host.netstat(verbose: true))
    }
}
