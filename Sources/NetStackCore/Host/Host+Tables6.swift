import NetStackWire

/// The IPv6 tables in the formats of net-tools (`route -6 -n`).
extension Host {
    /// The IPv6 routing table as `route -6 -n` prints it — Destination, Next Hop, Flag, Met, Ref,
    /// Use, If — or nil when the host has no IPv6 route (an IPv4-only stack shows only its IPv4
    /// table). The default route reads `::/0` and comes last, as the kernel lists it; an on-link
    /// route's next hop is `::`. Flags: U up, G through a gateway (no H on /128 routes: Linux sets none for IPv6). NetStack
    /// counts neither references nor uses of IPv6 routes: both read 0. O(routes).
    public func routeTable6() -> String? {
        guard !routes6.isEmpty else { return nil }
        // net-tools' columns: "%-30s %-26s %-4s %-3d %-1d %6d %s".
        var lines = ["Kernel IPv6 routing table",
                     pad("Destination", 30) + " " + pad("Next Hop", 26) + " " + "Flag Met Ref  Use If"]
        let ordered = routes6.filter { $0.destination.prefixLength > 0 } + routes6.filter { $0.destination.prefixLength == 0 }
        for route in ordered {
            var flags = "U"
            if route.gateway != nil { flags += "G" }
            lines.append(padLong(route.destination.description, 30) + " "
                + padLong((route.gateway ?? .unspecified).description, 26) + " " + padLong(flags, 4) + " "
                + padLong(String(route.metric), 3) + " " + "0" + " " + padLeft("0", 6) + " "
                + adapters[route.interface.index].name)
        }
        return lines.joined(separator: "\n")
    }
}

/// Left-aligns `text` in at least `width` columns; longer text is kept whole (printf's `%-Ns`).
func padLong(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
