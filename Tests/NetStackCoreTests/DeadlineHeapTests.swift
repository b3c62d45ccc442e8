// The one deadline heap behind TCP timers, ARP, reassembly, the simulator and the impaired wire.

import NetStackCore
import Testing

@Suite("DeadlineHeap")
struct DeadlineHeapTests {
    @Test("pops by deadline, equal deadlines in push order, against a sorted reference")
    func ordering() {
        var heap = DeadlineHeap<Int>()
        var reference: [(Int64, Int)] = []
        var state: UInt64 = 7
        for value in 0..<500 {
            let deadline = Int64(splitMix64(&state) % 50)
            heap.push(value, at: Instant(nanoseconds: deadline))
            reference.append((deadline, value))
        }
        reference.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var popped: [Int] = []
        while let value = heap.popFirst() { popped.append(value) }
        #expect(popped == reference.map(\.1))
    }

    @Test("popFirst(dueBy:) takes only what is due; postponeFirst moves the top down; removeAll(where:) keeps order")
    func operations() {
        var heap = DeadlineHeap<String>()
        heap.push("a", at: .s(1))
        heap.push("b", at: .s(2))
        heap.push("c", at: .s(3))
        #expect(heap.popFirst(dueBy: .s(0.5)) == nil)
        heap.postponeFirst(to: .s(2.5), order: 10)
        #expect(heap.first == "b")
        heap.removeAll { $0 == "b" }
        #expect(heap.popFirst(dueBy: .s(5)) == "a")
        #expect(heap.firstDeadline == .s(3))
        #expect(heap.count == 1)
    }
}
