import NetStackWire

// Multicast Listener Discovery, version 2 (RFC 3810), as far as a host needs it: a report
// when it joins a solicited-node group (before DAD's solicitation, RFC 4862 §5.4.2), and its
// current state when a router asks — so that a switch snooping MLD keeps sending it the
// solicitations for its addresses.

extension Host {
    /// The multicast groups `interface` listens to that MLD reports: the solicited-node group of
    /// each of its addresses, once each (all-nodes, ff02::1, is never reported, RFC 3810 §6).
    func reportedGroups6(on interface: InterfaceID) -> [IPv6Address] {
        guard interface.index < interfaces6.count, let list = interfaces6[interface.index]?.addresses.addresses else { return [] }
        var groups: [IPv6Address] = []
        for entry in list where entry.state != .duplicate {
            let group = entry.address.solicitedNodeMulticast
            if !groups.contains(group) { groups.append(group) }
        }
        return groups
    }

    /// Sends an MLDv2 report for `groups` on `interface` (RFC 3810 §5.2): a state-change report
    /// (CHANGE_TO_EXCLUDE, "joined") or, answering a query, the current state (MODE_IS_EXCLUDE).
    /// From the link-local address once it passed DAD, else from `::` (§5.2.13), to ff02::16 with
    /// hop limit 1 and a router alert.
    func sendMLDReport(_ groups: [IPv6Address], type: MLDv2RecordType, on interface: InterfaceID) {
        guard !groups.isEmpty, adapters[interface.index].medium == .ethernet else { return }
        let report = MLDv2Report(records: groups.map { MLDv2Record(type, multicastAddress: $0) })
        let source = sourceAddress6(toward: .allMLDv2Routers, on: interface) ?? .unspecified
        let destination = IPv6Address.allMLDv2Routers
        let hopByHop = IPv6ExtensionHeaders.routerAlertHopByHopLength
        sendLinkScope6(from: source, to: destination, mac: destination.multicastMAC, nextHeader: .ipv6HopByHop,
                       hopLimit: MLDv2Report.hopLimit, payloadLength: hopByHop + report.encodedLength,
                       on: interface) { body in
            IPv6ExtensionHeaders.emitRouterAlertHopByHop(nextHeader: .icmpv6, into: body)
            report.emit(into: UnsafeMutableRawBufferPointer(rebasing: body[hopByHop...]), source: source,
                        destination: destination)
        }
    }

    /// An MLD query (type 130, RFC 3810 §5.1) from a router on the link (hop limit 1, link-local
    /// source): answered with the current state of every group this host reports. At most one
    /// answer per interface per second, so a query flood cannot make a report flood.
    func mldQueryInput(header: IPv6Header, on interface: InterfaceID) {
        guard header.hopLimit == 1, header.source.isLinkLocal else { return }
        guard interface.index < interfaces6.count, var state = interfaces6[interface.index] else { return }
        if let last = state.lastMLDReport, now < last + .seconds(1) { return }
        state.lastMLDReport = now
        interfaces6[interface.index] = state
        sendMLDReport(reportedGroups6(on: interface), type: .modeIsExclude, on: interface)
    }
}
