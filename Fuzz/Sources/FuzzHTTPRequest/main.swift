// Fuzzes HTTPRequestParser as the HTTP server drives it: bytes arrive in
// chunks, the parser sees the unconsumed input grow, a request is dropped
// with its Content-Length body and the next (pipelined) one is parsed.
//
// Input: byte 0 picks the head limit, byte 1 the field limit, byte 2 a seed
// for the chunk sizes; the rest is the byte stream from the client.
// Invariants: no trap; a request never takes more bytes than given nor more
// than the head limit; its field count is within the limit; its Content-Length
// is not negative; and the outcomes do not depend on how the stream was cut:
// one chunk and many chunks give the same requests and the same error.

import FuzzSupport
import NetStackServices

/// One request or the failure, as compared between the two feedings.
enum Seen: Equatable {
    case request(method: String, target: String, version: HTTPVersion, fields: Int, contentLength: Int,
                 keepAlive: Bool, length: Int)
    case failed(HTTPRequestError)
}

/// Runs a server's parse loop over `stream` cut into chunks of the sizes `cut` yields.
func serve(_ stream: UnsafeRawBufferPointer, maxHeadSize: Int, maxFields: Int,
           cut: (Int) -> Int) -> [Seen] {
    var parser = HTTPRequestParser(maxHeadSize: maxHeadSize, maxFields: maxFields)
    var buffer: [UInt8] = []
    var bodyLeft = 0
    var seen: [Seen] = []
    var fed = 0
    while fed < stream.count {
        let size = min(max(1, cut(stream.count - fed)), stream.count - fed)
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: stream[fed..<(fed + size)]))
        fed += size
        while true {
            if bodyLeft > 0 {
                let take = min(bodyLeft, buffer.count)
                buffer.removeFirst(take)
                bodyLeft -= take
                if bodyLeft > 0 { break }
            }
            if buffer.isEmpty { break }
            let outcome = buffer.withUnsafeBytes { parser.parse($0) }
            switch outcome {
            case .needMore:
                break
            case let .request(head, length):
                check(length > 0 && length <= buffer.count, "request took \(length) of \(buffer.count) bytes")
                check(length <= maxHeadSize, "request head of \(length) bytes over the limit \(maxHeadSize)")
                check(head.fields.count <= maxFields, "\(head.fields.count) fields over the limit \(maxFields)")
                check(head.contentLength >= 0, "negative Content-Length \(head.contentLength)")
                check(head.version.major == 1, "accepted version \(head.version)")
                check(!head.method.isEmpty && !head.target.isEmpty, "empty method or target")
                sink(head.method.utf8.count &+ head.target.utf8.count)
                seen.append(.request(method: head.method, target: head.target, version: head.version,
                                     fields: head.fields.count, contentLength: head.contentLength,
                                     keepAlive: head.keepAlive, length: length))
                buffer.removeFirst(length)
                bodyLeft = head.contentLength
                continue
            case let .failed(error):
                seen.append(.failed(error))
                return seen
            }
            break
        }
    }
    return seen
}

runFuzzer { data, size in
    var reader = FuzzReader(fuzzInput(data, size))
    let limits = reader.byte()
    let maxHeadSize = limits & 0x80 == 0 ? 16_384 : 16 + Int(limits & 0x7F) * 8
    let fieldLimit = Int(reader.byte() % 8)
    let maxFields = fieldLimit == 0 ? 100 : fieldLimit
    var seed = UInt64(reader.byte()) &+ 1
    let stream = reader.rest()
    let whole = serve(stream, maxHeadSize: maxHeadSize, maxFields: maxFields) { $0 }
    let chunked = serve(stream, maxHeadSize: maxHeadSize, maxFields: maxFields) { left in
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let r = Int(seed >> 33)
        return r % 4 == 0 ? 1 : 1 + r % min(left, 64)
    }
    check(whole == chunked, "outcome depends on how the stream was cut: whole \(whole), chunked \(chunked)")
    return 0
}
