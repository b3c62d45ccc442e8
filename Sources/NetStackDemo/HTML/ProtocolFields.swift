import NetStackWire

// Field trees of what the NetStackWire views parse as a whole (TCP options,
// DNS names, HTTP headers), walked here once more to find each part's bytes.

/// TCP options, one field per option with its bytes (RFC 9293 §3.1, RFC 7323, RFC 2018).
enum TCPOptionFields {
    /// The options between byte 20 and `headerLength` of `segment`, `at` the segment's offset in the frame.
    static func fields(_ segment: UnsafeRawBufferPointer, headerLength: Int, at base: Int) -> [DissectedField] {
        var fields: [DissectedField] = []
        var index = TCPHeader.minimumLength
        // Each pass consumes at least one byte; bounded by the header length (≤ 60).
        while index < headerLength {
            let kind = segment[index]
            if kind == 0 { fields.append(DissectedField("End of option list", base + index, headerLength - index)); break }
            if kind == 1 { fields.append(DissectedField("No-Operation (NOP)", base + index, 1)); index += 1; continue }
            guard index + 1 < headerLength else { break }
            let length = Int(segment[index + 1])
            guard length >= 2, index + length <= headerLength else { break }
            let text: String
            switch (kind, length) {
            case (2, 4): text = "Maximum segment size: \(segment.be16(index + 2)) bytes"
            case (3, 3): text = "Window scale: \(segment[index + 2]) (multiply by \(1 << Int(min(segment[index + 2], 14))))"
            case (4, 2): text = "SACK permitted"
            case (5, _): text = "SACK: \((length - 2) / 8) block(s)"
            case (8, 10): text = "Timestamps: TSval \(segment.be32(index + 2)), TSecr \(segment.be32(index + 6))"
            default: text = "Option kind \(kind), length \(length)"
            }
            fields.append(DissectedField(text, base + index, length))
            index += length
        }
        return fields
    }
}

/// DNS messages (RFC 1035 §4.1): header, questions and answers with their bytes.
enum DNSDissector {
    /// Adds the DNS message in `bytes` (at `base` in the frame) to `out`: columns and fields. O(message length).
    static func dissect(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) {
        guard let message = try? DNSMessage.parse(bytes) else { return }
        out.protocolName = "DNS"
        let flags = message.flags
        let kind = flags.isResponse ? "Standard query response" : "Standard query"
        var info = "\(kind) 0x\(hex(message.id, 4))"
        for question in message.questions { info += " \(question.type) \(question.name)" }
        for answer in message.answers { info += " \(answer.description)" }
        out.info = info
        var fields = [
            DissectedField("Transaction ID: 0x\(hex(message.id, 4))", base, 2),
            DissectedField("Flags: 0x\(hex(flags.rawValue, 4)) \(flags)", base + 2, 2),
            DissectedField("Questions: \(message.questions.count)", base + 4, 2),
            DissectedField("Answer RRs: \(message.answers.count)", base + 6, 2),
            DissectedField("Authority RRs: \(message.authorities.count)", base + 8, 2),
            DissectedField("Additional RRs: \(message.additionals.count)", base + 10, 2),
        ]
        var index = DNSMessage.headerLength
        for question in message.questions {
            guard let nameEnd = nameEnd(bytes, from: index), nameEnd + 4 <= bytes.count else { break }
            fields.append(DissectedField("Query: \(question)", base + index, nameEnd + 4 - index))
            index = nameEnd + 4
        }
        for answer in message.answers {
            guard let nameEnd = nameEnd(bytes, from: index), nameEnd + 10 <= bytes.count else { break }
            let end = nameEnd + 10 + Int(bytes.be16(nameEnd + 8))
            guard end <= bytes.count else { break }
            fields.append(DissectedField("Answer: \(answer)", base + index, end - index))
            index = end
        }
        out.tree.append(DissectedField("Domain Name System (\(flags.isResponse ? "response" : "query"))", base, bytes.count, fields))
    }

    /// The index just past the name starting at `start` (labels, then a zero or a two-byte pointer).
    static func nameEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        // At most 128 labels in 255 bytes of name.
        for _ in 0..<128 {
            guard index < bytes.count else { return nil }
            let length = Int(bytes[index])
            if length == 0 { return index + 1 }
            if length & 0xC0 == 0xC0 { return index + 2 }
            index += 1 + length
        }
        return nil
    }
}

/// HTTP/1.1 (RFC 9112): the request or status line and each header line, or a body's bytes.
enum HTTPDissector {
    /// What the head of a message says about its length.
    struct Head {
        /// Bytes up to and including the blank line (or all the payload, if it has none).
        var length: Int
        /// The Content-Length header's value, if any.
        var contentLength: Int?
    }

    /// Adds the message head in `bytes` (or the body bytes, when it is not a head) to `out`. Returns the head, if it is one.
    @discardableResult
    static func dissect(_ bytes: UnsafeRawBufferPointer, at base: Int, into out: inout DissectedFrame) -> Head? {
        let starts = ["GET ", "HEAD", "POST", "HTTP"]
        let head = String(decoding: bytes.prefix(4), as: UTF8.self)
        guard starts.contains(head) else {
            out.tree.append(DissectedField("TCP payload (\(bytes.count) bytes): HTTP response body", base, bytes.count))
            return nil
        }
        var contentLength: Int?
        out.protocolName = "HTTP"
        var fields: [DissectedField] = []
        var lineStart = 0, index = 0
        // One pass over the payload, ending at the blank line after the headers.
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 {
                let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<index]), as: UTF8.self)
                if fields.isEmpty { out.info = line }
                if line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingPrefix(" "))
                }
                fields.append(DissectedField(line.isEmpty ? "(end of headers)" : line, base + lineStart, index + 2 - lineStart))
                index += 2
                lineStart = index
                if line.isEmpty { break }
            } else {
                index += 1
            }
        }
        if lineStart < bytes.count {
            fields.append(DissectedField("Body (\(bytes.count - lineStart) bytes in this segment)", base + lineStart, bytes.count - lineStart))
        }
        out.tree.append(DissectedField("Hypertext Transfer Protocol", base, bytes.count, fields))
        return Head(length: lineStart, contentLength: contentLength)
    }
}
