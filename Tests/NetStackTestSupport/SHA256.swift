public import NetStackWire

/// The tests compare transfers by the wire module's SHA-256.
public typealias SHA256 = NetStackWire.SHA256
