// The page's two fixed drawings, made on the Swift side: the network (whose
// cables the script highlights) and the Manchester-coded start of the SYN.

/// The network drawing and the signal drawing, as inline SVG.
enum PagePictures {
    /// A device in the drawing: its name, its label lines, where it stands.
    private struct Node {
        var id: String
        var label: String
        var detail: String
        var x: Int
        var y: Int
    }

    /// The devices with their IPv6 addresses (`--ipv6`).
    private static let nodes6 = [
        Node(id: "client", label: "browser", detail: "2001:db8:a::10", x: 70, y: 50),
        Node(id: "laptop", label: "laptop", detail: "2001:db8:a::20", x: 70, y: 190),
        Node(id: "hub", label: "hub", detail: "", x: 230, y: 120),
        Node(id: "router", label: "router", detail: "a::1 | b::1", x: 390, y: 120),
        Node(id: "switch", label: "switch", detail: "", x: 550, y: 120),
        Node(id: "server", label: "server", detail: "2001:db8:b::10", x: 710, y: 50),
        Node(id: "dns", label: "dns", detail: "2001:db8:b::53", x: 710, y: 190),
    ]

    private static let nodes = [
        Node(id: "client", label: "browser", detail: "192.0.2.10", x: 70, y: 50),
        Node(id: "laptop", label: "laptop", detail: "192.0.2.20", x: 70, y: 190),
        Node(id: "hub", label: "hub", detail: "", x: 230, y: 120),
        Node(id: "router", label: "router", detail: ".1 | .1", x: 390, y: 120),
        Node(id: "switch", label: "switch", detail: "", x: 550, y: 120),
        Node(id: "server", label: "server", detail: "198.51.100.10", x: 710, y: 50),
        Node(id: "dns", label: "dns", detail: "198.51.100.53", x: 710, y: 190),
    ]

    /// The cables by their simulator names ("a-b").
    static let cables = ["client-hub", "laptop-hub", "router-hub", "router-switch", "server-switch", "dns-switch"]

    /// The network as SVG: one `<line id="cable-NAME">` per cable, one group per device, each
    /// host labelled with its IPv4 address (or, with `ipv6`, its IPv6 one). Constant.
    static func network(ipv6: Bool = false) -> String {
        let nodes = ipv6 ? nodes6 : nodes
        var svg = #"<svg id="net" viewBox="0 0 780 240" role="img" aria-label="network: browser and laptop on a hub, router, switch with server and dns">"#
        for cable in cables {
            let ends = cable.split(separator: "-").map(String.init)
            guard let a = nodes.first(where: { $0.id == ends[0] }), let b = nodes.first(where: { $0.id == ends[1] }) else { continue }
            svg += #"<line class="cable" id="cable-\#(cable)" x1="\#(a.x)" y1="\#(a.y)" x2="\#(b.x)" y2="\#(b.y)"/>"#
        }
        for node in nodes {
            let shape = ["hub", "switch"].contains(node.id)
                ? #"<rect x="\#(node.x - 34)" y="\#(node.y - 16)" width="68" height="32" rx="4"/>"#
                : node.id == "router"
                ? #"<circle cx="\#(node.x)" cy="\#(node.y)" r="26"/>"#
                : #"<rect x="\#(node.x - 48)" y="\#(node.y - 22)" width="96" height="44" rx="8"/>"#
            svg += #"<g class="node" id="node-\#(node.id)">\#(shape)"#
            let labelY = node.detail.isEmpty ? node.y + 5 : node.y - 2
            svg += #"<text x="\#(node.x)" y="\#(labelY)">\#(node.label)</text>"#
            if !node.detail.isEmpty { svg += #"<text class="small" x="\#(node.x)" y="\#(node.y + 14)">\#(node.detail)</text>"# }
            svg += "</g>"
        }
        svg += #"<circle id="packet" r="7" cx="-20" cy="-20"/></svg>"#
        return svg
    }

    /// The Manchester-coded `bytes` as SVG: the signal, each bit under its cell,
    /// each byte's hex and field name beneath. O(bits).
    static func signal(_ bytes: [UInt8]) -> String {
        let levels = ManchesterCode.encode(bytes)
        let cell = 12, high = 20, low = 60, left = 10
        let width = left * 2 + levels.count / 2 * cell
        var svg = #"<svg id="signal-svg" viewBox="0 0 \#(width) 150" role="img" aria-label="Manchester-coded signal">"#
        var points = ""
        var y = levels.first == .high ? high : low
        points += "\(left),\(y)"
        for (index, level) in levels.enumerated() {
            let x = left + index * cell / 2
            let levelY = level == .high ? high : low
            if levelY != y { points += " \(x),\(levelY)"; y = levelY }
            points += " \(x + cell / 2),\(y)"
        }
        svg += #"<polyline class="wave" points="\#(points)"/>"#
        for (byteIndex, byte) in bytes.enumerated() {
            for bit in 0..<8 {
                // Ethernet sends each byte's least significant bit first.
                let value = (byte >> bit) & 1
                let x = left + (byteIndex * 8 + bit) * cell + cell / 2
                svg += #"<text class="bit" x="\#(x)" y="82">\#(value)</text>"#
            }
            let x = left + byteIndex * 8 * cell
            svg += #"<line class="byte-edge" x1="\#(x)" y1="8" x2="\#(x)" y2="110"/>"#
            svg += #"<text class="byte" x="\#(x + 4 * cell)" y="104">\#(hex(byte, 2))</text>"#
        }
        for field in ManchesterCode.ethernetFields(count: bytes.count) {
            let x = left + (field.bytes.lowerBound + field.bytes.upperBound) * 4 * cell  // the field's middle
            svg += #"<text class="sigfield" x="\#(x)" y="132">\#(field.name)</text>"#
        }
        return svg + "</svg>"
    }
}
