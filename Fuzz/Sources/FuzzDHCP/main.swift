// Fuzzes DHCPMessage.parse and its bounded option walk. No input may crash it
// or read outside the bytes. A message it accepts must emit bytes that parse
// back to the same message, and emitting that again must give the same bytes.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = fuzzInput(data, size)
    guard let message = try? DHCPMessage.parse(bytes) else { return 0 }
    sink(message)
    sink(message.description.utf8.count)
    sink(message.routers.count + message.dnsServers.count)
    let encoded = message.encoded
    do {
        let again = try encoded.withUnsafeBytes { raw in try DHCPMessage.parse(raw) }
        check(again == message, "emit/parse changed \(message) into \(again)")
        check(again.encoded == encoded, "emitting a re-parsed message gave other bytes")
    } catch {
        check(false, "re-parsing an emitted message failed: \(error)")
    }
    return 0
}
