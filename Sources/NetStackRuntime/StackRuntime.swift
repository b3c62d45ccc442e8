import CNetStackShim
import Glibc
public import NetStackCore
public import NetStackWire
import Synchronization

/// How to set up one stack on one packet device (TAP or TUN by name, an adopted descriptor, or a ``PacketDevice``).
public struct RuntimeConfiguration: Sendable {
    /// The device to attach to; ``deviceName`` and ``deviceKind`` read and set it for a named one.
    public var device: DeviceSource
    /// The stack's IPv4 address and prefix on the device's link; 0.0.0.0 for none (an IPv6-only
    /// stack, or one that waits for a DHCP lease).
    public var address: IPv4Address
    public var prefixLength: Int
    /// The default gateway, if any.
    public var gateway: IPv4Address?
    /// An IPv6 address and its on-link prefix length (`--address 2001:db8::2/64`).
    public struct Address6: Sendable, Equatable {
        public var address: IPv6Address
        public var prefixLength: Int
        /// `address/prefixLength`; the prefix length is 1 to 128.
        public init(address: IPv6Address, prefixLength: Int) {
            self.address = address
            self.prefixLength = prefixLength
        }
    }
    /// The stack's IPv6 addresses on the device (usable at once, as `ip -6 addr add … nodad`); an Ethernet
    /// device also gets its EUI-64 link-local address when there is at least one.
    public var addresses6: [Address6] = []
    /// The IPv6 default router, if any: link-local, or on the prefix of one of ``addresses6``.
    public var gateway6: IPv6Address?
    /// Form an IPv6 address from router advertisements (SLAAC, `--address6 auto`): the runtime's
    /// initializer waits for one (see ``StackRuntime/autoconfigurationTimeout``).
    public var autoconfigure6 = false
    /// The stack's MAC address on a TAP link; a random locally administered one when nil.
    public var mac: MACAddress?
    /// The IP MTU; the device's own when nil.
    public var mtu: Int?
    /// Impairments applied to every frame in both directions (`--impair`).
    public var impairment: ImpairmentSpec?
    /// Where to write a capture of every frame (`--pcap`). The file is created
    /// mode 0600 and must not exist (nor be a symbolic link) unless ``pcapOverwrite``.
    public var pcapPath: String?
    /// Replace an existing regular file at ``pcapPath`` (`--pcap-overwrite`); a symbolic link is still refused.
    public var pcapOverwrite = false
    /// Most bytes the capture file may grow to (`--pcap-limit`); frames beyond are not written.
    public var pcapLimit: Int?
    /// Where to answer `netstat`/`route`/`arp` requests (`--control`).
    public var controlPath: String?
    /// Opens the device inside this network namespace (`/var/run/netns/NAME`) instead of the current one.
    public var namespacePath: String?
    /// The stack's settings (TCP, ARP, resolver …); its random seed is replaced by random bits.
    public var host: HostConfig
    /// Segmentation offload on the device (`--offload`): off unless asked for.
    public var offload: OffloadMode = .off
    /// How long the loop keeps polling after the last frame in or out before it sleeps in
    /// epoll_wait (`--busy-poll`); zero (the default) never spins. While it spins the loop checks
    /// the device and its other descriptors with non-blocking epoll_wait calls and polls the stack,
    /// so a frame that arrives then is read without a wake-up (less latency) — at the cost of one
    /// CPU spinning at 100% for up to this long after every burst of traffic, idle or not.
    /// Zero to one second (``StackRuntime/maximumBusyPoll``); anything else is refused.
    public var busyPoll: Duration = .zero
    /// Take the address from a DHCP server (`--address dhcp`) instead of ``address``: the
    /// runtime's initializer waits for a lease (see ``DHCPSettings``); ``gateway`` is then ignored.
    public var dhcp: DHCPSettings?
    /// Receive coalescing (software GRO; NetStackCore's `AdapterConfig.receiveCoalescing`) where the device has
    /// no offload: the in-order TCP data segments of one connection read in one batch reach the
    /// stack glued into one segment of up to 64 KiB (``StackRuntime/framesCoalesced``), as a TSO super-segment does with offload on.
    /// On by default; it stays off under `--impair` (a wire that works frame by frame) and with
    /// offload on (the kernel glues already). Not a command-line option: `--offload off` keeps it.
    public var receiveCoalescing = true

    /// A stack on the existing TAP or TUN device `deviceName`.
    public init(deviceName: String, deviceKind: DeviceKind, address: IPv4Address, prefixLength: Int) {
        self.init(device: .named(deviceName, kind: deviceKind), address: address, prefixLength: prefixLength)
    }

    /// A stack on `device`: by name, an adopted descriptor, or a device the caller made.
    public init(device: DeviceSource, address: IPv4Address, prefixLength: Int) {
        self.device = device
        self.address = address
        self.prefixLength = prefixLength
        host = HostConfig(name: "netstack")
    }
}

/// Drives one NetStack `Host` over a packet device in real time: a Linux TAP or
/// TUN device, an adopted descriptor, an in-memory link or a callback packet flow.
///
/// One thread — the one that calls ``run(until:)`` — owns the loop: it waits in
/// epoll for the device, the wake-up eventfd, SIGINT/SIGTERM (a signalfd) and
/// the control socket, with a timeout at the stack's next deadline; then it
/// reads a batch of frames (up to 64, until EAGAIN), polls the stack, gives
/// every `StackApplication` a turn and writes out what the stack sent — all
/// on the same thread, so no packet ever crosses a thread. Without offload, the
/// in-order TCP segments of a batch reach the stack glued into one
/// (``RuntimeConfiguration/receiveCoalescing``), so TCP input and its ACK run per batch.
/// The per-frame path does not allocate: frames are read into one buffer and written straight
/// from the adapter's transmit ring (`--impair` and `--pcap` add one copy; coalescing, done by
/// the adapter as it stores each frame, adds none, and its checksum pass replaces the stack's).
///
/// Other threads use the stack through ``withHost(_:)``, which takes the same
/// lock, runs their socket calls, writes out what they sent and wakes the loop
/// only when its next deadline moved earlier. A class: the loop and its users share it.
///
/// A program that also waits on kernel descriptors (a relay's upstream sockets)
/// adopts ``DescriptorWatchingApplication``: its descriptors join the same epoll
/// set, and the loop gives it a turn when one of them is ready.
public final class StackRuntime: @unchecked Sendable {
    // @unchecked: every mutable stored property below is only touched with `lock` held
    // (or by the loop thread before it starts / after it ends); `epoll` and `watchedReady`
    // only by the loop thread.

    /// The clock all instants given to the stack come from.
    public let clock = MonotonicClock()
    /// The device the stack is attached to (``TunTapDevice``, ``AdoptedDevice``, ``MemoryDevice`` …).
    public let device: any PacketDevice
    /// The stack's interface on the device.
    public let interface: InterfaceID

    private let lock = Mutex(())
    private let host: Host
    private var programs: [any StackApplication] = []
    /// The programs that watch descriptors; a watched token's upper half is the index here plus one.
    private var watchingPrograms: [any DescriptorWatchingApplication] = []
    /// One epoll set for the device, the wake-up, signals, control and the programs' descriptors.
    private var epoll: Epoll
    /// Watched descriptors found ready by the last epoll_wait (capacity for a whole batch: no allocation).
    private var watchedReady: [(token: UInt64, events: UInt32)] = []
    private let wakeup: WakeupSignal
    private var control: ControlServer?
    private var pcap: PcapFile?
    private var wire: ImpairedWire?
    private var signals: Int32 = -1
    /// When the loop means to wake up next; a caller that sets an earlier deadline wakes it.
    private var plannedWake = Instant(nanoseconds: .max)
    private var stopRequested = false
    private var stopDeadline: Instant?
    private let frameBuffer: UnsafeMutableRawBufferPointer
    /// Tasks parked until a descriptor is ready or a resolution finishes (the async sockets).
    private var waiters = SocketWaiters()
    /// Cancellations and releases asked for without the lock (RuntimeSockets.swift).
    private let socketRequests = Mutex(SocketRequests())
    /// Whether `run` blocks SIGINT/SIGTERM and stops on them (not when run in the background).
    private var handlesSignals = true
    private var loopThread: LoopThread?
    /// The DHCP client, when the address came from a lease (StackRuntime+DHCP.swift).
    var dhcpAgent: DHCPAgent?
    /// Why the device can no longer be used (it was deleted, or it failed); ends ``run(until:)``.
    private var deviceFailure: RuntimeError?
    /// Set when the loop ended for good (device gone, or stopped): parked tasks were failed with it, later ones fail at once.
    private var loopEnded: RuntimeError?
    /// ``RuntimeConfiguration/busyPoll``; zero: the loop never spins.
    private let busyPoll: Duration
    /// `framesIn + framesOut` when the loop last looked, and when it saw them change: the last activity (nil: none yet).
    private var framesSeen = 0
    private var lastActivity: Instant?

    /// Frames read from and written to the device.
    public private(set) var framesIn = 0, framesOut = 0
    /// Frames read from the device that receive coalescing glued onto the TCP segment before them
    /// (so the stack's TCP input counts that many segments fewer); 0 when it is off.
    public var framesCoalesced: Int { lock.withLock { _ in host.adapters[interface.index].framesCoalesced } }
    /// Times the loop polled without sleeping because of ``RuntimeConfiguration/busyPoll`` (0 when it is zero).
    public var busyPolls: Int { lock.withLock { _ in spins } }
    private var spins = 0
    /// The longest ``RuntimeConfiguration/busyPoll`` accepted: one second.
    public static let maximumBusyPoll = Duration.seconds(1)
    /// Why offload was asked for (``RuntimeConfiguration/offload``) and is not on; nil when it is, or was not asked for.
    public private(set) var offloadRefusal: String?
    /// Whether TCP super-segments cross the device (virtio-net offload granted).
    public var offload: Bool { device.offload }

    /// Opens the device and builds the stack; throws one line naming what failed.
    public init(_ configuration: RuntimeConfiguration) throws(RuntimeError) {
        guard configuration.busyPoll >= .zero, configuration.busyPoll <= Self.maximumBusyPoll else {
            throw RuntimeError("bad busy-poll time \(configuration.busyPoll): zero to one second")
        }
        busyPoll = configuration.busyPoll
        // An impaired wire works frame by frame: offload stays off under --impair.
        let impaired = configuration.impairment.map { !$0.isIdeal } ?? false
        let device = try configuration.device.open(namespacePath: configuration.namespacePath, mtu: configuration.mtu,
                                                   offload: configuration.offload != .off && !impaired)
        self.device = device
        if configuration.offload != .off, !device.offload {
            offloadRefusal = impaired ? "an impaired wire (--impair) moves one frame at a time"
                : (device as? TunTapDevice)?.offloadRefusal
                ?? "no virtio-net offload on this device (only a TAP or TUN opened by name has it)"
        }
        var random = SystemRandomNumberGenerator()
        // No seed unless the caller set one: the host draws its secrets from the OS.
        host = Host(configuration.host)
        let mtu = configuration.mtu ?? device.mtu
        guard (68...65_535).contains(mtu) else { throw RuntimeError("bad MTU \(mtu): must be 68 to 65535") }
        var adapter = AdapterConfig(name: device.name, mac: configuration.mac ?? Self.randomMAC(&random), mtu: mtu, fcs: false)
        adapter.medium = device.kind == .tap ? .ethernet : .ipOnly
        adapter.segmentationOffload = device.offload
        let coalescing = configuration.receiveCoalescing && !device.offload && !impaired
        adapter.receiveCoalescing = coalescing
        interface = host.addInterface(adapter)
        frameBuffer = .allocate(byteCount: 65_536 + 64, alignment: 16)
        wakeup = try WakeupSignal()
        epoll = try Epoll()
        watchedReady.reserveCapacity(Epoll.batch)
        if let impairment = configuration.impairment, !impairment.isIdeal { wire = ImpairedWire(impairment) }
        if let path = configuration.pcapPath {
            pcap = try PcapFile(path: path, rawIP: device.kind == .tun,
                                overwrite: configuration.pcapOverwrite, limit: configuration.pcapLimit)
        }
        if let path = configuration.controlPath { control = try ControlServer(path: path) }
        try epoll.add(device.fd, token: Token.device.rawValue)
        try epoll.add(wakeup.fd, token: Token.wakeup.rawValue)
        if let control { try epoll.add(control.fd, token: Token.control.rawValue) }
        let now = clock.now()
        if let dhcp = configuration.dhcp {
            guard device.kind == .tap else { throw RuntimeError("--address dhcp needs a TAP device (DHCP runs over Ethernet)") }
            try assignIPv6(configuration, now: now)
            try acquireLease(dhcp)
        } else {
            try assignIPv6(configuration, now: now)
            if configuration.address != .any {
                host.assign(configuration.address, prefixLength: configuration.prefixLength, to: interface, now: now)
                if let gateway = configuration.gateway {
                    guard IPv4Network(address: configuration.address, prefixLength: configuration.prefixLength).contains(gateway) else {
                        throw RuntimeError("gateway \(gateway) is not on \(configuration.address)/\(configuration.prefixLength)")
                    }
                    host.setDefaultGateway(gateway, interface: interface)
                }
            }
        }
        try settleIPv6(autoconfigure: configuration.autoconfigure6)
    }

    /// Assigns ``RuntimeConfiguration/addresses6`` and sets ``RuntimeConfiguration/gateway6``;
    /// throws when the gateway is neither link-local nor on one of the prefixes.
    private func assignIPv6(_ configuration: RuntimeConfiguration, now: Instant) throws(RuntimeError) {
        for entry in configuration.addresses6 {
            guard (1...128).contains(entry.prefixLength) else {
                throw RuntimeError("bad IPv6 prefix length \(entry.prefixLength): must be 1 to 128")
            }
            host.assign(entry.address, prefixLength: entry.prefixLength, to: interface, now: now)
        }
        if configuration.autoconfigure6 { host.enableAddressAutoconfiguration(on: interface, now: now) }
        guard let gateway = configuration.gateway6 else { return }
        guard gateway.isLinkLocal || configuration.addresses6.contains(where: {
            IPv6Network(address: $0.address, prefixLength: $0.prefixLength).contains(gateway)
        }) else {
            throw RuntimeError("gateway \(gateway) is neither link-local nor on the prefix of an IPv6 address")
        }
        host.setDefaultGateway6(gateway, interface: interface)
    }

    deinit {
        frameBuffer.deallocate()
        close(wakeup.fd)
        if signals >= 0 { close(signals) }
    }

    /// A random unicast, locally administered MAC address (02:…).
    static func randomMAC(_ random: inout SystemRandomNumberGenerator) -> MACAddress {
        let bits = random.next() & 0x00FF_FFFF_FFFF
        return MACAddress(rawValue: 0x0200_0000_0000 | bits)
    }

    // MARK: Use from any thread

    /// Runs `body` with the stack, under the runtime's lock, from any thread;
    /// then writes out the frames it made the stack send and wakes the loop if
    /// the stack's next deadline moved earlier. Keep `body` short: the loop waits meanwhile.
    public func withHost<R, E: Error>(_ body: (Host, Instant) throws(E) -> R) throws(E) -> R {
        try lock.withLock { _ throws(E) -> R in
            let now = clock.now()
            let result = try body(host, now)
            serveSocketRequests(now: now)
            flushOutput(now: now)
            waiters.wake(host)
            if let next = nextDeadline(), next < plannedWake { wakeup.signal() }
            return result
        }
    }

    /// Starts running `program` on the stack's thread (after every poll). A
    /// ``DescriptorWatchingApplication`` is first given its ``DescriptorWatcher``.
    public func start(_ program: any StackApplication) {
        lock.withLock { _ in
            programs.append(program)
            if let watching = program as? any DescriptorWatchingApplication {
                watchingPrograms.append(watching)
                watching.attach(DescriptorWatcher(epoll: epoll.fd, tag: UInt32(watchingPrograms.count)))
            }
        }
        wakeup.signal()
    }

    /// Asks the loop to stop as if SIGTERM had arrived (graceful: FINs, then exit).
    public func requestStop() {
        lock.withLock { _ in stopRequested = true }
        wakeup.signal()
    }

    // MARK: The loop

    private enum Token: UInt64 { case device, wakeup, signal, control }

    /// Runs the loop on the calling thread until `done` returns true (checked
    /// after every turn, with the lock held: use the host it is given, not ``withHost(_:)``) or SIGINT/SIGTERM/``requestStop()``
    /// has stopped the programs and their connections have closed (at most 2 s).
    /// Blocks SIGINT and SIGTERM in the calling thread. Flushes the capture before returning.
    public func run(until done: (Host, Instant) -> Bool = { _, _ in false }) throws(RuntimeError) {
        if handlesSignals, signals < 0 {
            signals = ns_signalfd_int_term()
            guard signals >= 0 else { throw .system("signalfd", errno: -signals) }
            try epoll.add(signals, token: Token.signal.rawValue)
        }
        defer { pcap?.flush() }

        lock.withLock { _ in
            loopEnded = nil
            turn(deviceReady: false, now: clock.now())
        }
        while true {
            let timeout = lock.withLock { _ in busyPolling() ? 0 : timeoutNanoseconds() }
            var ready = (device: false, wakeup: false, signal: false, control: false)
            var deviceFailed = false
            watchedReady.removeAll(keepingCapacity: true)
            epoll.wait(timeoutNanoseconds: timeout) { token, events in
                switch Token(rawValue: token) {
                case .device:
                    ready.device = true
                    deviceFailed = events & (ns_epollerr() | ns_epollhup()) != 0
                case .wakeup: ready.wakeup = true
                case .signal: ready.signal = true
                case .control: ready.control = true
                case nil: if token >> 32 != 0 { watchedReady.append((token, events)) }
                }
            }
            let finished = lock.withLock { _ -> Bool in
                let now = clock.now()
                if ready.wakeup { wakeup.drain() }
                if ready.signal { drainSignals() }
                if stopRequested, stopDeadline == nil { beginStop(now: now) }
                if let control, ready.control || control.nextDeadline.map({ $0 <= now }) ?? false {
                    control.serve(now: now) { answerControl($0, now: now) }
                }
                if !watchedReady.isEmpty { dispatchWatched(now: now) }
                turn(deviceReady: ready.device, now: now)
                // EPOLLERR/EPOLLHUP with no errno from a read still means the device is unusable:
                // level-triggered, it would wake the loop at once forever.
                if deviceFailed, deviceFailure == nil {
                    deviceFailure = RuntimeError("\(device.kind.label) device \(device.name) reported an error or hang-up")
                }
                if deviceFailure != nil { return true }
                if let stopDeadline { return stopDeadline <= now || connectionsQuiet() }
                return done(host, now)
            }
            if finished {
                let failure = lock.withLock { _ -> RuntimeError? in
                    // A device gone or a stop ends the loop for good: no task may stay parked
                    // (a caller's `done` does not: it may run the loop again).
                    if deviceFailure != nil || stopDeadline != nil {
                        let reason = deviceFailure ?? RuntimeError("the stack's loop has stopped")
                        loopEnded = reason
                        waiters.failAll(reason)
                    }
                    return deviceFailure
                }
                if let failure { throw failure }
                return
            }
        }
    }

    /// One turn: read up to 64 frames, poll, run the programs, write what was
    /// sent; repeated while the device keeps a full batch waiting (bounded).
    private func turn(deviceReady: Bool, now: Instant) {
        var rounds = 0
        var full = false
        repeat {
            var count = 0
            if deviceReady {
                var header = VirtioNetHeader.plain
                while count < 64, deviceFailure == nil {
                    let length = device.receive(into: frameBuffer, header: &header)
                    if length < 0 { deviceFailure = device.failure(Int32(-length)) }
                    if length <= 0 { break }
                    let frame = UnsafeRawBufferPointer(rebasing: frameBuffer[0..<length])
                    var trusted = header.trustsChecksum(of: frame, ipOffset: device.kind == .tap ? EthernetHeader.length : 0)
                    if trusted, header.needsChecksum, pcap != nil || wire != nil {
                        // A capture shows, and an impaired wire may damage, the frame as finished:
                        // one checksum pass, and the stack checks it like any other.
                        header.completeChecksum(in: UnsafeMutableRawBufferPointer(rebasing: frameBuffer[0..<length]))
                        trusted = false
                    }
                    arrive(UnsafeRawBufferPointer(rebasing: frameBuffer[0..<length]), checksumTrusted: trusted, now: now)
                    count += 1
                }
            }
            full = count == 64
            wire?.due(now: now) { direction, frame in
                frame.withUnsafeBytes { bytes in
                    if direction == .towardStack { deliver(bytes, now: now) } else { writeToDevice(bytes) }
                }
            }
            // Corked: a batch's ACKs and the applications' writes after it leave together, as full
            // (super-)segments, once per connection.
            host.withOutputCorked {
                host.poll(now: now)
                for program in programs { program.run(on: host, now: now) }
                serveSocketRequests(now: now)
            }
            flushOutput(now: now)
            rounds += 1
        } while full && rounds < 16 && deviceFailure == nil
        waiters.wake(host)
    }

    /// Tells each watching program which of its descriptors are ready, then
    /// sends what they made the stack send. O(ready descriptors), no allocation.
    private func dispatchWatched(now: Instant) {
        host.withOutputCorked {
            for (token, events) in watchedReady {
                let index = Int(token >> 32) - 1
                guard index < watchingPrograms.count else { continue }
                let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
                watchingPrograms[index].descriptorReady(fd, DescriptorEvents(epoll: events), on: host, now: now)
            }
        }
        flushOutput(now: now)
    }

    // MARK: Parked tasks

    /// Parks a task until `key` is ready; resumes it at once if it already is (or its task is cancelled).
    func park(_ key: SocketWaiters.Key, for events: PollEvents, id: Int, _ continuation: CheckedContinuation<Void, any Error>) {
        lock.withLock { _ in
            if let loopEnded { return continuation.resume(throwing: loopEnded) }
            serveSocketRequests(now: clock.now())
            waiters.park(key, for: events, id: id, on: host, continuation)
        }
    }

    /// Queues a cancellation or a release without taking the runtime's lock (a
    /// cancellation handler or a `deinit` may run where it is held) and wakes the loop to carry it out.
    func enqueue(_ request: (inout SocketRequests) -> Void) {
        socketRequests.withLock { request(&$0) }
        wakeup.signal()
    }

    /// Carries out the cancellations and releases queued in `socketRequests`. O(requests), none usually.
    private func serveSocketRequests(now: Instant) {
        guard socketRequests.withLock({ !$0.isEmpty }) else { return }
        var requests = SocketRequests()
        socketRequests.withLock { swap(&$0, &requests) }
        for (id, key) in requests.cancellations { waiters.cancel(id, key: key) }
        for fd in requests.releases { try? host.close(fd, now: now) }
    }

    /// Runs the loop on a new thread, for programs that use the stack through
    /// ``withHost(_:)`` and the async sockets; signals are left to the caller.
    /// Returns at once; ``requestStop()`` ends the loop, ``waitForStop()`` joins it.
    public func runInBackground() {
        handlesSignals = false
        let thread = LoopThread { [self] in try? run() }
        lock.withLock { _ in loopThread = thread }
        thread.start()
    }

    /// Waits until a loop started by ``runInBackground()`` has returned.
    public func waitForStop() {
        let thread = lock.withLock { _ in loopThread }
        thread?.join()
    }

    /// A frame read from the device: onto the impaired wire, or straight to the stack.
    private func arrive(_ frame: UnsafeRawBufferPointer, checksumTrusted: Bool = false, now: Instant) {
        framesIn += 1
        if let wire {
            wire.transmit(frame, .towardStack, now: now)
        } else {
            deliver(frame, checksumTrusted: checksumTrusted, now: now)
        }
    }

    /// A frame to the stack, recorded first as it crossed the device (before any coalescing).
    private func deliver(_ frame: UnsafeRawBufferPointer, checksumTrusted: Bool = false, now: Instant) {
        pcap?.record(frame, now: now)
        // With receive coalescing the adapter glues a batch's in-order segments as it stores them;
        // the stack's poll after the batch sees, and ACKs, each run once.
        host.receive(frame, on: interface, now: now, checksumTrusted: checksumTrusted)
    }

    /// Takes every frame the stack queued and puts it on the (possibly impaired) wire.
    private func flushOutput(now: Instant) {
        while host.takeFrameSegments(from: interface, { (frame: UnsafeRawBufferPointer, segmentSize: Int) -> Bool in
            if segmentSize > 0 {
                writeSuperSegment(frame, segmentSize: segmentSize, now: now)
                return true
            }
            pcap?.record(frame, now: now)
            if let wire { wire.transmit(frame, .towardDevice, now: now) } else { writeToDevice(frame) }
            return true
        }) != nil {}
    }

    private func writeToDevice(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader = .plain) {
        guard deviceFailure == nil else { return }
        framesOut += 1
        let result = device.send(frame, header: header)
        if result < 0 { deviceFailure = device.failure(Int32(-result)) }
    }

    /// A TCP super-segment (offload on, so no impaired wire): behind a virtio-net header asking
    /// the kernel to cut it every `segmentSize` bytes and finish its partial checksum — TSO for
    /// IPv4, TSO6 for IPv6 (whose TCP header follows the fixed header: NetStack's TCP sends no
    /// extension headers). The capture shows it whole, its checksum finished for the moment of
    /// the copy (one pass, with --pcap only).
    private func writeSuperSegment(_ frame: UnsafeRawBufferPointer, segmentSize: Int, now: Instant) {
        let ip = device.kind == .tap ? EthernetHeader.length : 0
        guard frame.count >= ip + IPv4Header.minimumLength + TCPHeader.minimumLength else { return }
        let ipv6 = frame[ip] >> 4 == 6
        let transport = ip + (ipv6 ? IPv6Header.length : Int(frame[ip] & 0x0F) * 4)
        guard frame.count >= transport + TCPHeader.minimumLength else { return }
        let headers = transport + Int(frame[transport + 12] >> 4) * 4
        let header = VirtioNetHeader.tcpSegmentation(transportOffset: transport, headersLength: headers,
                                                     segmentSize: segmentSize, ipv6: ipv6)
        if let pcap {
            let bytes = UnsafeMutableRawBufferPointer(mutating: frame)
            let partial = (bytes[transport + 16], bytes[transport + 17])
            header.completeChecksum(in: bytes)
            pcap.record(frame, now: now)
            (bytes[transport + 16], bytes[transport + 17]) = partial
        }
        writeToDevice(frame, header: header)
    }

    private func nextDeadline() -> Instant? {
        var next = earliest(earliest(host.nextDeadline(), wire?.nextArrival), control?.nextDeadline)
        for program in programs { next = earliest(next, program.nextWakeup) }
        return earliest(next, stopDeadline)
    }

    /// Whether the next epoll_wait is to return at once: busy polling is on and a frame crossed the
    /// device less than ``busyPoll`` ago. No allocation; free (one comparison) when it is off.
    private func busyPolling() -> Bool {
        guard busyPoll > .zero else { return false }
        let now = clock.now()
        let moved = framesIn &+ framesOut
        if moved != framesSeen {
            framesSeen = moved
            lastActivity = now
        }
        guard let lastActivity, now - lastActivity < busyPoll else { return false }
        // Awake: a caller's earlier deadline is seen on the next turn, no need to signal the eventfd.
        plannedWake = now
        spins &+= 1
        return true
    }

    /// Nanoseconds until the next deadline; at most one second. A paced sender's next
    /// quantum is due in well under a millisecond at high rates: sleeping whole
    /// milliseconds would make every wake late and cost it its rate.
    private func timeoutNanoseconds() -> Int64 {
        let now = clock.now()
        guard let next = nextDeadline() else {
            plannedWake = now + .seconds(1)
            return 1_000_000_000
        }
        plannedWake = next
        return min(max((next - now).nanosecondsCount, 0), 1_000_000_000)
    }

    // MARK: Stopping

    private func drainSignals() {
        var info = signalfd_siginfo()
        while read(signals, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            stopRequested = true
        }
    }

    private func beginStop(now: Instant) {
        stopDeadline = now + .seconds(2)
        for program in programs { program.stop(on: host, now: now) }
        flushOutput(now: now)
    }

    /// True when no connection still has data or a FIN waiting to be acknowledged.
    private func connectionsQuiet() -> Bool {
        host.tcpConnectionInfo().allSatisfy { [.timeWait, .finWait2, .closed].contains($0.state) }
    }

    // MARK: Control socket

    private func answerControl(_ framing: ControlProtocol.Framing, now: Instant) -> String {
        ControlProtocol.answer(framing) { request in
            switch request {
            case .netstat: host.netstat(verbose: false)
            case .netstatVerbose: host.netstat(verbose: true)
            case .route: host.routeTable6().map { host.routeTable() + "\n" + $0 } ?? host.routeTable()
            case .arp: host.arpTable(now: now)
            case .neigh: host.neighborTable6()
            case .link: host.linkStatistics()
            case .statistics: host.statisticsReport() + servicesReport()
            }
        }
    }

    /// The services' own counters (what they refused, timed out …), after the stack's, in the same form.
    private func servicesReport() -> String {
        let lines = programs.compactMap { ($0 as? any ServiceStatisticsReporting)?.statisticsReport }
        return lines.isEmpty ? "" : "Services:\n" + lines.joined()
    }

    /// The run loop ended because the device is gone or failed: why, else nil.
    public var failure: RuntimeError? { lock.withLock { _ in deviceFailure } }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating).
    var nanosecondsCount: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ attoseconds / 1_000_000_000
    }
}

/// The earlier of two optional instants.
func earliest(_ a: Instant?, _ b: Instant?) -> Instant? {
    guard let a else { return b }
    guard let b else { return a }
    return a < b ? a : b
}

/// A joinable pthread running one closure (the loop of ``StackRuntime/runInBackground()``).
final class LoopThread: @unchecked Sendable {
    // @unchecked: `handle` is written once by `start` before any `join`.
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&handle, nil, { raw in
            let thread = Unmanaged<LoopThread>.fromOpaque(raw!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
    }

    func join() { pthread_join(handle, nil) }
}
