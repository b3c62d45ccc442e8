// The page the browser fetches: generated, so every run serves the same bytes
// and no file has to ship with the demo.

/// A deterministic HTML page of an exact size, about the chapter it illustrates.
enum DemoPage {
    /// The page's size in bytes: "about 100 KB", far more than one MSS.
    static let defaultSize = 100_000

    /// An HTML page of exactly `size` bytes (at least the skeleton's ~200):
    /// numbered paragraphs retelling the chapter, cut and padded to size.
    /// The same `size` always gives the same bytes. O(size).
    static func make(size: Int = defaultSize) -> [UInt8] {
        let head = Array("""
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>From data to signals</title></head>
            <body>
            <h1>How the protocol stack turns a browser's data into electrical signals</h1>

            """.utf8)
        let tail = Array("</body></html>\n".utf8)
        var page = head
        page.reserveCapacity(max(size, head.count + tail.count))
        var paragraph = 0
        // Each pass adds one paragraph; bounded by the size asked for.
        while page.count + tail.count < size {
            paragraph += 1
            let sentence = sentences[(paragraph - 1) % sentences.count]
            page += Array("<p id=\"p\(paragraph)\">\(paragraph). \(sentence)</p>\n".utf8)
        }
        // Cut to size, leaving room for the closing tags, and end the last paragraph cleanly.
        let bodyLimit = max(head.count, size - tail.count)
        if page.count > bodyLimit {
            page.removeLast(page.count - bodyLimit)
            if let last = page.last, last != UInt8(ascii: "\n") { page[page.count - 1] = UInt8(ascii: "\n") }
        }
        return page + tail
    }

    private static let sentences = [
        "The browser does not send anything itself: it asks the socket library, which asks the protocol stack.",
        "A socket is the record of control information the stack keeps; the application holds only its descriptor.",
        "The resolver in the socket library asks a DNS server for the web server's address, over UDP.",
        "Connecting means telling the stack the peer's address and port and exchanging sequence numbers and windows.",
        "Data longer than the MSS is cut into segments; the receiver acknowledges the next byte it expects.",
        "Unacknowledged data stays in the send buffer, because only TCP recovers what the network loses.",
        "The window lets the sender keep several segments in flight; the receiver announces its free buffer space.",
        "IP picks the interface and the gateway from the routing table: Destination, Gateway, Genmask, Flags, Iface.",
        "ARP asks the whole LAN who has the gateway's address, and caches the answer for a while.",
        "The LAN adapter adds the preamble and the FCS and turns the bits into a signal on the cable.",
        "A hub repeats the signal out of every port; a switch learns where each MAC address lives.",
        "The receiving adapter checks the FCS, drops a damaged frame, and keeps only frames addressed to it.",
        "An interrupt tells the CPU a frame has arrived; the driver hands it to the protocol stack.",
        "After close, the socket waits in TIME_WAIT so a late segment cannot reach a new socket on the same port.",
        "UDP has no connection and no retransmission: right for voice and video, where late data is useless.",
    ]
}
