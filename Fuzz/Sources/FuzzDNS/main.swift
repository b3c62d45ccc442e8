// Fuzzes DNSMessage.parse (and so DNSName's compression-pointer walk). No
// input may crash it or loop. A message it accepts must encode, with and
// without name compression, to bytes that parse back to the same message.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    guard let message = try? DNSMessage.parse(bytes) else { return 0 }
    sink(message)
    sink(message.description.utf8.count)
    for compressing in [false, true] {
        let encoded = message.encoded(compressingNames: compressing)
        do {
            let again = try encoded.withUnsafeBytes { raw throws(WireError) in try DNSMessage.parse(raw) }
            check(again == message, "encode (compressing: \(compressing))/parse changed \(message) into \(again)")
        } catch {
            check(false, "re-parsing an encoded message (compressing: \(compressing)) failed: \(error)")
        }
    }
    return 0
}
