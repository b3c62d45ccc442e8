// What every fuzzer shares: starting libFuzzer, and a sink for parse results.

import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// Where fuzzers put what they parsed. Writing to a public global in another
/// module keeps `-O` from deleting parses whose results are otherwise unused.
/// Only libFuzzer's one thread touches it.
public nonisolated(unsafe) var fuzzSink: Int = 0

/// Feeds `value` into ``fuzzSink``.
@inline(never)
public func sink(_ value: some Hashable) {
    fuzzSink &+= value.hashValue
}

/// A fuzz callback: libFuzzer's `int (*)(const uint8_t *, size_t)`.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

/// Runs libFuzzer over `callback` with this process's command line, then exits
/// with libFuzzer's status.
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, callback)
    exit(status)
}

/// The input as a raw buffer (libFuzzer may pass a null pointer for an empty input).
@inlinable
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: size == 0 ? nil : data, count: size)
}

/// Stops the fuzzer with `message` when `condition` is false: an invariant a parser broke.
public func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

/// Reads a fuzz input front to back as decisions: small integers, flags and
/// byte runs. Past the end every read returns zeros (and empty runs), so any
/// input is a complete program.
public struct FuzzReader {
    public let input: UnsafeRawBufferPointer
    public private(set) var offset = 0

    public init(_ input: UnsafeRawBufferPointer) { self.input = input }

    /// Bytes not read yet.
    public var remaining: Int { input.count - offset }
    public var isAtEnd: Bool { offset >= input.count }

    public mutating func byte() -> UInt8 {
        guard offset < input.count else { return 0 }
        defer { offset += 1 }
        return input[offset]
    }

    public mutating func u16() -> UInt16 { UInt16(byte()) << 8 | UInt16(byte()) }

    public mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    /// A value in `0..<bound` (bound ≥ 1) from one or two bytes.
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound >= 1)
        return bound <= 256 ? Int(byte()) % bound : Int(u16()) % bound
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// Up to `count` next bytes (fewer at the end of the input).
    public mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        let take = max(0, min(count, remaining))
        defer { offset += take }
        return UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)])
    }

    /// The rest of the input.
    public mutating func rest() -> UnsafeRawBufferPointer { bytes(remaining) }
}
