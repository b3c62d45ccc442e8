import NetStackWire

/// Text tables in the formats of the net-tools commands the chapter shows.
extension Host {
    /// The routing table as `route -n`-style text, with the chapter's columns:
    /// Destination, Gateway, Genmask, Flags, Metric, Ref, Use, Iface.
    /// The default route reads `default`, as `route` prints it.
    public func routeTable() -> String {
        var lines = ["Kernel IP routing table",
                     pad("Destination", 15) + " " + pad("Gateway", 15) + " " + pad("Genmask", 15) + " "
                         + "Flags Metric Ref    Use Iface"]
        for route in routes.routes {
            let destination = route.destination.prefixLength == 0 ? "default" : route.destination.address.description
            let gateway = route.gateway?.description ?? "0.0.0.0"
            lines.append(pad(destination, 15) + " " + pad(gateway, 15) + " " + pad(route.destination.mask.description, 15)
                + " " + pad(route.flags, 5) + " " + pad(String(route.metric), 6) + " " + pad("0", 3) + " "
                + padLeft(String(route.use), 6) + " " + adapters[route.interface.index].name)
        }
        return lines.joined(separator: "\n")
    }

    /// The ARP cache as `arp`-style text, with the chapter's columns:
    /// Address, HWtype, HWaddress, Flags, Mask, Iface. Flags: C complete, M permanent.
    public func arpTable(now: Instant) -> String {
        var lines = [pad("Address", 25) + pad("HWtype", 8) + pad("HWaddress", 20) + pad("Flags", 6) + pad("Mask", 16) + "Iface"]
        for entry in arpCache.allEntries {
            let iface = adapters[entry.interface.index].name
            switch entry.state {
            case .incomplete:
                lines.append(pad(entry.address.description, 25) + pad("", 8) + pad("(incomplete)", 20) + pad("", 6)
                    + pad("", 16) + iface)
            case let .complete(expires) where expires > now:
                lines.append(pad(entry.address.description, 25) + pad("ether", 8)
                    + pad(entry.mac?.description ?? "", 20) + pad("C", 6) + pad("", 16) + iface)
            case .permanent:
                lines.append(pad(entry.address.description, 25) + pad("ether", 8)
                    + pad(entry.mac?.description ?? "", 20) + pad("CM", 6) + pad("", 16) + iface)
            case .complete:
                break
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Adapter counters in the manner of `ip -s link`.
    public func linkStatistics() -> String {
        var lines: [String] = []
        for (index, adapter) in adapters.enumerated() {
            let c = adapter.counters
            lines.append("\(index + 1): \(adapter.name): <BROADCAST,MULTICAST,UP> mtu \(adapter.mtu)"
                + (adapter.config.promiscuous ? " promisc" : ""))
            lines.append("    link/ether \(adapter.mac) brd ff:ff:ff:ff:ff:ff")
            lines.append("    RX:  " + ["bytes", "packets", "errors", "dropped", "missed", "mcast", "crc", "filtered"]
                .map { padLeft($0, 8) }.joined(separator: " "))
            lines.append("         " + [c.rxBytes, c.rxPackets, c.rxErrors, c.rxDropped, c.rxMissed, c.rxMulticast,
                                         c.rxCRCErrors, c.rxFiltered].map { padLeft(String($0), 8) }.joined(separator: " "))
            lines.append("    TX:  " + ["bytes", "packets", "errors", "dropped", "carrier", "collsns"]
                .map { padLeft($0, 8) }.joined(separator: " "))
            lines.append("         " + [c.txBytes, c.txPackets, 0, c.txDropped, 0, 0]
                .map { padLeft(String($0), 8) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}

/// Left-aligns `text` in `width` columns (longer text is cut, as net-tools does).
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? String(text.prefix(width)) : text + String(repeating: " ", count: width - text.count)
}

/// Right-aligns `text` in `width` columns.
func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}
