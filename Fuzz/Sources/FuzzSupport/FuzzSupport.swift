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
