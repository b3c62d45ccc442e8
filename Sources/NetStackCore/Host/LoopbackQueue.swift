/// Datagrams a host sent to itself, waiting for the next `poll` (Linux's
/// loopback backlog, bounded like `netdev_max_backlog`).
///
/// The bytes live in one byte ring allocated on first use and reused after:
/// appending copies the datagram in, taking hands out a view of it, nothing
/// allocates per datagram. The queue is bounded in datagrams and in bytes;
/// past either bound a datagram is refused (the caller counts the drop).
struct LoopbackQueue {
    /// Datagrams held at most.
    let maxDatagrams: Int
    /// Bytes of ring storage (at least one maximum-size datagram).
    let capacity: Int

    private var storage: [UInt8] = []
    /// (start, length) of each queued datagram, a ring of `maxDatagrams` records.
    private var records: [(start: Int, length: Int)] = []
    private var head = 0
    private(set) var count = 0
    /// Where the next datagram's bytes go (just past the newest one).
    private var tail = 0

    init(maxDatagrams: Int, capacity: Int) {
        self.maxDatagrams = max(1, maxDatagrams)
        self.capacity = max(65_536, capacity)
    }

    var isEmpty: Bool { count == 0 }

    /// Copies `datagram` to the back of the queue; false (nothing kept) when the
    /// queue is full. O(length).
    mutating func append(_ datagram: UnsafeRawBufferPointer) -> Bool {
        let length = datagram.count
        guard count < maxDatagrams, length <= capacity else { return false }
        if storage.isEmpty {
            storage = [UInt8](repeating: 0, count: capacity)
            records = Array(repeating: (0, 0), count: maxDatagrams)
        }
        let start: Int
        if count == 0 {
            start = 0
        } else {
            let oldest = records[head].start
            if tail >= oldest {
                // Free: [tail, capacity) and, wrapping, [0, oldest).
                if capacity - tail >= length { start = tail } else if oldest >= length { start = 0 } else { return false }
            } else {
                guard oldest - tail >= length else { return false }
                start = tail
            }
        }
        storage.withUnsafeMutableBytes {
            UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + length)]).copyMemory(from: datagram)
        }
        records[(head + count) % maxDatagrams] = (start, length)
        count += 1
        tail = start + length
        return true
    }

    /// Copies the oldest datagram into `buffer` (at least 65,535 bytes) and removes it;
    /// returns its length, nil when empty. A copy, so that handling it may queue more.
    mutating func takeFirst(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard count > 0 else { return nil }
        let (start, length) = records[head]
        head = (head + 1) % maxDatagrams
        count -= 1
        if count == 0 { tail = 0 }
        storage.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<(start + length)]))
        }
        return length
    }
}
