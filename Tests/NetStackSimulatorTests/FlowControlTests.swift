import Testing
import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackTestSupport

@Suite("TCP flow control in the simulator")
struct FlowControlTests {
    @Test("a slow reader closes the window; the sender probes it and nothing is lost")
    func slowReader() throws {
        let simulator = Simulator(seed: 11)
        func seeded(_ name: String, _ seed: UInt64) -> HostNode {
            var config = HostConfig(name: name)
            config.randomSeed = seed  // reproducible ISNs and ports, like the simulator's links
            return HostNode(Host(config))
        }
        let sender = seeded("sender", 1), reader = seeded("reader", 2)
        sender.host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 1)))
        reader.host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 0, 2)))
        simulator.connect(sender, 0, reader, 0, config: LinkConfig(bitsPerSecond: 100_000_000,
                                                                     propagationDelay: .milliseconds(1), fcs: true))
        sender.host.assign(IPv4Address(192, 0, 2, 1), prefixLength: 24, to: InterfaceID(0), now: .zero)
        reader.host.assign(IPv4Address(192, 0, 2, 2), prefixLength: 24, to: InterfaceID(0), now: .zero)

        let listener = reader.host.socket(.stream)
        try reader.host.setOption(listener, .receiveBuffer(8192))
        try reader.host.bind(listener, to: Endpoint(.any, 9))
        try reader.host.listen(listener, backlog: 1)
        var stream = ByteStream(seed: 5)
        var data = [UInt8](repeating: 0, count: 40_000)
        data.withUnsafeMutableBytes { stream.fill($0) }
        var received: [UInt8] = []
        var readerFD: Int32?
        var nextRead = Instant.zero
        reader.applications.append { host, now in
            if readerFD == nil, let (fd, _) = try? host.accept(listener) { readerFD = fd }
            guard let fd = readerFD, now >= nextRead else { return }
            // The slow application: 1000 bytes every 400 ms, slower than the retransmission timeout.
            var chunk = [UInt8](repeating: 0, count: 1000)
            if let n = chunk.withUnsafeMutableBytes({ try? host.recv(fd, into: $0, now: now) }), n > 0 {
                received += chunk[0..<n]
            }
            nextRead = now + .milliseconds(400)
            reader.wakeups.append(nextRead)
        }
        let client = sender.host.socket(.stream)
        var sent = 0
        sender.applications.append { host, now in
            while sent < data.count, let n = data.withUnsafeBytes({ bytes in
                try? host.send(client, UnsafeRawBufferPointer(rebasing: bytes[sent...]), now: now)
            }), n > 0 {
                sent += n
            }
        }
        try sender.host.connect(client, to: Endpoint(IPv4Address(192, 0, 2, 2), 9), now: .zero)
        simulator.kick(sender)
        simulator.run(for: .seconds(8))
        let info = sender.host.tcpConnectionInfo().first
        #expect((info?.windowProbes ?? 0) > 0, "the sender probed the zero window")
        #expect(received.count > 10_000)
        #expect(received == Array(data[0..<received.count]), "what arrived is the exact prefix that was sent")
        simulator.run(for: .seconds(30))
        #expect(received == data, "and in the end everything arrived")
    }

    @Test("64 hosts on one switch, each connected to every other host's neighbour, all transfers complete")
    func sixtyFourHosts() throws {
        let simulator = Simulator(seed: 64)
        let count = 64
        let switch_ = LearningSwitch(name: "switch", portCount: count, fcs: true)
        var nodes: [HostNode] = []
        for i in 0..<count {
            var config = HostConfig(name: "h\(i)")
            config.randomSeed = UInt64(i)
            let node = HostNode(Host(config))
            node.host.addInterface(AdapterConfig(name: "eth0", mac: MACAddress(2, 0, 0, 0, 1, UInt8(i))))
            simulator.connect(node, 0, switch_, i, config: LinkConfig(bitsPerSecond: 1_000_000_000,
                                                                      propagationDelay: .microseconds(50),
                                                                      loss: 0.01, fcs: true))
            node.host.assign(IPv4Address(198, 51, 100, UInt8(i + 1)), prefixLength: 24, to: InterfaceID(0), now: .zero)
            nodes.append(node)
        }
        let payload = 20_000
        var done = 0
        for (i, node) in nodes.enumerated() {
            // Every host listens, and opens 3 connections to the next hosts around the ring.
            let listener = node.host.socket(.stream)
            try node.host.bind(listener, to: Endpoint(.any, 7000))
            try node.host.listen(listener, backlog: 16)
            var accepted: [Int32: Int] = [:]
            var outgoing: [(fd: Int32, sent: Int)] = []
            for k in 1...3 {
                let fd = node.host.socket(.stream)
                try node.host.connect(fd, to: Endpoint(IPv4Address(198, 51, 100, UInt8((i + k) % count + 1)), 7000),
                                      now: .zero)
                outgoing.append((fd, 0))
            }
            node.applications.append { host, now in
                while let (fd, _) = try? host.accept(listener) { accepted[fd] = 0 }
                for index in outgoing.indices where outgoing[index].sent < payload {
                    let fd = outgoing[index].fd
                    guard (try? host.state(fd)) == .established else { continue }
                    let chunk = [UInt8](repeating: UInt8(i), count: payload - outgoing[index].sent)
                    if let n = chunk.withUnsafeBytes({ try? host.send(fd, $0, now: now) }) { outgoing[index].sent += n }
                    if outgoing[index].sent == payload { try? host.close(fd, now: now) }
                }
                var buffer = [UInt8](repeating: 0, count: 8192)
                for (fd, total) in accepted where total >= 0 {
                    var sum = total
                    while let n = buffer.withUnsafeMutableBytes({ try? host.recv(fd, into: $0, now: now) }) {
                        if n == 0 {
                            if sum == payload { done += 1 }
                            sum = -1
                            try? host.close(fd, now: now)
                            break
                        }
                        sum += n
                    }
                    accepted[fd] = sum
                }
            }
            simulator.kick(node)
        }
        simulator.run(for: .seconds(60))
        #expect(done == count * 3)
    }
}
