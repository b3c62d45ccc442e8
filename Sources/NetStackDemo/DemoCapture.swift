import NetStackWire
import NetStackCore
import NetStackDevices
import NetStackSimulator

/// The demo's captures, from one tap per cable.
///
/// Two views come out of them. The browser's: the frames on the browser's
/// cable, as `tcpdump` on the browser would record them — everything it sent,
/// and everything the hub repeated to it except the frames its adapter never
/// passed up (damaged, failing the FCS check, or lost on that cable). Every
/// segment of the TCP connection appears once, so Wireshark's analysis reads
/// it as it happened. And the network's: every frame on every cable, once per
/// cable it crossed (a forwarded packet appears on both LANs, TTL 64 and 63).
final class DemoCapture {
    private let cables: [Link]
    private let taps: [PcapTap]
    private var bytes: [[UInt8]]
    /// The browser's cable, and the hub at its far end.
    private let browserCable: Link
    private let hub: String
    private let browserMAC: MACAddress
    /// Frames the hub has sent toward the browser, and those of them that did not arrive intact.
    private var hubToBrowser = 0
    private var undelivered: Set<Int> = []

    init(_ net: TwoLANNetwork) {
        cables = net.cables
        taps = net.cables.map { $0.startCapture() }
        bytes = Array(repeating: [], count: net.cables.count)
        browserCable = net.clientCable
        hub = net.hub.name
        browserMAC = net.client.host.adapters[0].mac
    }

    /// Counts the frames the hub sends toward the browser (told before the cable carries each).
    func willTransmit(node: String, linkName: String) {
        if node == hub && linkName == browserCable.name { hubToBrowser += 1 }
    }

    /// Notes a frame toward the browser that its cable lost or damaged (told while the cable carries it).
    func linkReported(_ event: DeviceEvent) {
        switch event {
        case let .linkLost(name, .bToA, _), let .linkCorrupted(name, .bToA, _):
            if name == browserCable.name { undelivered.insert(hubToBrowser) }
        default:
            break
        }
    }

    /// Takes what the taps wrote so far (call when no cable is busy, so no frame is held back).
    func take() {
        for index in taps.indices { bytes[index] += taps[index].takeBytes() }
    }

    /// The frames on the browser's cable that its adapter sent or passed up, in order.
    func browserRecords() -> [PcapRecord] {
        browserCableRecords().filter(\.delivered).map(\.record)
    }

    /// Every frame on the browser's cable, in order, each with whether the
    /// browser's adapter sent it or passed it up (false: lost or damaged on the way).
    func browserCableRecords() -> [(record: PcapRecord, delivered: Bool)] {
        guard let records = try? PcapReader.parse(bytes[cables.firstIndex { $0 === browserCable } ?? 0]) else { return [] }
        var fromHub = 0
        return records.map { record in
            let sentByBrowser = record.data.count >= 12 && Array(record.data[6..<12]) == browserMAC.octets
            if sentByBrowser { return (record, true) }
            fromHub += 1
            return (record, !undelivered.contains(fromHub))
        }
    }

    /// Every cable's frames with the cable's name, merged in time order (ties in cable order).
    func cableRecords() -> [(cable: String, record: PcapRecord)] {
        var all: [(record: PcapRecord, cable: Int, index: Int)] = []
        for (cable, file) in bytes.enumerated() {
            guard let records = try? PcapReader.parse(file) else { continue }
            all += records.enumerated().map { ($0.element, cable, $0.offset) }
        }
        all.sort { ($0.record.nanoseconds, $0.cable, $0.index) < ($1.record.nanoseconds, $1.cable, $1.index) }
        return all.map { (cables[$0.cable].name, $0.record) }
    }

    /// The browser's view as a classic pcap file.
    func browserView() -> [UInt8] { Self.file(browserRecords()) }

    /// Every cable's frames, merged in time order (ties in cable order), as a classic pcap file.
    func network() -> [UInt8] { Self.file(cableRecords().map(\.record)) }

    private static func file(_ records: [PcapRecord]) -> [UInt8] {
        var writer = PcapWriter()
        for record in records { writer.append(record.data, nanoseconds: record.nanoseconds) }
        return writer.takeBytes()
    }
}
