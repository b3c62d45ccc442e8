// swift-tools-version: 6.1
import PackageDescription

// Layers, dependencies pointing downwards only (see README.md):
//   NetStackWire       wire formats, checksums, CRC-32, pcap          (no state)
//   NetStackCore       the sans-I/O stack: adapter, ARP, IPv4, ICMP, UDP, TCP; StackApplication
//   NetStackDevices    what carries frames: links, hub, switch, pcap tap
//   NetStackSimulator  virtual clock and seeded randomness driving many hosts
//   NetStackServices   applications run on a stack's thread: HTTP, echo, discard, DNS
//   NetStackRuntime    the real-time driver over Linux TAP/TUN (epoll, monotonic clock)
//   NetStackDemo       the chapter's journey on a simulated network, narrated
//   netstack           the command-line tool
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// No `unsafeFlags` anywhere: SwiftPM refuses a dependency by version whose targets use
// them. The per-packet path skips the runtime exclusivity checks through
// `@exclusivity(unchecked)` on the few class properties it mutates in place (Host,
// TCPConnection) instead of a release-only `-enforce-exclusivity=unchecked`.
let package = Package(
    name: "NetStack",
    products: [
        .library(name: "NetStackWire", targets: ["NetStackWire"]),
        .library(name: "NetStackCore", targets: ["NetStackCore"]),
        .library(name: "NetStackDevices", targets: ["NetStackDevices"]),
        .library(name: "NetStackSimulator", targets: ["NetStackSimulator"]),
        .library(name: "NetStackServices", targets: ["NetStackServices"]),
        .library(name: "NetStackRuntime", targets: ["NetStackRuntime"]),
        .executable(name: "netstack", targets: ["NetstackCommand"]),
    ],
    dependencies: [
        // The only third-party library: command-line parsing for `netstack`.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Documentation only: the `swift package generate-documentation` command (DocC). A
        // command plugin, so no target depends on it and nothing of it is linked into NetStack.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "NetStackWire", swiftSettings: strict),
        .target(name: "NetStackCore", dependencies: ["NetStackWire"], swiftSettings: strict),
        .target(name: "NetStackDevices", dependencies: ["NetStackWire", "NetStackCore"], swiftSettings: strict),
        .target(name: "NetStackServices", dependencies: ["NetStackWire", "NetStackCore"], swiftSettings: strict),
        .target(
            name: "NetStackSimulator",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackDevices"],
            swiftSettings: strict
        ),
        // TUNSETIFF, epoll, eventfd and signalfd, which Swift's Glibc module does not export.
        .target(name: "CNetStackShim"),
        .target(
            name: "NetStackRuntime",
            dependencies: ["CNetStackShim", "NetStackWire", "NetStackCore", "NetStackDevices"],
            swiftSettings: strict
        ),
        // The chapter's story on a simulated network, narrated (`netstack demo`).
        .target(
            name: "NetStackDemo",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackDevices", "NetStackServices", "NetStackSimulator"],
            swiftSettings: strict
        ),
        // Counts heap allocations for `netstack bench tcp` (linked into the executable only).
        .target(name: "CAllocationCounter"),
        .executableTarget(
            name: "NetstackCommand",
            dependencies: [
                "CAllocationCounter",
                "NetStackWire", "NetStackCore", "NetStackDevices", "NetStackServices", "NetStackSimulator",
                "NetStackRuntime", "NetStackDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Shared by the test targets: golden captures, the tshark oracle.
        .target(name: "NetStackTestSupport", dependencies: ["NetStackWire"], path: "Tests/NetStackTestSupport", swiftSettings: strict),
        .testTarget(name: "NetStackWireTests", dependencies: ["NetStackWire", "NetStackTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "NetStackCoreTests",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackTestSupport"],
            exclude: ["TCPScript/README.md"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetStackSimulatorTests",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackDevices", "NetStackSimulator", "NetStackTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetStackDemoTests",
            dependencies: ["NetStackWire", "NetStackDemo", "NetStackTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetStackServicesTests",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackDevices", "NetStackServices", "NetStackSimulator", "NetStackTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "NetStackRuntimeTests",
            dependencies: ["NetStackWire", "NetStackCore", "NetStackRuntime", "NetStackTestSupport"],
            swiftSettings: strict
        ),
        // Against the Linux kernel in network namespaces the tests create (root only; they run
        // the `netstack` executable, so they depend on no library target).
        .testTarget(name: "NetStackInteropTests", dependencies: ["NetStackTestSupport"], swiftSettings: strict),
        // The hostile-network suite: floods and forged packets (scapy scripts in scapy/) against
        // `netstack serve` in namespaces the tests create (root only). It shares the interop
        // tests' harness through the symbolic link Harness → ../NetStackInteropTests/Harness.
        .testTarget(
            name: "NetStackHostileTests",
            dependencies: ["NetStackTestSupport"],
            exclude: ["scapy"],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
