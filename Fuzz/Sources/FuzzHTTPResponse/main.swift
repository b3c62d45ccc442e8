// Fuzzes HTTPResponseParser as the HTTP client drives it: the response
// arrives in chunks of input-chosen sizes, then the connection ends.
//
// Input: byte 0 picks the head limit, byte 1 a seed for the chunk sizes; the
// rest is the byte stream from the server.
// Invariants: no trap; `feed` never reports more bytes consumed than given and
// consumes everything unless the response is complete; the body handed on is
// never more than the bytes consumed, matches `bodyBytes`, stays within a
// Content-Length, and is identical whether the stream came in one piece or
// many; the outcome (complete, error, still waiting) is the same either way.

import FuzzSupport
import NetStackServices

struct Result: Equatable {
    var body: [UInt8] = []
    var consumed = 0
    var error: HTTPError?
    var complete = false
    var framing: HTTPResponseParser.Framing?
    var status: Int?
    var finishError: HTTPError?
}

func fetch(_ stream: UnsafeRawBufferPointer, maxHeadSize: Int, cut: (Int) -> Int) -> Result {
    var parser = HTTPResponseParser(maxHeadSize: maxHeadSize)
    var result = Result()
    var fed = 0
    while fed < stream.count {
        let size = min(max(1, cut(stream.count - fed)), stream.count - fed)
        let chunk = UnsafeRawBufferPointer(rebasing: stream[fed..<(fed + size)])
        fed += size
        let before = result.body.count
        do {
            let used = try parser.feed(chunk) { result.body.append(contentsOf: $0) }
            check(used >= 0 && used <= chunk.count, "feed consumed \(used) of \(chunk.count) bytes")
            check(used == chunk.count || parser.isComplete, "feed stopped at \(used) of \(chunk.count) while incomplete")
            check(result.body.count - before <= used, "\(result.body.count - before) body bytes from \(used) consumed")
            result.consumed += used
        } catch {
            result.error = error
            break
        }
        check(parser.bodyBytes == result.body.count, "bodyBytes \(parser.bodyBytes), delivered \(result.body.count)")
        check(result.body.count <= result.consumed, "body \(result.body.count) longer than input \(result.consumed)")
        if case let .length(n) = parser.framing {
            check(n >= 0 && result.body.count <= n, "body \(result.body.count) over Content-Length \(n)")
            if parser.isComplete { check(result.body.count == n, "complete with \(result.body.count) of \(n)") }
        }
        if parser.framing == HTTPResponseParser.Framing.none {
            check(result.body.isEmpty, "body bytes for a response without a body")
        }
        if parser.isComplete {
            check(parser.head != nil, "complete without a head")
            let again = (try? parser.feed(chunk) { _ in check(false, "body after completion") }) ?? -1
            check(again == 0, "a complete parser consumed \(again) more bytes")
            break
        }
    }
    if result.error == nil {
        do { try parser.finish() } catch { result.finishError = error }
        if result.finishError == nil { check(parser.isComplete, "finish succeeded on an incomplete response") }
    }
    result.complete = parser.isComplete
    result.framing = parser.framing
    result.status = parser.head?.status
    if let status = result.status { check((100...599).contains(status), "status \(status) accepted") }
    return result
}

runFuzzer { data, size in
    var reader = FuzzReader(fuzzInput(data, size))
    let limits = reader.byte()
    let maxHeadSize = limits & 0x80 == 0 ? 65_536 : 16 + Int(limits & 0x7F) * 8
    var seed = UInt64(reader.byte()) &+ 1
    let stream = reader.rest()
    let whole = fetch(stream, maxHeadSize: maxHeadSize) { $0 }
    let chunked = fetch(stream, maxHeadSize: maxHeadSize) { left in
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let r = Int(seed >> 33)
        return r % 4 == 0 ? 1 : 1 + r % min(left, 64)
    }
    sink(whole.body.count)
    // The error may differ only in what it reports as received so far.
    check(whole.body == chunked.body && whole.complete == chunked.complete && whole.framing == chunked.framing
          && whole.status == chunked.status
          && (whole.error != nil || whole.consumed == chunked.consumed)
          && (whole.error == nil) == (chunked.error == nil) && whole.finishError == chunked.finishError,
          "outcome depends on how the stream was cut: whole \(whole), chunked \(chunked)")
    return 0
}
