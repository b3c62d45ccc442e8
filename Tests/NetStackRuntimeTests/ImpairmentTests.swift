import NetStackCore
@testable import NetStackRuntime
import Testing

@Suite struct ImpairmentSpecTests {
    @Test func parsesTheIssuesExample() throws {
        let spec = try ImpairmentSpec.parse("loss=5%,delay=10ms,jitter=3ms,reorder=25%,duplicate=1%")
        #expect(spec.link.loss == 0.05)
        #expect(spec.link.propagationDelay == .milliseconds(10))
        #expect(spec.link.jitter == .milliseconds(3))
        #expect(spec.link.reorder == 0.25)
        #expect(spec.link.duplicate == 0.01)
        #expect(spec.link.reorderDelay == .milliseconds(10))
        #expect(!spec.isIdeal)
    }

    @Test func parsesRateSeedAndFractions() throws {
        let spec = try ImpairmentSpec.parse("rate=100mbit,seed=42,loss=0.5,delay=250us")
        #expect(spec.link.bitsPerSecond == 100_000_000)
        #expect(spec.seed == 42)
        #expect(spec.link.loss == 0.5)
        #expect(spec.link.propagationDelay == .microseconds(250))
    }

    @Test(arguments: ["loss", "loss=", "loss=120%", "loss=-1%", "delay=10", "delay=abc", "jitter=100s",
                      "rate=fast", "rate=10", "colour=red", "seed=-3", "loss=nan"])
    func rejectsMalformedSpecsWithOneLine(_ text: String) {
        #expect(throws: RuntimeError.self) { try ImpairmentSpec.parse(text) }
        do { _ = try ImpairmentSpec.parse(text) } catch {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains("--impair"))
        }
    }

    @Test func anEmptySpecIsIdeal() throws {
        #expect(try ImpairmentSpec.parse("").isIdeal)
        #expect(try ImpairmentSpec.parse("seed=3").isIdeal)
    }
}

@Suite struct ImpairedWireTests {
    /// Sends `count` numbered frames toward the stack through `spec` and returns the
    /// numbers in the order they come out, draining the wire at the end.
    func carry(_ spec: ImpairmentSpec, count: Int) -> [Int] {
        let wire = ImpairedWire(spec)
        var out: [Int] = []
        var now = Instant.zero
        for number in 0..<count {
            let frame = [UInt8(number >> 8), UInt8(number & 0xFF)] + [UInt8](repeating: 0, count: 62)
            frame.withUnsafeBytes { wire.transmit($0, .towardStack, now: now) }
            now = now + .microseconds(100)
            wire.due(now: now) { _, frame in out.append(Int(frame[0]) << 8 | Int(frame[1])) }
        }
        wire.due(now: now + .seconds(10)) { _, frame in out.append(Int(frame[0]) << 8 | Int(frame[1])) }
        #expect(wire.nextArrival == nil)
        return out
    }

    @Test func delayHoldsFramesBackUntilTheyArrive() throws {
        let wire = ImpairedWire(try ImpairmentSpec.parse("delay=10ms"))
        [UInt8](repeating: 1, count: 60).withUnsafeBytes { wire.transmit($0, .towardDevice, now: .zero) }
        var delivered = 0
        wire.due(now: Instant.zero + .milliseconds(9)) { _, _ in delivered += 1 }
        #expect(delivered == 0)
        #expect(wire.nextArrival == Instant.zero + .milliseconds(10))
        wire.due(now: Instant.zero + .milliseconds(10)) { direction, _ in
            delivered += 1
            #expect(direction == .towardDevice)
        }
        #expect(delivered == 1)
    }

    @Test func lossDuplicationAndReorderingHappenAtRoughlyTheirRates() throws {
        let out = carry(try ImpairmentSpec.parse("loss=5%,duplicate=1%,reorder=25%,delay=1ms,seed=9"), count: 4000)
        let unique = Set(out)
        let lostFraction = 1 - Double(unique.count) / 4000
        #expect(lostFraction > 0.03 && lostFraction < 0.07)
        #expect(out.count - unique.count > 10)  // duplicates
        let inversions = zip(out, out.dropFirst()).filter { $0 > $1 }.count
        #expect(inversions > 100)
    }

    @Test func theSameSeedMakesTheSameChoices() throws {
        let spec = try ImpairmentSpec.parse("loss=10%,reorder=10%,duplicate=5%,jitter=1ms,delay=2ms,seed=5")
        #expect(carry(spec, count: 500) == carry(spec, count: 500))
    }
}
