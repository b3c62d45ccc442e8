// sendto() and recvfrom() on datagram descriptors: `send`/`recv` need a peer
// set by `connect`; these name it per datagram.

extension Host {
    /// sendto(): sends `bytes` as one datagram from the UDP descriptor `fd` to
    /// `destination` (binding an ephemeral port first if needed). Throws EBADF,
    /// EINVAL for a TCP descriptor, EMSGSIZE, or the error ICMP reported earlier.
    public func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to destination: Endpoint, now: Instant) throws(NetError) {
        self.now = now
        let record = try record(fd)
        guard let udp = record.udp else { throw .invalidArgument }
        try udpSend(udp, bytes, to: destination, now: now)
    }

    /// recvfrom(): takes the oldest datagram queued on the UDP descriptor `fd`,
    /// copying what fits in `buffer` (the rest is dropped, as without MSG_TRUNC).
    /// Returns the bytes copied and the sender; throws EAGAIN when none is
    /// queued, or the error ICMP reported for a connected socket. O(datagram).
    public func recvfrom(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer,
                         now: Instant) throws(NetError) -> (count: Int, source: Endpoint) {
        self.now = now
        let record = try record(fd)
        guard let udp = record.udp else { throw .invalidArgument }
        guard let datagram = udpReceive(udp) else {
            if let error = udpTakeError(udp) { throw error }
            throw .wouldBlock
        }
        let count = min(buffer.count, datagram.payload.count)
        datagram.payload.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        return (count, datagram.source)
    }
}
