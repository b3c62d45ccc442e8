/// Why the runtime could not start or keep going, phrased for one line on standard error.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    /// The whole message, naming the thing that failed and why.
    public let description: String

    public init(_ description: String) { self.description = description }

    /// A failed system call: `what` and the text for `errno` (e.g. "No such device").
    static func system(_ what: String, errno code: Int32) -> RuntimeError {
        RuntimeError("\(what): \(errorText(code))")
    }
}

import Glibc

/// strerror's text for an errno value.
func errorText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}
