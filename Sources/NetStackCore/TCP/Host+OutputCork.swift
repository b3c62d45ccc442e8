extension Host {
    /// Runs `body` with TCP output corked: what `send` writes stays in the connections'
    /// send buffers until `body` returns, then each connection written to sends it all at
    /// once. A driver wraps an application's turn in this (Linux's autocorking does the same
    /// for writes that follow each other closely), so that several writes in one turn leave
    /// as full segments — with segmentation offload as one super-segment instead of a full
    /// one and a short tail per write. Other calls (`recv`, `close`, `shutdown`) and the
    /// stack's own timers and input still send at once. Nested calls cork once.
    ///
    /// Cost: one append per connection written to (no allocation once the list has grown),
    /// one table lookup per listed connection at the end.
    public func withOutputCorked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        if tcp.corking { return try body() }
        tcp.corking = true
        defer { uncork() }
        return try body()
    }

    /// Ends a corked scope: each listed connection sends what its application wrote.
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
