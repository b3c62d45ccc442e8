// Host-wide accounting of TCP buffer storage, like Linux's tcp_memory_allocated
// against tcp_mem: past a threshold ("memory pressure") no connection's buffers
// grow any more, so a thousand slow readers or stalled receivers cannot each
// take their full SO_SNDBUF/SO_RCVBUF.

/// The bytes of storage all of one host's connections hold now for their send
/// and receive buffers and their transmission records (``RetransmissionQueue``).
/// Each connection reports changes of its own storage
/// (``TCPConnection/accountBuffers()``) and gives its share back when it goes.
///
/// Not thread-safe: the host's thread owns it, as it owns the connections.
final class TCPBufferMemory {
    /// Bytes of buffer storage allocated now, all connections together.
    private(set) var allocated = 0
    /// Times `allocated` rose to or past the pressure threshold from below it (Linux's TCPMemoryPressures).
    private(set) var pressureEntries = 0

    init() {}

    /// Adds `delta` (negative when storage was freed); counts an entry into pressure
    /// when `allocated` crosses `threshold` upward. O(1).
    func change(by delta: Int, threshold: Int) {
        let before = allocated
        allocated += delta
        if before < threshold && allocated >= threshold { pressureEntries += 1 }
    }
}
