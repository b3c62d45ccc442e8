import Testing
import NetStackDevices
import NetStackServices

/// Feeds `text` to a fresh response parser in pieces of `split` bytes (cycling),
/// then signals end of stream when `eof`. Returns the parser, the body, and the error if one was thrown.
func parseResponse(_ text: [UInt8], split: [Int] = [Int.max], eof: Bool = true)
    -> (parser: HTTPResponseParser, body: [UInt8], error: HTTPError?) {
    var parser = HTTPResponseParser()
    var body: [UInt8] = []
    var offset = 0, piece = 0
    do throws(HTTPError) {
        while offset < text.count && !parser.isComplete {
            let end = min(text.count, offset + max(1, min(split[piece % split.count], text.count)))
            piece += 1
            let consumed = try text.withUnsafeBytes { bytes in
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
                return Result { () throws(HTTPError) in
                    try parser.feed(chunk) { body.append(contentsOf: $0) }
                }
            }.get()
            let offered = end - offset
            offset += consumed
            if consumed < offered { break }  // the response ended inside this piece
        }
        if eof { try parser.finish() }
        return (parser, body, nil)
    } catch {
        return (parser, body, error)
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("HTTP URLs")
struct HTTPURLTests {
    @Test("host, default port 80 and path with query; the fragment is dropped")
    func plain() throws {
        #expect(try HTTPURL.parse("http://Example.ORG/a/b?x=1#frag") == HTTPURL(host: "example.org", port: 80, path: "/a/b?x=1"))
        #expect(try HTTPURL.parse("HTTP://192.0.2.1:8080") == HTTPURL(host: "192.0.2.1", port: 8080, path: "/"))
        #expect(try HTTPURL.parse("http://h?q") == HTTPURL(host: "h", port: 80, path: "/?q"))
        #expect(try HTTPURL.parse("http://192.0.2.1:8080/x").hostHeader == "192.0.2.1:8080")
        #expect(try HTTPURL.parse("http://h:80/").hostHeader == "h")
        #expect(try HTTPURL.parse("http://192.0.2.7/").address?.description == "192.0.2.7")
        #expect(try HTTPURL.parse("http://www.example/").address == nil)
        #expect(try HTTPURL.parse("http://h/café").path == "/caf%C3%A9")
    }

    @Test("IPv6 literals in brackets (RFC 3986 §3.2.2): canonical host, port, Host header with brackets")
    func ipv6Literals() throws {
        let url = try HTTPURL.parse("http://[2001:DB8:0::1]:8000/path")
        #expect(url == HTTPURL(host: "2001:db8::1", port: 8000, path: "/path"))
        #expect(url.address?.description == "2001:db8::1")
        #expect(url.hostHeader == "[2001:db8::1]:8000")
        #expect(url.description == "http://[2001:db8::1]:8000/path")
        #expect(try HTTPURL.parse("http://[2001:db8::1]").hostHeader == "[2001:db8::1]")
        #expect(try HTTPURL.parse("http://[2001:db8::1]:/x?q").port == 80)
    }

    @Test("other schemes, missing hosts, bad ports, user info, malformed brackets and spaces are refused")
    func refused() {
        #expect(throws: HTTPError.unsupportedScheme("https")) { try HTTPURL.parse("https://example.org/") }
        for text in ["example.org/", "http:/x", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
                     "http://h:8x/", "http://u@h/", "http://[2001:db8::1/", "http://2001:db8::1]/", "http://[]/",
                     "http://[2001:db8::zz]/", "http://[2001:db8::1]x/", "http://[[2001:db8::1]]/", "http://h/a b", "http://h/\u{1}",
                     "http://999.1.1.1/", "http://h_o/", ""] {
            #expect(throws: HTTPError.self, "\(text)") { try HTTPURL.parse(text) }
        }
    }
}

@Suite("HTTP request heads")
struct HTTPRequestParserTests {
    func parse(_ text: String, parser: inout HTTPRequestParser) -> HTTPRequestParser.Outcome {
        Array(text.utf8).withUnsafeBytes { parser.parse($0) }
    }

    func parse(_ text: String) -> HTTPRequestParser.Outcome {
        var parser = HTTPRequestParser()
        return parse(text, parser: &parser)
    }

    @Test("a GET with fields; its length excludes what follows (a pipelined request)")
    func get() throws {
        let text = "GET /a%20b?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent:  x y \r\n\r\nGET / HTTP/1.1\r\n"
        guard case let .request(head, length) = parse(text) else { Issue.record("no request"); return }
        #expect(head.method == "GET" && head.target == "/a%20b?q=1" && head.version == .http11)
        #expect(head.field("user-agent") == "x y")
        #expect(head.keepAlive && head.contentLength == 0)
        #expect(length == text.utf8.count - "GET / HTTP/1.1\r\n".utf8.count)
    }

    @Test("byte by byte, the head is found once and only at its end")
    func byteByByte() {
        let text = Array("\r\nHEAD /x HTTP/1.0\nConnection: keep-alive\n\n".utf8)
        var parser = HTTPRequestParser()
        for end in 1...text.count {
            let outcome = text[0..<end].withUnsafeBytes { parser.parse($0) }
            if end < text.count {
                guard case .needMore = outcome else { Issue.record("early result at \(end)"); return }
            } else {
                guard case let .request(head, length) = outcome else { Issue.record("no request"); return }
                #expect(head.method == "HEAD" && head.version == .http10 && head.keepAlive && length == text.count)
            }
        }
    }

    @Test("persistence: 1.1 unless close, 1.0 only with keep-alive")
    func persistence() {
        func keepAlive(_ text: String) -> Bool? {
            if case let .request(head, _) = parse(text) { return head.keepAlive }
            return nil
        }
        #expect(keepAlive("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, CLOSE\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.0\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == true)
    }

    @Test("malformed heads get 400, unsupported versions 505, chunked bodies 501")
    func errors() {
        func status(_ text: String) -> Int? {
            if case let .failed(error) = parse(text) { return error.status }
            return nil
        }
        #expect(status("GET / HTTP/1.1\r\n\r\n") == 400, "1.1 without Host")
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400)
        #expect(status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400)
        #expect(status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == 400, "space before the colon")
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n") == 400, "obsolete line folding")
        #expect(status("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == 400, "bare CR")
        #expect(status("GET / HTTP/1.1\r\nHost: a\u{0}\r\n\r\n") == 400, "NUL in a value")
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n") == 400)
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400)
        #expect(status("\u{16}\u{3}\u{1}garbage\r\n\r\n") == 400)
        #expect(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505)
        #expect(status("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") == 501)
    }

    @Test("a head over the limit is refused with 431 without waiting for its end")
    func tooLarge() {
        var parser = HTTPRequestParser(maxHeadSize: 64)
        let text = "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 100)
        guard case let .failed(error) = parse(text, parser: &parser) else { Issue.record("not refused"); return }
        #expect(error == .headTooLarge && error.status == 431)
        var many = HTTPRequestParser(maxFields: 3)
        guard case .failed(.headTooLarge) = parse("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", parser: &many)
        else { Issue.record("too many fields accepted"); return }
    }
}

@Suite("HTTP request paths")
struct HTTPPathTests {
    @Test("percent-decoding, query removal and normalization")
    func normalize() throws {
        #expect(try HTTPPath.normalize("/") == "/")
        #expect(try HTTPPath.normalize("/a//b/./c/?x=../..") == "/a/b/c")
        #expect(try HTTPPath.normalize("/caf%C3%A9%20au%20lait.txt") == "/café au lait.txt")
        #expect(try HTTPPath.normalize("http://example.org/a?b") == "/a")
        #expect(try HTTPPath.normalize("http://example.org") == "/")
        #expect(try HTTPPath.normalize("/a%2Fb") == "/a/b")
    }

    @Test("every spelling of .. is refused, as are NUL and invalid UTF-8")
    func escapes() {
        for target in ["/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/%2E%2e%2fetc", "/a/..%2f..%2fb",
                       "/a%00.txt", "/%ff%fe", "/x/%2e%2e"] {
            #expect(throws: HTTPPath.Refusal.forbidden, "\(target)") { try HTTPPath.normalize(target) }
        }
        for target in ["*", "a/b", "/%", "/%4", "/%zz"] {
            #expect(throws: HTTPPath.Refusal.malformed, "\(target)") { try HTTPPath.normalize(target) }
        }
    }
}

@Suite("HTTP response parsing")
struct HTTPResponseParserTests {
    static let lengthResponse = bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world")
    static let chunkedResponse = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        + "5;name=value;x=\"q\"\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nTrailer-Field: x\r\n\r\n")

    @Test("Content-Length body, whole and split at every point and byte by byte")
    func contentLength() {
        let whole = parseResponse(Self.lengthResponse)
        #expect(whole.error == nil && whole.body == bytes("hello world"))
        #expect(whole.parser.head?.status == 200 && whole.parser.head?.reason == "OK")
        #expect(whole.parser.head?.field("content-type") == "text/plain" && whole.parser.framing == .length(11))
        for first in 1..<Self.lengthResponse.count {
            let split = parseResponse(Self.lengthResponse, split: [first, Self.lengthResponse.count])
            #expect(split.error == nil && split.body == bytes("hello world") && split.parser.isComplete)
        }
        #expect(parseResponse(Self.lengthResponse, split: [1]).body == bytes("hello world"))
        #expect(parseResponse(Self.lengthResponse, split: [3, 7, 2]).body == bytes("hello world"))
    }

    @Test("bytes after a complete response are not consumed")
    func trailingBytes() throws {
        var parser = HTTPResponseParser()
        let text = bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA")
        let consumed = try text.withUnsafeBytes { raw in
            Result { () throws(HTTPError) in try parser.feed(raw) { _ in } }
        }.get()
        #expect(consumed == text.count - 5 && parser.isComplete)
    }

    @Test("chunked body with extensions, whitespace and trailers, split byte by byte")
    func chunked() {
        let expected = bytes("hello 0123456789")
        for split in [[Int.max], [1], [2, 5], [13]] {
            let result = parseResponse(Self.chunkedResponse, split: split, eof: false)
            #expect(result.error == nil, "\(split)")
            #expect(result.body == expected && result.parser.isComplete && result.parser.framing == .chunked)
        }
    }

    @Test("malformed chunk sizes and chunk endings are rejected")
    func malformedChunks() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        for chunks in ["x\r\n", "\r\n", ";ext\r\n", "-5\r\n", "5 5\r\nhello\r\n", "5\r\nhelloXX", "1000000000000000\r\n",
                       "5\rX", "0x5\r\n"] {
            let result = parseResponse(bytes(head + chunks), split: [1], eof: false)
            #expect(result.error == .malformedChunk, "\(chunks)")
        }
    }

    @Test("framing: until close without a length; none for 204 and 304; 1xx skipped")
    func framing() {
        let untilClose = parseResponse(bytes("HTTP/1.0 200 OK\r\n\r\nall of it"), split: [4])
        #expect(untilClose.error == nil && untilClose.body == bytes("all of it") && untilClose.parser.isComplete)
        let noContent = parseResponse(bytes("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), eof: false)
        #expect(noContent.parser.isComplete && noContent.parser.framing == HTTPResponseParser.Framing.none)
        let interim = parseResponse(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
                                    split: [1], eof: false)
        #expect(interim.parser.head?.status == 200 && interim.body == bytes("ok"))
        let overridden = parseResponse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "2\r\nok\r\n0\r\n\r\n"), eof: false)
        #expect(overridden.error == nil && overridden.body == bytes("ok"))
        let sameLengths = parseResponse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"))
        #expect(sameLengths.error == nil && sameLengths.body == bytes("ok"))
    }

    @Test("an early close is an error: in the head, inside a Content-Length body, inside chunks")
    func earlyClose() {
        #expect(parseResponse(bytes("HTTP/1.1 200 OK\r\nContent-Le")).error == .connectionClosedEarly)
        #expect(parseResponse([]).error == .connectionClosedEarly)
        #expect(parseResponse(bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")).error
            == .bodyTooShort(expected: 10, received: 3))
        #expect(parseResponse(bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")).error
            == .bodyTooShort(expected: nil, received: 2))
    }

    @Test("malformed status lines and fields are rejected")
    func malformedHeads() {
        let cases: [(String, HTTPError)] = [
            ("HTTP/1.1 20 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 2000 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/2.0 200 OK\r\n\r\n", .malformedStatusLine),
            ("ICY 200 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 999 What\r\n\r\n", .badStatus(999)),
            ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", .malformedHeader),
            ("HTTP/1.1 200 OK\r\nX: a\u{0}b\r\n\r\n", .malformedHeader),
            ("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", .malformedHeader),
            ("HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", .malformedContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .malformedContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", .malformedContentLength),
        ]
        for (text, error) in cases {
            #expect(parseResponse(bytes(text), split: [1]).error == error, "\(text)")
        }
        #expect(parseResponse(bytes("HTTP/1.1 200 OK\r\nX: " + String(repeating: "y", count: 70_000))).error == .headTooLarge)
        #expect(parseResponse(bytes("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")).error == nil, "no reason phrase")
    }
}

@Suite("HTTP parsers on hostile input")
struct HTTPParserRobustnessTests {
    /// Mutations of valid messages (and pure noise), fed in random pieces: every
    /// outcome is a result or a typed error, never a crash or a runaway buffer.
    @Test("random and mutated input never crashes either parser")
    func randomInput() {
        var rng = SeededRandom(seed: 42)
        let seeds = [HTTPCapturedTrafficTests.pythonResponse, HTTPCapturedTrafficTests.curlRequest,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n"]
        let alphabet = Array("\r\n :;0123456789abcdefABCDEF%./HTTP\u{0}\t".utf8)
        for round in 0..<3000 {
            var input = Array(seeds[round % seeds.count].utf8)
            if round % 10 == 9 { input = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            for _ in 0..<Int(rng.next() % 6) where !input.isEmpty {
                let at = Int(rng.next() % UInt64(input.count))
                switch rng.next() % 3 {
                case 0: input[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: input.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: input.remove(at: at)
                }
            }
            let split = (0..<4).map { _ in 1 + Int(rng.next() % 40) }
            let response = parseResponse(input, split: split)
            #expect(response.parser.bodyBytes <= input.count)
            var request = HTTPRequestParser(maxHeadSize: 256)
            for end in stride(from: 0, through: input.count, by: split[0]) {
                if case .needMore = input[0..<end].withUnsafeBytes({ request.parse($0) }) { continue }
                break
            }
            if let target = String(validating: input, as: UTF8.self) { _ = try? HTTPPath.normalize(target) }
        }
    }
}

/// Bytes captured from real programs on loopback, not written by this code's authors.
@Suite("HTTP parsing of captured traffic")
struct HTTPCapturedTrafficTests {
    /// `curl http://127.0.0.1:18080/dir/file%20name.txt?q=1 -H "X-Test: a"` (curl 7.88.1), as `nc -l` received it.
    static let curlRequest = "GET /dir/file%20name.txt?q=1 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n"
        + "User-Agent: curl/7.88.1\r\nAccept: */*\r\nX-Test: a\r\n\r\n"
    /// Python 3.11 `http.server` answering `GET /a.txt` for a file holding "hello from python\n".
    static let pythonResponse = "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.7\r\n"
        + "Date: Wed, 25 Nov 2026 16:01:02 GMT\r\nContent-type: text/plain\r\nContent-Length: 18\r\n"
        + "Last-Modified: Wed, 25 Nov 2026 16:01:01 GMT\r\n\r\nhello from python\n"

    @Test("curl's request: a persistent 1.1 GET whose path decodes to a file name with a space")
    func curlRequest() throws {
        var parser = HTTPRequestParser()
        let outcome = Array(Self.curlRequest.utf8).withUnsafeBytes { parser.parse($0) }
        guard case let .request(head, length) = outcome else { Issue.record("not parsed"); return }
        #expect(length == Self.curlRequest.utf8.count)
        #expect(head.method == "GET" && head.version == .http11 && head.keepAlive)
        #expect(head.field("host") == "127.0.0.1:18080" && head.field("X-TEST") == "a" && head.fields.count == 4)
        #expect(try HTTPPath.normalize(head.target) == "/dir/file name.txt")
    }

    @Test("Python's response, fed byte by byte: status, fields, and the Content-Length body")
    func pythonResponse() {
        let result = parseResponse(bytes(Self.pythonResponse), split: [1])
        #expect(result.error == nil && result.parser.isComplete)
        #expect(result.parser.head?.version == .http10 && result.parser.head?.status == 200)
        #expect(result.parser.head?.field("content-type") == "text/plain" && result.parser.head?.fields.count == 5)
        #expect(result.body == bytes("hello from python\n"))
    }
}
