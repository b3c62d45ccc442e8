// SOCKS5 (RFC 1928) and its username/password authentication (RFC 1929): the
// messages against the RFCs' byte layouts, how a proxy's reply becomes a
// refusal, and a negotiation driven over a socket pair with the test as the proxy.

import Glibc
import NetStackCore
@testable import NetStackRuntime
import NetStackWire
import Testing

@Suite("SOCKS5 messages, byte for byte")
struct Socks5CodecTests {
    @Test("the greeting offers no authentication (X'00'), and username/password (X'02') only with credentials")
    func greeting() {
        // RFC 1928 §3: VER | NMETHODS | METHODS.
        #expect(Socks5.greeting(offeringUserPassword: false) == [0x05, 0x01, 0x00])
        #expect(Socks5.greeting(offeringUserPassword: true) == [0x05, 0x02, 0x00, 0x02])
    }

    @Test("the method selection is VER X'05' and METHOD; another version is malformed")
    func methodSelection() {
        #expect(Socks5.selectedMethod([0x05, 0x00]) == 0x00)
        #expect(Socks5.selectedMethod([0x05, 0x02]) == 0x02)
        #expect(Socks5.selectedMethod([0x05, 0xFF]) == 0xFF)
        #expect(Socks5.selectedMethod([0x04, 0x00]) == nil)
        #expect(Socks5.selectedMethod([0x05]) == nil)
    }

    @Test("username/password is VER X'01' ULEN UNAME PLEN PASSWD; STATUS X'00' is success")
    func userPassword() throws {
        let credentials = try #require(Socks5Credentials(user: "bob", password: "secret"))
        #expect(Socks5.userPasswordRequest(credentials)
                    == [0x01, 0x03, 0x62, 0x6F, 0x62, 0x06, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74])
        #expect(Socks5.authenticationSucceeded([0x01, 0x00]) == true)
        #expect(Socks5.authenticationSucceeded([0x01, 0x01]) == false)
        #expect(Socks5.authenticationSucceeded([0x02, 0x00]) == nil)
    }

    @Test("credentials are 1 to 255 bytes each (ULEN and PLEN are one octet)")
    func credentialLengths() {
        #expect(Socks5Credentials(user: "", password: "p") == nil)
        #expect(Socks5Credentials(user: "u", password: "") == nil)
        #expect(Socks5Credentials(user: String(repeating: "u", count: 255), password: String(repeating: "p", count: 255)) != nil)
        #expect(Socks5Credentials(user: "u", password: String(repeating: "p", count: 256)) == nil)
    }

    @Test("a request is VER CMD RSV ATYP DST.ADDR DST.PORT, the address and port in network order")
    func requests() {
        #expect(Socks5.request(.connect, .ipv4(IPv4Address(192, 0, 2, 7)), port: 80)
                    == [0x05, 0x01, 0x00, 0x01, 0xC0, 0x00, 0x02, 0x07, 0x00, 0x50])
        #expect(Socks5.request(.udpAssociate, .ipv4(.any), port: 0)
                    == [0x05, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
    }

    @Test("a reply's length follows its ATYP: 10 for IPv4, 22 for IPv6, 7 plus the length octet for a domain")
    func replyLength() {
        #expect(Socks5.replyLength([]) == 4)
        #expect(Socks5.replyLength([0x05, 0x00]) == 4)
        #expect(Socks5.replyLength([0x05, 0x00, 0x00, 0x01]) == 10)
        #expect(Socks5.replyLength([0x05, 0x00, 0x00, 0x04]) == 22)
        #expect(Socks5.replyLength([0x05, 0x00, 0x00, 0x03]) == 5)
        #expect(Socks5.replyLength([0x05, 0x00, 0x00, 0x03, 0x0B]) == 18)
        #expect(Socks5.replyLength([0x04, 0x00, 0x00, 0x01]) == nil, "not SOCKS5")
        #expect(Socks5.replyLength([0x05, 0x00, 0x00, 0x09]) == nil, "no such ATYP")
    }

    @Test("a reply gives REP and, for an IPv4 BND.ADDR, the bound endpoint")
    func replies() {
        let success = Socks5.reply([0x05, 0x00, 0x00, 0x01, 0xCB, 0x00, 0x71, 0x01, 0x04, 0x38])
        #expect(success == Socks5Reply(code: .succeeded, bound: Endpoint(IPv4Address(203, 0, 113, 1), 1080)))
        let refused = Socks5.reply([0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(refused?.code == .connectionRefused)
        let domain = Socks5.reply([0x05, 0x00, 0x00, 0x03, 0x01, 0x61, 0x00, 0x50])
        #expect(domain == Socks5Reply(code: .succeeded, bound: nil), "a one-byte domain is well formed (RFC 1928 §5)")
        let longDomain = Socks5.reply([0x05, 0x00, 0x00, 0x03, 0x03] + Array("abc".utf8) + [0x00, 0x50])
        #expect(longDomain == Socks5Reply(code: .succeeded, bound: nil), "a domain BND.ADDR is not an endpoint")
        #expect(Socks5.reply([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0]) == nil, "one byte short")
    }

    @Test("the UDP request header is RSV X'0000' FRAG ATYP DST.ADDR DST.PORT")
    func udpHeader() {
        var buffer = [UInt8](repeating: 0xEE, count: 16)
        let length = buffer.withUnsafeMutableBytes {
            Socks5.writeUDPHeader(.ipv4(IPv4Address(198, 51, 100, 53)), port: 53, into: $0)
        }
        #expect(length == 10)
        #expect(Array(buffer[0..<10]) == [0x00, 0x00, 0x00, 0x01, 0xC6, 0x33, 0x64, 0x35, 0x00, 0x35])

        let reply: [UInt8] = [0x00, 0x00, 0x00, 0x01, 0xC6, 0x33, 0x64, 0x35, 0x00, 0x35, 0xAA]
        let parsed = reply.withUnsafeBytes { Socks5.udpHeader($0) }
        #expect(parsed == Socks5UDPHeader(fragment: 0, address: Endpoint(IPv4Address(198, 51, 100, 53), 53), length: 10))
        let fragment: [UInt8] = [0x00, 0x00, 0x01, 0x01, 0xC6, 0x33, 0x64, 0x35, 0x00, 0x35]
        #expect(fragment.withUnsafeBytes { Socks5.udpHeader($0) }?.fragment == 1)
        let short: [UInt8] = [0x00, 0x00, 0x00, 0x01, 0xC6, 0x33]
        #expect(short.withUnsafeBytes { Socks5.udpHeader($0) } == nil)
        let unknown: [UInt8] = [0x00, 0x00, 0x00, 0x07, 0xC6, 0x33, 0x64, 0x35, 0x00, 0x35]
        #expect(unknown.withUnsafeBytes { Socks5.udpHeader($0) } == nil)
    }
}

@Suite("SOCKS5 reply codes as refusals")
struct Socks5RefusalTests {
    @Test("connection refused (X'05') is an RST; network, host unreachable and TTL expired are ICMP; the rest RST",
          arguments: [(UInt8(5), FlowRefusal.reset), (3, .networkUnreachable), (4, .hostUnreachable), (6, .hostUnreachable),
                      (1, .reset), (2, .reset), (7, .reset), (8, .reset), (0x42, .reset)])
    func replyCodeRefusal(code: UInt8, refusal: FlowRefusal) {
        #expect(Socks5ReplyCode(rawValue: code).refusal == refusal)
        #expect(Socks5Failure.replied(Socks5ReplyCode(rawValue: code)).refusal == refusal)
    }

    @Test("a proxy that cannot be reached, rejects the credentials or breaks the protocol: an RST")
    func proxyFailures() {
        #expect(Socks5Failure.proxyUnreachable(KernelSocketError(ECONNREFUSED)).refusal == .reset)
        #expect(Socks5Failure.authenticationRejected.refusal == .reset)
        #expect(Socks5Failure.protocolError.refusal == .reset)
    }
}

/// A negotiation on one end of a Unix socket pair; the test writes and reads the proxy's end.
private final class NegotiationPair {
    let client: Int32, proxy: Int32
    let negotiation: Socks5Negotiation

    init(command: Socks5Command = .connect, destination: Socks5Address = .ipv4(IPv4Address(192, 0, 2, 7)), port: UInt16 = 80,
         credentials: Socks5Credentials? = nil) {
        var fds: [Int32] = [0, 0]
        _ = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
        client = fds[0]
        proxy = fds[1]
        negotiation = Socks5Negotiation(socket: KernelSocket(fd: client), command: command,
                                        destination: destination, port: port, credentials: credentials)
    }

    deinit {
        close(client)
        close(proxy)
    }

    func proxyReads() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { recv(proxy, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[0..<count]) : []
    }

    func proxyWrites(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { send(proxy, $0.baseAddress, $0.count, 0) } }
}

@Suite("SOCKS5 negotiation without blocking")
struct Socks5NegotiationTests {
    @Test("CONNECT without authentication: greeting, request, a reply in pieces; bytes after the reply stay unread")
    func connectInPieces() {
        let pair = NegotiationPair()
        #expect(pair.negotiation.advance([.writable]) == .waiting(.readable))
        #expect(pair.proxyReads() == [0x05, 0x01, 0x00])
        pair.proxyWrites([0x05])
        #expect(pair.negotiation.advance([.readable]) == .waiting(.readable), "half a method selection")
        pair.proxyWrites([0x00])
        #expect(pair.negotiation.advance([.readable]) == .waiting(.readable))
        #expect(pair.proxyReads() == [0x05, 0x01, 0x00, 0x01, 0xC0, 0x00, 0x02, 0x07, 0x00, 0x50])
        pair.proxyWrites([0x05, 0x00, 0x00])
        #expect(pair.negotiation.advance([.readable]) == .waiting(.readable))
        // The rest of the reply and the destination's first bytes in one segment.
        pair.proxyWrites([0x01, 0xCB, 0x00, 0x71, 0x01, 0x04, 0x38] + Array("220 ready".utf8))
        #expect(pair.negotiation.advance([.readable]) == .succeeded(bound: Endpoint(IPv4Address(203, 0, 113, 1), 1080)))
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(pair.client, $0.baseAddress, $0.count, 0) }
        #expect(count > 0 && Array(buffer[0..<count]) == Array("220 ready".utf8), "the stream's bytes are left for the relay")
    }

    @Test("username/password: the credentials go after the proxy selects X'02'; a STATUS other than 0 is a rejection")
    func authenticationRejected() throws {
        let credentials = try #require(Socks5Credentials(user: "bob", password: "secret"))
        let pair = NegotiationPair(credentials: credentials)
        _ = pair.negotiation.advance([.writable])
        #expect(pair.proxyReads() == [0x05, 0x02, 0x00, 0x02])
        pair.proxyWrites([0x05, 0x02])
        #expect(pair.negotiation.advance([.readable]) == .waiting(.readable))
        #expect(pair.proxyReads() == [0x01, 0x03, 0x62, 0x6F, 0x62, 0x06, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74])
        pair.proxyWrites([0x01, 0x01])
        #expect(pair.negotiation.advance([.readable]) == .failed(.authenticationRejected))
    }

    @Test("no acceptable method (X'FF') is a rejection; a refused CONNECT reports its REP; a close is a protocol error")
    func failures() {
        let noMethod = NegotiationPair()
        _ = noMethod.negotiation.advance([.writable])
        noMethod.proxyWrites([0x05, 0xFF])
        #expect(noMethod.negotiation.advance([.readable]) == .failed(.authenticationRejected))

        let refused = NegotiationPair()
        _ = refused.negotiation.advance([.writable])
        refused.proxyWrites([0x05, 0x00, 0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(refused.negotiation.advance([.readable]) == .failed(.replied(.connectionRefused)))

        let closed = NegotiationPair()
        _ = closed.negotiation.advance([.writable])
        shutdown(closed.proxy, Int32(SHUT_WR))
        #expect(closed.negotiation.advance([.readable]) == .failed(.protocolError))
    }

    @Test("UDP ASSOCIATE for a source not yet known (0.0.0.0:0) yields the relay's BND address")
    func udpAssociate() {
        let pair = NegotiationPair(command: .udpAssociate, destination: .ipv4(.any), port: 0)
        _ = pair.negotiation.advance([.writable])
        _ = pair.proxyReads()
        pair.proxyWrites([0x05, 0x00])
        _ = pair.negotiation.advance([.readable])
        #expect(pair.proxyReads() == [0x05, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        pair.proxyWrites([0x05, 0x00, 0x00, 0x01, 0xCB, 0x00, 0x71, 0x01, 0x9C, 0x40])
        #expect(pair.negotiation.advance([.readable]) == .succeeded(bound: Endpoint(IPv4Address(203, 0, 113, 1), 40000)))
    }
}
