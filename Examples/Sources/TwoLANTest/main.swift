// A deterministic test of an application on a simulated network: a client on
// LAN A asks a server on LAN B (through a router, a hub and a switch) to
// upper-case a line. No device, no root, no real time: the network runs in
// virtual time from a seed, so the outcome is the same on every run and machine.
// (The tasks run on Swift's thread pool between the simulator's events, so the
// virtual instant of a step may differ by a few microseconds between runs.)
import Glibc
import NetStackCore
import NetStackWire
import NetStackSimulator

/// The application under test: reads one line, answers it upper-cased.
func shout(_ listener: TCPListener) async throws {
    let stream = try await listener.accept()
    var line: [UInt8] = []
    for try await bytes in stream.inbound {
        line += bytes
        if line.last == UInt8(ascii: "\n") { break }
    }
    try await stream.write(Array(String(decoding: line, as: UTF8.self).uppercased().utf8))
    await stream.close()
}

/// One run on a fresh network built from `seed`: the reply and the virtual time it arrived.
func run(seed: UInt64) async throws -> (reply: String, at: Instant) {
    let network = AsyncNetwork { let net = TwoLANNetwork(seed: seed); return (net.simulator, net.hosts) }
    let client = network.stack(0), server = network.stack(3)  // client on LAN A, server on LAN B
    let listener = try await server.listen(port: 7000)
    async let served: Void = shout(listener)
    let stream = try await client.connect(to: Endpoint(TwoLANNetwork.serverAddress, 7000))
    try await stream.write(Array("hello, two LANs\n".utf8))
    var reply: [UInt8] = []
    for try await bytes in stream.inbound { reply += bytes }
    let answered = await network.now
    await stream.close()
    try await served
    await listener.close()
    return (String(decoding: reply, as: UTF8.self), answered)
}

let first = try await run(seed: 42), second = try await run(seed: 42)
guard first.reply == "HELLO, TWO LANS\n", first.reply == second.reply, first.at < .seconds(1) else {
    print("FAIL: \(first) vs \(second)")
    exit(1)
}
print("ok: \(first.reply.dropLast()), both runs, after \(first.at) of virtual time")
