import Foundation
import NetStackCore
import NetStackDevices
import NetStackSimulator
import NetStackWire
import Testing

private let tsharkPath = "/usr/bin/tshark"

/// Runs tshark over `pcap` with `arguments` and returns its standard output.
private func tshark(_ pcap: [UInt8], _ arguments: [String]) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("netstack-tap-\(UUID().uuidString).pcap")
    try Data(pcap).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tsharkPath)
    process.arguments = ["-r", file.path] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = Pipe()
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite("Pcap tap")
struct PcapTapTests {
    @Test("frames are recorded at their transmit start, with the FCS stripped")
    func recordsTransmitStartWithoutFCS() throws {
        let link = testLink(LinkConfig(bitsPerSecond: 10_000_000, propagationDelay: .milliseconds(1), fcs: true))
        let tap = link.startCapture()
        let frames = (0..<3).map { ethernetFrame(to: mac(2), from: mac(1), length: 996, fill: UInt8($0), fcs: true) }
        _ = transmitAll(link, frames.map { (.zero, $0) })
        let records = try PcapReader.parse(tap.takeBytes())
        #expect(records.map(\.nanoseconds) == [0, 800_000, 1_600_000])
        #expect(records.map(\.data) == frames.map { Array($0.dropLast(4)) })
        #expect(records.allSatisfy { $0.originalLength == 996 })
    }

    @Test("lost and corrupted frames are captured as they were sent")
    func capturesWhatWasSent() throws {
        let link = testLink(LinkConfig(fcs: true, corruptFrames: [1], dropFrames: [2]))
        let tap = link.startCapture()
        let frames = (0..<3).map { ethernetFrame(to: mac(2), from: mac(1), fill: UInt8($0), fcs: true) }
        _ = transmitAll(link, frames.map { (.zero, $0) })
        #expect(try PcapReader.parse(tap.takeBytes()).map(\.data) == frames.map { Array($0.dropLast(4)) })
    }

    @Test("links without FCS are captured whole")
    func keepsFramesWithoutFCS() throws {
        let link = testLink(.ideal)
        let tap = link.startCapture()
        let frame = ethernetFrame(to: mac(2), from: mac(1))
        _ = transmitAll(link, [(.zero, frame)])
        #expect(try PcapReader.parse(tap.takeBytes()).map(\.data) == [frame])
    }

    @Test("a tap shared by several links writes one file in time order")
    func sharedTapInTimeOrder() throws {
        let sim = Simulator(seed: 1)
        let h1 = Recorder(name: "h1"), h2 = Recorder(name: "h2")
        let hub = Hub(name: "hub", portCount: 2)
        let slow = LinkConfig(bitsPerSecond: 1_000_000, propagationDelay: .microseconds(10))
        let tap = PcapTap()
        sim.connect(h1, 0, hub, 0, config: slow).tap = tap
        sim.connect(h2, 0, hub, 1, config: slow).tap = tap
        // Three frames queue on h1's link; the hub repeats each as it arrives.
        h1.timed = (0..<3).map { (.zero, 0, ethernetFrame(to: mac(2), from: mac(1), length: 125, fill: UInt8($0))) }
        sim.runUntilIdle(limit: .seconds(1))
        let records = try PcapReader.parse(tap.takeBytes())
        #expect(records.count == 6)
        #expect(records.map(\.nanoseconds) == [0, 1_000_000, 1_010_000, 2_000_000, 2_010_000, 3_010_000])
        #expect(records.map { $0.data[14] } == [0, 1, 0, 2, 1, 2])
    }

    @Test("tshark decodes a simulated capture without malformed packets or stray FCS bytes",
          .enabled(if: FileManager.default.isExecutableFile(atPath: tsharkPath)))
    func tsharkDecodes() throws {
        let sim = Simulator(seed: 4)
        let h1 = Recorder(name: "h1"), h2 = Recorder(name: "h2")
        let sw = LearningSwitch(name: "sw", portCount: 2, fcs: true)
        let tap = PcapTap()
        sim.connect(h1, 0, sw, 0, config: .fastEthernet).tap = tap
        sim.connect(h2, 0, sw, 1, config: .fastEthernet).tap = tap
        h1.timed = (0..<5).map { n in (Instant.milliseconds(Int64(n)), 0, udpFrame(id: UInt16(n), to: mac(2), from: mac(1), fcs: true)) }
        sim.runUntilIdle(limit: .seconds(1))
        let pcap = tap.takeBytes()
        let summary = try tshark(pcap, [])
        #expect(summary.split(separator: "\n").count == 10)
        #expect(!summary.contains("Malformed"))
        #expect(summary.contains("UDP"))
        // No trailer and no FCS field: the frames end exactly where the IP datagram does.
        let fields = try tshark(pcap, ["-o", "udp.check_checksum:TRUE", "-T", "fields",
                                       "-e", "eth.trailer", "-e", "eth.fcs", "-e", "udp.checksum.status"])
        #expect(fields.split(separator: "\n").allSatisfy { $0 == "\t\t1" })
    }
}
