import Testing
import NetStackDemo

@Suite("LadderDiagram: a TCP connection drawn as a ladder")
struct LadderDiagramTests {
    static func ms(_ milliseconds: Double) -> Duration { .microseconds(Int64(milliseconds * 1000)) }

    /// Handshake, `dataSegments` full segments with an ACK after every second
    /// one (the 41st segment lost, then retransmitted), and the close.
    static func connection(dataSegments: Int = 60) -> [LadderArrow] {
        var arrows = [
            LadderArrow(time: ms(0), fromLeft: true, label: "SYN seq=0 win=64240 mss=1460", leftNote: "SYN_SENT"),
            LadderArrow(time: ms(1), fromLeft: false, label: "SYN-ACK seq=0 ack=1 win=65160 mss=1460", rightNote: "SYN_RCVD"),
            LadderArrow(time: ms(2), fromLeft: true, label: "ACK ack=1 win=64240", leftNote: "ESTABLISHED", rightNote: "ESTABLISHED"),
        ]
        var sequence = 1, time = 2.0
        for index in 0..<dataSegments {
            time += 0.1
            arrows.append(LadderArrow(time: ms(time), fromLeft: true, label: "seq=\(sequence) len=1460", lost: index == 40))
            sequence += 1460
            if index % 2 == 1 {
                arrows.append(LadderArrow(time: ms(time + 0.05), fromLeft: false, label: "ACK ack=\(sequence) win=65160"))
            }
        }
        arrows += [
            LadderArrow(time: ms(time + 200), fromLeft: true, label: "seq=58401 len=1460 (retransmission)"),
            LadderArrow(time: ms(time + 201), fromLeft: true, label: "FIN seq=\(sequence) ack=1", leftNote: "FIN_WAIT_1"),
            LadderArrow(time: ms(time + 202), fromLeft: false, label: "FIN-ACK seq=1 ack=\(sequence + 1)", rightNote: "LAST_ACK"),
            LadderArrow(time: ms(time + 203), fromLeft: true, label: "ACK ack=2", leftNote: "TIME_WAIT", rightNote: "CLOSED"),
        ]
        return arrows
    }

    static func diagram(_ arrows: [LadderArrow] = connection()) -> LadderDiagram {
        LadderDiagram(left: "client\n192.0.2.10:49152", right: "server\n198.51.100.10:80", arrows: arrows)
    }

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

    /// The columns of the lifelines in the first line under the header (two header lines here).
    static func lifelineColumns(_ lines: [String], lifeline: Character = "│") -> [Int] {
        Array(lines[2]).indices.filter { Array(lines[2])[$0] == lifeline }
    }

    @Test("both lifelines stand in the same two columns on every line under the names")
    func lifelinesAligned() {
        for ascii in [false, true] {
            let lifeline: Character = ascii ? "|" : "│"
            let lines = Self.diagram().summarised().render(width: 78, color: false, ascii: ascii)
            let columns = Self.lifelineColumns(lines, lifeline: lifeline)
            #expect(columns.count == 2)
            guard columns.count == 2 else { return }
            for line in lines.dropFirst(2) {
                let characters = Array(line)
                #expect(characters.count > columns[1] && characters[columns[0]] == lifeline && characters[columns[1]] == lifeline,
                        "\(line)")
            }
        }
    }

    @Test("no line is wider than asked, with or without colour")
    func widths() {
        for width in [100, 80, 78, 60, 50] {
            for color in [false, true] {
                for line in Self.diagram().summarised().render(width: width, color: color) {
                    #expect(Self.visible(line).count <= width, "width \(width): \(line)")
                }
            }
        }
    }

    @Test("labels, time stamps, names and notes all appear")
    func textAppears() {
        let lines = Self.diagram().render(width: 78, color: false)
        let text = lines.joined(separator: "\n")
        for fragment in ["client", "198.51.100.10:80", "ms", " SYN seq=0 win=64240 mss=1460 ", " FIN seq=87601 ack=1 ",
                         "ESTABLISHED │", "│ SYN_RCVD", "TIME_WAIT │", "│ CLOSED", "  0.000 ", "  1.000 ", "208.000"] {
            #expect(text.contains(fragment), "missing \(fragment)")
        }
        #expect(lines.count == 2 + 1 + Self.connection().count)
    }

    @Test("an arrow points at its receiver: ▶ before the right lifeline, ◀ after the left one")
    func arrowheads() {
        let lines = Self.diagram().render(width: 78, color: false)
        let columns = Self.lifelineColumns(lines)
        let syn = Array(lines.first { $0.contains("SYN seq=0") } ?? "")
        let synAck = Array(lines.first { $0.contains("SYN-ACK") } ?? "")
        #expect(syn.count > columns[1] && syn[columns[1] - 1] == "▶" && syn[columns[0] + 1] == "─")
        #expect(synAck.count > columns[1] && synAck[columns[0] + 1] == "◀" && synAck[columns[1] - 1] == "─")
    }

    @Test("a lost segment stops midway in ✗ and never reaches the receiver")
    func lostArrow() {
        let lines = Self.diagram().render(width: 78, color: false)
        let columns = Self.lifelineColumns(lines)
        let lost = lines.filter { $0.contains("✗") }
        #expect(lost.count == 1)
        let line = Array(lost.first ?? "")
        guard let cross = line.firstIndex(of: "✗") else { return }
        #expect(cross > columns[0] && cross < columns[1] - 1)
        #expect(!line.contains("▶") && !line.contains("◀"))
        #expect(line[(cross + 1)..<columns[1]].allSatisfy { $0 == " " })
        #expect(String(line).contains(" seq=58401 len=1460 "))
    }

    @Test("summarising collapses a long run into one counted row and keeps handshake, lost, retransmitted and FIN arrows")
    func summarisation() {
        let full = Self.diagram()
        let short = full.summarised()
        var kept: [LadderArrow] = [], collapsed = 0
        for row in short.rows {
            switch row {
            case let .arrow(arrow): kept.append(arrow)
            case let .collapsed(count, _): collapsed += count
            }
        }
        #expect(kept.count + collapsed == full.rows.count)
        let mustKeep = Self.connection().filter { $0.lost || $0.label.contains("SYN") || $0.label.contains("FIN") || $0.label.contains("retransmission") }
        #expect(mustKeep.count == 6)
        for arrow in mustKeep { #expect(kept.contains(arrow), "\(arrow.label) collapsed") }
        #expect(short.rows.count < 20)
        let lines = short.render(width: 78, color: false)
        #expect(lines.contains { $0.contains("⋮ 38 more data segments, 18 ACKs ⋮") })
    }

    @Test("a run of 60 data segments and 30 ACKs keeps its first three arrows and counts 58 and 29")
    func summaryCounts() {
        let arrows = Self.connection().filter { !$0.label.contains("retransmission") }.map {
            var arrow = $0
            arrow.lost = false
            return arrow
        }
        let short = Self.diagram(arrows).summarised(keepingFirst: 3, keepingLast: 0)
        let collapsed = short.rows.compactMap { row -> (Int, String)? in
            if case let .collapsed(count, summary) = row { (count, summary) } else { nil }
        }
        #expect(collapsed.count == 1)
        #expect(collapsed.first?.0 == 87)
        #expect(collapsed.first?.1 == "58 more data segments, 29 ACKs")
        #expect(short.rows.count == 3 + 3 + 1 + 3)
    }

    @Test("short runs are left as they are")
    func shortRunsKept() {
        let arrows = Self.connection(dataSegments: 3)
        let short = Self.diagram(arrows).summarised()
        #expect(short.rows == Self.diagram(arrows).rows)
    }

    @Test("odd input draws something sensible instead of crashing")
    func oddInput() {
        let arrows = [LadderArrow(time: .seconds(-1), fromLeft: true, label: "", lost: true, leftNote: ""),
                      LadderArrow(time: .seconds(Int64.max), fromLeft: false, label: "RST", rightNote: "CLOSED")]
        for width in [-5, 0, 1, 10, 200] {
            let lines = LadderDiagram(left: "", right: "\n\n", arrows: arrows).summarised(keepingFirst: -1, keepingLast: -1)
                .render(width: width, color: true)
            #expect(lines.count == 3 + 1 + 2)
        }
        #expect(LadderDiagram(left: "a", right: "b", arrows: []).render(color: false).count == 2)
    }

    @Test("a label too long for the space between the lifelines is cut with …, not wrapped")
    func longLabelClipped() {
        let label = String(repeating: "x", count: 200)
        let diagram = LadderDiagram(left: "a", right: "b", arrows: [LadderArrow(time: .zero, fromLeft: false, label: label)])
        let lines = diagram.render(width: 60, color: false)
        #expect(lines.allSatisfy { $0.count <= 60 })
        #expect(lines.last?.contains("x…") == true)
        #expect(lines.last?.contains("◀") == true)
    }
}
