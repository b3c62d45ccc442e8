// TCP options (RFC 9293 §3.1, RFC 7323, RFC 2018): the option lists Linux
// sends, the order and alignment emit must reproduce, and every malformed
// option list the parser must refuse.

import NetStackTestSupport
import NetStackWire
import Testing

private func parseOptions(_ bytes: [UInt8]) throws(WireError) -> TCPOptions {
    try bytes.withUnsafeBytes { raw in Result { () throws(WireError) in try TCPOptions.parse(raw) } }.get()
}

private func optionError(_ bytes: [UInt8]) -> WireError? {
    tcpError { () throws(WireError) in try parseOptions(bytes) }
}

private func emitOptions(_ options: TCPOptions, capacity: Int = 40) -> [UInt8] {
    var bytes = [UInt8](repeating: 0xEE, count: capacity)
    let written = bytes.withUnsafeMutableBytes { options.emit(into: $0) }
    return Array(bytes[0..<written])
}

// The option bytes of tcp-http-session #1 (SYN), #2 (SYN-ACK) and #3 (ACK), as tshark -x shows them.
private let synOptionBytes: [UInt8] = [0x02, 0x04, 0x03, 0xC0, 0x04, 0x02, 0x08, 0x0A, 0x95, 0xCA, 0x23, 0xF4,
                                       0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0A]
private let synAckOptionBytes: [UInt8] = [0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x08, 0x0A, 0xE1, 0xA3, 0xBD, 0xD1,
                                          0x95, 0xCA, 0x23, 0xF4, 0x01, 0x03, 0x03, 0x0A]
private let ackOptionBytes: [UInt8] = [0x01, 0x01, 0x08, 0x0A, 0x95, 0xCA, 0x23, 0xF4, 0xE1, 0xA3, 0xBD, 0xD1]

@Suite("TCP options Linux sends")
struct TCPOptionsCaptureTests {
    @Test("the captured SYN's option bytes are exactly what the test expects (guards the literals)")
    func literalsMatchCapture() throws {
        #expect(Array(try CapturedTCPSegment("tcp-http-session", 1).bytes[20..<40]) == synOptionBytes)
        #expect(Array(try CapturedTCPSegment("tcp-http-session", 2).bytes[20..<40]) == synAckOptionBytes)
        #expect(Array(try CapturedTCPSegment("tcp-http-session", 3).bytes[20..<32]) == ackOptionBytes)
    }

    @Test("a SYN's options: MSS 960, SACK-permitted, timestamps, NOP, window scale 10")
    func synOptions() throws {
        let options = try parseOptions(synOptionBytes)
        #expect(options == TCPOptions(mss: 960, windowScale: 10, sackPermitted: true,
                                      timestamps: TCPTimestamps(value: 2_513_052_660, echo: 0)))
        #expect(options.description == "mss 960,sackOK,TS val 2513052660 ecr 0,wscale 10")
    }

    @Test("emit writes Linux's SYN and SYN-ACK option lists byte for byte")
    func emitSyn() {
        #expect(emitOptions(TCPOptions(mss: 960, windowScale: 10, sackPermitted: true,
                                       timestamps: TCPTimestamps(value: 2_513_052_660, echo: 0))) == synOptionBytes)
        #expect(emitOptions(TCPOptions(mss: 1460, windowScale: 10, sackPermitted: true,
                                       timestamps: TCPTimestamps(value: 3_785_604_561, echo: 2_513_052_660)))
            == synAckOptionBytes)
    }

    @Test("emit writes NOP, NOP, timestamps for a data segment")
    func emitAck() {
        let options = TCPOptions(timestamps: TCPTimestamps(value: 2_513_052_660, echo: 3_785_604_561))
        #expect(options.encodedLength == 12)
        #expect(emitOptions(options) == ackOptionBytes)
    }
}

@Suite("TCP option layout")
struct TCPOptionLayoutTests {
    @Test("without timestamps, SACK-permitted is aligned by two NOPs")
    func sackPermittedAlone() {
        #expect(emitOptions(TCPOptions(mss: 1460, windowScale: 7, sackPermitted: true))
            == [2, 4, 0x05, 0xB4, 1, 1, 4, 2, 1, 3, 3, 7])
    }

    @Test("no options encode to nothing")
    func empty() {
        #expect(TCPOptions().encodedLength == 0)
        #expect(emitOptions(TCPOptions()).isEmpty)
        #expect(TCPOptions().isEmpty)
    }

    @Test("SACK blocks follow the timestamps behind two NOPs (RFC 2018 §3)")
    func sackBlocks() throws {
        let options = TCPOptions(timestamps: TCPTimestamps(value: 1, echo: 2),
                                 sackBlocks: [TCPSACKBlock(left: 5500, right: 6000), TCPSACKBlock(left: 6500, right: 7000)])
        let bytes = emitOptions(options)
        #expect(bytes == [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
                          1, 1, 5, 18, 0, 0, 0x15, 0x7C, 0, 0, 0x17, 0x70, 0, 0, 0x19, 0x64, 0, 0, 0x1B, 0x58])
        #expect(options.encodedLength == bytes.count)
        #expect(try parseOptions(bytes) == options)
    }

    @Test("with timestamps only three SACK blocks fit in 40 bytes; the first ones are kept")
    func sackBlocksThatDoNotFit() throws {
        let blocks: TCPSACKBlocks = [TCPSACKBlock(left: 1, right: 2), TCPSACKBlock(left: 3, right: 4),
                                     TCPSACKBlock(left: 5, right: 6), TCPSACKBlock(left: 7, right: 8)]
        let withTimestamps = TCPOptions(timestamps: TCPTimestamps(value: 9, echo: 10), sackBlocks: blocks)
        #expect(withTimestamps.encodedLength == 40)
        let parsed = try parseOptions(emitOptions(withTimestamps))
        #expect(Array(parsed.sackBlocks) == Array(blocks.prefix(3)))
        let withoutTimestamps = TCPOptions(sackBlocks: blocks)
        #expect(withoutTimestamps.encodedLength == 36)
        #expect(try parseOptions(emitOptions(withoutTimestamps)).sackBlocks == blocks)
        #expect(withTimestamps.encodedLength(within: 24) == 24)  // one block next to the timestamps
        #expect(emitOptions(withTimestamps, capacity: 24).count == 24)
    }

    @Test("a header built with options has data offset 5 + options / 4")
    func headerLength() {
        var header = TCPHeader(sourcePort: 1, destinationPort: 2, sequenceNumber: 0, flags: .syn, window: 0,
                               options: TCPOptions(mss: 1460))
        #expect(header.headerLength == 24)
        header.options.timestamps = TCPTimestamps(value: 1, echo: 0)
        #expect(header.headerLength == 36)
    }

    @Test("the SACK block collection holds up to four blocks inline and compares only those held")
    func sackBlockCollection() {
        var blocks = TCPSACKBlocks()
        #expect(blocks.isEmpty)
        blocks.append(TCPSACKBlock(left: 10, right: 20))
        blocks.append(TCPSACKBlock(left: 30, right: 40))
        #expect(blocks.count == 2)
        #expect(blocks[1] == TCPSACKBlock(left: 30, right: 40))
        var other: TCPSACKBlocks = [TCPSACKBlock(left: 10, right: 20), TCPSACKBlock(left: 30, right: 40),
                                    TCPSACKBlock(left: 50, right: 60)]
        #expect(blocks != other)
        other.removeAll()
        other.append(TCPSACKBlock(left: 10, right: 20))
        other.append(TCPSACKBlock(left: 30, right: 40))
        #expect(blocks == other)  // the stale third slot does not count
        #expect(blocks.hashValue == other.hashValue)
    }
}

@Suite("TCP option parsing rules")
struct TCPOptionParsingTests {
    @Test("the aligned NOP, NOP, timestamps layout reads as the same option in any other spelling")
    func alignedTimestampsMatchTheGeneralWalk() throws {
        let aligned = try parseOptions(ackOptionBytes)
        #expect(aligned == TCPOptions(timestamps: TCPTimestamps(value: 2_513_052_660, echo: 3_785_604_561)))
        // Timestamps first, the NOPs after, and timestamps followed by End of Option List:
        // twelve bytes each, not the aligned layout, so the list is walked.
        #expect(try parseOptions(Array(ackOptionBytes[2...]) + [1, 1]) == aligned)
        #expect(try parseOptions(Array(ackOptionBytes[2...]) + [0, 0]) == aligned)
        // The aligned layout cut to 11 bytes, and twelve bytes with the wrong timestamps length,
        // are still refused as the walk refuses them.
        #expect(optionError([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0]) == .badOption(.tcp, kind: 8, offset: 22))
        #expect(optionError([1, 1, 8, 11, 0, 0, 0, 1, 0, 0, 0, 2]) == .badOption(.tcp, kind: 8, offset: 22))
    }

    @Test("timestamps of any value: the aligned layout reads as a reordered spelling, and emit then parse returns them")
    func alignedTimestampsRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let edges: [(UInt32, UInt32)] = [(0, 0), (.max, .max), (0, .max), (.max, 0)]
        let values = edges + (0..<200).map { _ in (UInt32.random(in: .min ... .max, using: &generator),
                                                   UInt32.random(in: .min ... .max, using: &generator)) }
        for (value, echo) in values {
            let options = TCPOptions(timestamps: TCPTimestamps(value: value, echo: echo))
            let bytes = emitOptions(options)
            #expect(Array(bytes[0..<4]) == [1, 1, 8, 10])
            #expect(try parseOptions(bytes) == options)
            #expect(try parseOptions(Array(bytes[2...]) + [1, 1]) == options)
        }
    }

    @Test("a window scale above 14 is read as 14 (RFC 7323 §2.3)", arguments: [15, 16, 100, 255])
    func windowScaleClamped(shift: Int) throws {
        #expect(try parseOptions([3, 3, UInt8(shift), 0]).windowScale == 14)
    }

    @Test("a window scale of 14 or less is read as sent", arguments: 0...14)
    func windowScaleKept(shift: Int) throws {
        #expect(try parseOptions([1, 3, 3, UInt8(shift)]).windowScale == UInt8(shift))
    }

    @Test("End of Option List stops the walk: what follows is padding, even if it looks malformed")
    func endOfList() throws {
        let options = try parseOptions([2, 4, 0x02, 0x18, 0, 0xFF, 0x01, 0x00])
        #expect(options == TCPOptions(mss: 536))
    }

    @Test("unknown kinds are skipped by their length")
    func unknownKinds() throws {
        // kind 30 (MPTCP) length 4, kind 34 (TFO cookie) length 10, then MSS.
        let options = try parseOptions([30, 4, 0x11, 0x22, 34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 2, 4, 0x05, 0xB4])
        #expect(options == TCPOptions(mss: 1460))
    }

    @Test("a kind given twice: the later one wins")
    func duplicateKind() throws {
        #expect(try parseOptions([2, 4, 0x05, 0xB4, 2, 4, 0x02, 0x18]).mss == 536)
    }

    @Test("SACK options of 1 to 4 blocks parse (RFC 2018 §3)", arguments: 1...4)
    func sackBlockCounts(count: Int) throws {
        var bytes: [UInt8] = [5, UInt8(2 + 8 * count)]
        for i in 0..<count {
            bytes += [0, 0, 0, UInt8(2 * i), 0, 0, 0, UInt8(2 * i + 1)]
        }
        let options = try parseOptions(bytes)
        #expect(options.sackBlocks.count == count)
        #expect(options.sackBlocks.last == TCPSACKBlock(left: SequenceNumber(UInt32(2 * count - 2)),
                                                        right: SequenceNumber(UInt32(2 * count - 1))))
    }
}

@Suite("TCP option errors")
struct TCPOptionErrorTests {
    @Test("an option length of 0 or 1 is refused, with the option's header offset", arguments: [0, 1])
    func lengthBelowTwo(length: Int) {
        #expect(optionError([1, 1, 8, UInt8(length), 0, 0, 0, 0]) == .badOption(.tcp, kind: 8, offset: 22))
        #expect(optionError([30, UInt8(length), 0, 0]) == .badOption(.tcp, kind: 30, offset: 20))
    }

    @Test("an option running past the end of the header is refused")
    func pastTheEnd() {
        #expect(optionError([1, 1, 8, 10, 0, 0, 0, 0]) == .badOption(.tcp, kind: 8, offset: 22))
        #expect(optionError([30, 9, 0, 0, 0, 0, 0, 0]) == .badOption(.tcp, kind: 30, offset: 20))
    }

    @Test("an option whose length byte is missing is refused")
    func missingLength() {
        #expect(optionError([1, 1, 1, 2]) == .badOption(.tcp, kind: 2, offset: 23))
        #expect(optionError([1, 1, 1, 99]) == .badOption(.tcp, kind: 99, offset: 23))
    }

    @Test("MSS, window scale, SACK-permitted and timestamps must have their fixed length", arguments: [
        (2, [3, 5, 6]), (3, [2, 4]), (4, [3, 4]), (8, [8, 9, 11, 12]),
    ] as [(UInt8, [Int])])
    func wrongFixedLength(kind: UInt8, lengths: [Int]) {
        for length in lengths {
            let bytes = [kind, UInt8(length)] + [UInt8](repeating: 0, count: 14)
            #expect(optionError(bytes) == .badOption(.tcp, kind: kind, offset: 20), "length \(length)")
        }
    }

    @Test("a SACK length that is not 2 + 8n with n of 1 to 4 is refused", arguments: [2, 3, 9, 11, 17, 19, 33, 35])
    func badSackLength(length: Int) {
        let bytes = [UInt8(5), UInt8(length)] + [UInt8](repeating: 0, count: 38)
        #expect(optionError(bytes) == .badOption(.tcp, kind: 5, offset: 20))
    }

    @Test("random option lists only parse or throw badOption; what parses re-encodes to the same options")
    func randomOptionLists() throws {
        var state: UInt64 = 0x0971_0175
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var parsed = 0
        for _ in 0..<4000 {
            let length = 4 * next(11)
            let bytes = (0..<length).map { _ in
                next(3) == 0 ? UInt8(next(256)) : [0, 1, 1, 2, 3, 4, 5, 8, 2, 3, 4, 8, 10, 18][next(14)]
            }
            let options: TCPOptions
            do throws(WireError) {
                options = try parseOptions(bytes)
            } catch {
                guard case .badOption(.tcp, _, let offset) = error else {
                    Issue.record("unexpected \(error) for \(bytes)")
                    continue
                }
                #expect(offset >= 20 && offset < 20 + length)
                continue
            }
            parsed += 1
            if options.encodedLength(within: 40) == options.fixedEncodedLengthForTest + 4 + 8 * options.sackBlocks.count
                || options.sackBlocks.isEmpty {
                #expect(try parseOptions(emitOptions(options)) == options)
            }
        }
        #expect(parsed > 400)
    }
}

extension TCPOptions {
    /// The option bytes without SACK blocks, computed independently of the code under test.
    fileprivate var fixedEncodedLengthForTest: Int {
        (mss == nil ? 0 : 4) + (timestamps != nil ? 12 : sackPermitted ? 4 : 0) + (windowScale == nil ? 0 : 4)
    }
}
