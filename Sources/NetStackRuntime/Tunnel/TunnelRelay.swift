// `netstack tunnel`: every TCP connection and UDP flow arriving on the TUN is
// relayed to its original destination through the host's own sockets, directly
// or through a SOCKS5 proxy (TunnelRelay+Socks5.swift).
// It lives in the runtime, not among the services, because its upstream side
// is kernel sockets (Glibc), which the services never touch.

import Glibc
public import NetStackCore
import NetStackWire

/// How a ``TunnelRelay`` reaches destinations and how much it holds.
public struct TunnelRelayConfig: Sendable {
    /// Bind every upstream socket to this interface (SO_BINDTODEVICE), so the
    /// relay's own traffic cannot be routed back into the TUN; nil: the kernel's routes decide.
    /// With ``socks5``, the sockets to the proxy.
    public var outboundInterface: String?
    /// Reach destinations through this SOCKS5 proxy (CONNECT for TCP, one UDP ASSOCIATE
    /// per UDP flow) instead of directly; nil: directly.
    public var socks5: Socks5Proxy?
    /// Most flows relayed at once, TCP (connecting or connected) and UDP together;
    /// a further TCP attempt is refused with an RST, a further UDP flow dropped.
    public var maxFlows = 10_000
    /// A UDP flow with no datagram either way for this long is closed with its upstream socket.
    public var udpIdleTimeout: Duration = .seconds(60)
    /// How long an upstream TCP connect may take before the client is refused (ICMP host unreachable);
    /// with ``socks5``, the connect to the proxy and the whole negotiation (a UDP flow is then dropped).
    public var connectTimeout: Duration = .seconds(10)
    /// Bytes each direction of a connection reads at once (one shared buffer, plus one
    /// per direction only while the receiving side pushes back).
    public var bufferSize = 64 * 1024

    public init() {}
}

/// A transparent relay from an interface in any-destination mode to the host's
/// own network (tun2socks without the SOCKS): a client's TCP connection is
/// completed only once the same destination has accepted the relay's upstream
/// connection, and refused the way the destination refused (RST, or ICMP
/// unreachable on a network error or a connect timeout); then bytes are copied
/// both ways. Each UDP flow gets one connected upstream UDP socket, closed when
/// the flow expires. With ``TunnelRelayConfig/socks5`` the upstream connections go
/// through a SOCKS5 proxy instead (CONNECT; one UDP ASSOCIATE per UDP flow), each
/// negotiation step non-blocking and the whole under the connect timeout.
///
/// Flow control end to end: a direction reads from its source only what its
/// sink can take — from an upstream socket only the stack's send space for the
/// client; from the client at most one buffer, and no more until the upstream
/// socket has taken it. A FIN one way becomes shutdown(SHUT_WR) the other way;
/// a reset or an error on one side aborts the other (RST). Memory per idle
/// connection: two descriptors and a few hundred bytes of state; buffers are
/// held only while a direction is backed up.
///
/// Costs: a turn serves only the connections with news — those the stack
/// lists as active (`Host.takeTCPActivity(into:)`: a segment arrived, a timer
/// fired) and those whose upstream socket epoll reports ready — plus, once a
/// second, a scan of all of them (about 0.3 µs per idle connection) for what
/// no event announces (buffer memory freed elsewhere). Upstream sockets are in
/// the runtime's epoll set only while the direction they feed has room.
public final class TunnelRelay: DescriptorWatchingApplication, ServiceStatisticsReporting {
    /// The relay's bounds.
    public let config: TunnelRelayConfig

    /// TCP connections relayed (the upstream accepted and the client's handshake was completed).
    public private(set) var tcpRelayed = 0
    /// TCP attempts refused because the upstream refused or could not be reached (timeouts included).
    public private(set) var tcpRefused = 0
    /// TCP attempts refused because ``TunnelRelayConfig/maxFlows`` flows were open.
    public private(set) var tcpRefusedOverLimit = 0
    /// UDP flows relayed (an upstream socket was opened).
    public internal(set) var udpRelayed = 0
    /// UDP datagrams whose destination answered port unreachable, passed on to the client as such.
    public private(set) var udpRefused = 0
    /// UDP flows dropped because ``TunnelRelayConfig/maxFlows`` flows were open.
    public private(set) var udpRefusedOverLimit = 0
    /// Upstream failures: sockets that could not be opened, connections reset or failed mid-flow, datagrams refused.
    public internal(set) var upstreamErrors = 0
    /// Connections the client reset or lost.
    public private(set) var clientAborts = 0
    /// Bytes copied from clients to upstreams, and back.
    public internal(set) var bytesUpstream = 0, bytesDownstream = 0
    /// Flows refused or dropped because the SOCKS5 proxy could not be reached, broke the
    /// protocol, or refused a UDP association.
    public internal(set) var socksProxyFailures = 0
    /// Flows refused or dropped because the SOCKS5 proxy accepted none of the methods offered or rejected the credentials.
    public internal(set) var socksAuthenticationFailures = 0
    /// Datagrams from a SOCKS5 UDP relay dropped: fragmented (FRAG not 0).
    public internal(set) var socksFragmentsDropped = 0
    /// Datagrams from a SOCKS5 UDP relay dropped: from another address than the relay's
    /// BND.ADDR/BND.PORT, for another destination than the flow's, or with a malformed header.
    public internal(set) var socksForeignDatagramsDropped = 0

    /// Flows open now: connecting, connected, and UDP.
    public var flowCount: Int { connecting.count + connections.count + datagramFlows.count + associating.count }

    private let listener: Int32
    var watcher: DescriptorWatcher?
    let scratch: UnsafeMutableRawBufferPointer
    private let pool: BufferPool
    /// Upstream connects in progress, by upstream descriptor.
    private var connecting: [Int32: PendingConnect] = [:]
    /// Connected pairs, for the per-turn scan, and by upstream descriptor for wake-ups.
    private var connections: [RelayedConnection] = []
    private var byUpstream: [Int32: RelayedConnection] = [:]
    private var byStack: [Int32: RelayedConnection] = [:]
    /// Stack descriptors to serve this turn: the stack's activity list, then those that used up their budget.
    private var active: [Int32] = []
    private var unfinished: [Int32] = []
    private var nextFullScan: Instant?
    /// UDP flows by upstream descriptor and by flow id.
    var datagramFlows: [Int32: RelayedDatagramFlow] = [:]
    var datagramByFlow: [Int: RelayedDatagramFlow] = [:]
    /// SOCKS5 UDP associations: negotiating, by control descriptor and by flow id; established, by control descriptor.
    var associating: [Int32: PendingAssociation] = [:]
    var associatingByFlow: [Int: Int32] = [:]
    var datagramControl: [Int32: RelayedDatagramFlow] = [:]
    /// The kinds of proxy failure already reported on stderr (each once).
    var proxyFailuresReported: Set<String> = []
    var moreWork: Instant?
    var earliestConnectDeadline: Instant?
    private var stopped = false
    /// Where an intercepted destination is reached instead of itself: a seam for tests,
    /// which reach kernel peers on the loopback address. Nil: the destination itself.
    var upstreamEndpoint: ((Endpoint) -> Endpoint)?

    /// Puts `interface` in any-destination mode and intercepts every TCP
    /// attempt (a transparent listener on every address and port) and every
    /// UDP flow arriving on it. Throws what the listener's setup threw.
    public init(host: Host, interface: InterfaceID, config: TunnelRelayConfig = TunnelRelayConfig()) throws(NetError) {
        self.config = config
        let fd = host.socket(.stream)
        do throws(NetError) {
            try host.setOption(fd, .transparent(true))
            try host.setOption(fd, .interceptHandshakes(true))
            // `::`, port 0: every address of both families, every port.
            try host.bind(fd, to: Endpoint(IPv6Address.unspecified, 0))
            try host.listen(fd, backlog: min(config.maxFlows, 4096))
        } catch {
            try? host.close(fd, now: .zero)
            throw error
        }
        listener = fd
        host.setAcceptsAnyDestination(true, interface: interface)
        var udp = UDPFlowConfig()
        udp.maxFlows = config.maxFlows
        udp.idleTimeout = config.udpIdleTimeout
        host.setUDPFlowInterception(udp)
        host.setTracksTCPActivity(true)
        scratch = .allocate(byteCount: config.bufferSize, alignment: 16)
        pool = BufferPool(bufferSize: config.bufferSize)
    }

    deinit {
        scratch.deallocate()
        for connection in connections { connection.release(to: pool) }
    }

    /// Keeps the runtime's watcher: upstream sockets are registered with it as they open.
    public func attach(_ watcher: DescriptorWatcher) { self.watcher = watcher }

    /// Now while a connection has bytes left over from its budget; else the earliest
    /// connect deadline or the next once-a-second scan.
    public var nextWakeup: Instant? {
        earliest(earliest(moreWork, earliestConnectDeadline), connections.isEmpty ? nil : nextFullScan)
    }

    /// The relay's counters, for `netstack netstat --statistics` (under `Services:`).
    public var statisticsReport: String {
        "    \(tcpRelayed) tunnel: TCP connections relayed\n"
            + "    \(tcpRefused) tunnel: TCP connections refused as the destination refused or was unreachable\n"
            + "    \(tcpRefusedOverLimit) tunnel: TCP connections refused over the flow limit\n"
            + "    \(udpRelayed) tunnel: UDP flows relayed\n"
            + "    \(udpRefused) tunnel: UDP datagrams refused by their destination (port unreachable passed on)\n"
            + "    \(udpRefusedOverLimit) tunnel: UDP flows dropped over the flow limit\n"
            + "    \(upstreamErrors) tunnel: upstream errors\n"
            + "    \(clientAborts) tunnel: connections reset or lost by the client\n"
            + "    \(bytesUpstream) tunnel: bytes relayed to destinations\n"
            + "    \(bytesDownstream) tunnel: bytes relayed to clients\n"
            + "    \(flowCount) tunnel: flows open\n"
            + (config.socks5 == nil ? "" :
                "    \(socksProxyFailures) tunnel: flows refused as the SOCKS5 proxy failed (unreachable, protocol, UDP association)\n"
                + "    \(socksAuthenticationFailures) tunnel: flows refused as the SOCKS5 proxy rejected the authentication\n"
                + "    \(socksFragmentsDropped) tunnel: SOCKS5 UDP datagrams dropped as fragments\n"
                + "    \(socksForeignDatagramsDropped) tunnel: SOCKS5 UDP datagrams dropped as foreign or malformed\n")
    }

    // MARK: Turns

    /// A turn: starts upstream connects for new attempts, refuses those past their
    /// connect timeout, serves the connections with news (all of them once a
    /// second) and relays UDP. O(news + new flows), O(connections) once a second.
    public func run(on host: Host, now: Instant) {
        guard !stopped else { return }
        moreWork = nil
        takeFlowRequests(host, now: now)
        expireConnects(host, now: now)
        active.removeAll(keepingCapacity: true)
        host.takeTCPActivity(into: &active)
        active.append(contentsOf: unfinished)
        unfinished.removeAll(keepingCapacity: true)
        if nextFullScan.map({ $0 <= now }) ?? true {
            nextFullScan = now + .seconds(1)
            var i = 0
            while i < connections.count {
                let c = connections[i]
                if pump(c, host, now: now) { i += 1 } else { retire(c) }  // retire moves the last one to i
            }
        } else {
            for fd in active {
                guard let c = byStack[fd] else { continue }
                if !pump(c, host, now: now) { retire(c) }
            }
        }
        // What is listed now is the relay's own doing (its recv and send calls): no news.
        active.removeAll(keepingCapacity: true)
        host.takeTCPActivity(into: &active)
        relayDatagrams(host, now: now)
    }

    /// An upstream socket is ready: a connect finished (the client's handshake is
    /// completed or refused), a connection can move bytes, or a UDP reply waits. O(1) plus the bytes moved.
    public func descriptorReady(_ fd: Int32, _ events: DescriptorEvents, on host: Host, now: Instant) {
        guard !stopped else { return }
        if let pending = connecting[fd] {
            connectFinished(pending, events, host, now: now)
        } else if let connection = byUpstream[fd] {
            if !pump(connection, host, now: now) { retire(connection) }
        } else if let flow = datagramFlows[fd] {
            if flow.relay == nil { receiveUpstream(flow, host, now: now) } else { receiveFromSocksRelay(flow, host, now: now) }
        } else if let pending = associating[fd] {
            associationProgress(pending, events, host, now: now)
        } else if let flow = datagramControl[fd] {
            controlReady(flow, host)
        }
    }

    /// Closes the listener, refuses the attempts still connecting (RST) and closes
    /// every flow: clients get a FIN (an RST where they sent data not yet relayed),
    /// destinations a FIN.
    public func stop(on host: Host, now: Instant) {
        guard !stopped else { return }
        stopped = true
        try? host.close(listener, now: now)  // refuses attempts not yet offered
        for pending in connecting.values {
            try? host.refuseFlow(listener, pending.request, .reset, now: now)
            close(pending.upstream)
        }
        connecting.removeAll()
        for connection in connections {
            try? host.close(connection.stackFD, now: now)
            close(connection.upstreamSocket)
            connection.release(to: pool)
        }
        connections.removeAll()
        byUpstream.removeAll()
        byStack.removeAll()
        for flow in datagramFlows.values {
            close(flow.upstream)
            if let control = flow.control { close(control) }
        }
        datagramFlows.removeAll()
        datagramByFlow.removeAll()
        datagramControl.removeAll()
        for pending in associating.values { close(pending.negotiation.socket) }
        associating.removeAll()
        associatingByFlow.removeAll()
        host.setUDPFlowInterception(nil)
    }

    // MARK: TCP: connecting

    /// Starts an upstream connect for each waiting attempt (at most 256 a turn), or refuses it.
    private func takeFlowRequests(_ host: Host, now: Instant) {
        for taken in 0..<256 {
            guard let request = (try? host.nextFlowRequest(listener)) ?? nil else { return }
            if taken == 255 { moreWork = now }  // more attempts may wait
            guard flowCount < config.maxFlows else {
                tcpRefusedOverLimit += 1
                try? host.refuseFlow(listener, request, .reset, now: now)
                continue
            }
            let target = config.socks5?.endpoint ?? upstreamEndpoint?(request.destination) ?? request.destination
            let upstream: KernelSocket
            switch KernelSocket.open(stream: true, interface: config.outboundInterface, ipv6: !target.address.isIPv4) {
            case let .success(socket): upstream = socket
            case .failure:
                upstreamErrors += 1
                try? host.refuseFlow(listener, request, .hostUnreachable, now: now)
                continue
            }
            let negotiation = config.socks5.map {
                Socks5Negotiation(socket: upstream, command: .connect, destination: Socks5Address(request.destination.address),
                                  port: request.destination.port, credentials: $0.credentials)
            }
            if let error = upstream.connect(to: target) {
                if negotiation != nil { proxyFailed(.proxyUnreachable(error)) }
                refuse(request, upstream, negotiation == nil ? error.refusal : .reset, host, now: now)
                continue
            }
            do {
                try watcher?.watch(upstream.fd, for: .writable)
            } catch {
                upstreamErrors += 1
                upstream.close()
                try? host.refuseFlow(listener, request, .hostUnreachable, now: now)
                continue
            }
            let deadline = now + config.connectTimeout
            connecting[upstream.fd] = PendingConnect(request: request, upstream: upstream, deadline: deadline,
                                                     negotiation: negotiation)
            earliestConnectDeadline = earliest(earliestConnectDeadline, deadline)
        }
    }

    /// Refuses the attempts whose upstream did not answer within `connectTimeout`. O(connecting).
    private func expireConnects(_ host: Host, now: Instant) {
        guard let due = earliestConnectDeadline, due <= now else { return }
        earliestConnectDeadline = nil
        for (fd, pending) in connecting {
            if pending.deadline <= now {
                connecting[fd] = nil
                if pending.negotiation != nil { proxyFailed(.proxyUnreachable(KernelSocketError(ETIMEDOUT))) }
                refuse(pending.request, pending.upstream, .hostUnreachable, host, now: now)
            } else {
                earliestConnectDeadline = earliest(earliestConnectDeadline, pending.deadline)
            }
        }
        expireAssociations(host, now: now)
    }

    /// The upstream socket of a connecting attempt is writable (connected) or failed;
    /// through a proxy, the negotiation moved on.
    private func connectFinished(_ pending: PendingConnect, _ events: DescriptorEvents, _ host: Host, now: Instant) {
        if let negotiation = pending.negotiation {
            switch negotiation.advance(events) {
            case let .waiting(interest):
                if (try? watcher?.watch(pending.upstream.fd, for: interest)) != nil { return }
                connecting[pending.upstream.fd] = nil  // could not be watched
                upstreamErrors += 1
                refuse(pending.request, pending.upstream, .reset, host, now: now)
                return
            case let .failed(failure):
                connecting[pending.upstream.fd] = nil
                proxyFailed(failure)
                refuse(pending.request, pending.upstream, failure.refusal, host, now: now)
                return
            case .succeeded:
                connecting[pending.upstream.fd] = nil
            }
        } else {
            guard !events.isDisjoint(with: [.writable, .error, .hangUp]) else { return }
            connecting[pending.upstream.fd] = nil
            if let error = pending.upstream.takeError() {
                refuse(pending.request, pending.upstream, error.refusal, host, now: now)
                return
            }
        }
        let stackFD: Int32
        do {
            stackFD = try host.acceptFlow(listener, pending.request, now: now)
        } catch {
            // The client withdrew (or the attempt expired), or the host is at its connection limit.
            if error == .noBufferSpace { try? host.refuseFlow(listener, pending.request, .reset, now: now) }
            close(pending.upstream, reset: true)
            return
        }
        tcpRelayed += 1
        let connection = RelayedConnection(stackFD: stackFD, upstreamSocket: pending.upstream)
        connection.slot = connections.count
        connections.append(connection)
        byUpstream[pending.upstream.fd] = connection
        byStack[stackFD] = connection
        if !pump(connection, host, now: now) { retire(connection) }
    }

    func refuse(_ request: TCPFlowRequest, _ upstream: KernelSocket, _ refusal: FlowRefusal, _ host: Host,
                        now: Instant) {
        tcpRefused += 1
        try? host.refuseFlow(listener, request, refusal, now: now)
        close(upstream)
    }

    // MARK: TCP: relaying

    /// Moves what can move both ways, then sets what the upstream socket is
    /// watched for. False when the connection is over (both sides closed or one aborted).
    private func pump(_ c: RelayedConnection, _ host: Host, now: Instant) -> Bool {
        if !toUpstream(c, host, now: now) || !toClient(c, host, now: now) { return false }
        if c.clientDone && c.upstreamShut && c.upstreamDone && c.clientShut {
            try? host.close(c.stackFD, now: now)
            close(c.upstreamSocket)
            return false
        }
        var interest: DescriptorEvents = []
        if !c.upstreamDone && c.pendingDown.isEmpty && host.sendSpace(c.stackFD) > 0 { interest.insert(.readable) }
        if !c.pendingUp.isEmpty { interest.insert(.writable) }
        do {
            try watcher?.watch(c.upstreamSocket.fd, for: interest)
        } catch {
            upstreamErrors += 1
            abortBoth(c, host, now: now)
            return false
        }
        return true
    }

    /// Client → destination: flushes what the upstream socket did not take, then
    /// reads the client's bytes (one buffer a round, 16 rounds a turn). False when aborted.
    private func toUpstream(_ c: RelayedConnection, _ host: Host, now: Instant) -> Bool {
        for round in 0..<16 {
            if !c.pendingUp.isEmpty {
                switch c.pendingUp.flush(into: c.upstreamSocket) {
                case .success(let sent): bytesUpstream += sent
                case .failure(let error):
                    if error.wouldBlock { return true }
                    upstreamErrors += 1
                    abortBoth(c, host, now: now)
                    return false
                }
                if !c.pendingUp.isEmpty { return true }
                c.pendingUp.release(to: pool)
            }
            if c.clientDone {
                if !c.upstreamShut {
                    c.upstreamSocket.shutdownWrite()
                    c.upstreamShut = true
                }
                return true
            }
            let count: Int
            do {
                count = try host.recv(c.stackFD, into: scratch, now: now)
            } catch .wouldBlock {
                return true
            } catch {
                clientAborts += 1
                abortBoth(c, host, now: now)
                return false
            }
            if count == 0 {
                c.clientDone = true
                continue
            }
            let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<count])
            switch c.upstreamSocket.write(bytes) {
            case .success(let sent):
                bytesUpstream += sent
                if sent < count { c.pendingUp.keep(UnsafeRawBufferPointer(rebasing: bytes[sent...]), from: pool) }
            case .failure(let error):
                guard error.wouldBlock else {
                    upstreamErrors += 1
                    abortBoth(c, host, now: now)
                    return false
                }
                c.pendingUp.keep(bytes, from: pool)
            }
            if round == 15 { again(c, now: now) }
        }
        return true
    }

    /// Destination → client: reads from the upstream socket only what the
    /// client's send buffer has room for (16 rounds a turn). False when aborted.
    private func toClient(_ c: RelayedConnection, _ host: Host, now: Instant) -> Bool {
        for round in 0..<16 {
            if !c.pendingDown.isEmpty {
                do {
                    let sent = try c.pendingDown.flush(to: c.stackFD, host, now: now)
                    bytesDownstream += sent
                } catch .wouldBlock {
                    return true
                } catch {
                    clientAborts += 1
                    abortBoth(c, host, now: now)
                    return false
                }
                if !c.pendingDown.isEmpty { return true }
                c.pendingDown.release(to: pool)
            }
            if c.upstreamDone {
                if !c.clientShut {
                    try? host.shutdown(c.stackFD, .write, now: now)
                    c.clientShut = true
                }
                return true
            }
            let space = min(host.sendSpace(c.stackFD), scratch.count)
            guard space > 0 else { return true }
            switch c.upstreamSocket.read(into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<space])) {
            case .success(0):
                c.upstreamDone = true
            case .success(let count):
                let bytes = UnsafeRawBufferPointer(rebasing: scratch[0..<count])
                var sent = 0
                do { sent = try host.send(c.stackFD, bytes, now: now) } catch .wouldBlock {} catch {
                    clientAborts += 1
                    abortBoth(c, host, now: now)
                    return false
                }
                bytesDownstream += sent
                if sent < count { c.pendingDown.keep(UnsafeRawBufferPointer(rebasing: bytes[sent...]), from: pool) }
            case .failure(let error):
                if error.wouldBlock { return true }
                upstreamErrors += 1
                abortBoth(c, host, now: now)
                return false
            }
            if round == 15 { again(c, now: now) }
        }
        return true
    }

    /// One side reset or failed: the other is reset too (RST both ways).
    private func abortBoth(_ c: RelayedConnection, _ host: Host, now: Instant) {
        try? host.setOption(c.stackFD, .linger(.zero))
        try? host.close(c.stackFD, now: now)
        close(c.upstreamSocket, reset: true)
    }

    /// The connection used up its turn's budget with bytes left to move: it gets the next turn too.
    private func again(_ c: RelayedConnection, now: Instant) {
        unfinished.append(c.stackFD)
        moreWork = now
    }

    /// Forgets a connection whose descriptors are closed: the last one takes its slot. O(1).
    private func retire(_ c: RelayedConnection) {
        byUpstream[c.upstreamSocket.fd] = nil
        byStack[c.stackFD] = nil
        c.release(to: pool)
        let last = connections.removeLast()
        if last !== c {
            connections[c.slot] = last
            last.slot = c.slot
        }
    }

    /// Unwatches and closes an upstream socket.
    func close(_ socket: KernelSocket, reset: Bool = false) {
        watcher?.unwatch(socket.fd)
        socket.close(reset: reset)
    }

    // MARK: UDP

    /// New flows get an upstream socket; queued datagrams go out on it; expired flows close it.
    private func relayDatagrams(_ host: Host, now: Instant) {
        while let flow = host.nextUDPFlow() {
            guard flowCount < config.maxFlows else {
                udpRefusedOverLimit += 1
                host.closeUDPFlow(flow)
                continue
            }
            if let proxy = config.socks5 {
                startAssociation(flow, through: proxy, host, now: now)
                continue
            }
            let target = upstreamEndpoint?(flow.destination) ?? flow.destination
            let upstream: KernelSocket
            switch KernelSocket.open(stream: false, interface: config.outboundInterface, ipv6: !target.address.isIPv4) {
            case let .success(socket): upstream = socket
            case .failure:
                upstreamErrors += 1
                host.closeUDPFlow(flow)
                continue
            }
            if upstream.connect(to: target) != nil || (try? watcher?.watch(upstream.fd, for: .readable)) == nil {
                upstreamErrors += 1
                close(upstream)
                host.closeUDPFlow(flow)
                continue
            }
            udpRelayed += 1
            let relayed = RelayedDatagramFlow(flow: flow, upstream: upstream)
            datagramFlows[upstream.fd] = relayed
            datagramByFlow[flow.id] = relayed
        }
        for flow in host.takeReadyUDPFlows() {
            guard let relayed = datagramByFlow[flow.id] else {
                // A flow whose association is under way keeps its datagrams queued on the host until it is up.
                if associatingByFlow[flow.id] == nil { while host.udpFlowReceive(flow) != nil {} }
                continue
            }
            forwardQueued(relayed, host, now: now)
        }
        for flow in host.takeExpiredUDPFlows() { closeDatagramFlow(flow.id) }
    }

    /// Sends the datagrams queued on the host for `relayed` upstream, directly or through its SOCKS5 relay.
    func forwardQueued(_ relayed: RelayedDatagramFlow, _ host: Host, now: Instant) {
        let flow = relayed.flow
        while let payload = host.udpFlowReceive(flow) {
            if let relay = relayed.relay {
                sendThroughSocksRelay(payload, relayed.flow.destination, relayed.upstream, relay)
                continue
            }
            let result = payload.withUnsafeBytes { relayed.upstream.write($0) }
            switch result {
            case .success(let sent): bytesUpstream += sent
            case .failure(let error): refuseIfRefused(flow, error, host, now: now)  // otherwise dropped, as UDP may
            }
        }
    }

    /// Datagrams from a flow's destination go back to its client (at most 64 a wake-up).
    private func receiveUpstream(_ relayed: RelayedDatagramFlow, _ host: Host, now: Instant) {
        for _ in 0..<64 {
            switch relayed.upstream.read(into: scratch) {
            case .success(let count):
                do {
                    try host.udpFlowSend(relayed.flow, UnsafeRawBufferPointer(rebasing: scratch[0..<count]), now: now)
                    bytesDownstream += count
                } catch .notConnected {
                    closeDatagramFlow(relayed.flow.id)
                    return
                } catch {
                    upstreamErrors += 1
                }
            case .failure(let error):
                if error.wouldBlock { return }
                refuseIfRefused(relayed.flow, error, host, now: now)
            }
        }
        moreWork = now
    }

    /// An upstream UDP error: ECONNREFUSED (the destination's ICMP port unreachable) is passed
    /// on to the client as the same ICMP error; anything else is counted.
    private func refuseIfRefused(_ flow: UDPFlow, _ error: KernelSocketError, _ host: Host, now: Instant) {
        guard error.code == ECONNREFUSED else {
            upstreamErrors += 1
            return
        }
        udpRefused += 1
        host.refuseUDPFlow(flow, now: now)
    }

    /// Closes the relay's side of a UDP flow: its upstream socket, and its SOCKS5 association if any.
    func closeDatagramFlow(_ id: Int) {
        if let control = associatingByFlow.removeValue(forKey: id), let pending = associating.removeValue(forKey: control) {
            close(pending.negotiation.socket)
        }
        guard let relayed = datagramByFlow.removeValue(forKey: id) else { return }
        datagramFlows[relayed.upstream.fd] = nil
        close(relayed.upstream)
        if let control = relayed.control {
            datagramControl[control.fd] = nil
            close(control)
        }
    }
}

/// An intercepted attempt whose upstream connect (and, through a proxy, negotiation) is in progress.
struct PendingConnect {
    let request: TCPFlowRequest
    let upstream: KernelSocket
    let deadline: Instant
    /// The SOCKS5 negotiation on `upstream`; nil when direct.
    var negotiation: Socks5Negotiation?
}

/// A UDP flow and its upstream socket: connected to the destination, or (through a
/// SOCKS5 proxy) unconnected, sending to the association's relay, with its control connection.
final class RelayedDatagramFlow {
    let flow: UDPFlow
    let upstream: KernelSocket
    /// The UDP ASSOCIATE's TCP connection: the association lasts as long as it does.
    let control: KernelSocket?
    /// The proxy's UDP relay (BND.ADDR/BND.PORT), the only source accepted.
    let relay: Endpoint?
    init(flow: UDPFlow, upstream: KernelSocket, control: KernelSocket? = nil, relay: Endpoint? = nil) {
        self.flow = flow
        self.upstream = upstream
        self.control = control
        self.relay = relay
    }
}
