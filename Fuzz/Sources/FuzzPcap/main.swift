// Fuzzes PcapReader.parse over whole files. No input may crash it; records it
// accepts must hold at most their original length, and writing them again
// with PcapWriter must read back the same.

import FuzzSupport
import NetStackWire

runFuzzer { data, size in
    let bytes = [UInt8](fuzzInput(data, size))
    guard let records = try? PcapReader.parse(bytes) else { return 0 }
    sink(records.count)
    var writer = PcapWriter()
    for record in records {
        sink(record.data.count &+ record.originalLength)
        check(record.data.count <= record.originalLength, "captured more than the original length")
        // The writer keeps microseconds and 32-bit seconds; only compare records it can represent.
        guard record.nanoseconds % 1000 == 0, record.data.count <= writer.snapLength else { return 0 }
        writer.append(record.data, nanoseconds: record.nanoseconds)
    }
    do {
        let again = try PcapReader.parse(writer.takeBytes())
        check(again.map(\.data) == records.map(\.data), "data changed through PcapWriter")
        check(again.map(\.nanoseconds) == records.map(\.nanoseconds), "timestamps changed through PcapWriter")
    } catch {
        check(false, "re-reading a written capture failed: \(error)")
    }
    return 0
}
