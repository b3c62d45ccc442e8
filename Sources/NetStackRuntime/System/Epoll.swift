import CNetStackShim
import Glibc

/// A level-triggered epoll set keyed by small integer tokens. Not thread-safe:
/// the stack's thread owns it.
struct Epoll: ~Copyable {
    let fd: Int32
    /// Most events one `wait` reports; level-triggered, so more ready descriptors come back next time.
    static let batch = 64
    private var events = [epoll_event](repeating: epoll_event(), count: Epoll.batch)

    init() throws(RuntimeError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw .system("epoll_create1", errno: errno) }
    }

    deinit { close(fd) }

    /// Watches `descriptor` for readability (and writability when asked); `token` comes back from `wait`.
    func add(_ descriptor: Int32, token: UInt64, writable: Bool = false) throws(RuntimeError) {
        var event = epoll_event()
        event.events = ns_epollin() | (writable ? ns_epollout() : 0)
        event.data.u64 = token
        guard epoll_ctl(fd, EPOLL_CTL_ADD, descriptor, &event) == 0 else { throw .system("epoll_ctl", errno: errno) }
    }

    /// Waits up to `timeoutNanoseconds` (negative: forever; to the microsecond where the kernel
    /// has epoll_pwait2, else rounded up to milliseconds) and calls `ready` with each ready token
    /// and the events reported (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP …). One system call.
    mutating func wait(timeoutNanoseconds: Int64, _ ready: (_ token: UInt64, _ events: UInt32) -> Void) {
        let count = events.withUnsafeMutableBufferPointer { buffer in
            ns_epoll_wait_ns(fd, buffer.baseAddress, Int32(buffer.count), timeoutNanoseconds)
        }
        guard count > 0 else { return }
        for index in 0..<Int(count) { ready(events[index].data.u64, events[index].events) }
    }
}

/// An eventfd another thread writes to wake the stack's thread out of `epoll_wait`.
struct WakeupSignal: Sendable {
    let fd: Int32

    init() throws(RuntimeError) {
        fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw .system("eventfd", errno: errno) }
    }

    /// Wakes the waiting thread (one 8-byte write).
    func signal() {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// Clears pending wake-ups.
    func drain() {
        var value: UInt64 = 0
        _ = read(fd, &value, 8)
    }
}
