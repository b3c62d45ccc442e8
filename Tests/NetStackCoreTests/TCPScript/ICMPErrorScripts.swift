// ICMP errors about TCP segments (RFC 1122 §4.2.3.9, RFC 5927): believed only
// when the quoted segment's sequence number is data we have outstanding, so a
// blind attacker who only knows the 4-tuple cannot abort a connection.

@testable import NetStackCore
import NetStackWire
import Testing

/// An ICMP destination unreachable from the peer, quoting a TCP segment of ours with sequence number `seq`.
private func unreachable(code: UInt8, quoting seq: UInt32, localPort: UInt16, peerPort: UInt16,
                         mtu: UInt16 = 0) -> [UInt8] {
    var quote = [UInt8](repeating: 0, count: 28)
    let quoted = IPv4Header(source: TCPScript.localIP, destination: TCPScript.peerIP, protocol: .tcp, payloadLength: 20)
    quote.withUnsafeMutableBytes { quoted.emit(into: $0) }
    quote[20] = UInt8(localPort >> 8); quote[21] = UInt8(localPort & 0xFF)
    quote[22] = UInt8(peerPort >> 8); quote[23] = UInt8(peerPort & 0xFF)
    for i in 0..<4 { quote[24 + i] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(i))) }
    var icmp = [UInt8](repeating: 0, count: 8) + quote
    icmp.withUnsafeMutableBytes { ICMPv4Header(.destinationUnreachable(code: code, nextHopMTU: mtu)).emit(into: $0) }
    var ip = [UInt8](repeating: 0, count: 20) + icmp
    let header = IPv4Header(source: TCPScript.peerIP, destination: TCPScript.localIP, protocol: .icmp, payloadLength: icmp.count)
    ip.withUnsafeMutableBytes { header.emit(into: $0) }
    var frame = [UInt8](repeating: 0, count: 14) + ip
    frame.withUnsafeMutableBytes {
        EthernetHeader(destination: TCPScript.localMAC, source: TCPScript.peerMAC, etherType: .ipv4).emit(into: $0)
    }
    return frame
}

@Suite("TCP scripts: ICMP errors")
struct ICMPErrorScripts {
    @Test("a port unreachable quoting our SYN ends the connection attempt with ECONNREFUSED")
    func genuineErrorRefuses() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: nil))
        let flow = s.flow()
        let frame = unreachable(code: 3, quoting: flow.stackISN ?? 0, localPort: flow.localPort, peerPort: s.peerPort)
        s.app(at: 0.2, "ICMP port unreachable (genuine)") { host, now in
            host.receive(frame, on: TCPScript.interface, now: now)
            host.poll(now: now)
        }
        s.expectNothing(until: 5)
        s.expectState(fd, .closed)
        s.expectError(fd, .connectionRefused)
    }

    @Test("a forged port unreachable quoting a sequence number we never sent is ignored (RFC 5927 §4.1)")
    func forgedErrorIgnored() {
        let s = TCPScript()
        let fd = s.connect(at: 0.1)
        s.expect(at: 0.1, .syn(seq: 0, win: 65535, options: nil))
        let flow = s.flow()
        let frame = unreachable(code: 3, quoting: (flow.stackISN ?? 0) &+ 100_000, localPort: flow.localPort,
                                peerPort: s.peerPort)
        s.app(at: 0.2, "ICMP port unreachable (forged)") { host, now in
            host.receive(frame, on: TCPScript.interface, now: now)
            host.poll(now: now)
        }
        s.expect(at: 1.1, .syn(seq: 0, win: 65535, options: nil))
        s.expectState(fd, .synSent)
    }

    @Test("after a path MTU drop a segment lost again is resent in pieces of the new MSS, not whole (RFC 1191)")
    func lostRecordSplitAfterMTUDrop() throws {
        let s = lossRecoveryScript()
        let fd = s.establishPassive(.sack)
        s.send(at: 1.0, fd, 30 * 1460)
        for k in 0..<10 { s.expect(at: 1.0, .data(seq: 1 + 1460 * k, ack: 1, len: 1460, win: 65535, flags: ".")) }
        // The path's MTU fell to 1280 under segments 1–5: MSS 1240 from here on.
        let flow = s.flow()
        let frame = unreachable(code: 4, quoting: (flow.stackISN ?? 0) &+ 1, localPort: flow.localPort,
                                peerPort: s.peerPort, mtu: 1280)
        s.app(at: 1.05, "ICMP fragmentation needed, MTU 1280") { host, now in
            host.receive(frame, on: TCPScript.interface, now: now)
            host.poll(now: now)
        }
        let c = try #require(s.host.tcp.connections.values.first)
        #expect(c.sendMSS == 1240)
        // 6–10 got through; 1–5 are lost and resent, 1240 bytes at most each.
        s.inject(at: 1.1, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(7301, 14_601)])]))
        var sent = s.takeSent(until: 1.1)
        // The resent segment 5 is SACKed a round trip later: RACK finds the resends of 1–4, sent
        // before it, lost too (RFC 8985 §6.2), and they go a third time, as the records the queue
        // holds now: split to the new MSS.
        s.inject(at: 1.25, .ack(seq: 1, ack: 1, win: 65535, options: [.nop, .nop, .sack([(5841, 14_601)])]))
        sent += s.takeSent(until: 1.25)
        #expect(sent.filter { s.relativeSeq($0) == 1 }.count == 2, "segment 1 resent twice")
        #expect(sent.allSatisfy { $0.payload.count <= 1240 },
                "\(sent.filter { $0.payload.count > 1240 }.map { s.relativeSeq($0) })")
    }
}
