/// A TCP sequence number: a 32-bit count of bytes that wraps around
/// (RFC 9293 §3.4, "all arithmetic dealing with sequence numbers must be
/// performed modulo 2**32").
///
/// Comparison is serial-number arithmetic (RFC 1982 §3.2): `a < b` when `b`
/// lies less than 2³¹ ahead of `a` going forward. It is therefore not a total
/// order — 0x7FFF_FFFF < 0xFFFF_FFFF < 0 < 0x7FFF_FFFF — and two numbers
/// exactly 2³¹ apart are neither less nor greater than each other. For that
/// reason the type does not conform to `Comparable` (sorting with it is not
/// sound); it offers the operators directly. Every operation costs one or two
/// integer instructions.
public struct SequenceNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral {
    /// The number as it travels in the header.
    public var rawValue: UInt32

    /// Wraps a raw 32-bit sequence number.
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Wraps a raw 32-bit sequence number.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// A literal sequence number, as in `let iss: SequenceNumber = 1000`.
    @inlinable public init(integerLiteral value: UInt32) { rawValue = value }

    /// The number `count` bytes further on, modulo 2³² (`count` may be negative).
    @inlinable public static func + (number: SequenceNumber, count: Int) -> SequenceNumber {
        SequenceNumber(rawValue: number.rawValue &+ UInt32(truncatingIfNeeded: count))
    }

    /// The number `count` bytes earlier, modulo 2³².
    @inlinable public static func - (number: SequenceNumber, count: Int) -> SequenceNumber {
        SequenceNumber(rawValue: number.rawValue &- UInt32(truncatingIfNeeded: count))
    }

    /// Advances the number by `count` bytes, modulo 2³².
    @inlinable public static func += (number: inout SequenceNumber, count: Int) {
        number = number + count
    }

    /// The signed distance from `b` to `a`, in −2³¹ … 2³¹−1: how many bytes `a`
    /// lies ahead of `b` (negative when behind). `(b + n) - b == n` for |n| < 2³¹.
    @inlinable public static func - (a: SequenceNumber, b: SequenceNumber) -> Int {
        Int(Int32(bitPattern: a.rawValue &- b.rawValue))
    }

    /// RFC 1982 §3.2 "less than": `b` is 1 … 2³¹−1 bytes ahead of `a`.
    @inlinable public static func < (a: SequenceNumber, b: SequenceNumber) -> Bool {
        let ahead = b.rawValue &- a.rawValue
        return ahead != 0 && ahead < 0x8000_0000
    }

    /// `b < a` in serial-number arithmetic.
    @inlinable public static func > (a: SequenceNumber, b: SequenceNumber) -> Bool { b < a }

    /// `a < b` or `a == b`.
    @inlinable public static func <= (a: SequenceNumber, b: SequenceNumber) -> Bool { a == b || a < b }

    /// `a > b` or `a == b`.
    @inlinable public static func >= (a: SequenceNumber, b: SequenceNumber) -> Bool { a == b || b < a }

    /// True when the number lies in the `length` bytes starting at `start`,
    /// i.e. `start <= self < start + length` modulo 2³² (RFC 9293 §3.4's window
    /// tests). Always false for a zero length; `length` must be below 2³¹.
    @inlinable public func isWithin(start: SequenceNumber, length: Int) -> Bool {
        let offset = rawValue &- start.rawValue
        return UInt64(offset) < UInt64(max(0, length))
    }

    /// The decimal raw value, as tshark prints "Sequence Number (raw)".
    public var description: String { String(rawValue) }
}
