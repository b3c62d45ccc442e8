import NetStackCore
import NetStackServices

/// The browser's side of the HTTP exchange after the GET is sent: it reads the
/// response from its socket and parses it, keeping the body.
///
/// It reads at a fixed pace — at most `chunk` bytes every `interval`, as if
/// rendering as it goes — so that a fast link fills the receive buffer and the
/// window TCP advertises shrinks and opens again, which the demo narrates.
/// Runs on the browser host's own turns (a ``StackApplication``).
final class PageReader: StackApplication {
    let fd: Int32
    let chunk: Int
    let interval: Duration
    /// The response body so far.
    private(set) var body: [UInt8] = []
    private(set) var status: Int?
    /// Why reading stopped early, if it did.
    private(set) var failure: String?
    /// Calls to recv() that returned data.
    private(set) var reads = 0
    private var parser = HTTPResponseParser()
    /// No read before this time (the pace).
    private var nextRead = Instant.zero
    /// A read was cut short by the pace: data may be waiting, so wake at `nextRead`.
    private var paced = false
    private let buffer: UnsafeMutableRawBufferPointer

    /// Reads the response on `fd`, at most `chunk` bytes per `interval`.
    init(fd: Int32, chunk: Int, interval: Duration) {
        self.fd = fd
        self.chunk = max(1, chunk)
        self.interval = interval
        buffer = .allocate(byteCount: self.chunk, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The whole response has arrived.
    var isComplete: Bool { parser.isComplete }
    /// Finished, one way or the other.
    var isDone: Bool { isComplete || failure != nil }

    var nextWakeup: Instant? { paced && !isDone ? nextRead : nil }

    func run(on host: Host, now: Instant) {
        guard !isDone else { return }
        guard now >= nextRead else {
            paced = true  // something may have arrived: look again when the pace allows
            return
        }
        paced = false
        var taken = 0
        // Bounded: each pass takes at least one byte of at most `chunk`.
        while taken < chunk {
            let count: Int
            do {
                count = try host.recv(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(chunk - taken)]), now: now)
            } catch .wouldBlock {
                break
            } catch {
                failure = "recv failed: \(error.symbol)"
                return
            }
            if count == 0 {
                do throws(HTTPError) { try parser.finish() } catch { failure = "\(error)" }
                return
            }
            reads += 1
            taken += count
            do throws(HTTPError) {
                _ = try parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { body += $0 }
            } catch {
                failure = "\(error)"
                return
            }
            if status == nil { status = parser.head?.status }
            if parser.isComplete { return }
        }
        if taken > 0 {
            nextRead = now + interval
            paced = taken == chunk
        }
    }
}
