// Expectations on what the stack sends: exact field-by-field comparison with
// a readable diff, and the loops that take segments one at a time.

@testable import NetStackCore
import NetStackWire
import Testing

extension TCPScript {
    // MARK: Outbound

    /// Expects `segments`, in order, each sent exactly at script time `t`.
    func expect(at t: Double, _ segments: ScriptSegment..., sourceLocation: SourceLocation = #_sourceLocation) {
        expect(segments, time: t, exact: true, sourceLocation)
    }

    /// Expects `segments`, in order, each sent at or before script time `u`.
    func expect(by u: Double, _ segments: ScriptSegment..., sourceLocation: SourceLocation = #_sourceLocation) {
        expect(segments, time: u, exact: false, sourceLocation)
    }

    private func expect(_ segments: [ScriptSegment], time t: Double, exact: Bool, _ location: SourceLocation) {
        guard !failed else { return }
        advance(to: .seconds(t), location)
        for expected in segments {
            guard !failed else { return }
            let when = exact ? "at \(t)" : "by \(t)"
            guard !pending.isEmpty else {
                fail("expected \(when):\n  \(expected)\nbut nothing was sent", location)
                return
            }
            let got = pending.removeFirst()
            let differences = compare(expected, got, exactTime: exact ? Instant.seconds(t) : nil)
            if differences.isEmpty {
                note("\(Self.stamp(got.time)) > \(describe(got))")
            } else {
                fail("expected \(when):\n  \(expected)\ngot:\n  \(describe(got))\ndiffers in: "
                     + differences.joined(separator: "; ")
                     + (pending.isEmpty ? "" : "\nalso sent:\n  " + pending.map(describe).joined(separator: "\n  ")),
                     location)
            }
        }
    }

    /// Expects nothing sent from now up to and including script time `u`.
    func expectNothing(until u: Double, sourceLocation: SourceLocation = #_sourceLocation) {
        guard !failed else { return }
        advance(to: .seconds(u), sourceLocation)
        guard !failed else { return }
        _ = checkNothingPending(before: "\(u) (expected nothing)", sourceLocation)
    }

    /// Runs the host deadline by deadline until it sends something, at most
    /// until script time `u`, and takes the first segment sent (nil, and a
    /// failure, if nothing came). The script's clock stops at that segment.
    func nextSegment(until u: Double, sourceLocation: SourceLocation = #_sourceLocation) -> ScriptCapture? {
        guard !failed, checkNothingPending(before: "waiting for a segment", sourceLocation) else { return nil }
        var rounds = 0
        while pending.isEmpty, let deadline = host.nextDeadline(), deadline <= .seconds(u), rounds < 200_000 {
            now = max(deadline, now)
            host.poll(now: now)
            collect()
            rounds += 1
        }
        guard !pending.isEmpty else {
            fail("expected a segment by \(u), nothing was sent", sourceLocation)
            return nil
        }
        let first = pending.removeFirst()
        note("\(Self.stamp(first.time)) > \(describe(first))")
        return first
    }

    /// The relative SEQ of a captured segment.
    func relativeSeq(_ capture: ScriptCapture) -> Int {
        guard let tcp = capture.tcp else { return 0 }
        return Self.relative(tcp.sequenceNumber.rawValue, to: flow(tcp.destinationPort).stackISN ?? 0)
    }

    /// Script time (seconds) of an instant.
    static func seconds(_ instant: Instant) -> Double { Double(instant.nanoseconds) / 1e9 }

    /// Every frame sent up to script time `u` that no `expect` took, for a test's own checks.
    func takeSent(until u: Double, sourceLocation: SourceLocation = #_sourceLocation) -> [ScriptCapture] {
        guard !failed else { return [] }
        advance(to: .seconds(u), sourceLocation)
        defer { pending.removeAll() }
        return pending
    }

    /// The field-by-field differences between an expected segment and one sent.
    private func compare(_ expected: ScriptSegment, _ got: ScriptCapture, exactTime: Instant?) -> [String] {
        guard let tcp = got.tcp else { return ["not a TCP segment to the peer: \(got.other ?? "?")"] }
        var differences: [String] = []
        let port = expected.port ?? peerPort
        if tcp.destinationPort != port { differences.append("peer port \(tcp.destinationPort) ≠ \(port)") }
        let flow = flow(tcp.destinationPort)
        if let exactTime, got.time != exactTime { differences.append("time \(Self.stamp(got.time)) ≠ \(Self.stamp(exactTime))") }
        if tcp.flags != expected.flags {
            differences.append("flags \(ScriptSegment.text(tcp.flags)) ≠ \(ScriptSegment.text(expected.flags))")
        }
        let seq = expected.absoluteSeq ? Int(tcp.sequenceNumber.rawValue)
            : Self.relative(tcp.sequenceNumber.rawValue, to: flow.stackISN ?? 0)
        if seq != expected.seq { differences.append("seq \(seq) ≠ \(expected.seq)") }
        if let ack = expected.ack {
            let got = Self.relative(tcp.acknowledgmentNumber.rawValue, to: flow.peerISN)
            if got != ack { differences.append("ack \(got) ≠ \(ack)") }
        }
        if let win = expected.win, Int(tcp.window) != win { differences.append("win \(tcp.window) ≠ \(win)") }
        if tcp.urgentPointer != expected.urgentPointer { differences.append("urg \(tcp.urgentPointer) ≠ \(expected.urgentPointer)") }
        if got.payload.count != expected.len {
            differences.append("length \(got.payload.count) ≠ \(expected.len)")
        } else if let payload = expected.payload {
            if got.payload != payload { differences.append("payload bytes differ") }
        } else if flow.patternWrites, expected.len > 0,
                  got.payload != scriptPattern(from: seq - 1, count: expected.len) {
            differences.append("payload is not the bytes the application wrote at offset \(seq - 1)")
        }
        if let options = expected.options {
            differences += compareOptions(options, got.options, flow: flow, time: got.time)
        }
        return differences
    }

    private func compareOptions(_ expected: [ScriptOption], _ got: [WireOption], flow: Flow, time: Instant) -> [String] {
        let gotText = "<" + got.map(\.description).joined(separator: ",") + ">"
        let wanted = "<" + expected.map(\.description).joined(separator: ",") + ">"
        guard expected.count == got.count else { return ["options \(gotText) ≠ \(wanted)"] }
        for (want, have) in zip(expected, got) {
            let same: Bool = switch (want, have) {
            case (.eol, .eol), (.nop, .nop), (.sackOK, .sackOK): true
            case let (.mss(a), .mss(b)): a == b
            case let (.wscale(a), .wscale(b)): a == b
            case let (.ts(value, echo), .ts(gotValue, gotEcho)):
                (resolve(value, flow: flow, time: time).map { $0 == gotValue } ?? true)
                    && (resolve(echo, flow: flow, time: time).map { $0 == gotEcho } ?? true)
            case let (.sack(blocks), .sack(gotBlocks)):
                blocks.count == gotBlocks.count && zip(blocks, gotBlocks).allSatisfy {
                    Self.absolute($0.0.0, from: flow.peerISN) == $0.1.0 && Self.absolute($0.0.1, from: flow.peerISN) == $0.1.1
                }
            default: false
            }
            if !same {
                let resolved = expected.map { option -> String in
                    if case let .ts(value, echo) = option {
                        let v = resolve(value, flow: flow, time: time).map(String.init) ?? "*"
                        let e = resolve(echo, flow: flow, time: time).map(String.init) ?? "*"
                        return "TS val \(v) ecr \(e)"
                    }
                    return option.description
                }
                return ["options \(gotText) ≠ <" + resolved.joined(separator: ",") + ">"]
            }
        }
        return []
    }
}
