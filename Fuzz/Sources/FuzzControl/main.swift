// Fuzzes the control socket's protocol (ControlProtocol): the bytes a client
// sends arrive in pieces (as the server's reads of up to 257 bytes would see
// them), are framed after each piece, and the first complete framing is
// answered. No input may crash it; the invariants:
//   - while waiting for more, at most maxRequestLength bytes are held;
//   - a line is never longer than maxRequestLength and never holds a newline;
//   - a known request gets exactly its table; anything else exactly one line
//     starting "error: " with no byte of the client's outside printable ASCII;
//   - framing in pieces agrees with framing the same bytes at once.

import FuzzSupport
import NetStackRuntime

/// What the tables would be: a fixed text per request, so the answer can be checked.
func table(_ request: ControlRequest) -> String { "TABLE[\(request.rawValue)]\n" }

runFuzzer { data, size in
    let input = [UInt8](fuzzInput(data, size))
    guard !input.isEmpty else { return 0 }
    // The first byte chooses the piece size (1 to 257 bytes, the server's read size at most).
    let piece = Int(input[0]) % 257 + 1
    let bytes = Array(input.dropFirst())
    let limit = ControlProtocol.maxRequestLength
    var received: [UInt8] = []
    var offset = 0
    var framing = ControlProtocol.Framing.needMore
    while framing == .needMore {
        let ended = offset >= bytes.count
        let end = min(bytes.count, offset + piece)
        received += bytes[offset..<end]
        offset = end
        framing = ControlProtocol.frame(received, ended: ended)
        if framing == .needMore { check(received.count <= limit, "held \(received.count) bytes without a line") }
    }
    check(framing == ControlProtocol.frame(bytes, ended: true), "framing in pieces disagrees with framing at once")
    if case let .line(line) = framing {
        check(line.count <= limit, "a line of \(line.count) bytes")
        check(!line.contains(UInt8(ascii: "\n")), "a line holding a newline")
    }
    let answer = ControlProtocol.answer(framing, table: table)
    sink(answer)
    if case let .line(line) = framing, let request = ControlProtocol.parse(line) {
        check(answer == table(request), "request \(request) got \(answer)")
        let trimmed = String(decoding: line, as: UTF8.self).filter { $0 != " " && $0 != "\t" && $0 != "\r" }
        check(request.spellings.contains { $0.filter { $0 != " " } == trimmed }, "'\(trimmed)' parsed as \(request)")
    } else {
        check(answer.hasPrefix("error: ") && answer.hasSuffix("\n"), "not an error line: \(answer)")
        check(answer.utf8.filter { $0 == UInt8(ascii: "\n") }.count == 1, "more than one line: \(answer)")
        // The only non-ASCII the server itself writes is the ellipsis of a long quote.
        let own = answer.replacingEllipsis()
        check(own.utf8.dropLast().allSatisfy { (0x20..<0x7F).contains($0) }, "unprintable bytes in \(answer)")
    }
    return 0
}

extension String {
    func replacingEllipsis() -> String { String(map { $0 == "…" ? "." : $0 }) }
}
