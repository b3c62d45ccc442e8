import Testing
import NetStackDemo

@Suite("LineSignal: Manchester code as 10BASE-T sends it")
struct LineSignalTests {
    /// "LH HL" → [.low, .high, .high, .low]: levels written by hand, one bit cell per word.
    static func levels(_ text: String) -> [SignalLevel] {
        text.compactMap { $0 == "L" ? .low : $0 == "H" ? .high : nil }
    }

    /// A seeded generator (SplitMix64), so a failure can be replayed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    /// The frame start of an ARP request: broadcast destination, a source MAC, EtherType 0x0806.
    static let arpFrame: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x5E, 0x00, 0x00, 0x0A,
                                    0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04]

    /// `line` without ANSI escape sequences.
    static func visible(_ line: String) -> String {
        var result = "", inEscape = false
        for character in line {
            if character == "\u{1B}" { inEscape = true; continue }
            if inEscape { if character == "m" { inEscape = false }; continue }
            result.append(character)
        }
        return result
    }

    // Derived from IEEE 802.3 7.3.1.1 by hand: 0x55 leaves LSB first as 1,0,1,0,1,0,1,0;
    // a 1 is low then high, a 0 high then low.
    @Test("a preamble byte 0x55 is 1,0,1,0,… LSB first: a square wave with transitions only mid-bit")
    func preambleByte() {
        #expect(ManchesterCode.encode([0x55]) == Self.levels("LH HL LH HL LH HL LH HL"))
    }

    // 0xD5 = 1101 0101: LSB first 1,0,1,0,1,0,1,1 — the two final 1s break the square wave.
    @Test("the start frame delimiter 0xD5 ends in two 1s, with a transition between their cells")
    func startFrameDelimiter() {
        #expect(ManchesterCode.encode([ManchesterCode.startFrameDelimiter]) == Self.levels("LH HL LH HL LH HL LH LH"))
    }

    @Test("0x00 and 0xFF are high→low and low→high in every cell")
    func constantBytes() {
        #expect(ManchesterCode.encode([0x00]) == Self.levels("HL HL HL HL HL HL HL HL"))
        #expect(ManchesterCode.encode([0xFF]) == Self.levels("LH LH LH LH LH LH LH LH"))
        #expect(ManchesterCode.encode([0x01]) == Self.levels("LH HL HL HL HL HL HL HL"))
    }

    @Test("decoding what was encoded gives the same bytes back, for seeded random inputs")
    func roundTrip() throws {
        var generator = Generator(state: 0x4e53_7461_636b)
        for length in [0, 1, 2, 7, 64, 1514] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let levels = ManchesterCode.encode(bytes)
            #expect(levels.count == 16 * length)
            #expect(try ManchesterCode.decode(levels) == bytes)
        }
    }

    @Test("the start of a frame, as the adapter signals it, decodes to preamble, SFD and the header bytes")
    func frameStartRoundTrip() throws {
        let bytes = ManchesterCode.signalBytes(forFrame: Self.arpFrame, headerBytes: 14)
        #expect(bytes == [0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0xD5] + Self.arpFrame.prefix(14))
        #expect(try ManchesterCode.decode(ManchesterCode.encode(bytes)) == bytes)
        #expect(ManchesterCode.signalBytes(forFrame: [0x01, 0x02], headerBytes: 14).count == 10)
        #expect(ManchesterCode.signalBytes(forFrame: [0x01, 0x02], headerBytes: -3).count == 8)
    }

    @Test("a flipped half-bit removes that cell's transition and is reported as a code violation at its bit")
    func codeViolation() {
        var generator = Generator(state: 7)
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let levels = ManchesterCode.encode(bytes)
        for half in [0, 1, 17, 100, levels.count - 1] {
            var damaged = levels
            damaged[half] = damaged[half].flipped
            #expect(throws: ManchesterError.codeViolation(bit: half / 2)) { try ManchesterCode.decode(damaged) }
        }
    }

    @Test("a signal cut inside a bit cell or inside a byte is rejected, not decoded")
    func truncatedSignal() {
        let levels = ManchesterCode.encode([0xD5, 0x42])
        #expect(throws: ManchesterError.incompleteBitCell(halfBits: 31)) { try ManchesterCode.decode(Array(levels.prefix(31))) }
        #expect(throws: ManchesterError.incompleteByte(bits: 12)) { try ManchesterCode.decode(Array(levels.prefix(24))) }
    }

    @Test("the Ethernet fields cover preamble, SFD and the header in order, clipped to the bytes drawn")
    func ethernetFields() {
        let fields = ManchesterCode.ethernetFields(count: 16)
        #expect(fields.map(\.name) == ["preamble", "SFD", "destination MAC", "source MAC"])
        #expect(fields.map(\.bytes) == [0..<7, 7..<8, 8..<14, 14..<16])
        #expect(ManchesterCode.ethernetFields(count: 24).last == SignalField("payload", bytes: 22..<24))
    }

    @Test("no drawn line is wider than the terminal, and each signal line is margin + 4 columns per bit")
    func renderWidths() {
        let bytes = ManchesterCode.signalBytes(forFrame: Self.arpFrame, headerBytes: 14)
        let levels = ManchesterCode.encode(bytes)
        let fields = ManchesterCode.ethernetFields(count: bytes.count)
        for width in [80, 78, 60, 40, 24] {
            for color in [false, true] {
                let lines = ManchesterCode.render(levels, bytes: bytes, fields: fields, fromByte: 6, width: width, color: color)
                for line in lines { #expect(Self.visible(line).count <= width, "width \(width): \(line)") }
            }
            let lines = ManchesterCode.render(levels, bytes: bytes, fields: fields, fromByte: 6, width: width, color: false)
            let blocks = lines.drop(while: { !$0.hasPrefix(" ") }).split(separator: "", omittingEmptySubsequences: false)
            var bitsDrawn = 0
            for block in blocks {
                #expect(block.count == 5)
                guard block.count == 5 else { continue }
                let signal = Array(block.suffix(2))
                let columns = signal[0].count
                #expect(signal[1].count == columns)
                #expect((columns - 8) % 4 == 0, "8-column margin and 4 columns per bit")
                bitsDrawn += (columns - 8) / 4
            }
            #expect(bitsDrawn == (bytes.count - 6) * 8)
        }
    }

    @Test("two whole bytes per block fit an 80-column terminal")
    func twoBytesPerBlockAt80() {
        let bytes = ManchesterCode.signalBytes(forFrame: Self.arpFrame, headerBytes: 6)
        let lines = ManchesterCode.render(ManchesterCode.encode(bytes), bytes: bytes, fromByte: 6, width: 80, color: false)
        #expect(lines.filter { $0.hasPrefix("byte") }.count == 4)
        #expect(lines.contains("byte    0x55                            0xD5"))
        #expect(lines.contains("bit       1   0   1   0   1   0   1   0   1   0   1   0   1   0   1   1"))
    }

    @Test("reading the levels back off the drawing and decoding them gives the bytes that were drawn")
    func drawingIsFaithful() throws {
        let bytes = ManchesterCode.signalBytes(forFrame: Self.arpFrame, headerBytes: 14)
        for ascii in [false, true] {
            let lines = ManchesterCode.render(ManchesterCode.encode(bytes), bytes: bytes,
                                              fields: ManchesterCode.ethernetFields(count: bytes.count),
                                              width: 78, color: false, ascii: ascii)
            var levels: [SignalLevel] = []
            for block in lines.split(separator: "") {
                let top = Array(block[block.startIndex + 3]), bottom = Array(block[block.startIndex + 4])
                // The second column of each half-bit is never a change of level: it shows the level itself.
                for column in stride(from: 9, to: top.count, by: 2) {
                    let line = ascii ? Character("_") : Character("─")
                    if top[column] == line, bottom[column] == " " { levels.append(.high) }
                    else if bottom[column] == line, top[column] == " " { levels.append(.low) }
                    else { Issue.record("column \(column) shows no level") }
                }
            }
            #expect(try ManchesterCode.decode(levels) == bytes)
        }
    }

    @Test("the bytes not drawn are summarised in one line naming their field")
    func skippedBytesSummary() {
        let bytes = ManchesterCode.signalBytes(forFrame: Self.arpFrame, headerBytes: 6)
        let fields = ManchesterCode.ethernetFields(count: bytes.count)
        let lines = ManchesterCode.render(ManchesterCode.encode(bytes), bytes: bytes, fields: fields, fromByte: 6, color: false)
        #expect(lines.first == "… 6 more preamble bytes before these (0x55 each)")
        #expect(lines.contains { $0.contains("╭─ SFD ") })
        #expect(lines.contains { $0.contains("╭─ destination MAC ") })
        let mixed = ManchesterCode.render(ManchesterCode.encode(bytes), bytes: bytes, fields: fields, fromByte: 8, color: false)
        #expect(mixed.first == "… 8 more bytes before these: 7 preamble, 1 SFD")
    }

    @Test("a cell without a transition is drawn as ✗ in the bit row")
    func violationDrawn() {
        var levels = ManchesterCode.encode([0x55])
        levels[6] = levels[6].flipped
        let lines = ManchesterCode.render(levels, bytes: [0x55], width: 78, color: false)
        #expect(lines.count == 4, "no field row without fields")
        #expect(lines[1] == "bit       1   0   1   ✗   1   0   1   0")
    }

    @Test("odd input draws something sensible instead of crashing")
    func oddInput() {
        let levels = ManchesterCode.encode([0xD5, 0x00]) + [.high]
        for width in [-5, 0, 1, 10] {
            for fromByte in [-1, 0, 1, 5, Int.max] {
                _ = ManchesterCode.render(levels, bytes: [], fields: [SignalField("x", bytes: -4..<100)],
                                          fromByte: fromByte, width: width, color: true, columnsPerHalfBit: width)
            }
        }
        #expect(ManchesterCode.render([], bytes: [1, 2, 3], color: false).isEmpty)
        #expect(ManchesterCode.drawFrameStart([], headerBytes: Int.max, color: false).contains { $0.contains("0xD5") })
    }

    @Test("the frame-start drawing explains the code and fits 80 columns, in Unicode and in ASCII")
    func frameStartDrawing() {
        for ascii in [false, true] {
            let lines = ManchesterCode.drawFrameStart(Self.arpFrame, width: 80, color: false, ascii: ascii)
            #expect(lines.allSatisfy { $0.count <= 80 })
            #expect(lines.contains { $0.contains("0xD5") })
            #expect(lines.contains { $0.contains("least-significant first") })
            #expect(ascii == lines.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) })
        }
    }
}
