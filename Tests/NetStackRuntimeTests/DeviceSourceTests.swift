import NetStackRuntime
import NetStackWire
import Testing

/// How a configuration names its device, and that the older name-and-kind form still works.
struct DeviceSourceTests {
    @Test func theNameAndKindInitializerSelectsANamedDevice() {
        var configuration = RuntimeConfiguration(deviceName: "tap7", deviceKind: .tap, address: IPv4Address(192, 0, 2, 2), prefixLength: 24)
        guard case let .named(name, kind) = configuration.device else { Issue.record("not a named device"); return }
        #expect(name == "tap7" && kind == .tap)
        configuration.deviceKind = .tun
        configuration.deviceName = "tun3"
        guard case let .named(name, kind) = configuration.device else { Issue.record("not a named device"); return }
        #expect(name == "tun3" && kind == .tun)
    }

    @Test func anAdoptedDescriptorAndAMadeDeviceReportTheirNamesAndKinds() throws {
        var adopted = RuntimeConfiguration(device: .adopted(fd: 5, kind: .tun), address: IPv4Address(192, 0, 2, 2), prefixLength: 24)
        #expect(adopted.deviceName == "fd 5" && adopted.deviceKind == .tun)
        adopted.deviceKind = .tap
        guard case .adopted(5, .tap) = adopted.device else { Issue.record("kind not changed: \(adopted.device)"); return }
        let (end, _) = try MemoryDevice.pair(kind: .tap, names: ("left", "right"))
        var made = RuntimeConfiguration(device: .device(end), address: IPv4Address(192, 0, 2, 2), prefixLength: 24)
        made.deviceKind = .tun
        #expect(made.deviceName == "left" && made.deviceKind == .tap, "a made device keeps its own kind")
    }
}
