import Testing
import NetStackCore
import NetStackSimulator

@Suite("ConnectionPair: many connections between two hosts back to back")
struct ConnectionPairTests {
    @Test("open gives joined, established ends; close leaves the client ends in TIME_WAIT and nothing on the server")
    func openAndClose() throws {
        let pair = ConnectionPair(connections: 1500)
        let (clients, servers) = try pair.open(1500)  // two batches
        #expect(clients.count == 1500 && servers.count == 1500)
        pair.idle(for: .seconds(5))
        let established = pair.client.tcpConnectionInfo().filter { $0.state == .established }
        #expect(established.count == 1500)
        #expect(pair.server.tcpConnectionInfo().filter { $0.state == .established }.count == 1500)
        try pair.close(clients: clients, servers: servers)
        #expect(pair.clientTimeWaitCount == 1500)
        #expect(pair.server.tcpConnectionInfo().isEmpty)
    }

    @Test("a cycle waits out TIME_WAIT, so the pair ends as it began and can cycle again")
    func cycleReapsTimeWait() throws {
        let pair = ConnectionPair(connections: 1000)
        try pair.cycle(1200)
        #expect(pair.clientTimeWaitCount == 0)
        #expect(pair.client.tcpConnectionInfo().isEmpty && pair.server.tcpConnectionInfo().isEmpty)
        try pair.cycle(1000)
        #expect(pair.clientTimeWaitCount == 0)
        #expect(pair.now > .zero + .seconds(3 * 60))  // three batches, each past 2 × MSL
    }
}
