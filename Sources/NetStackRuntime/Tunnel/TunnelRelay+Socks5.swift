// The relay's SOCKS5 side (RFC 1928): TCP attempts go through CONNECT (the
// negotiation runs in TunnelRelay's connect path); each UDP flow gets its own
// UDP ASSOCIATE — a TCP control connection and an unconnected UDP socket that
// talks only to the relay the proxy named — closed when the flow expires or
// when the proxy closes the control connection.

import Glibc
public import NetStackCore
import NetStackWire

/// A SOCKS5 proxy for ``TunnelRelay``: where it listens and, when it wants them, the credentials (RFC 1929).
public struct Socks5Proxy: Sendable, Equatable {
    /// The proxy's IPv4 address and port.
    public var endpoint: Endpoint
    /// Offered as username/password authentication; nil: only "no authentication" is offered.
    public var credentials: Socks5Credentials?

    /// A proxy at `endpoint`, with `credentials` when it requires them.
    public init(endpoint: Endpoint, credentials: Socks5Credentials? = nil) {
        self.endpoint = endpoint
        self.credentials = credentials
    }
}

/// A UDP flow whose association with the proxy is being negotiated.
struct PendingAssociation {
    let flow: UDPFlow
    let negotiation: Socks5Negotiation
    let deadline: Instant
}

extension TunnelRelay {
    /// Counts a failed negotiation and says, once per kind, why on stderr (a proxy that is down
    /// would otherwise print a line per flow).
    func proxyFailed(_ failure: Socks5Failure) {
        let kind: String
        switch failure {
        case .authenticationRejected:
            socksAuthenticationFailures += 1
            kind = "rejected the authentication (or accepted no method offered)"
        case let .proxyUnreachable(error):
            socksProxyFailures += 1
            kind = "cannot be reached: \(error)"
        case .protocolError:
            socksProxyFailures += 1
            kind = "broke the SOCKS5 protocol"
        case .replied:
            return  // the destination's refusal as the proxy reports it: counted as such
        }
        guard proxyFailuresReported.insert(kind).inserted, let proxy = config.socks5 else { return }
        let line = "netstack tunnel: SOCKS5 proxy \(proxy.endpoint) \(kind); flows are refused "
            + "(counted in netstat --statistics; said once)\n"
        _ = line.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
    }

    // MARK: UDP ASSOCIATE

    /// Opens the control connection of a new flow's association and starts its negotiation.
    /// The flow's datagrams wait in the host's queue meanwhile.
    func startAssociation(_ flow: UDPFlow, through proxy: Socks5Proxy, _ host: Host, now: Instant) {
        let control: KernelSocket
        switch KernelSocket.open(stream: true, interface: config.outboundInterface, ipv6: !proxy.endpoint.address.isIPv4) {
        case let .success(socket): control = socket
        case .failure:
            upstreamErrors += 1
            host.closeUDPFlow(flow)
            return
        }
        if let error = control.connect(to: proxy.endpoint) {
            proxyFailed(.proxyUnreachable(error))
            close(control)
            host.closeUDPFlow(flow)
            return
        }
        guard (try? watcher?.watch(control.fd, for: .writable)) != nil else {
            upstreamErrors += 1
            close(control)
            host.closeUDPFlow(flow)
            return
        }
        // The datagrams' source is not known before the UDP socket exists: 0.0.0.0:0 (RFC 1928 §7 allows it).
        let negotiation = Socks5Negotiation(socket: control, command: .udpAssociate, destination: .ipv4(.any), port: 0,
                                            credentials: proxy.credentials)
        let deadline = now + config.connectTimeout
        associating[control.fd] = PendingAssociation(flow: flow, negotiation: negotiation, deadline: deadline)
        associatingByFlow[flow.id] = control.fd
        earliestConnectDeadline = earliest(earliestConnectDeadline, deadline)
    }

    /// Drops the flows whose association did not complete within the connect timeout. O(associating).
    func expireAssociations(_ host: Host, now: Instant) {
        for (fd, pending) in associating {
            if pending.deadline <= now {
                proxyFailed(.proxyUnreachable(KernelSocketError(ETIMEDOUT)))
                endAssociation(fd, pending, host)
            } else {
                earliestConnectDeadline = earliest(earliestConnectDeadline, pending.deadline)
            }
        }
    }

    /// The control connection of a negotiating association is ready: the negotiation moves on;
    /// once the proxy has named its relay, the flow gets its UDP socket and its queued datagrams go out.
    func associationProgress(_ pending: PendingAssociation, _ events: DescriptorEvents, _ host: Host, now: Instant) {
        let control = pending.negotiation.socket
        let bound: Endpoint?
        switch pending.negotiation.advance(events) {
        case let .waiting(interest):
            if (try? watcher?.watch(control.fd, for: interest)) == nil {
                upstreamErrors += 1
                endAssociation(control.fd, pending, host)
            }
            return
        case let .failed(failure):
            if case .replied = failure { socksProxyFailures += 1 }  // no destination behind an association
            proxyFailed(failure)
            endAssociation(control.fd, pending, host)
            return
        case let .succeeded(endpoint):
            bound = endpoint
        }
        guard let proxy = config.socks5, let bound, bound.port != 0 else {
            proxyFailed(.protocolError)  // a relay the relay cannot address
            endAssociation(control.fd, pending, host)
            return
        }
        // A relay bound to any address is reached at the proxy's own (common practice).
        let relay = Endpoint(bound.address.isUnspecified ? proxy.endpoint.address : bound.address, bound.port)
        let upstream: KernelSocket
        switch KernelSocket.open(stream: false, interface: config.outboundInterface, ipv6: !relay.address.isIPv4) {
        case let .success(socket): upstream = socket
        case .failure:
            upstreamErrors += 1
            endAssociation(control.fd, pending, host)
            return
        }
        guard (try? watcher?.watch(upstream.fd, for: .readable)) != nil,
              (try? watcher?.watch(control.fd, for: .readable)) != nil else {
            upstreamErrors += 1
            close(upstream)
            endAssociation(control.fd, pending, host)
            return
        }
        associating[control.fd] = nil
        associatingByFlow[pending.flow.id] = nil
        udpRelayed += 1
        let relayed = RelayedDatagramFlow(flow: pending.flow, upstream: upstream, control: control, relay: relay)
        datagramFlows[upstream.fd] = relayed
        datagramByFlow[pending.flow.id] = relayed
        datagramControl[control.fd] = relayed
        forwardQueued(relayed, host, now: now)
    }

    /// Forgets a negotiating association, closes its control connection and the host's flow.
    private func endAssociation(_ fd: Int32, _ pending: PendingAssociation, _ host: Host) {
        associating[fd] = nil
        associatingByFlow[pending.flow.id] = nil
        close(pending.negotiation.socket)
        host.closeUDPFlow(pending.flow)
    }

    /// The control connection of an association is readable: the proxy closed it (or failed), which
    /// ends the association, so the flow is closed; anything the proxy sends on it is ignored.
    func controlReady(_ relayed: RelayedDatagramFlow, _ host: Host) {
        guard let control = relayed.control else { return }
        for _ in 0..<4 {
            switch control.read(into: scratch) {
            case .success(let count) where count > 0: continue
            case .failure(let error) where error.wouldBlock: return
            default:
                closeDatagramFlow(relayed.flow.id)
                host.closeUDPFlow(relayed.flow)
                return
            }
        }
    }

    /// Sends `payload` for `destination` to the association's relay behind the UDP request header
    /// (built in the relay's scratch buffer: no allocation). A datagram that does not fit is dropped.
    func sendThroughSocksRelay(_ payload: [UInt8], _ destination: Endpoint, _ socket: KernelSocket, _ relay: Endpoint) {
        let address = Socks5Address(destination.address)
        let headerLength = 3 + address.encodedLength
        guard headerLength + payload.count <= scratch.count else {
            upstreamErrors += 1
            return
        }
        _ = Socks5.writeUDPHeader(address, port: destination.port, into: scratch)
        payload.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: scratch[headerLength..<(headerLength + payload.count)]).copyMemory(from: $0)
        }
        switch socket.write(UnsafeRawBufferPointer(rebasing: scratch[0..<(headerLength + payload.count)]), to: relay) {
        case .success: bytesUpstream += payload.count
        case .failure: upstreamErrors += 1  // dropped, as UDP may
        }
    }

    /// Datagrams from the association's relay go back to the client without their header
    /// (at most 64 a wake-up); fragments, foreign sources and malformed headers are dropped and counted.
    func receiveFromSocksRelay(_ relayed: RelayedDatagramFlow, _ host: Host, now: Instant) {
        for _ in 0..<64 {
            switch relayed.upstream.readFrom(into: scratch) {
            case let .success((count, source)):
                guard source == relayed.relay else {
                    socksForeignDatagramsDropped += 1
                    continue
                }
                let datagram = UnsafeRawBufferPointer(rebasing: scratch[0..<count])
                guard let header = Socks5.udpHeader(datagram) else {
                    socksForeignDatagramsDropped += 1
                    continue
                }
                guard header.fragment == 0 else {
                    socksFragmentsDropped += 1
                    continue
                }
                guard header.address == relayed.flow.destination else {
                    socksForeignDatagramsDropped += 1
                    continue
                }
                do {
                    try host.udpFlowSend(relayed.flow, UnsafeRawBufferPointer(rebasing: datagram[header.length...]), now: now)
                    bytesDownstream += count - header.length
                } catch .notConnected {
                    closeDatagramFlow(relayed.flow.id)
                    return
                } catch {
                    upstreamErrors += 1
                }
            case let .failure(error):
                if error.wouldBlock { return }
                upstreamErrors += 1  // an unconnected UDP socket reports no ICMP errors: nothing to pass on
                return
            }
        }
        moreWork = now
    }
}
