/// Fixed-size byte buffers for applications on a stack's thread (the services'
/// responses, a relay's backed-up directions), reused instead of allocated per
/// response or per connection: a connection takes one while it has bytes in
/// flight and gives it back when done. Keeps at most `retain` idle buffers; the
/// rest are freed. Not thread-safe: one stack thread owns it.
public final class BufferPool {
    /// Bytes in each buffer.
    public let bufferSize: Int
    private let retain: Int
    private var free: [UnsafeMutableRawBufferPointer] = []
    /// Buffers taken and not yet given back.
    public private(set) var outstanding = 0

    /// A pool of `bufferSize`-byte buffers keeping up to `retain` idle ones. Allocates nothing yet.
    public init(bufferSize: Int, retain: Int = 64) {
        self.bufferSize = bufferSize
        self.retain = retain
    }

    deinit {
        for buffer in free { buffer.deallocate() }
    }

    /// A buffer of `bufferSize` bytes (contents undefined). O(1); allocates only when none is free.
    public func take() -> UnsafeMutableRawBufferPointer {
        outstanding += 1
        if let buffer = free.popLast() { return buffer }
        return .allocate(byteCount: bufferSize, alignment: 16)
    }

    /// Returns a buffer from `take`; it must not be used afterwards. O(1).
    public func give(_ buffer: UnsafeMutableRawBufferPointer) {
        outstanding -= 1
        if free.count < retain { free.append(buffer) } else { buffer.deallocate() }
    }
}
