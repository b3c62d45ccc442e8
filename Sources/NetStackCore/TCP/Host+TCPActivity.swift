// Which connections something happened to: for an application holding thousands
// of mostly idle connections (a relay), so that it serves the few with news
// instead of polling every descriptor on every turn (epoll's ready list, in short).

extension Host {
    /// Starts (or stops) listing the TCP descriptors that have activity: a
    /// segment arrived, a timer fired, the connection failed, or the application
    /// itself called on it. Off by default: listing costs one branch per
    /// connection event while off, and an append per connection per round while on.
    public func setTracksTCPActivity(_ on: Bool) {
        tcp.activity = on ? (tcp.activity ?? []) : nil
        if !on { for connection in tcp.connections.values { connection.listedActive = false } }
    }

    /// Appends to `descriptors` every TCP descriptor with activity since the last
    /// call, each once (a descriptor closed meanwhile may still appear, and so may
    /// one reused by a new connection: check it), and empties the list. Meant for one
    /// consumer. Allocation-free when `descriptors` has room. O(listed).
    public func takeTCPActivity(into descriptors: inout [Int32]) {
        guard var listed = tcp.activity, !listed.isEmpty else { return }
        tcp.activity = nil  // `listed` is then the array's only owner: emptied in place, not copied
        for fd in listed {
            sockets[fd]?.connection?.listedActive = false
            descriptors.append(fd)
        }
        listed.removeAll(keepingCapacity: true)
        tcp.activity = listed
    }
}
