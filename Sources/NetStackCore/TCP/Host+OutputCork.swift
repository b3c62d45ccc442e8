extension Host {
    /// Runs `body` with TCP output corked: a connection in ESTABLISHED or CLOSE-WAIT that
    /// something gave data or room to send — the application's `send`, an arriving ACK, a
    /// timer — sends it when `body` returns, once, instead of at each event. A driver wraps a
    /// poll and the applications' turns after it in this (Linux's autocorking and its
    /// deferral of small TSO frames aim at the same), so that a batch of ACKs and a turn's
    /// writes leave as full segments — with segmentation offload as full super-segments
    /// instead of a full one and a short tail per write or per ACK. An ACK the connection owes
    /// now, and the output of connections in other states (handshake, closing), go at once.
    /// Nested calls cork once.
    ///
    /// Cost: one append per connection listed (no allocation once the list has grown), one
    /// table lookup per listed connection at the end.
    public func withOutputCorked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        if tcp.corking { return try body() }
        tcp.corking = true
        defer { uncork() }
        return try body()
    }

    /// Ends a corked scope: each listed connection sends what it has to send (written data, room an ACK opened).
    private func uncork() {
        tcp.corking = false
        var index = 0
        while index < tcp.corked.count {  // afterActivity lists nothing more: corking is off
            let connection = tcp.corked[index]
            connection.listedCorked = false
            // Skipped if the application closed it and the host forgot it meanwhile.
            if tcp.connections[connection.id] === connection { afterActivity(connection) }
            index += 1
        }
        tcp.corked.removeAll(keepingCapacity: true)
    }
}
