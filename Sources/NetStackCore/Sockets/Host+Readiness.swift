// Which descriptors may have become ready: for a driver that parks tasks per
// descriptor, so that after a turn it polls only the descriptors something
// happened to instead of every waiter (epoll's ready list, in short). Unlike the
// TCP activity list (one consumer, the tunnel relay) it covers listeners, UDP
// sockets and closes, and it is a second, independent list.

extension Host {
    /// Starts (or stops) listing the descriptors whose readiness may have
    /// changed: data, a FIN, an ACK making room, an error on a connection; a
    /// connection joining a listener's accept queue; a datagram or an ICMP error
    /// for a UDP socket; a close. Off by default; while on, it costs a flag test
    /// per event and an append per descriptor per round.
    public func setTracksReadiness(_ on: Bool) {
        readinessChanges = on ? (readinessChanges ?? []) : nil
        if !on {
            for record in sockets.values {
                record.listedReady = false
                record.connection?.listedReady = false
            }
        }
    }

    /// Whether ``setTracksReadiness(_:)`` is on.
    public var tracksReadiness: Bool { readinessChanges != nil }

    /// Appends to `descriptors` every descriptor listed since the last call, each
    /// once (one closed or reused meanwhile may appear: `poll` it), and empties the
    /// list. Meant for one consumer. Allocation-free when `descriptors` has room. O(listed).
    public func takeReadinessChanges(into descriptors: inout [Int32]) {
        guard var listed = readinessChanges, !listed.isEmpty else { return }
        readinessChanges = nil  // `listed` is then the array's only owner: emptied in place, not copied
        for fd in listed {
            if let record = sockets[fd] {
                record.listedReady = false
                record.connection?.listedReady = false
            }
            descriptors.append(fd)
        }
        listed.removeAll(keepingCapacity: true)
        readinessChanges = listed
    }

    /// Lists `fd` once while tracking is on.
    func noteReadinessChange(_ fd: Int32) {
        guard readinessChanges != nil, let record = sockets[fd], !record.listedReady else { return }
        record.listedReady = true
        readinessChanges?.append(fd)
    }
}
