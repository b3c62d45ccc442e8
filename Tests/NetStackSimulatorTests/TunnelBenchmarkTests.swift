import Testing
import NetStackCore
import NetStackWire
import NetStackSimulator

@Suite("TunnelBenchmark: intercepted flows through a simulated TUN")
struct TunnelBenchmarkTests {
    @Test("open gives joined, established ends; the tunnel's end is the foreign destination the client dialled")
    func openJoinsEachClientToItsInterceptedFlow() throws {
        let bench = TunnelBenchmark()
        let (clients, flows) = try bench.open(1200)  // two batches
        #expect(clients.count == 1200 && flows.count == 1200)
        for i in [0, 1, 999, 1000, 1199] {
            let client = try bench.client.endpoints(clients[i]), flow = try bench.tunnel.endpoints(flows[i])
            #expect(client.remote == flow.local && client.local == flow.remote, "flow \(i) joins its own client")
            #expect(flow.local?.address != .v4(IPv4Address(192, 0, 2, 2)), "the tunnel answers as the destination, not itself")
        }
        #expect(bench.client.tcpConnectionInfo().filter { $0.state == .established }.count == 1200)
        #expect(bench.tunnel.tcpConnectionInfo().filter { $0.state == .established }.count == 1200)
        #expect(bench.tunnel.statistics.tcpFlowsOffered == 1200)
    }

    @Test("a transfer each way delivers every byte of every flow", arguments: TunnelDirection.allCases)
    func transferDeliversEverything(_ direction: TunnelDirection) throws {
        let bench = TunnelBenchmark()
        let pairs = try bench.open(3)
        let result = bench.transfer(direction, over: pairs, bytesPerFlow: 300_000)
        #expect(result.complete && result.bytes == 900_000)
        #expect(result.segments > 900_000 / 1460)
    }

    @Test("replacing the client leaves the tunnel's connections as they were and the new client empty")
    func replaceClientKeepsTheTunnelSide() throws {
        let bench = TunnelBenchmark()
        _ = try bench.open(10)
        bench.replaceClient()
        #expect(bench.client.tcpConnectionInfo().isEmpty)
        #expect(bench.tunnel.tcpConnectionInfo().filter { $0.state == .established }.count == 10)
    }

    @Test("a cycle closes every flow and waits out TIME_WAIT, so nothing is left on either host")
    func cycleLeavesNothing() throws {
        let bench = TunnelBenchmark()
        try bench.cycle(1500)
        #expect(bench.client.tcpConnectionInfo().isEmpty && bench.tunnel.tcpConnectionInfo().isEmpty)
        #expect(bench.tunnel.statistics.tcpFlowsOffered == 1500)
    }
}
