// Kernel descriptors a program waits on beside the stack: a relay's upstream
// sockets, a pipe, a timer. The runtime's one epoll set watches them too, so
// the loop still sleeps in a single epoll_wait and wakes when either the device
// or one of the program's descriptors has something.

import CNetStackShim
import Glibc
public import NetStackCore

/// What a watched kernel descriptor is ready for (a subset of epoll's events).
public struct DescriptorEvents: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data, end of stream or a pending error to read (EPOLLIN).
    public static let readable = DescriptorEvents(rawValue: 1)
    /// Room to write, or a non-blocking connect finished (EPOLLOUT).
    public static let writable = DescriptorEvents(rawValue: 2)
    /// An error is pending (EPOLLERR); reported whatever was asked for.
    public static let error = DescriptorEvents(rawValue: 4)
    /// Hung up (EPOLLHUP); reported whatever was asked for.
    public static let hangUp = DescriptorEvents(rawValue: 8)

    public var description: String {
        [(DescriptorEvents.readable, "IN"), (.writable, "OUT"), (.error, "ERR"), (.hangUp, "HUP")]
            .filter { contains($0.0) }.map(\.1).joined(separator: "|")
    }

    /// The events of an epoll mask.
    init(epoll mask: UInt32) {
        var events: DescriptorEvents = []
        if mask & ns_epollin() != 0 { events.insert(.readable) }
        if mask & ns_epollout() != 0 { events.insert(.writable) }
        if mask & ns_epollerr() != 0 { events.insert(.error) }
        if mask & ns_epollhup() != 0 { events.insert(.hangUp) }
        self = events
    }

    /// The epoll mask asking for these events (only readable and writable can be asked for).
    var epollMask: UInt32 {
        (contains(.readable) ? ns_epollin() : 0) | (contains(.writable) ? ns_epollout() : 0)
    }
}

/// A `StackApplication` that also waits on kernel descriptors of its own.
///
/// ``StackRuntime/start(_:)`` hands it a ``DescriptorWatcher`` (``attach(_:)``);
/// the program tells the watcher what each descriptor is to be watched for. When
/// one becomes ready the loop wakes and, with the stack locked and before the
/// turn that reads the device and runs the programs, calls
/// ``descriptorReady(_:_:on:now:)`` once per ready descriptor (at most 64 per
/// wake-up; level-triggered, so the rest come back at once). No allocation per
/// event: the token epoll returns names both the program and the descriptor.
public protocol DescriptorWatchingApplication: StackApplication {
    /// The runtime started the program: `watcher` is how it asks to be woken. Called once, on the stack's thread.
    func attach(_ watcher: DescriptorWatcher)
    /// `fd` is ready for `events`. May be a stale report for a descriptor
    /// unwatched or closed in the same wake-up: treat it as a hint, and use
    /// non-blocking calls that tolerate EAGAIN.
    func descriptorReady(_ fd: Int32, _ events: DescriptorEvents, on host: Host, now: Instant)
}

/// One program's registrations in the runtime's epoll set. Use it only on the
/// stack's thread (from the program's turns and ``DescriptorWatchingApplication/descriptorReady(_:_:on:now:)``).
///
/// Each descriptor has an interest: the events it is watched for. An empty
/// interest keeps it known but out of the epoll set, so a socket the program
/// cannot serve now (its peer is not reading) does not wake the loop, not even
/// for EPOLLHUP. epoll_ctl is called only when an interest changes; one
/// dictionary entry per descriptor (O(1) per call).
public final class DescriptorWatcher {
    private let epoll: Int32
    /// The program's number in the upper half of each token (the descriptor is the lower half).
    private let tag: UInt64
    private var interests: [Int32: DescriptorEvents] = [:]

    init(epoll: Int32, tag: UInt32) {
        self.epoll = epoll
        self.tag = UInt64(tag) << 32
    }

    /// Descriptors known to the watcher (with any interest, empty included).
    public var count: Int { interests.count }

    /// The interest `fd` is watched for, nil when it is not known.
    public func interest(_ fd: Int32) -> DescriptorEvents? { interests[fd] }

    /// Watches `fd` for `events` (``DescriptorEvents/readable`` and/or
    /// ``DescriptorEvents/writable``; empty: not at all for now). Throws the
    /// epoll_ctl failure (EBADF, ENOMEM, ENOSPC at the kernel's watch limit). O(1).
    public func watch(_ fd: Int32, for events: DescriptorEvents) throws(RuntimeError) {
        let wanted = events.intersection([.readable, .writable])
        let old = interests[fd]
        guard old != wanted else { return }
        let token = tag | UInt64(UInt32(bitPattern: fd))
        var event = epoll_event()
        event.events = wanted.epollMask
        event.data.u64 = token
        let result: Int32
        switch (old.map { !$0.isEmpty } ?? false, !wanted.isEmpty) {
        case (false, true): result = epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
        case (true, true): result = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
        case (true, false): result = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
        case (false, false): result = 0
        }
        guard result == 0 else { throw .system("epoll_ctl", errno: errno) }
        interests[fd] = wanted
    }

    /// Forgets `fd`; call it before closing the descriptor. O(1).
    public func unwatch(_ fd: Int32) {
        guard let old = interests.removeValue(forKey: fd) else { return }
        if !old.isEmpty {
            var event = epoll_event()
            _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event)
        }
    }
}
