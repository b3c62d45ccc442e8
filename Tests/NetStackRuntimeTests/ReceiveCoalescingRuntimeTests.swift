import Glibc
import NetStackCore
import NetStackRuntime
import NetStackTestSupport
import NetStackWire
import Testing

/// Receive coalescing in a running stack: two runtimes on an in-memory TAP pair, a bulk
/// transfer from one to the other, the receiver's capture read back frame by frame.
@Suite(.timeLimit(.minutes(1)))
struct ReceiveCoalescingRuntimeTests {
    typealias Support = DeviceTestSupport

    /// One TCP frame of the capture, as seen on the wire.
    struct Seen {
        var fromReceiver: Bool
        var sequence: UInt32, acknowledgment: UInt32, payload: Int
    }

    /// Sends `count` bytes from a fresh runtime to one that records a capture (coalescing as
    /// configured); returns the receiver's counters and the TCP frames of its capture, in order.
    static func transfer(_ count: Int, coalescing: Bool) throws -> (coalesced: Int, framesIn: Int, framesOut: Int, seen: [Seen]) {
        let path = "/tmp/netstack-coalescing-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).pcap"
        defer { unlink(path) }
        let (left, right) = try MemoryDevice.pair(kind: .tap)
        let sender = Support.start(try StackRuntime(RuntimeConfiguration(device: .device(left), address: Support.first, prefixLength: 24)))
        var configuration = RuntimeConfiguration(device: .device(right), address: Support.second, prefixLength: 24)
        configuration.pcapPath = path
        configuration.receiveCoalescing = coalescing
        let receiver = Support.start(try StackRuntime(configuration))
        let data = Support.payload(count, seed: 5)
        let received = try Support.transfer(data, from: sender, to: receiver, at: Support.second)
        Support.stop(sender, receiver)
        #expect(received == data)
        let records = try PcapReader.parse(try Fixtures.fileBytes(path))
        let seen = records.compactMap { record -> Seen? in
            record.data.withUnsafeBytes { frame -> Seen? in
                let packet = UnsafeRawBufferPointer(rebasing: frame[EthernetHeader.length...])
                guard let ip = try? IPv4Header.parse(packet), ip.protocol == .tcp,
                      let tcp = try? TCPHeader.parse(UnsafeRawBufferPointer(rebasing: packet[ip.headerLength..<ip.totalLength]),
                                                     source: ip.source, destination: ip.destination)
                else { return nil }
                return Seen(fromReceiver: ip.source == Support.second, sequence: tcp.sequenceNumber.rawValue,
                            acknowledgment: tcp.acknowledgmentNumber.rawValue,
                            payload: ip.totalLength - ip.headerLength - tcp.headerLength)
            }
        }
        #expect(records.count == receiver.framesIn + receiver.framesOut, "one record per frame that crossed the device")
        return (receiver.framesCoalesced, receiver.framesIn, receiver.framesOut, seen)
    }

    @Test func aBulkTransferArrivesWholeWithItsSegmentsGluedAndEachFrameCaptured() throws {
        let result = try Self.transfer(2_000_000, coalescing: true)
        #expect(result.coalesced > 0)
        let dataFrames = result.seen.filter { !$0.fromReceiver && $0.payload > 0 }
        #expect(dataFrames.count >= 2_000_000 / 1460, "the capture shows the sender's segments, not the glued ones")
        #expect(dataFrames.allSatisfy { $0.payload <= 1460 })
    }

    @Test func theACKsAfterEachBatchCoverAllDataReadBeforeThem() throws {
        // The capture is in the order the loop worked: a batch's frames as read, then what the
        // stack sent after TCP input. In order and with no loss, the last of the receiver's frames
        // sent after a batch must acknowledge every byte read before it but at most one full
        // segment (RFC 5681 §4.2 lets one wait; a run cut by the 64 KiB bound can leave one
        // behind): a glued run of N segments is acknowledged at once, not left to the delayed-ACK
        // timer. A lone segment may wait for the next batch: at most two batches (128 frames) pass
        // unacknowledged.
        let result = try Self.transfer(2_000_000, coalescing: true)
        var highest: UInt32?, lastAck: UInt32?
        var unacknowledged = 0, longest = 0, behind = 0
        var previousFromReceiver = false
        for frame in result.seen {
            if frame.fromReceiver {
                lastAck = frame.acknowledgment
                unacknowledged = 0
            } else if frame.payload > 0 {
                if previousFromReceiver, let highest, let lastAck, Int32(bitPattern: highest &- lastAck) > 1460 { behind += 1 }
                highest = frame.sequence &+ UInt32(frame.payload)
                unacknowledged += 1
                longest = max(longest, unacknowledged)
            }
            previousFromReceiver = frame.fromReceiver
        }
        #expect(behind == 0)
        #expect(longest <= 128)
    }

    @Test func withCoalescingOffNothingIsGlued() throws {
        let result = try Self.transfer(300_000, coalescing: false)
        #expect(result.coalesced == 0)
    }
}
